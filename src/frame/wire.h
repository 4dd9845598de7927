/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Big-endian fields of frames, read and written byte by byte (frames need
 * not be aligned). */
#ifndef S4_WIRE_H
#define S4_WIRE_H

#include <endian.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum {
	WIRE_ETH_LEN = 14, /* an Ethernet header, no VLAN tag */
	WIRE_IP_LEN = 20,  /* an IPv4 header without options */
	WIRE_ETH_P_IP = 0x0800,
};

static inline uint16_t wire_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t wire_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline void wire_put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static inline void wire_put32(uint8_t *p, uint32_t v)
{
	wire_put16(p, v >> 16);
	wire_put16(p + 2, v & 0xffff);
}

/**
 * wire_sum() - The one's-complement sum of bytes, not inverted (RFC 1071)
 * @p:		the bytes, at any alignment
 * @len:	how many (an odd last byte is padded with a zero)
 *
 * The sum does not depend on byte order (RFC 1071, 2.B): words are added
 * as the CPU loads them, 32 bits at a time into four 64-bit sums, and the
 * folded result is swapped once. Three times as fast as adding big-endian
 * 16-bit words here, and this runs over every TCP segment the namespace
 * sends with its checksum left to us.
 *
 * Return: the sum, as a host-order value of the big-endian field
 */
static inline uint16_t wire_sum(const uint8_t *p, size_t len)
{
	uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
	size_t i = 0;

	for (; i + 16 <= len; i += 16) {
		uint32_t w[4];

		memcpy(w, p + i, sizeof(w));
		s0 += w[0];
		s1 += w[1];
		s2 += w[2];
		s3 += w[3];
	}
	s0 += s1 + s2 + s3;
	for (; i + 2 <= len; i += 2) {
		uint16_t w;

		memcpy(&w, p + i, 2);
		s0 += w;
	}
	if (i < len)
		s0 += be16toh((uint16_t)(p[i] << 8)); /* the first byte of a word */
	while (s0 >> 16)
		s0 = (s0 & 0xffff) + (s0 >> 16);
	return be16toh((uint16_t)s0);
}

/* The checksum of a 20-byte IPv4 header, its own field (bytes 10-11)
 * left out of the sum. */
static inline uint16_t wire_ip_csum(const uint8_t *ip)
{
	uint32_t s = 0;

	for (int i = 0; i < 20; i += 2)
		if (i != 10)
			s += wire_get16(ip + i);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return ~s & 0xffff;
}

#endif

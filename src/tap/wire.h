/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Big-endian fields of frames, read and written byte by byte (frames need
 * not be aligned). */
#ifndef S4_WIRE_H
#define S4_WIRE_H

#include <stdint.h>

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

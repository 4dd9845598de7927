// SPDX-License-Identifier: GPL-2.0-or-later
/* The frame sanitizer: one frame per rule, built here byte by byte. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "frame/sanitize.h"
#include "frame/wire.h"

static uint8_t f[128];

/* Ethernet + IPv4 + 8 bytes of UDP to port @dport */
static size_t ipv4(const char *src, const char *dst, int dport)
{
	memset(f, 0, sizeof(f));
	f[12] = 0x08;
	f[13] = 0x00;
	f[14] = 0x45;
	f[17] = 28; /* total length: 20 + 8 */
	f[23] = 17; /* UDP */
	inet_pton(AF_INET, src, f + 26);
	inet_pton(AF_INET, dst, f + 30);
	f[36] = dport >> 8;
	f[37] = dport & 0xff;
	return 14 + 28;
}

/* Ethernet + IPv6 + 8 bytes of payload with next header @nh */
static size_t ipv6(const char *src, const char *dst, int nh)
{
	memset(f, 0, sizeof(f));
	f[12] = 0x86;
	f[13] = 0xdd;
	f[14] = 0x60;
	f[19] = 8; /* payload length */
	f[20] = nh;
	inet_pton(AF_INET6, src, f + 22);
	inet_pton(AF_INET6, dst, f + 38);
	return 14 + 40 + 8;
}

static size_t arp(void)
{
	memset(f, 0, sizeof(f));
	f[12] = 0x08;
	f[13] = 0x06;
	f[15] = 1;    /* Ethernet */
	f[16] = 0x08; /* IPv4 */
	f[18] = 6;
	f[19] = 4;
	return 14 + 28;
}

Test(sanitize, ipv4)
{
	cr_assert_eq(sanitize_frame(f, ipv4("10.0.2.100", "10.0.2.2", 80)),
		     SAN_PASS);
	cr_assert_eq(sanitize_frame(f, ipv4("10.0.2.100", "127.0.0.1", 80)),
		     SAN_LOOPBACK);
	cr_assert_eq(sanitize_frame(f, ipv4("127.3.4.5", "10.0.2.2", 80)),
		     SAN_LOOPBACK);
	cr_assert_eq(sanitize_frame(f, ipv4("10.0.2.100", "0.0.0.0", 80)),
		     SAN_UNSPECIFIED);
	cr_assert_eq(sanitize_frame(f, ipv4("0.0.0.0", "10.0.2.2", 80)),
		     SAN_UNSPECIFIED);
	cr_assert_eq(sanitize_frame(f, ipv4("0.0.0.0", "255.255.255.255", 67)),
		     SAN_PASS, "DHCP from an address-less guest");
	cr_assert_eq(sanitize_frame(f, ipv4("0.0.0.0", "255.255.255.255", 68)),
		     SAN_UNSPECIFIED, "only to the DHCP server port");
}

Test(sanitize, ipv4_lengths)
{
	size_t n = ipv4("10.0.2.100", "10.0.2.2", 80);

	cr_assert_eq(sanitize_frame(f, 14 + 19), SAN_RUNT);
	f[14] = 0x44; /* IHL 4 */
	cr_assert_eq(sanitize_frame(f, n), SAN_BAD_HEADER);
	f[14] = 0x65; /* version 6 in an IPv4 frame */
	cr_assert_eq(sanitize_frame(f, n), SAN_BAD_HEADER);
	f[14] = 0x45;
	f[17] = 200; /* longer than the frame */
	cr_assert_eq(sanitize_frame(f, n), SAN_BAD_LENGTH);
	f[17] = 10; /* shorter than the header */
	cr_assert_eq(sanitize_frame(f, n), SAN_BAD_LENGTH);
	f[14] = 0x4f; /* IHL 15: 60 bytes, more than total */
	f[17] = 28;
	cr_assert_eq(sanitize_frame(f, n), SAN_BAD_LENGTH);
}

Test(sanitize, ipv6)
{
	size_t n = ipv6("fd00::100", "fd00::2", 6);

	cr_assert_eq(sanitize_frame(f, n), SAN_PASS);
	cr_assert_eq(sanitize_frame(f, ipv6("fd00::100", "::1", 6)),
		     SAN_LOOPBACK);
	cr_assert_eq(sanitize_frame(f, ipv6("::1", "fd00::2", 6)),
		     SAN_LOOPBACK);
	cr_assert_eq(sanitize_frame(f, ipv6("fd00::100", "::ffff:127.0.0.1", 6)),
		     SAN_LOOPBACK);
	cr_assert_eq(sanitize_frame(f, ipv6("fd00::100", "::", 6)),
		     SAN_UNSPECIFIED);
	cr_assert_eq(sanitize_frame(f, ipv6("::", "fd00::2", 6)),
		     SAN_UNSPECIFIED);
	cr_assert_eq(sanitize_frame(f, ipv6("::", "ff02::1:ff00:100", 58)),
		     SAN_PASS, "duplicate address detection");
	cr_assert_eq(sanitize_frame(f, ipv6("::", "ff02::16", 0)), SAN_PASS,
		     "an MLD report behind a hop-by-hop header");
	n = ipv6("fd00::100", "fd00::2", 6);
	f[19] = 9; /* payload one byte longer than the frame */
	cr_assert_eq(sanitize_frame(f, n), SAN_BAD_LENGTH);
	cr_assert_eq(sanitize_frame(f, 14 + 39), SAN_RUNT);
	f[14] = 0x40;
	cr_assert_eq(sanitize_frame(f, n), SAN_BAD_HEADER);
}

Test(sanitize, arp_and_others)
{
	size_t n = arp();

	cr_assert_eq(sanitize_frame(f, n), SAN_PASS);
	cr_assert_eq(sanitize_frame(f, 14 + 27), SAN_RUNT);
	f[18] = 16; /* hardware address length */
	cr_assert_eq(sanitize_frame(f, n), SAN_BAD_HEADER);
	f[12] = 0x88; /* some other ethertype: libslirp ignores it */
	f[13] = 0xcc;
	cr_assert_eq(sanitize_frame(f, 60), SAN_PASS);
	cr_assert_eq(sanitize_frame(f, 13), SAN_RUNT);
	cr_assert_eq(sanitize_frame(f, 0), SAN_RUNT);
}

/* one's-complement sum of 16-bit words, folded */
static uint32_t ones(const uint8_t *p, size_t n, uint32_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

/* wire_sum() against the plain definition: every length through a few
 * 16-byte strides and its tail, at every alignment, words whose sums carry
 * (0xff bytes), and 64 KiB of them (carries out of 32 bits in the 64-bit
 * sums). */
Test(sanitize, wire_sum)
{
	static uint8_t b[65536 + 4];

	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(i * 151 + (i >> 8));
	for (size_t off = 0; off < 4; off++)
		for (size_t n = 0; n < 100; n++)
			cr_assert_eq(wire_sum(b + off, n), ones(b + off, n, 0),
				     "offset %zu, %zu bytes", off, n);
	memset(b, 0xff, sizeof(b));
	cr_assert_eq(wire_sum(b + 1, 65535), ones(b + 1, 65535, 0));
	cr_assert_eq(wire_sum(b, 65536), 0xffff);
	b[3] = 0x01;
	cr_assert_eq(wire_sum(b, 65536), ones(b, 65536, 0));
}

/* A TCP segment whose checksum the namespace left to us (checksum offload:
 * only the pseudo-header's sum in the field), payloads of odd and even
 * lengths past the 8-byte stride: completed, the segment verifies. */
Test(sanitize, csum_partial)
{
	static uint8_t fr[14 + 20 + 20 + 1500];
	size_t sizes[] = { 0, 1, 7, 8, 9, 15, 16, 17, 1000, 1499, 1500 };

	for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t pl = sizes[k], tl = 20 + pl, len = 14 + 20 + tl;
		uint8_t *ip = fr + 14, *tcp = ip + 20, pseudo[12];
		uint32_t ps;

		memset(fr, 0, sizeof(fr));
		for (size_t i = 0; i < pl; i++)
			tcp[20 + i] = (uint8_t)(i * 7 + k);
		tcp[12] = 0x50;
		inet_pton(AF_INET, "10.0.2.100", ip + 12);
		inet_pton(AF_INET, "10.0.2.2", ip + 16);
		memcpy(pseudo, ip + 12, 8);
		pseudo[8] = 0;
		pseudo[9] = 6;
		pseudo[10] = tl >> 8;
		pseudo[11] = tl & 0xff;
		ps = ones(pseudo, 12, 0);
		tcp[16] = ps >> 8;
		tcp[17] = ps & 0xff;
		cr_assert_eq(sanitize_csum_partial(fr, len, 34, 16), 0);
		cr_assert_eq(ones(tcp, tl, ones(pseudo, 12, 0)), 0xffff,
			     "payload %zu: checksum %02x%02x does not verify",
			     pl, tcp[16], tcp[17]);
	}
	/* where the header says the field is must be inside the frame */
	cr_assert_eq(sanitize_csum_partial(fr, 60, 61, 0), -EINVAL);
	cr_assert_eq(sanitize_csum_partial(fr, 60, 34, 25), -EINVAL);
	cr_assert_eq(sanitize_csum_partial(fr, 60, 58, 1), -EINVAL);
	cr_assert_eq(sanitize_csum_partial(fr, 60, 58, 0), 0);
}

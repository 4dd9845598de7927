// SPDX-License-Identifier: GPL-2.0-or-later
/* Packets outbound UDP sends the guest by a raw socket: their headers and
 * checksums, as the receiving kernel checks them. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "frame/rawip.h"
#include "frame/wire.h"

static struct sockaddr_storage addr(const char *ip, uint16_t port)
{
	struct sockaddr_storage a = { 0 };

	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s = (void *)&a;

		s->sin6_family = AF_INET6;
		inet_pton(AF_INET6, ip, &s->sin6_addr);
		s->sin6_port = htons(port);
	} else {
		struct sockaddr_in *s = (void *)&a;

		s->sin_family = AF_INET;
		inet_pton(AF_INET, ip, &s->sin_addr);
		s->sin_port = htons(port);
	}
	return a;
}

/* the one's-complement sum of @len bytes plus an IPv6 pseudo-header for
 * @p's addresses and next header @nh: 0xffff when the checksum is right */
static uint16_t sum6(const uint8_t *ip6, const uint8_t *l4, size_t len,
		     uint8_t nh)
{
	uint8_t pseudo[40] = { 0 };
	uint32_t s;

	memcpy(pseudo, ip6 + 8, 32);
	wire_put16(pseudo + 34, (uint16_t)len);
	pseudo[39] = nh;
	s = (uint32_t)wire_sum(pseudo, 40) + wire_sum(l4, len);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

Test(rawip, icmp4_port_unreachable)
{
	struct sockaddr_storage g = addr("10.0.2.100", 40000),
				d = addr("198.51.100.9", 53);
	uint8_t p[RAWIP_ICMP_MAX];
	int n = rawip_icmp_unreach(p, ECONNREFUSED, &g, &d, 100);

	cr_assert_eq(n, 56);
	cr_assert_eq(p[9], 1, "ICMP");
	cr_assert(!memcmp(p + 12, &((struct sockaddr_in *)&d)->sin_addr, 4),
		  "from the destination");
	cr_assert(!memcmp(p + 16, &((struct sockaddr_in *)&g)->sin_addr, 4),
		  "to the guest");
	cr_assert_eq(wire_ip_csum(p), wire_get16(p + 10));
	cr_assert_eq(p[20], 3, "destination unreachable");
	cr_assert_eq(p[21], 3, "port");
	cr_assert_eq(wire_sum(p + 20, n - 20), 0xffff, "ICMP checksum");
	/* the quoted datagram: guest -> destination, its ports */
	cr_assert_eq(p[28 + 9], 17);
	cr_assert_eq(wire_get16(p + 48), 40000);
	cr_assert_eq(wire_get16(p + 50), 53);
	cr_assert_eq(wire_get16(p + 52), 108, "its UDP length");
}

Test(rawip, icmp_codes)
{
	struct sockaddr_storage g = addr("10.0.2.100", 1), d = addr("1.2.3.4", 2),
				g6 = addr("fd00::100", 1), d6 = addr("fd00::2", 2);
	uint8_t p[RAWIP_ICMP_MAX];

	rawip_icmp_unreach(p, EHOSTUNREACH, &g, &d, 0);
	cr_assert_eq(p[21], 1, "host");
	rawip_icmp_unreach(p, ENETUNREACH, &g, &d, 0);
	cr_assert_eq(p[21], 0, "net");
	rawip_icmp_unreach(p, ECONNREFUSED, &g6, &d6, 0);
	cr_assert_eq(p[41], 4, "v6 port");
	rawip_icmp_unreach(p, EHOSTUNREACH, &g6, &d6, 0);
	cr_assert_eq(p[41], 3, "v6 address");
	cr_assert_eq(rawip_icmp_unreach(p, ECONNREFUSED, &g, &d6, 0),
		     -EAFNOSUPPORT, "one family");
}

Test(rawip, icmp6_checksum)
{
	struct sockaddr_storage g = addr("fd00::100", 40000),
				d = addr("fd00::2", 53);
	uint8_t p[RAWIP_ICMP_MAX];
	int n = rawip_icmp_unreach(p, ECONNREFUSED, &g, &d, 10);

	cr_assert_eq(n, RAWIP_ICMP_MAX);
	cr_assert_eq(p[6], 58, "ICMPv6");
	cr_assert_eq(wire_get16(p + 4), n - 40, "payload length");
	cr_assert_eq(p[40], 1, "destination unreachable");
	cr_assert_eq(sum6(p, p + 40, n - 40, 58), 0xffff);
}

Test(rawip, udp4_header)
{
	struct sockaddr_storage s = addr("10.0.2.2", 5201),
				d = addr("10.0.2.100", 40000);
	uint8_t h[RAWIP_UDP_MAX], payload[1400];
	int n;

	memset(payload, 0xab, sizeof(payload));
	n = rawip_udp_header(h, &s, &d, payload, sizeof(payload));
	cr_assert_eq(n, 28);
	cr_assert_eq(wire_get16(h + 2), 1428, "total length");
	cr_assert_eq(wire_ip_csum(h), wire_get16(h + 10));
	cr_assert_eq(wire_get16(h + 20), 5201);
	cr_assert_eq(wire_get16(h + 22), 40000);
	cr_assert_eq(wire_get16(h + 24), 1408);
	cr_assert_eq(wire_get16(h + 26), 0, "no checksum: optional in IPv4");
	cr_assert_eq(rawip_udp_header(h, &s, &d, payload, 65508), -EMSGSIZE);
}

Test(rawip, udp6_checksum)
{
	struct sockaddr_storage s = addr("fd00::2", 5201),
				d = addr("fd00::100", 40000);
	uint8_t h[RAWIP_UDP_MAX], pkt[RAWIP_UDP_MAX + 1001];

	for (int len = 0; len <= 1001; len += 77) {
		uint8_t payload[1001];
		int n;

		for (int i = 0; i < len; i++)
			payload[i] = (uint8_t)(i * 7 + len);
		n = rawip_udp_header(h, &s, &d, payload, len);
		cr_assert_eq(n, 48);
		memcpy(pkt, h, n);
		memcpy(pkt + n, payload, len);
		cr_assert_neq(wire_get16(h + 46), 0, "never 0 in IPv6");
		cr_assert_eq(sum6(pkt, pkt + 40, 8 + len, 17), 0xffff,
			     "checksum of %d bytes", len);
	}
}

/* the reaper's probe (slirp/reap.c): a bare ACK the guest's kernel takes */
Test(rawip, tcp_ack4)
{
	struct sockaddr_storage s = addr("10.0.2.2", 7000),
				d = addr("10.0.2.100", 40001);
	uint8_t p[RAWIP_TCP_ACK4_LEN], pseudo[12] = { 0 };
	size_t n = rawip_tcp_ack4(p, (void *)&s, (void *)&d, 0x89abcdefu,
				  0x01234567u);
	uint32_t sum;

	cr_assert_eq(n, RAWIP_TCP_ACK4_LEN);
	cr_assert_eq(wire_get16(p + 2), 40, "total length");
	cr_assert_eq(p[9], 6, "TCP");
	cr_assert_eq(wire_ip_csum(p), wire_get16(p + 10));
	cr_assert_eq(wire_get16(p + 20), 7000);
	cr_assert_eq(wire_get16(p + 22), 40001);
	cr_assert_eq(wire_get32(p + 24), 0x89abcdefu, "sequence");
	cr_assert_eq(wire_get32(p + 28), 0x01234567u, "acknowledgement");
	cr_assert_eq(p[32] >> 4, 5, "no options");
	cr_assert_eq(p[33], 0x10, "ACK alone");
	memcpy(pseudo, p + 12, 8);
	pseudo[9] = 6;
	wire_put16(pseudo + 10, 20);
	sum = (uint32_t)wire_sum(pseudo, 12) + wire_sum(p + 20, 20);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	cr_assert_eq(sum, 0xffff, "TCP checksum");
}

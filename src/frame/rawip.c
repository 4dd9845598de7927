// SPDX-License-Identifier: GPL-2.0-or-later
/* rawip.c - IP packets for the guest that only a raw socket can send.
 *
 * libslirp answers a guest's datagram whose host socket reports an error
 * (the peer's port unreachable, no route) with ICMP "destination
 * unreachable" from the datagram's destination, quoting its IP and UDP
 * headers; the guest's kernel then gives a connected socket
 * ECONNREFUSED. The outbound UDP path (fwd/udp_out.c) owes the guest the
 * same, and sends what this builds by a raw socket in the namespace. The
 * quoted headers are rebuilt from the flow's endpoints, which is all the
 * receiving kernel matches them by.
 *
 * The same path answers from a socket bound to the address the guest
 * wrote to; where that name is taken (a service in the namespace bound to
 * the same port on the wildcard address, without SO_REUSEADDR), the
 * answer goes by the raw socket too, behind headers built here. IPv4's
 * UDP checksum is optional and left out; IPv6's is not.
 *
 * The reaper of libslirp's connections (slirp/reap.c) asks the guest
 * whether a socket still exists with a bare TCP ACK, which it sends into
 * the TAP behind an Ethernet header of its own.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "rawip.h"
#include "wire.h"

enum {
	IP4 = 20,
	IP6 = 40,
	ICMP = 8,
	UDP = 8,
	TTL = 64,
	TCP = 20,
	PROTO_ICMP = 1,
	PROTO_TCP = 6,
	PROTO_UDP = 17,
	PROTO_ICMP6 = 58,
};

/* the UDP header of a datagram of @len payload bytes, checksum none */
static void put_udp(uint8_t *p, uint16_t sport, uint16_t dport, size_t len)
{
	memcpy(p, &sport, 2); /* ports arrive in network order */
	memcpy(p + 2, &dport, 2);
	wire_put16(p + 4, len + UDP > 0xffff ? 0xffff : (uint16_t)(len + UDP));
	wire_put16(p + 6, 0);
}

static void put_ip4(uint8_t *p, uint8_t proto, size_t total,
		    const struct in_addr *src, const struct in_addr *dst)
{
	memset(p, 0, IP4);
	p[0] = 0x45;
	wire_put16(p + 2, total > 0xffff ? 0xffff : (uint16_t)total);
	p[8] = TTL;
	p[9] = proto;
	memcpy(p + 12, src, 4);
	memcpy(p + 16, dst, 4);
	wire_put16(p + 10, wire_ip_csum(p));
}

static void put_ip6(uint8_t *p, uint8_t next, size_t plen,
		    const struct in6_addr *src, const struct in6_addr *dst)
{
	memset(p, 0, IP6);
	p[0] = 0x60;
	wire_put16(p + 4, plen > 0xffff ? 0xffff : (uint16_t)plen);
	p[6] = next;
	p[7] = TTL;
	memcpy(p + 8, src, 16);
	memcpy(p + 24, dst, 16);
}

/* fold a sum of 16-bit sums and invert it */
static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return ~s & 0xffff;
}

static int build4(uint8_t *p, int err, const struct sockaddr_in *snd,
		  const struct sockaddr_in *dst, size_t len)
{
	uint8_t *icmp = p + IP4;
	/* codes: net 0, host 1, port 3 */
	uint8_t code = err == ECONNREFUSED ? 3 : err == EHOSTUNREACH ? 1 : 0;

	put_ip4(p, PROTO_ICMP, IP4 + ICMP + IP4 + UDP, &dst->sin_addr,
		&snd->sin_addr);
	memset(icmp, 0, ICMP);
	icmp[0] = 3; /* destination unreachable */
	icmp[1] = code;
	put_ip4(icmp + ICMP, PROTO_UDP, IP4 + UDP + len, &snd->sin_addr,
		&dst->sin_addr);
	put_udp(icmp + ICMP + IP4, snd->sin_port, dst->sin_port, len);
	wire_put16(icmp + 2, fold(wire_sum(icmp, ICMP + IP4 + UDP)));
	return IP4 + ICMP + IP4 + UDP;
}

static int build6(uint8_t *p, int err, const struct sockaddr_in6 *snd,
		  const struct sockaddr_in6 *dst, size_t len)
{
	uint8_t *icmp = p + IP6, pseudo[IP6] = { 0 };
	size_t mlen = ICMP + IP6 + UDP;
	/* codes: no route 0, address 3, port 4 */
	uint8_t code = err == ECONNREFUSED ? 4 : err == EHOSTUNREACH ? 3 : 0;

	put_ip6(p, PROTO_ICMP6, mlen, &dst->sin6_addr, &snd->sin6_addr);
	memset(icmp, 0, ICMP);
	icmp[0] = 1; /* destination unreachable */
	icmp[1] = code;
	put_ip6(icmp + ICMP, PROTO_UDP, UDP + len, &snd->sin6_addr,
		&dst->sin6_addr);
	put_udp(icmp + ICMP + IP6, snd->sin6_port, dst->sin6_port, len);
	/* the pseudo-header: source, destination, length, next header */
	memcpy(pseudo, p + 8, 32);
	wire_put16(pseudo + 34, (uint16_t)mlen);
	pseudo[39] = PROTO_ICMP6;
	wire_put16(icmp + 2, fold((uint32_t)wire_sum(pseudo, IP6) +
				  wire_sum(icmp, mlen)));
	return IP6 + mlen;
}

int rawip_icmp_unreach(void *buf, int err, const struct sockaddr_storage *sender,
		  const struct sockaddr_storage *dest, size_t len)
{
	if (sender->ss_family != dest->ss_family)
		return -EAFNOSUPPORT;
	if (sender->ss_family == AF_INET)
		return build4(buf, err, (const void *)sender,
			      (const void *)dest, len);
	if (sender->ss_family == AF_INET6)
		return build6(buf, err, (const void *)sender,
			      (const void *)dest, len);
	return -EAFNOSUPPORT;
}

int rawip_udp_header(void *buf, const struct sockaddr_storage *src,
		     const struct sockaddr_storage *dst, const void *payload,
		     size_t len)
{
	uint8_t *p = buf, pseudo[IP6] = { 0 };
	const struct sockaddr_in6 *s6 = (const void *)src, *d6 = (const void *)dst;
	const struct sockaddr_in *s4 = (const void *)src, *d4 = (const void *)dst;
	uint32_t sum;

	if (src->ss_family != dst->ss_family ||
	    (src->ss_family != AF_INET && src->ss_family != AF_INET6))
		return -EAFNOSUPPORT;
	if (len + UDP + (src->ss_family == AF_INET ? IP4 : 0) > 0xffff)
		return -EMSGSIZE;
	if (src->ss_family == AF_INET) {
		put_ip4(p, PROTO_UDP, IP4 + UDP + len, &s4->sin_addr,
			&d4->sin_addr);
		put_udp(p + IP4, s4->sin_port, d4->sin_port, len);
		return IP4 + UDP;
	}
	put_ip6(p, PROTO_UDP, UDP + len, &s6->sin6_addr, &d6->sin6_addr);
	put_udp(p + IP6, s6->sin6_port, d6->sin6_port, len);
	memcpy(pseudo, p + 8, 32);
	wire_put16(pseudo + 34, (uint16_t)(UDP + len));
	pseudo[39] = PROTO_UDP;
	sum = (uint32_t)wire_sum(pseudo, IP6) + wire_sum(p + IP6, UDP) +
	      wire_sum(payload, len);
	sum = fold(sum);
	/* a sum of 0 is sent as all ones: 0 means none, which IPv6 forbids */
	wire_put16(p + IP6 + 6, sum ? (uint16_t)sum : 0xffff);
	return IP6 + UDP;
}

size_t rawip_tcp_ack4(void *buf, const struct sockaddr_in *src,
		      const struct sockaddr_in *dst, uint32_t seq, uint32_t ack)
{
	uint8_t *p = buf, *tcp = p + IP4, pseudo[12] = { 0 };

	put_ip4(p, PROTO_TCP, IP4 + TCP, &src->sin_addr, &dst->sin_addr);
	memset(tcp, 0, TCP);
	memcpy(tcp, &src->sin_port, 2); /* network order already */
	memcpy(tcp + 2, &dst->sin_port, 2);
	wire_put32(tcp + 4, seq);
	wire_put32(tcp + 8, ack);
	tcp[12] = (TCP / 4) << 4;
	tcp[13] = 0x10; /* ACK */
	wire_put16(tcp + 14, 0xffff);
	/* the pseudo-header: source, destination, zero, protocol, length */
	memcpy(pseudo, p + 12, 8);
	pseudo[9] = PROTO_TCP;
	wire_put16(pseudo + 10, TCP);
	wire_put16(tcp + 16, fold((uint32_t)wire_sum(pseudo, sizeof(pseudo)) +
				  wire_sum(tcp, TCP)));
	return IP4 + TCP;
}

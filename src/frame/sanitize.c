// SPDX-License-Identifier: GPL-2.0-or-later
/* sanitize.c - the frame check in front of slirp_input(). Pure: bytes in,
 * verdict out, so the unit tests and a fuzzer can drive it directly. */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "../log.h"
#include "sanitize.h"
#include "wire.h"

const char *const sanitize_names[SAN_NUM_VERDICTS] = {
	[SAN_PASS] = "passed",
	[SAN_RUNT] = "runt",
	[SAN_BAD_HEADER] = "bad header",
	[SAN_BAD_LENGTH] = "bad length",
	[SAN_LOOPBACK] = "loopback address",
	[SAN_UNSPECIFIED] = "unspecified address",
	[SAN_BAD_FRAGMENT] = "bad IPv4 fragment",
};
_Static_assert(ARRAY_SIZE(sanitize_names) == SAN_NUM_VERDICTS,
	       "a name for every verdict");

enum {
	ETH_P_ARP_ = 0x0806,
	ETH_P_IPV6_ = 0x86dd,
	IP6_HLEN = 40,
	PROTO_HOPOPT = 0,
	PROTO_UDP = 17,
	PROTO_ICMPV6 = 58,
};

static bool loop4(uint32_t a)
{
	return (a >> 24) == 127;
}

static enum sanitize_verdict check_ipv4(const uint8_t *ip, size_t len)
{
	size_t ihl, total;
	uint32_t src, dst;

	if (len < 20)
		return SAN_RUNT;
	ihl = (ip[0] & 0x0f) * 4u;
	total = wire_get16(ip + 2);
	if ((ip[0] >> 4) != 4 || ihl < 20)
		return SAN_BAD_HEADER;
	if (total < ihl || total > len)
		return SAN_BAD_LENGTH;
	src = wire_get32(ip + 12);
	dst = wire_get32(ip + 16);
	if (loop4(src) || loop4(dst))
		return SAN_LOOPBACK;
	if (dst == 0)
		return SAN_UNSPECIFIED;
	/* DHCP from an address-less guest: 0.0.0.0 -> broadcast, UDP to 67 */
	if (src == 0 &&
	    !(dst == 0xffffffffu && ip[9] == PROTO_UDP && total >= ihl + 8 &&
	      wire_get16(ip + ihl + 2) == 67))
		return SAN_UNSPECIFIED;
	return SAN_PASS;
}

static bool unspec6(const uint8_t *a)
{
	static const uint8_t zero[16];

	return !memcmp(a, zero, 16);
}

/* ::1, and IPv4-mapped loopback (::ffff:127.0.0.0/104) */
static bool loop6(const uint8_t *a)
{
	static const uint8_t one[16] = { [15] = 1 };
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

	return !memcmp(a, one, 16) || (!memcmp(a, mapped, 12) && a[12] == 127);
}

static enum sanitize_verdict check_ipv6(const uint8_t *ip, size_t len)
{
	if (len < IP6_HLEN)
		return SAN_RUNT;
	if ((ip[0] >> 4) != 6)
		return SAN_BAD_HEADER;
	if (IP6_HLEN + (size_t)wire_get16(ip + 4) > len)
		return SAN_BAD_LENGTH;
	if (loop6(ip + 8) || loop6(ip + 24))
		return SAN_LOOPBACK;
	/* from :: only neighbour discovery (ICMPv6) and MLD (ICMPv6 behind a
	 * hop-by-hop header), as a guest sends them while its address is
	 * tentative */
	if (unspec6(ip + 24) ||
	    (unspec6(ip + 8) && ip[6] != PROTO_ICMPV6 && ip[6] != PROTO_HOPOPT))
		return SAN_UNSPECIFIED;
	return SAN_PASS;
}

static enum sanitize_verdict check_arp(const uint8_t *arp, size_t len)
{
	if (len < 28)
		return SAN_RUNT;
	/* Ethernet/IPv4 only: the lengths libslirp's ARP code assumes */
	if (wire_get16(arp) != 1 || wire_get16(arp + 2) != WIRE_ETH_P_IP ||
	    arp[4] != 6 || arp[5] != 4)
		return SAN_BAD_HEADER;
	return SAN_PASS;
}

enum sanitize_verdict sanitize_frame(const uint8_t *f, size_t len)
{
	if (len < WIRE_ETH_LEN)
		return SAN_RUNT;
	switch (wire_get16(f + 12)) {
	case WIRE_ETH_P_IP:
		return check_ipv4(f + WIRE_ETH_LEN, len - WIRE_ETH_LEN);
	case ETH_P_IPV6_:
		return check_ipv6(f + WIRE_ETH_LEN, len - WIRE_ETH_LEN);
	case ETH_P_ARP_:
		return check_arp(f + WIRE_ETH_LEN, len - WIRE_ETH_LEN);
	default:
		return SAN_PASS; /* libslirp ignores other ethertypes */
	}
}

int sanitize_csum_partial(uint8_t *f, size_t len, size_t start, size_t off)
{
	if (start > len || off > len - start || len - start - off < 2)
		return -EINVAL;
	wire_put16(f + start + off, ~wire_sum(f + start, len - start));
	return 0;
}

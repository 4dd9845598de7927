// SPDX-License-Identifier: GPL-2.0-or-later
/* gso.c - libslirp's TCP segments towards the namespace, joined.
 *
 * DOC: Theory of Operation
 * libslirp sends the namespace MSS-sized segments: 1,460 bytes at MTU 1500,
 * so 45 frames for the 64 KiB it has in flight, each a TAP write for us and
 * a trip up the namespace's stack, which answers every second one with an
 * ACK that libslirp must take in. A TAP with IFF_VNET_HDR takes a frame
 * with a virtio-net header saying "TCPV4 GSO, mss N, checksum partial",
 * as a NIC's LRO would hand it up: the namespace's TCP takes it in one
 * piece, as if GRO had joined it, and ACKs it once.
 *
 * So the segments libslirp emits in one loop iteration for one connection,
 * back to back in sequence, go out as one frame of up to 64 KiB: the first
 * one's headers, every segment's payload, the length, ACK number, window
 * and PSH of the last. Every segment but the last must be the size of the
 * first (the namespace's stack would cut the frame at that size, if it
 * ever forwards it), so a shorter one, or one with PSH, closes the frame.
 * Anything else (SYN, FIN, RST, URG, options, IP options, IPv6) goes as it
 * came. The IP checksum is recomputed; the TCP one is left partial, which
 * is also what a receiver trusts without summing 64 KiB again.
 */
#include <arpa/inet.h>
#include <linux/virtio_net.h>
#include <string.h>

#include "gso.h"
#include "wire.h"

enum {
	TCP_LEN = 20,
	HDRS = WIRE_ETH_LEN + WIRE_IP_LEN + TCP_LEN,
	IP_MAX = 65535,
	TH_FIN = 0x01,
	TH_SYN = 0x02,
	TH_RST = 0x04,
	TH_PSH = 0x08,
	TH_ACK = 0x10,
	TH_URG = 0x20,
};

/**
 * segment() - Is @f a TCP segment we may join, and its payload
 * @f:		Ethernet frame
 * @len:	its length
 * @payload:	set to the payload's length
 * Return: whether it is: IPv4, no options, not a fragment, TCP with a
 *	   20-byte header, data, and no flag but ACK and PSH
 */
static bool segment(const uint8_t *f, size_t len, size_t *payload)
{
	const uint8_t *ip = f + WIRE_ETH_LEN, *tcp = ip + WIRE_IP_LEN;
	size_t tot;

	if (len <= HDRS || wire_get16(f + 12) != WIRE_ETH_P_IP ||
	    ip[0] != 0x45 || ip[9] != 6 || (wire_get16(ip + 6) & 0x3fff))
		return false;
	tot = wire_get16(ip + 2);
	if (tot != len - WIRE_ETH_LEN || (tcp[12] >> 4) != 5 ||
	    (tcp[13] & ~(TH_ACK | TH_PSH)) || !(tcp[13] & TH_ACK))
		return false;
	*payload = tot - WIRE_IP_LEN - TCP_LEN;
	return true;
}

bool gso_start(struct gso *g, const uint8_t *f, size_t len)
{
	size_t payload;

	if (!segment(f, len, &payload) || payload > 0xffff)
		return false;
	*g = (struct gso){
	    .len = len,
	    .next_seq = wire_get32(f + WIRE_ETH_LEN + WIRE_IP_LEN + 4) +
			(uint32_t)payload,
	    .mss = (uint16_t)payload,
	    .segs = 1,
	    .closed = (f[WIRE_ETH_LEN + WIRE_IP_LEN + 13] & TH_PSH) != 0,
	};
	return true;
}

/* The same connection: addresses (IP 12..19) and ports (TCP 0..3). */
static bool same_flow(const uint8_t *a, const uint8_t *b)
{
	return !memcmp(a + WIRE_ETH_LEN + 12, b + WIRE_ETH_LEN + 12, 8) &&
	       !memcmp(a + WIRE_ETH_LEN + WIRE_IP_LEN,
		       b + WIRE_ETH_LEN + WIRE_IP_LEN, 4) &&
	       !memcmp(a, b, WIRE_ETH_LEN); /* and MACs */
}

bool gso_append(struct gso *g, uint8_t *f, size_t room, const uint8_t *s,
		size_t slen)
{
	uint8_t *ip = f + WIRE_ETH_LEN, *tcp = ip + WIRE_IP_LEN;
	const uint8_t *stcp = s + WIRE_ETH_LEN + WIRE_IP_LEN;
	size_t payload;

	if (g->closed || !segment(s, slen, &payload) || payload > g->mss ||
	    !same_flow(f, s) || wire_get32(stcp + 4) != g->next_seq ||
	    g->len + payload > room || g->len - WIRE_ETH_LEN + payload > IP_MAX)
		return false;
	memcpy(f + g->len, s + HDRS, payload);
	g->len += payload;
	g->next_seq += (uint32_t)payload;
	g->segs++;
	g->closed = payload < g->mss || (stcp[13] & TH_PSH);
	wire_put16(ip + 2, (uint16_t)(g->len - WIRE_ETH_LEN));
	wire_put16(ip + 10, wire_ip_csum(ip));
	memcpy(tcp + 8, stcp + 8, 4); /* ACK number */
	tcp[13] |= stcp[13] & TH_PSH;
	memcpy(tcp + 14, stcp + 14, 2); /* window */
	return true;
}

void gso_finish(const struct gso *g, uint8_t *f, void *hdr)
{
	struct virtio_net_hdr *h = hdr;
	uint8_t *ip = f + WIRE_ETH_LEN, *tcp = ip + WIRE_IP_LEN;
	uint32_t sum;

	memset(h, 0, sizeof(*h));
	if (g->segs < 2)
		return; /* as libslirp made it, checksum and all */
	h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	h->hdr_len = HDRS;
	h->gso_size = g->mss;
	h->csum_start = WIRE_ETH_LEN + WIRE_IP_LEN;
	h->csum_offset = 16;
	/* the pseudo-header's sum, not complemented: the rest is "partial" */
	sum = wire_get16(ip + 12) + wire_get16(ip + 14) + wire_get16(ip + 16) +
	      wire_get16(ip + 18) + 6 +
	      (uint32_t)(g->len - WIRE_ETH_LEN - WIRE_IP_LEN);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	wire_put16(tcp + 16, (uint16_t)sum);
}

// SPDX-License-Identifier: GPL-2.0-or-later
/* Joining libslirp's TCP segments towards the namespace (gso.c). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <linux/virtio_net.h>
#include <string.h>

#include "frame/gso.h"

enum { HDRS = 54, ROOM = 65536 + 64 };

static uint8_t frame[ROOM], seg[ROOM];

/* An Ethernet/IPv4/TCP segment of @payload bytes at @seq with @flags;
 * its payload bytes are (seq + i) & 0xff, so joins can be checked. */
static size_t make(uint8_t *f, uint32_t seq, size_t payload, uint8_t flags)
{
	uint8_t *ip = f + 14, *tcp = ip + 20;
	uint16_t tot = htons(20 + 20 + payload);
	uint32_t nseq = htonl(seq), ack = htonl(seq ^ 0x5555);

	memset(f, 0, HDRS);
	memcpy(f, "\x02\x00\x00\x00\x00\x01\x52\x55\x0a\x00\x02\x02", 12);
	f[12] = 0x08;
	ip[0] = 0x45;
	memcpy(ip + 2, &tot, 2);
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12, "\x0a\x00\x02\x02\x0a\x00\x02\x64", 8);
	memcpy(tcp, "\x1f\x90\xc0\x00", 4);
	memcpy(tcp + 4, &nseq, 4);
	memcpy(tcp + 8, &ack, 4);
	tcp[12] = 5 << 4;
	tcp[13] = flags;
	tcp[14] = (uint8_t)(payload >> 4); /* a window that changes */
	for (size_t i = 0; i < payload; i++)
		f[HDRS + i] = (uint8_t)(seq + i);
	return HDRS + payload;
}

Test(gso, joins_consecutive_segments)
{
	struct gso g;
	struct virtio_net_hdr h;
	size_t len = make(frame, 1000, 1460, 0x10);

	cr_assert(gso_start(&g, frame, len));
	for (int i = 1; i < 4; i++)
		cr_assert(gso_append(&g, frame, ROOM, seg,
				     make(seg, 1000 + 1460 * i, 1460, 0x10)));
	cr_assert(gso_append(&g, frame, ROOM, seg,
			     make(seg, 1000 + 1460 * 4, 100, 0x18)),
		  "a shorter last segment, with PSH");
	cr_assert_eq(g.segs, 5);
	cr_assert_eq(g.len, HDRS + 4 * 1460 + 100);
	for (size_t i = 0; i < 4 * 1460 + 100; i++)
		cr_assert_eq(frame[HDRS + i], (uint8_t)(1000 + i), "byte %zu", i);
	cr_assert_eq(frame[16] << 8 | frame[17], 40 + 4 * 1460 + 100,
		     "IP total length");
	cr_assert_eq(memcmp(frame + 34 + 8, seg + 34 + 8, 4), 0,
		     "the last segment's ACK number");
	cr_assert_eq(frame[34 + 14], seg[34 + 14], "and window");
	cr_assert_eq(frame[34 + 13], 0x18, "and PSH");

	gso_finish(&g, frame, &h);
	cr_assert_eq(h.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	cr_assert_eq(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	cr_assert_eq(h.gso_size, 1460);
	cr_assert_eq(h.hdr_len, HDRS);
	cr_assert_eq(h.csum_start, 34);
	cr_assert_eq(h.csum_offset, 16);
}

/* the IP header checksum must come out right: sum of the header is ~0 */
Test(gso, ip_checksum_valid)
{
	struct gso g;
	uint32_t sum = 0;

	cr_assert(gso_start(&g, frame, make(frame, 1, 1000, 0x10)));
	cr_assert(gso_append(&g, frame, ROOM, seg, make(seg, 1001, 1000, 0x10)));
	for (int i = 0; i < 20; i += 2)
		sum += frame[14 + i] << 8 | frame[15 + i];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	cr_assert_eq(sum, 0xffff);
}

/* the TCP checksum field holds the pseudo-header's sum, for the
 * namespace's stack to finish if it forwards the frame */
Test(gso, pseudo_header_sum)
{
	struct gso g;
	struct virtio_net_hdr h;

	cr_assert(gso_start(&g, frame, make(frame, 1, 1000, 0x10)));
	cr_assert(gso_append(&g, frame, ROOM, seg, make(seg, 1001, 1000, 0x10)));
	gso_finish(&g, frame, &h);
	/* 0a00+0202+0a00+0264 + 6 + 2020 */
	uint32_t want = 0x0a00 + 0x0202 + 0x0a00 + 0x0264 + 6 + 2020;

	cr_assert_eq(frame[34 + 16] << 8 | frame[34 + 17], want);
}

Test(gso, one_segment_left_alone)
{
	struct gso g;
	struct virtio_net_hdr h;
	static const struct virtio_net_hdr zero;
	size_t len = make(frame, 7, 500, 0x10);

	memcpy(seg, frame, len);
	cr_assert(gso_start(&g, frame, len));
	gso_finish(&g, frame, &h);
	cr_assert_eq(memcmp(&h, &zero, sizeof(h)), 0, "no offload asked");
	cr_assert_eq(memcmp(frame, seg, len), 0, "frame untouched");
}

Test(gso, what_does_not_start)
{
	struct gso g;
	size_t len;

	cr_assert_not(gso_start(&g, frame, make(frame, 1, 0, 0x10)), "no data");
	cr_assert_not(gso_start(&g, frame, make(frame, 1, 10, 0x12)), "SYN");
	cr_assert_not(gso_start(&g, frame, make(frame, 1, 10, 0x11)), "FIN");
	cr_assert_not(gso_start(&g, frame, make(frame, 1, 10, 0x14)), "RST");
	cr_assert_not(gso_start(&g, frame, make(frame, 1, 10, 0x30)), "URG");
	cr_assert_not(gso_start(&g, frame, make(frame, 1, 10, 0x08)), "no ACK");
	len = make(frame, 1, 10, 0x10);
	frame[20] = 0x20; /* MF: a fragment */
	cr_assert_not(gso_start(&g, frame, len), "fragment");
	len = make(frame, 1, 10, 0x10);
	frame[14] = 0x46;
	cr_assert_not(gso_start(&g, frame, len), "IP options");
	len = make(frame, 1, 10, 0x10);
	frame[34 + 12] = 8 << 4;
	cr_assert_not(gso_start(&g, frame, len), "TCP options");
	len = make(frame, 1, 10, 0x10);
	frame[23] = 17;
	cr_assert_not(gso_start(&g, frame, len), "UDP");
	len = make(frame, 1, 10, 0x10);
	frame[12] = 0x86;
	frame[13] = 0xdd;
	cr_assert_not(gso_start(&g, frame, len), "not IPv4");
	len = make(frame, 1, 10, 0x10);
	cr_assert_not(gso_start(&g, frame, len - 1), "length mismatch");
}

Test(gso, what_does_not_join)
{
	struct gso g;
	size_t len = make(frame, 1000, 1000, 0x10);

	cr_assert(gso_start(&g, frame, len));
	cr_assert_not(gso_append(&g, frame, ROOM, seg,
				 make(seg, 2001, 1000, 0x10)), "a gap");
	cr_assert_not(gso_append(&g, frame, ROOM, seg,
				 make(seg, 1000, 1000, 0x10)), "a resend");
	cr_assert_not(gso_append(&g, frame, ROOM, seg,
				 make(seg, 2000, 1001, 0x10)), "longer");
	cr_assert_not(gso_append(&g, frame, ROOM, seg,
				 make(seg, 2000, 1000, 0x11)), "FIN");
	make(seg, 2000, 1000, 0x10);
	seg[34] ^= 1;
	cr_assert_not(gso_append(&g, frame, ROOM, seg, HDRS + 1000),
		      "another port");
	make(seg, 2000, 1000, 0x10);
	seg[29] ^= 1;
	cr_assert_not(gso_append(&g, frame, ROOM, seg, HDRS + 1000),
		      "another address");
	cr_assert_not(gso_append(&g, frame, HDRS + 1999, seg,
				 make(seg, 2000, 1000, 0x10)), "no room");
	cr_assert_eq(g.segs, 1);
	cr_assert(gso_append(&g, frame, ROOM, seg, make(seg, 2000, 500, 0x10)));
	cr_assert_not(gso_append(&g, frame, ROOM, seg,
				 make(seg, 2500, 500, 0x10)),
		      "nothing after a short segment");
}

Test(gso, psh_closes_the_frame)
{
	struct gso g;

	cr_assert(gso_start(&g, frame, make(frame, 0, 1000, 0x18)));
	cr_assert_not(gso_append(&g, frame, ROOM, seg,
				 make(seg, 1000, 1000, 0x10)));
}

/* never past an IP packet's 65,535 bytes */
Test(gso, stops_at_64k)
{
	struct gso g;
	uint32_t seq = 0;
	int n = 1;

	cr_assert(gso_start(&g, frame, make(frame, seq, 8000, 0x10)));
	while (gso_append(&g, frame, ROOM, seg,
			  make(seg, seq += 8000, 8000, 0x10)))
		n++;
	cr_assert_eq(n, 8, "8 x 8,000 + headers fit, 9 would not");
	cr_assert_leq(g.len - 14, 65535);
}

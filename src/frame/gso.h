/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_GSO_H
#define S4_GSO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* TCP segments libslirp sends to the namespace, joined into one frame the
 * namespace's kernel takes whole (see gso.c). */
struct gso {
	size_t len;	   /* of the frame so far */
	uint32_t next_seq; /* where the next segment must start */
	uint16_t mss;	   /* payload of the first segment */
	uint16_t segs;
	bool closed; /* a short or PSH segment: nothing may follow */
};

/**
 * gso_start() - Take @f as the first segment of a joined frame, if it may be
 * @g:		state
 * @f:		Ethernet frame, in the buffer it will grow in
 * @len:	its length
 * Return: whether it may (an IPv4 TCP segment with data and only ACK, or
 *	   ACK and PSH, set; no IP options or fragment)
 */
bool gso_start(struct gso *g, const uint8_t *f, size_t len);

/**
 * gso_append() - Add segment @s to the frame @f, if it continues it
 * @g:		state, from gso_start()
 * @f:		the frame so far
 * @room:	size of its buffer
 * @s:		the next Ethernet frame from libslirp
 * @slen:	its length
 *
 * It continues it if it is the same connection's next segment, no longer
 * than the first, and the frame is not closed and has room.
 * Return: whether it was added (the frame's headers are updated: length,
 *	   ACK, window, flags)
 */
bool gso_append(struct gso *g, uint8_t *f, size_t room, const uint8_t *s,
		size_t slen);

/**
 * gso_finish() - The virtio-net header for the frame
 * @g:		state
 * @f:		the frame
 * @hdr:	struct virtio_net_hdr to fill
 *
 * One segment: all zero, the frame as libslirp made it. More: a TCPV4 GSO
 * frame with the checksum left partial (the TCP checksum field gets the
 * pseudo-header's sum), as a NIC with LRO would hand it up.
 */
void gso_finish(const struct gso *g, uint8_t *f, void *hdr);

#endif

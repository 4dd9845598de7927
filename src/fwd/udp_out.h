/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_UDP_OUT_H
#define S4_UDP_OUT_H

#include <stdint.h>

#include "../ring/ring.h"

/* The namespace's outbound UDP by the kernel's transparent proxy, not
 * libslirp: a flow per guest socket and destination (see udp_out.c). */
struct udp_out;
struct helper;
struct opts;
struct timers;

/* The engine, with no listener yet; NULL without memory. */
struct udp_out *udp_out_new(struct ring *ring, struct timers *timers,
			    struct helper *helper, const struct opts *o);
void udp_out_free(struct udp_out *u);

/**
 * udp_out_listen() - The listeners in the namespace that the rules send
 * the guest's datagrams to
 * @u:		engine
 * @port:	set to the transparent ones' ports, for the namespace's own
 *		datagrams: [0] 127.0.0.1, [1] ::1 (0 without -6)
 * @any:	set to the wildcard ones' ports, for containers': [0]
 *		0.0.0.0, [1] :: (0 where conntrack cannot be asked)
 * Return: 0, or -errno and none open
 */
int udp_out_listen(struct udp_out *u, uint16_t port[2], uint16_t any[2]);

/* Close the listeners and every flow (the rules are gone, or never were). */
void udp_out_stop(struct udp_out *u);

/* A RING_UDP_OUT_LISTEN or RING_UDP_OUT_FLOW completion; @u may be NULL */
void udp_out_complete(struct udp_out *u, union ring_ref ref, int res);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_UDP_H
#define S4_UDP_H

#include <sys/socket.h>

#include "../ring/ring.h"

/* UDP forwards on the fast path: a flow per client, each with a socket in
 * the namespace (see udp.c). */
struct fwd_udp;
struct helper;
struct opts;
struct timers;

/* The engine, idle: @helper makes its sockets in the namespace; NULL
 * without memory. */
struct fwd_udp *fwd_udp_new(struct ring *ring, struct timers *timers,
			    struct helper *helper, const struct opts *o);
void fwd_udp_free(struct fwd_udp *u);

/* Once, before the first forward, after the namespace's rules for
 * transparent sockets (fwd_splice_rules()): the rules that bring answers
 * back, so that services see clients' addresses. 0, or -errno (then
 * services see the namespace's own address) */
int fwd_udp_rules(struct fwd_udp *u);

/* Listen on @host; each client's datagrams go to @guest. 0 or -errno */
int fwd_udp_add(struct fwd_udp *u, const struct sockaddr *host,
		socklen_t hlen, const struct sockaddr *guest, socklen_t glen);
/* Close the listener on @host and its flows. 0 or -ENOENT */
int fwd_udp_remove(struct fwd_udp *u, const struct sockaddr *host,
		   socklen_t hlen);

/* A RING_FWD_UDP_LISTEN or RING_FWD_UDP_FLOW completion. */
void fwd_udp_complete(struct fwd_udp *u, union ring_ref ref, int res);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_GATE_H
#define S4_GATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "../ring/ring.h"

/* The parent's end of the SYN queue (ns/synq.c): for each SYN the helper
 * holds, connect on the host first, then let the guest's handshake go on,
 * or refuse it as libslirp would (see gate.c). */
struct gate;
struct timers;

/**
 * typedef gate_dial_fn - A host socket for a guest's new connection
 * @opaque:	as given to gate_new()
 * @orig:	where the guest dialled
 * @to:		set to where to connect it
 * @tolen:	its length
 * Return: a non-blocking TCP socket, not yet connected, or -errno:
 *	   -ECONNREFUSED where libslirp would refuse
 */
typedef int (*gate_dial_fn)(const void *opaque,
			    const struct sockaddr_storage *orig,
			    struct sockaddr_storage *to, socklen_t *tolen);

/* Where the SYNs come from. */
struct gate_queue {
	int fd;	     /* SOCK_SEQPACKET to the helper, non-blocking; or the
		      * queue's own netlink socket, bound by us (@direct) */
	bool direct;
	uint16_t num;  /* the queue, if @direct */
	uint32_t mark; /* --forward-fwmark, if @direct */
};

/**
 * gate_new() - Serve the SYN queue
 * @ring:	for the queue's poll and the connects'
 * @timers:	for the connects' time limits
 * @q:		where the SYNs come from; @q->fd is the gate's
 * @dial:	makes each host socket
 * @opaque:	for @dial
 * Return: the gate, or NULL without memory (@q->fd is closed then)
 */
struct gate *gate_new(struct ring *ring, struct timers *timers,
		      const struct gate_queue *q, gate_dial_fn dial,
		      const void *opaque);
void gate_free(struct gate *g);

/* A RING_GATE_CHAN or RING_GATE_CONN completion. */
void gate_complete(struct gate *g, union ring_ref ref, int res);

/**
 * gate_claim() - The host socket connected for a guest's connection
 * @g:		gate
 * @guest:	the guest's end, as our listener's accept() gives it
 * @orig:	where it dialled: the accepted socket's own address
 * Return: the connected socket, now the caller's, or -ENOENT if there is
 *	   none (its SYN was not held)
 */
int gate_claim(struct gate *g, const struct sockaddr_storage *guest,
	       const struct sockaddr_storage *orig);

#endif

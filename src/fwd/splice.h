/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_SPLICE_H
#define S4_SPLICE_H

#include <stdbool.h>
#include <sys/socket.h>

#include "../ring/ring.h"

/* The fds the engine wants free before it accepts a connection: the
 * client and the namespace's socket (pipes are lent only while bytes are
 * in flight, from a bounded pool, or the bytes are copied: pipepool.h) */
enum { FWD_SPLICE_CONN_FDS = 2 };

/* TCP forwards on the fast path: host socket <-> namespace socket, by
 * splice(2), never through the TAP or libslirp (see splice.c). */
struct fwd_splice;
struct helper;
struct opts;
struct timers;

/**
 * fwd_splice_new() - The engine, idle
 * @ring:	its operations go here
 * @timers:	connect timeouts, retries, the sweep
 * @helper:	makes its sockets in the namespace
 * @o:		options (fwmark, table, --outbound-addr, the network)
 * Return: the engine, or NULL without memory
 */
struct fwd_splice *fwd_splice_new(struct ring *ring, struct timers *timers,
				  struct helper *helper, const struct opts *o);
/* Resets every connection, closes every listener. */
void fwd_splice_free(struct fwd_splice *s);

/**
 * fwd_splice_add() - Listen on @host; each client is connected to @guest
 * @s:		engine
 * @host:	where to listen
 * @hlen:	its length
 * @guest:	where to connect, in the namespace
 * @glen:	its length
 * Return: 0 or -errno
 */
int fwd_splice_add(struct fwd_splice *s, const struct sockaddr *host,
		   socklen_t hlen, const struct sockaddr *guest,
		   socklen_t glen);

/* Close the listener on @host; its connections carry on. 0 or -ENOENT */
int fwd_splice_remove(struct fwd_splice *s, const struct sockaddr *host,
		      socklen_t hlen);

/**
 * fwd_splice_rules() - The namespace's rules for transparent sockets
 * (transparent.c), installed on the first call
 * @s:		engine
 * Return: 0, or why they could not be installed (-errno)
 */
int fwd_splice_rules(struct fwd_splice *s);

/**
 * typedef fwd_splice_dial_fn - The other end of an adopted listener's
 * connection
 * @opaque:	as given to fwd_splice_adopt()
 * @cfd:	the accepted connection
 * @to:		set to where to connect the socket returned
 * @tolen:	its length
 *
 * The engine connects the socket, without a timer of its own, and relays;
 * a socket already connected comes with *@tolen 0.
 * Return: a non-blocking TCP socket, or -errno to reset the client
 */
typedef int (*fwd_splice_dial_fn)(const void *opaque, int cfd,
				  struct sockaddr_storage *to,
				  socklen_t *tolen);

/**
 * fwd_splice_adopt() - Relay the connections of a listener that is not a
 * forward's (bypass.c's, in the namespace) to wherever @dial says
 * @s:		engine
 * @fd:		listening, non-blocking; the engine's on success
 * @dial:	makes the other end of each connection
 * @opaque:	for @dial
 * Return: 0 or -errno
 */
int fwd_splice_adopt(struct fwd_splice *s, int fd, fwd_splice_dial_fn dial,
		     const void *opaque);

/* Close every adopted listener (their connections go on). */
void fwd_splice_drop_adopted(struct fwd_splice *s);

/* Directions that used their budget wait for fwd_splice_work(): the loop
 * must not sleep. */
bool fwd_splice_busy(const struct fwd_splice *s);

/**
 * fwd_splice_work() - A slice for each direction on the run queue, once
 * per loop turn
 * @s:		engine
 *
 * Returns early, leaving the rest queued, once something else has
 * completed on the ring (ring_news()): the loop sees to that first.
 */
void fwd_splice_work(struct fwd_splice *s);

/* A RING_FWD_LISTEN or RING_FWD_CONN completion. */
void fwd_splice_complete(struct fwd_splice *s, union ring_ref ref, int res);

/* Only a helper inside the target's namespace may make the sockets: with
 * tapfd there is none, with BESS it stays in ours, where guest_addr would
 * be a real address. The add functions (here and udp.h) assume one. */
bool fwd_splice_available(const struct fwd_splice *s);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_BYPASS_H
#define S4_BYPASS_H

#include <sys/socket.h>

#include "../ring/ring.h"

struct bypass;
struct fwd_splice;
struct helper;
struct opts;
struct timers;

/* The namespace's outbound TCP by the kernel's transparent proxy and the
 * splice engine, not libslirp (the default; --disable-tcp-bypass turns it
 * off; see bypass.c). */

/**
 * bypass_start() - Listeners in the namespace, the rules that feed them,
 * and the gate that holds each new connection until the host's connect
 * has an outcome
 * @ring:	for the gate
 * @timers:	for the gate
 * @helper:	makes the listeners, installs the rules, holds the SYNs
 * @o:		options (--disable-tcp-bypass, the network, the fwmark)
 * @splice:	the engine that relays what they accept
 *
 * If any part is missing, says why once and leaves outbound TCP to
 * libslirp: never fatal.
 * Return: the bypass, or NULL if outbound TCP stays on libslirp
 */
struct bypass *bypass_start(struct ring *ring, struct timers *timers,
			    struct helper *helper, const struct opts *o,
			    struct fwd_splice *splice);

/* A RING_GATE_CHAN or RING_GATE_CONN completion; @b may be NULL. */
void bypass_complete(struct bypass *b, union ring_ref ref, int res);
void bypass_free(struct bypass *b);

/**
 * bypass_target() - Where a bypassed connection goes on the host, as
 * libslirp would send it
 * @o:		options
 * @orig:	its original destination: the accepted socket's own address
 * @to:		set to the host's address
 * Return: its length, or -ECONNREFUSED where libslirp would refuse or we
 *	   must not go (the listener's own loopback address)
 */
int bypass_target(const struct opts *o, const struct sockaddr_storage *orig,
		  struct sockaddr_storage *to);

/**
 * bypass_socket() - The host end of a bypassed connection
 * @o:		options
 * @orig:	where the guest dialled
 * @to:		set to where to connect it
 * @tolen:	its length
 * Return: a non-blocking TCP socket, bound to --outbound-addr[6] if given,
 *	   or -errno
 */
int bypass_socket(const struct opts *o, const struct sockaddr_storage *orig,
		  struct sockaddr_storage *to, socklen_t *tolen);

#endif

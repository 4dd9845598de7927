/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_BYPASS_H
#define S4_BYPASS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "../ring/ring.h"

struct bypass;
struct fwd_splice;
struct helper;
struct udp_out;
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
 * @udp:	the engine for outbound UDP, whose listeners the rules feed
 *		too (NULL: UDP stays on libslirp)
 *
 * If any part is missing, says why once and leaves outbound TCP to
 * libslirp: never fatal.
 * Return: the bypass, or NULL if outbound TCP stays on libslirp
 */
struct bypass *bypass_start(struct ring *ring, struct timers *timers,
			    struct helper *helper, const struct opts *o,
			    struct fwd_splice *splice, struct udp_out *udp);

/* A RING_GATE_CHAN or RING_GATE_CONN completion; @b may be NULL. */
void bypass_complete(struct bypass *b, union ring_ref ref, int res);
void bypass_free(struct bypass *b);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_REAP_H
#define S4_REAP_H

#include <slirp/libslirp.h>

struct opts;
struct tap;
struct timers;

/* Finds libslirp's connections whose guest side is gone, and closes them
 * (reap.c). */
struct reap;

/**
 * reap_new() - Start sweeping libslirp's connections
 * @slirp:	libslirp
 * @tap:	where probes go, and answers come from
 * @timers:	for the sweeps
 * @o:		options: the gateway's address
 * Return: the reaper, or NULL (out of memory)
 */
struct reap *reap_new(Slirp *slirp, struct tap *tap, struct timers *timers,
		      const struct opts *o);
void reap_free(struct reap *r);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_DNS_H
#define S4_DNS_H

#include <stdint.h>

#include "../ring/ring.h"

struct dns;
struct helper;
struct opts;
struct timers;

/**
 * dns_new() - Our DNS forwarder at the DNS address (dns.c)
 * @ring:	event ring
 * @timers:	timers
 * @helper:	makes its sockets in the namespace and the route there
 * @o:		options
 *
 * Return: the forwarder, or NULL where libslirp keeps answering the DNS
 *	   address (--disable-dns, no helper, a persistent TAP, an error:
 *	   said once)
 */
struct dns *dns_new(struct ring *ring, struct timers *timers,
		    struct helper *helper, const struct opts *o);
void dns_complete(struct dns *d, union ring_ref ref, int res);
void dns_free(struct dns *d);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_DNSMARK_H
#define S4_DNSMARK_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "nft.h"

/* The table that sends DNS to the DNS address to our forwarder's sockets
 * in the namespace, where a route on the TAP cannot (see dnsmark.c). */
struct dnsmark {
	struct nft nft; /* nft.nl NULL: no nf_tables */
	uint32_t mark;	/* --forward-fwmark */
	struct in_addr dns4;
	struct in6_addr dns6;
	bool has4, has6;
};

/* The socket for it; call before any seccomp filter. */
void dnsmark_open(struct dnsmark *m, uint32_t mark);

/**
 * dnsmark_install() - The table, for @addr too (an IPv4 or IPv6 DNS
 * address; the table is made again with every address so far)
 * @m:		opened
 * @family:	AF_INET or AF_INET6
 * @addr:	a struct in_addr or in6_addr
 *
 * Needs transparent.c's rule and route for the mark.
 * Return: 0 or -errno (-ENOTSUP: no nf_tables)
 */
int dnsmark_install(struct dnsmark *m, int family, const void *addr);
void dnsmark_remove(struct dnsmark *m);

#endif

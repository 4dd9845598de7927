/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_UDPREPLY_H
#define S4_UDPREPLY_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "nft.h"

/* How long conntrack keeps an idle entry of our UDP forwards: longer than
 * fwd/udp.c keeps an idle flow, so that no answer outlives its entry */
enum { UDPREPLY_TIMEOUT_S = 300 };

/* The table that brings a UDP service's answers back to our forward's
 * socket in the namespace (see udpreply.c). */
struct udpreply {
	struct nft nft; /* nft.nl NULL: no nf_tables */
	uint32_t mark; /* --forward-fwmark */
	char ifname[IFNAMSIZ]; /* the TAP */
	unsigned timeout_s; /* conntrack's, for our entries */
	bool ipv6;
};

/* The mark of our UDP forwards' sockets, from --forward-fwmark (which,
 * and the six after it, are tproxy.c's and synq.h's) */
static inline uint32_t udpreply_mark(uint32_t base)
{
	return base + 7;
}

/* The socket for it; call before any seccomp filter. @mark: the forward
 * mark; @timeout_s: how long conntrack keeps an idle entry of ours
 * (longer than we keep a flow). */
void udpreply_open(struct udpreply *u, uint32_t mark, const char *tapname,
		   unsigned timeout_s);

/**
 * udpreply_install() - The table, once (again: nothing to do)
 * @u:		opened
 * @ipv6:	for IPv6 too
 *
 * Needs transparent.c's rule and route for the mark.
 * Return: 0 or -errno (-ENOTSUP: no nf_tables, or no socket)
 */
int udpreply_install(struct udpreply *u, bool ipv6);
void udpreply_remove(struct udpreply *u);

#endif

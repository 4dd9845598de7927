/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_TPROXY_H
#define S4_TPROXY_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "nft.h"

struct opts;

/* Our listeners' ports, host order; index 0 IPv4, 1 IPv6 (0: none) */
struct tproxy_ports {
	uint16_t lo[2];	 /* transparent, on 127.0.0.1 and ::1: the
			  * namespace's own TCP, which comes back in by lo */
	uint16_t any[2]; /* on 0.0.0.0 and ::: what other interfaces route
			  * to the TAP, redirected there */
	uint16_t udp[2]; /* UDP, transparent, on 127.0.0.1 and ::1: the
			  * namespace's own datagrams (fwd/udp_out.c) */
	uint16_t udp_any[2]; /* UDP on 0.0.0.0 and ::: what other interfaces
			      * route to the TAP, redirected there (0: it
			      * stays libslirp's) */
};

/* The nftables table in the target namespace that hands the guest's
 * outbound TCP to our listeners (the default; see tproxy.c). */
struct tproxy {
	struct nft nft; /* nft.nl NULL if not wanted */
	bool ipv6;
	char ifname[IFNAMSIZ]; /* the TAP: only what leaves by it */
	uint32_t mark;
	uint16_t queue; /* synq.c's */
	/* destinations left to libslirp: address & mask */
	struct in_addr skip4, mask4;
	struct in6_addr skip6, mask6;
	struct tproxy_ports ports; /* tproxy_install()'s */
};

/* Take what tproxy_install() needs from @o and open the netlink socket,
 * if @o asks for the bypass; call before any seccomp filter. */
void tproxy_open(struct tproxy *t, const struct opts *o);

/**
 * tproxy_install() - The table: mark outbound TCP, deliver it to our
 * listeners
 * @t:		opened
 * @ports:	theirs; IPv6 ones are ignored without -6
 *
 * Needs the fwmark rule and local route of transparent.c for t->mark.
 * Return: 0, -EEXIST if the table is there already, another -errno
 */
int tproxy_install(struct tproxy *t, const struct tproxy_ports *ports);

/* Delete the table, if installed. */
void tproxy_remove(struct tproxy *t);
void tproxy_close(struct tproxy *t);

#endif

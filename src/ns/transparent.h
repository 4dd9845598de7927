/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_TRANSPARENT_H
#define S4_TRANSPARENT_H

#include <stdbool.h>
#include <stdint.h>

/* Rules in the target namespace that let a splice forward's socket there
 * use the client's address as its own (see transparent.c). */
enum { TRANSPARENT_SYSCTLS = 4 };

struct transparent {
	struct mnl_socket *nl;
	int sysctl[TRANSPARENT_SYSCTLS]; /* see transparent.c */
	char old[TRANSPARENT_SYSCTLS];	 /* their values before, or 0 */
	unsigned seq;
	bool installed, ipv6;
	uint32_t mark, table;
};

/* Open what install and remove need; call before any seccomp filter. */
void transparent_open(struct transparent *t);

/**
 * transparent_install() - tcp_fwmark_accept, the fwmark rule(s) and the
 * local route(s) in @table
 * @t:		opened
 * @mark:	fwmark our sockets carry
 * @table:	routing table for them
 * @ipv6:	IPv6 too
 *
 * Exactly our rule and route, left by a forwarder that was killed, are
 * replaced.
 * Return: 0 (also when already installed), -EEXIST if another rule uses
 *	   @mark or @table, or another -errno; nothing stays behind on failure
 */
int transparent_install(struct transparent *t, uint32_t mark, uint32_t table,
			bool ipv6);

/* Is lo up? What is routed to it is lost while it is down. */
bool transparent_lo_up(struct transparent *t);

/**
 * transparent_local_route() - "local ADDR dev IFINDEX table local": what
 * the namespace sends to ADDR stays in it, for a socket bound there
 * @t:		opened
 * @family:	AF_INET or AF_INET6
 * @addr:	a struct in_addr or in6_addr
 * @ifindex:	the TAP's: the route goes when the TAP does
 * Return: 0 or -errno
 */
int transparent_local_route(struct transparent *t, int family,
			    const void *addr, int ifindex);

/* Undo transparent_install(). */
void transparent_remove(struct transparent *t);
void transparent_close(struct transparent *t);

#endif

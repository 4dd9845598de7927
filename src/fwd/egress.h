/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_EGRESS_H
#define S4_EGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct helper;
struct opts;

/* What the kernel paths for outbound TCP (bypass.c) and UDP (udp_out.c)
 * share: their listeners in the namespace, and where what they take goes
 * on the host (see egress.c). */

/**
 * egress_target() - Where a bypassed connection or datagram goes on the
 * host, as libslirp would send it
 * @o:		options
 * @orig:	its original destination: the accepted socket's own address
 * @to:		set to the host's address
 * Return: its length, or -ECONNREFUSED where libslirp would refuse or we
 *	   must not go (the listener's own loopback address)
 */
int egress_target(const struct opts *o, const struct sockaddr_storage *orig,
		  struct sockaddr_storage *to);

/**
 * egress_listener() - A transparent socket in the namespace, on loopback or
 * the wildcard address, at a port the kernel picks: the kernel path's
 * listener
 * @h:		makes it
 * @o:		options (the fwmark)
 * @type:	SOCK_STREAM (listening) or SOCK_DGRAM
 * @family:	AF_INET or AF_INET6
 * @any:	the wildcard address
 * @port:	set to its port
 *
 * Its mark is not the one that routes to lo (ns/tproxy.c): its answers go
 * out as any others, to a container behind a bridge as well.
 * Return: the fd, or -errno
 */
int egress_listener(struct helper *h, const struct opts *o, int type,
		    int family, bool any, uint16_t *port);

/**
 * egress_socket() - The host end of a bypassed connection or UDP flow
 * @o:		options
 * @type:	SOCK_STREAM or SOCK_DGRAM
 * @orig:	where the guest dialled
 * @to:		set to where to connect it
 * @tolen:	its length
 * Return: a non-blocking socket, bound to --outbound-addr[6] if given,
 *	   or -errno
 */
int egress_socket(const struct opts *o, int type,
		  const struct sockaddr_storage *orig,
		  struct sockaddr_storage *to, socklen_t *tolen);

#endif

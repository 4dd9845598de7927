/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_BYPASS_H
#define S4_BYPASS_H

#include <sys/socket.h>

struct fwd_splice;
struct helper;
struct opts;

/* --enable-tcp-bypass: the namespace's outbound TCP by the kernel's
 * transparent proxy and the splice engine, not libslirp (see bypass.c). */

/**
 * bypass_start() - Listeners in the namespace and the rules that feed them
 * @helper:	makes the listeners and installs the rules
 * @o:		options (--enable-tcp-bypass, the network, the fwmark)
 * @splice:	the engine that relays what they accept
 *
 * If any part is missing, says why once and leaves outbound TCP to
 * libslirp: never fatal.
 */
void bypass_start(struct helper *helper, const struct opts *o,
		  struct fwd_splice *splice);

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
 * @cfd:	the accepted connection from the guest
 * @to:		set to where to connect it
 * @tolen:	its length
 * Return: a non-blocking TCP socket, bound to --outbound-addr[6] if given,
 *	   or -errno
 */
int bypass_socket(const struct opts *o, int cfd, struct sockaddr_storage *to,
		  socklen_t *tolen);

#endif

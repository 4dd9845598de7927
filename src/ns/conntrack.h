/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_CONNTRACK_H
#define S4_CONNTRACK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Where a datagram that the namespace's NAT redirected to us was going:
 * conntrack's original tuple, asked for by ctnetlink (see conntrack.c). */

/* The namespace's netfilter netlink socket, made by the helper before its
 * filter (HELPER_CT_SOCKET); -errno if none. */
int conntrack_socket_check(int fd);

/**
 * conntrack_orig_dst() - The original destination of the UDP conntrack
 * entry whose reply goes from @local to @peer
 * @fd:		a NETLINK_NETFILTER socket in the namespace
 * @local:	the address and port the datagram reached us at
 * @peer:	its source, as we received it
 * @orig:	set to where its sender sent it
 * Return: 0; -ENOENT for no entry; -EADDRNOTAVAIL for an entry that was
 *	   not redirected (sent to @local itself); another -errno
 */
int conntrack_orig_dst(int fd, const struct sockaddr_storage *local,
		       const struct sockaddr_storage *peer,
		       struct sockaddr_storage *orig);

/**
 * conntrack_build_get() - The ctnetlink request conntrack_orig_dst() sends
 * @buf:	room for it (MNL_SOCKET_BUFFER_SIZE)
 * @seq:	its sequence number
 * (the rest as conntrack_orig_dst())
 * Return: its length, or -EAFNOSUPPORT
 */
int conntrack_build_get(void *buf, uint32_t seq,
			const struct sockaddr_storage *local,
			const struct sockaddr_storage *peer);

/**
 * conntrack_parse() - The original destination in an answer to it
 * @buf:	the kernel's message
 * @len:	its length
 * @seq:	the request's
 * @orig:	set to the original tuple's destination
 * @natted:	set to whether the entry's destination was rewritten
 * Return: 0, or -errno (the kernel's error, -EBADMSG for anything else)
 */
int conntrack_parse(const void *buf, size_t len, uint32_t seq,
		    struct sockaddr_storage *orig, int *natted);

#endif

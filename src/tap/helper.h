/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_HELPER_H
#define S4_HELPER_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "transparent.h"

struct opts;

/* The helper process: inside the target's namespaces, it opens the TAP and
 * then stays, making sockets in the namespace on request. */
struct helper {
	pid_t pid; /* 0: none (tapfd mode) */
	int sock;  /* SOCK_SEQPACKET to the helper, -1 if none */
};

/* The socket-factory protocol on the SOCK_SEQPACKET pair. */
enum helper_op {
	HELPER_SOCKET,	    /* a socket; with @mark, transparent and bound */
	HELPER_TRANSPARENT, /* install the namespace's rules (transparent.c) */
};
struct helper_req {
	uint32_t id;
	int32_t op;
	int32_t family, type, protocol;
	uint32_t mark, table;
	uint32_t srclen;
	struct sockaddr_storage src;
};
struct helper_rep {
	uint32_t id;
	int32_t err; /* 0, then the fd comes as SCM_RIGHTS; else -errno */
};

/**
 * helper_start() - Fork the helper and receive the TAP fd from it
 * @o:		options
 * @h:		filled
 * @tapfd:	set to the fd
 *
 * Prints what slirp4netns prints ("received tapfd=N", "child failed(N)").
 * Return: 0, or the status to exit with
 */
int helper_start(const struct opts *o, struct helper *h, int *tapfd);

/**
 * helper_socket() - A socket made inside the target network namespace
 * @h:		helper
 * @family:	as socket(2)
 * @type:	as socket(2)
 * @protocol:	as socket(2)
 * Return: the fd, or -errno
 */
int helper_socket(struct helper *h, int family, int type, int protocol);

/**
 * helper_socket_from() - A TCP socket in the namespace that will connect
 * from @src: IP_TRANSPARENT, SO_MARK @mark, bound to @src
 * @h:		helper
 * @src:	the address the peer should see (port 0: any)
 * @srclen:	its length
 * @mark:	fwmark of helper_transparent()
 * Return: the fd (non-blocking), or -errno
 */
int helper_socket_from(struct helper *h, const struct sockaddr *src,
		       socklen_t srclen, uint32_t mark);

/**
 * helper_transparent() - Have the helper install the namespace's rules
 * @h:		helper
 * @mark:	fwmark
 * @table:	routing table
 * @ipv6:	IPv6 too
 * Return: 0 or -errno (see transparent_install())
 */
int helper_transparent(struct helper *h, uint32_t mark, uint32_t table,
		       bool ipv6);

void helper_stop(struct helper *h);

/* Inside the helper: answer requests on @sock until EOF, then remove the
 * rules. @t (opened before any filter) may be NULL: no rules then. */
void helper_serve(int sock, struct transparent *t);

/* fd passing over a unix socket, with a payload */
int fd_send(int sock, const void *buf, size_t len, int fd);
ssize_t fd_recv(int sock, void *buf, size_t len, int *fd);

#endif

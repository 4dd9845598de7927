/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_HELPER_H
#define S4_HELPER_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "dnsmark.h"
#include "synq.h"
#include "tproxy.h"
#include "transparent.h"
#include "udpreply.h"

struct opts;

/* The helper process: inside the target's namespaces, it opens the TAP and
 * then stays, making sockets in the namespace on request. */
struct helper {
	pid_t pid; /* 0: none (tapfd mode) */
	int sock;  /* SOCK_SEQPACKET to the helper, -1 if none */
	int bess_listener; /* BESS: the socket path's listener, else -1 */
};

/* The socket-factory protocol on the SOCK_SEQPACKET pair. */
enum helper_op {
	HELPER_SOCKET,	    /* @count sockets, one answer each; with @mark
			     * transparent, with @srclen bound to @src */
	HELPER_TRANSPARENT, /* install the namespace's rules (transparent.c) */
	HELPER_BYPASS,	    /* bind the SYN queue to the socket that comes
			     * with it (@count 1: none, the parent has the
			     * queue), install the tproxy table (tproxy.c)
			     * for listeners on @port */
	HELPER_SYNQ_SOCKET, /* the spare queue socket (synq_spare_fd()) */
	HELPER_UDP_REPLY,   /* install udpreply.c's table (after
			     * HELPER_TRANSPARENT) */
	HELPER_DNS_ROUTE,   /* @src's address local on the TAP (dns/) */
	HELPER_CT_SOCKET,   /* the conntrack socket (conntrack.c), once */
};
struct helper_req {
	uint32_t id;
	int32_t op;
	int32_t family, type, protocol;
	uint32_t mark, table;
	uint32_t count; /* HELPER_SOCKET: 1 if 0, at most HELPER_BATCH */
	uint32_t srclen;
	struct sockaddr_storage src;
	struct tproxy_ports ports; /* HELPER_BYPASS */
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

enum { HELPER_BATCH = 64 };

/**
 * helper_sockets() - Several sockets in the namespace at once, for a
 * pool: one round trip for all of them
 * @h:		helper
 * @family:	AF_INET or AF_INET6
 * @type:	SOCK_STREAM or SOCK_DGRAM
 * @mark:	0, or SO_MARK and IP_TRANSPARENT (see helper_transparent()):
 *		the caller may then bind them to any address
 * @fds:	filled
 * @n:		how many, at most HELPER_BATCH
 * Return: how many were filled (non-blocking sockets), or -errno
 */
int helper_sockets(struct helper *h, int family, int type, uint32_t mark,
		   int *fds, unsigned n);

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

/**
 * helper_bypass() - Have the helper send the namespace's outbound TCP to
 * our listeners (unless --disable-tcp-bypass)
 * @h:		helper
 * @ports:	our listeners'
 * @chan:	our end stays ours; the other, given here, carries the
 *		queue's SYNs and our verdicts (synq.h); -1 if we bound the
 *		queue ourselves (helper_synq_socket())
 *
 * Needs helper_transparent() first (the same mark and table).
 * Return: 0 or -errno (see synq_bind(), tproxy_install())
 */
int helper_bypass(struct helper *h, const struct tproxy_ports *ports,
		  int chan);

/**
 * helper_udp_reply() - Have the helper route UDP services' answers to our
 * forwards' sockets (udpreply.c)
 * @h:		helper
 * @ipv6:	IPv6 too
 *
 * Needs helper_transparent() first (the same mark).
 * Return: 0 or -errno (-ENOTSUP: no nf_tables)
 */
int helper_udp_reply(struct helper *h, bool ipv6);

/**
 * helper_bound_socket() - A socket in the namespace bound to @addr, which
 * need not be local (IP_TRANSPARENT: it may send from there too); a
 * datagram one gets a large receive buffer
 * @h:		helper
 * @type:	SOCK_DGRAM or SOCK_STREAM
 * @addr:	where
 * @len:	its length
 * Return: the fd (non-blocking), or -errno
 */
int helper_bound_socket(struct helper *h, int type,
			const struct sockaddr *addr, socklen_t len);

/**
 * helper_dns_route() - Send what the namespace sends to port 53 of @addr
 * to the socket there: by a route on the TAP that goes with it
 * (transparent_local_route()), or on a persistent TAP, which would keep
 * that route, by dnsmark.c's table and transparent.c's rule
 * @h:		helper
 * @addr:	the DNS address
 * @len:	its length
 * @mark:	the forward mark (the second way)
 * @table:	and table
 * @ipv6:	transparent.c's rule for IPv6 too
 * Return: 0, -ENETDOWN (lo is down: try again), -ENOTSUP (no helper, no
 *	   nf_tables), or -errno
 */
int helper_dns_route(struct helper *h, const struct sockaddr *addr,
		     socklen_t len, uint32_t mark, uint32_t table, bool ipv6);

/* A NETLINK_NETFILTER socket in the namespace, for the SYN queue
 * (synq.h), once: the fd, or -errno */
int helper_synq_socket(struct helper *h);

/* The namespace's NETLINK_NETFILTER socket for conntrack lookups
 * (conntrack.c), opened before the helper's filter; once: -errno after */
int helper_ct_socket(struct helper *h);

void helper_stop(struct helper *h);

/* What the helper keeps open, before any filter, to install the
 * namespace's rules on request */
struct helper_rules {
	struct transparent t; /* fwmark rule and routes */
	struct tproxy p;      /* outbound kernel path */
	struct synq q;	      /* the SYN queue, passed on */
	struct udpreply u;    /* UDP forwards' answers */
	struct dnsmark dm;    /* DNS to our forwarder, on a persistent TAP */
	int tap_ifindex;      /* 0 if the TAP is persistent (outlives us) */
	int persistent_tap;   /* then its fd, to undo what we set; else -1 */
	int ct_spare;	      /* HELPER_CT_SOCKET's until asked for, or -1 */
};

/* Inside the helper: answer requests on @sock, and pass the SYN queue
 * on, until EOF; then remove the rules. @r may be NULL: no rules then. */
void helper_serve(int sock, struct helper_rules *r);

/* fd passing over a unix socket, with a payload */
int fd_send(int sock, const void *buf, size_t len, int fd);
ssize_t fd_recv(int sock, void *buf, size_t len, int *fd);

#endif

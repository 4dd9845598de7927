/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_DGRAM_H
#define S4_DGRAM_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "../ring/ring.h"
#include "flowtab.h"

/* What the UDP engines (udp.c, udp_out.c) share: batches of whole
 * datagrams, one recvmmsg() in, sendmmsg() runs out; and their flows, a
 * bounded table (flowtab.c) with a socket per slot polled on the ring. */
enum {
	DGRAM_BATCH = 16,
	DGRAM_MAX = 65536, /* any UDP payload, IPv6 jumbograms aside */
};

struct dgram_batch {
	struct mmsghdr m[DGRAM_BATCH];
	struct iovec iov[DGRAM_BATCH];
	struct sockaddr_storage name[DGRAM_BATCH]; /* each one's source */
	union {
		char buf[CMSG_SPACE(sizeof(struct sockaddr_in6))];
		struct cmsghdr align;
	} ctl[DGRAM_BATCH]; /* each one's original destination */
	/* dgram_send()'s: a run of datagrams per message, with its GSO size
	 * and the source address it leaves from */
	struct mmsghdr out[DGRAM_BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t)) +
			 CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} gso[DGRAM_BATCH];
	/* DGRAM_BATCH * DGRAM_MAX of malloc()ed memory: only what
	 * datagrams fill becomes resident */
	uint8_t *data;
};

/* The batch's buffer; 0 or -ENOMEM. Untouched until used. */
int dgram_init(struct dgram_batch *b);
void dgram_free(struct dgram_batch *b);
/* Nothing flows: give back what big datagrams made resident. */
void dgram_idle(struct dgram_batch *b);

enum dgram_recv_flags {
	DGRAM_NAMES = 1,   /* with each one's source, in name[] */
	DGRAM_ORIGDST = 2, /* and its control messages (IP_ORIGDSTADDR, or
			    * IP_PKTINFO) */
};

/* The local address a datagram reached a socket on the wildcard address
 * at, and the source its answers must leave from (IP_PKTINFO) */
struct dgram_from {
	int family; /* AF_INET or AF_INET6; 0: as routed */
	union {
		struct in_pktinfo v4;
		struct in6_pktinfo v6;
	};
};

/**
 * dgram_pktinfo() - The local address datagram @j of the batch came to
 * @b:		the batch, received with DGRAM_ORIGDST from a socket with
 *		IP_PKTINFO or IPV6_RECVPKTINFO on
 * @j:		which
 * @from:	set to it, for dgram_send()
 * @local:	set to it with @port, as a socket address
 * @port:	the socket's, network order
 * Return: 0, or -ENOENT
 */
int dgram_pktinfo(const struct dgram_batch *b, int j, struct dgram_from *from,
		  struct sockaddr_storage *local, uint16_t port);

/**
 * dgram_recv() - Up to DGRAM_BATCH datagrams from @fd
 * @b:		the batch; m[i].msg_len is each one's length
 * @fd:		a non-blocking socket
 * @flags:	enum dgram_recv_flags
 * Return: how many, or -errno (-EAGAIN: none waiting; another: the
 *	   socket's pending error, now cleared)
 */
int dgram_recv(struct dgram_batch *b, int fd, unsigned flags);

/* What dgram_send() does with a datagram the socket refused with @err (a
 * pending ICMP error of the peer's, reported on the send): @j is its
 * place in the batch. */
typedef void (*dgram_refused_fn)(void *opaque, int j, int err);

/**
 * dgram_send() - Datagrams @from to @to - 1 of the batch, whole, by @fd
 * @b:		the batch, as dgram_recv() filled it
 * @fd:		a non-blocking socket
 * @from:	the first
 * @to:		after the last
 * @dest:	where each goes, or NULL (@fd is connected)
 * @src:	the source address they leave from, or NULL (as routed)
 * @refused:	told of each datagram refused with an error, which is then
 *		skipped; NULL to skip it silently
 * @opaque:	for @refused
 *
 * A run of datagrams of one length (the last may be shorter) goes in one
 * message with UDP_SEGMENT: the kernel routes, filters and tracks it once
 * and cuts it where it delivers it. A run the route cannot take (EINVAL,
 * EIO: no checksum offload, an MTU below the length) goes again a datagram
 * at a time. The peer's error, pending from an earlier datagram, is the
 * first datagram's (@refused); the rest go on. A full queue (EAGAIN,
 * ENOBUFS) drops the rest, as UDP may.
 */
void dgram_send(struct dgram_batch *b, int fd, int from, int to,
		const struct sockaddr_storage *dest,
		const struct dgram_from *src, dgram_refused_fn refused,
		void *opaque);

/* @a's length as a socket call takes it (AF_INET or AF_INET6) */
socklen_t dgram_addrlen(const struct sockaddr_storage *a);

/* ---------------------------------------------------------------- flows */

/* A flow's socket, one per slot of the table */
struct dgram_sock {
	int fd; /* -1: the slot is free */
	bool armed;
	uint16_t gen;
};

struct dgram_flows {
	struct flowtab *tab; /* NULL until dgram_flows_init() */
	struct dgram_sock *sock; /* flowtab_max() of them */
	struct ring *ring;
	enum ring_type type; /* of the sockets' polls */
	const char *what;    /* the engine, for the log */
	unsigned long evicted;
};

/* Room for @max flows (untouched until used); 0 or -ENOMEM */
int dgram_flows_init(struct dgram_flows *f, struct ring *ring,
		     enum ring_type type, const char *what, unsigned max);
/* Every flow closed, the table freed. */
void dgram_flows_free(struct dgram_flows *f);

/* Poll slot @i's socket for POLLIN, unless it is armed already. */
void dgram_flow_arm(struct dgram_flows *f, unsigned i);
/* Close slot @i's socket, free the slot. */
void dgram_flow_close(struct dgram_flows *f, unsigned i);

/* Make room for one more flow holding @fds fds: while the table is full or
 * fds are short (fdlimit.h), the least recently used flow goes. */
void dgram_flows_room(struct dgram_flows *f, int any_fd, unsigned fds);

/* A new flow for @k, with socket @fd (armed), used at @now: its slot, or
 * -errno (then @fd is closed). */
int dgram_flows_add(struct dgram_flows *f, const struct flow_key *k, int fd,
		    int64_t now);

/* Close the flows idle for @idle_ms at @now, oldest first; are any left? */
bool dgram_flows_expire(struct dgram_flows *f, int64_t now, int64_t idle_ms);

/* The slot a poll completion @ref is for, no longer armed; -1 if it is for
 * a flow closed since. */
int dgram_flow_polled(struct dgram_flows *f, union ring_ref ref);

#endif

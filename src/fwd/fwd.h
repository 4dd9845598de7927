/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_FWD_H
#define S4_FWD_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "../err.h"
#include "../netcfg.h"

/* One host forward as the API describes it: either family or both. */
struct fwd_spec {
	bool udp;
	bool splice; /* the fast path, not libslirp */
	bool asked;  /* "mode" said so: no falling back to libslirp */
	bool v4, v6;
	struct in_addr host4, guest4;
	struct in6_addr host6, guest6;
	uint16_t host_port, guest_port;
};

struct fwd_entry {
	long id;
	struct fwd_spec spec;
};

enum fwd_flags { FWD_UDP = 1, FWD_SPLICE = 2, FWD_ASKED = 4 };

/* What actually listens: libslirp or the splice engine (fwd_slirp.c
 * routes by FWD_SPLICE), a fake in tests. */
struct fwd_backend {
	int (*add)(void *o, unsigned flags, const struct sockaddr *host,
		   socklen_t hlen, const struct sockaddr *guest,
		   socklen_t glen);
	int (*remove)(void *o, unsigned flags, const struct sockaddr *host,
		      socklen_t hlen);
	void *o;
};

struct fwd_table;

struct fwd_table *fwd_new(const struct fwd_backend *b);
void fwd_free(struct fwd_table *t);

/**
 * fwd_add() - Listen on the host side of @s, both families if it says so
 * @t:		table
 * @s:		the forward
 * @e:		slirp4netns's desc on failure
 *
 * All or nothing: if the second family fails the first is removed again.
 * Ids start at 1 and are never reused.
 * Return: the new id, or -errno
 */
long fwd_add(struct fwd_table *t, const struct fwd_spec *s, struct err *e);

/**
 * fwd_remove() - Close the listener(s) of forward @id
 * @t:		table
 * @id:		as fwd_add() returned it
 * @e:		slirp4netns's desc on failure
 * Return: 0 or -errno
 */
int fwd_remove(struct fwd_table *t, long id, struct err *e);

/**
 * fwd_guest_reachable() - Could a frame to @guest, in from the TAP, reach a
 * socket in the namespace?
 * @guest:	AF_INET or AF_INET6, the port ignored
 * @net:	the virtual network (its broadcast address), or NULL
 *
 * The namespace's kernel drops what arrives on the TAP for a loopback
 * address (127.0.0.0/8, ::1) and never delivers TCP to an unspecified,
 * multicast or broadcast one; an IPv4-mapped IPv6 destination is never
 * local. A forward to any of these reaches nothing through libslirp, so
 * no path of ours may reach anything with it: a connect() from inside the
 * namespace to 127.0.0.1, 0.0.0.0 or ::ffff:127.0.0.1 would end on lo, at
 * services bound there to be out of every forward's reach.
 * Return: true if it could
 */
bool fwd_guest_reachable(const struct sockaddr *guest,
			 const struct netcfg *net);

/**
 * fwd_seen_as() - The address a service should see for a forward's
 * client, as on the slirp path: the gateway for a loopback client, else
 * the client's own
 * @n:		the virtual network
 * @peer:	the client
 * @out:	the address
 * @port:	keep the client's port (else 0: any)
 * Return: its length
 */
socklen_t fwd_seen_as(const struct netcfg *n,
		      const struct sockaddr_storage *peer,
		      struct sockaddr_storage *out, bool port);

/* Is @fd bound to exactly @addr? (finding a forward's own listener) */
bool fwd_bound_to(int fd, const struct sockaddr *addr, socklen_t len);

/* Entries in the order they were added: i from 0 while non-NULL. */
const struct fwd_entry *fwd_at(const struct fwd_table *t, unsigned i);

#endif

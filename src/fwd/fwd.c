// SPDX-License-Identifier: GPL-2.0-or-later
/* fwd.c - the table of host forwards the API manages. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fwd.h"

struct fwd_table {
	struct fwd_backend b;
	struct fwd_entry *e;
	unsigned n, cap;
	long next_id;
};

struct fwd_table *fwd_new(const struct fwd_backend *b)
{
	struct fwd_table *t = calloc(1, sizeof(*t));

	if (t) {
		t->b = *b;
		t->next_id = 1;
	}
	return t;
}

void fwd_free(struct fwd_table *t)
{
	if (!t)
		return;
	free(t->e);
	free(t);
}

bool fwd_bound_to(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	return fd >= 0 && getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
	       sl == len && !memcmp(&ss, addr, len);
}

static bool v4_reachable(in_addr_t a, const struct netcfg *net)
{
	in_addr_t h = ntohl(a);

	if ((h >> 24) == 0 || (h >> 24) == 127 || IN_MULTICAST(h) ||
	    h == INADDR_BROADCAST)
		return false;
	/* the virtual network's broadcast address; a /31 or /32 has none */
	return !net || net->prefix >= 31 ||
	       a != (net->net.s_addr | ~net->mask.s_addr);
}

bool fwd_guest_reachable(const struct sockaddr *guest,
			 const struct netcfg *net)
{
	const struct in6_addr *a6;

	if (guest->sa_family == AF_INET)
		return v4_reachable(
			((const struct sockaddr_in *)guest)->sin_addr.s_addr,
			net);
	if (guest->sa_family != AF_INET6)
		return false;
	a6 = &((const struct sockaddr_in6 *)guest)->sin6_addr;
	return !IN6_IS_ADDR_LOOPBACK(a6) && !IN6_IS_ADDR_UNSPECIFIED(a6) &&
	       !IN6_IS_ADDR_MULTICAST(a6) && !IN6_IS_ADDR_V4MAPPED(a6) &&
	       !IN6_IS_ADDR_V4COMPAT(a6);
}

socklen_t fwd_seen_as(const struct netcfg *n,
		      const struct sockaddr_storage *peer,
		      struct sockaddr_storage *out, bool port)
{
	*out = *peer;
	if (peer->ss_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)out;

		if (IN6_IS_ADDR_LOOPBACK(&a->sin6_addr))
			a->sin6_addr = n->host6;
		if (!port)
			a->sin6_port = 0;
		a->sin6_flowinfo = 0;
		a->sin6_scope_id = 0;
		return sizeof(*a);
	}
	struct sockaddr_in *a = (struct sockaddr_in *)out;

	if ((ntohl(a->sin_addr.s_addr) >> 24) == 127 ||
	    a->sin_addr.s_addr == INADDR_ANY)
		a->sin_addr = n->host;
	if (!port)
		a->sin_port = 0;
	return sizeof(*a);
}

const struct fwd_entry *fwd_at(const struct fwd_table *t, unsigned i)
{
	return i < t->n ? &t->e[i] : NULL;
}

static struct sockaddr_in sin4(struct in_addr a, uint16_t port)
{
	return (struct sockaddr_in){ .sin_family = AF_INET,
				     .sin_port = htons(port),
				     .sin_addr = a };
}

static struct sockaddr_in6 sin6(const struct in6_addr *a, uint16_t port)
{
	return (struct sockaddr_in6){ .sin6_family = AF_INET6,
				      .sin6_port = htons(port),
				      .sin6_addr = *a };
}

/* Same protocol, a family in common, same host address and port. */
static bool clashes(const struct fwd_spec *a, const struct fwd_spec *b)
{
	if (a->udp != b->udp || a->host_port != b->host_port)
		return false;
	if (a->v4 && b->v4 && a->host4.s_addr == b->host4.s_addr)
		return true;
	return a->v6 && b->v6 &&
	       !memcmp(&a->host6, &b->host6, sizeof(a->host6));
}

static unsigned flags(const struct fwd_spec *s)
{
	return (s->udp ? FWD_UDP : 0) | (s->splice ? FWD_SPLICE : 0) |
	       (s->asked ? FWD_ASKED : 0);
}

static int add4(struct fwd_table *t, const struct fwd_spec *s)
{
	struct sockaddr_in h = sin4(s->host4, s->host_port);
	struct sockaddr_in g = sin4(s->guest4, s->guest_port);

	return t->b.add(t->b.o, flags(s), (struct sockaddr *)&h, sizeof(h),
			(struct sockaddr *)&g, sizeof(g));
}

static int add6(struct fwd_table *t, const struct fwd_spec *s)
{
	struct sockaddr_in6 h = sin6(&s->host6, s->host_port);
	struct sockaddr_in6 g = sin6(&s->guest6, s->guest_port);

	return t->b.add(t->b.o, flags(s), (struct sockaddr *)&h, sizeof(h),
			(struct sockaddr *)&g, sizeof(g));
}

static int remove4(struct fwd_table *t, const struct fwd_spec *s)
{
	struct sockaddr_in h = sin4(s->host4, s->host_port);

	return t->b.remove(t->b.o, flags(s), (struct sockaddr *)&h, sizeof(h));
}

static int remove6(struct fwd_table *t, const struct fwd_spec *s)
{
	struct sockaddr_in6 h = sin6(&s->host6, s->host_port);

	return t->b.remove(t->b.o, flags(s), (struct sockaddr *)&h, sizeof(h));
}

long fwd_add(struct fwd_table *t, const struct fwd_spec *s, struct err *e)
{
	static const char *failed = "slirp_add_hostfwd failed";

	for (unsigned i = 0; i < t->n; i++)
		if (clashes(&t->e[i].spec, s))
			return err_set(e, -EADDRINUSE, "%s", failed);
	if (t->n == t->cap) {
		unsigned cap = t->cap ? t->cap * 2 : 16;
		struct fwd_entry *ne = realloc(t->e, cap * sizeof(*ne));

		if (!ne)
			return err_set(e, -ENOMEM, "%s", failed);
		t->e = ne;
		t->cap = cap;
	}
	if (s->v4 && add4(t, s) < 0)
		return err_set(e, -EADDRNOTAVAIL, "%s", failed);
	if (s->v6 && add6(t, s) < 0) {
		if (s->v4)
			remove4(t, s);
		return err_set(e, -EADDRNOTAVAIL, "%s", failed);
	}
	t->e[t->n] = (struct fwd_entry){ t->next_id, *s };
	t->n++;
	return t->next_id++;
}

int fwd_remove(struct fwd_table *t, long id, struct err *e)
{
	for (unsigned i = 0; i < t->n; i++) {
		const struct fwd_spec *s = &t->e[i].spec;
		int rc = 0;

		if (t->e[i].id != id)
			continue;
		if (s->v4 && remove4(t, s) < 0)
			rc = -ENOENT;
		if (s->v6 && remove6(t, s) < 0)
			rc = -ENOENT;
		/* gone from the table either way: what is left cannot be
		 * removed again */
		memmove(&t->e[i], &t->e[i + 1], (t->n - i - 1) * sizeof(*t->e));
		t->n--;
		if (rc)
			return err_set(e, rc, "slirp_remove_hostfwd failed");
		return 0;
	}
	return err_set(e, -ENOENT, "bad arguments.id");
}

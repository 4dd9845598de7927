// SPDX-License-Identifier: GPL-2.0-or-later
/* udp.c - UDP forwards that bypass libslirp: one flow per client.
 *
 * DOC: Theory of Operation
 * A listener is a host UDP socket with a oneshot ring poll for POLLIN; when
 * it fires, recvfrom() runs until EAGAIN (at most RECV_BATCH datagrams, so
 * one busy forward cannot starve the loop). Each datagram goes to its
 * client's flow: a UDP socket the helper made in the namespace, connected to
 * guest_addr:guest_port, made on the client's first datagram. What the
 * service sends back arrives on that socket (a poll, then recv() until
 * EAGAIN) and leaves by the listener with sendto() to the client.
 *
 * A flow idle for IDLE_MS is closed by a sweep that runs every SWEEP_MS.
 * At most MAX_FLOWS per forward: a new client beyond that is dropped, as a
 * full socket buffer would drop it. Datagrams are never split or merged;
 * one that cannot be sent now (EAGAIN) is dropped, as UDP may be.
 *
 * The service sees the namespace's own address as the client (unlike the
 * slirp path, which shows 10.0.2.2 or the client's address): that is why
 * UDP forwards only take this path when asked ("mode": "splice").
 *
 * fd ownership: the listener owns its socket, each flow its socket; closing
 * removes the armed poll first. gen rejects late completions for reused
 * slots.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../clock.h"
#include "../log.h"
#include "../ns/helper.h"
#include "../options.h"
#include "../timers.h"
#include "fwd.h"
#include "udp.h"

enum {
	IDLE_MS = 60 * 1000,
	SWEEP_MS = 5 * 1000,
	MAX_FLOWS = 1024,
	RECV_BATCH = 64,
	DGRAM_MAX = 65536,
};

struct udp_flow {
	int fd;
	uint16_t gen;
	bool armed;
	unsigned listener;
	struct sockaddr_storage client;
	socklen_t clen;
	int64_t last_ms;
};

struct udp_listener {
	int fd;
	uint16_t gen;
	bool armed;
	unsigned nflows;
	struct sockaddr_storage guest;
	socklen_t glen;
};

struct fwd_udp {
	struct ring *ring;
	struct timers *timers;
	struct helper *helper; /* sockets in the namespace */
	const struct opts *o;
	struct udp_listener *ls;
	unsigned nls;
	struct udp_flow *flows;
	unsigned nflows;
	struct timer *sweep;
	bool sweeping; /* the sweep timer is armed */
	int64_t idle_ms, sweep_ms;
	uint8_t *buf; /* DGRAM_MAX: malloc()ed, resident once used */
};

static void sweep(void *a, void *b);

struct fwd_udp *fwd_udp_new(struct ring *ring, struct timers *timers,
			    struct helper *helper, const struct opts *o)
{
	struct fwd_udp *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->ring = ring;
	u->timers = timers;
	u->helper = helper;
	u->o = o;
	u->idle_ms = IDLE_MS;
	u->sweep_ms = SWEEP_MS;
	/* the tests' way to see flows expire without waiting a minute */
	if (getenv("SLIRP4NETNS_TEST_UDP_IDLE_MS")) {
		u->idle_ms = atoi(getenv("SLIRP4NETNS_TEST_UDP_IDLE_MS"));
		u->sweep_ms = u->idle_ms / 4 + 1;
	}
	u->buf = malloc(DGRAM_MAX); /* not calloc(): untouched until used */
	u->sweep = timers_add(timers, sweep, u, NULL);
	if (!u->sweep || !u->buf) {
		timers_del(timers, u->sweep);
		free(u->buf);
		free(u);
		return NULL;
	}
	return u;
}

/**
 * flow_close() - Close a flow and forget it
 * @u:		engine
 * @f:		flow
 */
static void flow_close(struct fwd_udp *u, struct udp_flow *f)
{
	if (f->armed)
		ring_poll_remove(u->ring,
				 ring_ref(RING_FWD_UDP_FLOW, f->gen,
					  f - u->flows));
	close(f->fd);
	f->fd = -1;
	f->armed = false;
	f->gen++;
	u->ls[f->listener].nflows--;
}

static void listener_close(struct fwd_udp *u, struct udp_listener *l)
{
	if (l->armed)
		ring_poll_remove(u->ring, ring_ref(RING_FWD_UDP_LISTEN,
						      l->gen, l - u->ls));
	close(l->fd);
	l->fd = -1;
	l->armed = false;
	l->gen++;
}

void fwd_udp_free(struct fwd_udp *u)
{
	if (!u)
		return;
	for (unsigned i = 0; i < u->nflows; i++)
		if (u->flows[i].fd >= 0)
			flow_close(u, &u->flows[i]);
	for (unsigned i = 0; i < u->nls; i++)
		if (u->ls[i].fd >= 0)
			listener_close(u, &u->ls[i]);
	timers_del(u->timers, u->sweep);
	free(u->flows);
	free(u->ls);
	free(u->buf);
	free(u);
}

/* timer callback: close the flows idle for IDLE_MS, come back if any left */
static void sweep(void *a, void *b)
{
	struct fwd_udp *u = a;
	int64_t now = clock_now_ms();
	bool left = false;

	(void)b;
	for (unsigned i = 0; i < u->nflows; i++) {
		struct udp_flow *f = &u->flows[i];

		if (f->fd < 0)
			continue;
		if (now - f->last_ms >= u->idle_ms)
			flow_close(u, f);
		else
			left = true;
	}
	u->sweeping = left;
	if (left)
		timers_mod(u->sweep, now + u->sweep_ms);
}

static void listener_arm(struct fwd_udp *u, struct udp_listener *l)
{
	ring_poll_add(u->ring, l->fd, POLLIN,
		      ring_ref(RING_FWD_UDP_LISTEN, l->gen, l - u->ls));
	l->armed = true;
}

static void flow_arm(struct fwd_udp *u, struct udp_flow *f)
{
	ring_poll_add(u->ring, f->fd, POLLIN,
		      ring_ref(RING_FWD_UDP_FLOW, f->gen, f - u->flows));
	f->armed = true;
}

int fwd_udp_add(struct fwd_udp *u, const struct sockaddr *host,
		socklen_t hlen, const struct sockaddr *guest, socklen_t glen)
{
	struct udp_listener *l = NULL;
	int one = 1, fd;

	for (unsigned i = 0; i < u->nls && !l; i++)
		if (u->ls[i].fd < 0) /* its flows went with it */
			l = &u->ls[i];
	if (!l) {
		struct udp_listener *n =
			realloc(u->ls, (u->nls + 1) * sizeof(*n));

		if (!n)
			return -ENOMEM;
		u->ls = n;
		l = &n[u->nls++];
		*l = (struct udp_listener){ .fd = -1 };
	}
	fd = socket(host->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return -errno;
	if (host->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, host, hlen) < 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	l->fd = fd;
	memcpy(&l->guest, guest, glen);
	l->glen = glen;
	listener_arm(u, l);
	return 0;
}

int fwd_udp_remove(struct fwd_udp *u, const struct sockaddr *host,
		   socklen_t hlen)
{
	for (unsigned i = 0; i < u->nls; i++) {
		struct udp_listener *l = &u->ls[i];

		if (!fwd_bound_to(l->fd, host, hlen))
			continue;
		/* its flows go too: replies would have no socket to leave by */
		for (unsigned j = 0; j < u->nflows; j++)
			if (u->flows[j].fd >= 0 && u->flows[j].listener == i)
				flow_close(u, &u->flows[j]);
		listener_close(u, l);
		return 0;
	}
	return -ENOENT;
}

/**
 * flow_find() - The flow of a client on a listener
 * @u:		engine
 * @li:		listener number
 * @client:	the client's address
 * @clen:	its length
 * Return: the flow, or NULL
 */
static struct udp_flow *flow_find(struct fwd_udp *u, unsigned li,
				  const struct sockaddr_storage *client,
				  socklen_t clen)
{
	for (unsigned i = 0; i < u->nflows; i++) {
		struct udp_flow *f = &u->flows[i];

		if (f->fd >= 0 && f->listener == li && f->clen == clen &&
		    !memcmp(&f->client, client, clen))
			return f;
	}
	return NULL;
}

/**
 * flow_new() - A flow for a new client: a connected socket in the namespace
 * @u:		engine
 * @li:		listener number
 * @client:	the client's address
 * @clen:	its length
 * @now:	the loop's clock
 * Return: the flow, or NULL (too many flows, no memory, no socket)
 */
static struct udp_flow *flow_new(struct fwd_udp *u, unsigned li,
				 const struct sockaddr_storage *client,
				 socklen_t clen, int64_t now)
{
	struct udp_listener *l = &u->ls[li];
	struct udp_flow *f = NULL;
	int fd;

	if (l->nflows >= MAX_FLOWS)
		return NULL;
	for (unsigned i = 0; i < u->nflows && !f; i++)
		if (u->flows[i].fd < 0)
			f = &u->flows[i];
	if (!f) {
		unsigned cap = u->nflows ? u->nflows * 2 : 16;
		struct udp_flow *n = realloc(u->flows, cap * sizeof(*n));

		if (!n)
			return NULL;
		for (unsigned i = u->nflows; i < cap; i++)
			n[i] = (struct udp_flow){ .fd = -1 };
		f = &n[u->nflows];
		u->flows = n;
		u->nflows = cap;
	}
	/* never inside the namespace to where the TAP could not deliver */
	if (!fwd_guest_reachable((struct sockaddr *)&l->guest, &u->o->net))
		return NULL;
	fd = helper_socket(u->helper, l->guest.ss_family,
			   SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (fd < 0 ||
	    connect(fd, (struct sockaddr *)&l->guest, l->glen) < 0) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	f->fd = fd;
	f->listener = li;
	f->client = *client;
	f->clen = clen;
	f->last_ms = now;
	l->nflows++;
	flow_arm(u, f);
	if (!u->sweeping) {
		u->sweeping = true;
		timers_mod(u->sweep, now + u->sweep_ms);
	}
	return f;
}

/* Datagrams from clients, each to its flow's socket in the namespace. */
static void from_clients(struct fwd_udp *u, unsigned li)
{
	struct udp_listener *l = &u->ls[li];
	int64_t now = clock_now_ms(); /* once a batch, not a datagram */

	for (int i = 0; i < RECV_BATCH; i++) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(l->fd, u->buf, DGRAM_MAX, 0,
				     (struct sockaddr *)&from, &fl);
		struct udp_flow *f;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			break; /* EAGAIN, or an ICMP error: nothing to do */
		}
		f = flow_find(u, li, &from, fl);
		if (!f)
			f = flow_new(u, li, &from, fl, now);
		if (!f)
			continue; /* dropped */
		f->last_ms = now;
		send(f->fd, u->buf, n, MSG_DONTWAIT);
	}
	listener_arm(u, l);
}

/* What the service answered, back to the flow's client. */
static void to_client(struct fwd_udp *u, struct udp_flow *f)
{
	struct udp_listener *l = &u->ls[f->listener];
	int64_t now = clock_now_ms(); /* once a batch, not a datagram */

	for (int i = 0; i < RECV_BATCH; i++) {
		ssize_t n = recv(f->fd, u->buf, DGRAM_MAX, MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			break; /* EAGAIN, or ECONNREFUSED from an ICMP */
		}
		f->last_ms = now;
		sendto(l->fd, u->buf, n, MSG_DONTWAIT,
		       (struct sockaddr *)&f->client, f->clen);
	}
	flow_arm(u, f);
}

void fwd_udp_complete(struct fwd_udp *u, union ring_ref ref, int res)
{
	(void)res;
	if (ref.type == RING_FWD_UDP_LISTEN) {
		if (ref.idx < u->nls && u->ls[ref.idx].fd >= 0 &&
		    u->ls[ref.idx].gen == ref.gen) {
			u->ls[ref.idx].armed = false;
			from_clients(u, ref.idx);
		}
		return;
	}
	if (ref.idx < u->nflows && u->flows[ref.idx].fd >= 0 &&
	    u->flows[ref.idx].gen == ref.gen) {
		u->flows[ref.idx].armed = false;
		to_client(u, &u->flows[ref.idx]);
	}
}

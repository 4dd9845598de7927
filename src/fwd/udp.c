// SPDX-License-Identifier: GPL-2.0-or-later
/* udp.c - UDP forwards that bypass libslirp: one flow per client.
 *
 * DOC: Theory of Operation
 * A listener is a host UDP socket, polled on the ring. Each client (its
 * address and port, on that listener) has a flow: one UDP socket the
 * helper made in the namespace, connected to guest_addr:guest_port, made
 * on the client's first datagram. What the service answers arrives on
 * that socket and leaves by the listener, to the client.
 *
 * The service sees what it sees through libslirp: 10.0.2.2 (or the IPv6
 * gateway) for a client on the host's loopback, the client's own address
 * otherwise, with the client's port when that is free. The flow's socket
 * is transparent, carries the forward mark and is bound to that address,
 * as a TCP splice forward's is; the namespace's rules (ns/transparent.c
 * and ns/udpreply.c, installed before the first such forward) route the
 * service's answers back to it. Where they cannot be installed, a forward
 * goes to libslirp instead, unless it asked for this path ("mode":
 * "splice"): then the service sees the namespace's own address.
 *
 * A turn moves at most BUDGET batches of DGRAM_BATCH datagrams each way
 * per socket (recvmmsg, then sendmmsg; dgram.c), whole, then re-arms, so
 * one busy client cannot hold the loop. A datagram that cannot be sent
 * now is dropped, as UDP may drop it; so are the errors the service's
 * side reports (a port nobody listens on), as on the slirp path.
 *
 * Flows live in one bounded table for all forwards (flowtab.c), found by
 * the client's address and the listener's: at most MAX_FLOWS, and what
 * the fds allow. A new flow that finds it full evicts the least recently
 * used one, so a flood of new clients pushes out its own flows and a
 * client that keeps talking keeps its flow. A flow idle for IDLE_MS
 * closes (conntrack keeps its entry longer: UDPREPLY_TIMEOUT_S).
 *
 * fd ownership: the listener owns its socket, each flow its socket, the
 * pool its spare namespace sockets; closing removes the armed poll first.
 * gen rejects late completions for reused slots.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../clock.h"
#include "../fdlimit.h"
#include "../log.h"
#include "../ns/helper.h"
#include "../options.h"
#include "../timers.h"
#include "dgram.h"
#include "flowtab.h"
#include "fwd.h"
#include "udp.h"

enum {
	IDLE_MS = 240 * 1000, /* libslirp's SO_EXPIRE, as udp_out.c */
	SWEEP_MS = 5 * 1000,
	MAX_FLOWS = 16384,
	MIN_FLOWS = 64,
	FDS_PER_FLOW = 1,
	BUDGET = 4,	   /* batches per socket per turn */
	POOL_BATCH = 16,   /* namespace sockets per helper round trip */
	PLENTY_FDS = 256, /* spare fds above which the pool fills up */
};

_Static_assert(IDLE_MS / 1000 < UDPREPLY_TIMEOUT_S,
	       "a flow must close before conntrack forgets it");

/* a flow's socket is in fl.sock[] (dgram.h) */
struct udp_flow {
	unsigned listener;
	struct sockaddr_storage client;
};

struct udp_listener {
	int fd; /* -1: free */
	uint16_t gen;
	bool armed;
	struct sockaddr_storage host, guest;
};

struct fwd_udp {
	struct ring *ring;
	struct timers *timers;
	struct helper *helper; /* sockets in the namespace */
	const struct opts *o;
	struct udp_listener *ls;
	unsigned nls;
	struct dgram_flows fl;
	struct udp_flow *flows; /* flowtab_max() of them */
	struct timer *sweep;
	bool sweeping; /* the sweep timer is armed */
	int64_t idle_ms, sweep_ms;
	bool rules_tried, keep_clients; /* udpreply.c's table is there */
	int pool[2][POOL_BATCH]; /* namespace sockets, [0] IPv4, [1] IPv6 */
	unsigned npool[2];
	struct dgram_batch b;
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
	/* the tests' way to see flows expire without waiting minutes */
	if (getenv("SLIRP4NETNS_TEST_UDP_IDLE_MS")) {
		u->idle_ms = atoi(getenv("SLIRP4NETNS_TEST_UDP_IDLE_MS"));
		u->sweep_ms = u->idle_ms / 4 + 1;
	}
	u->sweep = timers_add(timers, sweep, u, NULL);
	if (!u->sweep) {
		free(u);
		return NULL;
	}
	return u;
}

/* ---------------------------------------------------------------- flows */

/* timer callback: close the flows idle for idle_ms, oldest first */
static void sweep(void *a, void *unused)
{
	struct fwd_udp *u = a;
	int64_t now = clock_now_ms();

	(void)unused;
	u->sweeping = dgram_flows_expire(&u->fl, now, u->idle_ms);
	if (u->sweeping)
		timers_mod(u->sweep, now + u->sweep_ms);
	else
		dgram_idle(&u->b);
}

/**
 * bind_seen_as() - Bind a flow's transparent socket to what the service
 * should see of @client: its port too, unless another flow has it
 * @u:		engine
 * @fd:		the socket
 * @client:	the client
 * Return: 0 or -errno
 */
static int bind_seen_as(struct fwd_udp *u, int fd,
			const struct sockaddr_storage *client)
{
	struct sockaddr_storage src;
	socklen_t len = fwd_seen_as(&u->o->net, client, &src, true);

	if (bind(fd, (struct sockaddr *)&src, len) == 0)
		return 0;
	if (errno != EADDRINUSE)
		return -errno;
	len = fwd_seen_as(&u->o->net, client, &src, false);
	return bind(fd, (struct sockaddr *)&src, len) < 0 ? -errno : 0;
}

/**
 * ns_socket() - A flow's socket in the namespace, connected to the service
 * @u:		engine
 * @l:		its forward
 * @client:	the client
 * Return: the fd, or -errno
 */
static int ns_socket(struct fwd_udp *u, const struct udp_listener *l,
		     const struct sockaddr_storage *client)
{
	int f = l->guest.ss_family == AF_INET6, fd, rc = 0;

	if (!u->npool[f]) {
		/* near RLIMIT_NOFILE, one at a time */
		unsigned want = fdlimit_room(l->fd, PLENTY_FDS) ? POOL_BATCH
								: 1;
		int n = helper_sockets(u->helper, l->guest.ss_family,
				       SOCK_DGRAM,
				       u->keep_clients
					       ? udpreply_mark(u->o->forward_fwmark)
					       : 0,
				       u->pool[f], want);

		if (n < 0)
			return n;
		u->npool[f] = n;
	}
	fd = u->pool[f][--u->npool[f]];
	if (u->keep_clients)
		rc = bind_seen_as(u, fd, client);
	if (rc == 0 && connect(fd, (const struct sockaddr *)&l->guest,
			       dgram_addrlen(&l->guest)) < 0)
		rc = -errno;
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

/**
 * flow_new() - A flow for a client's first datagram
 * @u:		engine
 * @k:		its key
 * @li:		the listener it came in on
 * @client:	the client
 * @now:	the loop's clock
 * Return: the slot, or -errno
 */
static int flow_new(struct fwd_udp *u, const struct flow_key *k, unsigned li,
		    const struct sockaddr_storage *client, int64_t now)
{
	int fd, i;

	dgram_flows_room(&u->fl, u->ls[li].fd, FDS_PER_FLOW);
	fd = ns_socket(u, &u->ls[li], client);
	if (fd < 0)
		return fd;
	i = dgram_flows_add(&u->fl, k, fd, now);
	if (i < 0)
		return i;
	u->flows[i] = (struct udp_flow){ li, *client };
	if (!u->sweeping) {
		u->sweeping = true;
		timers_mod(u->sweep, now + u->sweep_ms);
	}
	return i;
}

/* Did datagrams @j - 1 and @j of the batch come from the same client? */
static bool same_client(const struct dgram_batch *b, int j)
{
	socklen_t len = b->m[j].msg_hdr.msg_namelen;

	return j > 0 && len == b->m[j - 1].msg_hdr.msg_namelen &&
	       !memcmp(&b->name[j], &b->name[j - 1], len);
}

/* The flow of datagram @j from listener @li, made if new; -1: dropped.
 * A burst from one client is looked up once. */
static int flow_of(struct fwd_udp *u, unsigned li, int j, int prev,
		   int64_t now)
{
	const struct sockaddr_storage *client = &u->b.name[j];
	struct flow_key k;
	int i;

	if (same_client(&u->b, j))
		return prev;

	if (flowtab_key(&k, client, &u->ls[li].host) < 0)
		return -1;
	i = flowtab_find(u->fl.tab, &k);
	if (i < 0)
		i = flow_new(u, &k, li, client, now);
	if (i >= 0)
		flowtab_touch(u->fl.tab, i, now);
	return i;
}

/* ------------------------------------------------------------ datagrams */

static void listener_arm(struct fwd_udp *u, unsigned li)
{
	struct udp_listener *l = &u->ls[li];

	ring_poll_add(u->ring, l->fd, POLLIN,
		      ring_ref(RING_FWD_UDP_LISTEN, l->gen, li));
	l->armed = true;
}

/* Datagrams from clients, each to its flow's socket in the namespace. */
static void from_clients(struct fwd_udp *u, unsigned li)
{
	int64_t now = clock_now_ms(); /* once a turn, not a datagram */

	for (int turn = 0; turn < BUDGET; turn++) {
		int n = dgram_recv(&u->b, u->ls[li].fd, DGRAM_NAMES),
		    flow[DGRAM_BATCH];

		if (n == -EAGAIN)
			break;
		for (int j = 0; j < n; j++)
			flow[j] = flow_of(u, li, j, j ? flow[j - 1] : -1, now);
		/* a run of one flow's datagrams: one sendmmsg() */
		for (int j = 0, k; j < n; j = k) {
			for (k = j + 1; k < n && flow[k] == flow[j]; k++)
				;
			if (flow[j] >= 0)
				dgram_send(&u->b, u->fl.sock[flow[j]].fd, j, k,
					   NULL, NULL, NULL, NULL);
		}
		if (n >= 0 && n < DGRAM_BATCH)
			break;
		if (n == DGRAM_BATCH)
			ring_plenty(u->ring);
	}
	listener_arm(u, li);
}

/* What the service answered on flow @i, back to its client. */
static void to_client(struct fwd_udp *u, unsigned i)
{
	struct udp_flow *f = &u->flows[i];
	int64_t now = clock_now_ms();

	for (int turn = 0; turn < BUDGET; turn++) {
		int n = dgram_recv(&u->b, u->fl.sock[i].fd, 0);

		if (n == -EAGAIN)
			break;
		if (n < 0)
			continue; /* the service's port unreachable: dropped */
		flowtab_touch(u->fl.tab, i, now);
		dgram_send(&u->b, u->ls[f->listener].fd, 0, n, &f->client,
			   NULL, NULL, NULL);
		if (n < DGRAM_BATCH)
			break;
		ring_plenty(u->ring);
	}
	dgram_flow_arm(&u->fl, i);
}

void fwd_udp_complete(struct fwd_udp *u, union ring_ref ref, int res)
{
	(void)res; /* an error shows when the socket is read */
	if (ref.type == RING_FWD_UDP_LISTEN) {
		if (ref.idx < u->nls && u->ls[ref.idx].fd >= 0 &&
		    u->ls[ref.idx].gen == ref.gen) {
			u->ls[ref.idx].armed = false;
			from_clients(u, ref.idx);
		}
		return;
	}
	int i = dgram_flow_polled(&u->fl, ref);

	if (i >= 0)
		to_client(u, i);
}

/* ------------------------------------------------------------ listeners */

int fwd_udp_rules(struct fwd_udp *u)
{
	int rc;

	if (u->rules_tried)
		return u->keep_clients ? 0 : -ENOTSUP;
	rc = helper_udp_reply(u->helper, u->o->ipv6);
	u->rules_tried = true;
	u->keep_clients = rc == 0;
	/* spares made before are neither marked nor transparent */
	for (int f = 0; f < 2 && u->keep_clients; f++)
		while (u->npool[f])
			close(u->pool[f][--u->npool[f]]);
	if (rc < 0)
		log_warn("UDP forwards: cannot keep clients' addresses (%s): "
			 "they take libslirp's path",
			 strerror(-rc));
	return rc;
}

/* How many flows the fds we have allow: each holds FDS_PER_FLOW; TCP
 * and outbound UDP keep a quarter of what is spare. */
static unsigned max_flows(int any_fd)
{
	unsigned n = fdlimit_spare(any_fd) / 4 * 3 / FDS_PER_FLOW;

	return n < MIN_FLOWS ? MIN_FLOWS : n > MAX_FLOWS ? MAX_FLOWS : n;
}

/* The table and the batch, the first time there is a listener. */
static int tables(struct fwd_udp *u, int any_fd)
{
	unsigned max;

	if (u->fl.tab)
		return 0;
	max = max_flows(any_fd);
	/* untouched until a slot is taken, as the table's */
	u->flows = malloc(max * sizeof(*u->flows));
	if (!u->flows || dgram_init(&u->b) < 0 ||
	    dgram_flows_init(&u->fl, u->ring, RING_FWD_UDP_FLOW, "UDP forwards",
			     max) < 0) {
		free(u->flows);
		u->flows = NULL;
		return -ENOMEM;
	}
	return 0;
}

static struct udp_listener *listener_slot(struct fwd_udp *u)
{
	struct udp_listener *n;

	for (unsigned i = 0; i < u->nls; i++)
		if (u->ls[i].fd < 0) /* its flows went with it */
			return &u->ls[i];
	n = realloc(u->ls, (u->nls + 1) * sizeof(*n));
	if (!n)
		return NULL;
	u->ls = n;
	n[u->nls] = (struct udp_listener){ .fd = -1 };
	return &n[u->nls++];
}

static int listen_on(const struct sockaddr *host, socklen_t hlen)
{
	int one = 1, rc,
	    fd = socket(host->sa_family,
			SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (host->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, host, hlen) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

int fwd_udp_add(struct fwd_udp *u, const struct sockaddr *host,
		socklen_t hlen, const struct sockaddr *guest, socklen_t glen)
{
	struct udp_listener *l;
	int fd, rc;

	/* never inside the namespace to where the TAP could not deliver */
	if (!fwd_guest_reachable(guest, &u->o->net))
		return -EADDRNOTAVAIL;
	if (hlen > sizeof(l->host) || glen > sizeof(l->guest))
		return -EINVAL;
	l = listener_slot(u);
	if (!l)
		return -ENOMEM;
	fd = listen_on(host, hlen);
	if (fd < 0)
		return fd;
	rc = tables(u, fd);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	l->fd = fd;
	memset(&l->host, 0, sizeof(l->host));
	memset(&l->guest, 0, sizeof(l->guest));
	memcpy(&l->host, host, hlen);
	memcpy(&l->guest, guest, glen);
	listener_arm(u, l - u->ls);
	return 0;
}

static void listener_close(struct fwd_udp *u, unsigned li)
{
	struct udp_listener *l = &u->ls[li];

	/* its flows go too: answers would have no socket to leave by */
	for (unsigned i = 0; u->fl.tab && i < flowtab_max(u->fl.tab); i++)
		if (flowtab_used(u->fl.tab, i) && u->flows[i].listener == li)
			dgram_flow_close(&u->fl, i);
	if (l->armed)
		ring_poll_remove(u->ring,
				 ring_ref(RING_FWD_UDP_LISTEN, l->gen, li));
	close(l->fd);
	l->fd = -1;
	l->armed = false;
	l->gen++;
}

int fwd_udp_remove(struct fwd_udp *u, const struct sockaddr *host,
		   socklen_t hlen)
{
	for (unsigned i = 0; i < u->nls; i++) {
		if (!fwd_bound_to(u->ls[i].fd, host, hlen))
			continue;
		listener_close(u, i);
		/* the armed poll holds the socket, and with it the port,
		 * until the kernel has run its cancellation: now, before
		 * the client is told "removed" and binds the port again */
		ring_settle(u->ring);
		return 0;
	}
	return -ENOENT;
}

void fwd_udp_free(struct fwd_udp *u)
{
	if (!u)
		return;
	for (unsigned i = 0; i < u->nls; i++)
		if (u->ls[i].fd >= 0)
			listener_close(u, i);
	for (int f = 0; f < 2; f++)
		while (u->npool[f])
			close(u->pool[f][--u->npool[f]]);
	timers_del(u->timers, u->sweep);
	dgram_flows_free(&u->fl);
	free(u->flows);
	free(u->ls);
	dgram_free(&u->b);
	free(u);
}

// SPDX-License-Identifier: GPL-2.0-or-later
/* udp_out.c - the namespace's outbound UDP without libslirp (with outbound
 * TCP's kernel path: on by default, off with --disable-tcp-bypass).
 *
 * DOC: Theory of Operation
 * On the slirp path every datagram the guest sends crosses libslirp: a
 * frame read from the TAP, parsed, copied to a host socket. Here the
 * kernel hands it over instead. ns/tproxy.c's rules send each UDP datagram
 * about to leave by the TAP (to a unicast address libslirp need not see
 * itself) back in by lo, to a transparent listener of ours on 127.0.0.1
 * or ::1, which learns its original destination from IP_RECVORIGDSTADDR.
 *
 * A flow is one guest socket talking to one destination, and holds one
 * socket: ours on the host, connected to where libslirp would send the
 * datagram (egress_target(): 10.0.2.2 is the host's loopback), bound to
 * --outbound-addr[6] if given. Every datagram of the guest's comes by the
 * listener, which finds its flow by the two endpoints. The answers go to
 * the guest by a raw socket in the namespace, behind IP and UDP headers
 * from the address the guest wrote to (frame/rawip.c), as libslirp's
 * come. Not by a socket bound to that address: bound in the namespace, it
 * would hold the port there, and a service of the namespace that binds it
 * (without SO_REUSEADDR) would fail for as long as the flow lives.
 *
 * The listener and each host socket are polled on the ring; a turn moves
 * at most BUDGET batches of DGRAM_BATCH datagrams (recvmmsg, then
 * sendmmsg; dgram.c), whole, then re-arms, so that one flow cannot hold
 * the loop. A datagram that cannot be sent now is dropped, as UDP may.
 *
 * An error the host socket reports (the peer's ICMP: port unreachable, no
 * route) comes back to the guest as the ICMP error libslirp would send,
 * by the same raw socket.
 *
 * Containers behind a bridge (rootless Docker's, podman's networks): what
 * the namespace forwards to the TAP is redirected by its NAT to a second
 * pair of listeners, on the wildcard address, which learn the original
 * destination from conntrack (ns/conntrack.c; tproxy.c says why not
 * tproxy). Their flows are keyed by the datagram's source and the local
 * address it reached (IP_PKTINFO), which conntrack's entry makes unique,
 * and answer by that listener, from that address: conntrack's reply
 * direction, which undoes the translations on the way, so the container
 * sees the answers come from where it sent. Their ICMP errors quote what
 * we received, and conntrack translates them the same way. Where we may
 * not ask conntrack (no CAP_NET_ADMIN over the namespace) there are no
 * such listeners, and containers' UDP stays on libslirp.
 *
 * The table (flowtab.c) is bounded: by MAX_FLOWS and by the fds we have.
 * A new flow that finds it full evicts the least recently used one, so a
 * flood of new flows pushes out its own and a client that keeps talking
 * keeps its flow. A flow idle for IDLE_MS (libslirp's UDP expiry) closes.
 *
 * fd ownership: a flow owns its socket, the engine its listeners and the
 * raw sockets. Closing removes the armed poll first; gen rejects late
 * completions for a reused slot.
 */
#include <netinet/in.h> /* before the kernel's headers */

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../clock.h"
#include "../fdlimit.h"
#include "../frame/rawip.h"
#include "../log.h"
#include "../ns/conntrack.h"
#include "../ns/helper.h"
#include "../options.h"
#include "../sandbox.h"
#include "../timers.h"
#include "dgram.h"
#include "egress.h"
#include "flowtab.h"
#include "udp_out.h"

enum {
	IDLE_MS = 240 * 1000, /* libslirp's SO_EXPIRE */
	SWEEP_MS = 5 * 1000,
	MAX_FLOWS = 4096,
	MIN_FLOWS = 64,
	FDS_PER_FLOW = 1,
	BUDGET = 4, /* batches per side per turn */
};

/* a flow's socket is in fl.sock[] (dgram.h) */
struct uo_flow {
	struct sockaddr_storage guest, orig;
	/* where the guest's datagrams reached us: @orig, or for a
	 * container's the address the NAT redirected them to */
	struct sockaddr_storage seen;
	struct dgram_from src; /* a container's: its answers' source */
	int via;	       /* a container's: its listener; else -1 */
};

/* One batch of datagrams (dgram.h), and the answers' headers. */
struct uo_batch {
	struct dgram_batch d;
	uint8_t hdr[DGRAM_BATCH][RAWIP_UDP_MAX]; /* answers' headers */
	struct iovec riov[DGRAM_BATCH][2];	  /* answers: headers, payload */
};

struct udp_out {
	struct ring *ring;
	struct timers *timers;
	struct helper *helper;
	const struct opts *o;
	/* listeners: [family] transparent on loopback, the namespace's own;
	 * [2 + family] on the wildcard address, redirected from containers */
	int lfd[4];
	bool larmed[4];
	uint16_t lgen[4], lport[4];
	int ct; /* conntrack lookups (conntrack.c), -1 without */
	bool ct_asked;
	int raw[2]; /* for ICMP errors and answers, made when first needed */
	bool raw_asked[2];
	struct dgram_flows fl;
	struct uo_flow *flows; /* flowtab_max() of them */
	struct timer *sweep;
	bool sweeping;
	int64_t idle_ms, sweep_ms;
	struct uo_batch b;
};

static void sweep(void *a, void *b);

static int fam_index(int family)
{
	return family == AF_INET6;
}

struct udp_out *udp_out_new(struct ring *ring, struct timers *timers,
			    struct helper *helper, const struct opts *o)
{
	struct udp_out *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	*u = (struct udp_out){ .ring = ring, .timers = timers,
			       .helper = helper, .o = o,
			       .lfd = { -1, -1, -1, -1 }, .raw = { -1, -1 },
			       .ct = -1,
			       .idle_ms = IDLE_MS, .sweep_ms = SWEEP_MS };
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
	struct udp_out *u = a;
	int64_t now = clock_now_ms();

	(void)unused;
	u->sweeping = dgram_flows_expire(&u->fl, now, u->idle_ms);
	if (u->sweeping)
		timers_mod(u->sweep, now + u->sweep_ms);
	else /* a burst of big datagrams made the batch resident: give it
	      * back while nothing flows */
		dgram_idle(&u->b.d);
}

/**
 * host_socket() - A flow's host socket, connected where libslirp would
 * send its datagrams
 * @u:		engine
 * @orig:	the guest's destination
 * Return: the fd, or -errno (-ECONNREFUSED where libslirp would not go;
 *	   connect()'s error, such as -ENETUNREACH)
 */
static int host_socket(struct udp_out *u, const struct sockaddr_storage *orig)
{
	struct sockaddr_storage to;
	socklen_t tolen;
	int fd = egress_socket(u->o, SOCK_DGRAM, orig, &to, &tolen), rc;

	if (fd < 0)
		return fd;
	if (connect(fd, (struct sockaddr *)&to, tolen) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

/**
 * flow_new() - A flow for a guest socket's first datagram to @f->orig
 * @u:		engine
 * @k:		its key
 * @f:		the flow
 * @now:	the loop's clock
 *
 * Return: the slot, or -errno
 */
static int flow_new(struct udp_out *u, const struct flow_key *k,
		    const struct uo_flow *f, int64_t now)
{
	int hfd, i;

	dgram_flows_room(&u->fl, u->lfd[0], FDS_PER_FLOW);
	hfd = host_socket(u, &f->orig);
	if (hfd < 0)
		return hfd;
	i = dgram_flows_add(&u->fl, k, hfd, now);
	if (i < 0)
		return i;
	u->flows[i] = *f;
	if (!u->sweeping) {
		u->sweeping = true;
		timers_mod(u->sweep, now + u->sweep_ms);
	}
	return i;
}

/* ------------------------------------------------------------ datagrams */

/**
 * raw_to() - The raw socket for packets to @guest, and its address as that
 * socket takes it
 * @u:		engine
 * @guest:	where they go
 * @to:		set to @guest without its port (a raw socket reads that
 *		field as a protocol)
 * @len:	set to its length
 *
 * The socket is asked for once per family: a helper that cannot make one
 * never will.
 * Return: the fd, or -1
 */
static int raw_to(struct udp_out *u, const struct sockaddr_storage *guest,
		  struct sockaddr_storage *to, socklen_t *len)
{
	int fi = fam_index(guest->ss_family);

	if (!u->raw_asked[fi]) {
		u->raw_asked[fi] = true;
		u->raw[fi] = helper_socket(u->helper, guest->ss_family,
					   SOCK_RAW, IPPROTO_RAW);
		if (u->raw[fi] < 0)
			log_warn("outbound UDP: no raw socket in the namespace "
				 "(%s): answers and ICMP errors are lost",
				 strerror(-u->raw[fi]));
	}
	*to = *guest;
	if (fi) {
		((struct sockaddr_in6 *)to)->sin6_port = 0;
		*len = sizeof(struct sockaddr_in6);
	} else {
		((struct sockaddr_in *)to)->sin_port = 0;
		*len = sizeof(struct sockaddr_in);
	}
	return u->raw[fi] < 0 ? -1 : u->raw[fi];
}

/**
 * answer_raw() - The first @n datagrams of the batch to the guest by the
 * raw socket, from the address it wrote to
 * @u:		engine
 * @f:		the flow
 * @n:		how many
 */
static void answer_raw(struct udp_out *u, const struct uo_flow *f, int n)
{
	struct uo_batch *b = &u->b;
	struct sockaddr_storage to;
	socklen_t tolen;
	int raw = raw_to(u, &f->guest, &to, &tolen), k = 0;

	if (raw < 0)
		return;
	for (int j = 0; j < n; j++) {
		int hl = rawip_udp_header(b->hdr[k], &f->seen, &f->guest,
					  b->d.iov[j].iov_base, b->d.m[j].msg_len);

		if (hl < 0)
			continue; /* too big for one IP packet */
		b->riov[k][0] = (struct iovec){ b->hdr[k], hl };
		b->riov[k][1] = (struct iovec){ b->d.iov[j].iov_base,
						b->d.m[j].msg_len };
		b->d.m[k].msg_hdr = (struct msghdr){
			.msg_name = &to,
			.msg_namelen = tolen,
			.msg_iov = b->riov[k],
			.msg_iovlen = 2
		};
		k++;
	}
	/* what does not fit the socket's buffer now is dropped */
	if (k)
		sendmmsg(raw, b->d.m, k, MSG_DONTWAIT);
}

/**
 * icmp_to_guest() - Tell the guest its datagram could not be delivered,
 * as libslirp does
 * @u:		engine
 * @guest:	the datagram's source
 * @orig:	its destination, as it reached us (conntrack translates a
 *		container's on the way back)
 * @err:	what the host socket said (positive errno)
 * @len:	its payload length
 */
static void icmp_to_guest(struct udp_out *u,
			  const struct sockaddr_storage *guest,
			  const struct sockaddr_storage *orig, int err,
			  size_t len)
{
	struct sockaddr_storage to;
	socklen_t tolen;
	uint8_t pkt[RAWIP_ICMP_MAX];
	int n, raw;

	if (err == EAGAIN || err == ENOBUFS)
		return; /* a full queue drops, it does not refuse */
	n = rawip_icmp_unreach(pkt, err, guest, orig, len);
	raw = raw_to(u, guest, &to, &tolen);
	if (n >= 0 && raw >= 0)
		sendto(raw, pkt, n, MSG_DONTWAIT, (struct sockaddr *)&to,
		       tolen);
}

/* dgram_send()'s: a datagram the host socket refused gets the guest its
 * ICMP error */
struct refused_ctx {
	struct udp_out *u;
	const struct uo_flow *f;
};

static void refused(void *opaque, int j, int err)
{
	struct refused_ctx *c = opaque;

	icmp_to_guest(c->u, &c->f->guest, &c->f->seen, err,
		      c->u->b.d.iov[j].iov_len);
}

/* Datagrams @from to @to - 1 of the batch, whole, to flow @i's host
 * socket */
static void send_run(struct udp_out *u, unsigned i, int from, int to)
{
	struct refused_ctx c = { u, &u->flows[i] };

	dgram_send(&u->b.d, u->fl.sock[i].fd, from, to, NULL, NULL, refused,
		   &c);
}

/**
 * answers() - A flow's host socket is readable: its datagrams to the guest
 * @u:		engine
 * @i:		its slot
 */
static void answers(struct udp_out *u, unsigned i)
{
	struct uo_flow *f = &u->flows[i];
	int64_t now = clock_now_ms(); /* once a turn, not a datagram */

	for (int turn = 0; turn < BUDGET; turn++) {
		int n = dgram_recv(&u->b.d, u->fl.sock[i].fd, 0);

		if (n == -EAGAIN)
			break;
		if (n < 0) {
			/* the socket's pending error: the guest's */
			icmp_to_guest(u, &f->guest, &f->seen, -n, 0);
			continue;
		}
		flowtab_touch(u->fl.tab, i, now);
		if (f->via < 0)
			answer_raw(u, f, n);
		else /* what does not fit the socket's buffer is dropped */
			dgram_send(&u->b.d, u->lfd[f->via], 0, n, &f->guest,
				   &f->src, NULL, NULL);
		if (n < DGRAM_BATCH)
			break;
		ring_plenty(u->ring);
	}
	dgram_flow_arm(&u->fl, i);
}

/* The original destination a listener's datagram carries; 0 or -ENOENT */
static int orig_dst(struct msghdr *mh, struct sockaddr_storage *orig)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c;
	     c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_ORIGDSTADDR) {
			memset(orig, 0, sizeof(*orig));
			memcpy(orig, CMSG_DATA(c), sizeof(struct sockaddr_in));
			return 0;
		}
		if (c->cmsg_level == SOL_IPV6 &&
		    c->cmsg_type == IPV6_ORIGDSTADDR) {
			memset(orig, 0, sizeof(*orig));
			memcpy(orig, CMSG_DATA(c), sizeof(struct sockaddr_in6));
			return 0;
		}
	}
	return -ENOENT;
}

/**
 * redirected() - A container's datagram that listener @li got: the local
 * address it reached, which with its source keys its flow
 * @u:		engine
 * @li:		the listener (2 + family)
 * @j:		its place in the batch
 * @f:		its flow, to be filled in
 * @k:		set to the flow's key
 * Return: 0, or -1
 */
static int redirected(struct udp_out *u, int li, int j, struct uo_flow *f,
		      struct flow_key *k)
{
	f->via = li;
	if (dgram_pktinfo(&u->b.d, j, &f->src, &f->seen,
			  htons(u->lport[li])) < 0)
		return -1;
	return flowtab_key(k, &f->guest, &f->seen);
}

/**
 * flow_of() - The flow of a datagram listener @li got, made if new
 * @u:		engine
 * @li:		the listener
 * @j:		its place in the batch
 * @now:	the loop's clock
 * Return: its slot, or -1 (dropped; the guest told why if libslirp would)
 */
static int flow_of(struct udp_out *u, int li, int j, int64_t now)
{
	struct msghdr *mh = &u->b.d.m[j].msg_hdr;
	struct uo_flow f = { .guest = u->b.d.name[j], .via = -1 };
	struct flow_key k;
	int i;

	if (li >= 2) {
		if (redirected(u, li, j, &f, &k) < 0)
			return -1;
	} else if (orig_dst(mh, &f.orig) < 0 ||
		   flowtab_key(&k, &f.guest, &f.orig) < 0) {
		return -1;
	} else {
		f.seen = f.orig;
	}
	i = flowtab_find(u->fl.tab, &k);
	/* a container's new flow: where it was going; none of ours if it
	 * was not redirected (sent to our port itself) */
	if (i < 0 && li >= 2 &&
	    conntrack_orig_dst(u->ct, &f.seen, &f.guest, &f.orig) < 0)
		return -1;
	if (i < 0)
		i = flow_new(u, &k, &f, now);
	if (i < 0) {
		/* libslirp says so when its socket cannot send */
		if (i != -ECONNREFUSED)
			icmp_to_guest(u, &f.guest, &f.seen, -i,
				      u->b.d.m[j].msg_len);
		return -1;
	}
	flowtab_touch(u->fl.tab, i, now);
	return i;
}

/* Listener @li is readable: the guest's datagrams. */
static void from_listener(struct udp_out *u, int li)
{
	int64_t now = clock_now_ms();

	for (int turn = 0; turn < BUDGET; turn++) {
		int n = dgram_recv(&u->b.d, u->lfd[li],
				   DGRAM_NAMES | DGRAM_ORIGDST),
		    flow[DGRAM_BATCH];

		for (int j = 0; j < n; j++)
			flow[j] = flow_of(u, li, j, now);
		/* a run of one flow's datagrams: one sendmmsg() */
		for (int j = 0, k; j < n; j = k) {
			for (k = j + 1; k < n && flow[k] == flow[j]; k++)
				;
			if (flow[j] >= 0)
				send_run(u, flow[j], j, k);
		}
		if (n < DGRAM_BATCH)
			break;
		ring_plenty(u->ring);
	}
	ring_poll_add(u->ring, u->lfd[li], POLLIN,
		      ring_ref(RING_UDP_OUT_LISTEN, u->lgen[li], li));
	u->larmed[li] = true;
}

void udp_out_complete(struct udp_out *u, union ring_ref ref, int res)
{
	(void)res; /* an error shows when the socket is read */
	if (!u)
		return;
	if (ref.type == RING_UDP_OUT_LISTEN) {
		if (ref.idx < 4 && u->lfd[ref.idx] >= 0 &&
		    u->lgen[ref.idx] == ref.gen) {
			u->larmed[ref.idx] = false;
			from_listener(u, ref.idx);
		}
		return;
	}
	int i = dgram_flow_polled(&u->fl, ref);

	if (i >= 0)
		answers(u, i);
}

/* ------------------------------------------------------------ listeners */

/**
 * listen_on() - A UDP listener: transparent on loopback, telling each
 * datagram's original destination, or on the wildcard address, telling
 * the local address each one came to
 * @u:		engine
 * @family:	AF_INET or AF_INET6
 * @any:	the wildcard one
 * @port:	set to its port
 * Return: the fd, or -errno
 */
static int listen_on(struct udp_out *u, int family, bool any, uint16_t *port)
{
	int fd = egress_listener(u->helper, u->o, SOCK_DGRAM, family, any,
				 port),
	    one = 1, rc;

	if (fd < 0)
		return fd;
	if (family == AF_INET6)
		rc = setsockopt(fd, SOL_IPV6,
				any ? IPV6_RECVPKTINFO : IPV6_RECVORIGDSTADDR,
				&one, sizeof(one));
	else
		rc = setsockopt(fd, SOL_IP, any ? IP_PKTINFO : IP_RECVORIGDSTADDR,
				&one, sizeof(one));
	if (rc < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

/* How many flows the fds we have allow: each holds FDS_PER_FLOW, and
 * they get at most a quarter of what is spare (TCP wants the rest). */
static unsigned max_flows(int any_fd)
{
	unsigned n = fdlimit_spare(any_fd) / 4 / FDS_PER_FLOW;

	return n < MIN_FLOWS ? MIN_FLOWS : n > MAX_FLOWS ? MAX_FLOWS : n;
}

/* The table and the batch, the first time there are listeners. */
static int tables(struct udp_out *u)
{
	unsigned max;

	if (u->fl.tab)
		return 0;
	max = max_flows(u->lfd[0]);
	/* untouched until a slot is taken, as the table's */
	u->flows = malloc(max * sizeof(*u->flows));
	if (!u->flows || dgram_init(&u->b.d) < 0)
		return -ENOMEM;
	return dgram_flows_init(&u->fl, u->ring, RING_UDP_OUT_FLOW,
				"outbound UDP", max);
}

/* Whether we may ask conntrack where containers' datagrams were going:
 * the socket, asked for once */
static bool conntrack_ok(struct udp_out *u)
{
	int rc;

	if (!u->ct_asked) {
		u->ct_asked = true;
		/* every lookup needs CAP_NET_ADMIN, and root's
		 * --enable-sandbox drops it after this */
		u->ct = sandbox_keeps_net_admin(u->o)
				? helper_ct_socket(u->helper)
				: -EPERM;
		rc = conntrack_socket_check(u->ct);
		if (rc < 0) {
			log_info("outbound UDP: no conntrack lookups in the "
				 "namespace (%s): containers' UDP stays on "
				 "libslirp",
				 strerror(-rc));
			if (u->ct >= 0)
				close(u->ct);
			u->ct = -1;
		}
	}
	return u->ct >= 0;
}

int udp_out_listen(struct udp_out *u, uint16_t port[2], uint16_t any[2])
{
	int rc = 0;

	port[0] = port[1] = any[0] = any[1] = 0;
	for (int fi = 0; fi < 2 && rc >= 0; fi++)
		if (!fi || u->o->ipv6)
			rc = u->lfd[fi] = listen_on(u, fi ? AF_INET6 : AF_INET,
						    false, &port[fi]);
	for (int fi = 0; fi < 2 && rc >= 0 && conntrack_ok(u); fi++)
		if (!fi || u->o->ipv6)
			rc = u->lfd[2 + fi] =
				listen_on(u, fi ? AF_INET6 : AF_INET, true,
					  &any[fi]);
	if (rc >= 0)
		rc = tables(u);
	if (rc < 0) {
		udp_out_stop(u);
		port[0] = port[1] = any[0] = any[1] = 0;
		return rc;
	}
	u->lport[2] = any[0];
	u->lport[3] = any[1];
	for (int li = 0; li < 4; li++)
		if (u->lfd[li] >= 0) {
			ring_poll_add(u->ring, u->lfd[li], POLLIN,
				      ring_ref(RING_UDP_OUT_LISTEN,
					       u->lgen[li], li));
			u->larmed[li] = true;
		}
	return 0;
}

void udp_out_stop(struct udp_out *u)
{
	int i;

	if (!u)
		return;
	while (u->fl.tab && (i = flowtab_oldest(u->fl.tab, NULL)) >= 0)
		dgram_flow_close(&u->fl, i);
	for (int li = 0; li < 4; li++) {
		if (u->larmed[li])
			ring_poll_remove(u->ring,
					 ring_ref(RING_UDP_OUT_LISTEN,
						  u->lgen[li], li));
		if (u->lfd[li] >= 0)
			close(u->lfd[li]);
		u->lfd[li] = -1;
		u->larmed[li] = false;
		u->lgen[li]++;
	}
	for (int fi = 0; fi < 2; fi++) {
		if (u->raw[fi] >= 0)
			close(u->raw[fi]);
		u->raw[fi] = -1;
		u->raw_asked[fi] = false;
	}
}

void udp_out_free(struct udp_out *u)
{
	if (!u)
		return;
	udp_out_stop(u);
	if (u->ct >= 0)
		close(u->ct);
	timers_del(u->timers, u->sweep);
	dgram_flows_free(&u->fl);
	free(u->flows);
	dgram_free(&u->b.d);
	free(u);
}

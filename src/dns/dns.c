// SPDX-License-Identifier: GPL-2.0-or-later
/* dns.c - our DNS forwarder at the DNS address (10.0.2.3, fd00::3).
 *
 * DOC: Theory of Operation
 * libslirp answers the DNS address by asking the first usable nameserver
 * of the host's resolv.conf, and only that one (slirp4netns#347,
 * rootlesskit#438). Here every nameserver is asked, in order, over UDP and
 * TCP, and resolv.conf is followed as it changes.
 *
 * Where: the helper gives us UDP and TCP sockets in the namespace bound
 * to port 53 of the DNS address (transparent: it is no address of the
 * namespace's), then sends what goes there to them: a route on the TAP
 * ("local 10.0.2.3 dev tap0 table local"), which goes with the TAP, or on
 * a persistent TAP (RootlessKit's), which would keep that route after we
 * are gone, the forward mark from an nftables table the kernel deletes
 * with the helper (ns/dnsmark.c). The namespace's own queries and those
 * routed in from containers on a bridge reach the sockets, never the
 * TAP; answers leave as any local socket's do (fragmented by the kernel
 * where they must be). Until then (lo down: RootlessKit brings it up
 * after we are ready), and where neither can be had (no nf_tables for a
 * persistent TAP, --disable-dns), libslirp answers, as before.
 *
 * Upstreams are asked from host sockets: UP_SOCKS per family, with ports
 * the kernel chose, unconnected. A query goes out under an ID of ours,
 * random and unique among those in flight; an answer counts only from a
 * server this query was sent to, with its question. A nameserver on the
 * host's loopback (systemd-resolved's 127.0.0.53) is asked like any
 * other, whatever --disable-host-loopback says: we ask it, not the guest.
 *
 * Order: resolv.conf's, the servers that failed in the last BAD_MS last.
 * A try waits try_ms() before the next server is asked; the earlier ones
 * may still answer. SERVFAIL and REFUSED go on to the next server too,
 * and reach the client if no server does better. After resolv.conf's
 * timeout x attempts (what the host's resolver would spend) the client
 * gets SERVFAIL.
 *
 * Bounds: MAX_QUERIES in flight; past that the UDP listeners are left
 * unread (their receive buffer holds a burst) until one is done. TCP:
 * MAX_TCP clients, one query each at a time, each over an upstream TCP
 * connection of its own; a client idle for TCP_IDLE_MS is closed.
 *
 * resolv.conf: inotify on the file (the inode its path leads to), its
 * directory and, for a symlink, the target's directory. RELOAD_MS after
 * an event it is read again; queries in flight start over on the new
 * servers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../clock.h"
#include "../log.h"
#include "../netcfg.h"
#include "../ns/helper.h"
#include "../options.h"
#include "../timers.h"
#include "dns.h"
#include "msg.h"
#include "resolv.h"

enum {
	MAX_QUERIES = 1024,
	UP_SOCKS = 4,	    /* host UDP sockets per family */
	BATCH = 16,	    /* datagrams per recvmmsg() */
	QUERY_MAX = 4096,   /* a UDP query longer than this is dropped */
	MSG_MAX = 65535,
	TRY_MIN_MS = 200,
	TRY_MAX_MS = 1000,
	BAD_MS = 60 * 1000, /* a failed server is asked last this long */
	MAX_TCP = 32,
	TCP_IDLE_MS = 10 * 1000,
	RELOAD_MS = 100,
	ROUTE_RETRY_MS = 100,
	ROUTE_RETRIES = 3000, /* five minutes */
	DNS_PORT = 53,
	NO_SLOT = -1,
};

enum dns_op {
	OP_UDP_LISTEN, /* idx: family index */
	OP_UPSTREAM,   /* idx: family index * UP_SOCKS + socket */
	OP_TCP_LISTEN, /* idx: family index */
	OP_TCP_CLIENT, /* idx: TCP slot */
	OP_TCP_UP,     /* idx: TCP slot */
	OP_INOTIFY,
};

static const char resolv_path[] = "/etc/resolv.conf";

struct dns_server {
	struct sockaddr_storage a;
	socklen_t len;
	int64_t bad_until;
};

struct dns_query {
	bool used;
	uint16_t id, cid; /* ours upstream; the client's */
	int8_t fam;	  /* the UDP listener it came on; -1: TCP */
	int tcp;	  /* its TCP client's slot */
	struct sockaddr_storage client;
	socklen_t clen;
	uint8_t *msg; /* as sent upstream (our ID) */
	uint16_t len, qend;
	uint8_t *fallback; /* a SERVFAIL or REFUSED answer, until better */
	uint16_t flen;
	unsigned tries, cur; /* tries so far; the server of the last */
	uint32_t asked;	     /* servers asked, a bit each */
	uint32_t round;	     /* those asked since the round began */
	int64_t deadline;
	struct timer *timer;
};

struct dns_tcp {
	bool used;
	uint16_t gen;
	uint8_t upgen; /* of the upstream connection */
	int fd, up; /* the client; our upstream connection, or -1 */
	short armed, up_armed;
	bool eof;
	int q; /* its query in flight, or NO_SLOT */
	uint8_t *in;
	size_t have;
	uint8_t *out; /* to the upstream, then the answer to the client */
	size_t olen, osent;
	uint8_t *ans; /* the upstream's answer, its length first */
	size_t ahave;
	bool sending_answer;
	struct timer *idle;
};

/* A datagram to send with the others of its turn (sendq_flush()) */
struct pending {
	int fd;
	const void *buf;
	size_t len;
	struct sockaddr_storage to;
	socklen_t tolen;
	int slot; /* a query's try upstream; -1: an answer */
};

struct dns {
	struct ring *ring;
	struct timers *timers;
	const struct opts *o;
	int udp[2], tcp[2]; /* in the namespace: IPv4, IPv6; -1 if none */
	bool udp_armed[2], tcp_armed[2];
	int up[2][UP_SOCKS]; /* host sockets, -1 until needed */
	bool up_armed[2][UP_SOCKS];
	struct dns_server servers[RESOLV_MAX_NS];
	unsigned nservers;
	struct resolv rc;
	struct dns_query *q;
	uint16_t *free_slots; /* a stack of the free ones */
	unsigned nfree;
	uint16_t *byid; /* our ID -> slot + 1 */
	struct dns_tcp *t;
	int ino, wd[3];
	struct timer *reload;
	struct helper *helper;
	struct timer *retry; /* route_all() again, while lo is down */
	unsigned route_tries;
	uint8_t *buf; /* BATCH x MSG_MAX, for recvmmsg() */
	struct pending out[2 * BATCH];
	unsigned nout;
	bool batching; /* within a batch's turn: sends wait for its end */
	uint16_t ids[64]; /* random IDs, drawn 64 at a time */
	unsigned nids;
};

/* ------------------------------------------------------------ helpers */

static union ring_ref ref(enum dns_op op, uint16_t gen, unsigned idx)
{
	union ring_ref r = ring_ref(RING_DNS, gen, idx);

	r.op = op;
	return r;
}

static int fam_index(int family)
{
	return family == AF_INET6;
}

/* How long a try waits before the next server: a fifth of resolv.conf's
 * timeout, so that the client's own (5 s by default) sees a later server
 * answer */
static int64_t try_ms(const struct dns *d)
{
	int64_t t = (int64_t)d->rc.timeout_s * 1000 / 5;

	return t < TRY_MIN_MS ? TRY_MIN_MS : t > TRY_MAX_MS ? TRY_MAX_MS : t;
}

/* ---------------------------------------------------------- resolv.conf */

static void use_resolv(struct dns *d)
{
	struct dns_server old[RESOLV_MAX_NS];
	unsigned nold = d->nservers;

	memcpy(old, d->servers, sizeof(old));
	d->nservers = d->rc.nns;
	for (unsigned i = 0; i < d->rc.nns; i++) {
		struct dns_server *s = &d->servers[i];

		s->a = d->rc.ns[i];
		s->len = d->rc.nslen[i];
		s->bad_until = 0;
		for (unsigned j = 0; j < nold; j++)
			if (netcfg_same_endpoint(&old[j].a, &s->a))
				s->bad_until = old[j].bad_until;
	}
}

/* Watch what a change of resolv.conf touches (see the top) */
static void watch(struct dns *d)
{
	char real[PATH_MAX], *slash;
	const uint32_t dir = IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE |
			     IN_DELETE | IN_MOVED_FROM | IN_ONLYDIR;
	int wd;

	wd = inotify_add_watch(d->ino, resolv_path,
			       IN_CLOSE_WRITE | IN_MODIFY | IN_ATTRIB |
				       IN_DELETE_SELF | IN_MOVE_SELF);
	if (wd != d->wd[0] && d->wd[0] >= 0)
		inotify_rm_watch(d->ino, d->wd[0]);
	d->wd[0] = wd;
	if (d->wd[1] < 0)
		d->wd[1] = inotify_add_watch(d->ino, "/etc", dir);
	if (!realpath(resolv_path, real) || !(slash = strrchr(real, '/')))
		return;
	*slash = '\0';
	wd = strcmp(real, "/etc") ? inotify_add_watch(d->ino, real, dir) : -1;
	if (wd != d->wd[2] && d->wd[2] >= 0 && d->wd[2] != d->wd[1])
		inotify_rm_watch(d->ino, d->wd[2]);
	d->wd[2] = wd;
}

static void reload(void *a, void *b)
{
	struct dns *d = a;

	(void)b;
	resolv_read(resolv_path, &d->rc);
	use_resolv(d);
	watch(d);
	/* queries in flight start over: their server numbers were the old
	 * list's */
	for (unsigned i = 0; i < MAX_QUERIES; i++)
		d->q[i].asked = d->q[i].round = 0;
}

static void inotify_arm(struct dns *d)
{
	ring_poll_add(d->ring, d->ino, POLLIN, ref(OP_INOTIFY, 0, 0));
}

static void inotify_read(struct dns *d)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool changed = false;
	ssize_t n;

	while ((n = read(d->ino, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (void *)p;

			/* the directories: only resolv.conf's name (or the
			 * symlink target's: any name there, it is cheap) */
			if (ev->wd != d->wd[1] || !ev->len ||
			    !strcmp(ev->name, "resolv.conf"))
				changed = true;
			p += sizeof(*ev) + ev->len;
		}
	}
	if (changed && !timers_armed(d->reload))
		timers_mod(d->reload, clock_now_ms() + RELOAD_MS);
	inotify_arm(d);
}

/* -------------------------------------------------------------- queries */

static void udp_listen_arm(struct dns *d, int f)
{
	if (d->udp[f] < 0 || d->udp_armed[f] || !d->nfree)
		return;
	ring_poll_add(d->ring, d->udp[f], POLLIN, ref(OP_UDP_LISTEN, 0, f));
	d->udp_armed[f] = true;
}

static void query_free(struct dns *d, struct dns_query *q)
{
	unsigned k = 0;

	/* a try of its queued this turn: its memory goes now */
	for (unsigned i = 0; i < d->nout; i++)
		if (d->out[i].slot != (int)(q - d->q))
			d->out[k++] = d->out[i];
	d->nout = k;
	timers_del(d->timers, q->timer);
	d->byid[q->id] = 0;
	free(q->msg);
	free(q->fallback);
	memset(q, 0, sizeof(*q));
	d->free_slots[d->nfree++] = (uint16_t)(q - d->q);
	if (d->nfree == 1) {
		udp_listen_arm(d, 0);
		udp_listen_arm(d, 1);
	}
}

static void tcp_answer(struct dns *d, struct dns_tcp *t, const uint8_t *m,
		       size_t len);

static void send_dgram(struct dns *d, int fd, const void *buf, size_t len,
		       const struct sockaddr_storage *to, socklen_t tolen,
		       int slot);

/* Give the client @m (an answer, the client's ID put back), then free.
 * @m lives until the turn's sends: it is in d->buf (or sent at once) */
static void deliver(struct dns *d, struct dns_query *q, uint8_t *m,
		    size_t len)
{
	dnsmsg_set_id(m, q->cid);
	if (q->fam >= 0)
		send_dgram(d, d->udp[q->fam], m, len, &q->client, q->clen, -1);
	else
		tcp_answer(d, &d->t[q->tcp], m, len);
	query_free(d, q);
}

static void give_up_now(struct dns *d, struct dns_query *q)
{
	if (q->fallback) {
		deliver(d, q, q->fallback, q->flen);
		return;
	}
	deliver(d, q, q->msg, dnsmsg_servfail(q->msg, q->qend));
}

/* (its answer is the query's own memory, freed with it: sent at once) */
static void give_up(struct dns *d, struct dns_query *q)
{
	bool was = d->batching;

	d->batching = false;
	give_up_now(d, q);
	d->batching = was;
}

/* The server @q asks next: of those not asked in this round, the first
 * that has not failed lately, else the first; a new round once all were */
static unsigned server_for(const struct dns *d, struct dns_query *q)
{
	int64_t now = clock_now_ms();

	if ((q->round & ((1u << d->nservers) - 1)) ==
	    (1u << d->nservers) - 1)
		q->round = 0;
	for (int pass = 0; pass < 2; pass++)
		for (unsigned i = 0; i < d->nservers; i++)
			if (!(q->round & (1u << i)) &&
			    (pass || d->servers[i].bad_until <= now))
				return i;
	return 0;
}

static int upstream_socket(struct dns *d, int f, unsigned i)
{
	if (d->up[f][i] >= 0)
		return d->up[f][i];
	d->up[f][i] = socket(f ? AF_INET6 : AF_INET,
			     SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	return d->up[f][i];
}

static void upstream_arm(struct dns *d, int f, unsigned i)
{
	if (d->up[f][i] < 0 || d->up_armed[f][i])
		return;
	ring_poll_add(d->ring, d->up[f][i], POLLIN,
		      ref(OP_UPSTREAM, 0, f * UP_SOCKS + i));
	d->up_armed[f][i] = true;
}

static void tcp_try(struct dns *d, struct dns_query *q);
static void send_failed(struct dns *d, struct dns_query *q);

/**
 * try_next() - Ask the next server, or give up
 * @d:		forwarder
 * @q:		query
 */
static void try_next(struct dns *d, struct dns_query *q)
{
	int64_t now = clock_now_ms();
	unsigned max = d->nservers * d->rc.attempts;

	if (q->tries >= max || now >= q->deadline) {
		give_up(d, q);
		return;
	}
	q->tries++;
	q->cur = server_for(d, q);
	q->asked |= 1u << q->cur;
	q->round |= 1u << q->cur;
	now += try_ms(d);
	timers_mod(q->timer, now < q->deadline ? now : q->deadline);
	if (q->fam < 0) {
		tcp_try(d, q);
		return;
	}
	const struct dns_server *s = &d->servers[q->cur];
	int f = fam_index(s->a.ss_family);
	unsigned i = q->id % UP_SOCKS;
	int fd = upstream_socket(d, f, i);

	if (fd < 0) {
		send_failed(d, q);
		return;
	}
	upstream_arm(d, f, i);
	send_dgram(d, fd, q->msg, q->len, &s->a, s->len, (int)(q - d->q));
}

/* A try that could not be sent (no route to the server, say): as good
 * as a timeout, at once */
static void send_failed(struct dns *d, struct dns_query *q)
{
	d->servers[q->cur].bad_until = clock_now_ms() + BAD_MS;
	try_next(d, q);
}

/* The next run of what the turn queued for one socket, as a sendmmsg()
 * batch: a try whose query is gone (a failover gave it up) is left out,
 * its memory with it */
static unsigned next_run(struct dns *d, struct pending *out, unsigned n,
			 unsigned *i, struct mmsghdr *h, struct iovec *iov,
			 unsigned *slot_of)
{
	unsigned run = 0;
	int fd = -1;

	for (; *i < n; (*i)++) {
		const struct pending *p = &out[*i];

		if (p->slot >= 0 && !d->q[p->slot].used)
			continue;
		if (run && p->fd != fd)
			break;
		fd = p->fd;
		iov[run] = (struct iovec){ (void *)p->buf, p->len };
		h[run].msg_hdr = (struct msghdr){ .msg_name = (void *)&p->to,
						  .msg_namelen = p->tolen,
						  .msg_iov = &iov[run],
						  .msg_iovlen = 1 };
		slot_of[run++] = *i;
	}
	return run;
}

/* Send what the turn queued: a sendmmsg() per run of one socket's */
static void sendq_flush(struct dns *d)
{
	struct pending out[2 * BATCH];
	struct mmsghdr h[2 * BATCH];
	struct iovec iov[2 * BATCH];
	unsigned n = d->nout, i = 0, at[2 * BATCH], run;

	memcpy(out, d->out, n * sizeof(out[0]));
	d->nout = 0;
	d->batching = false; /* (a failover sends at once) */
	while ((run = next_run(d, out, n, &i, h, iov, at)) > 0) {
		unsigned done = 0;

		while (done < run) {
			int sent = sendmmsg(out[at[done]].fd, h + done,
					    run - done,
					    MSG_DONTWAIT | MSG_NOSIGNAL);
			const struct pending *p;

			done += sent > 0 ? (unsigned)sent : 0;
			if (done == run)
				break;
			/* the first it did not send failed */
			p = &out[at[done++]];
			if (p->slot >= 0 && d->q[p->slot].used) {
				send_failed(d, &d->q[p->slot]);
				i = at[done - 1] + 1; /* look again */
				break;
			}
		}
	}
}

/* Send one datagram now, or with the turn's others */
static void send_dgram(struct dns *d, int fd, const void *buf, size_t len,
		       const struct sockaddr_storage *to, socklen_t tolen,
		       int slot)
{
	struct pending *p;

	if (!d->batching) {
		if (sendto(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL,
			   (const struct sockaddr *)to, tolen) < 0 &&
		    slot >= 0)
			send_failed(d, &d->q[slot]);
		return;
	}
	if (d->nout == ARRAY_SIZE(d->out)) {
		sendq_flush(d);
		d->batching = true;
	}
	p = &d->out[d->nout++];
	*p = (struct pending){ .fd = fd, .buf = buf, .len = len, .to = *to,
			       .tolen = tolen, .slot = slot };
}

/* timer callback: the try waited long enough */
static void query_timeout(void *a, void *b)
{
	struct dns *d = a;
	struct dns_query *q = &d->q[(uintptr_t)b];

	if (!q->used)
		return;
	if (q->cur < d->nservers) /* (a reload may have shortened the list) */
		d->servers[q->cur].bad_until = clock_now_ms() + BAD_MS;
	try_next(d, q);
}

/**
 * query_start() - A client's query: take a slot and ask the first server
 * (a slot must be free: d->nfree)
 * @d:		forwarder
 * @m:		the query
 * @len:	its length
 * @fam:	the UDP listener it came on, or -1
 * @tcp:	its TCP client's slot, if @fam is -1
 * @client:	a UDP client's address
 * @clen:	its length
 *
 * A TCP client's query is its t->q from here on; it may be answered
 * before this returns.
 */
static void query_start(struct dns *d, const uint8_t *m, size_t len,
			int fam, int tcp, const struct sockaddr_storage *client,
			socklen_t clen)
{
	size_t qend = dnsmsg_question_end(m, len);
	struct dns_query *q;
	uint16_t id;

	if (!qend || dnsmsg_is_response(m) || !d->nfree)
		return;
	q = &d->q[d->free_slots[--d->nfree]];
	do {
		if (!d->nids) {
			arc4random_buf(d->ids, sizeof(d->ids));
			d->nids = ARRAY_SIZE(d->ids);
		}
		id = d->ids[--d->nids];
	} while (d->byid[id]);
	*q = (struct dns_query){ .used = true, .id = id, .cid = dnsmsg_id(m),
				 .fam = (int8_t)fam, .tcp = tcp,
				 .len = (uint16_t)len, .qend = (uint16_t)qend };
	q->msg = malloc(len);
	q->timer = timers_add(d->timers, query_timeout, d,
			      (void *)(uintptr_t)(q - d->q));
	if (!q->msg || !q->timer) {
		free(q->msg);
		timers_del(d->timers, q->timer);
		memset(q, 0, sizeof(*q));
		d->free_slots[d->nfree++] = (uint16_t)(q - d->q);
		return;
	}
	memcpy(q->msg, m, len);
	dnsmsg_set_id(q->msg, id);
	if (client) {
		q->client = *client;
		q->clen = clen;
	}
	d->byid[id] = (uint16_t)(q - d->q + 1);
	q->deadline = clock_now_ms() +
		      (int64_t)d->rc.timeout_s * d->rc.attempts * 1000;
	if (fam < 0)
		d->t[tcp].q = (int)(q - d->q);
	try_next(d, q);
}

/**
 * answer_in() - An upstream's answer @m from @from: the query it answers
 * goes on, or its client gets it
 * @d:		forwarder
 * @m:		answer
 * @len:	its length
 * @from:	who sent it
 * @tcp:	over TCP (then @from is the query's own server)
 */
static void answer_in(struct dns *d, uint8_t *m, size_t len,
		      const struct sockaddr_storage *from, bool tcp)
{
	unsigned slot, server = RESOLV_MAX_NS;
	struct dns_query *q;
	unsigned rc;

	if (len < DNSMSG_HEADER || !d->byid[dnsmsg_id(m)])
		return;
	slot = d->byid[dnsmsg_id(m)] - 1u;
	q = &d->q[slot];
	for (unsigned i = 0; i < d->nservers; i++)
		if ((q->asked & (1u << i)) &&
		    netcfg_same_endpoint(&d->servers[i].a, from))
			server = i;
	if (server == RESOLV_MAX_NS || (q->fam < 0) != tcp ||
	    len < q->qend || !dnsmsg_is_response(m) ||
	    memcmp(m + 4, q->msg + 4, 2) ||
	    memcmp(m + DNSMSG_HEADER, q->msg + DNSMSG_HEADER,
		   q->qend - DNSMSG_HEADER))
		return; /* not from whom we asked, or not this question */
	rc = dnsmsg_rcode(m);
	if (rc == DNSMSG_SERVFAIL || rc == DNSMSG_REFUSED) {
		uint8_t *keep = malloc(len);

		if (rc == DNSMSG_REFUSED)
			d->servers[server].bad_until = clock_now_ms() + BAD_MS;
		if (keep) {
			memcpy(keep, m, len);
			free(q->fallback);
			q->fallback = keep;
			q->flen = (uint16_t)len;
		}
		if (q->tries < d->nservers) { /* each once is enough */
			try_next(d, q);
			return;
		}
		give_up(d, q);
		return;
	}
	d->servers[server].bad_until = 0;
	deliver(d, q, m, len);
}

/* ---------------------------------------------------------------- UDP */

struct batch {
	struct mmsghdr h[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_storage from[BATCH];
};

static int recv_batch(struct dns *d, int fd, struct batch *b, size_t size,
		      unsigned max)
{
	for (unsigned i = 0; i < BATCH; i++) {
		b->iov[i] = (struct iovec){ d->buf + (size_t)i * MSG_MAX, size };
		b->h[i].msg_hdr = (struct msghdr){
			.msg_name = &b->from[i],
			.msg_namelen = sizeof(b->from[i]),
			.msg_iov = &b->iov[i],
			.msg_iovlen = 1,
		};
	}
	return recvmmsg(fd, b->h, max < BATCH ? max : BATCH, MSG_DONTWAIT,
			NULL);
}

static void udp_listen_in(struct dns *d, int f)
{
	struct batch b;
	int n;

	d->udp_armed[f] = false;
	/* no more than there are free slots: the rest wait in the socket */
	while (d->nfree && (n = recv_batch(d, d->udp[f], &b, QUERY_MAX,
					   d->nfree)) > 0) {
		d->batching = true;
		for (int i = 0; i < n; i++) {
			if (b.h[i].msg_hdr.msg_flags & MSG_TRUNC)
				continue;
			query_start(d, b.iov[i].iov_base, b.h[i].msg_len, f,
				    NO_SLOT, &b.from[i],
				    b.h[i].msg_hdr.msg_namelen);
		}
		sendq_flush(d);
	}
	udp_listen_arm(d, f);
}

static void upstream_in(struct dns *d, unsigned idx)
{
	int f = idx >= UP_SOCKS, i = idx % UP_SOCKS;
	struct batch b;
	int n;

	d->up_armed[f][i] = false;
	while ((n = recv_batch(d, d->up[f][i], &b, MSG_MAX, BATCH)) > 0) {
		/* the answers are sent from d->buf: before the next read */
		d->batching = true;
		for (int j = 0; j < n; j++)
			answer_in(d, b.iov[j].iov_base, b.h[j].msg_len,
				  &b.from[j], false);
		sendq_flush(d);
	}
	upstream_arm(d, f, i);
}

/* ---------------------------------------------------------------- TCP */

/* The client's one poll: asked for while none is armed (a query in
 * flight has none), removed only when the client is closed, so that a
 * completion is never a removed poll's */
static void tcp_arm(struct dns *d, struct dns_tcp *t, short want)
{
	if (t->armed)
		return;
	t->armed = want;
	ring_poll_add(d->ring, t->fd, want,
		      ref(OP_TCP_CLIENT, t->gen, (unsigned)(t - d->t)));
}

/* The upstream poll's: its connection's number too, as a poll removed
 * with its connection may still complete */
static union ring_ref up_ref(const struct dns *d, const struct dns_tcp *t)
{
	return ref(OP_TCP_UP, t->gen,
		   (unsigned)(t - d->t) | (unsigned)t->upgen << 8);
}

static void tcp_up_close(struct dns *d, struct dns_tcp *t)
{
	if (t->up < 0)
		return;
	if (t->up_armed)
		ring_poll_remove(d->ring, up_ref(d, t));
	t->up_armed = 0;
	close(t->up);
	t->up = -1;
	t->upgen++;
}

static void tcp_up_arm(struct dns *d, struct dns_tcp *t, short want)
{
	if (t->up_armed)
		return;
	t->up_armed = want;
	ring_poll_add(d->ring, t->up, want, up_ref(d, t));
}

static void tcp_close(struct dns *d, struct dns_tcp *t)
{
	if (t->q != NO_SLOT)
		query_free(d, &d->q[t->q]);
	tcp_up_close(d, t);
	if (t->armed)
		ring_poll_remove(d->ring, ref(OP_TCP_CLIENT, t->gen,
					      (unsigned)(t - d->t)));
	close(t->fd);
	timers_del(d->timers, t->idle);
	free(t->in);
	free(t->out);
	free(t->ans);
	*t = (struct dns_tcp){ .gen = (uint16_t)(t->gen + 1), .fd = -1,
			       .up = -1, .q = NO_SLOT };
}

static void tcp_idle(void *a, void *b)
{
	struct dns *d = a;
	struct dns_tcp *t = &d->t[(uintptr_t)b];

	if (t->used && t->q == NO_SLOT && !t->sending_answer)
		tcp_close(d, t);
}

/* a length-prefixed message in @buf, @len after the prefix */
static bool set_out(struct dns_tcp *t, const uint8_t *m, size_t len)
{
	uint8_t *o = realloc(t->out, len + 2);

	if (!o)
		return false;
	o[0] = (uint8_t)(len >> 8);
	o[1] = (uint8_t)len;
	memcpy(o + 2, m, len);
	t->out = o;
	t->olen = len + 2;
	t->osent = 0;
	return true;
}

/* The query's next try, over TCP: a new connection to its server */
static void tcp_try(struct dns *d, struct dns_query *q)
{
	struct dns_tcp *t = &d->t[q->tcp];
	const struct dns_server *s = &d->servers[q->cur];

	tcp_up_close(d, t);
	t->up = socket(s->a.ss_family,
		       SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (t->up < 0 || !set_out(t, q->msg, q->len) ||
	    (connect(t->up, (const struct sockaddr *)&s->a, s->len) < 0 &&
	     errno != EINPROGRESS)) {
		d->servers[q->cur].bad_until = clock_now_ms() + BAD_MS;
		try_next(d, q);
		return;
	}
	t->ahave = 0;
	tcp_up_arm(d, t, POLLOUT);
}

/* The answer to the client, as far as its socket takes it now */
static void tcp_flush(struct dns *d, struct dns_tcp *t)
{
	while (t->osent < t->olen) {
		ssize_t n = send(t->fd, t->out + t->osent, t->olen - t->osent,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EAGAIN) {
			tcp_arm(d, t, POLLOUT);
			return;
		}
		if (n <= 0) {
			tcp_close(d, t);
			return;
		}
		t->osent += (size_t)n;
	}
	/* the next query on the next turn, by a poll that completes at
	 * once: a client's pipelined queries that fail at once would
	 * otherwise recurse */
	t->sending_answer = false;
	tcp_arm(d, t, POLLIN | POLLOUT);
}

static void tcp_answer(struct dns *d, struct dns_tcp *t, const uint8_t *m,
		       size_t len)
{
	tcp_up_close(d, t);
	t->q = NO_SLOT;
	if (!set_out(t, m, len)) {
		tcp_close(d, t);
		return;
	}
	t->sending_answer = true;
	tcp_flush(d, t);
}

/* Start the next whole query the client sent, or wait for more */
static void tcp_next_query(struct dns *d, struct dns_tcp *t)
{
	size_t len = t->have >= 2 ? (size_t)(t->in[0] << 8 | t->in[1]) : 0;
	unsigned slot = (unsigned)(t - d->t);

	if (t->have >= 2 && t->have >= len + 2) {
		if (!d->nfree) {
			tcp_close(d, t); /* as if we were not there */
			return;
		}
		/* (query_start() copies it) */
		query_start(d, t->in + 2, len, -1, (int)slot, NULL, 0);
		if (!t->used)
			return;
		t->have -= len + 2;
		memmove(t->in, t->in + 2 + len, t->have);
		if (t->q == NO_SLOT && !t->sending_answer)
			tcp_arm(d, t, POLLIN | POLLOUT); /* not a query */
		return;
	}
	if (t->eof) {
		tcp_close(d, t);
		return;
	}
	tcp_arm(d, t, POLLIN);
	timers_mod(t->idle, clock_now_ms() + TCP_IDLE_MS);
}

static void tcp_client_in(struct dns *d, struct dns_tcp *t, int res)
{
	t->armed = 0;
	if (t->sending_answer) {
		tcp_flush(d, t);
		return;
	}
	if (res < 0 || (res & POLLERR)) {
		tcp_close(d, t);
		return;
	}
	for (;;) {
		ssize_t n = recv(t->fd, t->in + t->have, MSG_MAX + 2 - t->have,
				 MSG_DONTWAIT);

		if (n == 0)
			t->eof = true;
		if (n <= 0 || t->have + (size_t)n == MSG_MAX + 2) {
			if (n > 0)
				t->have += (size_t)n;
			break;
		}
		t->have += (size_t)n;
	}
	if (t->q == NO_SLOT)
		tcp_next_query(d, t);
}

/* The upstream connection: connected, the query sent, the answer read */
static void tcp_up_event(struct dns *d, struct dns_tcp *t, int res)
{
	struct dns_query *q = &d->q[t->q];
	ssize_t n;

	t->up_armed = 0;
	while (t->osent < t->olen) {
		n = send(t->up, t->out + t->osent, t->olen - t->osent,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EAGAIN) {
			tcp_up_arm(d, t, POLLOUT);
			return;
		}
		if (n <= 0)
			goto failed;
		t->osent += (size_t)n;
	}
	(void)res;
	do {
		size_t want = t->ahave >= 2
				      ? (size_t)(t->ans[0] << 8 | t->ans[1]) + 2
				      : 2;

		if (t->ahave == want && want > 2) {
			uint8_t *m = t->ans + 2;
			size_t len = want - 2;
			struct sockaddr_storage from = d->servers[q->cur].a;

			t->ahave = 0;
			tcp_up_close(d, t);
			answer_in(d, m, len, &from, true);
			return;
		}
		n = recv(t->up, t->ans + t->ahave, want - t->ahave,
			 MSG_DONTWAIT);
		if (n > 0)
			t->ahave += (size_t)n;
	} while (n > 0);
	if (n < 0 && errno == EAGAIN) {
		tcp_up_arm(d, t, POLLIN);
		return;
	}
failed:
	/* refused, reset, or closed before a whole answer */
	tcp_up_close(d, t);
	d->servers[q->cur].bad_until = clock_now_ms() + BAD_MS;
	try_next(d, q);
}

static void tcp_accept(struct dns *d, int f)
{
	int fd;

	d->tcp_armed[f] = false;
	while ((fd = accept4(d->tcp[f], NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		struct dns_tcp *t = NULL;

		for (unsigned i = 0; i < MAX_TCP && !t; i++)
			if (!d->t[i].used)
				t = &d->t[i];
		if (!t) {
			close(fd); /* the client retries, or asks over UDP */
			continue;
		}
		t->in = malloc(MSG_MAX + 2);
		t->ans = malloc(MSG_MAX + 2);
		t->idle = timers_add(d->timers, tcp_idle, d,
				     (void *)(uintptr_t)(t - d->t));
		t->used = true;
		t->fd = fd;
		if (!t->in || !t->ans || !t->idle) {
			tcp_close(d, t);
			continue;
		}
		tcp_next_query(d, t);
	}
	ring_poll_add(d->ring, d->tcp[f], POLLIN, ref(OP_TCP_LISTEN, 0, f));
	d->tcp_armed[f] = true;
}

/* ------------------------------------------------------------- the loop */

void dns_complete(struct dns *d, union ring_ref r, int res)
{
	struct dns_tcp *t;

	if (!d || (r.op & RING_OP_UPDATE))
		return;
	switch ((enum dns_op)r.op) {
	case OP_UDP_LISTEN:
		udp_listen_in(d, (int)r.idx);
		return;
	case OP_UPSTREAM:
		upstream_in(d, r.idx);
		return;
	case OP_TCP_LISTEN:
		tcp_accept(d, (int)r.idx);
		return;
	case OP_INOTIFY:
		inotify_read(d);
		return;
	case OP_TCP_CLIENT:
	case OP_TCP_UP:
		break;
	}
	if ((r.idx & 0xff) >= MAX_TCP)
		return;
	t = &d->t[r.idx & 0xff];
	if (!t->used || t->gen != r.gen)
		return;
	if (r.op == OP_TCP_CLIENT)
		tcp_client_in(d, t, res);
	else if (t->q != NO_SLOT && t->up >= 0 && r.idx >> 8 == t->upgen)
		tcp_up_event(d, t, res);
}

/* ------------------------------------------------------------ set-up */

/* The DNS address of family index @f, port 53 */
static socklen_t dns_addr(const struct opts *o, int f,
			  struct sockaddr_storage *a)
{
	struct sockaddr_in *a4 = (void *)a;
	struct sockaddr_in6 *a6 = (void *)a;

	memset(a, 0, sizeof(*a));
	if (!f) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(DNS_PORT);
		a4->sin_addr = o->net.dns;
		return sizeof(*a4);
	}
	a6->sin6_family = AF_INET6;
	a6->sin6_port = htons(DNS_PORT);
	a6->sin6_addr = o->net.dns6;
	return sizeof(*a6);
}

/* Both sockets of family index @f in the namespace */
static int listen_family(struct dns *d, struct helper *h, int f)
{
	struct sockaddr_storage a;
	socklen_t len = dns_addr(d->o, f, &a);

	d->udp[f] = helper_bound_socket(h, SOCK_DGRAM, (void *)&a, len);
	if (d->udp[f] < 0)
		return d->udp[f];
	d->tcp[f] = helper_bound_socket(h, SOCK_STREAM, (void *)&a, len);
	if (d->tcp[f] < 0)
		return d->tcp[f];
	return listen(d->tcp[f], SOMAXCONN) < 0 ? -errno : 0;
}

/* What the namespace sends to the DNS address, to those sockets: until
 * then, libslirp answers it */
static int route_all(struct dns *d)
{
	int rc = 0;

	for (int f = 0; f < (d->o->ipv6 ? 2 : 1) && rc >= 0; f++) {
		struct sockaddr_storage a;
		socklen_t len = dns_addr(d->o, f, &a);

		rc = helper_dns_route(d->helper, (void *)&a, len,
				      d->o->forward_fwmark,
				      d->o->forward_table, d->o->ipv6);
	}
	return rc;
}

/* timer callback: lo was down; is it up now? */
static void route_retry(void *a, void *b)
{
	struct dns *d = a;
	int rc = route_all(d);

	(void)b;
	if (rc == -ENETDOWN && ++d->route_tries < ROUTE_RETRIES)
		timers_mod(d->retry, clock_now_ms() + ROUTE_RETRY_MS);
	else if (rc < 0)
		log_warn("DNS: libslirp answers %s (%s)",
			 inet_ntoa(d->o->net.dns), strerror(-rc));
}

static void arm_all(struct dns *d)
{
	for (int f = 0; f < 2; f++) {
		udp_listen_arm(d, f);
		if (d->tcp[f] >= 0) {
			ring_poll_add(d->ring, d->tcp[f], POLLIN,
				      ref(OP_TCP_LISTEN, 0, f));
			d->tcp_armed[f] = true;
		}
	}
	if (d->ino >= 0)
		inotify_arm(d);
}

static struct dns *dns_alloc(struct ring *ring, struct timers *timers,
			     const struct opts *o)
{
	struct dns *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	*d = (struct dns){ .ring = ring, .timers = timers, .o = o,
			   .udp = { -1, -1 }, .tcp = { -1, -1 },
			   .ino = -1, .wd = { -1, -1, -1 } };
	memset(d->up, -1, sizeof(d->up));
	d->q = calloc(MAX_QUERIES, sizeof(*d->q));
	d->byid = calloc(1u << 16, sizeof(*d->byid));
	d->free_slots = calloc(MAX_QUERIES, sizeof(*d->free_slots));
	d->t = calloc(MAX_TCP, sizeof(*d->t));
	d->buf = malloc((size_t)BATCH * MSG_MAX);
	d->reload = timers_add(timers, reload, d, NULL);
	d->retry = timers_add(timers, route_retry, d, NULL);
	if (!d->q || !d->byid || !d->free_slots || !d->t || !d->buf ||
	    !d->reload || !d->retry) {
		dns_free(d);
		return NULL;
	}
	for (unsigned i = 0; i < MAX_TCP; i++)
		d->t[i] = (struct dns_tcp){ .fd = -1, .up = -1, .q = NO_SLOT };
	for (unsigned i = MAX_QUERIES; i-- > 0;)
		d->free_slots[d->nfree++] = (uint16_t)i;
	return d;
}

struct dns *dns_new(struct ring *ring, struct timers *timers,
		    struct helper *helper, const struct opts *o)
{
	struct dns *d;
	int rc = 0;

	if (o->disable_dns || !helper || helper->sock < 0 ||
	    getenv("S4_TEST_SLIRP_DNS"))
		return NULL;
	d = dns_alloc(ring, timers, o);
	if (!d)
		return NULL;
	d->helper = helper;
	for (int f = 0; f < (o->ipv6 ? 2 : 1) && rc >= 0; f++)
		rc = listen_family(d, helper, f);
	if (rc >= 0)
		rc = route_all(d);
	if (rc == -ENETDOWN) /* lo is down: when it is up */
		timers_mod(d->retry, clock_now_ms() + ROUTE_RETRY_MS);
	else if (rc < 0) {
		/* no nf_tables where they were needed: quietly */
		if (rc != -ENOTSUP)
			log_warn("DNS: libslirp answers %s (%s)",
				 inet_ntoa(o->net.dns), strerror(-rc));
		dns_free(d);
		return NULL;
	}
	d->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	resolv_read(resolv_path, &d->rc);
	use_resolv(d);
	if (d->ino >= 0)
		watch(d);
	arm_all(d);
	return d;
}

void dns_free(struct dns *d)
{
	if (!d)
		return;
	for (unsigned i = 0; d->t && i < MAX_TCP; i++)
		if (d->t[i].used)
			tcp_close(d, &d->t[i]);
	for (unsigned i = 0; d->q && i < MAX_QUERIES; i++)
		if (d->q[i].used)
			query_free(d, &d->q[i]);
	for (int f = 0; f < 2; f++) {
		if (d->udp[f] >= 0)
			close(d->udp[f]);
		if (d->tcp[f] >= 0)
			close(d->tcp[f]);
		for (int i = 0; i < UP_SOCKS; i++)
			if (d->up[f][i] >= 0)
				close(d->up[f][i]);
	}
	if (d->ino >= 0)
		close(d->ino);
	timers_del(d->timers, d->reload);
	timers_del(d->timers, d->retry);
	free(d->q);
	free(d->free_slots);
	free(d->byid);
	free(d->t);
	free(d->buf);
	free(d);
}

// SPDX-License-Identifier: GPL-2.0-or-later
/* gate.c - a guest's outbound connect completes only once the host's has.
 *
 * DOC: Theory of Operation
 * The helper holds each new outbound SYN in the namespace's netfilter
 * queue and sends us its id and addresses (ns/synq.c); where we hold
 * CAP_NET_ADMIN over the namespace for good (sandbox_keeps_net_admin():
 * not under root's --enable-sandbox) we bind the queue ourselves and read it directly (@direct), two wake-ups fewer
 * per connection, and our verdicts go straight to the kernel. For each we
 * connect a host socket to where libslirp would (the dial function,
 * bypass.c), and answer with a verdict, as libslirp's tcp_input() and
 * its connect's completion do:
 *  - connected: accept; the SYN goes on to our transparent listener, and
 *    when it accepts the guest's connection, gate_claim() hands this
 *    socket to the splice engine instead of a new one;
 *  - refused at once (a host's loopback port): a reset;
 *  - any other error at once (no route, an --outbound-addr that cannot
 *    be bound): ICMP network unreachable, host unreachable for
 *    EHOSTUNREACH;
 *  - failing later, or no answer in CONNECT_MS (libslirp's
 *    TCPTV_KEEP_INIT, 75 s): a reset.
 * A SYN the guest repeats while we connect takes the place of the held
 * one (which is dropped): one entry per connection, keyed by its
 * addresses (a hash table). One that comes after the guest's connection
 * was claimed (the race of a repeat with our accept) is let through: the
 * last GATE_RECENT claimed connections are remembered.
 *
 * Bounds: GATE_MAX entries and an fd each; past them, or near
 * RLIMIT_NOFILE, a new connection goes to libslirp by the TAP (whose one
 * fd per connection may still be there), as without the bypass. A
 * connected socket nobody claims in CLAIM_MS is reset. Verdicts the
 * channel cannot take yet wait in @out; every id gets exactly one.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../clock.h"
#include "../fdlimit.h"
#include "../ns/synq.h"
#include "../timers.h"
#include "gate.h"
#include "splice.h"

enum {
	GATE_MAX = 4096,
	GATE_BUCKETS = 1024, /* a power of two */
	GATE_RECENT = 64,
	CONNECT_MS = 75 * 1000,
	CLAIM_MS = 10 * 1000,
	SWEEP_MS = 1000,
	/* channel reads per turn: a SYN flood must not hold the loop (the
	 * poll, re-armed, fires again at once if more wait) */
	TURN_READS = 8,
	/* this socket, and all the engine wants free before it accepts the
	 * guest's connection: with less, the guest's handshake would
	 * complete at our listener and nobody would take it */
	CONN_FDS = 1 + FWD_SPLICE_CONN_FDS,
	NONE = UINT32_MAX,
};

struct gate_entry {
	struct synq_tuple t;
	int fd;	      /* the host socket; -1: a free slot */
	uint32_t pkt; /* the held SYN, if @held */
	bool held, ready, armed;
	uint16_t gen;
	int64_t since_ms; /* when the connect began, or ended */
	uint32_t next;	  /* in its bucket, or the free list */
};

struct gate {
	struct ring *ring;
	struct timers *timers;
	int chan; /* the helper's channel, or the queue (direct) */
	bool direct;
	uint16_t num;
	uint32_t mark;
	bool chan_armed, chan_gone;
	gate_dial_fn dial;
	const void *opaque;
	struct gate_entry *e;
	uint32_t ne, nused, free_head;
	uint32_t bucket[GATE_BUCKETS];
	struct synq_verdict *out; /* not sent yet */
	unsigned nout, capout;
	struct synq_tuple recent[GATE_RECENT];
	unsigned recent_next;
	struct timer *sweep;
};

static void chan_arm(struct gate *g)
{
	if (g->chan_armed || g->chan_gone)
		return;
	ring_poll_add(g->ring, g->chan, POLLIN,
		      ring_ref(RING_GATE_CHAN, 0, 0));
	g->chan_armed = true;
}

static void sweep(void *a, void *b);

struct gate *gate_new(struct ring *ring, struct timers *timers,
		      const struct gate_queue *q, gate_dial_fn dial,
		      const void *opaque)
{
	struct gate *g = calloc(1, sizeof(*g));

	if (g)
		g->sweep = timers_add(timers, sweep, g, NULL);
	if (!g || !g->sweep) {
		free(g);
		close(q->fd);
		return NULL;
	}
	g->ring = ring;
	g->timers = timers;
	g->chan = q->fd;
	g->direct = q->direct;
	g->num = q->num;
	g->mark = q->mark;
	g->dial = dial;
	g->opaque = opaque;
	g->free_head = NONE;
	for (unsigned i = 0; i < GATE_BUCKETS; i++)
		g->bucket[i] = NONE;
	chan_arm(g);
	return g;
}

/* ------------------------------------------------------------- verdicts */

/* Send what waits; what the channel cannot take stays for the next try. */
static void flush(struct gate *g)
{
	unsigned sent = 0;

	if (g->direct) { /* to the kernel: it takes them all */
		synq_give(g->chan, g->num, g->mark, g->out, g->nout);
		g->nout = 0;
		return;
	}
	while (sent < g->nout) {
		unsigned n = g->nout - sent;

		if (n > SYNQ_BATCH)
			n = SYNQ_BATCH;
		if (send(g->chan, g->out + sent, n * sizeof(g->out[0]),
			 MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break; /* sweep() tries again */
			sent = g->nout; /* the helper is gone, and its queue */
			break;
		}
		sent += n;
	}
	memmove(g->out, g->out + sent, (g->nout - sent) * sizeof(g->out[0]));
	g->nout -= sent;
	if (g->nout && !timers_armed(g->sweep))
		timers_mod(g->sweep, clock_now_ms() + SWEEP_MS);
}

static void verdict(struct gate *g, uint32_t id, enum synq_verdict_kind kind)
{
	if (g->nout == g->capout) {
		unsigned cap = g->capout ? g->capout * 2 : SYNQ_BATCH;
		struct synq_verdict *n = realloc(g->out, cap * sizeof(*n));

		if (!n)
			return; /* the kernel drops it with the queue */
		g->out = n;
		g->capout = cap;
	}
	g->out[g->nout++] = (struct synq_verdict){ id, kind };
}

/* The verdict on a connect that failed with @err: as libslirp's */
static enum synq_verdict_kind refusal(int err, bool at_once)
{
	if (!at_once || err == ECONNREFUSED)
		return SYNQ_REFUSE;
	if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM)
		return SYNQ_SLIRP; /* ours: libslirp may still have room */
	return err == EHOSTUNREACH ? SYNQ_HOST_UNREACH : SYNQ_NO_ROUTE;
}

/* -------------------------------------------------------------- entries */

static uint32_t hash(const struct synq_tuple *t)
{
	const uint8_t *p = (const uint8_t *)t;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < sizeof(*t); i++)
		h = (h ^ p[i]) * 16777619u;
	return h & (GATE_BUCKETS - 1);
}

static struct gate_entry *find(struct gate *g, const struct synq_tuple *t)
{
	for (uint32_t i = g->bucket[hash(t)]; i != NONE; i = g->e[i].next)
		if (!memcmp(&g->e[i].t, t, sizeof(*t)))
			return &g->e[i];
	return NULL;
}

/**
 * entry_new() - A slot for @t, in its bucket
 * @g:		gate
 * @t:		the connection
 * Return: the entry (fd -1), or NULL if full or without memory
 */
static struct gate_entry *entry_new(struct gate *g, const struct synq_tuple *t)
{
	struct gate_entry *e;
	uint32_t i, b = hash(t);

	if (g->free_head == NONE) {
		uint32_t cap = g->ne ? g->ne * 2 : 64;

		if (g->ne >= GATE_MAX)
			return NULL;
		e = realloc(g->e, cap * sizeof(*e));
		if (!e)
			return NULL;
		g->e = e;
		for (i = g->ne; i < cap; i++)
			g->e[i] = (struct gate_entry){
				.fd = -1, .next = i + 1 < cap ? i + 1 : NONE };
		g->free_head = g->ne;
		g->ne = cap;
	}
	i = g->free_head;
	e = &g->e[i];
	g->free_head = e->next;
	*e = (struct gate_entry){ .t = *t, .fd = -1, .gen = e->gen,
				  .since_ms = clock_now_ms(),
				  .next = g->bucket[b] };
	g->bucket[b] = i;
	g->nused++;
	return e;
}

/* Unlink @e and free its slot; its fd is closed (reset) if still ours. */
static void entry_free(struct gate *g, struct gate_entry *e)
{
	uint32_t i = e - g->e, *p = &g->bucket[hash(&e->t)];

	while (*p != i)
		p = &g->e[*p].next;
	*p = e->next;
	if (e->armed)
		ring_poll_remove(g->ring, ring_ref(RING_GATE_CONN, e->gen, i));
	if (e->fd >= 0) {
		struct linger lg = { 1, 0 };

		setsockopt(e->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(e->fd);
	}
	e->fd = -1;
	e->armed = false;
	e->gen++;
	e->next = g->free_head;
	g->free_head = i;
	g->nused--;
}

static void sweep_arm(struct gate *g)
{
	if (!timers_armed(g->sweep))
		timers_mod(g->sweep, clock_now_ms() + SWEEP_MS);
}

/* The host connect is over: let the SYN go on, or refuse it. */
static void connect_done(struct gate *g, struct gate_entry *e, int err)
{
	if (err) {
		if (e->held)
			verdict(g, e->pkt, refusal(err, false));
		e->held = false;
		entry_free(g, e);
		return;
	}
	e->ready = true;
	e->since_ms = clock_now_ms();
	if (e->held)
		verdict(g, e->pkt, SYNQ_ACCEPT);
	e->held = false;
}

/* Is the connect over? Then go on; else wait for the ring to say. */
static void connect_check(struct gate *g, struct gate_entry *e)
{
	struct pollfd p = { .fd = e->fd, .events = POLLOUT };
	int err = 0;
	socklen_t el = sizeof(err);

	if (poll(&p, 1, 0) != 1) {
		ring_poll_add(g->ring, e->fd, POLLOUT,
			      ring_ref(RING_GATE_CONN, e->gen, e - g->e));
		e->armed = true;
		return;
	}
	if (getsockopt(e->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
		err = errno;
	connect_done(g, e, err);
}

static bool recently_claimed(const struct gate *g, const struct synq_tuple *t)
{
	for (unsigned i = 0; i < GATE_RECENT; i++)
		if (!memcmp(&g->recent[i], t, sizeof(*t)))
			return true;
	return false;
}

/* Where @t was dialled, as a sockaddr */
static void dest_addr(const struct synq_tuple *t, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (t->family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		memcpy(&a->sin6_addr, t->daddr, 16);
		a->sin6_port = t->dport;
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		memcpy(&a->sin_addr, t->daddr, 4);
		a->sin_port = t->dport;
	}
}

/**
 * start() - A new connection's SYN: connect on the host
 * @g:		gate
 * @s:		the SYN
 */
static void start(struct gate *g, const struct synq_syn *s)
{
	struct sockaddr_storage orig, to;
	socklen_t tolen;
	struct gate_entry *e;
	int fd;

	/* full, or near RLIMIT_NOFILE: this one as before the bypass */
	if (!fdlimit_room(g->chan, CONN_FDS) || !(e = entry_new(g, &s->t))) {
		verdict(g, s->id, SYNQ_SLIRP);
		return;
	}
	e->pkt = s->id;
	e->held = true;
	dest_addr(&s->t, &orig);
	fd = g->dial(g->opaque, &orig, &to, &tolen);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&to, tolen) < 0 &&
	    errno != EINPROGRESS) {
		int rc = -errno;

		close(fd);
		fd = rc;
	}
	if (fd < 0) {
		verdict(g, s->id, refusal(-fd, true));
		e->held = false;
		entry_free(g, e);
		return;
	}
	e->fd = fd;
	sweep_arm(g);
	connect_check(g, e);
}

static void on_syn(struct gate *g, const struct synq_syn *s)
{
	struct gate_entry *e = find(g, &s->t);

	if (!e) {
		if (recently_claimed(g, &s->t))
			verdict(g, s->id, SYNQ_ACCEPT);
		else
			start(g, s);
		return;
	}
	if (e->ready) {
		verdict(g, s->id, SYNQ_ACCEPT);
		return;
	}
	/* the guest sent it again: hold the newest */
	if (e->held)
		verdict(g, e->pkt, SYNQ_DROP);
	e->pkt = s->id;
	e->held = true;
}

/* ------------------------------------------------------------ the loop */

/* synq_syn_fn: a SYN read from the queue itself */
static void direct_syn(void *data, const struct synq_syn *s, bool ok)
{
	if (ok)
		on_syn(data, s);
	else
		verdict(data, s->id, SYNQ_ACCEPT);
}

/* The queue is readable (direct): the SYNs that came, TURN_READS reads'
 * worth. */
static void queue_read(struct gate *g)
{
	static char buf[SYNQ_BATCH * 384];

	for (int i = 0; i < TURN_READS; i++) {
		ssize_t n = recv(g->chan, buf, sizeof(buf), MSG_DONTWAIT);

		if (n <= 0)
			break;
		synq_packets(buf, n, direct_syn, g);
	}
	chan_arm(g);
}

/* The channel is readable: the SYNs that came, TURN_READS reads' worth. */
static void chan_read(struct gate *g)
{
	struct synq_syn s[SYNQ_BATCH];

	if (g->direct) {
		queue_read(g);
		return;
	}
	for (int r = 0; r < TURN_READS; r++) {
		ssize_t n = recv(g->chan, s, sizeof(s), MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			g->chan_gone = true; /* the helper has exited */
			return;
		}
		if (n < 0)
			break;
		for (size_t i = 0; i < (size_t)n / sizeof(s[0]); i++)
			on_syn(g, &s[i]);
	}
	chan_arm(g);
}

void gate_complete(struct gate *g, union ring_ref ref, int res)
{
	if (!g)
		return;
	if (ref.type == RING_GATE_CHAN) {
		g->chan_armed = false;
		chan_read(g);
	} else if (ref.idx < g->ne && g->e[ref.idx].fd >= 0 &&
		   g->e[ref.idx].gen == ref.gen && !(ref.op & RING_OP_UPDATE)) {
		struct gate_entry *e = &g->e[ref.idx];

		e->armed = false;
		if (res < 0) {
			connect_done(g, e, -res);
		} else {
			int err = 0;
			socklen_t el = sizeof(err);

			getsockopt(e->fd, SOL_SOCKET, SO_ERROR, &err, &el);
			connect_done(g, e, err);
		}
	}
	flush(g);
}

/**
 * sweep() - timer callback, each second while there are entries or
 * verdicts waiting: time limits, and what the channel could not take
 * @a:		gate
 * @b:		unused
 */
static void sweep(void *a, void *b)
{
	struct gate *g = a;
	int64_t now = clock_now_ms();

	(void)b;
	for (uint32_t i = 0; i < g->ne; i++) {
		struct gate_entry *e = &g->e[i];

		if (e->fd < 0)
			continue;
		if (!e->ready && now - e->since_ms >= CONNECT_MS)
			connect_done(g, e, ETIMEDOUT);
		else if (e->ready && now - e->since_ms >= CLAIM_MS)
			entry_free(g, e); /* the guest never came: reset */
	}
	flush(g);
	if (g->nused || g->nout)
		timers_mod(g->sweep, now + SWEEP_MS);
}

int gate_claim(struct gate *g, const struct sockaddr_storage *guest,
	       const struct sockaddr_storage *orig)
{
	struct synq_tuple t = { .family = (uint8_t)guest->ss_family };
	struct gate_entry *e;
	int fd;

	if (!g)
		return -ENOENT;
	if (guest->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)guest,
					  *d = (const void *)orig;

		memcpy(t.saddr, &s->sin6_addr, 16);
		memcpy(t.daddr, &d->sin6_addr, 16);
		t.sport = s->sin6_port;
		t.dport = d->sin6_port;
	} else {
		const struct sockaddr_in *s = (const void *)guest,
					 *d = (const void *)orig;

		memcpy(t.saddr, &s->sin_addr, 4);
		memcpy(t.daddr, &d->sin_addr, 4);
		t.sport = s->sin_port;
		t.dport = d->sin_port;
	}
	e = find(g, &t);
	if (!e || !e->ready)
		return -ENOENT;
	fd = e->fd;
	e->fd = -1; /* the caller's now */
	entry_free(g, e);
	g->recent[g->recent_next++ % GATE_RECENT] = t;
	return fd;
}

void gate_free(struct gate *g)
{
	if (!g)
		return;
	for (uint32_t i = 0; i < g->ne; i++)
		if (g->e[i].fd >= 0)
			entry_free(g, &g->e[i]);
	if (g->chan_armed)
		ring_poll_remove(g->ring, ring_ref(RING_GATE_CHAN, 0, 0));
	close(g->chan);
	timers_del(g->timers, g->sweep);
	free(g->e);
	free(g->out);
	free(g);
}

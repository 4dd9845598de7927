// SPDX-License-Identifier: GPL-2.0-or-later
/* splice.c - TCP forwards that bypass libslirp: host socket to a socket in
 * the namespace, bytes moved by splice(2) through pipes.
 *
 * DOC: Theory of Operation
 * A listener is a host socket with a oneshot ring poll for POLLIN; when it
 * fires, accept4() runs until EAGAIN. For each client the helper makes a
 * TCP socket in the namespace (it keeps the namespace it was made in) and
 * we connect() it, non-blocking, to guest_addr:guest_port; a poll for
 * POLLOUT says when it is done, a timer gives up after CONNECT_MS.
 *
 * The service sees what it would on the slirp path: the gateway (10.0.2.2,
 * or the IPv6 one) for a client on the host's loopback, the client's own
 * address otherwise. The helper makes that socket with IP_TRANSPARENT and
 * SO_MARK, bound to that address, once the namespace has the rules of
 * transparent.c, installed when the first splice forward is added. If they
 * cannot be installed, we say so once and connect from the namespace's
 * own address (guest_addr) instead.
 *
 * A connection has two sides (0: the host client, 1: the namespace).
 * pipe[d] carries what side d sent, and is held only while it has bytes
 * in it: borrowed from the pool (pipepool.c) when side d is readable,
 * given back once it is empty, so an idle connection costs two fds. Each
 * side has at most one oneshot poll armed, for POLLIN while its direction
 * has room and its peer has not finished, POLLOUT while bytes wait for it;
 * a changed mask is a poll update, asked for again when the kernel refuses
 * it (-EALREADY). A completion pumps the directions its events let move
 * (ready_dirs()) until splice() says EAGAIN or PUMP_BUDGET bytes have
 * moved, then re-arms what is still wanted. Nothing is lost: a byte
 * leaves a pipe only when splice() says the socket took it.
 *
 * Fairness: a direction that used its whole budget (a bulk transfer) has
 * more waiting. It goes on the run queue instead of arming its polls (a
 * hog), and fwd_splice_work() gives each queued direction one more slice
 * per loop turn, stopping early when anything else has completed on the
 * ring (ring_news()), so an API call, a new connection, a ping through
 * the TAP waits for at most one slice, not for every busy connection's.
 * Completions for a hog's direction are left to the queue. A direction
 * that runs dry (EAGAIN) leaves the queue and waits on its polls again.
 *
 * Without a pipe (the pool is at its bound, or fds are scarce) a direction
 * copies: recv(MSG_PEEK) into the engine's one buffer, send() what the
 * other socket takes, then drop just that much from the source with
 * MSG_TRUNC. The bytes wait in the source socket, not with us, so this
 * needs nothing per connection; stalled[d] says the other side was full.
 *
 * Half-close: side d read EOF and pipe[d] is empty -> shutdown(SHUT_WR) on
 * the other side. Both directions shut -> closed. A reset or error on one
 * side, a refused or timed-out connect: the other side is closed with
 * SO_LINGER {1, 0}, so its peer gets a reset as well.
 *
 * fd ownership: the conn owns fd[2] and both pipes; an armed poll holds a
 * reference to its file, so closing removes it first (else no FIN). gen
 * changes on every close, so late completions for a reused slot are
 * dropped.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../clock.h"
#include "../fdlimit.h"
#include "../log.h"
#include "../ns/helper.h"
#include "../options.h"
#include "../timers.h"
#include "fwd.h"
#include "pipepool.h"
#include "splice.h"

enum {
	CONNECT_MS = 10 * 1000,
	ACCEPT_RETRY_MS = 100,
	PLENTY_FDS = 256, /* spare fds above which pools keep theirs */
	POOL_BATCH = 16, /* namespace sockets per helper round trip */
	/* bytes a direction moves per slice: the longest anything else on
	 * the loop waits for one (fwd_splice_work()). Before the run queue,
	 * when every busy direction had its slice before anything else, a
	 * ping under iperf3 -P4 through a forward took 0.7 ms (p50) at
	 * 256 KiB, 1.8 at 512 KiB, 3.3 at 1 MiB; with it, 0.14 ms */
	PUMP_BUDGET = 256 << 10,
	COPY_BUF = 64 << 10, /* the copy fallback's buffer */
	FULL_LOG_MS = 60 * 1000, /* one warning a minute at most */
	SWEEP_MS = 1000,  /* see sweep() */
	SWEEP_QUIET = 10, /* sweeps a connection gets after its last byte */
	OP_SIDE0 = 0,
	OP_SIDE1 = 1,
};

struct splice_conn {
	int fd[2];
	int pipe[2][2]; /* pipe[d]: what side d sent; [0] read end */
	size_t queued[2], cap[2]; /* cap: of pipe[d], while it has one */
	bool eof[2];   /* side d said FIN */
	bool stalled[2]; /* copying, side d's bytes wait for the other */
	bool shut[2];  /* we shut writing towards side d */
	short armed[2]; /* mask of side d's armed poll, 0 if none */
	bool hog[2];    /* direction d is on the run queue (fwd_splice_work()) */
	bool connecting;
	bool used;
	bool moved;    /* bytes moved since the last sweep() */
	uint8_t quiet; /* sweeps since it last moved bytes */
	uint16_t gen;
	struct timer *timeout;
};

struct splice_listener {
	int fd;
	uint16_t gen;
	bool armed;
	/* adopted (not a forward's): makes the other end; NULL for a
	 * forward, whose other end is @guest in the namespace */
	fwd_splice_dial_fn dial;
	const void *dial_opaque;
	struct sockaddr_storage guest;
	socklen_t glen;
	struct timer *retry;
};

/* A direction waiting on the run queue; stale once its slot is reused */
struct runq_entry {
	uint32_t idx;
	uint16_t gen;
	uint8_t d;
};

struct fwd_splice {
	struct ring *ring;
	struct timers *timers;
	struct helper *helper; /* sockets in the namespace */
	const struct opts *o;
	struct splice_listener *ls;
	unsigned nls;
	struct splice_conn *conns;
	unsigned nconns;
	bool rules_tried, transparent;
	int rules_err;
	int pool[2][POOL_BATCH]; /* namespace sockets, [0] IPv4, [1] IPv6 */
	unsigned npool[2];
	struct pipepool *pipes;
	char *copy; /* COPY_BUF bytes, while a direction copies */
	bool warned_helper;
	int64_t warned_full_ms;
	struct timer *sweep; /* armed while connections hold bytes */
	struct runq_entry *runq; /* a ring buffer of rq_cap, a power of two */
	unsigned rq_head, rq_len, rq_cap;
	unsigned drop_every, ncqes; /* S4_TEST_DROP_POLLS: see sweep() */
};

struct fwd_splice *fwd_splice_new(struct ring *ring, struct timers *timers,
				  struct helper *helper, const struct opts *o)
{
	struct fwd_splice *s = calloc(1, sizeof(*s));
	const char *drop = getenv("S4_TEST_DROP_POLLS");

	if (!s)
		return NULL;
	s->pipes = pipepool_new(timers);
	if (!s->pipes) {
		free(s);
		return NULL;
	}
	s->ring = ring;
	s->timers = timers;
	s->helper = helper;
	s->o = o;
	if (drop)
		s->drop_every = atoi(drop);
	return s;
}

static void listener_close(struct fwd_splice *s, struct splice_listener *l);
static void conn_close(struct fwd_splice *s, struct splice_conn *k,
		       bool reset);

void fwd_splice_free(struct fwd_splice *s)
{
	if (!s)
		return;
	for (int f = 0; f < 2; f++)
		while (s->npool[f])
			close(s->pool[f][--s->npool[f]]);
	for (unsigned i = 0; i < s->nls; i++)
		if (s->ls[i].fd >= 0)
			listener_close(s, &s->ls[i]);
	for (unsigned i = 0; i < s->nconns; i++)
		if (s->conns[i].used)
			conn_close(s, &s->conns[i], true);
	pipepool_free(s->pipes);
	free(s->copy);
	free(s->runq);
	if (s->sweep)
		timers_del(s->timers, s->sweep);
	free(s->ls);
	free(s->conns);
	free(s);
}

bool fwd_splice_available(const struct fwd_splice *s)
{
	return s && s->helper->sock >= 0 &&
	       s->o->target_type != TARGET_BESS;
}

/* ------------------------------------------------------------ listeners */

static void listener_arm(struct fwd_splice *s, struct splice_listener *l)
{
	ring_poll_add(s->ring, l->fd, POLLIN,
		      ring_ref(RING_FWD_LISTEN, l->gen, l - s->ls));
	l->armed = true;
}

/* timer callback: @b is the slot number */
static void listener_retry(void *a, void *b)
{
	struct fwd_splice *s = a;
	struct splice_listener *l = &s->ls[(uintptr_t)b];

	if (l->fd >= 0 && !l->armed)
		listener_arm(s, l);
}

static void listener_close(struct fwd_splice *s, struct splice_listener *l)
{
	if (l->armed)
		ring_poll_remove(s->ring,
				 ring_ref(RING_FWD_LISTEN, l->gen, l - s->ls));
	timers_del(s->timers, l->retry);
	l->retry = NULL;
	/* stop listening now: the armed poll holds the file until the ring
	 * has run its cancellation, and a client told "removed" may connect
	 * before that */
	shutdown(l->fd, SHUT_RD);
	close(l->fd);
	l->fd = -1;
	l->armed = false;
	l->gen++;
}

/**
 * listener_slot() - A free listener slot, growing the table if need be
 * @s:		engine
 * Return: the slot, or NULL without memory
 */
static struct splice_listener *listener_slot(struct fwd_splice *s)
{
	struct splice_listener *n;

	for (unsigned i = 0; i < s->nls; i++)
		if (s->ls[i].fd < 0)
			return &s->ls[i];
	n = realloc(s->ls, (s->nls + 1) * sizeof(*n));
	if (!n)
		return NULL;
	s->ls = n;
	n[s->nls] = (struct splice_listener){ .fd = -1 };
	return &n[s->nls++];
}

/**
 * install_rules() - Once, before the first splice forward: the namespace's
 * rules for clients' addresses (transparent.c), or a word why not
 * @s:		engine
 */
static void install_rules(struct fwd_splice *s)
{
	if (s->rules_tried)
		return;
	s->rules_err = fwd_splice_rules(s);
	s->rules_tried = true;
	if (s->rules_err < 0)
		log_warn("splice forwards: cannot keep clients' addresses "
			 "(%s): services will see the namespace's own address",
			 strerror(-s->rules_err));
}

int fwd_splice_rules(struct fwd_splice *s)
{
	int rc;

	if (s->rules_tried)
		return s->rules_err;
	/* the bypass tries this at start: if it fails, the first forward
	 * tries again (and says so), as it would without the bypass */
	rc = helper_transparent(s->helper, s->o->forward_fwmark,
				s->o->forward_table, s->o->ipv6);
	s->transparent = rc == 0;
	if (rc == 0)
		s->rules_tried = true;
	return rc;
}

/**
 * listener_open() - Take a listening socket into a slot and wait for
 * clients
 * @s:		engine
 * @fd:		the socket; the engine's on success
 * Return: the slot, or NULL without memory
 */
static struct splice_listener *listener_open(struct fwd_splice *s, int fd)
{
	struct splice_listener *l = listener_slot(s);

	if (!l)
		return NULL;
	l->retry = timers_add(s->timers, listener_retry, s,
			      (void *)(uintptr_t)(l - s->ls));
	if (!l->retry)
		return NULL;
	l->fd = fd;
	l->dial = NULL;
	listener_arm(s, l);
	return l;
}

int fwd_splice_adopt(struct fwd_splice *s, int fd, fwd_splice_dial_fn dial,
		     const void *opaque)
{
	struct splice_listener *l = listener_open(s, fd);

	if (!l)
		return -ENOMEM;
	l->dial = dial;
	l->dial_opaque = opaque;
	return 0;
}

void fwd_splice_drop_adopted(struct fwd_splice *s)
{
	for (unsigned i = 0; i < s->nls; i++)
		if (s->ls[i].fd >= 0 && s->ls[i].dial)
			listener_close(s, &s->ls[i]);
}

int fwd_splice_add(struct fwd_splice *s, const struct sockaddr *host,
		   socklen_t hlen, const struct sockaddr *guest, socklen_t glen)
{
	struct splice_listener *l;
	int one = 1, fd;

	install_rules(s);
	fd = socket(host->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (host->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, host, hlen) < 0 || listen(fd, SOMAXCONN) < 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	l = listener_open(s, fd);
	if (!l) {
		close(fd);
		return -ENOMEM;
	}
	memcpy(&l->guest, guest, glen);
	l->glen = glen;
	return 0;
}

int fwd_splice_remove(struct fwd_splice *s, const struct sockaddr *host,
		      socklen_t hlen)
{
	for (unsigned i = 0; i < s->nls; i++) {
		/* an adopted listener is in the namespace: never a forward's */
		if (s->ls[i].dial || !fwd_bound_to(s->ls[i].fd, host, hlen))
			continue;
		listener_close(s, &s->ls[i]); /* its connections go on */
		return 0;
	}
	return -ENOENT;
}

/* ---------------------------------------------------------- connections */

static union ring_ref conn_ref(struct fwd_splice *s, struct splice_conn *k,
			       int side)
{
	union ring_ref ref = ring_ref(RING_FWD_CONN, k->gen, k - s->conns);

	ref.op = side;
	return ref;
}

static void set_linger0(int fd)
{
	struct linger lg = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

/**
 * conn_close() - Close a connection and everything it owns
 * @s:		engine
 * @k:		connection
 * @reset:	send a reset to both peers instead of a FIN
 */
static void conn_close(struct fwd_splice *s, struct splice_conn *k,
		       bool reset)
{
	for (int d = 0; d < 2; d++) {
		if (k->armed[d])
			ring_poll_remove(s->ring, conn_ref(s, k, d));
		k->armed[d] = 0;
		if (k->fd[d] >= 0) {
			if (reset)
				set_linger0(k->fd[d]);
			close(k->fd[d]);
		}
		pipepool_put(s->pipes, k->pipe[d], k->cap[d], !k->queued[d]);
	}
	timers_del(s->timers, k->timeout);
	k->timeout = NULL;
	k->used = false;
	k->gen++;
}

/**
 * conn_slot() - A free connection slot, growing the table if need be
 * @s:		engine
 *
 * The table moves when it grows: timers hold slot numbers, not pointers.
 * Return: the slot, or NULL without memory
 */
static struct splice_conn *conn_slot(struct fwd_splice *s)
{
	unsigned first = s->nconns, cap = first ? first * 2 : 64;
	struct splice_conn *n;

	for (unsigned i = 0; i < s->nconns; i++)
		if (!s->conns[i].used)
			return &s->conns[i];
	n = realloc(s->conns, cap * sizeof(*n));
	if (!n)
		return NULL;
	memset(n + first, 0, (cap - first) * sizeof(*n));
	s->conns = n;
	s->nconns = cap;
	return &n[first];
}

/* Can side @d be read into its direction? (a pipe that is full: no) */
static bool readable_wanted(const struct splice_conn *k, int d)
{
	if (k->eof[d] || k->stalled[d])
		return false;
	return k->pipe[d][0] < 0 || k->queued[d] < k->cap[d];
}

/**
 * arm() - Ask for what side @d can next do, if not already asked
 * @s:		engine
 * @k:		connection
 * @d:		side
 */
static void arm(struct fwd_splice *s, struct splice_conn *k, int d)
{
	short want = 0;

	if (k->connecting)
		want = d == 1 ? POLLOUT : 0;
	else {
		/* a hog's direction is the run queue's, not a poll's */
		if (readable_wanted(k, d) && !k->hog[d])
			want |= POLLIN;
		if ((k->queued[!d] || k->stalled[!d]) && !k->shut[d] &&
		    !k->hog[!d])
			want |= POLLOUT;
	}
	if (want == k->armed[d])
		return;
	if (!want) /* a poll that fires for nothing is harmless */
		return;
	if (k->armed[d])
		ring_poll_update(s->ring, conn_ref(s, k, d), want);
	else
		ring_poll_add(s->ring, k->fd[d], want, conn_ref(s, k, d));
	k->armed[d] = want;
}

static bool would_block(void)
{
	return errno == EAGAIN || errno == EINTR;
}

/**
 * copy() - Without a pipe: move what the other side takes of what side @d
 * has, leaving the rest in side @d's socket
 * @s:		engine
 * @k:		connection
 * @d:		from side d to the other
 * Return: bytes moved, 0 if none could be, or -errno to reset
 */
static ssize_t copy(struct fwd_splice *s, struct splice_conn *k, int d)
{
	ssize_t n, m;

	if (!s->copy && !(s->copy = malloc(COPY_BUF)))
		return 0; /* the sweep tries again */
	n = recv(k->fd[d], s->copy, COPY_BUF, MSG_PEEK | MSG_DONTWAIT);
	if (n == 0)
		k->eof[d] = true;
	if (n <= 0)
		return n < 0 && !would_block() ? -errno : 0;
	m = send(k->fd[!d], s->copy, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (m < 0) {
		k->stalled[d] = would_block();
		return k->stalled[d] ? 0 : -errno;
	}
	k->stalled[d] = false;
	/* what was peeked is there: this drops exactly @m bytes */
	if (recv(k->fd[d], NULL, m, MSG_TRUNC | MSG_DONTWAIT) != m)
		return -EIO;
	return m;
}

/**
 * has_bytes() - Does side @d have something to read (or its EOF)?
 * @k:		connection
 * @d:		side
 *
 * Asked before borrowing a pipe for a side no poll said was readable (the
 * sweep's pumps, a connect's first): a pipe taken and given back for
 * nothing would count as needed, and the pool would never shrink.
 * Return: 1 if so, 0 if not, -errno to reset
 */
static int has_bytes(struct splice_conn *k, int d)
{
	char c;
	ssize_t n = recv(k->fd[d], &c, 1, MSG_PEEK | MSG_DONTWAIT);

	if (n == 0)
		k->eof[d] = true;
	if (n < 0)
		return would_block() ? 0 : -errno;
	return n > 0;
}

/**
 * fill() - Side @d's bytes into its pipe, borrowing one if it has none
 * @s:		engine
 * @k:		connection
 * @d:		from side d to the other
 * @ready:	a poll said side d is readable
 * Return: bytes taken in (or, without a pipe, copied across), 0 if none,
 *	   -errno to reset
 */
static ssize_t fill(struct fwd_splice *s, struct splice_conn *k, int d,
		    bool ready)
{
	ssize_t n;

	if (k->pipe[d][0] < 0) {
		if (!ready && (n = has_bytes(k, d)) <= 0)
			return n;
		if (pipepool_take(s->pipes, k->pipe[d], &k->cap[d],
				  k->fd[d]) < 0)
			return copy(s, k, d);
	}
	k->stalled[d] = false; /* it was copying: now the pipe takes it */
	n = splice(k->fd[d], NULL, k->pipe[d][1], NULL,
		   k->cap[d] - k->queued[d], SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
	if (n > 0)
		k->queued[d] += n;
	else if (n == 0)
		k->eof[d] = true;
	else if (!would_block())
		return -errno;
	return n > 0 ? n : 0;
}

/**
 * drain() - What side @d's pipe holds, on to the other side
 * @k:		connection
 * @d:		from side d to the other
 * Return: bytes moved, or -errno to reset
 */
static ssize_t drain(struct splice_conn *k, int d)
{
	ssize_t n = splice(k->pipe[d][0], NULL, k->fd[!d], NULL, k->queued[d],
			   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);

	if (n > 0)
		k->queued[d] -= n;
	else if (n < 0)
		return would_block() ? 0 : -errno;
	return n;
}

/**
 * runq_push() - Queue direction @d of @k for a slice of fwd_splice_work()
 * @s:		engine
 * @k:		connection
 * @d:		direction
 * Return: false without memory (then its polls say when to go on)
 */
static bool runq_push(struct fwd_splice *s, struct splice_conn *k, int d)
{
	if (s->rq_len == s->rq_cap) {
		unsigned cap = s->rq_cap ? s->rq_cap * 2 : 64;
		struct runq_entry *n = malloc(cap * sizeof(*n));

		if (!n)
			return false;
		/* unwrap: the oldest first */
		for (unsigned i = 0; i < s->rq_len; i++)
			n[i] = s->runq[(s->rq_head + i) & (s->rq_cap - 1)];
		free(s->runq);
		s->runq = n;
		s->rq_cap = cap;
		s->rq_head = 0;
	}
	s->runq[(s->rq_head + s->rq_len++) & (s->rq_cap - 1)] =
		(struct runq_entry){ k - s->conns, k->gen, d };
	return true;
}

/**
 * pump() - Move what can be moved in direction @d without blocking, up to
 * PUMP_BUDGET bytes, then queue it if more may wait; give the pipe back if
 * it is left empty
 * @s:		engine
 * @k:		connection
 * @d:		from side d to the other
 * @ready:	a poll said side d is readable
 * Return: 0, or -errno if the connection must be reset
 */
static int pump(struct fwd_splice *s, struct splice_conn *k, int d,
		bool ready)
{
	size_t moved = 0;
	ssize_t in = 1, out = 1;

	while ((in > 0 || out > 0) && moved < PUMP_BUDGET) {
		in = out = 0;
		if (readable_wanted(k, d) || k->stalled[d])
			in = fill(s, k, d, ready);
		if (in >= 0 && k->queued[d] && !k->shut[!d])
			out = drain(k, d);
		if (in < 0 || out < 0)
			return in < 0 ? in : out;
		moved += in;
	}
	if (moved)
		k->moved = true;
	if (moved >= PUMP_BUDGET)
		k->hog[d] = runq_push(s, k, d);
	/* a hog keeps its pipe for its next slice */
	if (!k->queued[d] && !k->hog[d])
		pipepool_put(s->pipes, k->pipe[d], k->cap[d], true);
	if (k->eof[d] && !k->queued[d] && !k->shut[!d]) {
		shutdown(k->fd[!d], SHUT_WR);
		k->shut[!d] = true;
	}
	return 0;
}

static void sweep_arm(struct fwd_splice *s);
static void connect_check(struct fwd_splice *s, struct splice_conn *k);

enum { BOTH = 3 }; /* run(): bit d for direction d, from side d */

/**
 * run() - Pump, then close or re-arm
 * @s:		engine
 * @k:		connection
 * @dirs:	the directions to pump, BOTH if unsure
 * @ready:	the sides a poll said are readable
 */
static void run(struct fwd_splice *s, struct splice_conn *k, unsigned dirs,
		unsigned ready)
{
	/* a hog's direction gets its slices from the run queue only */
	dirs &= ~((unsigned)k->hog[0] | (unsigned)k->hog[1] << 1);
	if (((dirs & 1) && pump(s, k, 0, ready & 1) < 0) ||
	    ((dirs & 2) && pump(s, k, 1, ready & 2) < 0)) {
		conn_close(s, k, true);
		return;
	}
	if (k->shut[0] && k->shut[1]) {
		conn_close(s, k, false);
		return;
	}
	arm(s, k, 0);
	arm(s, k, 1);
	sweep_arm(s);
}

/**
 * sweep() - timer callback: pump every connection that moved bytes lately
 * but none in the last second
 * @a:		engine
 * @b:		unused
 *
 * A poll that never completes stalls its connection for good: the peers
 * wait for us and have nothing more to say that would wake us. One was
 * seen (a full pipe towards a writable socket, both ends idle for a
 * minute, a few times in sanitizer runs of test_bypass): a poll update the
 * kernel refused with -EALREADY left the old mask armed, now asked for
 * again (ring_poll_update_done()). Whatever else could lose one, this
 * bounds the stall to about a second. A connection quiet for SWEEP_QUIET sweeps is
 * left alone (its peers will speak first), so an idle engine does not
 * wake. S4_TEST_DROP_POLLS=N makes the engine ignore every Nth poll
 * completion, so that the tests can see this work.
 */
static void sweep(void *a, void *b)
{
	struct fwd_splice *s = a;
	bool again = false;

	(void)b;
	for (unsigned i = 0; i < s->nconns; i++) {
		struct splice_conn *k = &s->conns[i];

		if (!k->used)
			continue;
		if (k->connecting) {
			connect_check(s, k); /* its poll may be the lost one */
			again = true;
		} else if (k->moved) {
			k->moved = false;
			k->quiet = 0;
			again = true;
		} else if (k->quiet < SWEEP_QUIET) {
			k->quiet++;
			again = true;
			run(s, k, BOTH, 0);
		}
	}
	if (again)
		timers_mod(s->sweep, clock_now_ms() + SWEEP_MS);
}

/* The sweep runs while connections are busy; never when all are idle. */
static void sweep_arm(struct fwd_splice *s)
{
	if (!s->sweep)
		s->sweep = timers_add(s->timers, sweep, s, NULL);
	if (s->sweep && !timers_armed(s->sweep))
		timers_mod(s->sweep, clock_now_ms() + SWEEP_MS);
}

/* The connect finished (or failed): start relaying, or reset the client. */
static void connected(struct fwd_splice *s, struct splice_conn *k, int res)
{
	int err = 0;
	socklen_t el = sizeof(err);

	if (res < 0 || getsockopt(k->fd[1], SOL_SOCKET, SO_ERROR, &err, &el) < 0)
		err = res < 0 ? -res : errno;
	if (!err && !(res & POLLOUT))
		err = ECONNREFUSED;
	if (err) {
		conn_close(s, k, true);
		return;
	}
	k->connecting = false;
	timers_del(s->timers, k->timeout);
	k->timeout = NULL;
	run(s, k, BOTH, 0);
}

/**
 * connect_check() - Go on at once if the connect is already over, else
 * wait for it
 * @s:		engine
 * @k:		connection, connecting
 *
 * To the namespace's own address the handshake runs through lo while
 * connect() runs, so it is usually over when it returns EINPROGRESS: a
 * poll through the ring would cost a sleep and a wake-up per connection.
 */
static void connect_check(struct fwd_splice *s, struct splice_conn *k)
{
	struct pollfd p = { .fd = k->fd[1], .events = POLLOUT };

	if (poll(&p, 1, 0) == 1) {
		connected(s, k, p.revents);
		return;
	}
	arm(s, k, 1);
	sweep_arm(s);
}

/* timer callback: @b is the slot number */
static void connect_timeout(void *a, void *b)
{
	struct fwd_splice *s = a;
	struct splice_conn *k = &s->conns[(uintptr_t)b];

	if (k->used && k->connecting)
		conn_close(s, k, true);
}

/**
 * ns_socket() - The namespace end of a new connection
 * @s:		engine
 * @l:		its forward
 * @peer:	the client
 * Return: a non-blocking TCP socket in the namespace, or -errno
 */
static int ns_socket(struct fwd_splice *s, const struct splice_listener *l,
		     const struct sockaddr_storage *peer)
{
	struct sockaddr_storage src;
	socklen_t len;

	int f = l->guest.ss_family == AF_INET6, fd, one = 1;

	if (!s->npool[f]) {
		/* near RLIMIT_NOFILE, one at a time */
		unsigned want = fdlimit_room(l->fd, PLENTY_FDS) ? POOL_BATCH : 1;
		int n = helper_sockets(s->helper, l->guest.ss_family,
				       SOCK_STREAM,
				       s->transparent ? s->o->forward_fwmark
						      : 0,
				       s->pool[f], want);

		if (n < 0)
			return n;
		s->npool[f] = n;
	}
	fd = s->pool[f][--s->npool[f]];
	if (!s->transparent)
		return fd;
	/* never fall back to the namespace's own address here: a service
	 * may trust that more than the client's. The helper made the socket
	 * transparent, so binding it to any address needs no privilege.
	 * The port is left to connect(), which may share a port between
	 * different destinations; bind() would give every socket a port of
	 * its own: one connection per ephemeral port for all the clients
	 * seen as 10.0.2.2. */
	len = fwd_seen_as(&s->o->net, peer, &src, false);
	setsockopt(fd, SOL_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&src, len) < 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	return fd;
}

/**
 * conn_start() - A new client: a namespace socket, and connect it
 * @s:		engine
 * @l:		the forward it came in on
 * @cfd:	the accepted client
 * @peer:	its address
 */
static void conn_start(struct fwd_splice *s, struct splice_listener *l,
		       int cfd, const struct sockaddr_storage *peer)
{
	struct splice_conn *k = conn_slot(s);
	struct sockaddr_storage to = l->guest;
	socklen_t tolen = l->glen;
	int nfd;

	if (!k) {
		set_linger0(cfd);
		close(cfd);
		return;
	}
	if (l->dial) {
		nfd = l->dial(l->dial_opaque, cfd, &to, &tolen);
	} else if (!fwd_guest_reachable((struct sockaddr *)&to,
					&s->o->net)) {
		/* never inside the namespace to where the TAP could not
		 * deliver: its loopback (fwd_guest_reachable()) */
		nfd = -EADDRNOTAVAIL;
	} else {
		nfd = ns_socket(s, l, peer);
		if (nfd < 0 && !s->warned_helper) {
			s->warned_helper = true;
			log_warn("splice forwards: no socket from the namespace "
				 "(%s): resetting clients",
				 strerror(-nfd));
		}
	}
	/* (a dial function's socket may come connected: tolen 0) */
	if (nfd < 0 || (tolen && connect(nfd, (struct sockaddr *)&to, tolen) < 0 &&
			errno != EINPROGRESS)) {
		if (nfd >= 0)
			close(nfd);
		set_linger0(cfd);
		close(cfd);
		return;
	}
	*k = (struct splice_conn){ .fd = { cfd, nfd },
				   .pipe = { { -1, -1 }, { -1, -1 } },
				   .connecting = true,
				   .used = true,
				   .gen = k->gen };
	/* an adopted listener's connect takes as long as the host's kernel
	 * lets it, as on the slirp path (bypass.c) */
	if (!l->dial) {
		k->timeout = timers_add(s->timers, connect_timeout, s,
					(void *)(uintptr_t)(k - s->conns));
		if (k->timeout)
			timers_mod(k->timeout, clock_now_ms() + CONNECT_MS);
	}
	connect_check(s, k);
}

/**
 * wait_for_fds() - Near RLIMIT_NOFILE: leave clients in the backlog and
 * look again in a while, instead of accepting what we cannot serve
 * @s:		engine
 * @l:		listener
 */
static void wait_for_fds(struct fwd_splice *s, struct splice_listener *l)
{
	int64_t now = clock_now_ms();

	timers_mod(l->retry, now + ACCEPT_RETRY_MS);
	if (s->warned_full_ms && now - s->warned_full_ms < FULL_LOG_MS)
		return;
	s->warned_full_ms = now;
	log_warn("too many open files (limit %lu): forwarded ports stop "
		 "accepting until some close",
		 fdlimit_max());
}

/**
 * accept_all() - Take every waiting client of a listener
 * @s:		engine
 * @l:		listener
 */
static void accept_all(struct fwd_splice *s, struct splice_listener *l)
{
	for (;;) {
		if (!fdlimit_room(l->fd, FWD_SPLICE_CONN_FDS)) {
			wait_for_fds(s, l);
			return;
		}
		struct sockaddr_storage peer;
		socklen_t pl = sizeof(peer);
		int fd = accept4(l->fd, (struct sockaddr *)&peer, &pl,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			conn_start(s, l, fd, &peer);
			continue;
		}
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			wait_for_fds(s, l);
			return;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		listener_arm(s, l); /* EAGAIN: all taken */
		return;
	}
}

/**
 * ready_dirs() - The directions a poll completion lets move
 * @side:	whose poll it was
 * @res:	its events, or -errno
 *
 * Readable: from @side; writable: towards it. Pumping only those saves
 * the other direction's splice() that would say EAGAIN, on every turn.
 * Return: a mask for run()
 */
static unsigned ready_dirs(int side, int res)
{
	unsigned dirs = 0;

	if (res < 0)
		return BOTH;
	if (res & (POLLIN | POLLRDHUP | POLLERR | POLLHUP))
		dirs |= 1u << side;
	if (res & (POLLOUT | POLLERR | POLLHUP))
		dirs |= 1u << !side;
	return dirs ? dirs : BOTH;
}

bool fwd_splice_busy(const struct fwd_splice *s)
{
	return s && s->rq_len;
}

void fwd_splice_work(struct fwd_splice *s)
{
	/* one slice each for those queued now; a hog queues itself again,
	 * behind them, for the next turn */
	for (unsigned n = s ? s->rq_len : 0; n; n--) {
		struct runq_entry e = s->runq[s->rq_head];
		struct splice_conn *k = &s->conns[e.idx];

		s->rq_head = (s->rq_head + 1) & (s->rq_cap - 1);
		s->rq_len--;
		if (!k->used || k->gen != e.gen || !k->hog[e.d])
			continue; /* closed since */
		k->hog[e.d] = false;
		run(s, k, 1u << e.d, 0);
		if (ring_news(s->ring))
			return; /* the rest after the loop has seen to it */
	}
}

void fwd_splice_complete(struct fwd_splice *s, union ring_ref ref, int res)
{
	struct splice_conn *k;

	if (ref.type == RING_FWD_LISTEN) {
		struct splice_listener *l;

		if (ref.idx >= s->nls)
			return;
		l = &s->ls[ref.idx];
		if (l->fd < 0 || l->gen != ref.gen)
			return;
		l->armed = false;
		accept_all(s, l);
		return;
	}
	if (ref.idx >= s->nconns)
		return;
	k = &s->conns[ref.idx];
	if (!k->used || k->gen != ref.gen)
		return;
	if (ref.op & RING_OP_UPDATE) {
		int d = ref.op & ~RING_OP_UPDATE;

		if (d <= OP_SIDE1)
			ring_poll_update_done(s->ring, ref, res, k->armed[d]);
		return;
	}
	if (ref.op > OP_SIDE1)
		return;
	if (s->drop_every && ++s->ncqes % s->drop_every == 0)
		return; /* a lost wake-up, for the tests (sweep()) */
	k->armed[ref.op] = 0;
	if (k->connecting)
		connected(s, k, res);
	else
		run(s, k, ready_dirs(ref.op, res),
		    res > 0 && (res & POLLIN) ? 1u << ref.op : 0);
}

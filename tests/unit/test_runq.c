// SPDX-License-Identifier: GPL-2.0-or-later
/* The splice engine's run queue: a direction that used its budget waits
 * there for a slice per loop turn, yields as soon as something else has
 * completed on the ring, and still delivers every byte, in order, and its
 * end. Both sides are Unix stream sockets (an adopted listener whose dial
 * function makes a socket pair), so that megabytes wait in them for the
 * engine without TCP's windows deciding how much. */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "clock.h"
#include "fwd/splice.h"
#include "ns/helper.h"
#include "options.h"
#include "ring/ring.h"
#include "timers.h"

enum { MIB = 1 << 20, PRELOAD = 2 * MIB, MAXC = 4 };

static struct ring *r;
static struct timers *t;
static struct fwd_splice *s;
static struct helper h = { .sock = -1, .bess_listener = -1 };
static struct opts o;
static int clients[MAXC], sinks[MAXC], nsinks;
static size_t got[MAXC]; /* bytes each sink has read */

/* Room for everything preloaded: 8 MiB each way (root may force it). */
static void big_buffers(int fd)
{
	int sz = 8 * MIB;

	cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz,
				sizeof(sz)),
		     0, "SO_SNDBUFFORCE: %s", strerror(errno));
}

/* The engine's other end: one of a pair, the sink the test's */
static int dial(const void *opaque, int cfd, struct sockaddr_storage *to,
		socklen_t *tolen)
{
	int sv[2];

	(void)opaque;
	(void)cfd;
	(void)to;
	cr_assert_lt(nsinks, MAXC);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv),
		     0);
	big_buffers(sv[0]);
	sinks[nsinks++] = sv[1];
	*tolen = 0; /* connected already */
	return sv[0];
}

/* What the loop does for this engine, once */
static void turn(int ms)
{
	struct ring_cqe c[64];
	unsigned n;

	ring_wait(r, ms);
	while ((n = ring_reap(r, c, 64)) > 0)
		for (unsigned i = 0; i < n; i++)
			if (c[i].ref.type == RING_FWD_LISTEN ||
			    c[i].ref.type == RING_FWD_CONN)
				fwd_splice_complete(s, c[i].ref, c[i].res);
	timers_run(t, clock_now_ms());
}

static unsigned char pattern(int conn, size_t at)
{
	return (unsigned char)(at * 31 + at / 4093 + conn * 101);
}

/**
 * start() - The engine with an adopted listener and @n clients through
 * it, each with PRELOAD bytes written and its end said (SHUT_WR)
 * @n:		clients
 */
static void start(int n)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	socklen_t alen;
	static unsigned char buf[PRELOAD];
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);

	signal(SIGPIPE, SIG_IGN); /* as main() has it */
	r = ring_new(4, 4096, true, NULL);
	cr_assert_not_null(r);
	cr_assert_eq(ring_start(r), 0);
	cr_assert(ring_is_uring(r), "%s", ring_describe(r));
	t = timers_new();
	s = fwd_splice_new(r, t, &h, &o);
	cr_assert(s && t);
	/* an abstract name of its own */
	alen = offsetof(struct sockaddr_un, sun_path) + 1 +
	       snprintf(a.sun_path + 1, sizeof(a.sun_path) - 1,
			"s4-test-runq-%d", (int)getpid());
	cr_assert_eq(bind(lfd, (struct sockaddr *)&a, alen), 0);
	cr_assert_eq(listen(lfd, 16), 0);
	cr_assert_eq(fwd_splice_adopt(s, lfd, dial, NULL), 0);
	for (int i = 0; i < n; i++) {
		clients[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		big_buffers(clients[i]);
		cr_assert_eq(connect(clients[i], (struct sockaddr *)&a, alen),
			     0);
		for (int k = 0; k < 100 && nsinks <= i; k++)
			turn(10);
		cr_assert_eq(nsinks, i + 1, "connection %d relayed", i);
	}
	/* all at once, before the engine sees any of it */
	for (int i = 0; i < n; i++) {
		for (size_t k = 0; k < PRELOAD; k++)
			buf[k] = pattern(i, k);
		cr_assert_eq(write(clients[i], buf, PRELOAD), PRELOAD);
		cr_assert_eq(shutdown(clients[i], SHUT_WR), 0);
	}
}

static void stop(int n)
{
	fwd_splice_free(s);
	ring_free(r);
	timers_free(t);
	for (int i = 0; i < n; i++) {
		close(clients[i]);
		close(sinks[i]);
	}
	nsinks = 0;
	memset(got, 0, sizeof(got));
}

/**
 * take() - Read what sink @i has, checking every byte
 * @i:		connection
 * Return: bytes read now; -1 once the end has come (after PRELOAD)
 */
static ssize_t take(int i)
{
	static unsigned char buf[256 << 10];
	ssize_t total = 0, n;

	while ((n = read(sinks[i], buf, sizeof(buf))) > 0) {
		for (ssize_t k = 0; k < n; k++)
			cr_assert_eq(buf[k], pattern(i, got[i] + k),
				     "connection %d, byte %zu", i, got[i] + k);
		got[i] += n;
		total += n;
	}
	if (n == 0) {
		cr_assert_eq(got[i], PRELOAD, "connection %d ended early", i);
		return -1;
	}
	cr_assert_eq(errno, EAGAIN);
	return total;
}

/* Something else completes on the ring: a poll on a readable pipe */
static void news(int p[2])
{
	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(write(p[1], "x", 1), 1);
	ring_poll_add(r, p[0], POLLIN, ring_ref(RING_NONE, 0, 0));
	ring_submit(r);
	cr_assert(ring_news(r));
}

Test(runq, bulk_yields_to_the_ring)
{
	int p[2];
	ssize_t a, b;

	start(2);
	/* both clients' bytes wake their polls: a slice each, and more
	 * waits, so both are queued */
	turn(10);
	cr_assert_gt(take(0), 0);
	cr_assert_gt(take(1), 0);
	cr_assert(fwd_splice_busy(s), "budgets used: queued");

	/* with another completion waiting, one slice and back to the loop */
	news(p);
	fwd_splice_work(s);
	a = take(0);
	b = take(1);
	cr_assert((a > 0) != (b > 0), "one slice only (%zd, %zd)", a, b);
	cr_assert(fwd_splice_busy(s));

	/* the loop has seen to it: a slice each, the one passed over too */
	turn(0);
	cr_assert_not(ring_news(r));
	fwd_splice_work(s);
	cr_assert_gt(take(0), 0);
	cr_assert_gt(take(1), 0);
	close(p[0]);
	close(p[1]);

	/* and every byte arrives, then the end */
	for (int k = 0; k < 1000 && (got[0] < PRELOAD || got[1] < PRELOAD);
	     k++) {
		turn(fwd_splice_busy(s) ? 0 : 10);
		fwd_splice_work(s);
		take(0);
		take(1);
	}
	for (int k = 0; k < 100 && (a != -1 || b != -1); k++) {
		turn(10);
		fwd_splice_work(s);
		a = a == -1 ? a : take(0);
		b = b == -1 ? b : take(1);
	}
	cr_assert_eq(a, -1, "connection 0 ended");
	cr_assert_eq(b, -1, "connection 1 ended");
	cr_assert_not(fwd_splice_busy(s), "nothing left queued");
	stop(2);
}

/* A queued connection closed meanwhile (its sink went away: the next
 * slice fails and resets it) drops out of the queue; the other goes on. */
Test(runq, closed_while_queued)
{
	char c;
	ssize_t n;

	start(2);
	turn(10);
	take(0);
	take(1);
	cr_assert(fwd_splice_busy(s));
	close(sinks[0]);
	sinks[0] = -1;
	for (int k = 0; k < 1000 && got[1] < PRELOAD; k++) {
		turn(fwd_splice_busy(s) ? 0 : 10);
		fwd_splice_work(s);
		take(1);
	}
	cr_assert_eq(got[1], PRELOAD);
	errno = 0;
	n = read(clients[0], &c, 1);
	cr_assert(n == 0 || (n < 0 && errno != EAGAIN),
		  "client 0 was let go (%zd, %s)", n, strerror(errno));
	for (int k = 0; k < 100 && fwd_splice_busy(s); k++) {
		turn(0);
		fwd_splice_work(s);
	}
	cr_assert_not(fwd_splice_busy(s));
	stop(2);
}

// SPDX-License-Identifier: GPL-2.0-or-later
/* The pollset: libslirp's fill/poll on ring polls, over real sockets. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <slirp/libslirp.h>

#include "slirp/pollset.h"
#include "clock.h"

static struct ring *r;
static struct pollset *ps;
static struct timers *tm;

static void setup(bool uring)
{
	r = ring_new(1, 64, uring, NULL);
	cr_assert_eq(ring_start(r), 0);
	tm = timers_new();
	ps = pollset_new(r, tm);
	cr_assert(ps);
}

static void teardown(void)
{
	pollset_free(ps);
	timers_free(tm);
	ring_free(r);
}

/* One loop iteration as loop.c runs it, for one fd. */
static int iterate(int fd, int events, int wait_ms)
{
	struct ring_cqe c[16];
	int idx = pollset_add(ps, fd, events), rev;
	unsigned n;

	pollset_sync(ps);
	ring_wait(r, wait_ms);
	while ((n = ring_reap(r, c, 16)) > 0)
		for (unsigned i = 0; i < n; i++)
			if (c[i].ref.type == RING_SPOLL)
				pollset_complete(ps, c[i].ref, c[i].res);
	rev = pollset_revents(ps, idx);
	pollset_reset(ps);
	return rev;
}

ParameterizedTestParameters(pollset, level_triggered)
{
	static bool both[] = { true, false };

	return cr_make_param_array(bool, both, 2);
}

/* Data left unread must be reported again on the next iteration. */
ParameterizedTest(bool *uring, pollset, level_triggered)
{
	int sv[2];

	setup(*uring);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	cr_assert_eq(iterate(sv[0], SLIRP_POLL_IN, 0), 0);
	cr_assert_eq(pollset_armed(ps), 1);
	cr_assert_eq(write(sv[1], "data", 4), 4);
	cr_assert_eq(iterate(sv[0], SLIRP_POLL_IN, 100), SLIRP_POLL_IN);
	cr_assert_eq(iterate(sv[0], SLIRP_POLL_IN, 100), SLIRP_POLL_IN,
		     "still readable, reported again");
	/* a changed mask is applied to the armed poll */
	cr_assert_eq(iterate(sv[0], SLIRP_POLL_IN | SLIRP_POLL_OUT, 100),
		     SLIRP_POLL_IN | SLIRP_POLL_OUT);
	teardown();
}

ParameterizedTestParameters(pollset, unlisted_fd_is_removed)
{
	static bool both[] = { true, false };

	return cr_make_param_array(bool, both, 2);
}

ParameterizedTest(bool *uring, pollset, unlisted_fd_is_removed)
{
	struct ring_cqe c[16];
	int sv[2], other[2];

	setup(*uring);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, other),
		     0);
	cr_assert_eq(iterate(sv[0], SLIRP_POLL_IN, 0), 0);
	cr_assert_eq(pollset_armed(ps), 1);
	/* next fill lists another fd only: sv[0]'s poll goes */
	cr_assert_eq(iterate(other[0], SLIRP_POLL_IN, 0), 0);
	cr_assert_eq(pollset_armed(ps), 1);
	/* data on sv[0] now must not produce a completion anyone acts on */
	cr_assert_eq(write(sv[1], "x", 1), 1);
	ring_wait(r, 50);
	while (ring_reap(r, c, 16))
		;
	teardown();
}

ParameterizedTestParameters(pollset, stale_completion_dropped)
{
	static bool both[] = { true, false };

	return cr_make_param_array(bool, both, 2);
}

/* A poll that fired for an fd libslirp has since closed, whose number is
 * then reused, must not be reported for the new socket. */
ParameterizedTest(bool *uring, pollset, stale_completion_dropped)
{
	int sv[2];
	int idx;

	setup(*uring);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	idx = pollset_add(ps, sv[0], SLIRP_POLL_IN);
	pollset_sync(ps);
	pollset_unregister(ps, sv[0]);
	cr_assert_eq(pollset_armed(ps), 0);
	cr_assert_eq(write(sv[1], "x", 1), 1);
	/* a completion with the old generation arrives late */
	pollset_complete(ps, ring_ref(RING_SPOLL, 0, sv[0]), POLLIN);
	cr_assert_eq(pollset_revents(ps, idx), 0);
	teardown();
}

ParameterizedTestParameters(pollset, listener_held_near_fd_limit)
{
	static bool both[] = { true, false };

	return cr_make_param_array(bool, both, 2);
}

/* A forward's listener with a client waiting is not reported readable
 * while fds are nearly exhausted (libslirp's accept() would fail and it
 * would be asked again at once), and is again once the hold ends. */
ParameterizedTest(bool *uring, pollset, listener_held_near_fd_limit)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	struct rlimit old, tight;
	int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int cl = socket(AF_INET, SOCK_STREAM, 0), lowest;

	cr_assert_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(l, 8), 0);
	cr_assert_eq(getsockname(l, (struct sockaddr *)&a, &al), 0);
	cr_assert_eq(connect(cl, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &old), 0);

	setup(*uring);
	pollset_listener(ps, l);
	cr_assert_eq(iterate(l, SLIRP_POLL_IN, 100), SLIRP_POLL_IN,
		     "room to spare: the waiting client is reported");

	lowest = fcntl(l, F_DUPFD, 0);
	close(lowest);
	tight = (struct rlimit){ lowest + 1, old.rlim_max };
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &tight), 0);
	cr_assert_eq(iterate(l, SLIRP_POLL_IN, 100), 0,
		     "one fd left: the listener is held");
	cr_assert_eq(iterate(l, SLIRP_POLL_IN, 50), 0, "and stays held");
	cr_assert_eq(pollset_armed(ps), 0, "not even polled while held");
	/* room again, and the hold ends */
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	cr_assert_eq(iterate(l, SLIRP_POLL_IN, 50), 0, "held until it ends");
	timers_run(tm, clock_now_ms() + 1000);
	cr_assert_eq(iterate(l, SLIRP_POLL_IN, 100), SLIRP_POLL_IN,
		     "after the hold, with room again, reported");
	/* an fd that is not a listener is never held */
	pollset_unregister(ps, l);
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &tight), 0);
	cr_assert_eq(iterate(l, SLIRP_POLL_IN, 100), SLIRP_POLL_IN,
		     "plain sockets are reported whatever the fd count");
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	teardown();
}

/* libslirp asks for output on a socket whose poll was just woken for input
 * by data it has read since: the kernel refuses the update while it runs
 * that wake-up (-EALREADY on 6.x with DEFER_TASKRUN) and the poll would
 * wait on for input only. Asked again, the socket is reported writable. */
Test(pollset, update_refused_while_waking)
{
	char ch, junk[4096];
	int sv[2], rev = 0;

	setup(true);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	while (write(sv[0], junk, sizeof(junk)) > 0)
		; /* not writable until sv[1] reads */
	cr_assert_eq(iterate(sv[0], SLIRP_POLL_IN, 0), 0);
	cr_assert_eq(write(sv[1], "x", 1), 1); /* wakes the poll */
	cr_assert_eq(read(sv[0], &ch, 1), 1);  /* libslirp read it */
	while (read(sv[1], junk, sizeof(junk)) > 0)
		;
	for (int i = 0; i < 5 && !(rev & SLIRP_POLL_OUT); i++)
		rev = iterate(sv[0], SLIRP_POLL_IN | SLIRP_POLL_OUT, 50);
	cr_assert(rev & SLIRP_POLL_OUT, "writable, reported");
	teardown();
}

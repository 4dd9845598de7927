// SPDX-License-Identifier: GPL-2.0-or-later
/* The pollset: libslirp's fill/poll on ring polls, over real sockets. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <slirp/libslirp.h>

#include "slirp/pollset.h"

static struct ring *r;
static struct pollset *ps;

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

	r = ring_new(1, 64, *uring, NULL);
	cr_assert_eq(ring_start(r), 0);
	ps = pollset_new(r);
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
	pollset_free(ps);
	ring_free(r);
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

	r = ring_new(1, 64, *uring, NULL);
	cr_assert_eq(ring_start(r), 0);
	ps = pollset_new(r);
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
	pollset_free(ps);
	ring_free(r);
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

	r = ring_new(1, 64, *uring, NULL);
	cr_assert_eq(ring_start(r), 0);
	ps = pollset_new(r);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	idx = pollset_add(ps, sv[0], SLIRP_POLL_IN);
	pollset_sync(ps);
	pollset_unregister(ps, sv[0]);
	cr_assert_eq(pollset_armed(ps), 0);
	cr_assert_eq(write(sv[1], "x", 1), 1);
	/* a completion with the old generation arrives late */
	pollset_complete(ps, ring_ref(RING_SPOLL, 0, sv[0]), POLLIN);
	cr_assert_eq(pollset_revents(ps, idx), 0);
	pollset_free(ps);
	ring_free(r);
}

// SPDX-License-Identifier: GPL-2.0-or-later
/* The splice engine's pipe pool: how many pipes of what size the quota
 * allows, the bound, reuse, and spares closed once nobody takes them. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "clock.h"
#include "fwd/pipepool.h"
#include "timers.h"

enum { KIB = 1024, PAGE = 4096 };

/* Debian's pipe-user-pages-soft, 64 MiB: 32 pipes of 256 KiB, 8 MiB */
Test(pipepool, plan_at_the_default_quota)
{
	size_t size;

	cr_assert_eq(pipepool_plan(16384, PAGE, &size), 32);
	cr_assert_eq(size, 256 * KIB);
}

Test(pipepool, plan_without_a_quota)
{
	size_t size;

	cr_assert_eq(pipepool_plan(0, PAGE, &size), 32);
	cr_assert_eq(size, 256 * KIB);
}

/* 4 MiB for the user, 512 KiB for us: 8 pipes of the default size rather
 * than 2 big ones */
Test(pipepool, plan_smaller_pipes_for_a_small_quota)
{
	size_t size;

	cr_assert_eq(pipepool_plan(1024, PAGE, &size), 8);
	cr_assert_eq(size, 64 * KIB);
}

Test(pipepool, plan_no_pipes_for_a_tiny_quota)
{
	size_t size;

	cr_assert_eq(pipepool_plan(64, PAGE, &size), 0, "copy only");
}

static bool is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

Test(pipepool, bounded_and_reused)
{
	struct timers *t = timers_new();
	struct pipepool *pp = pipepool_new(t);
	unsigned max = pipepool_max(pp);
	int p[64][2], q[2];
	size_t cap[64], qcap;

	cr_assert(max > 0 && max <= 64);
	for (unsigned i = 0; i < max; i++) {
		cr_assert_eq(pipepool_take(pp, p[i], &cap[i], 0), 0);
		cr_assert(cap[i] >= 64 * KIB, "at least a default pipe");
		cr_assert(fcntl(p[i][0], F_GETFL) & O_NONBLOCK);
	}
	cr_assert_eq(pipepool_count(pp), max);
	cr_assert_eq(pipepool_take(pp, q, &qcap, 0), -EAGAIN, "bound");
	int r = p[0][0];

	pipepool_put(pp, p[0], cap[0], true);
	cr_assert_eq(p[0][0], -1, "the borrower's copy is cleared");
	cr_assert_eq(pipepool_take(pp, q, &qcap, 0), 0);
	cr_assert_eq(q[0], r, "the spare comes back");
	cr_assert_eq(pipepool_count(pp), max);
	pipepool_put(pp, q, qcap, true);
	for (unsigned i = 1; i < max; i++)
		pipepool_put(pp, p[i], cap[i], true);
	pipepool_free(pp);
	cr_assert(!is_open(r), "freeing closes the spares");
	timers_free(t);
}

/* bytes left in it: never lent again */
Test(pipepool, a_pipe_with_bytes_is_closed)
{
	struct timers *t = timers_new();
	struct pipepool *pp = pipepool_new(t);
	int p[2], r;
	size_t cap;

	cr_assert_eq(pipepool_take(pp, p, &cap, 0), 0);
	r = p[0];
	cr_assert_eq(write(p[1], "x", 1), 1);
	pipepool_put(pp, p, cap, false);
	cr_assert(!is_open(r));
	cr_assert_eq(pipepool_count(pp), 0);
	pipepool_free(pp);
	timers_free(t);
}

/* the pool's timer, as the loop runs it, after @ms of real time (it
 * re-arms itself from the clock) */
static void after(struct timers *t, int ms)
{
	usleep(ms * 1000);
	timers_run(t, clock_now_ms());
}

/* spares nobody took for a whole second are closed; taken ones stay */
Test(pipepool, spares_close_when_unused)
{
	struct timers *t = timers_new();
	struct pipepool *pp = pipepool_new(t);
	int p[4][2];
	size_t cap[4];

	for (int i = 0; i < 4; i++)
		cr_assert_eq(pipepool_take(pp, p[i], &cap[i], 0), 0);
	for (int i = 0; i < 4; i++)
		pipepool_put(pp, p[i], cap[i], true);
	cr_assert_eq(pipepool_count(pp), 4);
	after(t, 1100); /* in that second, all four were lent */
	cr_assert_eq(pipepool_count(pp), 4);
	cr_assert_eq(pipepool_take(pp, p[0], &cap[0], 0), 0);
	cr_assert_eq(pipepool_take(pp, p[1], &cap[1], 0), 0);
	pipepool_put(pp, p[0], cap[0], true);
	pipepool_put(pp, p[1], cap[1], true);
	after(t, 1100); /* two of the four were needed */
	cr_assert_eq(pipepool_count(pp), 2);
	after(t, 1100); /* none */
	cr_assert_eq(pipepool_count(pp), 0);
	cr_assert_eq(timers_timeout(t, clock_now_ms()), -1,
		     "and the pool sleeps");
	pipepool_free(pp);
	timers_free(t);
}

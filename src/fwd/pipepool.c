// SPDX-License-Identifier: GPL-2.0-or-later
/* pipepool.c - pipes for splice(2), lent only while bytes are in flight.
 *
 * DOC: Theory of Operation
 * A connection's direction borrows a pipe when it has bytes to move and
 * gives it back once the pipe is empty again, so an idle connection holds
 * no pipe: two fds, its sockets (HAProxy's pipe pool works the same way).
 *
 * Bounds. Every page of every pipe a user has open counts towards
 * pipe-user-pages-soft (fs/pipe.c): past it, any new pipe of that user's,
 * in any program, gets two pages, and F_SETPIPE_SZ fails with EPERM. Two
 * 256 KiB pipes per connection put the forwarder's user there with 128
 * idle connections. So the pool lets at most PLAN_MAX pipes exist at once,
 * using at most 1/QUOTA_SHARE of the soft limit (smaller pipes if that
 * leaves fewer than PLAN_MIN of them), and makes none near RLIMIT_NOFILE,
 * where fds are a connection's. A borrower that gets none copies instead
 * (splice.c).
 *
 * Spare pipes: an empty pipe given back is kept for the next borrower.
 * Once a second, the spares that were not needed during the whole second
 * (the fewest there were at any time in it) are closed, so that the pool
 * shrinks to nothing a second or two after the last transfer.
 *
 * fd ownership: spare pipes are the pool's; a lent pipe is its
 * borrower's until pipepool_put().
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../clock.h"
#include "../fdlimit.h"
#include "../timers.h"
#include "pipepool.h"

enum {
	PIPE_SIZE = 256 << 10, /* beat 64 KiB and 1 MiB (DESIGN.md §6) */
	MIN_SIZE = 64 << 10,   /* a pipe's default size */
	PLAN_MAX = 32,	       /* 16 transfers at once, both ways */
	PLAN_MIN = 8,	       /* below, the pipes get smaller */
	QUOTA_SHARE = 8,       /* of the user's pipe-user-pages-soft */
	SCARCE_FDS = 64,       /* fewer spare fds: no new pipe */
	TRIM_MS = 1000,
};

struct pipepool {
	struct timers *timers;
	struct timer *trim;
	size_t size;
	unsigned max, count;
	unsigned nspare, low; /* low: fewest spares since the last trim */
	struct pipepool_spare {
		int fd[2];
		size_t cap;
	} spare[PLAN_MAX];
};

unsigned pipepool_plan(unsigned long soft_pages, size_t page, size_t *size)
{
	size_t budget = soft_pages / QUOTA_SHARE * page;
	size_t n;

	*size = PIPE_SIZE;
	if (!soft_pages)
		return PLAN_MAX;
	while (budget / *size < PLAN_MIN && *size > MIN_SIZE)
		*size /= 2;
	n = budget / *size;
	return n < PLAN_MAX ? n : PLAN_MAX;
}

/* pipe-user-pages-soft, or 0 (no limit) if it cannot be read */
static unsigned long soft_pages(void)
{
	unsigned long v = 0;
	FILE *f = fopen("/proc/sys/fs/pipe-user-pages-soft", "re");

	if (!f)
		return 0;
	if (fscanf(f, "%lu", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

static void spare_close(struct pipepool *pp)
{
	struct pipepool_spare *sp = &pp->spare[--pp->nspare];

	close(sp->fd[0]);
	close(sp->fd[1]);
	pp->count--;
}

/* timer callback: close the spares nobody needed for a whole TRIM_MS */
static void trim(void *a, void *b)
{
	struct pipepool *pp = a;

	(void)b;
	/* near RLIMIT_NOFILE the fds are better spent on connections */
	if (pp->nspare && !fdlimit_room(pp->spare[0].fd[0], SCARCE_FDS))
		pp->low = pp->nspare;
	for (unsigned unused = pp->low; unused; unused--)
		spare_close(pp);
	pp->low = pp->nspare;
	if (pp->nspare)
		timers_mod(pp->trim, clock_now_ms() + TRIM_MS);
}

struct pipepool *pipepool_new(struct timers *timers)
{
	struct pipepool *pp = calloc(1, sizeof(*pp));
	const char *test = getenv("SLIRP4NETNS_TEST_PIPES");
	int n = test ? atoi(test) : -1; /* the tests' way to run out */

	if (!pp)
		return NULL;
	pp->trim = timers_add(timers, trim, pp, NULL);
	if (!pp->trim) {
		free(pp);
		return NULL;
	}
	pp->timers = timers;
	pp->max = pipepool_plan(soft_pages(), sysconf(_SC_PAGESIZE),
				&pp->size);
	if (n >= 0 && (unsigned)n < pp->max)
		pp->max = n;
	return pp;
}

void pipepool_free(struct pipepool *pp)
{
	if (!pp)
		return;
	while (pp->nspare)
		spare_close(pp);
	timers_del(pp->timers, pp->trim);
	free(pp);
}

int pipepool_take(struct pipepool *pp, int p[2], size_t *cap, int any_fd)
{
	int sz;

	if (pp->nspare) {
		struct pipepool_spare *sp = &pp->spare[--pp->nspare];

		if (pp->low > pp->nspare)
			pp->low = pp->nspare;
		p[0] = sp->fd[0];
		p[1] = sp->fd[1];
		*cap = sp->cap;
		return 0;
	}
	if (pp->count >= pp->max || !fdlimit_room(any_fd, SCARCE_FDS))
		return -EAGAIN;
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
		return -errno;
	/* EPERM once the user is past the quota anyway: keep what we got */
	fcntl(p[1], F_SETPIPE_SZ, pp->size);
	sz = fcntl(p[1], F_GETPIPE_SZ);
	*cap = sz > 0 ? (size_t)sz : MIN_SIZE;
	pp->count++;
	return 0;
}

void pipepool_put(struct pipepool *pp, int p[2], size_t cap, bool empty)
{
	if (p[0] < 0)
		return;
	if (empty && pp->nspare < PLAN_MAX) {
		pp->spare[pp->nspare++] = (struct pipepool_spare){
			{ p[0], p[1] }, cap };
		if (!timers_armed(pp->trim))
			timers_mod(pp->trim, clock_now_ms() + TRIM_MS);
	} else {
		close(p[0]);
		close(p[1]);
		pp->count--;
	}
	p[0] = p[1] = -1;
}

unsigned pipepool_max(const struct pipepool *pp)
{
	return pp->max;
}

unsigned pipepool_count(const struct pipepool *pp)
{
	return pp->count;
}

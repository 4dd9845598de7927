/* SPDX-License-Identifier: GPL-2.0-or-later */
/* benchutil.h - what the benchmark's little C tools share. */
#ifndef S4_BENCHUTIL_H
#define S4_BENCHUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline _Noreturn void die(const char *what)
{
	perror(what);
	exit(1);
}

/* thousands of connections at once: the soft fd limit up to the hard */
static inline void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

#endif

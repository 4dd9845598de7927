/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_CLOCK_H
#define S4_CLOCK_H

#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC: what libslirp's timers and ours run on, and what every
 * module reads "now" from. */
static inline int64_t clock_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline int64_t clock_now_ms(void)
{
	return clock_now_ns() / 1000000;
}

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_SPIN_H
#define S4_SPIN_H

#include <stdbool.h>
#include <stdint.h>

/* How long the loop polls for its next event before it sleeps: a window
 * that adapts to the gaps between events (see spin.c). */
struct spin {
	uint64_t max_ns; /* 0: never poll */
	uint64_t ns;	 /* the window now, 0..max_ns */
};

enum { SPIN_START_NS = 10 * 1000, SPIN_DEFAULT_US = 50 };

void spin_init(struct spin *s, unsigned max_us);

/**
 * spin_adapt() - After the loop slept, resize the window
 * @s:		window
 * @slept_ns:	how long the sleep lasted
 * @timed_out:	it ended by its timeout, not by an event
 */
void spin_adapt(struct spin *s, uint64_t slept_ns, bool timed_out);

#endif

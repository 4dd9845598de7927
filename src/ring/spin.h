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
	/* whether a CPU is free for it (spin_cpu_spare()) */
	int loadavg;	 /* /proc/loadavg, or -1: always */
	unsigned ncpu;
	uint64_t sampled_ns;
	bool spare;
};

enum {
	SPIN_START_NS = 10 * 1000,
	SPIN_DEFAULT_US = 50,
	SPIN_SAMPLE_NS = 1000 * 1000, /* how often to read /proc/loadavg */
};

/* The window, closed; polling not allowed to take a CPU from anyone. */
void spin_init(struct spin *s, unsigned max_us);

/**
 * spin_watch() - Poll only while a CPU is free: open @loadavg now (before
 * any sandbox), for spin_cpu_spare()
 * @s:		window
 * @loadavg:	"/proc/loadavg" (tests give a file of their own)
 * @ncpu:	CPUs online
 *
 * Without it (or if it cannot be opened), polling is always allowed.
 */
void spin_watch(struct spin *s, const char *loadavg, unsigned ncpu);
void spin_free(struct spin *s);

/**
 * spin_cpu_spare() - May the loop poll now without taking a CPU that
 * another task wants?
 * @s:		window
 * @now_ns:	CLOCK_MONOTONIC
 *
 * Yes while the tasks ready to run, us included, are no more than the
 * CPUs; the count is read at most once every SPIN_SAMPLE_NS.
 * Return: whether it may
 */
bool spin_cpu_spare(struct spin *s, uint64_t now_ns);

/* The count of runnable tasks in a /proc/loadavg line ("0.1 0.2 0.3 R/T
 * PID"), or -1 if there is none. */
int spin_runnable(const char *loadavg);

/**
 * spin_adapt() - After the loop slept, resize the window
 * @s:		window
 * @slept_ns:	how long the sleep lasted
 * @timed_out:	it ended by its timeout, not by an event
 */
void spin_adapt(struct spin *s, uint64_t slept_ns, bool timed_out);

#endif

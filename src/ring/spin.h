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
	int src;	     /* /proc/pressure/cpu or /proc/loadavg; -1: always */
	bool psi;	     /* src is the pressure file */
	unsigned ncpu;	     /* for loadavg */
	uint64_t sampled_ns; /* when src was last read */
	uint64_t stall_us;   /* PSI's "some" total then */
	uint64_t hold_ns;    /* after a contended sample, read again this late */
	bool spare;
	/* the loop's own share of the time (spin_work()) */
	uint64_t work_ns, window_ns; /* in the window that began then */
	bool busy;		     /* it works more than it waits */
	uint64_t busy_until_ns;	     /* and is taken to until then */
	unsigned busy_windows;	     /* busy windows in a row, till busy */
};

enum {
	SPIN_START_NS = 10 * 1000,
	SPIN_DEFAULT_US = 50,
	SPIN_SAMPLE_NS = 1000 * 1000, /* how often to read src */
	SPIN_HOLD_MAX_NS = 64 * SPIN_SAMPLE_NS,
	/* a sample in which tasks waited for a CPU more than 1/SPIN_STALL_DIV
	 * of the time is contended: a bulk stream on two cores waits ~40%,
	 * request/response traffic 2-4% */
	SPIN_STALL_DIV = 10,
	/* the loop's share of working time, in percent, that stops polling:
	 * request/response traffic works ~55% of the time here, a UDP flood
	 * 86-99% */
	SPIN_BUSY_PCT = 80,
	/* windows in a row above SPIN_BUSY_PCT that make the loop busy (one
	 * is noise: a loop preempted mid-work counts that time as work) */
	SPIN_BUSY_WINDOWS = 8,
	/* a busy loop stays so this long at least */
	SPIN_BUSY_HOLD_NS = 64 * SPIN_SAMPLE_NS,
};

/* The window, closed; polling not allowed to take a CPU from anyone. */
void spin_init(struct spin *s, unsigned max_us);

/**
 * spin_watch() - Poll only while no task waits for a CPU: open @pressure
 * (or, where the kernel has no PSI, @loadavg) now, before any sandbox, for
 * spin_cpu_spare()
 * @s:		window
 * @pressure:	"/proc/pressure/cpu" (tests give files of their own)
 * @loadavg:	"/proc/loadavg"
 * @ncpu:	CPUs online
 *
 * Without either, polling is always allowed.
 */
void spin_watch(struct spin *s, const char *pressure, const char *loadavg,
		unsigned ncpu);
void spin_free(struct spin *s);

/**
 * spin_cpu_spare() - May the loop poll now without taking a CPU that
 * another task wants?
 * @s:		window
 * @now_ns:	CLOCK_MONOTONIC
 *
 * With PSI: yes while tasks waited for a CPU no more than 1/SPIN_STALL_DIV
 * of the time since the last read (at most one every SPIN_SAMPLE_NS; after
 * a contended one, later, see spin.c). With loadavg: yes while the tasks
 * ready to run, us included, are no more than the CPUs.
 * Return: whether it may
 */
bool spin_cpu_spare(struct spin *s, uint64_t now_ns);

/**
 * spin_work() - The loop worked for @work_ns (from its last wait to this
 * one): while that is most of its time it has work enough to batch, and
 * does not poll (see spin.c)
 * @s:		window
 * @work_ns:	how long
 * @now_ns:	CLOCK_MONOTONIC
 */
void spin_work(struct spin *s, uint64_t work_ns, uint64_t now_ns);

/* An engine read a full batch at @now_ns: the loop is busy (no polling)
 * for SPIN_BUSY_HOLD_NS at least. */
void spin_plenty(struct spin *s, uint64_t now_ns);

/* The count of runnable tasks in a /proc/loadavg line ("0.1 0.2 0.3 R/T
 * PID"), or -1 if there is none. */
int spin_runnable(const char *loadavg);

/* The "some" line's total=, in microseconds, of /proc/pressure/cpu's text,
 * or -1 if there is none. */
int64_t spin_stall_us(const char *pressure);

/**
 * spin_adapt() - After the loop slept, resize the window
 * @s:		window
 * @slept_ns:	how long the sleep lasted
 * @timed_out:	it ended by its timeout, not by an event
 */
void spin_adapt(struct spin *s, uint64_t slept_ns, bool timed_out);

#endif

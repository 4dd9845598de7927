// SPDX-License-Identifier: GPL-2.0-or-later
/* The busy-poll window: how it follows the gaps between events. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ring/spin.h"

enum { US = 1000 };

Test(spin, off_stays_off)
{
	struct spin s;

	spin_init(&s, 0);
	for (int i = 0; i < 10; i++)
		spin_adapt(&s, 1 * US, false);
	cr_assert_eq(s.ns, 0);
}

/* events soon after each sleep: the window opens, doubling to the max */
Test(spin, grows_on_short_sleeps)
{
	struct spin s;

	spin_init(&s, 50);
	cr_assert_eq(s.ns, 0, "starts closed");
	spin_adapt(&s, 20 * US, false);
	cr_assert_eq(s.ns, SPIN_START_NS);
	spin_adapt(&s, 20 * US, false);
	cr_assert_eq(s.ns, 2 * SPIN_START_NS);
	spin_adapt(&s, 20 * US, false);
	cr_assert_eq(s.ns, 4 * SPIN_START_NS);
	spin_adapt(&s, 20 * US, false);
	cr_assert_eq(s.ns, 50 * US, "capped at the max");
	spin_adapt(&s, 50 * US, false);
	cr_assert_eq(s.ns, 50 * US);
}

/* idle: long sleeps close it again, so an idle forwarder never polls */
Test(spin, shrinks_to_zero_when_idle)
{
	struct spin s;

	spin_init(&s, 50);
	for (int i = 0; i < 5; i++)
		spin_adapt(&s, 1 * US, false);
	cr_assert_eq(s.ns, 50 * US);
	spin_adapt(&s, 1000 * US, true);
	cr_assert_eq(s.ns, 25 * US);
	spin_adapt(&s, 1000 * US, false);
	cr_assert_eq(s.ns, 12500);
	spin_adapt(&s, 51 * US, false);
	cr_assert_eq(s.ns, 0, "below the start: closed");
}

/* a short sleep cut by a timer says nothing about traffic */
Test(spin, short_timeouts_are_neutral)
{
	struct spin s;

	spin_init(&s, 50);
	spin_adapt(&s, 1 * US, true);
	cr_assert_eq(s.ns, 0);
	spin_adapt(&s, 1 * US, false);
	spin_adapt(&s, 1 * US, true);
	cr_assert_eq(s.ns, SPIN_START_NS);
}

Test(spin, runnable_from_loadavg)
{
	cr_assert_eq(spin_runnable("0.10 0.81 1.02 1/78 14836\n"), 1);
	cr_assert_eq(spin_runnable("2.00 1.50 1.00 12/345 99"), 12);
	cr_assert_eq(spin_runnable("garbage"), -1);
	cr_assert_eq(spin_runnable("/78"), -1);
	cr_assert_eq(spin_runnable("0.1 0.2 0.3 x/78 1"), -1);
}

/* Write @line to @path, as /proc/loadavg would read. */
static void loadavg_says(const char *path, const char *line)
{
	FILE *f = fopen(path, "w");

	cr_assert(f);
	fputs(line, f);
	fclose(f);
}

/* polling may not take a CPU another task wants: more runnable tasks
 * than CPUs says no, read at most once every SPIN_SAMPLE_NS */
Test(spin, polls_only_with_a_cpu_to_spare)
{
	char path[] = "/tmp/s4-loadavg-XXXXXX";
	int fd = mkstemp(path);
	struct spin s;
	uint64_t t = 5ull * SPIN_SAMPLE_NS;

	cr_assert(fd >= 0);
	close(fd);
	spin_init(&s, 50);
	cr_assert(spin_cpu_spare(&s, t), "not watching: always");
	loadavg_says(path, "0.50 0.40 0.30 2/100 1234\n");
	spin_watch(&s, path, 2);
	cr_assert(spin_cpu_spare(&s, t), "us and one more on two CPUs");
	loadavg_says(path, "2.50 0.40 0.30 3/100 1234\n");
	cr_assert(spin_cpu_spare(&s, t + SPIN_SAMPLE_NS / 2),
		  "within a sample period: the last answer");
	cr_assert_not(spin_cpu_spare(&s, t + SPIN_SAMPLE_NS),
		      "three runnable on two CPUs: no");
	loadavg_says(path, "2.50 0.40 0.30 1/100 1234\n");
	cr_assert(spin_cpu_spare(&s, t + 2 * SPIN_SAMPLE_NS), "free again");
	spin_free(&s);
	cr_assert_eq(s.loadavg, -1);
	unlink(path);
}

Test(spin, off_watches_nothing)
{
	struct spin s;

	spin_init(&s, 0);
	spin_watch(&s, "/proc/loadavg", 2);
	cr_assert_eq(s.loadavg, -1, "--busy-poll=0 opens no file");
}

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
	spin_watch(&s, "/nonexistent/pressure", path, 2);
	cr_assert(spin_cpu_spare(&s, t), "us and one more on two CPUs");
	loadavg_says(path, "2.50 0.40 0.30 3/100 1234\n");
	cr_assert(spin_cpu_spare(&s, t + SPIN_SAMPLE_NS / 2),
		  "within a sample period: the last answer");
	cr_assert_not(spin_cpu_spare(&s, t + SPIN_SAMPLE_NS),
		      "three runnable on two CPUs: no");
	loadavg_says(path, "2.50 0.40 0.30 1/100 1234\n");
	cr_assert(spin_cpu_spare(&s, t + 2 * SPIN_SAMPLE_NS), "free again");
	spin_free(&s);
	cr_assert_eq(s.src, -1);
	unlink(path);
}

Test(spin, off_watches_nothing)
{
	struct spin s;

	spin_init(&s, 0);
	spin_watch(&s, "/proc/pressure/cpu", "/proc/loadavg", 2);
	cr_assert_eq(s.src, -1, "--busy-poll=0 opens no file");
}

/* /proc/pressure/cpu as kernels print it (the "full" line since 5.13) */
#define PSI(some_us)                                                      \
	"some avg10=0.04 avg60=1.20 avg300=0.68 total=" some_us "\n"      \
	"full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"

Test(spin, stall_from_pressure)
{
	cr_assert_eq(spin_stall_us(PSI("2972706")), 2972706);
	cr_assert_eq(spin_stall_us("some avg10=0.00 total=0\n"), 0);
	cr_assert_eq(spin_stall_us("full avg10=0.00 total=5\n"), -1,
		     "only the some line counts");
	cr_assert_eq(spin_stall_us("some avg10=0.00\nfull total=5\n"), -1,
		     "total= of another line");
	cr_assert_eq(spin_stall_us("some avg10=0.00 total=\n"), -1);
	cr_assert_eq(spin_stall_us("some avg10=0.00 total=12x\n"), -1);
	cr_assert_eq(spin_stall_us("xsome avg10=0.00 total=3\n"), -1);
	cr_assert_eq(spin_stall_us(""), -1);
}

/* With PSI: polling stops once tasks waited for a CPU more than a tenth of
 * the time; contention seen while polling was allowed holds the answer
 * twice as long each time, and a clean sample while polling resets it. */
Test(spin, polls_only_while_no_task_waits)
{
	char path[] = "/tmp/s4-pressure-XXXXXX";
	int fd = mkstemp(path);
	const uint64_t ms = SPIN_SAMPLE_NS;
	uint64_t t = 5 * ms;
	struct spin s;

	cr_assert(fd >= 0);
	close(fd);
	spin_init(&s, 50);
	loadavg_says(path, PSI("1000"));
	spin_watch(&s, path, "/nonexistent/loadavg", 2);
	cr_assert(s.psi, "PSI preferred to loadavg");
	cr_assert(spin_cpu_spare(&s, t), "first reading: yes");
	loadavg_says(path, PSI("1100"));
	cr_assert(spin_cpu_spare(&s, t + ms), "100 us of 1 ms waited: yes");
	loadavg_says(path, PSI("1600"));
	cr_assert(spin_cpu_spare(&s, t + ms + ms / 2),
		  "within a sample period: the last answer");
	cr_assert_not(spin_cpu_spare(&s, t + 2 * ms), "500 us of 1 ms: no");
	cr_assert_eq(s.hold_ns, 2 * ms, "contended while polling: held 2 ms");
	cr_assert_not(spin_cpu_spare(&s, t + 3 * ms), "still held");
	cr_assert(spin_cpu_spare(&s, t + 4 * ms), "quiet 2 ms later: yes");
	cr_assert_eq(s.hold_ns, 2 * ms, "quiet while held resets nothing");
	loadavg_says(path, PSI("2100"));
	cr_assert_not(spin_cpu_spare(&s, t + 5 * ms), "our polling again");
	cr_assert_eq(s.hold_ns, 4 * ms);
	t += 5 * ms + 4 * ms;
	cr_assert(spin_cpu_spare(&s, t), "quiet after the hold");
	loadavg_says(path, PSI("2150"));
	cr_assert(spin_cpu_spare(&s, t + ms), "50 us of 1 ms while polling");
	cr_assert_eq(s.hold_ns, ms, "clean while polling: reset");
	loadavg_says(path, PSI("10"));
	cr_assert(spin_cpu_spare(&s, t + 2 * ms), "a total that went back: yes");
	spin_free(&s);
	unlink(path);
}

/* A workload our polling itself hurts (tasks wait half the time we are
 * allowed to poll, never otherwise): the holds grow to SPIN_HOLD_MAX_NS,
 * and over a second we are allowed to poll a few percent of it at most. */
Test(spin, polling_that_hurts_backs_off)
{
	char path[] = "/tmp/s4-pressure-XXXXXX";
	int fd = mkstemp(path);
	const uint64_t step = SPIN_SAMPLE_NS / 10;
	uint64_t t = SPIN_SAMPLE_NS, stall = 0, allowed = 0;
	char line[128];
	struct spin s;

	cr_assert(fd >= 0);
	close(fd);
	loadavg_says(path, PSI("0"));
	spin_init(&s, 50);
	spin_watch(&s, path, "/nonexistent/loadavg", 2);
	for (int i = 0; i < 10000; i++, t += step) {
		bool yes = spin_cpu_spare(&s, t);

		allowed += yes ? step : 0;
		stall += yes ? step / 2 / 1000 : 0;
		snprintf(line, sizeof(line),
			 "some avg10=0 avg60=0 avg300=0 total=%llu\n",
			 (unsigned long long)stall);
		loadavg_says(path, line);
	}
	cr_assert_eq(s.hold_ns, SPIN_HOLD_MAX_NS);
	cr_assert_leq(allowed, 10000 * step / 20, "allowed %llu ns of 1 s",
		      (unsigned long long)allowed);
	spin_free(&s);
	unlink(path);
}

/* a kernel with PSI compiled in but booted psi=0 has the file and refuses
 * to read it: then loadavg */
Test(spin, no_psi_falls_back_to_loadavg)
{
	char lpath[] = "/tmp/s4-loadavg-XXXXXX";
	int fd = mkstemp(lpath);
	struct spin s;

	cr_assert(fd >= 0);
	close(fd);
	loadavg_says(lpath, "2.50 0.40 0.30 3/100 1234\n");
	spin_init(&s, 50);
	spin_watch(&s, "/proc/self/nonexistent", lpath, 2);
	cr_assert_not(s.psi);
	cr_assert_geq(s.src, 0);
	cr_assert_not(spin_cpu_spare(&s, SPIN_SAMPLE_NS), "three on two");
	spin_watch(&s, lpath, lpath, 2);
	cr_assert_not(s.psi, "a file that is not PSI's is not taken for it");
	spin_free(&s);
	unlink(lpath);
}

/* a loop that works most of the time stops polling, and polls again only
 * once it works much less: requests and answers work about half of it */
Test(spin, busy_loop_does_not_poll)
{
	enum { MS = 1000 * 1000 };
	struct spin s;
	uint64_t now = 1 * MS;

	spin_init(&s, 50);
	spin_work(&s, 0, now); /* the first call opens a window */
	cr_assert(!s.busy);
	/* half the time at work: still polls */
	for (int i = 0; i < 4; i++) {
		now += MS / 2;
		spin_work(&s, MS / 2, now);
		now += MS / 2; /* asleep */
	}
	cr_assert(!s.busy, "55%% is request/response traffic");
	/* one window at 90% (a preemption mid-work): still polls */
	now += MS;
	spin_work(&s, MS * 9 / 10, now);
	now += MS;
	spin_work(&s, MS / 2, now);
	cr_assert(!s.busy, "one busy window is noise");
	/* 90% at work, window after window: stops */
	for (int i = 0; i < SPIN_BUSY_WINDOWS; i++) {
		cr_assert(!s.busy);
		now += MS;
		spin_work(&s, MS * 9 / 10, now);
	}
	cr_assert(s.busy, "a flood stops polling");
	/* 50%: the hold from the last busy window runs on */
	for (int i = 0; i < 4; i++) {
		now += MS;
		spin_work(&s, MS / 2, now);
	}
	cr_assert(s.busy, "held for SPIN_BUSY_HOLD_NS");
	/* a busy window renews the hold */
	now += MS;
	spin_work(&s, MS * 9 / 10, now);
	for (uint64_t t = MS; t < SPIN_BUSY_HOLD_NS; t += MS) {
		now += MS;
		spin_work(&s, MS / 2, now);
	}
	cr_assert(s.busy, "renewed");
	/* request/response at 50-60% after the hold: polls again, and is
	 * not stuck off (a lower mark to poll again kept it off) */
	for (int i = 0; i < 4; i++) {
		now += MS;
		spin_work(&s, MS * 3 / 5, now);
	}
	cr_assert(!s.busy, "past the hold: polls again");
}

/* a full batch read says the loop is busy at once, for the hold */
Test(spin, plenty_stops_polling)
{
	enum { MS = 1000 * 1000 };
	struct spin s;
	uint64_t now = 1 * MS;

	spin_init(&s, 50);
	spin_work(&s, 0, now);
	spin_plenty(&s, now);
	cr_assert(s.busy);
	for (uint64_t t = 0; t < SPIN_BUSY_HOLD_NS - MS; t += MS) {
		now += MS;
		spin_work(&s, MS / 2, now);
	}
	cr_assert(s.busy, "for the hold");
	now += 2 * MS;
	spin_work(&s, MS / 2, now);
	cr_assert(!s.busy, "then polls again");
}

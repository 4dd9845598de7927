// SPDX-License-Identifier: GPL-2.0-or-later
/* spin.c - busy polling before sleeping, with an adaptive window.
 *
 * DOC: Theory of Operation
 * Every event costs the loop a sleep and a wake-up, and on this kind of
 * machine a wake-up is tens of microseconds: a 1-byte request and its
 * answer through us take two (the frame from the TAP, then the host
 * socket's answer), a connection through a forward five. Polling the
 * ring for a while before sleeping catches an event that comes within the
 * window without either; it halved our request/response latency and gave
 * forwards a sixth more connections a second.
 *
 * Polling costs CPU when nothing comes, so the window follows the gaps
 * between events, as Linux's haltpoll cpuidle governor does: an event
 * caught while polling keeps it; a sleep that ended by an event within
 * max_ns says polling a little longer would have caught it, and doubles
 * it (from SPIN_START_NS, up to max_ns); a sleep longer than max_ns
 * halves it, to 0 below SPIN_START_NS. An idle forwarder stops polling
 * after three long sleeps, and a sleep that ended by its timeout (a
 * libslirp timer) says nothing about traffic unless it was long.
 *
 * Polling must never take a CPU that a task of the workload wants. On two
 * cores, one stream from the namespace has three busy tasks (the sender,
 * us, the host's receiver): a CPU that polls is never idle, so the
 * scheduler puts the woken receiver next to the sender, and that stream
 * ran at 0.55x of --busy-poll=0 (yielding between polls did not help:
 * placement looks for an idle CPU, not a yielding one). So the loop polls
 * only while no task has waited for a CPU: the kernel's pressure stall
 * information (/proc/pressure/cpu, "some" total) counts every microsecond
 * in which a runnable task was not running, the harm itself, over the
 * whole interval, where a count of runnable tasks (/proc/loadavg, the
 * fallback for kernels without PSI) is one instant's, taken while we run.
 * It is read at most once a millisecond. More than a tenth of the time
 * waited says no (a bulk stream on two cores waits ~40%, request/response
 * traffic 2-4%). Our own polling can be what makes others wait, and then
 * the next quiet sample says yes again: so a contended sample taken while
 * polling was allowed doubles how long the answer holds (1 ms up to
 * 64 ms), and only a clean one while polling resets it. A workload we
 * would hurt pays at most 1 ms of it every 64 ms.
 *
 * Nor does a loop that is busy anyway poll. Each event caught early is
 * handled alone: a flood of UDP datagrams polled for came one per
 * recvmmsg(), and at 0.4x the rate of --busy-poll=0, whose sleeps let
 * them gather into batches (our own CPU time does not show in PSI as a
 * wait). So the loop's share of working time is measured in windows of
 * SPIN_SAMPLE_NS; SPIN_BUSY_WINDOWS of them in a row above SPIN_BUSY_PCT
 * stop polling for SPIN_BUSY_HOLD_NS, renewed by each window above it.
 * Request/response traffic, whose windows now and then count a
 * preemption as work, must keep its polling: a single busy window does
 * not stop it, and a lower mark to poll again (hysteresis) kept it off
 * for good once it had stopped (it works about half the time). What
 * keeps a flood from polling once it has stopped is its batches: a loop
 * that sleeps finds them full, and an engine that reads a full one says
 * so (ring_plenty(), spin_plenty()), which renews the hold; without that,
 * its share fell below the mark as soon as it slept, and it polled again
 * (0.51x of --busy-poll=0).
 * Request/response traffic, which polling is for, works about half the
 * time; a flood of datagrams nearly all of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spin.h"

void spin_init(struct spin *s, unsigned max_us)
{
	s->max_ns = (uint64_t)max_us * 1000;
	s->ns = 0;
	s->src = -1;
	s->psi = false;
	s->ncpu = 0;
	s->sampled_ns = 0;
	s->stall_us = 0;
	s->hold_ns = SPIN_SAMPLE_NS;
	s->spare = true;
	s->work_ns = 0;
	s->window_ns = 0;
	s->busy = false;
	s->busy_until_ns = 0;
	s->busy_windows = 0;
}

void spin_plenty(struct spin *s, uint64_t now_ns)
{
	s->busy = true;
	s->busy_until_ns = now_ns + SPIN_BUSY_HOLD_NS;
}

void spin_work(struct spin *s, uint64_t work_ns, uint64_t now_ns)
{
	uint64_t span;

	if (!s->window_ns) {
		s->window_ns = now_ns;
		return;
	}
	s->work_ns += work_ns;
	span = now_ns - s->window_ns;
	if (span < SPIN_SAMPLE_NS)
		return;
	/* the loop's share measured while it does not poll is lower than
	 * while it does: a busy loop looks idle one window after it stops,
	 * so once busy it stays so for a hold, renewed by a busy window */
	if (s->work_ns * 100 > span * SPIN_BUSY_PCT) {
		if (s->busy || ++s->busy_windows >= SPIN_BUSY_WINDOWS) {
			s->busy = true;
			s->busy_until_ns = now_ns + SPIN_BUSY_HOLD_NS;
		}
	} else if (!s->busy) {
		s->busy_windows = 0;
	} else if (now_ns >= s->busy_until_ns) {
		s->busy = false;
		s->busy_windows = 0;
	}
	s->work_ns = 0;
	s->window_ns = now_ns;
}

/**
 * read_src() - The source's text, from its start
 * @s:		window
 * @buf:	room for it
 * @len:	size of @buf
 *
 * Return: bytes read (NUL-terminated), or 0 on failure
 */
static size_t read_src(struct spin *s, char *buf, size_t len)
{
	ssize_t n = pread(s->src, buf, len - 1, 0);

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return (size_t)n;
}

/**
 * open_psi() - Take @pressure as the source if it reads as PSI (a kernel
 * built with it but booted psi=0 has the file and refuses reads)
 * @s:		window
 * @pressure:	its path
 *
 * Return: whether it did
 */
static bool open_psi(struct spin *s, const char *pressure)
{
	char buf[256];

	s->src = open(pressure, O_RDONLY | O_CLOEXEC);
	if (s->src < 0)
		return false;
	if (read_src(s, buf, sizeof(buf)) && spin_stall_us(buf) >= 0) {
		s->psi = true;
		return true;
	}
	close(s->src);
	s->src = -1;
	return false;
}

void spin_watch(struct spin *s, const char *pressure, const char *loadavg,
		unsigned ncpu)
{
	spin_free(s);
	if (!s->max_ns)
		return;
	s->sampled_ns = 0;
	s->hold_ns = SPIN_SAMPLE_NS;
	s->spare = true;
	if (pressure && open_psi(s, pressure))
		return;
	if (!ncpu)
		return;
	s->src = open(loadavg, O_RDONLY | O_CLOEXEC);
	s->ncpu = ncpu;
}

void spin_free(struct spin *s)
{
	if (s->src >= 0)
		close(s->src);
	s->src = -1;
	s->psi = false;
}

int spin_runnable(const char *loadavg)
{
	const char *slash = strchr(loadavg, '/'), *p = slash;

	if (!slash || slash == loadavg)
		return -1;
	while (p > loadavg && p[-1] >= '0' && p[-1] <= '9')
		p--;
	if (p == slash)
		return -1;
	return atoi(p);
}

int64_t spin_stall_us(const char *pressure)
{
	const char *p = strstr(pressure, "some ");
	const char *nl, *total;
	unsigned long long v;
	char *end;

	if (p != pressure && (!p || p[-1] != '\n'))
		return -1;
	nl = strchr(p, '\n');
	total = strstr(p, " total=");
	if (!total || (nl && total > nl))
		return -1;
	total += strlen(" total=");
	if (*total < '0' || *total > '9')
		return -1;
	errno = 0;
	v = strtoull(total, &end, 10);
	if (errno || (*end && *end != '\n' && *end != ' ') || v > INT64_MAX)
		return -1;
	return (int64_t)v;
}

/**
 * psi_spare() - From a fresh PSI reading: had tasks waited for a CPU no
 * more than 1/SPIN_STALL_DIV of the time since the last one?
 * @s:		window (its last reading)
 * @span_ns:	time since the last reading; 0: there was none
 * @stall_us:	the reading's total
 *
 * The first reading has nothing to compare with and says yes.
 * Return: whether a CPU was to spare
 */
static bool psi_spare(struct spin *s, uint64_t span_ns, uint64_t stall_us)
{
	uint64_t last = s->stall_us;

	s->stall_us = stall_us;
	if (!span_ns || stall_us < last)
		return true;
	return (stall_us - last) * 1000 * SPIN_STALL_DIV <= span_ns;
}

/**
 * sample() - Read the source once more, and decide
 * @s:		window
 * @now_ns:	now
 *
 * A reading that fails keeps the last answer, and counts as one: the loop
 * does not read again on every wait.
 */
static void sample(struct spin *s, uint64_t now_ns)
{
	uint64_t span = s->sampled_ns ? now_ns - s->sampled_ns : 0;
	char buf[256];
	bool spare;
	int64_t v;

	s->sampled_ns = now_ns;
	if (!read_src(s, buf, sizeof(buf)))
		return;
	if (!s->psi) {
		v = spin_runnable(buf);
		if (v >= 0)
			s->spare = (uint64_t)v <= s->ncpu;
		return;
	}
	v = spin_stall_us(buf);
	if (v < 0)
		return;
	spare = psi_spare(s, span, (uint64_t)v);
	/* only what happened while we were allowed to poll moves the hold */
	if (s->spare && !spare && s->hold_ns < SPIN_HOLD_MAX_NS)
		s->hold_ns *= 2;
	else if (s->spare && spare)
		s->hold_ns = SPIN_SAMPLE_NS;
	s->spare = spare;
}

bool spin_cpu_spare(struct spin *s, uint64_t now_ns)
{
	uint64_t every = s->spare ? SPIN_SAMPLE_NS : s->hold_ns;

	if (s->src < 0)
		return true;
	if (!s->sampled_ns || now_ns - s->sampled_ns >= every)
		sample(s, now_ns);
	return s->spare;
}

void spin_adapt(struct spin *s, uint64_t slept_ns, bool timed_out)
{
	if (!s->max_ns)
		return;
	if (slept_ns > s->max_ns) {
		s->ns /= 2;
		if (s->ns < SPIN_START_NS)
			s->ns = 0;
		return;
	}
	if (timed_out)
		return;
	s->ns = s->ns ? s->ns * 2 : SPIN_START_NS;
	if (s->ns > s->max_ns)
		s->ns = s->max_ns;
}

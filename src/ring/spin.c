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
 * cores, one stream from the namespace through libslirp has three busy
 * tasks (the sender, us, the host's receiver): a CPU that polls is never
 * idle, so the scheduler puts the woken receiver next to the sender, and
 * the stream ran at 0.55x of --busy-poll=0 (yielding between polls did
 * not help: placement looks for an idle CPU, not a yielding one). So the
 * loop polls only while the tasks ready to run, us included, are no more
 * than the CPUs (/proc/loadavg, read once a millisecond): the same
 * benchmark run then kept every throughput row at or above
 * --busy-poll=0 (that stream 1.06x) and the latency and connection-rate
 * gains of polling (0.40x, 1.34x).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spin.h"

void spin_init(struct spin *s, unsigned max_us)
{
	s->max_ns = (uint64_t)max_us * 1000;
	s->ns = 0;
	s->loadavg = -1;
	s->ncpu = 0;
	s->sampled_ns = 0;
	s->spare = true;
}

void spin_watch(struct spin *s, const char *loadavg, unsigned ncpu)
{
	spin_free(s);
	if (!s->max_ns || !ncpu)
		return;
	s->loadavg = open(loadavg, O_RDONLY | O_CLOEXEC);
	s->ncpu = ncpu;
	s->sampled_ns = 0;
}

void spin_free(struct spin *s)
{
	if (s->loadavg >= 0)
		close(s->loadavg);
	s->loadavg = -1;
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

bool spin_cpu_spare(struct spin *s, uint64_t now_ns)
{
	char buf[128];
	ssize_t n;
	int running;

	if (s->loadavg < 0)
		return true;
	if (s->sampled_ns && now_ns - s->sampled_ns < SPIN_SAMPLE_NS)
		return s->spare;
	s->sampled_ns = now_ns;
	n = pread(s->loadavg, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return s->spare;
	buf[n] = '\0';
	running = spin_runnable(buf);
	if (running >= 0)
		s->spare = (unsigned)running <= s->ncpu;
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

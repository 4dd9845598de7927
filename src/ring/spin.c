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
 */
#include "spin.h"

void spin_init(struct spin *s, unsigned max_us)
{
	s->max_ns = (uint64_t)max_us * 1000;
	s->ns = 0;
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

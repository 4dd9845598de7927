// SPDX-License-Identifier: GPL-2.0-or-later
/* timers.c - a short list of one-shot timers. A callback may re-arm or
 * delete any timer, including its own, so timers_run() restarts its walk
 * after each one it fires. */
#include <stdbool.h>
#include <stdlib.h>

#include "timers.h"

struct timer {
	struct timer *next;
	int64_t expire_ms;
	bool armed;
	timer_fn fn;
	void *a, *b;
};

struct timers {
	struct timer *head;
};

struct timers *timers_new(void)
{
	return calloc(1, sizeof(struct timers));
}

void timers_free(struct timers *t)
{
	if (!t)
		return;
	while (t->head)
		timers_del(t, t->head);
	free(t);
}

struct timer *timers_add(struct timers *t, timer_fn fn, void *a, void *b)
{
	struct timer *tm = calloc(1, sizeof(*tm));

	if (!tm)
		return NULL;
	*tm = (struct timer){ t->head, 0, false, fn, a, b };
	t->head = tm;
	return tm;
}

void timers_del(struct timers *t, struct timer *tm)
{
	for (struct timer **p = &t->head; *p; p = &(*p)->next) {
		if (*p == tm) {
			*p = tm->next;
			free(tm);
			return;
		}
	}
}

bool timers_armed(const struct timer *tm)
{
	return tm->armed;
}

void timers_mod(struct timer *tm, int64_t expire_ms)
{
	tm->expire_ms = expire_ms;
	tm->armed = true;
}

int64_t timers_timeout(const struct timers *t, int64_t now_ms)
{
	int64_t best = -1;

	for (const struct timer *tm = t->head; tm; tm = tm->next) {
		int64_t left;

		if (!tm->armed)
			continue;
		left = tm->expire_ms > now_ms ? tm->expire_ms - now_ms : 0;
		if (best < 0 || left < best)
			best = left;
	}
	return best;
}

unsigned timers_run(struct timers *t, int64_t now_ms)
{
	unsigned fired = 0;
	struct timer *tm;

again:
	for (tm = t->head; tm; tm = tm->next) {
		if (tm->armed && tm->expire_ms <= now_ms) {
			tm->armed = false;
			fired++;
			tm->fn(tm->a, tm->b);
			goto again;
		}
	}
	return fired;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_TIMERS_H
#define S4_TIMERS_H

#include <stdbool.h>
#include <stdint.h>

/* libslirp's timers (SlirpCb.timer_*), folded into the ring's wait timeout:
 * no timerfd, no TIMEOUT SQE. libslirp 4.7 has one (router advertisements). */
struct timers;
struct timer;

typedef void (*timer_fn)(void *a, void *b);

struct timers *timers_new(void);
void timers_free(struct timers *t);
struct timer *timers_add(struct timers *t, timer_fn fn, void *a, void *b);
void timers_del(struct timers *t, struct timer *tm);
void timers_mod(struct timer *tm, int64_t expire_ms);
bool timers_armed(const struct timer *tm);

/**
 * timers_timeout() - How long the loop may sleep
 * @t:		timers
 * @now_ms:	current time
 * Return: milliseconds until the earliest armed timer (0 if one is due),
 *	   -1 if none is armed
 */
int64_t timers_timeout(const struct timers *t, int64_t now_ms);

/**
 * timers_run() - Fire every timer that is due, each once
 * @t:		timers
 * @now_ms:	current time
 * Return: how many fired
 */
unsigned timers_run(struct timers *t, int64_t now_ms);

#endif

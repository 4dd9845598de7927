// SPDX-License-Identifier: GPL-2.0-or-later
/* The timer list libslirp's timers live in. */
#include <criterion/criterion.h>

#include "timers.h"

static int fired_a, fired_b;

static void count(void *a, void *b)
{
	(void)b;
	(*(int *)a)++;
}

Test(timers, timeout_and_run)
{
	struct timers *t = timers_new();
	struct timer *a = timers_add(t, count, &fired_a, NULL);
	struct timer *b = timers_add(t, count, &fired_b, NULL);

	cr_assert_eq(timers_timeout(t, 1000), -1, "nothing armed");
	timers_mod(a, 1500);
	timers_mod(b, 1200);
	cr_assert_eq(timers_timeout(t, 1000), 200);
	cr_assert_eq(timers_run(t, 1199), 0);
	cr_assert_eq(timers_run(t, 1200), 1);
	cr_assert_eq(fired_b, 1);
	cr_assert_eq(timers_timeout(t, 1200), 300);
	cr_assert_eq(timers_timeout(t, 2000), 0, "overdue means now");
	cr_assert_eq(timers_run(t, 2000), 1);
	cr_assert_eq(fired_a, 1);
	cr_assert_eq(timers_run(t, 3000), 0, "one-shot");
	timers_free(t);
}

static struct timers *self_t;
static struct timer *self_tm;
static int rearms;

static void rearm(void *a, void *b)
{
	(void)a;
	(void)b;
	if (++rearms < 3)
		timers_mod(self_tm, 10);
}

Test(timers, callback_rearms_itself)
{
	self_t = timers_new();
	self_tm = timers_add(self_t, rearm, NULL, NULL);
	timers_mod(self_tm, 10);
	cr_assert_eq(timers_run(self_t, 100), 3, "re-armed into the past");
	cr_assert_eq(timers_timeout(self_t, 100), -1);
	timers_free(self_t);
}

static struct timer *victim;

static void del_victim(void *a, void *b)
{
	(void)a;
	(void)b;
	timers_del(self_t, victim);
}

Test(timers, callback_deletes_itself)
{
	struct timer *other;

	fired_b = 0;
	self_t = timers_new();
	victim = timers_add(self_t, del_victim, NULL, NULL);
	other = timers_add(self_t, count, &fired_b, NULL);
	timers_mod(victim, 5);
	timers_mod(other, 5);
	cr_assert_eq(timers_run(self_t, 5), 2);
	cr_assert_eq(fired_b, 1);
	timers_free(self_t);
}

// SPDX-License-Identifier: GPL-2.0-or-later
/* The busy-poll window: how it follows the gaps between events. */
#include <criterion/criterion.h>

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

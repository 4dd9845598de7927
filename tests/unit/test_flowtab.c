// SPDX-License-Identifier: GPL-2.0-or-later
/* The UDP flow table: lookup by endpoints, age order, a bound. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "fwd/flowtab.h"

/* the key of 10.0.2.100:@sport -> 198.51.100.1:@dport */
static struct flow_key key4(uint16_t sport, uint16_t dport)
{
	struct sockaddr_storage a = { 0 }, b = { 0 };
	struct sockaddr_in *x = (void *)&a, *y = (void *)&b;
	struct flow_key k;

	x->sin_family = y->sin_family = AF_INET;
	inet_pton(AF_INET, "10.0.2.100", &x->sin_addr);
	inet_pton(AF_INET, "198.51.100.1", &y->sin_addr);
	x->sin_port = htons(sport);
	y->sin_port = htons(dport);
	cr_assert_eq(flowtab_key(&k, &a, &b), 0);
	return k;
}

Test(flowtab, finds_what_was_added)
{
	struct flowtab *t = flowtab_new(8);
	struct flow_key k1 = key4(1000, 53), k2 = key4(1001, 53),
			k3 = key4(1000, 54);
	int a = flowtab_add(t, &k1, 1), b = flowtab_add(t, &k2, 2);

	cr_assert(a >= 0 && b >= 0 && a != b);
	cr_assert_eq(flowtab_find(t, &k1), a);
	cr_assert_eq(flowtab_find(t, &k2), b);
	cr_assert_eq(flowtab_find(t, &k3), -1, "another port, another flow");
	cr_assert_eq(flowtab_count(t), 2);
	flowtab_del(t, a);
	cr_assert_eq(flowtab_find(t, &k1), -1);
	cr_assert_eq(flowtab_find(t, &k2), b);
	cr_assert_eq(flowtab_count(t), 1);
	flowtab_free(t);
}

Test(flowtab, full_until_one_goes)
{
	struct flowtab *t = flowtab_new(3);
	struct flow_key k;

	for (int i = 0; i < 3; i++) {
		k = key4(2000 + i, 53);
		cr_assert(flowtab_add(t, &k, i) >= 0);
	}
	k = key4(3000, 53);
	cr_assert_eq(flowtab_add(t, &k, 9), -ENOSPC);
	flowtab_del(t, flowtab_oldest(t, NULL));
	cr_assert(flowtab_add(t, &k, 9) >= 0);
	flowtab_free(t);
}

/* the oldest is the least recently used, not the first added */
Test(flowtab, oldest_by_last_use)
{
	struct flowtab *t = flowtab_new(4);
	struct flow_key k[4];
	int s[4];
	int64_t last;

	for (int i = 0; i < 4; i++) {
		k[i] = key4(4000 + i, 53);
		s[i] = flowtab_add(t, &k[i], 10 + i);
	}
	cr_assert_eq(flowtab_oldest(t, &last), s[0]);
	cr_assert_eq(last, 10);
	flowtab_touch(t, s[0], 20); /* a client that keeps talking */
	cr_assert_eq(flowtab_oldest(t, &last), s[1]);
	cr_assert_eq(last, 11);
	flowtab_touch(t, s[3], 21); /* the newest already: still last out */
	flowtab_del(t, s[1]);
	cr_assert_eq(flowtab_oldest(t, NULL), s[2]);
	flowtab_del(t, s[2]);
	cr_assert_eq(flowtab_oldest(t, NULL), s[0]);
	flowtab_del(t, s[0]);
	cr_assert_eq(flowtab_oldest(t, NULL), s[3]);
	flowtab_del(t, s[3]);
	cr_assert_eq(flowtab_oldest(t, NULL), -1);
	cr_assert_eq(flowtab_count(t), 0);
	flowtab_free(t);
}

/* a flood that cycles the whole table many times over: every flow stays
 * findable while it is in, and the table gives back exactly its size */
Test(flowtab, churn_keeps_it_whole)
{
	enum { MAX = 64, ROUNDS = 5000 };
	struct flowtab *t = flowtab_new(MAX);

	for (int i = 0; i < ROUNDS; i++) {
		struct flow_key k = key4(i % 60000, 53);
		int s = flowtab_add(t, &k, i);

		if (s == -ENOSPC) {
			flowtab_del(t, flowtab_oldest(t, NULL));
			s = flowtab_add(t, &k, i);
		}
		cr_assert(s >= 0);
		cr_assert_eq(flowtab_find(t, &k), s);
	}
	cr_assert_eq(flowtab_count(t), MAX);
	for (int i = ROUNDS - MAX; i < ROUNDS; i++) {
		struct flow_key k = key4(i % 60000, 53);

		cr_assert(flowtab_find(t, &k) >= 0, "the newest %d stay", MAX);
	}
	for (int i = 0; i < MAX; i++)
		flowtab_del(t, flowtab_oldest(t, NULL));
	cr_assert_eq(flowtab_oldest(t, NULL), -1);
	flowtab_free(t);
}

Test(flowtab, key_wants_one_family)
{
	struct sockaddr_storage a = { .ss_family = AF_INET },
				b = { .ss_family = AF_INET6 };
	struct flow_key k;

	cr_assert_eq(flowtab_key(&k, &a, &b), -EAFNOSUPPORT);
	b.ss_family = AF_UNIX;
	a.ss_family = AF_UNIX;
	cr_assert_eq(flowtab_key(&k, &a, &b), -EAFNOSUPPORT);
}

/* slots are taken in order the first time, freed ones first after that,
 * and only a flow's slot counts as used */
Test(flowtab, slots_in_order_and_used)
{
	struct flowtab *t = flowtab_new(8);
	struct flow_key a = key4(1, 1), b = key4(2, 2), c = key4(3, 3);
	int sa = flowtab_add(t, &a, 0), sb = flowtab_add(t, &b, 0), sc;

	cr_assert_eq(sa, 0);
	cr_assert_eq(sb, 1);
	cr_assert(flowtab_used(t, 0) && flowtab_used(t, 1));
	cr_assert(!flowtab_used(t, 2), "never taken");
	cr_assert(!flowtab_used(t, 99), "out of range");
	flowtab_del(t, sa);
	cr_assert(!flowtab_used(t, 0), "freed");
	sc = flowtab_add(t, &c, 0);
	cr_assert_eq(sc, 0, "a freed slot first");
	flowtab_free(t);
}

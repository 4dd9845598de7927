// SPDX-License-Identifier: GPL-2.0-or-later
/* flowtab.c - a bounded table of UDP flows, by endpoints and by age.
 *
 * DOC: Theory of Operation
 * UDP has no connection to end a flow: a flow lives until it has been
 * idle long enough, or until a newer one needs its room. Both want the
 * flows in order of last use, so each slot sits on one doubly linked list,
 * newest at the head: a datagram moves its flow to the head, the idle
 * sweep walks from the tail and stops at the first flow still in use, and
 * a full table gives up its tail. A flood of new flows (one sender, many
 * source ports) then pushes out its own older flows first, and a client
 * that keeps talking keeps its flow.
 *
 * Lookup is a hash of the two endpoints into chains of slot numbers, so
 * that a datagram costs the same with 10 flows or 10,000. The table owns
 * no fds: the caller keeps what a flow holds in an array indexed by slot,
 * and closes it before flowtab_del().
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "flowtab.h"

enum { NONE = -1 };

struct slot {
	struct flow_key key;
	int64_t last;
	int prev, next; /* the age list: prev is newer */
	int chain;	/* the next slot in the same hash bucket */
	bool used;
};

struct flowtab {
	struct slot *s;
	int *bucket; /* nbuckets heads of chains */
	unsigned max, count, nbuckets;
	unsigned high; /* slots from here on were never used */
	int newest, oldest;
	int free; /* freed slots, chained by next */
};

int flowtab_key(struct flow_key *k, const struct sockaddr_storage *a,
		const struct sockaddr_storage *b)
{
	memset(k, 0, sizeof(*k));
	if (a->ss_family != b->ss_family)
		return -EAFNOSUPPORT;
	k->family = a->ss_family;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a,
					 *y = (const void *)b;

		memcpy(k->a, &x->sin_addr, 4);
		memcpy(k->b, &y->sin_addr, 4);
		k->aport = x->sin_port;
		k->bport = y->sin_port;
		return 0;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a,
					  *y = (const void *)b;

		memcpy(k->a, &x->sin6_addr, 16);
		memcpy(k->b, &y->sin6_addr, 16);
		k->aport = x->sin6_port;
		k->bport = y->sin6_port;
		return 0;
	}
	return -EAFNOSUPPORT;
}

/* FNV-1a over the key: the bytes are the peer's choice, but a chain can
 * be no longer than the table */
static unsigned hash(const struct flowtab *t, const struct flow_key *k)
{
	const uint8_t *p = (const uint8_t *)k;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 16777619u;
	return h % t->nbuckets;
}

struct flowtab *flowtab_new(unsigned max)
{
	struct flowtab *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->max = max ? max : 1;
	t->nbuckets = t->max * 2 + 1;
	t->s = calloc(t->max, sizeof(*t->s));
	t->bucket = malloc(t->nbuckets * sizeof(*t->bucket));
	if (!t->s || !t->bucket) {
		flowtab_free(t);
		return NULL;
	}
	for (unsigned i = 0; i < t->nbuckets; i++)
		t->bucket[i] = NONE;
	/* slots are taken in order the first time: a table that never fills
	 * leaves the rest of its calloc()ed pages untouched */
	t->high = 0;
	t->free = NONE;
	t->newest = t->oldest = NONE;
	return t;
}

void flowtab_free(struct flowtab *t)
{
	if (!t)
		return;
	free(t->s);
	free(t->bucket);
	free(t);
}

unsigned flowtab_max(const struct flowtab *t)
{
	return t->max;
}

unsigned flowtab_count(const struct flowtab *t)
{
	return t->count;
}

bool flowtab_used(const struct flowtab *t, unsigned i)
{
	return i < t->max && t->s[i].used;
}

int flowtab_find(const struct flowtab *t, const struct flow_key *k)
{
	for (int i = t->bucket[hash(t, k)]; i != NONE; i = t->s[i].chain)
		if (!memcmp(&t->s[i].key, k, sizeof(*k)))
			return i;
	return NONE;
}

/* take slot @i off the age list */
static void unlink_age(struct flowtab *t, int i)
{
	struct slot *s = &t->s[i];

	if (s->prev != NONE)
		t->s[s->prev].next = s->next;
	else
		t->newest = s->next;
	if (s->next != NONE)
		t->s[s->next].prev = s->prev;
	else
		t->oldest = s->prev;
}

/* put slot @i at the head of the age list */
static void push_newest(struct flowtab *t, int i)
{
	struct slot *s = &t->s[i];

	s->prev = NONE;
	s->next = t->newest;
	if (t->newest != NONE)
		t->s[t->newest].prev = i;
	t->newest = i;
	if (t->oldest == NONE)
		t->oldest = i;
}

int flowtab_add(struct flowtab *t, const struct flow_key *k, int64_t now)
{
	unsigned b = hash(t, k);
	int i = t->free;

	if (i != NONE)
		t->free = t->s[i].next;
	else if (t->high < t->max)
		i = t->high++;
	else
		return -ENOSPC;
	t->s[i] = (struct slot){ .key = *k, .last = now, .used = true,
				 .chain = t->bucket[b] };
	t->bucket[b] = i;
	push_newest(t, i);
	t->count++;
	return i;
}

void flowtab_touch(struct flowtab *t, unsigned i, int64_t now)
{
	t->s[i].last = now;
	if (t->newest == (int)i)
		return;
	unlink_age(t, i);
	push_newest(t, i);
}

int flowtab_oldest(const struct flowtab *t, int64_t *last)
{
	if (t->oldest != NONE && last)
		*last = t->s[t->oldest].last;
	return t->oldest;
}

void flowtab_del(struct flowtab *t, unsigned i)
{
	int *p = &t->bucket[hash(t, &t->s[i].key)];

	if (!t->s[i].used)
		return;
	while (*p != (int)i)
		p = &t->s[*p].chain;
	*p = t->s[i].chain;
	unlink_age(t, i);
	t->s[i].used = false;
	t->s[i].next = t->free;
	t->free = i;
	t->count--;
}

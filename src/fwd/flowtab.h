/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_FLOWTAB_H
#define S4_FLOWTAB_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* A bounded table of UDP flows: slots found by their two endpoints, kept
 * in order of last use so that the least recently used one can make room
 * and the idle ones are found oldest first (see flowtab.c). What a flow
 * holds (its sockets) is the caller's, in an array of its own indexed by
 * slot. */
struct flowtab;

/* Two endpoints, compared byte for byte: built by flowtab_key() only. */
struct flow_key {
	uint8_t family;
	uint8_t pad;
	uint16_t aport, bport; /* network order */
	uint8_t a[16], b[16];
};

/* @a, @b (AF_INET or AF_INET6, one family) as a key; -EAFNOSUPPORT for
 * anything else. */
int flowtab_key(struct flow_key *k, const struct sockaddr_storage *a,
		const struct sockaddr_storage *b);

/* Room for @max flows (at least 1); NULL without memory. */
struct flowtab *flowtab_new(unsigned max);
void flowtab_free(struct flowtab *t);

unsigned flowtab_max(const struct flowtab *t);
unsigned flowtab_count(const struct flowtab *t);

/* Is slot @i a flow's? */
bool flowtab_used(const struct flowtab *t, unsigned i);

/* The slot of @k, or -1. */
int flowtab_find(const struct flowtab *t, const struct flow_key *k);

/* A free slot for @k, used at @now, or -ENOSPC when full (evict the
 * oldest first) */
int flowtab_add(struct flowtab *t, const struct flow_key *k, int64_t now);

/* Slot @i was used at @now: it becomes the newest. */
void flowtab_touch(struct flowtab *t, unsigned i, int64_t now);

/* The least recently used slot, or -1 if none; its last use in @last */
int flowtab_oldest(const struct flowtab *t, int64_t *last);

/* Free slot @i. */
void flowtab_del(struct flowtab *t, unsigned i);

#endif

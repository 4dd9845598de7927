/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_POLLSET_H
#define S4_POLLSET_H

#include "../ring/ring.h"
#include "../timers.h"

/* libslirp's socket polling (slirp_pollfds_fill/poll) on ring polls. */
struct pollset;

struct pollset *pollset_new(struct ring *r, struct timers *t);
void pollset_free(struct pollset *ps);

/* implements SlirpAddPollCb: returns the index get_revents gets back */
int pollset_add(struct pollset *ps, int fd, int slirp_events);
/* implements SlirpGetREventsCb */
int pollset_revents(struct pollset *ps, int idx);
/* @fd is a forward's listener: not polled for new connections when fds are
 * nearly exhausted (see pollset.c). Forgotten on unregister. */
void pollset_listener(struct pollset *ps, int fd);
/* implements SlirpCb.unregister_poll_fd */
void pollset_unregister(struct pollset *ps, int fd);

/* After a fill: arm new fds, update changed masks, remove the rest. */
void pollset_sync(struct pollset *ps);
/* A RING_SPOLL completion. */
void pollset_complete(struct pollset *ps, union ring_ref ref, int res);
/* After slirp_pollfds_poll(): forget this fill and its events. */
void pollset_reset(struct pollset *ps);

unsigned pollset_armed(const struct pollset *ps);

#endif

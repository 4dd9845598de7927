// SPDX-License-Identifier: GPL-2.0-or-later
/* pollset.c - libslirp's socket polling on oneshot ring polls.
 *
 * DOC: Theory of Operation
 * Each loop iteration libslirp lists the fds it wants watched
 * (slirp_pollfds_fill -> pollset_add). pollset_sync() then makes the ring's
 * polls match that list: POLL_ADD for an fd with no poll armed, a poll update
 * for a changed mask, POLL_REMOVE for an armed fd no longer listed. A fired
 * poll is oneshot: its events are kept for get_revents, the fd is no longer
 * armed, and the next sync arms it again. Arming runs the file's poll
 * handler, so a socket that still has data fires at once: level-triggered,
 * as libslirp needs (it reads at most what its buffer has room for).
 *
 * Per fd, @gen goes into user_data and changes on every removal, so a
 * completion for a closed fd whose number is reused is dropped.
 *
 * Rules that each cost the prototype a bug (DESIGN.md §3):
 * - POLLPRI is never requested. A poll CQE's result is the wakeup key, and
 *   ordinary TCP data wakes with EPOLLIN|EPOLLPRI: libslirp would read it as
 *   urgent data and the guest would lose bytes.
 * - Updates use IORING_POLL_UPDATE_EVENTS with new user_data 0, and one
 *   the kernel refused (-EALREADY: it was running the poll's wake-up) is
 *   asked for again, else the old mask stays armed (ring_poll_update()).
 * - unregister_poll_fd must remove the armed poll: it holds a reference on
 *   the file, so libslirp's close() would not send FIN until it went away.
 *
 * Forward listeners (pollset_listener()) get one more rule. When accept()
 * fails, libslirp drops nothing and asks for the listener again, which is
 * still readable: at RLIMIT_NOFILE that is a busy loop that never lets the
 * process catch up. So a listener's POLLIN is only passed on while
 * fdlimit_room() says yes; otherwise every listener is held (not polled
 * for input) for HOLD_MS and clients wait in the backlog.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <slirp/libslirp.h>

#include "../fdlimit.h"
#include "../log.h"
#include "pollset.h"
#include "../clock.h"

enum {
	HOLD_MS = 100,
	HOLD_LOG_MS = 60 * 1000, /* one warning per minute at most */
};

struct pfd {
	uint16_t gen;
	bool armed;
	bool listed; /* in this iteration's fill */
	bool listener; /* a forward's listening socket */
	short armed_mask;
	short want;
	short revents;
};

struct pollset {
	struct ring *ring;
	struct pfd *fds; /* indexed by fd */
	unsigned nfds;
	int *fill; /* fill index -> fd */
	unsigned nfill, cap_fill;
	int *armed; /* fds with a poll in the kernel */
	unsigned narmed, cap_armed;
	struct timers *timers;
	struct timer *resume; /* ends a hold */
	bool held; /* listeners not polled for input */
	int64_t warned_ms;
};

/* timer callback: the hold is over, listeners are polled again */
static void resume(void *a, void *b)
{
	struct pollset *ps = a;

	(void)b;
	ps->held = false;
}

struct pollset *pollset_new(struct ring *r, struct timers *t)
{
	struct pollset *ps = calloc(1, sizeof(*ps));

	if (!ps)
		return NULL;
	ps->ring = r;
	ps->timers = t;
	ps->resume = timers_add(t, resume, ps, NULL);
	ps->warned_ms = -HOLD_LOG_MS;
	if (!ps->resume) {
		free(ps);
		return NULL;
	}
	return ps;
}

void pollset_free(struct pollset *ps)
{
	if (!ps)
		return;
	timers_del(ps->timers, ps->resume);
	free(ps->fds);
	free(ps->fill);
	free(ps->armed);
	free(ps);
}

unsigned pollset_armed(const struct pollset *ps)
{
	return ps->narmed;
}

static bool grow(void **p, unsigned *cap, unsigned need, size_t elem)
{
	unsigned n = *cap ? *cap : 64;
	void *q;

	if (need <= *cap)
		return true;
	while (n < need)
		n *= 2;
	q = realloc(*p, (size_t)n * elem);
	if (!q)
		return false;
	memset((char *)q + (size_t)*cap * elem, 0, (size_t)(n - *cap) * elem);
	*p = q;
	*cap = n;
	return true;
}

static short to_poll(int ev)
{
	return (ev & SLIRP_POLL_IN ? POLLIN : 0) |
	       (ev & SLIRP_POLL_OUT ? POLLOUT : 0);
}

static int to_slirp(short ev)
{
	return (ev & POLLIN ? SLIRP_POLL_IN : 0) |
	       (ev & POLLOUT ? SLIRP_POLL_OUT : 0) |
	       (ev & POLLERR ? SLIRP_POLL_ERR : 0) |
	       (ev & POLLHUP ? SLIRP_POLL_HUP : 0);
}

void pollset_listener(struct pollset *ps, int fd)
{
	if (fd >= 0 &&
	    grow((void **)&ps->fds, &ps->nfds, fd + 1, sizeof(*ps->fds)))
		ps->fds[fd].listener = true;
}

/* What the kernel should watch for @p now: a held listener not input. */
static short want_now(const struct pollset *ps, const struct pfd *p)
{
	return ps->held && p->listener ? p->want & ~POLLIN : p->want;
}

/**
 * hold() - Stop polling listeners for input for a while
 * @ps:		pollset
 */
static void hold(struct pollset *ps)
{
	int64_t now = clock_now_ms();

	ps->held = true;
	timers_mod(ps->resume, now + HOLD_MS);
	if (now - ps->warned_ms >= HOLD_LOG_MS) {
		ps->warned_ms = now;
		log_warn("too many open files (limit %lu): forwarded ports "
			 "stop accepting until some close",
			 fdlimit_max());
	}
}

int pollset_add(struct pollset *ps, int fd, int slirp_events)
{
	struct pfd *p;

	if (fd < 0 || !grow((void **)&ps->fds, &ps->nfds, fd + 1,
			    sizeof(*ps->fds)) ||
	    !grow((void **)&ps->fill, &ps->cap_fill, ps->nfill + 1,
		  sizeof(*ps->fill)))
		return -1; /* libslirp then just doesn't see events for it */
	p = &ps->fds[fd];
	if (!p->listed)
		p->want = 0;
	p->listed = true;
	p->want |= to_poll(slirp_events);
	ps->fill[ps->nfill] = fd;
	return ps->nfill++;
}

int pollset_revents(struct pollset *ps, int idx)
{
	struct pfd *p;

	if (idx < 0 || (unsigned)idx >= ps->nfill)
		return 0;
	p = &ps->fds[ps->fill[idx]];
	return to_slirp(p->revents & (p->want | POLLERR | POLLHUP));
}

static void disarm(struct pollset *ps, int fd, unsigned armed_idx)
{
	struct pfd *p = &ps->fds[fd];

	ring_poll_remove(ps->ring, ring_ref(RING_SPOLL, p->gen, fd));
	p->gen++;
	p->armed = false;
	p->revents = 0;
	ps->armed[armed_idx] = ps->armed[--ps->narmed];
}

void pollset_unregister(struct pollset *ps, int fd)
{
	if (fd < 0 || (unsigned)fd >= ps->nfds)
		return;
	ps->fds[fd].listener = false;
	if (!ps->fds[fd].armed)
		return;
	for (unsigned i = 0; i < ps->narmed; i++) {
		if (ps->armed[i] == fd) {
			disarm(ps, fd, i);
			return;
		}
	}
}

/**
 * arm() - Arm or update the poll of one listed fd
 * @ps:		pollset
 * @fd:		a listed fd with a non-empty mask
 * Return: false if the armed-fd table could not grow
 */
static bool arm(struct pollset *ps, int fd)
{
	struct pfd *p = &ps->fds[fd];
	short want = want_now(ps, p);

	if (p->armed) {
		if (p->armed_mask != want) {
			ring_poll_update(ps->ring,
					 ring_ref(RING_SPOLL, p->gen, fd),
					 want);
			p->armed_mask = want;
		}
		return true;
	}
	if (!grow((void **)&ps->armed, &ps->cap_armed, ps->narmed + 1,
		  sizeof(*ps->armed)))
		return false;
	ring_poll_add(ps->ring, fd, want, ring_ref(RING_SPOLL, p->gen, fd));
	p->armed = true;
	p->armed_mask = want;
	ps->armed[ps->narmed++] = fd;
	return true;
}

void pollset_sync(struct pollset *ps)
{
	/* Armed but not listed (or listed with nothing wanted): remove. */
	for (unsigned i = ps->narmed; i-- > 0;) {
		int fd = ps->armed[i];

		if (!ps->fds[fd].listed || !want_now(ps, &ps->fds[fd]))
			disarm(ps, fd, i);
	}
	for (unsigned i = 0; i < ps->nfill; i++) {
		int fd = ps->fill[i];

		if (want_now(ps, &ps->fds[fd]))
			arm(ps, fd);
	}
}

void pollset_complete(struct pollset *ps, union ring_ref ref, int res)
{
	struct pfd *p;

	if (ref.idx >= ps->nfds)
		return;
	p = &ps->fds[ref.idx];
	if (ref.op & RING_OP_UPDATE) {
		if (p->armed && p->gen == ref.gen)
			ring_poll_update_done(ps->ring, ref, res, p->armed_mask);
		return;
	}
	if (!p->armed || p->gen != ref.gen)
		return; /* removed since, or fd reused */
	for (unsigned i = 0; i < ps->narmed; i++) {
		if (ps->armed[i] == (int)ref.idx) {
			ps->armed[i] = ps->armed[--ps->narmed];
			break;
		}
	}
	p->armed = false;
	p->gen++;
	if (p->listener && res > 0 && (res & POLLIN)) {
		if (!ps->held && !fdlimit_room(ref.idx, 1))
			hold(ps);
		if (ps->held)
			res &= ~POLLIN;
	}
	/* -EBADF and friends: let libslirp look at the socket itself */
	p->revents |= res < 0 ? POLLERR : res;
}

void pollset_reset(struct pollset *ps)
{
	for (unsigned i = 0; i < ps->nfill; i++) {
		struct pfd *p = &ps->fds[ps->fill[i]];

		p->listed = false;
		p->revents = 0;
	}
	ps->nfill = 0;
}

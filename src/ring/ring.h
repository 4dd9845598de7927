/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_RING_H
#define S4_RING_H

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../err.h"

struct io_uring;

/* What a completion is for. Each type has one handler in loop.c. */
enum ring_type {
	RING_NONE,   /* nobody waits */
	RING_TAP_RX, /* idx: RX buffer */
	RING_TAP_TX, /* idx: TX slot */
	RING_TAP_POLL,
	RING_SPOLL, /* idx: fd of a libslirp socket */
	RING_EXITFD,
	RING_SIGNAL,
	RING_API_ACCEPT,
	RING_API_CONN, /* idx: client slot; op: what completed */
	RING_FWD_LISTEN, /* idx: splice listener slot */
	RING_FWD_CONN,	 /* idx: splice connection slot; op: side */
	RING_FWD_UDP_LISTEN, /* idx: UDP listener slot */
	RING_FWD_UDP_FLOW,   /* idx: UDP flow slot */
	RING_GATE_CHAN,	     /* the SYN queue's channel (fwd/gate.c) */
	RING_GATE_CONN,	     /* idx: a held SYN's host connect */
	RING_UDP_OUT_LISTEN, /* idx: family (0 IPv4, 1 IPv6) */
	RING_UDP_OUT_FLOW,   /* idx: outbound UDP flow slot; op: side */
	RING_DNS,	     /* op: what (dns/dns.c) */
	RING_NUM_TYPES,
};

extern const char *const ring_type_names[RING_NUM_TYPES];

/* user_data: the type, a free byte, a generation that rejects completions
 * for a slot (or fd) that has since been reused, and the slot. */
union ring_ref {
	struct {
		uint8_t type;
		uint8_t op;
		uint16_t gen;
		uint32_t idx;
	};
	uint64_t u64;
};
static_assert(sizeof(union ring_ref) == 8, "ring_ref must fit user_data");

static inline union ring_ref ring_ref(enum ring_type t, uint16_t gen,
				      uint32_t idx)
{
	return (union ring_ref){ .type = t, .gen = gen, .idx = idx };
}

/* Bits of op the ring sets on the completion of a poll update or removal;
 * the rest of user_data is the poll's. See ring_poll_update(). */
enum {
	RING_OP_UPDATE = 0x80, /* comes back to the poll's owner */
	RING_OP_REMOVE = 0x40, /* the ring's own: never reaped */
};

struct ring_cqe {
	union ring_ref ref;
	int32_t res;
	uint32_t flags;
};

struct ring;

/**
 * ring_new() - Set up the event ring and its registered buffers
 * @nbufs:	number of buffers
 * @buf_size:	size of each
 * @try_uring:	false to go straight to the poll(2) backend
 * @e:		message on failure
 *
 * Falls back to the poll(2) backend, with one warning, when io_uring is
 * refused (kernel.io_uring_disabled, a seccomp profile, an old kernel).
 * Return: the ring, or NULL
 */
struct ring *ring_new(unsigned nbufs, size_t buf_size, bool try_uring,
		      struct err *e);
void ring_free(struct ring *r);

/**
 * ring_start() - Restrict the ring to the operations we use, then enable it
 * @r:		ring, with its buffers and provided buffers registered
 *
 * io_uring operations are not seen by seccomp: a ring that accepts any
 * opcode would let a compromised process open files or connect anywhere
 * under --enable-seccomp. IORING_REGISTER_RESTRICTIONS (Linux 5.10) limits
 * it to the opcodes below; anything else completes with -EACCES. Before
 * this call nothing is submitted.
 * Return: 0, or -errno (then the ring is enabled without restrictions)
 */
int ring_start(struct ring *r);

/* The io_uring underneath, NULL on the poll(2) backend: for the tests. */
struct io_uring *ring_uring(struct ring *r);
bool ring_is_uring(const struct ring *r);
const char *ring_describe(const struct ring *r);
void *ring_buf(struct ring *r, unsigned idx);
/* Whether buffer @idx is in the registered table yet (it joins on first
 * use): for the tests. */
bool ring_buf_pinned(const struct ring *r, unsigned idx);

/**
 * ring_pbuf_init() - Provided buffers for multishot reads (Linux 6.7+)
 * @r:		ring
 * @n:		number of buffers, a power of two
 * @size:	size of each
 *
 * They are not registered buffers, so they do not count against
 * RLIMIT_MEMLOCK.
 * Return: 0, or -errno where multishot reads cannot be had
 */
int ring_pbuf_init(struct ring *r, unsigned n, size_t size);
void *ring_pbuf(struct ring *r, unsigned bid);
/* Give buffer @bid back to the kernel once its data has been used. */
void ring_pbuf_put(struct ring *r, unsigned bid);
/* One read that completes once per frame, each into a provided buffer:
 * res is the length, flags carry IORING_CQE_F_BUFFER with the buffer id
 * and IORING_CQE_F_MORE while it stays armed. */
void ring_read_multishot(struct ring *r, int fd, union ring_ref ref);

/* Queue operations; they reach the kernel with the next ring_wait(). */
void ring_read_fixed(struct ring *r, int fd, unsigned buf, size_t len,
		     union ring_ref ref);
void ring_write_fixed(struct ring *r, int fd, unsigned buf, size_t len,
		      union ring_ref ref);
void ring_read(struct ring *r, int fd, void *buf, size_t len,
	       union ring_ref ref);
void ring_poll_add(struct ring *r, int fd, unsigned mask, union ring_ref ref);
/* accept4(SOCK_NONBLOCK | SOCK_CLOEXEC): res is the new fd */
void ring_accept(struct ring *r, int fd, union ring_ref ref);
void ring_recv(struct ring *r, int fd, void *buf, size_t len,
	       union ring_ref ref);
/* send(MSG_NOSIGNAL): a client gone away is an error, not SIGPIPE */
void ring_send(struct ring *r, int fd, const void *buf, size_t len,
	       union ring_ref ref);

/**
 * ring_poll_update() - Change the mask of an armed poll
 * @r:		ring
 * @ref:	the poll's user_data
 * @mask:	what it should wait for from now on
 *
 * Its completion goes to the poll's owner, as @ref with RING_OP_UPDATE in
 * op: 0, or -ENOENT when the poll has fired (its own completion comes or
 * came), or -EALREADY when the kernel was running the poll's wake-up. Then
 * nothing changed: if the wake-up finds nothing in the old mask (the data
 * that woke it was read since) the poll waits on with the old mask, and a
 * socket that became writable meanwhile is never reported. The owner must
 * then ask again: ring_poll_update_done().
 */
void ring_poll_update(struct ring *r, union ring_ref ref, unsigned mask);

/**
 * ring_poll_update_done() - The owner's part of an update's completion
 * @r:		ring
 * @ref:	its user_data (RING_OP_UPDATE in op)
 * @res:	its result
 * @armed:	the mask the owner wants armed now, 0 if it has no poll
 *
 * After -EALREADY, updates again (to the mask wanted now: a later update
 * may have gone through meanwhile).
 */
static inline void ring_poll_update_done(struct ring *r, union ring_ref ref,
					 int res, unsigned armed)
{
	ref.op &= ~RING_OP_UPDATE;
	if (res == -EALREADY && armed)
		ring_poll_update(r, ref, armed);
}

/* Remove an armed poll; a poll the kernel was busy with (-EALREADY) is
 * asked for again by the ring itself, as an armed poll holds its file (a
 * closed socket would not send FIN). The owner sees the poll's own
 * completion, if it comes, and nothing else. */
void ring_poll_remove(struct ring *r, union ring_ref ref);

/* Push queued operations to the kernel now (keeps order before a write(2)). */
int ring_submit(struct ring *r);

/* Push queued operations and run the kernel's deferred work for them now:
 * a removed poll lets go of its file (a socket's port) before this
 * returns, not at the next wait. Their completions are reaped as usual. */
void ring_settle(struct ring *r);

/**
 * ring_wait() - Submit what is queued and wait for a completion
 * @r:		ring
 * @timeout_ms:	-1 for none, 0 to only poll
 * Return: 0, or -errno (-EINTR, -ETIME are not failures)
 */
int ring_wait(struct ring *r, int timeout_ms);

/**
 * ring_news() - Has anything completed since the last ring_wait()?
 * @r:		ring
 *
 * Costs no system call: what the kernel has not posted yet is flagged in
 * the SQ ring (IORING_SETUP_TASKRUN_FLAG). Lets long work yield to the
 * loop (fwd_splice_work()). Always false on the poll(2) backend, which
 * learns of events only when it waits.
 * Return: true if the next wait would return at once with completions
 */
bool ring_news(struct ring *r);

/* Poll for up to @max_us before each sleep, the window adapting to the
 * traffic (spin.c); 0: never. io_uring only. */
void ring_busy_poll(struct ring *r, unsigned max_us);

/* An engine read a full batch: work is plentiful, and sleeping lets the
 * next one gather; the loop does not poll for a while (spin_plenty()). */
void ring_plenty(struct ring *r);

/**
 * ring_reap() - Take completions off the ring
 * @r:		ring
 * @out:	filled with up to @max completions
 * @max:	room in @out
 * Return: number taken
 */
unsigned ring_reap(struct ring *r, struct ring_cqe *out, unsigned max);

#endif

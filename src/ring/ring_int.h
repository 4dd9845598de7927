/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Internal to src/ring: the two backends behind ring.h. */
#ifndef S4_RING_INT_H
#define S4_RING_INT_H

#include <liburing.h>
#include <stdint.h>
#include <sys/uio.h>

#include "ring.h"
#include "spin.h"

struct ring_fb; /* poll(2) backend state, ring_poll.c */

/* a buffer's place in the registered table: it joins on first use */
enum pin { PIN_NOT_YET, PIN_YES, PIN_REFUSED };

struct ring {
	bool uring;
	bool fixed; /* a registered table: READ_FIXED/WRITE_FIXED */
	uint8_t *pinned; /* per buffer: enum pin */
	unsigned setup_flags;
	struct io_uring ring;
	struct ring_fb *fb;
	struct iovec *bufs;
	unsigned nbufs;
	void *mem;
	size_t mem_len;
	/* provided buffers */
	struct io_uring_buf_ring *br;
	size_t br_len;
	void *pmem;
	size_t pmem_len, psize;
	unsigned pn;
	struct spin spin; /* io_uring only */
	uint64_t woke_ns; /* when the last wait returned (spin_work()) */
};

struct ring_fb *ring_fb_new(void);
void ring_fb_free(struct ring_fb *fb);
void ring_fb_read(struct ring_fb *fb, int fd, void *buf, size_t len,
		  union ring_ref ref);
void ring_fb_write(struct ring_fb *fb, int fd, const void *buf, size_t len,
		   union ring_ref ref);
void ring_fb_poll_add(struct ring_fb *fb, int fd, unsigned mask,
		      union ring_ref ref);
void ring_fb_accept(struct ring_fb *fb, int fd, union ring_ref ref);
void ring_fb_send(struct ring_fb *fb, int fd, const void *buf, size_t len,
		  union ring_ref ref);
void ring_fb_poll_update(struct ring_fb *fb, union ring_ref ref,
			 unsigned mask);
void ring_fb_poll_remove(struct ring_fb *fb, union ring_ref ref);
int ring_fb_wait(struct ring_fb *fb, int timeout_ms);
unsigned ring_fb_reap(struct ring_fb *fb, struct ring_cqe *out, unsigned max);

#endif

// SPDX-License-Identifier: GPL-2.0-or-later
/* ring_poll.c - the ring's operations on poll(2), for where io_uring is
 * refused.
 *
 * DOC: Theory of Operation
 * Reads and polls wait in @ops until poll(2) says their fd is ready; writes
 * run at once (a TAP write does not block). Each finished operation becomes
 * a completion in @done, the same struct ring_cqe io_uring would give, so the
 * loop cannot tell the backends apart. A read that meets EAGAIN stays
 * pending, as io_uring would retry it. Polls are oneshot, as IORING_OP_POLL_ADD
 * without the multishot flag.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ring_int.h"

enum fb_kind { FB_READ, FB_POLL, FB_ACCEPT };

struct fb_op {
	enum fb_kind kind;
	int fd;
	void *buf;
	size_t len;
	unsigned mask;
	union ring_ref ref;
};

struct ring_fb {
	struct fb_op *ops;
	unsigned nops, cap_ops;
	struct ring_cqe *done;
	unsigned ndone, cap_done, done_head;
	struct pollfd *pfds;
};

struct ring_fb *ring_fb_new(void)
{
	return calloc(1, sizeof(struct ring_fb));
}

void ring_fb_free(struct ring_fb *fb)
{
	if (!fb)
		return;
	free(fb->ops);
	free(fb->done);
	free(fb->pfds);
	free(fb);
}

/* Growth failure leaves the process without a way to report progress: the
 * tables are small (one entry per fd), so treat it like a dead ring. */
static void *grow(void *p, unsigned *cap, size_t elem)
{
	unsigned n = *cap ? *cap * 2 : 64;

	p = realloc(p, n * elem);
	if (!p)
		die("out of memory in the poll(2) ring");
	*cap = n;
	return p;
}

static void complete(struct ring_fb *fb, union ring_ref ref, int res)
{
	if (fb->ndone == fb->cap_done)
		fb->done = grow(fb->done, &fb->cap_done, sizeof(*fb->done));
	fb->done[fb->ndone++] = (struct ring_cqe){ ref, res, 0 };
}

static void push(struct ring_fb *fb, struct fb_op op)
{
	if (fb->nops == fb->cap_ops) {
		fb->ops = grow(fb->ops, &fb->cap_ops, sizeof(*fb->ops));
		fb->pfds = realloc(fb->pfds, fb->cap_ops * sizeof(*fb->pfds));
		if (!fb->pfds)
			die("out of memory in the poll(2) ring");
	}
	fb->ops[fb->nops++] = op;
}

static void drop(struct ring_fb *fb, unsigned i)
{
	fb->ops[i] = fb->ops[--fb->nops];
}

static int find_poll(struct ring_fb *fb, union ring_ref ref)
{
	for (unsigned i = 0; i < fb->nops; i++)
		if (fb->ops[i].kind == FB_POLL && fb->ops[i].ref.u64 == ref.u64)
			return i;
	return -1;
}

void ring_fb_read(struct ring_fb *fb, int fd, void *buf, size_t len,
		  union ring_ref ref)
{
	push(fb, (struct fb_op){ FB_READ, fd, buf, len, POLLIN, ref });
}

void ring_fb_write(struct ring_fb *fb, int fd, const void *buf, size_t len,
		   union ring_ref ref)
{
	ssize_t n = write(fd, buf, len);

	complete(fb, ref, n < 0 ? -errno : (int)n);
}

void ring_fb_accept(struct ring_fb *fb, int fd, union ring_ref ref)
{
	push(fb, (struct fb_op){ FB_ACCEPT, fd, NULL, 0, POLLIN, ref });
}

void ring_fb_send(struct ring_fb *fb, int fd, const void *buf, size_t len,
		  union ring_ref ref)
{
	ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);

	complete(fb, ref, n < 0 ? -errno : (int)n);
}

void ring_fb_poll_add(struct ring_fb *fb, int fd, unsigned mask,
		      union ring_ref ref)
{
	push(fb, (struct fb_op){ FB_POLL, fd, NULL, 0, mask, ref });
}

void ring_fb_poll_update(struct ring_fb *fb, union ring_ref ref, unsigned mask)
{
	int i = find_poll(fb, ref);

	if (i >= 0)
		fb->ops[i].mask = mask;
	ref.op |= RING_OP_UPDATE; /* as io_uring's: to the poll's owner */
	complete(fb, ref, i >= 0 ? 0 : -ENOENT);
}

void ring_fb_poll_remove(struct ring_fb *fb, union ring_ref ref)
{
	int i = find_poll(fb, ref);

	if (i >= 0) {
		complete(fb, fb->ops[i].ref, -ECANCELED);
		drop(fb, i);
	}
	ref.op |= RING_OP_REMOVE;
	complete(fb, ref, i >= 0 ? 0 : -ENOENT);
}

/**
 * run_ready() - Finish the operation whose fd poll(2) found ready
 * @fb:		backend
 * @i:		index in @ops
 * @revents:	what poll(2) said
 * Return: true if the operation is done and was removed
 */
static bool run_ready(struct ring_fb *fb, unsigned i, short revents)
{
	struct fb_op *op = &fb->ops[i];
	ssize_t n;

	if (revents & POLLNVAL) {
		complete(fb, op->ref, -EBADF);
	} else if (op->kind == FB_POLL) {
		complete(fb, op->ref, revents & (op->mask | POLLERR | POLLHUP));
	} else if (op->kind == FB_ACCEPT) {
		n = accept4(op->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return false;
		complete(fb, op->ref, n < 0 ? -errno : (int)n);
	} else {
		n = read(op->fd, op->buf, op->len);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return false;
		complete(fb, op->ref, n < 0 ? -errno : (int)n);
	}
	drop(fb, i);
	return true;
}

int ring_fb_wait(struct ring_fb *fb, int timeout_ms)
{
	unsigned n = fb->nops;
	int rc;

	if (fb->ndone > fb->done_head)
		timeout_ms = 0;
	for (unsigned i = 0; i < n; i++)
		fb->pfds[i] = (struct pollfd){ fb->ops[i].fd,
					       (short)fb->ops[i].mask, 0 };
	rc = poll(fb->pfds, n, timeout_ms);
	if (rc < 0)
		return -errno;
	/* Walk backwards: drop() moves the last op into the hole, and the
	 * last op's pollfd has been looked at already. */
	for (unsigned i = n; i-- > 0;) {
		if (fb->pfds[i].revents)
			run_ready(fb, i, fb->pfds[i].revents);
	}
	return 0;
}

unsigned ring_fb_reap(struct ring_fb *fb, struct ring_cqe *out, unsigned max)
{
	unsigned n = fb->ndone - fb->done_head;

	if (n > max)
		n = max;
	memcpy(out, fb->done + fb->done_head, n * sizeof(*out));
	fb->done_head += n;
	if (fb->done_head == fb->ndone)
		fb->ndone = fb->done_head = 0;
	return n;
}

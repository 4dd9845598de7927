// SPDX-License-Identifier: GPL-2.0-or-later
/* ring.c - the event ring: io_uring, or its poll(2) stand-in.
 *
 * DOC: Theory of Operation
 * Everything the loop does goes through here as an operation tagged with a
 * union ring_ref, and comes back as a struct ring_cqe. With io_uring, queued
 * operations reach the kernel in the same io_uring_enter() that waits, so a
 * loop iteration costs one syscall however many frames it moves. Where
 * io_uring is refused, ring_poll.c runs the same operations on poll(2),
 * read(2) and write(2): slower, but a drop-in must run wherever the original
 * ran.
 *
 * The buffer area is one mapping, registered with the kernel when it allows
 * (registered buffers count against RLIMIT_MEMLOCK; without them READ_FIXED
 * becomes READ). The table is registered empty and each buffer joins it on
 * its first use: registering pins a buffer's pages, and pinning all of them
 * up front made an idle forwarder at MTU 65520 hold 4 MiB it might never
 * touch (slirp4netns holds 3 MiB in all). A buffer the kernel refuses to
 * pin is used unregistered.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "ring_int.h"

const char *const ring_type_names[RING_NUM_TYPES] = {
	[RING_NONE] = "none",	      [RING_TAP_RX] = "tap-rx",
	[RING_TAP_TX] = "tap-tx",     [RING_TAP_POLL] = "tap-poll",
	[RING_SPOLL] = "slirp-poll",  [RING_EXITFD] = "exit-fd",
	[RING_SIGNAL] = "signal",     [RING_API_ACCEPT] = "api-accept",
	[RING_API_CONN] = "api-conn", [RING_FWD_LISTEN] = "fwd-listen",
	[RING_FWD_CONN] = "fwd-conn", [RING_FWD_UDP_LISTEN] = "udp-listen",
	[RING_FWD_UDP_FLOW] = "udp-flow", [RING_GATE_CHAN] = "gate-chan",
	[RING_GATE_CONN] = "gate-conn", [RING_UDP_OUT_LISTEN] = "udp-out-listen",
	[RING_UDP_OUT_FLOW] = "udp-out-flow", [RING_DNS] = "dns",
};
static_assert(ARRAY_SIZE(ring_type_names) == RING_NUM_TYPES,
	      "a name for every ring type");

enum { RING_SQ = 256, RING_CQ = 1024 };
enum { RING_PBUF_GROUP = 1, RING_OP_READ_MULTISHOT = 49 /* Linux 6.7 */ };

/**
 * uring_setup() - io_uring with the best flags this kernel takes
 * @r:		ring
 *
 * SINGLE_ISSUER|DEFER_TASKRUN (6.1) runs completions only when we wait, in
 * our own context, with no IPIs; COOP_TASKRUN (5.19) is the next best.
 * TASKRUN_FLAG (5.19) has the kernel say in the SQ ring's flags that
 * completions wait to be run, so ring_news() needs no system call.
 * Return: 0 or -errno from the last attempt
 */
static int uring_setup(struct ring *r)
{
	static const unsigned tries[] = {
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
			IORING_SETUP_TASKRUN_FLAG,
		IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
		0,
	};
	int rc = -ENOSYS;

	for (unsigned i = 0; i < ARRAY_SIZE(tries); i++) {
		struct io_uring_params p = {
			.flags = tries[i] | IORING_SETUP_CQSIZE |
				 IORING_SETUP_R_DISABLED,
			.cq_entries = RING_CQ,
		};

		rc = io_uring_queue_init_params(RING_SQ, &r->ring, &p);
		if (rc == 0) {
			r->setup_flags = p.flags;
			return 0;
		}
		if (rc != -EINVAL)
			break; /* EPERM, ENOSYS, ENOMEM: flags won't help */
	}
	return rc;
}

struct ring *ring_new(unsigned nbufs, size_t buf_size, bool try_uring,
		      struct err *e)
{
	struct ring *r = calloc(1, sizeof(*r));
	int rc = try_uring ? -ENOSYS : 0;

	if (!r)
		goto nomem;
	spin_init(&r->spin, 0); /* never polls until ring_busy_poll() */
	r->nbufs = nbufs;
	r->mem_len = (size_t)nbufs * buf_size;
	r->mem = mmap(NULL, r->mem_len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	r->bufs = calloc(nbufs, sizeof(*r->bufs));
	if (r->mem == MAP_FAILED || !r->bufs)
		goto nomem;
	for (unsigned i = 0; i < nbufs; i++)
		r->bufs[i] = (struct iovec){ (char *)r->mem + i * buf_size,
					     buf_size };
	if (try_uring)
		rc = uring_setup(r);
	if (try_uring && rc == 0) {
		r->uring = true;
		r->pinned = calloc(nbufs, sizeof(*r->pinned));
		if (!r->pinned)
			goto nomem;
		r->fixed = io_uring_register_buffers_sparse(&r->ring, nbufs) ==
			   0;
		return r;
	}
	if (try_uring)
		log_warn("io_uring is not available (%s), using poll(2)",
			 strerror(-rc));
	r->fb = ring_fb_new();
	if (!r->fb)
		goto nomem;
	return r;
nomem:
	ring_free(r);
	err_set(e, -ENOMEM, "cannot allocate the event ring");
	return NULL;
}

static struct io_uring_sqe *sqe_get(struct ring *r);

static bool op_supported(struct ring *r, int op)
{
	struct io_uring_probe *p = io_uring_get_probe_ring(&r->ring);
	bool ok = p && io_uring_opcode_supported(p, op);

	io_uring_free_probe(p);
	return ok;
}

int ring_pbuf_init(struct ring *r, unsigned n, size_t size)
{
	struct io_uring_buf_reg reg = { .ring_entries = n,
					.bgid = RING_PBUF_GROUP };
	int rc;

	if (!r->uring || !op_supported(r, RING_OP_READ_MULTISHOT))
		return -EOPNOTSUPP;
	r->br_len = n * sizeof(struct io_uring_buf);
	r->br = mmap(NULL, r->br_len, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	r->pmem_len = n * size;
	r->pmem = mmap(NULL, r->pmem_len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r->br == MAP_FAILED || r->pmem == MAP_FAILED) {
		rc = -ENOMEM;
		goto fail;
	}
	reg.ring_addr = (uintptr_t)r->br;
	rc = io_uring_register_buf_ring(&r->ring, &reg, 0);
	if (rc < 0)
		goto fail;
	r->pn = n;
	r->psize = size;
	io_uring_buf_ring_init(r->br);
	for (unsigned i = 0; i < n; i++)
		io_uring_buf_ring_add(r->br, ring_pbuf(r, i), size, i,
				      io_uring_buf_ring_mask(n), i);
	io_uring_buf_ring_advance(r->br, n);
	return 0;
fail:
	if (r->br != MAP_FAILED)
		munmap(r->br, r->br_len);
	if (r->pmem != MAP_FAILED)
		munmap(r->pmem, r->pmem_len);
	r->br = NULL;
	r->pmem = NULL;
	return rc;
}

void *ring_pbuf(struct ring *r, unsigned bid)
{
	return (char *)r->pmem + (size_t)bid * r->psize;
}

void ring_pbuf_put(struct ring *r, unsigned bid)
{
	io_uring_buf_ring_add(r->br, ring_pbuf(r, bid), r->psize, bid,
			      io_uring_buf_ring_mask(r->pn), 0);
	io_uring_buf_ring_advance(r->br, 1);
}

void ring_read_multishot(struct ring *r, int fd, union ring_ref ref)
{
	struct io_uring_sqe *sqe = sqe_get(r);

	/* liburing 2.3 has no helper for this opcode */
	io_uring_prep_rw(RING_OP_READ_MULTISHOT, sqe, fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = RING_PBUF_GROUP;
	io_uring_sqe_set_data64(sqe, ref.u64);
}

/**
 * cancel_all() - End every operation in the kernel before the ring goes
 * @r:		ring
 *
 * An armed poll holds its file. Left to the kernel's teardown of the ring,
 * which runs after we exit, a forward's listening socket outlived the
 * process: a new slirp4netns binding the same port got EADDRINUSE in about
 * one restart in six. So: the queued removals go in, and whatever is still
 * armed is cancelled, synchronously (Linux 6.0; before that, the old race).
 */
static void cancel_all(struct ring *r)
{
	struct io_uring_sync_cancel_reg reg = {
		.flags = IORING_ASYNC_CANCEL_ANY | IORING_ASYNC_CANCEL_ALL,
		.timeout = { .tv_sec = -1, .tv_nsec = -1 },
	};

	io_uring_submit(&r->ring);
	io_uring_register_sync_cancel(&r->ring, &reg);
	/* with DEFER_TASKRUN the cancelled requests are finished, and their
	 * files let go, only in our own task's work: run it now */
	io_uring_get_events(&r->ring);
}

void ring_free(struct ring *r)
{
	if (!r)
		return;
	if (r->uring) {
		cancel_all(r);
		io_uring_queue_exit(&r->ring);
	}
	if (r->br)
		munmap(r->br, r->br_len);
	if (r->pmem)
		munmap(r->pmem, r->pmem_len);
	spin_free(&r->spin);
	ring_fb_free(r->fb);
	if (r->mem && r->mem != MAP_FAILED)
		munmap(r->mem, r->mem_len);
	free(r->bufs);
	free(r->pinned);
	free(r);
}

bool ring_is_uring(const struct ring *r)
{
	return r->uring;
}

const char *ring_describe(const struct ring *r)
{
	if (!r->uring)
		return "poll(2)";
	if (r->setup_flags & IORING_SETUP_DEFER_TASKRUN)
		return r->fixed ? "io_uring (defer-taskrun, fixed buffers)"
				: "io_uring (defer-taskrun)";
	return r->fixed ? "io_uring (fixed buffers)" : "io_uring";
}

void *ring_buf(struct ring *r, unsigned idx)
{
	return r->bufs[idx].iov_base;
}

/**
 * sqe_get() - A free SQE, flushing the queue to the kernel if it is full
 * @r:		ring
 * Return: an SQE (never NULL: a full SQ is submitted, which frees it)
 */
static struct io_uring_sqe *sqe_get(struct ring *r)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);

	while (!sqe) {
		io_uring_submit(&r->ring);
		sqe = io_uring_get_sqe(&r->ring);
	}
	return sqe;
}

/**
 * pinned() - Whether a buffer is in the registered table, adding it on its
 *	      first use
 * @r:		ring
 * @buf:	buffer index
 * Return: true if READ_FIXED/WRITE_FIXED may name it
 */
static bool pinned(struct ring *r, unsigned buf)
{
	if (!r->fixed || r->pinned[buf] == PIN_REFUSED)
		return false;
	if (r->pinned[buf] == PIN_YES)
		return true;
	if (io_uring_register_buffers_update_tag(&r->ring, buf, &r->bufs[buf],
						 NULL, 1) == 1) {
		r->pinned[buf] = PIN_YES;
		return true;
	}
	r->pinned[buf] = PIN_REFUSED; /* RLIMIT_MEMLOCK, most likely */
	return false;
}

bool ring_buf_pinned(const struct ring *r, unsigned buf)
{
	return r->uring && r->fixed && r->pinned[buf] == PIN_YES;
}

void ring_read_fixed(struct ring *r, int fd, unsigned buf, size_t len,
		     union ring_ref ref)
{
	struct io_uring_sqe *sqe;

	if (!r->uring)
		return ring_fb_read(r->fb, fd, ring_buf(r, buf), len, ref);
	sqe = sqe_get(r);
	if (pinned(r, buf))
		io_uring_prep_read_fixed(sqe, fd, ring_buf(r, buf), len, 0,
					 buf);
	else
		io_uring_prep_read(sqe, fd, ring_buf(r, buf), len, 0);
	io_uring_sqe_set_data64(sqe, ref.u64);
}

void ring_write_fixed(struct ring *r, int fd, unsigned buf, size_t len,
		      union ring_ref ref)
{
	struct io_uring_sqe *sqe;

	if (!r->uring)
		return ring_fb_write(r->fb, fd, ring_buf(r, buf), len, ref);
	sqe = sqe_get(r);
	if (pinned(r, buf))
		io_uring_prep_write_fixed(sqe, fd, ring_buf(r, buf), len, 0,
					  buf);
	else
		io_uring_prep_write(sqe, fd, ring_buf(r, buf), len, 0);
	io_uring_sqe_set_data64(sqe, ref.u64);
}

void ring_read(struct ring *r, int fd, void *buf, size_t len,
	       union ring_ref ref)
{
	struct io_uring_sqe *sqe;

	if (!r->uring)
		return ring_fb_read(r->fb, fd, buf, len, ref);
	sqe = sqe_get(r);
	io_uring_prep_read(sqe, fd, buf, len, 0);
	io_uring_sqe_set_data64(sqe, ref.u64);
}

void ring_poll_add(struct ring *r, int fd, unsigned mask, union ring_ref ref)
{
	struct io_uring_sqe *sqe;

	if (!r->uring)
		return ring_fb_poll_add(r->fb, fd, mask, ref);
	sqe = sqe_get(r);
	io_uring_prep_poll_add(sqe, fd, mask);
	io_uring_sqe_set_data64(sqe, ref.u64);
}

void ring_accept(struct ring *r, int fd, union ring_ref ref)
{
	struct io_uring_sqe *sqe;

	if (!r->uring)
		return ring_fb_accept(r->fb, fd, ref);
	sqe = sqe_get(r);
	io_uring_prep_accept(sqe, fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, ref.u64);
}

void ring_recv(struct ring *r, int fd, void *buf, size_t len,
	       union ring_ref ref)
{
	struct io_uring_sqe *sqe;

	if (!r->uring)
		return ring_fb_read(r->fb, fd, buf, len, ref);
	sqe = sqe_get(r);
	io_uring_prep_recv(sqe, fd, buf, len, 0);
	io_uring_sqe_set_data64(sqe, ref.u64);
}

void ring_send(struct ring *r, int fd, const void *buf, size_t len,
	       union ring_ref ref)
{
	struct io_uring_sqe *sqe;

	if (!r->uring)
		return ring_fb_send(r->fb, fd, buf, len, ref);
	sqe = sqe_get(r);
	io_uring_prep_send(sqe, fd, buf, len, MSG_NOSIGNAL);
	io_uring_sqe_set_data64(sqe, ref.u64);
}

void ring_poll_update(struct ring *r, union ring_ref ref, unsigned mask)
{
	struct io_uring_sqe *sqe;

	if (!r->uring)
		return ring_fb_poll_update(r->fb, ref, mask);
	sqe = sqe_get(r);
	/* UPDATE_EVENTS only: a non-zero new user_data without
	 * UPDATE_USER_DATA is -EINVAL, and the old poll stays as it was. */
	io_uring_prep_poll_update(sqe, ref.u64, 0, mask,
				  IORING_POLL_UPDATE_EVENTS);
	ref.op |= RING_OP_UPDATE;
	io_uring_sqe_set_data64(sqe, ref.u64);
}

void ring_poll_remove(struct ring *r, union ring_ref ref)
{
	struct io_uring_sqe *sqe;

	if (!r->uring)
		return ring_fb_poll_remove(r->fb, ref);
	sqe = sqe_get(r);
	io_uring_prep_poll_remove(sqe, ref.u64);
	ref.op |= RING_OP_REMOVE;
	io_uring_sqe_set_data64(sqe, ref.u64);
}

/* Everything src/ring prepares; a new operation must be added here. */
static const uint8_t allowed_ops[] = {
	IORING_OP_READ_FIXED, IORING_OP_WRITE_FIXED, IORING_OP_READ,
	IORING_OP_WRITE,      IORING_OP_POLL_ADD,    IORING_OP_POLL_REMOVE,
	IORING_OP_ACCEPT,     IORING_OP_RECV,	     IORING_OP_SEND,
	RING_OP_READ_MULTISHOT,
};

/* liburing 2.3 declares io_uring_register_restrictions() and
 * io_uring_enable_rings() but does not export them: the syscall it is. */
static int uring_register(struct ring *r, unsigned op, void *arg, unsigned n)
{
	return syscall(__NR_io_uring_register, r->ring.ring_fd, op, arg, n) < 0
		       ? -errno
		       : 0;
}

int ring_start(struct ring *r)
{
	struct io_uring_restriction res[ARRAY_SIZE(allowed_ops) + 3];
	int rc, en;

	if (!r->uring)
		return 0;
	memset(res, 0, sizeof(res));
	for (unsigned i = 0; i < ARRAY_SIZE(allowed_ops); i++) {
		res[i].opcode = IORING_RESTRICTION_SQE_OP;
		res[i].sqe_op = allowed_ops[i];
	}
	res[ARRAY_SIZE(allowed_ops)].opcode =
		IORING_RESTRICTION_SQE_FLAGS_ALLOWED;
	res[ARRAY_SIZE(allowed_ops)].sqe_flags = IOSQE_BUFFER_SELECT;
	/* buffers join the registered table on first use (see the top) */
	res[ARRAY_SIZE(allowed_ops) + 1].opcode =
		IORING_RESTRICTION_REGISTER_OP;
	res[ARRAY_SIZE(allowed_ops) + 1].register_op =
		IORING_REGISTER_BUFFERS_UPDATE;
	/* and everything is cancelled before the ring goes (ring_free()) */
	res[ARRAY_SIZE(allowed_ops) + 2].opcode =
		IORING_RESTRICTION_REGISTER_OP;
	res[ARRAY_SIZE(allowed_ops) + 2].register_op =
		IORING_REGISTER_SYNC_CANCEL;
	rc = uring_register(r, IORING_REGISTER_RESTRICTIONS, res,
			    ARRAY_SIZE(res));
	en = uring_register(r, IORING_REGISTER_ENABLE_RINGS, NULL, 0);
	if (en < 0)
		return en;
	return rc;
}

struct io_uring *ring_uring(struct ring *r)
{
	return r->uring ? &r->ring : NULL;
}

int ring_submit(struct ring *r)
{
	return r->uring ? io_uring_submit(&r->ring) : 0;
}

void ring_settle(struct ring *r)
{
	if (!r->uring)
		return;
	io_uring_submit(&r->ring);
	/* with DEFER_TASKRUN, cancellations finish only in our task work */
	io_uring_get_events(&r->ring);
}

void ring_busy_poll(struct ring *r, unsigned max_us)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	spin_init(&r->spin, r->uring ? max_us : 0);
	spin_watch(&r->spin, "/proc/pressure/cpu", "/proc/loadavg",
		   ncpu > 0 ? ncpu : 0);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

void ring_plenty(struct ring *r)
{
	if (r->spin.max_ns)
		spin_plenty(&r->spin, now_ns());
}

/**
 * poll_cq() - Submit, then look for completions for up to @ns without
 * sleeping
 * @r:		ring
 * @ns:		how long
 *
 * With DEFER_TASKRUN a completion is posted only when we enter the kernel
 * for events: io_uring_get_events() does that without waiting.
 * Return: whether one came
 */
static bool poll_cq(struct ring *r, uint64_t ns)
{
	uint64_t end = now_ns() + ns;

	/* submitting runs the task work too, as a wait would: a listener's
	 * cancelled poll lets go of it before a reply we send says so */
	io_uring_submit_and_get_events(&r->ring);
	while (!io_uring_cq_ready(&r->ring) && now_ns() < end)
		io_uring_get_events(&r->ring);
	return io_uring_cq_ready(&r->ring);
}

int ring_wait(struct ring *r, int timeout_ms)
{
	struct __kernel_timespec ts = {
		.tv_sec = timeout_ms / 1000,
		.tv_nsec = (long long)(timeout_ms % 1000) * 1000000,
	};
	struct io_uring_cqe *cqe;
	uint64_t t0;
	int rc;

	if (!r->uring)
		return ring_fb_wait(r->fb, timeout_ms);
	t0 = r->spin.max_ns ? now_ns() : 0;
	if (r->spin.max_ns)
		spin_work(&r->spin, t0 - r->woke_ns, t0);
	if (r->spin.ns && timeout_ms != 0 && !r->spin.busy &&
	    spin_cpu_spare(&r->spin, t0) && poll_cq(r, r->spin.ns)) {
		r->woke_ns = now_ns();
		return 0;
	}
	/* not waiting at all: a zero timeout would still cost a timer armed
	 * and fired in the kernel, dear in a VM, on every turn of a loop that
	 * has work of its own (fwd_splice_work()) */
	if (timeout_ms == 0)
		rc = io_uring_submit_and_get_events(&r->ring);
	else
		rc = io_uring_submit_and_wait_timeout(
			&r->ring, &cqe, 1, timeout_ms < 0 ? NULL : &ts, NULL);
	if (r->spin.max_ns) {
		r->woke_ns = now_ns();
		if (timeout_ms != 0)
			spin_adapt(&r->spin, r->woke_ns - t0, rc == -ETIME);
	}
	return rc < 0 ? rc : 0;
}

bool ring_news(struct ring *r)
{
	if (!r->uring)
		return false;
	return io_uring_cq_ready(&r->ring) ||
	       (IO_URING_READ_ONCE(*r->ring.sq.kflags) & IORING_SQ_TASKRUN);
}

static unsigned reap_raw(struct ring *r, struct ring_cqe *out, unsigned max)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;

	if (!r->uring)
		return ring_fb_reap(r->fb, out, max);
	io_uring_for_each_cqe(&r->ring, head, cqe)
	{
		if (n == max)
			break;
		out[n++] = (struct ring_cqe){ { .u64 = cqe->user_data },
					      cqe->res, cqe->flags };
	}
	io_uring_cq_advance(&r->ring, n);
	return n;
}

/**
 * keep_for_owners() - Take the ring's own completions out of a batch
 * @r:		ring
 * @c:		completions
 * @n:		how many
 *
 * A removal the kernel refused because it was running the poll's wake-up
 * (-EALREADY) is asked for again; the next ring_wait() submits it.
 * Return: how many are left, moved to the front
 */
static unsigned keep_for_owners(struct ring *r, struct ring_cqe *c, unsigned n)
{
	unsigned kept = 0;

	for (unsigned i = 0; i < n; i++) {
		union ring_ref ref = c[i].ref;

		if (!(ref.op & RING_OP_REMOVE)) {
			c[kept++] = c[i];
			continue;
		}
		ref.op &= ~RING_OP_REMOVE;
		if (c[i].res == -EALREADY)
			ring_poll_remove(r, ref);
	}
	return kept;
}

unsigned ring_reap(struct ring *r, struct ring_cqe *out, unsigned max)
{
	unsigned n = 0, got;

	do {
		got = reap_raw(r, out + n, max - n);
		n += keep_for_owners(r, out + n, got);
	} while (got && n < max);
	return n;
}

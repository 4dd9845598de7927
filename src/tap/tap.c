// SPDX-License-Identifier: GPL-2.0-or-later
/* tap.c - Ethernet frames between the TAP device and libslirp.
 *
 * DOC: Theory of Operation
 * Receiving, on Linux 6.7 and later: one multishot read on a ring of
 * TAP_PBUFS provided buffers. Each frame completes it once, into a buffer
 * the kernel picked; the buffer goes back to the kernel right after
 * slirp_input() (libslirp copies the frame into an mbuf). One armed read
 * instead of several means one wakeup per frame instead of one per read.
 *
 * Elsewhere, the ring's registered buffers are split in two: TAP_RX_DEPTH
 * receive buffers, each with a read outstanding at all times, and TX slots
 * (always used for sending). Every received frame
 * goes to slirp_input() at once (libslirp copies it into an mbuf), then the
 * buffer's read is queued again; the whole batch of completions is handled
 * before libslirp polls its sockets once. A frame libslirp emits is copied
 * into a free TX slot and written with WRITE_FIXED by the same
 * io_uring_enter() that waits. With no slot free, or for a frame of
 * TAP_DIRECT_MIN or more, what is queued is flushed first (keeping frame
 * order) and the frame is written with writev(2) at once.
 *
 * More than four outstanding reads was measured slower: each arms its own
 * poll on the tun wait queue, so every frame wakes all of them.
 *
 * Before libslirp, every frame passes sanitize_frame() and IPv4 fragments
 * are reassembled by reasm.c: libslirp's own reassembly is unsafe.
 * While the reaper (slirp/reap.c) waits for answers to its probes, it
 * sees each frame first (tap_watch()) and keeps the ones that answer.
 *
 * A TAP we open has IFF_VNET_HDR with TSO and checksum offload (see
 * tap_open()): each frame starts with a struct virtio_net_hdr, and an IPv4
 * TCP segment from the namespace may be up to 64 KiB at any MTU, its checksum
 * left to us (sanitize_csum_partial()). libslirp takes such a segment
 * whole, as it does at MTU 65520; what it sends is never larger than the
 * MTU, so our header on the way back is all zeroes. A TAP fd passed in
 * without the flag (tapfd mode, BESS) carries bare frames as before.
 *
 * The fd is O_NONBLOCK, else io_uring hands every tun read to a worker
 * thread. A read that still says EAGAIN waits on a poll before it is retried.
 * EIO/EBADFD means the device is gone (deleted in the namespace): one
 * message, exit 1. A BESS peer that hangs up is not fatal: one line, the
 * process and its forwards stay, and the next peer to connect to the
 * socket path takes its place (tap_hangup()). One at a time: an accept is
 * always armed on the listener, and a peer that comes while another is
 * connected is closed at once. Completions carry the connection's
 * generation, so a read of the old peer's never touches the new one. The deletion's one wakeup can be lost to the read's
 * poll (seen about once in twenty runs: the process slept on, unaware),
 * so a timer also asks the device every TAP_CHECK_MS (TUNGETIFF says
 * EBADFD once it is gone).
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../options.h"
#include "../timers.h"
#include "../clock.h"
#include "../frame/gso.h"
#include "../frame/reasm.h"
#include "../frame/sanitize.h"
#include "tap.h"

enum {
	TAP_RX_DEPTH = 4,
	TAP_CHECK_MS = 1000,
	TAP_PBUFS = 32,
	RX_FIXED = 0, /* ring_ref.op of a receive */
	RX_MULTISHOT = 1,
	POLL_RX = 0, /* ring_ref.op of a RING_TAP_POLL */
	BESS_ACCEPT = 1,
	BESS_RETRY_MS = 100, /* after an accept that failed (EMFILE, say) */
	TAP_TX_BUDGET = 4 << 20, /* bytes of TX slots: RLIMIT_MEMLOCK */
	TAP_TX_MIN = 32,
	TAP_TX_MAX = 256,
	ETH_OVERHEAD = 14 + 4, /* header, and room for a VLAN tag */
	VNET_HDR = sizeof(struct virtio_net_hdr),
	GSO_MAX = 65535, /* an IP packet's largest, so a TSO segment's */
	TAP_DIRECT_MIN = 16384, /* frames this large skip the TX slots */
};

struct tap {
	struct tap_env env;
	Slirp *slirp; /* where frames from the namespace go */
	int fd;
	size_t buf_size;
	unsigned ntx;
	unsigned *free_tx; /* stack of free TX slot numbers */
	unsigned nfree;
	unsigned rx_waiting; /* reads parked behind a poll after EAGAIN */
	bool poll_armed;
	bool multishot;
	bool vnet; /* frames carry a struct virtio_net_hdr */
	bool gso_open; /* gso_slot holds a frame still growing (gso.c) */
	unsigned gso_slot;
	struct gso gso;
	unsigned long dropped[SAN_NUM_VERDICTS];
	struct reasm *reasm;
	struct timer *check; /* NULL for BESS: not a TAP */
	tap_watch_fn watch;  /* NULL but while the reaper waits for answers */
	void *watch_arg;
	/* BESS */
	int listener;	     /* the socket path's, -1 for a TAP */
	uint16_t gen;	     /* of the connection, in every ref */
	struct timer *retry; /* a failed accept, tried again */
};

bool tap_vnet(int fd)
{
	struct ifreq ifr = { 0 };

	return ioctl(fd, TUNGETIFF, &ifr) == 0 && (ifr.ifr_flags & IFF_VNET_HDR);
}

unsigned tap_bufs(unsigned mtu, bool vnet, size_t *size)
{
	unsigned ntx;

	*size = vnet ? VNET_HDR + ETH_OVERHEAD + GSO_MAX
		     : mtu + ETH_OVERHEAD;
	*size = (*size + 63) & ~(size_t)63;
	ntx = TAP_TX_BUDGET / *size;
	if (ntx < TAP_TX_MIN)
		ntx = TAP_TX_MIN;
	if (ntx > TAP_TX_MAX)
		ntx = TAP_TX_MAX;
	return TAP_RX_DEPTH + ntx;
}

static void rx_arm(struct tap *t, unsigned buf)
{
	ring_read_fixed(t->env.ring, t->fd, buf, t->buf_size,
			ring_ref(RING_TAP_RX, t->gen, buf));
}

static void rx_arm_multishot(struct tap *t)
{
	union ring_ref ref = ring_ref(RING_TAP_RX, t->gen, 0);

	ref.op = RX_MULTISHOT;
	ring_read_multishot(t->env.ring, t->fd, ref);
}

/* The tests' way to run the fixed-read path on a kernel that has both. */
static bool multishot_wanted(void)
{
	return !getenv("SLIRP4NETNS_TEST_NO_MULTISHOT");
}

static void tap_check(void *a, void *b);

/* Every read of a new connection (or the TAP's, once). */
static void rx_start(struct tap *t)
{
	if (t->multishot) {
		rx_arm_multishot(t);
		return;
	}
	for (unsigned i = 0; i < TAP_RX_DEPTH; i++)
		rx_arm(t, i);
}

static void bess_accept_arm(struct tap *t)
{
	union ring_ref ref = ring_ref(RING_TAP_POLL, 0, 0);

	ref.op = BESS_ACCEPT;
	ring_accept(t->env.ring, t->listener, ref);
}

/* timer callback: accept again after a failure */
static void bess_retry(void *a, void *b)
{
	(void)b;
	bess_accept_arm(a);
}

struct tap *tap_new(const struct tap_env *env, int fd, int bess_listener)
{
	struct tap *t = calloc(1, sizeof(*t));
	unsigned nbufs;

	if (!t)
		return NULL;
	t->env = *env;
	t->fd = fd;
	t->listener = bess_listener;
	t->reasm = reasm_new();
	t->vnet = tap_vnet(fd); /* as loop_init() sized the buffers; a BESS
				 * socket answers TUNGETIFF with an error */
	nbufs = tap_bufs(env->o->mtu, t->vnet, &t->buf_size);
	t->ntx = nbufs - TAP_RX_DEPTH;
	t->free_tx = calloc(t->ntx, sizeof(*t->free_tx));
	if (!t->free_tx || !t->reasm) {
		reasm_free(t->reasm);
		free(t->free_tx);
		free(t);
		return NULL;
	}
	for (unsigned i = 0; i < t->ntx; i++)
		t->free_tx[t->nfree++] = TAP_RX_DEPTH + i;
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		log_perror("tap: O_NONBLOCK");
	if (env->o->target_type != TARGET_BESS) {
		t->check = timers_add(env->timers, tap_check, t, NULL);
		if (t->check)
			timers_mod(t->check, clock_now_ms() + TAP_CHECK_MS);
	}
	if (t->listener >= 0) {
		t->retry = timers_add(env->timers, bess_retry, t, NULL);
		bess_accept_arm(t);
	}
	t->multishot = multishot_wanted() &&
		       ring_pbuf_init(env->ring, TAP_PBUFS, t->buf_size) == 0;
	rx_start(t);
	return t;
}

void tap_free(struct tap *t)
{
	if (!t)
		return;
	for (unsigned v = SAN_PASS + 1; v < SAN_NUM_VERDICTS; v++)
		if (t->dropped[v])
			log_info("tap: dropped %lu frame(s): %s", t->dropped[v],
				 sanitize_names[v]);
	timers_del(t->env.timers, t->check);
	timers_del(t->env.timers, t->retry);
	if (t->fd >= 0)
		close(t->fd);
	if (t->listener >= 0)
		close(t->listener);
	reasm_free(t->reasm);
	free(t->free_tx);
	free(t);
}

/* The device is gone or broken: nothing more can be done. */
static void tap_fatal(struct tap *t, const char *what, int res)
{
	if (*t->env.quit)
		return; /* said once already */
	log_err("tap: %s: %s", what, strerror(-res));
	*t->env.quit = true;
	*t->env.exit_status = 1;
}

/**
 * tap_hangup() - The BESS peer is gone: wait for the next one
 * @t:		TAP (a BESS connection)
 *
 * Reads still armed on the old connection complete (EOF) with the old
 * generation and are dropped; frames libslirp sends meanwhile are dropped
 * too, as a TAP without a reader would.
 */
static void tap_hangup(struct tap *t)
{
	if (t->fd < 0)
		return; /* said already */
	log_info("bess: the peer hung up; waiting for the next connection "
		 "to %s",
		 t->env.o->bess_path);
	close(t->fd);
	t->fd = -1;
	t->gen++;
	t->rx_waiting = 0;
	t->poll_armed = false;
	if (t->gso_open)
		t->free_tx[t->nfree++] = t->gso_slot;
	t->gso_open = false;
}

/* Does @res (0: end of file) say a BESS peer has left? */
static bool peer_gone(const struct tap *t, int res)
{
	return t->listener >= 0 && (res == 0 || res == -ECONNRESET ||
				    res == -EPIPE || res == -ENOTCONN);
}

/* A read failed: a BESS peer that left, or a TAP that broke. */
static void read_failed(struct tap *t, int res)
{
	if (peer_gone(t, res))
		return tap_hangup(t);
	tap_fatal(t, "read", res ? res : -EIO);
}

/* An accept on the BESS listener completed. */
static void bess_accepted(struct tap *t, int res)
{
	if (res == -EINTR || res == -EAGAIN || res == -ECANCELED) {
		bess_accept_arm(t);
		return;
	}
	if (res < 0) {
		log_warn("bess: accept: %s", strerror(-res));
		timers_mod(t->retry, clock_now_ms() + BESS_RETRY_MS);
		return;
	}
	bess_accept_arm(t);
	if (t->fd >= 0) {
		close(res); /* one peer at a time */
		return;
	}
	t->fd = res;
	log_info("bess: connected again on %s", t->env.o->bess_path);
	rx_start(t);
}

/* timer callback: is the device still there? */
static void tap_check(void *a, void *b)
{
	struct tap *t = a;
	struct ifreq ifr;

	(void)b;
	if (ioctl(t->fd, TUNGETIFF, &ifr) < 0 &&
	    (errno == EBADFD || errno == EIO || errno == ENODEV))
		return tap_fatal(t, "device", -errno);
	timers_mod(t->check, clock_now_ms() + TAP_CHECK_MS);
}

void tap_flush(struct tap *t)
{
	uint8_t *b;

	if (!t->gso_open)
		return;
	b = ring_buf(t->env.ring, t->gso_slot);
	gso_finish(&t->gso, b + VNET_HDR, b);
	ring_write_fixed(t->env.ring, t->fd, t->gso_slot, t->gso.len + VNET_HDR,
			 ring_ref(RING_TAP_TX, t->gen, t->gso_slot));
	t->gso_open = false;
}

/**
 * join() - Add a frame to the one growing in a TX slot, if it continues it
 * @t:		TAP
 * @buf:	the frame
 * @len:	its length
 * Return: whether it was added
 */
static bool join(struct tap *t, const void *buf, size_t len)
{
	uint8_t *b;

	if (!t->gso_open)
		return false;
	b = ring_buf(t->env.ring, t->gso_slot);
	return gso_append(&t->gso, b + VNET_HDR, t->buf_size - VNET_HDR, buf,
			  len);
}

/* A write failed: a BESS peer gone, a TAP broken, or worth a warning. */
static void tap_write_failed(struct tap *t, int res)
{
	if (peer_gone(t, res))
		tap_hangup(t);
	else if (res == -EIO || res == -EBADFD)
		tap_fatal(t, "write", res);
	else if (res != -EAGAIN)
		log_warn("tap: write: %s", strerror(-res));
}

void tap_set_slirp(struct tap *t, Slirp *slirp)
{
	t->slirp = slirp;
}

void tap_watch(struct tap *t, tap_watch_fn fn, void *arg)
{
	t->watch = fn;
	t->watch_arg = arg;
}

ssize_t tap_send(struct tap *t, const void *buf, size_t len)
{
	struct ring *ring = t->env.ring;
	unsigned slot;
	ssize_t n;

	size_t hdr = t->vnet ? VNET_HDR : 0;
	static const struct virtio_net_hdr none; /* no offload asked */

	if (len + hdr > t->buf_size)
		return -1; /* larger than the MTU we set: never sent */
	if (t->fd < 0)
		return len; /* no BESS peer just now: nobody to miss it */
	if (len < TAP_DIRECT_MIN && join(t, buf, len))
		return len;
	tap_flush(t); /* frames go out in order */
	/* A large frame goes out at once, by writev(2) from libslirp's own
	 * buffer: with 64 KiB in flight (no window scaling) and segments of
	 * nearly that, each one is the whole window, and waiting for the end
	 * of the iteration delayed every round trip (host -> namespace at
	 * MTU 65520: 2.41 vs 1.61 and 3.01 vs 2.79 Gbit/s, two runs). */
	if (t->nfree && len < TAP_DIRECT_MIN) {
		uint8_t *b;

		slot = t->free_tx[--t->nfree];
		b = ring_buf(ring, slot);
		memcpy(b + hdr, buf, len);
		/* a TCP segment may be the first of a joined frame: it waits
		 * for the next one, or for the end of the iteration */
		if (t->vnet && gso_start(&t->gso, b + hdr, len)) {
			t->gso_open = true;
			t->gso_slot = slot;
			return len;
		}
		memcpy(b, &none, hdr);
		ring_write_fixed(ring, t->fd, slot, len + hdr,
				 ring_ref(RING_TAP_TX, t->gen, slot));
		return len;
	}
	ring_submit(ring); /* frames queued before this one go first */
	n = writev(t->fd,
		   (struct iovec[]){ { (void *)&none, hdr },
				     { (void *)buf, len } },
		   2);
	if (n < 0 && errno != EAGAIN)
		tap_write_failed(t, -errno);
	return n < 0 ? -1 : n - (ssize_t)hdr;
}

/**
 * tap_input() - A frame from the namespace: to libslirp, if it may go there
 * @t:		TAP
 * @frame:	the frame
 * @len:	its length
 */
static void tap_input(struct tap *t, uint8_t *frame, size_t len)
{
	enum sanitize_verdict v;

	if (t->vnet) {
		struct virtio_net_hdr h;

		if (len < VNET_HDR)
			return;
		memcpy(&h, frame, VNET_HDR);
		frame += VNET_HDR;
		len -= VNET_HDR;
		if ((h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
		    sanitize_csum_partial(frame, len, h.csum_start,
					  h.csum_offset) < 0)
			len = 0; /* the sanitizer drops it as a runt */
	}
	v = sanitize_frame(frame, len);
	const uint8_t *whole;
	size_t whole_len;

	if (v == SAN_PASS && !reasm_is_fragment(frame, len)) {
		if (!t->watch || !t->watch(t->watch_arg, frame, len))
			slirp_input(t->slirp, frame, len);
		return;
	}
	if (v == SAN_PASS) {
		/* libslirp never reassembles: it only sees whole datagrams */
		switch (reasm_input(t->reasm, frame, len, clock_now_ms(), &whole,
				    &whole_len)) {
		case REASM_PASS: /* not reached: it is a fragment */
			slirp_input(t->slirp, frame, len);
			return;
		case REASM_DONE:
			slirp_input(t->slirp, whole, whole_len);
			return;
		case REASM_HELD:
			return;
		case REASM_DROP:
			v = SAN_BAD_FRAGMENT;
			break;
		}
	}
	if (!t->dropped[v]++)
		log_warn("tap: dropped a frame from the namespace (%s); more "
			 "are counted, not logged",
			 sanitize_names[v]);
}

static void rx_done(struct tap *t, unsigned buf, int res)
{
	if (res > 0) {
		tap_input(t, ring_buf(t->env.ring, buf), res);
		rx_arm(t, buf);
		return;
	}
	switch (res) {
	case -EINTR:
	case -ECANCELED:
		rx_arm(t, buf);
		return;
	case -EAGAIN:
		/* park the read until the device is readable */
		t->rx_waiting |= 1u << buf;
		if (!t->poll_armed) {
			ring_poll_add(t->env.ring, t->fd, POLLIN,
				      ring_ref(RING_TAP_POLL, t->gen, 0));
			t->poll_armed = true;
		}
		return;
	default:
		return read_failed(t, res);
	}
}

static void multishot_done(struct tap *t, int res,
			   unsigned flags)
{
	if (res > 0 && (flags & IORING_CQE_F_BUFFER)) {
		unsigned bid = flags >> IORING_CQE_BUFFER_SHIFT;

		tap_input(t, ring_pbuf(t->env.ring, bid), res);
		ring_pbuf_put(t->env.ring, bid);
	} else if (res == 0 || (res < 0 && res != -ENOBUFS && res != -EINTR &&
				res != -ECANCELED && res != -EAGAIN)) {
		return read_failed(t, res);
	}
	/* out of buffers (they are back by now), or the kernel stopped it */
	if (!(flags & IORING_CQE_F_MORE))
		rx_arm_multishot(t);
}

/* A completion for a BESS connection that has since hung up. */
static void stale(struct tap *t, union ring_ref ref, unsigned flags)
{
	if (ref.type == RING_TAP_RX && (flags & IORING_CQE_F_BUFFER))
		ring_pbuf_put(t->env.ring, flags >> IORING_CQE_BUFFER_SHIFT);
	if (ref.type == RING_TAP_TX)
		t->free_tx[t->nfree++] = ref.idx;
}

void tap_complete(struct tap *t, union ring_ref ref, int res, unsigned flags)
{
	if (ref.type == RING_TAP_POLL && ref.op == BESS_ACCEPT)
		return bess_accepted(t, res);
	if (ref.gen != t->gen)
		return stale(t, ref, flags);
	switch (ref.type) {
	case RING_TAP_RX:
		if (ref.op == RX_MULTISHOT)
			return multishot_done(t, res, flags);
		return rx_done(t, ref.idx, res);
	case RING_TAP_TX:
		t->free_tx[t->nfree++] = ref.idx;
		if (res < 0)
			tap_write_failed(t, res);
		return;
	case RING_TAP_POLL:
		t->poll_armed = false;
		if (t->listener >= 0 && res > 0 && (res & POLLHUP))
			return tap_hangup(t);
		if (res < 0 || (res & (POLLERR | POLLHUP | POLLNVAL)))
			return tap_fatal(t, "poll", res < 0 ? res : -EIO);
		for (unsigned i = 0; i < TAP_RX_DEPTH; i++)
			if (t->rx_waiting & (1u << i))
				rx_arm(t, i);
		t->rx_waiting = 0;
		return;
	default:
		return;
	}
}

// SPDX-License-Identifier: GPL-2.0-or-later
/* loop.c - the one event loop.
 *
 * DOC: Theory of Operation
 * One iteration: libslirp lists the sockets it wants watched and how long
 * it may sleep; the pollset turns the list into ring polls; one ring_wait()
 * submits everything queued since the last one (TAP writes, reads, polls)
 * and sleeps until a completion or the earliest timer. Then the whole batch
 * of completions is handled (each TAP frame straight into slirp_input()),
 * libslirp services its sockets once, and due timers fire. Bulk transfers
 * that used their budget get a slice each before the wait
 * (fwd_splice_work()), after what the turn queued has gone out and until
 * something else completes; while they wait the loop does not sleep.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctx.h"
#include "loop.h"
#include "fwd/bypass.h"
#include "fwd/udp_out.h"
#include "fwd/fwd_slirp.h"
#include "clock.h"
#include "slirp/stack.h"

enum { REAP_BATCH = 64 };

static int add_poll_cb(int fd, int events, void *opaque)
{
	struct ctx *c = opaque;

	return pollset_add(c->ps, fd, events);
}

static int get_revents_cb(int idx, void *opaque)
{
	struct ctx *c = opaque;

	return pollset_revents(c->ps, idx);
}

static void exitfd_arm(struct ctx *c)
{
	ring_poll_add(c->ring, c->o->exit_fd, POLLHUP,
		      ring_ref(RING_EXITFD, 0, 0));
}

/* -e: only HUP/ERR/NVAL end the process, data written to it does not */
static void exitfd_complete(struct ctx *c, int res)
{
	if (res < 0 || (res & (POLLHUP | POLLERR | POLLNVAL))) {
		log_info("exitfd event");
		c->quit = true;
		c->exit_status = 0;
		return;
	}
	exitfd_arm(c);
}

static void signal_arm(struct ctx *c)
{
	ring_poll_add(c->ring, c->sigfd, POLLIN, ring_ref(RING_SIGNAL, 0, 0));
}

/* Read in our own context, not by io_uring: a signalfd read from a kernel
 * worker would look at the worker's signals. */
static void signal_complete(struct ctx *c, int res)
{
	ssize_t n = read(c->sigfd, &c->siginfo, sizeof(c->siginfo));

	(void)res;
	if (n != sizeof(c->siginfo)) {
		signal_arm(c);
		return;
	}
	c->quit = true;
	c->quit_signal = c->siginfo.ssi_signo;
	c->exit_status = 128 + c->quit_signal;
}

/**
 * signals_init() - SIGTERM and SIGINT through a signalfd
 * @c:		context
 *
 * A SIGINT that was ignored when we started (a background job of a
 * non-interactive shell) stays ignored.
 * Return: 0 or -errno
 */
static int signals_init(struct ctx *c)
{
	struct sigaction old;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	if (sigaction(SIGINT, NULL, &old) == 0 && old.sa_handler != SIG_IGN)
		sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	c->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (c->sigfd < 0)
		return -errno;
	signal_arm(c);
	return 0;
}

int loop_init(struct ctx *c, int tapfd, struct err *e)
{
	size_t size;
	unsigned nbufs = tap_bufs(c->o->mtu, tap_vnet(tapfd), &size);
	struct fwd_backend backend;
	int rc;

	c->sigfd = -1;
	c->ring = ring_new(nbufs, size, true, e);
	if (c->ring)
		ring_busy_poll(c->ring, c->o->busy_poll_us);
	c->timers = timers_new();
	c->ps = c->ring && c->timers ? pollset_new(c->ring, c->timers) : NULL;
	if (!c->ring || !c->ps || !c->timers) {
		close(tapfd);
		return e->code ? e->code
			       : err_set(e, -ENOMEM, "out of memory");
	}
	c->tap = tap_new(&(struct tap_env){ c->ring, c->timers, c->o, &c->quit,
					    &c->exit_status },
			 tapfd, c->helper.bess_listener);
	c->helper.bess_listener = -1; /* the TAP's now */
	if (!c->tap)
		return err_set(e, -ENOMEM, "out of memory");
	rc = stack_new(c, e);
	if (rc < 0)
		return rc;
	tap_set_slirp(c->tap, c->slirp);
	c->reap = reap_new(c->slirp, c->tap, c->timers, c->o);
	if (!c->reap)
		return err_set(e, -ENOMEM, "out of memory");
	backend = fwd_slirp_backend(c);
	c->fwd = fwd_new(&backend);
	c->splice = fwd_splice_new(c->ring, c->timers, &c->helper, c->o);
	c->udp = fwd_udp_new(c->ring, c->timers, &c->helper, c->o);
	c->udp_out = udp_out_new(c->ring, c->timers, &c->helper, c->o);
	if (!c->fwd || !c->splice || !c->udp || !c->udp_out)
		return err_set(e, -ENOMEM, "out of memory");
	c->dns = dns_new(c->ring, c->timers, &c->helper, c->o);
	if (c->o->api_socket) {
		c->api = api_new(c->ring, c->timers, c->o, c->fwd, c->splice,
				 e);
		if (!c->api)
			return e->code;
	}
	if (c->o->exit_fd >= 0)
		exitfd_arm(c);
	rc = signals_init(c);
	if (rc < 0)
		return err_set(e, rc, "signalfd: %s", strerror(-rc));
	rc = ring_start(c->ring);
	if (rc == -EINVAL || rc == -EOPNOTSUPP)
		log_warn("io_uring restrictions unavailable (%s): the ring "
			 "accepts any operation",
			 strerror(-rc));
	else if (rc < 0)
		return err_set(e, rc, "io_uring: %s", strerror(-rc));
	c->bypass = bypass_start(c->ring, c->timers, &c->helper, c->o,
				 c->splice, c->udp_out);
	return 0;
}

static void dispatch(struct ctx *c, const struct ring_cqe *cqe)
{
	switch ((enum ring_type)cqe->ref.type) {
	case RING_NONE:
		break;
	case RING_TAP_RX:
	case RING_TAP_TX:
	case RING_TAP_POLL:
		tap_complete(c->tap, cqe->ref, cqe->res, cqe->flags);
		break;
	case RING_SPOLL:
		pollset_complete(c->ps, cqe->ref, cqe->res);
		break;
	case RING_EXITFD:
		exitfd_complete(c, cqe->res);
		break;
	case RING_SIGNAL:
		signal_complete(c, cqe->res);
		break;
	case RING_API_ACCEPT:
	case RING_API_CONN:
		api_complete(c->api, cqe->ref, cqe->res);
		break;
	case RING_FWD_LISTEN:
	case RING_FWD_CONN:
		fwd_splice_complete(c->splice, cqe->ref, cqe->res);
		break;
	case RING_FWD_UDP_LISTEN:
	case RING_FWD_UDP_FLOW:
		fwd_udp_complete(c->udp, cqe->ref, cqe->res);
		break;
	case RING_GATE_CHAN:
	case RING_GATE_CONN:
		bypass_complete(c->bypass, cqe->ref, cqe->res);
		break;
	case RING_UDP_OUT_LISTEN:
	case RING_UDP_OUT_FLOW:
		udp_out_complete(c->udp_out, cqe->ref, cqe->res);
		break;
	case RING_DNS:
		dns_complete(c->dns, cqe->ref, cqe->res);
		break;
	case RING_NUM_TYPES:
	default:
		log_err("ring: completion of unknown type %u", cqe->ref.type);
		break;
	}
}

/**
 * wait_timeout() - How long this iteration may sleep
 * @c:		context
 * @slirp_ms:	what slirp_pollfds_fill() left in its timeout
 * Return: milliseconds, -1 for no limit
 */
static int wait_timeout(struct ctx *c, uint32_t slirp_ms)
{
	int64_t t = timers_timeout(c->timers, clock_now_ms());

	if (c->kick || fwd_splice_busy(c->splice)) {
		c->kick = false;
		return 0;
	}
	if (slirp_ms != UINT32_MAX && (t < 0 || slirp_ms < t))
		t = slirp_ms;
	return t > INT32_MAX ? INT32_MAX : (int)t;
}

int loop_run(struct ctx *c)
{
	struct ring_cqe cqes[REAP_BATCH];

	while (!c->quit) {
		uint32_t slirp_ms = UINT32_MAX;
		unsigned n;
		int rc;

		slirp_pollfds_fill(c->slirp, &slirp_ms, add_poll_cb, c);
		pollset_sync(c->ps);
		tap_flush(c->tap);
		if (fwd_splice_busy(c->splice)) {
			/* frames for the TAP go before the bulk's slices */
			ring_submit(c->ring);
			fwd_splice_work(c->splice);
		}
		rc = ring_wait(c->ring, wait_timeout(c, slirp_ms));
		if (rc < 0 && rc != -EINTR && rc != -ETIME && rc != -EBUSY &&
		    rc != -EAGAIN) {
			log_err("ring: wait: %s", strerror(-rc));
			return 1;
		}
		while ((n = ring_reap(c->ring, cqes, REAP_BATCH)) > 0)
			for (unsigned i = 0; i < n; i++)
				dispatch(c, &cqes[i]);
		slirp_pollfds_poll(c->slirp, 0, get_revents_cb, c);
		pollset_reset(c->ps);
		timers_run(c->timers, clock_now_ms());
	}
	return c->exit_status;
}

void loop_cleanup(struct ctx *c)
{
	reap_free(c->reap);
	c->reap = NULL;
	/* these queue poll removals: before the ring goes */
	if (c->slirp)
		slirp_cleanup(c->slirp);
	c->slirp = NULL;
	bypass_free(c->bypass);
	c->bypass = NULL;
	fwd_splice_free(c->splice);
	c->splice = NULL;
	fwd_udp_free(c->udp);
	c->udp = NULL;
	udp_out_free(c->udp_out);
	c->udp_out = NULL;
	dns_free(c->dns);
	c->dns = NULL;
	/* the ring goes before the buffers its operations point into */
	ring_free(c->ring);
	c->ring = NULL;
	api_free(c->api);
	c->api = NULL;
	fwd_free(c->fwd);
	tap_free(c->tap);
	pollset_free(c->ps);
	timers_free(c->timers);
	if (c->sigfd >= 0)
		close(c->sigfd);
}

// SPDX-License-Identifier: GPL-2.0-or-later
/* The ring: user_data encoding, and both backends doing the same work. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>

#include "ring/ring.h"

Test(ring_ref, layout)
{
	union ring_ref r = ring_ref(RING_SPOLL, 0xabcd, 0x12345678);
	union ring_ref back = { .u64 = r.u64 };

	cr_assert_eq(back.type, RING_SPOLL);
	cr_assert_eq(back.gen, 0xabcd);
	cr_assert_eq(back.idx, 0x12345678);
	cr_assert_eq(back.op, 0);
	cr_assert_neq(ring_ref(RING_SPOLL, 1, 7).u64,
		      ring_ref(RING_SPOLL, 2, 7).u64, "gen tells them apart");
}

Test(ring_ref, names)
{
	for (unsigned i = 0; i < RING_NUM_TYPES; i++)
		cr_assert_not_null(ring_type_names[i], "type %u", i);
}

static struct ring *r;
static int sv[2];

static void setup(bool uring)
{
	r = ring_new(4, 4096, uring, NULL);
	cr_assert_not_null(r);
	cr_assert_eq(ring_start(r), 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0,
				sv),
		     0);
}

/* Wait until @n completions came, at most a second. */
static unsigned collect(struct ring_cqe *out, unsigned n)
{
	unsigned got = 0;

	for (int i = 0; i < 100 && got < n; i++) {
		ring_wait(r, 10);
		got += ring_reap(r, out + got, n - got);
	}
	return got;
}

ParameterizedTestParameters(ring, backends)
{
	static bool both[] = { true, false };

	return cr_make_param_array(bool, both, 2);
}

ParameterizedTest(bool *uring, ring, backends)
{
	struct ring_cqe c[8];
	char *buf;

	setup(*uring);
	cr_assert_eq(ring_is_uring(r), *uring, "%s", ring_describe(r));

	/* a read waits until data comes, then completes with the bytes */
	ring_read_fixed(r, sv[0], 1, 4096, ring_ref(RING_TAP_RX, 0, 1));
	ring_wait(r, 0);
	cr_assert_eq(ring_reap(r, c, 8), 0, "nothing to read yet");
	cr_assert_eq(write(sv[1], "frame", 5), 5);
	cr_assert_eq(collect(c, 1), 1);
	cr_assert_eq(c[0].ref.type, RING_TAP_RX);
	cr_assert_eq(c[0].ref.idx, 1);
	cr_assert_eq(c[0].res, 5);
	cr_assert(!memcmp(ring_buf(r, 1), "frame", 5));

	/* a write from a buffer */
	buf = ring_buf(r, 2);
	memcpy(buf, "reply", 5);
	ring_write_fixed(r, sv[0], 2, 5, ring_ref(RING_TAP_TX, 0, 2));
	cr_assert_eq(collect(c, 1), 1);
	cr_assert_eq(c[0].res, 5);
	cr_assert_eq(read(sv[1], buf + 100, 100), 5);

	/* a poll fires once with what is ready */
	ring_poll_add(r, sv[1], POLLIN, ring_ref(RING_SPOLL, 3, sv[1]));
	ring_wait(r, 0);
	cr_assert_eq(ring_reap(r, c, 8), 0);
	cr_assert_eq(write(sv[0], "x", 1), 1);
	cr_assert_eq(collect(c, 1), 1);
	cr_assert_eq(c[0].ref.gen, 3);
	cr_assert(c[0].res & POLLIN);

	/* an update changes the mask of an armed poll: POLLOUT is ready */
	ring_poll_add(r, sv[0], POLLIN, ring_ref(RING_SPOLL, 4, sv[0]));
	ring_wait(r, 0);
	ring_poll_update(r, ring_ref(RING_SPOLL, 4, sv[0]), POLLOUT);
	cr_assert_eq(collect(c, 2), 2);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(c[i].ref.type, RING_SPOLL, "both to the owner");
		cr_assert_eq(c[i].ref.gen, 4);
		if (c[i].ref.op & RING_OP_UPDATE)
			cr_assert_eq(c[i].res, 0, "update accepted");
		else
			cr_assert(c[i].res & POLLOUT);
	}

	/* a removed poll never fires; the removal's own completion is the
	 * ring's business */
	ring_poll_add(r, sv[0], POLLIN, ring_ref(RING_SPOLL, 5, sv[0]));
	ring_wait(r, 0);
	ring_poll_remove(r, ring_ref(RING_SPOLL, 5, sv[0]));
	cr_assert_eq(collect(c, 2), 1);
	cr_assert_eq(c[0].ref.u64, ring_ref(RING_SPOLL, 5, sv[0]).u64);
	cr_assert_eq(c[0].res, -ECANCELED);
	ring_free(r);
}

/* A poll that has been woken, its wake-up not yet run (with DEFER_TASKRUN
 * that waits for our next ring_wait()), by data read since: the wake-up
 * will find nothing. An update submitted now is refused (-EALREADY) and
 * the poll waits on with its old mask, so the socket that became writable
 * meanwhile would never be reported unless the owner asks again. */
static void poke_and_take_back(void)
{
	char ch, junk[4096];

	ring_poll_add(r, sv[0], POLLIN, ring_ref(RING_SPOLL, 6, sv[0]));
	ring_wait(r, 0);
	/* sv[1] full: sv[0] is not writable until it is drained */
	while (write(sv[0], junk, sizeof(junk)) > 0)
		;
	ring_submit(r);
	cr_assert_eq(write(sv[1], "x", 1), 1); /* wakes the poll */
	cr_assert_eq(read(sv[0], &ch, 1), 1);  /* and it finds nothing */
	while (read(sv[1], junk, sizeof(junk)) > 0)
		; /* sv[0] writable now */
}

Test(ring, update_refused_while_waking)
{
	struct ring_cqe c[4];
	bool out = false;

	setup(true);
	poke_and_take_back();
	ring_poll_update(r, ring_ref(RING_SPOLL, 6, sv[0]), POLLIN | POLLOUT);
	for (int i = 0; i < 100 && !out; i++) {
		ring_wait(r, 10);
		for (unsigned k = 0, n = ring_reap(r, c, 4); k < n; k++) {
			cr_assert_eq(c[k].ref.type, RING_SPOLL);
			if (c[k].ref.op & RING_OP_UPDATE) /* the owner's part */
				ring_poll_update_done(r, c[k].ref, c[k].res,
						      POLLIN | POLLOUT);
			else
				out = c[k].res & POLLOUT;
		}
	}
	cr_assert(out, "the writable socket was reported");
	ring_free(r);
}

/* The same for a removal: refused, it is asked for again by the ring, so
 * the poll ends (else it would hold the socket's file). */
Test(ring, remove_refused_while_waking)
{
	struct ring_cqe c[4];
	int res = 0;

	setup(true);
	poke_and_take_back();
	ring_poll_remove(r, ring_ref(RING_SPOLL, 6, sv[0]));
	for (int i = 0; i < 100 && !res; i++) {
		ring_wait(r, 10);
		if (ring_reap(r, c, 4)) {
			cr_assert_eq(c[0].ref.u64,
				     ring_ref(RING_SPOLL, 6, sv[0]).u64);
			res = c[0].res;
		}
	}
	cr_assert_eq(res, -ECANCELED);
	ring_free(r);
}

/* Multishot read on provided buffers: one SQE, one completion per message,
 * each naming its buffer, armed until told otherwise. */
Test(ring, multishot_read)
{
	struct ring_cqe c[8];
	unsigned got = 0;

	r = ring_new(1, 64, true, NULL);
	cr_assert_not_null(r);
	if (ring_pbuf_init(r, 4, 256) < 0) {
		cr_assert(getenv("CI") == NULL || strcmp(getenv("CI"), "true"),
			  "multishot reads missing under CI");
		cr_skip_test("no IORING_OP_READ_MULTISHOT on this kernel");
	}
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv),
		     0);
	cr_assert_eq(ring_start(r), 0);
	ring_read_multishot(r, sv[0], ring_ref(RING_TAP_RX, 0, 0));
	for (int i = 0; i < 3; i++) {
		char msg[16];

		snprintf(msg, sizeof(msg), "frame-%d", i);
		cr_assert_eq(write(sv[1], msg, strlen(msg)), (ssize_t)strlen(msg));
	}
	for (int i = 0; i < 100 && got < 3; i++) {
		ring_wait(r, 10);
		got += ring_reap(r, c + got, 8 - got);
	}
	cr_assert_eq(got, 3);
	for (unsigned i = 0; i < got; i++) {
		unsigned bid = c[i].flags >> IORING_CQE_BUFFER_SHIFT;
		char want[16];

		snprintf(want, sizeof(want), "frame-%u", i);
		cr_assert(c[i].flags & IORING_CQE_F_BUFFER);
		cr_assert(c[i].flags & IORING_CQE_F_MORE, "still armed");
		cr_assert_eq(c[i].res, (int)strlen(want));
		cr_assert(!memcmp(ring_pbuf(r, bid), want, c[i].res));
		ring_pbuf_put(r, bid);
	}
	ring_free(r);
}

/* Operations the ring was not started with are refused by the kernel. */
Test(ring, restricted_to_our_opcodes)
{
	struct ring_cqe c[2];
	struct io_uring_sqe *sqe;
	unsigned got = 0;

	r = ring_new(1, 64, true, NULL);
	cr_assert_not_null(r);
	cr_assert_eq(ring_start(r), 0);
	sqe = io_uring_get_sqe(ring_uring(r));
	io_uring_prep_openat(sqe, AT_FDCWD, "/etc/hostname", O_RDONLY, 0);
	io_uring_sqe_set_data64(sqe, ring_ref(RING_NONE, 0, 7).u64);
	for (int i = 0; i < 100 && !got; i++) {
		ring_wait(r, 10);
		got = ring_reap(r, c, 2);
	}
	cr_assert_eq(got, 1);
	cr_assert_eq(c[0].res, -EACCES, "openat through the ring: %d",
		     c[0].res);
	ring_free(r);
}

/* Resident pages of the process, KiB */
static long rss_kib(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	cr_assert_not_null(f);
	cr_assert_eq(fscanf(f, "%ld %ld", &pages, &resident), 2);
	fclose(f);
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Registered buffers are pinned on first use, after the ring is restricted
 * and started: a buffer never used costs no memory. */
Test(ring, buffers_pinned_on_first_use)
{
	enum { N = 64, SIZE = 65536 };
	struct ring_cqe c[1];
	long before = rss_kib();

	r = ring_new(N, SIZE, true, NULL);
	cr_assert_not_null(r);
	cr_assert_eq(ring_start(r), 0);
	cr_assert_lt(rss_kib() - before, N * SIZE / 1024 / 4,
		     "4 MiB of buffers, resident before use: %ld KiB",
		     rss_kib() - before);
	cr_assert(!ring_buf_pinned(r, 5));
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0,
				sv),
		     0);
	memcpy(ring_buf(r, 5), "fixed", 5);
	ring_write_fixed(r, sv[0], 5, 5, ring_ref(RING_TAP_TX, 0, 5));
	cr_assert_eq(collect(c, 1), 1);
	cr_assert_eq(c[0].res, 5, "a write from a buffer pinned now: %d",
		     c[0].res);
	cr_assert(ring_buf_pinned(r, 5), "%s", ring_describe(r));
	cr_assert(!ring_buf_pinned(r, 6));
	ring_free(r);
}

/* ring_news(): what has completed since the last wait, with no system
 * call of ours in between; false on the poll(2) backend. */
ParameterizedTestParameters(ring, news)
{
	static bool both[] = { true, false };

	return cr_make_param_array(bool, both, 2);
}

ParameterizedTest(bool *uring, ring, news)
{
	struct ring_cqe c[4];

	setup(*uring);
	ring_poll_add(r, sv[1], POLLIN, ring_ref(RING_SPOLL, 1, sv[1]));
	ring_wait(r, 0);
	cr_assert_eq(ring_reap(r, c, 4), 0);
	cr_assert_not(ring_news(r), "nothing has happened");
	cr_assert_eq(write(sv[0], "x", 1), 1); /* wakes the poll */
	cr_assert_eq(ring_news(r), *uring,
		     "io_uring flags the wake-up before it is run");
	cr_assert_eq(collect(c, 1), 1);
	cr_assert_not(ring_news(r), "taken");
	ring_free(r);
}

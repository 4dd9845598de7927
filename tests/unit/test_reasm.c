// SPDX-License-Identifier: GPL-2.0-or-later
/* IPv4 reassembly: order, overlap, bounds, eviction. */
#include <criterion/criterion.h>
#include <string.h>

#include "frame/reasm.h"

static uint8_t f[14 + 20 + 2048];

/* A fragment of datagram @id: payload bytes [off, off+n) of a datagram
 * whose byte i is (i * 7 + id) & 0xff. */
static size_t frag(uint16_t id, unsigned off, unsigned n, int more)
{
	uint16_t fr = (more ? 0x2000 : 0) | (off / 8);

	memset(f, 0, 34);
	f[12] = 0x08;
	f[14] = 0x45;
	f[16] = (20 + n) >> 8;
	f[17] = (20 + n) & 0xff;
	f[18] = id >> 8;
	f[19] = id & 0xff;
	f[20] = fr >> 8;
	f[21] = fr & 0xff;
	f[23] = 17;
	f[26] = 10, f[29] = 100; /* 10.0.2.100 (rest zero: fine here) */
	f[30] = 10, f[33] = 2;
	for (unsigned i = 0; i < n; i++)
		f[34 + i] = ((off + i) * 7 + id) & 0xff;
	return 34 + n;
}

static struct reasm *r;
static const uint8_t *out;
static size_t out_len;

static enum reasm_verdict in(size_t n, int64_t now)
{
	return reasm_input(r, f, n, now, &out, &out_len);
}

static void check_whole(uint16_t id, unsigned total)
{
	cr_assert_eq(out_len, 34 + total);
	cr_assert_eq((out[16] << 8 | out[17]), 20 + total, "total length");
	cr_assert_eq(out[20] | out[21], 0, "no fragment bits left");
	for (unsigned i = 0; i < total; i++)
		cr_assert_eq(out[34 + i], ((i * 7 + id) & 0xff), "byte %u", i);
}

TestSuite(reasm, .init = NULL);

Test(reasm, not_a_fragment_passes)
{
	r = reasm_new();
	cr_assert_eq(in(frag(1, 0, 100, 0), 0), REASM_PASS);
	reasm_free(r);
}

Test(reasm, in_order_and_out_of_order)
{
	r = reasm_new();
	cr_assert_eq(in(frag(1, 0, 1480, 1), 0), REASM_HELD);
	cr_assert_eq(in(frag(1, 1480, 1480, 1), 0), REASM_HELD);
	cr_assert_eq(in(frag(1, 2960, 41, 0), 0), REASM_DONE);
	check_whole(1, 3001);
	cr_assert_eq(in(frag(2, 1000, 13, 0), 0), REASM_HELD);
	cr_assert_eq(in(frag(2, 0, 1000, 1), 0), REASM_DONE);
	check_whole(2, 1013);
	reasm_free(r);
}

Test(reasm, overlap_drops_the_datagram)
{
	r = reasm_new();
	cr_assert_eq(in(frag(3, 0, 800, 1), 0), REASM_HELD);
	cr_assert_eq(in(frag(3, 400, 800, 1), 0), REASM_DROP);
	/* what was held is gone: the end alone does not complete it */
	cr_assert_eq(in(frag(3, 800, 8, 0), 0), REASM_HELD);
	cr_assert_eq(in(frag(3, 0, 800, 1), 0), REASM_DONE);
	check_whole(3, 808);
	reasm_free(r);
}

Test(reasm, duplicate_and_second_end_drop)
{
	r = reasm_new();
	cr_assert_eq(in(frag(4, 0, 80, 1), 0), REASM_HELD);
	cr_assert_eq(in(frag(4, 0, 80, 1), 0), REASM_DROP);
	cr_assert_eq(in(frag(5, 80, 8, 0), 0), REASM_HELD);
	cr_assert_eq(in(frag(5, 160, 8, 0), 0), REASM_DROP, "two ends");
	cr_assert_eq(in(frag(6, 160, 8, 1), 0), REASM_HELD);
	cr_assert_eq(in(frag(6, 80, 8, 0), 0), REASM_DROP, "data past the end");
	reasm_free(r);
}

Test(reasm, bad_shapes)
{
	r = reasm_new();
	cr_assert_eq(in(frag(7, 0, 100, 1), 0), REASM_DROP, "not 8-aligned");
	cr_assert_eq(in(frag(7, 65528, 16, 0), 0), REASM_DROP, "over 64 KiB");
	frag(7, 0, 80, 1);
	f[14] = 0x46; /* IP options */
	cr_assert_eq(in(34 + 80, 0), REASM_DROP);
	frag(7, 0, 80, 1);
	f[17] = 200; /* total length beyond the frame */
	cr_assert_eq(in(34 + 80, 0), REASM_DROP);
	reasm_free(r);
}

Test(reasm, bounded_and_expiring)
{
	r = reasm_new();
	/* more datagrams than slots: the oldest are evicted, no failure */
	for (unsigned id = 100; id < 100 + 4 * REASM_SLOTS; id++)
		cr_assert_eq(in(frag(id, 8, 8, 0), id), REASM_HELD);
	cr_assert_eq(in(frag(100 + 4 * REASM_SLOTS - 1, 0, 8, 1), 1000),
		     REASM_DONE, "the newest is still there");
	cr_assert_eq(in(frag(100, 0, 8, 1), 1000), REASM_HELD,
		     "the oldest was evicted: its end is gone");
	/* an old datagram expires */
	cr_assert_eq(in(frag(9, 0, 8, 1), 2000), REASM_HELD);
	cr_assert_eq(in(frag(9, 8, 8, 0), 2000 + REASM_TIMEOUT_MS + 1),
		     REASM_HELD, "expired: started over");
	reasm_free(r);
}

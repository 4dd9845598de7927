// SPDX-License-Identifier: GPL-2.0-or-later
/* Datagram batches: whole datagrams in and out, runs of one length sent as
 * one (UDP_SEGMENT), and each one alone where that is refused. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "fwd/dgram.h"

static struct dgram_batch b;

/* a UDP socket on 127.0.0.1, any port; its address in @a */
static int udp_on_lo(struct sockaddr_storage *a)
{
	struct sockaddr_in *in = (struct sockaddr_in *)a;
	socklen_t len = sizeof(*in);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	memset(a, 0, sizeof(*a));
	in->sin_family = AF_INET;
	in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)in, len) == 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)in, &len), 0);
	return fd;
}

/* @n datagrams of @sizes[i] bytes, byte value i + 1, @from -> @to */
static void send_sizes(int from, const struct sockaddr_storage *to,
		       const size_t *sizes, int n)
{
	static char buf[DGRAM_MAX];

	for (int i = 0; i < n; i++) {
		memset(buf, i + 1, sizes[i]);
		cr_assert_eq(sendto(from, buf, sizes[i], 0,
				    (const struct sockaddr *)to,
				    dgram_addrlen(to)),
			     (ssize_t)sizes[i]);
	}
}

/* what arrives at @fd is @sizes, in order, each filled with i + 1 */
static void expect_sizes(int fd, const size_t *sizes, int n)
{
	static char buf[DGRAM_MAX];

	for (int i = 0; i < n; i++) {
		ssize_t got = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		cr_assert_eq(got, (ssize_t)sizes[i], "datagram %d: %zd bytes", i,
			     got);
		for (ssize_t j = 0; j < got; j++)
			cr_assert_eq(buf[j], (char)(i + 1));
	}
	cr_assert_eq(recv(fd, buf, sizeof(buf), MSG_DONTWAIT), -1,
		     "nothing more");
}

static int refusals, refused_j, refused_err;

static void count_refused(void *opaque, int j, int err)
{
	(void)opaque;
	refused_j = j;
	refused_err = err;
	refusals++;
}

/* a batch read from one socket, sent by another to a third: intact */
static void relay(const size_t *sizes, int n, bool no_gso)
{
	struct sockaddr_storage in_a, out_a, to_a;
	int in = udp_on_lo(&in_a), out = udp_on_lo(&out_a),
	    to = udp_on_lo(&to_a), one = 1, got;

	cr_assert_eq(dgram_init(&b), 0);
	/* no UDP checksum: the kernel refuses UDP_SEGMENT (EINVAL) */
	if (no_gso)
		cr_assert_eq(setsockopt(out, SOL_SOCKET, SO_NO_CHECK, &one,
					sizeof(one)),
			     0);
	send_sizes(out, &in_a, sizes, n);
	got = dgram_recv(&b, in, DGRAM_NAMES);
	cr_assert_eq(got, n);
	cr_assert_eq(memcmp(&b.name[0], &out_a, sizeof(struct sockaddr_in)),
		     0, "the sender's address");
	refusals = 0;
	dgram_send(&b, out, 0, got, &to_a, NULL, count_refused, NULL);
	cr_assert_eq(refusals, 0);
	expect_sizes(to, sizes, n);
	close(in);
	close(out);
	close(to);
	dgram_free(&b);
}

Test(dgram, runs_of_one_length_arrive_whole)
{
	static const size_t sizes[] = { 1400, 1400, 1400, 900,	1400,
					1400, 7,    65000, 65000, 3000 };

	relay(sizes, sizeof(sizes) / sizeof(*sizes), false);
}

Test(dgram, without_gso_each_alone)
{
	static const size_t sizes[] = { 1400, 1400, 1400, 900, 1, 1, 1 };

	relay(sizes, sizeof(sizes) / sizeof(*sizes), true);
}

Test(dgram, none_waiting)
{
	struct sockaddr_storage a;
	int fd = udp_on_lo(&a);

	cr_assert_eq(dgram_init(&b), 0);
	cr_assert_eq(dgram_recv(&b, fd, 0), -EAGAIN);
	close(fd);
	dgram_free(&b);
}

Test(dgram, the_peers_error_goes_to_the_first)
{
	struct sockaddr_storage a, gone;
	int from = udp_on_lo(&a), closed = udp_on_lo(&gone), sink;
	static const size_t sizes[] = { 100, 100, 100 };
	struct sockaddr_storage sink_a;

	sink = udp_on_lo(&sink_a);
	close(closed);
	/* a connected socket whose peer is gone: the first send sets the
	 * ICMP error, the next reports it */
	cr_assert_eq(connect(from, (struct sockaddr *)&gone,
			     sizeof(struct sockaddr_in)),
		     0);
	cr_assert_eq(dgram_init(&b), 0);
	send_sizes(from, &gone, sizes, 1);
	usleep(10000);
	/* three datagrams to relay, as if read */
	for (int i = 0; i < 3; i++) {
		b.iov[i] = (struct iovec){ b.data + i * DGRAM_MAX, DGRAM_MAX };
		b.m[i].msg_len = 100;
	}
	refusals = 0;
	dgram_send(&b, from, 0, 3, NULL, NULL, count_refused, NULL);
	cr_assert_eq(refusals, 1, "the pending error, once (%d)", refusals);
	cr_assert_eq(refused_j, 0, "for the first datagram");
	cr_assert_eq(refused_err, ECONNREFUSED);
	close(from);
	close(sink);
	dgram_free(&b);
}

// SPDX-License-Identifier: GPL-2.0-or-later
/* dnsq.c - DNS over UDP through the DNS address, for bench.py.
 *
 *   dnsq server ADDR                 answer every A query on ADDR:53 with
 *                                    one record (192.0.2.1)
 *   dnsq run SERVER SECS WINDOW      WINDOW queries in flight for SECS
 *
 * run prints "qps=N p50_us=N p99_us=N lost=N": answers per second, and
 * each answered query's time from its sending. A query with no answer in
 * 500 ms is lost (counted, not timed) and another takes its place. WINDOW
 * 1 is one query at a time: latency. The server is one thread with
 * batches: what is measured is the path in between.
 */
#include <arpa/inet.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "benchutil.h"

enum { BATCH = 64, MSG = 512, MAX_WINDOW = 4096, LOST_US = 500000 };

/* a query for bench.test, type A, ID @id */
static size_t query(uint8_t *m, uint16_t id)
{
	static const uint8_t q[] = { 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0,
				     5, 'b', 'e', 'n', 'c', 'h', 4, 't', 'e',
				     's', 't', 0, 0, 1, 0, 1 };

	memcpy(m, q, sizeof(q));
	m[0] = id >> 8;
	m[1] = id & 0xff;
	return sizeof(q);
}

/* the query @m (@len bytes) made its answer: one A record, in place */
static size_t answer(uint8_t *m, size_t len)
{
	static const uint8_t rr[] = { 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4,
				      192, 0, 2, 1 };

	if (len < 12 || len + sizeof(rr) > MSG)
		return 0;
	m[2] = 0x81;
	m[3] = 0x80;
	m[7] = 1;		/* one answer */
	m[10] = m[11] = 0;	/* (an OPT record dropped) */
	for (size_t i = 12; i < len; i++)
		if (!m[i] && i + 5 <= len) {
			len = i + 5;
			break;
		}
	memcpy(m + len, rr, sizeof(rr));
	return len + sizeof(rr);
}

/* port 53 of @addr, IPv4 or IPv6 */
static void port53(const char *addr, struct sockaddr_storage *a)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)a;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)a;

	if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(53);
	} else if (inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(53);
	} else {
		die("address");
	}
}

static _Noreturn void server(const char *addr)
{
	static uint8_t buf[BATCH][MSG];
	struct sockaddr_storage from[BATCH], a = { 0 };
	struct mmsghdr h[BATCH];
	struct iovec iov[BATCH];
	int fd, big = 4 << 20;

	port53(addr, &a);
	fd = socket(a.ss_family, SOCK_DGRAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("bind");
	for (;;) {
		int n;

		for (int i = 0; i < BATCH; i++) {
			iov[i] = (struct iovec){ buf[i], MSG };
			h[i].msg_hdr = (struct msghdr){ .msg_name = &from[i],
							.msg_namelen = sizeof(from[i]),
							.msg_iov = &iov[i],
							.msg_iovlen = 1 };
		}
		n = recvmmsg(fd, h, BATCH, MSG_WAITFORONE, NULL);
		if (n <= 0)
			continue;
		for (int i = 0; i < n; i++)
			iov[i].iov_len = answer(buf[i], h[i].msg_len);
		sendmmsg(fd, h, n, 0);
	}
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static struct {
	int fd;
	uint16_t next;
	int slot_of[65536]; /* an ID in flight: its slot; else -1 */
	double sent[MAX_WINDOW];
	uint16_t id[MAX_WINDOW];
} f;

/* a new query in slot @s */
static void issue(int s)
{
	uint8_t m[MSG];

	f.id[s] = f.next++;
	f.slot_of[f.id[s]] = s;
	f.sent[s] = now_s();
	send(f.fd, m, query(m, f.id[s]), 0);
}

static void dial_dns(const char *host)
{
	struct sockaddr_storage a = { 0 };

	port53(host, &a);
	f.fd = socket(a.ss_family, SOCK_DGRAM, 0);
	if (f.fd < 0 || connect(f.fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("connect");
}

static int run(const char *host, double secs, int window)
{
	size_t cap = 1 << 22, n = 0;
	double *us = malloc(cap * sizeof(*us)), t0 = now_s(), t;
	uint8_t m[MSG];
	long lost = 0;

	if (!us)
		die("malloc");
	dial_dns(host);
	for (int i = 0; i < 65536; i++)
		f.slot_of[i] = -1;
	for (int s = 0; s < window; s++)
		issue(s);
	do {
		struct pollfd p = { .fd = f.fd, .events = POLLIN };
		ssize_t r;

		t = now_s();
		/* unanswered too long: lost, and another in its place */
		for (int s = 0; s < window; s++)
			if ((t - f.sent[s]) * 1e6 > LOST_US) {
				f.slot_of[f.id[s]] = -1;
				lost++;
				issue(s);
			}
		if (poll(&p, 1, 100) != 1)
			continue;
		while ((r = recv(f.fd, m, sizeof(m), MSG_DONTWAIT)) >= 12) {
			int s = f.slot_of[m[0] << 8 | m[1]];

			if (s < 0)
				continue;
			t = now_s();
			if (n < cap)
				us[n++] = (t - f.sent[s]) * 1e6;
			f.slot_of[f.id[s]] = -1;
			issue(s);
		}
	} while (t - t0 < secs);
	if (!n)
		die("no answer");
	qsort(us, n, sizeof(*us), cmp);
	printf("qps=%.1f p50_us=%.1f p99_us=%.1f lost=%ld\n", n / (t - t0),
	       us[n / 2], us[n * 99 / 100], lost);
	free(us);
	close(f.fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "server"))
		server(argv[2]);
	if (argc == 5 && !strcmp(argv[1], "run") && atoi(argv[4]) > 0 &&
	    atoi(argv[4]) <= MAX_WINDOW)
		return run(argv[2], atof(argv[3]), atoi(argv[4]));
	fprintf(stderr, "usage: %s server ADDR | run SERVER SECS WINDOW\n",
		argv[0]);
	return 2;
}

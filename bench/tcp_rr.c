// SPDX-License-Identifier: GPL-2.0-or-later
/* tcp_rr.c - TCP request/response measurements for bench.py.
 *
 *   tcp_rr server PORT [reset]      answer every byte with one byte
 *                                   (reset: then reset the connection)
 *   tcp_rr connrate HOST PORT SECS  connect, 1 byte each way, close, again
 *   tcp_rr latency HOST PORT COUNT  1 byte each way on one connection
 *   tcp_rr udp-latency HOST PORT COUNT  a 1-byte datagram each way
 *
 * connrate prints "rate=N" (connections per second); latency and
 * udp-latency print "p50_us=N p99_us=N" (udp-latency adds "lost=N": a
 * datagram with no answer in 100 ms is sent again, and its wait counts).
 * The server also echoes UDP datagrams on PORT. It is one epoll thread:
 * what it measures is the path in between, not the server.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "benchutil.h"

/* send each datagram back where it came from */
static void udp_echo(int u)
{
	struct sockaddr_in6 from;
	socklen_t fl = sizeof(from);
	char b[2048];
	ssize_t r = recvfrom(u, b, sizeof(b), MSG_DONTWAIT,
			     (struct sockaddr *)&from, &fl);

	if (r >= 0)
		sendto(u, b, r, 0, (struct sockaddr *)&from, fl);
}

/* answer each byte read with one byte, on every connection */
/* a reset instead of a FIN: SO_LINGER {1, 0}, then close */
static void reset_close(int fd)
{
	struct linger lg = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

static _Noreturn void server(int port, bool reset)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6,
				  .sin6_port = htons(port) };
	int l = socket(AF_INET6, SOCK_STREAM, 0), one = 1;
	int u = socket(AF_INET6, SOCK_DGRAM, 0);
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = l };

	raise_fd_limit(); /* bench/scale.py holds thousands of connections */
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 4096) ||
	    bind(u, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("bind/listen");
	epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
	ev.data.fd = u;
	epoll_ctl(ep, EPOLL_CTL_ADD, u, &ev);
	printf("listening\n");
	fflush(stdout);
	for (;;) {
		struct epoll_event evs[64];
		int n = epoll_wait(ep, evs, 64, -1);

		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			char b[512];
			ssize_t r;

			if (fd == u) {
				udp_echo(u);
				continue;
			}
			if (fd == l) {
				int c = accept(l, NULL, NULL);

				if (c < 0)
					continue;
				setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one,
					   sizeof(one));
				ev = (struct epoll_event){ .events = EPOLLIN,
							   .data.fd = c };
				epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
				continue;
			}
			r = read(fd, b, sizeof(b));
			if (r <= 0 || write(fd, b, r) != r)
				close(fd); /* also leaves the epoll set */
			else if (reset)
				reset_close(fd);
		}
	}
}

static int dial(const char *host, const char *port, int type)
{
	struct addrinfo hints = { .ai_socktype = type }, *ai;
	int fd, one = 1;

	if (getaddrinfo(host, port, &hints, &ai))
		die("getaddrinfo");
	fd = socket(ai->ai_family, type, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)
		die("connect");
	if (type == SOCK_STREAM)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	freeaddrinfo(ai);
	return fd;
}

/* one byte there and back; 0 or -1 */
static int exchange(int fd)
{
	char b = 'x';

	return write(fd, &b, 1) == 1 && read(fd, &b, 1) == 1 ? 0 : -1;
}

static int connrate(const char *host, const char *port, double secs)
{
	double t0 = now_s(), t;
	long n = 0;

	do {
		int fd = dial(host, port, SOCK_STREAM);

		if (exchange(fd) < 0)
			die("exchange");
		close(fd);
		n++;
		t = now_s();
	} while (t - t0 < secs);
	printf("rate=%.1f\n", n / (t - t0));
	return 0;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* one datagram there and its echo back, sent again after 100 ms of
 * silence (at most 50 times); 0, or -1 */
static int udp_exchange(int fd, long *lost)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char b = 'x';

	for (int tries = 0; tries < 50; tries++) {
		if (send(fd, &b, 1, 0) != 1)
			return -1;
		if (poll(&p, 1, 100) == 1)
			return recv(fd, &b, 1, 0) == 1 ? 0 : -1;
		(*lost)++;
	}
	return -1;
}

static int latency(const char *host, const char *port, long count, int type)
{
	double *us = calloc(count, sizeof(*us));
	int fd = dial(host, port, type);
	long lost = 0;

	if (!us)
		die("calloc");
	for (long i = 0; i < count; i++) {
		double t0 = now_s();

		if ((type == SOCK_DGRAM ? udp_exchange(fd, &lost)
					: exchange(fd)) < 0)
			die("exchange");
		us[i] = (now_s() - t0) * 1e6;
	}
	qsort(us, count, sizeof(*us), cmp);
	printf("p50_us=%.1f p99_us=%.1f", us[count / 2], us[count * 99 / 100]);
	printf(type == SOCK_DGRAM ? " lost=%ld\n" : "\n", lost);
	free(us); /* a leak fails the sanitizer build's smoke run */
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "server"))
		server(atoi(argv[2]), false);
	if (argc == 4 && !strcmp(argv[1], "server") &&
	    !strcmp(argv[3], "reset"))
		server(atoi(argv[2]), true);
	if (argc == 5 && !strcmp(argv[1], "connrate"))
		return connrate(argv[2], argv[3], atof(argv[4]));
	if (argc == 5 && !strcmp(argv[1], "latency") && atol(argv[4]) > 0)
		return latency(argv[2], argv[3], atol(argv[4]), SOCK_STREAM);
	if (argc == 5 && !strcmp(argv[1], "udp-latency") && atol(argv[4]) > 0)
		return latency(argv[2], argv[3], atol(argv[4]), SOCK_DGRAM);
	fprintf(stderr, "usage: %s server PORT [reset] | connrate HOST PORT SECS | "
			"[udp-]latency HOST PORT COUNT\n",
		argv[0]);
	return 2;
}

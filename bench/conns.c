// SPDX-License-Identifier: GPL-2.0-or-later
/* conns.c - many TCP connections at once, for bench/scale.py and its test.
 *
 *   conns churn HOST PORT COUNT PAR SIZE [SECS [HOW]]
 *	COUNT connections, PAR at a time: connect, SIZE bytes there, the
 *	same back (an echo service), close. Prints "done=N failed=N
 *	rate=CONN/S p50_ms=X p99_ms=X", the times from connect() to the
 *	last byte back. With SECS, none starts after that long. HOW ends
 *	each connection otherwise: "reset" (SO_LINGER 0 after the echo),
 *	"half" (shutdown(SHUT_WR) once sent, then the echo, then close),
 *	"vanish" (shutdown(SHUT_WR) once sent, then close at once: the echo
 *	meets a closed socket, a reset).
 *   conns hold HOST PORT COUNT [SECS]
 *	COUNT connections, 64 at a time, 16 bytes echoed on each, left open
 *	(none opened after SECS).
 *	A connection whose echo takes over 5 s is not counted (the handshake
 *	alone completes in a full listener's backlog); opening stops after 64
 *	such in a row. Prints "held=N", then keeps them until stdin closes.
 *
 * One epoll thread: what it measures is the path in between. Raises its
 * soft fd limit to the hard one.
 */
#include <errno.h>
#include <stdbool.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "benchutil.h"

enum { HOLD_PAR = 64, HOLD_SIZE = 16, HOLD_WAIT_S = 5, MAX_SIZE = 65536 };

struct conn {
	int fd;
	size_t sent, got;
	bool shut;
	double t0;
};

enum how { CLOSE, RESET, HALF, VANISH };

struct run {
	struct addrinfo *ai;
	int ep;
	size_t size;
	enum how how;
	long started, done;
	double *ms; /* per finished connection */
	char buf[MAX_SIZE];
};

/* a new connection under way into @c; -1 if none could be started */
static int start(struct run *r, struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };

	c->fd = socket(r->ai->ai_family,
		       SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	c->sent = c->got = 0;
	c->shut = false;
	c->t0 = now_s();
	if ((connect(c->fd, r->ai->ai_addr, r->ai->ai_addrlen) < 0 &&
	     errno != EINPROGRESS) ||
	    epoll_ctl(r->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	r->started++;
	return 0;
}

/* move @c on; 1 when its echo is complete, 0 to wait, -1 if it failed */
static int step(struct run *r, struct conn *c, unsigned events)
{
	struct epoll_event ev = { .data.ptr = c };
	ssize_t n;

	if (events & EPOLLERR)
		return -1;
	while (c->sent < r->size) {
		n = send(c->fd, r->buf, r->size - c->sent, MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		c->sent += n;
	}
	if ((r->how == HALF || r->how == VANISH) && !c->shut) {
		shutdown(c->fd, SHUT_WR);
		c->shut = true;
		if (r->how == VANISH)
			return 1;
	}
	while (c->got < r->size) {
		n = recv(c->fd, r->buf, sizeof(r->buf), 0);
		if (n == 0 || (n < 0 && errno != EAGAIN))
			return -1;
		if (n < 0)
			break;
		c->got += n;
	}
	if (c->got >= r->size)
		return 1;
	ev.events = EPOLLIN;
	epoll_ctl(r->ep, EPOLL_CTL_MOD, c->fd, &ev);
	return 0;
}


/* everything run_init() made (a leak fails the sanitizer build's runs) */
static void run_free(struct run *r)
{
	freeaddrinfo(r->ai);
	close(r->ep);
	free(r->ms);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static struct addrinfo *resolve(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;

	if (getaddrinfo(host, port, &hints, &ai))
		die("getaddrinfo");
	return ai;
}

static void run_init(struct run *r, const char *host, const char *port,
		     long count, size_t size)
{
	memset(r->buf, 'c', sizeof(r->buf));
	r->ai = resolve(host, port);
	r->ep = epoll_create1(EPOLL_CLOEXEC);
	r->size = size;
	r->ms = calloc(count ? count : 1, sizeof(*r->ms));
	if (r->ep < 0 || !r->ms)
		die("epoll/calloc");
}

static int churn(const char *host, const char *port, long count, int par,
		 size_t size, double secs_max, enum how how)
{
	static struct run r;
	struct conn *cs = calloc(par, sizeof(*cs));
	double t0 = now_s(), secs;
	long active = 0;

	if (!cs || size > MAX_SIZE || par < 1)
		die("arguments");
	for (int i = 0; i < par; i++)
		cs[i].fd = -1;
	run_init(&r, host, port, count, size);
	r.how = how;
	for (int i = 0; i < par && r.started < count; i++)
		active += start(&r, &cs[i]) == 0;
	while (active) {
		struct epoll_event evs[64];
		int n = epoll_wait(r.ep, evs, 64, 30000);

		if (n <= 0)
			break; /* 30 s without progress: the rest failed */
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			int res = step(&r, c, evs[i].events);

			if (!res)
				continue;
			if (res > 0)
				r.ms[r.done++] = (now_s() - c->t0) * 1e3;
			if (r.how == RESET) {
				struct linger lg = { 1, 0 };

				setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg,
					   sizeof(lg));
			}
			close(c->fd);
			c->fd = -1;
			active--;
			if (r.started < count && now_s() - t0 < secs_max)
				active += start(&r, c) == 0;
		}
	}
	secs = now_s() - t0;

	qsort(r.ms, r.done, sizeof(*r.ms), cmp);
	printf("done=%ld failed=%ld rate=%.1f p50_ms=%.2f p99_ms=%.2f\n",
	       r.done, r.started - r.done, r.done / secs,
	       r.done ? r.ms[r.done / 2] : 0.0,
	       r.done ? r.ms[r.done * 99 / 100] : 0.0);
	fflush(stdout);
	for (int i = 0; i < par; i++)
		if (cs[i].fd >= 0) /* still under way when it gave up */
			close(cs[i].fd);
	free(cs);
	run_free(&r);
	return 0;
}

/* one batch of up to HOLD_PAR connections: how many echoed in time */
static long hold_batch(struct run *r, struct conn *cs, int par)
{
	long ok = 0, active = 0;
	double end = now_s() + HOLD_WAIT_S;

	for (int i = 0; i < par; i++)
		active += start(r, &cs[i]) == 0;
	while (active && now_s() < end) {
		struct epoll_event evs[64];
		int n = epoll_wait(r->ep, evs, 64, 100);

		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			int res = step(r, c, evs[i].events);

			if (!res)
				continue;
			epoll_ctl(r->ep, EPOLL_CTL_DEL, c->fd, NULL);
			active--;
			ok += res > 0;
			if (res < 0) {
				close(c->fd);
				c->fd = -1;
			}
		}
	}
	return ok;
}

static int hold(const char *host, const char *port, long count,
		double secs_max)
{
	static struct run r;
	struct conn *cs = calloc(count + HOLD_PAR, sizeof(*cs));
	long held = 0, in_a_row = 0;
	double t0 = now_s();
	char c;

	if (!cs)
		die("calloc");
	run_init(&r, host, port, 0, HOLD_SIZE);
	while (held < count && in_a_row < HOLD_PAR &&
	       now_s() - t0 < secs_max) {
		int par = count - held < HOLD_PAR ? count - held : HOLD_PAR;
		long ok = hold_batch(&r, cs + held, par);

		/* keep the ones that echoed at the front */
		for (int i = 0, j = 0; i < par; i++)
			if (cs[held + i].fd >= 0 && cs[held + i].got >= HOLD_SIZE)
				cs[held + j++] = cs[held + i];
			else if (cs[held + i].fd >= 0)
				close(cs[held + i].fd);
		held += ok;
		in_a_row = ok ? 0 : in_a_row + par;
	}
	printf("held=%ld\n", held);
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	for (long i = 0; i < held; i++)
		close(cs[i].fd);
	free(cs);
	run_free(&r);
	return 0;
}

static int parse_how(const char *s)
{
	static const char *const names[] = { "close", "reset", "half",
					     "vanish" };

	for (int i = 0; i < 4; i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}

int main(int argc, char **argv)
{
	int how = argc == 9 ? parse_how(argv[8]) : CLOSE;

	raise_fd_limit();
	if (argc >= 7 && argc <= 9 && !strcmp(argv[1], "churn") &&
	    atol(argv[4]) > 0 && how >= 0)
		return churn(argv[2], argv[3], atol(argv[4]), atoi(argv[5]),
			     atol(argv[6]), argc >= 8 ? atof(argv[7]) : 1e9,
			     how);
	if ((argc == 5 || argc == 6) && !strcmp(argv[1], "hold") &&
	    atol(argv[4]) > 0)
		return hold(argv[2], argv[3], atol(argv[4]),
			    argc == 6 ? atof(argv[5]) : 1e9);
	fprintf(stderr, "usage: %s churn HOST PORT COUNT PAR SIZE [SECS "
			"[close|reset|half|vanish]] | "
			"hold HOST PORT COUNT [SECS]\n",
		argv[0]);
	return 2;
}

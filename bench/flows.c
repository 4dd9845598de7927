// SPDX-License-Identifier: GPL-2.0-or-later
/* flows.c - many UDP flows at once, for bench/scale.py and its test.
 *
 *   flows HOST PORT COUNT [ROUNDS]
 *	COUNT UDP sockets, each connected to HOST:PORT (an echo service),
 *	each a flow of its own. A round: every socket sends a 16-byte
 *	datagram naming it, and waits for it to come back (sent again after
 *	a second, at most 3 tries, 64 on the way at a time). ROUNDS (default
 *	2) of them, the sockets kept open throughout: the later rounds ask
 *	the same flows again, so a flow the forwarder dropped meanwhile
 *	shows as a slower or lost echo only if it cannot make it again.
 *	Prints, per round, "round=N answered=N lost=N secs=X p99_ms=X", then
 *	keeps the sockets until stdin closes.
 *
 * One epoll thread. Raises its soft fd limit to the hard one.
 */
#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "benchutil.h"

enum { PAR = 64, TRIES = 3, SIZE = 16 };

struct flow {
	int fd;
	int tries;
	bool done;
	double t0, t1; /* first send, last send */
};

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void ask(struct flow *f, long i)
{
	char msg[SIZE];

	snprintf(msg, sizeof(msg), "%015ld", i);
	f->t1 = now_s();
	if (!f->tries++)
		f->t0 = f->t1;
	send(f->fd, msg, SIZE, MSG_DONTWAIT);
}

/* its echo, if it is one: true */
static bool echoed(struct flow *f, long i)
{
	char msg[SIZE], want[SIZE];

	snprintf(want, sizeof(want), "%015ld", i);
	while (recv(f->fd, msg, sizeof(msg), MSG_DONTWAIT) == SIZE)
		if (!memcmp(msg, want, SIZE))
			return true;
	return false;
}

/* flow @i is settled, answered or lost: its slot takes the next one */
static void settle(long *slot, long *next, long count)
{
	*slot = *next < count ? (*next)++ : -1;
}

/* one round over all flows, PAR at a time; prints its line */
static void round_of(struct flow *fs, long count, int ep, int n, double *ms)
{
	long slots[PAR], next = 0, answered = 0, lost = 0, busy;
	double t0 = now_s();

	for (long i = 0; i < count; i++)
		fs[i].tries = fs[i].done = 0;
	for (int j = 0; j < PAR; j++) {
		settle(&slots[j], &next, count);
		if (slots[j] >= 0)
			ask(&fs[slots[j]], slots[j]);
	}
	do {
		struct epoll_event evs[PAR];
		int k = epoll_wait(ep, evs, PAR, 100);

		for (int j = 0; j < k; j++) {
			long i = evs[j].data.u64;

			if (!fs[i].done && fs[i].tries && echoed(&fs[i], i)) {
				fs[i].done = true;
				ms[answered++] = (now_s() - fs[i].t0) * 1e3;
			}
		}
		busy = 0;
		for (int j = 0; j < PAR; j++) {
			long i = slots[j];

			if (i >= 0 && !fs[i].done && now_s() - fs[i].t1 >= 1.0) {
				if (fs[i].tries < TRIES) {
					ask(&fs[i], i);
				} else {
					fs[i].done = true;
					lost++;
				}
			}
			if (i >= 0 && fs[i].done) {
				settle(&slots[j], &next, count);
				if (slots[j] >= 0)
					ask(&fs[slots[j]], slots[j]);
			}
			busy += slots[j] >= 0;
		}
	} while (busy);
	qsort(ms, answered, sizeof(*ms), cmp);
	printf("round=%d answered=%ld lost=%ld secs=%.2f p99_ms=%.2f\n", n,
	       answered, lost, now_s() - t0,
	       answered ? ms[answered * 99 / 100] : 0.0);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *ai;
	long count = argc >= 4 ? atol(argv[3]) : 0;
	int rounds = argc == 5 ? atoi(argv[4]) : 2, ep;
	struct flow *fs;
	double *ms;
	char c;

	if (argc < 4 || argc > 5 || count <= 0 || rounds <= 0) {
		fprintf(stderr, "usage: %s HOST PORT COUNT [ROUNDS]\n", argv[0]);
		return 2;
	}
	raise_fd_limit();
	if (getaddrinfo(argv[1], argv[2], &hints, &ai))
		die("getaddrinfo");
	fs = calloc(count, sizeof(*fs));
	ms = calloc(count, sizeof(*ms));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!fs || !ms || ep < 0)
		die("setup");
	for (long i = 0; i < count; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = i };

		fs[i].fd = socket(ai->ai_family,
				  SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fs[i].fd < 0 ||
		    connect(fs[i].fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
		    epoll_ctl(ep, EPOLL_CTL_ADD, fs[i].fd, &ev) < 0)
			die("socket");
	}
	for (int n = 1; n <= rounds; n++)
		round_of(fs, count, ep, n, ms);
	while (read(0, &c, 1) > 0)
		;
	for (long i = 0; i < count; i++)
		close(fs[i].fd);
	close(ep);
	free(fs);
	free(ms);
	freeaddrinfo(ai);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0-or-later
/* api.c - the API socket's server, on the ring.
 *
 * DOC: Theory of Operation
 * One accept is always outstanding on the listener. Each client gets a slot
 * with its own 4 KiB buffer and one operation in flight at a time:
 *
 *   RECV --(bytes, no complete JSON yet, < 4096)--> RECV
 *   RECV --(a complete JSON value, or EOF, or 4096 bytes)--> SEND reply
 *   SEND --(partial)--> SEND rest;  SEND --(done)--> SHUT_WR, DRAIN
 *   DRAIN --(bytes, up to 1 MiB)--> DRAIN;  DRAIN --(EOF or error)--> close
 *
 * Draining matters: closing a socket with unread input sends RST, and the
 * client would lose the reply (a request over 4096 bytes, say).
 * So a request may come in pieces, is answered without waiting for the
 * client's SHUT_WR, and a client that sends nothing only holds its own slot:
 * the loop never waits on it. A new client's first read and each reply's
 * first write are tried at once, without the ring: the request is usually
 * there when the client is accepted, and a reply fits the socket, so a
 * call takes one turn of the loop instead of three (each turn may wait
 * behind a bulk transfer's slice). With every slot taken, new clients are
 * closed at once. EMFILE on accept retries after a short pause instead of
 * spinning.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../clock.h"
#include "../fwd/splice.h"
#include "../options.h"
#include "../timers.h"
#include "api.h"
#include "api_req.h"
#include "json.h"

enum { API_SLOTS = 256, API_ACCEPT_RETRY_MS = 100, API_DRAIN_MAX = 1 << 20 };
enum api_op { API_RECV, API_SEND, API_DRAIN };

struct api_conn {
	int fd; /* -1: slot free */
	uint16_t gen;
	size_t len;
	bool eof;
	size_t drained;
	char *reply;
	size_t reply_len, sent;
	/* allocated per client: 256 slots of inline buffers were 1 MiB of
	 * resident memory for an API that is mostly idle */
	char *buf;
};

struct api {
	struct ring *ring;
	struct timers *timers;
	const struct opts *o;
	struct fwd_table *fwd;
	const struct fwd_splice *splice; /* is the fast path there? */
	int lfd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct timer *retry;
	struct api_conn conns[API_SLOTS];
};

static void accept_arm(struct api *a)
{
	ring_accept(a->ring, a->lfd, ring_ref(RING_API_ACCEPT, 0, 0));
}

static void retry_accept(void *opaque, void *unused)
{
	(void)unused;
	accept_arm(opaque);
}

struct api *api_new(struct ring *ring, struct timers *timers,
		    const struct opts *o, struct fwd_table *fwd,
		    const struct fwd_splice *splice, struct err *e)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *path = o->api_socket;
	struct api *a;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		err_set(e, -ENAMETOOLONG,
			"the specified API socket path is too long (>= %zu)",
			sizeof(sun.sun_path));
		return NULL;
	}
	a = calloc(1, sizeof(*a));
	if (!a) {
		err_set(e, -ENOMEM, "out of memory");
		return NULL;
	}
	a->ring = ring;
	a->timers = timers;
	a->o = o;
	a->fwd = fwd;
	a->splice = splice;
	for (unsigned i = 0; i < API_SLOTS; i++)
		a->conns[i].fd = -1;
	strcpy(sun.sun_path, path);
	strcpy(a->path, path);
	a->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->lfd < 0)
		goto fail;
	unlink(path);
	if (bind(a->lfd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(a->lfd, SOMAXCONN) < 0)
		goto fail;
	a->retry = timers_add(timers, retry_accept, a, NULL);
	if (!a->retry)
		goto fail;
	accept_arm(a);
	return a;
fail:
	err_set(e, -errno, "%s: %s", path, strerror(errno));
	if (a->lfd >= 0)
		close(a->lfd);
	free(a);
	return NULL;
}

static void conn_close(struct api_conn *k)
{
	close(k->fd);
	free(k->reply);
	free(k->buf);
	k->fd = -1;
	k->reply = NULL;
	k->buf = NULL;
	k->gen++;
}

static union ring_ref conn_ref(struct api *a, struct api_conn *k,
			       enum api_op op)
{
	union ring_ref r = ring_ref(RING_API_CONN, k->gen, k - a->conns);

	r.op = op;
	return r;
}

static void conn_recv(struct api *a, struct api_conn *k)
{
	ring_recv(a->ring, k->fd, k->buf + k->len, API_MAX_REQUEST - k->len,
		  conn_ref(a, k, API_RECV));
}

static void conn_send(struct api *a, struct api_conn *k)
{
	ring_send(a->ring, k->fd, k->reply + k->sent,
		  k->reply_len - k->sent, conn_ref(a, k, API_SEND));
}

static void conn_sent(struct api *a, struct api_conn *k, int res);

/* The reply's first write: now if the socket takes it, else by the ring. */
static void conn_send_now(struct api *a, struct api_conn *k)
{
	ssize_t n = send(k->fd, k->reply, k->reply_len,
			 MSG_DONTWAIT | MSG_NOSIGNAL);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		conn_send(a, k);
	else
		conn_sent(a, k, n < 0 ? -errno : (int)n);
}

/* A request is in (or will not come): answer it. */
static void conn_answer(struct api *a, struct api_conn *k, size_t len)
{
	struct api_env env = { a->fwd, &a->o->net, a->o->ipv6,
			       !a->o->forward_slirp &&
				       fwd_splice_available(a->splice) };
	int n = api_request(&env, k->buf, len, &k->reply);

	if (n < 0) {
		log_warn("api: out of memory answering a request");
		conn_close(k);
		return;
	}
	k->reply_len = n;
	k->sent = 0;
	conn_send_now(a, k);
}

static void conn_received(struct api *a, struct api_conn *k, int res)
{
	size_t end;

	if (res < 0) {
		conn_close(k);
		return;
	}
	k->len += res;
	k->eof = res == 0;
	end = json_value_end(k->buf, k->len);
	/* what came after the value counts towards "too large" too */
	if (end || res == 0 || k->len == API_MAX_REQUEST)
		conn_answer(a, k, k->len);
	else
		conn_recv(a, k);
}

static void conn_drain(struct api *a, struct api_conn *k)
{
	ring_recv(a->ring, k->fd, k->buf, API_MAX_REQUEST,
		  conn_ref(a, k, API_DRAIN));
}

static void conn_sent(struct api *a, struct api_conn *k, int res)
{
	if (res > 0 && (k->sent += res) < k->reply_len) {
		conn_send(a, k);
		return;
	}
	if (res <= 0 || k->eof) {
		conn_close(k);
		return;
	}
	shutdown(k->fd, SHUT_WR);
	k->drained = 0;
	conn_drain(a, k);
}

static void conn_drained(struct api *a, struct api_conn *k, int res)
{
	if (res <= 0 || (k->drained += res) > API_DRAIN_MAX) {
		conn_close(k);
		return;
	}
	conn_drain(a, k);
}

/* A new client's first read: now if its request is there, else by the
 * ring. */
static void conn_recv_now(struct api *a, struct api_conn *k)
{
	ssize_t n = recv(k->fd, k->buf, API_MAX_REQUEST, MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		conn_recv(a, k);
	else
		conn_received(a, k, n < 0 ? -errno : (int)n);
}

static void accepted(struct api *a, int res)
{
	struct api_conn *k = NULL;

	if (res == -ECONNABORTED || res == -EINTR || res == -EAGAIN) {
		accept_arm(a); /* that client only */
		return;
	}
	if (res < 0) {
		/* EMFILE and friends: try again later rather than spin */
		timers_mod(a->retry, clock_now_ms() + API_ACCEPT_RETRY_MS);
		return;
	}
	accept_arm(a);
	for (unsigned i = 0; i < API_SLOTS && !k; i++)
		if (a->conns[i].fd < 0)
			k = &a->conns[i];
	if (k) /* zeroed: valgrind cannot see the ring's recv fill it */
		k->buf = calloc(1, API_MAX_REQUEST);
	if (!k || !k->buf) {
		close(res); /* every slot busy with a silent client, or no memory */
		return;
	}
	k->fd = res;
	k->len = 0;
	k->eof = false;
	conn_recv_now(a, k);
}

void api_complete(struct api *a, union ring_ref ref, int res)
{
	struct api_conn *k;

	if (ref.type == RING_API_ACCEPT)
		return accepted(a, res);
	if (ref.idx >= API_SLOTS)
		return;
	k = &a->conns[ref.idx];
	if (k->fd < 0 || k->gen != ref.gen)
		return;
	switch ((enum api_op)ref.op) {
	case API_RECV:
		return conn_received(a, k, res);
	case API_SEND:
		return conn_sent(a, k, res);
	case API_DRAIN:
		return conn_drained(a, k, res);
	}
}

void api_free(struct api *a)
{
	if (!a)
		return;
	for (unsigned i = 0; i < API_SLOTS; i++)
		if (a->conns[i].fd >= 0)
			conn_close(&a->conns[i]);
	close(a->lfd);
	unlink(a->path);
	free(a);
}

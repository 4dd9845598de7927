// SPDX-License-Identifier: GPL-2.0-or-later
/* helper.c - the process that works inside the target's namespaces.
 *
 * DOC: Theory of Operation
 * Forked before anything else, with a SOCK_SEQPACKET pair to the parent and
 * PR_SET_PDEATHSIG so it never outlives it while it sets up; once the fd
 * is sent, the pair's EOF ends it instead, after it removed its rules. It joins the target's user and
 * network namespaces, opens the TAP (runs -c), and sends the fd back with
 * SCM_RIGHTS. Then it stays: a socket created in the namespace keeps that
 * namespace, so the parent, which stays in the host's, asks the helper for
 * sockets (struct helper_req) to reach services in the namespace directly.
 * It exits when the parent closes its end. Under --enable-seccomp it serves
 * behind its own allowlist (seccomp_helper_apply()).
 *
 * It lives in the target's user namespace, where root may ptrace a process
 * of the same credentials and read its /proc/PID/root, cwd, fd and mem:
 * slirp4netns's child exits once the fd is sent, ours stays. So it is
 * never dumpable (from the fork on), and once its files are open it moves
 * into a mount namespace of its own with an empty root and keeps no
 * capability but CAP_NET_ADMIN and CAP_NET_RAW (sandbox_helper_apply()).
 *
 * If the helper fails before sending the fd it exits 1 and the parent says
 * "child failed(1)" and exits with that status, as slirp4netns does.
 *
 * BESS mode: the helper stays in our namespaces, listens on the unix socket
 * PATH, and sends the first connection instead of a TAP, then the listener
 * (tap.c takes the peers that come after a hang-up from it); each
 * SEQPACKET message is one Ethernet frame, so the rest of the process
 * cannot tell.
 */
#include <errno.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../options.h"
#include "../sandbox.h"
#include "configure.h"
#include "helper.h"
#include "nsenter.h"

enum { HELPER_STOP_MS = 1000 };

int fd_send(int sock, const void *buf, size_t len, int fd)
{
	char ctl[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { (void *)buf, len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (fd >= 0) {
		msg.msg_control = ctl;
		msg.msg_controllen = sizeof(ctl);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	return sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

ssize_t fd_recv(int sock, void *buf, size_t len, int *fd)
{
	char ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { buf, len };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = ctl,
			      .msg_controllen = sizeof(ctl) };
	struct cmsghdr *cm;
	ssize_t n;

	*fd = -1;
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
			memcpy(fd, CMSG_DATA(cm), sizeof(int));
	return n;
}

enum { BOUND_RCVBUF = 8 << 20 };

/* bind to req->src, local or not: transparent, so that it may also send
 * from there (IP_FREEBIND binds, but the route of a datagram from an
 * address that is not local fails); a datagram socket's receive buffer
 * holds a burst (the DNS forwarder's, a few thousand queries) */
static int bind_free(int fd, const struct helper_req *req)
{
	int one = 1, buf = BOUND_RCVBUF;

	if ((req->family == AF_INET6
		     ? setsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &one,
				  sizeof(one))
		     : setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one,
				  sizeof(one))) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		return -1;
	/* (beyond rmem_max only with CAP_NET_ADMIN where it counts: the
	 * host's user namespace, so rarely) */
	if ((req->type & 0xf) == SOCK_DGRAM &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	return bind(fd, (const struct sockaddr *)&req->src, req->srclen);
}

/**
 * make_socket() - HELPER_SOCKET: a socket, transparent and bound if asked
 * @req:	the request
 * Return: the fd, or -errno
 */
static int make_socket(const struct helper_req *req)
{
	int fd = socket(req->family, req->type | SOCK_CLOEXEC, req->protocol);
	int one = 1, rc = 0;

	if (fd < 0)
		return -errno;
	if (req->srclen > sizeof(req->src) ||
	    (req->srclen && req->src.ss_family != req->family))
		rc = -EINVAL;
	else if (req->mark &&
		 (setsockopt(fd, SOL_SOCKET, SO_MARK, &req->mark,
			     sizeof(req->mark)) < 0 ||
		  (req->family == AF_INET6
			   ? setsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &one,
					sizeof(one))
			   : setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one,
					sizeof(one))) < 0))
		rc = -errno;
	else if (req->srclen && bind_free(fd, req) < 0)
		rc = -errno;
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

/* HELPER_DNS_ROUTE: what goes to req->src's address, port 53, to the
 * socket there (see helper_dns_route()) */
static int dns_route(struct helper_rules *r, const struct helper_req *req)
{
	const struct sockaddr_in *a4 = (const void *)&req->src;
	const struct sockaddr_in6 *a6 = (const void *)&req->src;
	int f = req->src.ss_family, rc;
	const void *addr = f == AF_INET6 ? (const void *)&a6->sin6_addr
					 : (const void *)&a4->sin_addr;

	if (!r)
		return -ENOTSUP;
	if (f != AF_INET && f != AF_INET6)
		return -EINVAL;
	if (r->tap_ifindex)
		return transparent_local_route(&r->t, f, addr,
					       r->tap_ifindex);
	/* marked packets go through lo: not while it is down (RootlessKit
	 * brings it up after we are ready) */
	if (!transparent_lo_up(&r->t))
		return -ENETDOWN;
	rc = transparent_install(&r->t, req->mark, req->table, req->count);
	return rc < 0 ? rc : dnsmark_install(&r->dm, f, addr);
}

/**
 * answer() - One request from the parent, and its answers
 * @sock:	the pair
 * @req:	the request
 * @rfd:	a socket that came with it, or -1; ours
 * @r:		the rules' state, NULL in BESS mode
 * @q:		the SYN queue: r's, or one never bound
 */
static void answer(int sock, const struct helper_req *req, int rfd,
		   struct helper_rules *r, struct synq *q)
{
	struct helper_rep rep = { .id = req->id };
	struct transparent *t = r ? &r->t : NULL;
	struct tproxy *p = r ? &r->p : NULL;
	int fd = -1;

	if (req->op == HELPER_SOCKET) {
		/* all but the last answer here, the last below */
		for (uint32_t i = 1; i < req->count && i < HELPER_BATCH; i++) {
			fd = make_socket(req);
			rep.err = fd < 0 ? fd : 0;
			fd_send(sock, &rep, sizeof(rep), fd);
			if (fd >= 0)
				close(fd);
		}
		fd = make_socket(req);
		rep.err = fd < 0 ? fd : 0;
	} else if (req->op == HELPER_SYNQ_SOCKET) {
		fd = synq_spare_fd(q);
		rep.err = fd < 0 ? fd : 0;
		fd_send(sock, &rep, sizeof(rep), fd);
		synq_close_spare(q); /* the parent's now, or nobody's */
		if (rfd >= 0)
			close(rfd);
		return;
	} else if (req->op == HELPER_BYPASS && p && (rfd >= 0 || req->count)) {
		/* the rules route the namespace's TCP through lo: not while
		 * it is down (a client without -c may bring it up later).
		 * Then the queue, unless the parent has it (count 1): a SYN
		 * the rules send to a queue nobody has is dropped */
		if (t && !transparent_lo_up(t))
			rep.err = -ENETDOWN;
		else if (rfd >= 0)
			rep.err = synq_bind(q, rfd);
		if (rep.err == 0 && rfd >= 0)
			rfd = -1; /* the queue's channel now */
		if (rep.err == 0)
			rep.err = tproxy_install(p, &req->ports);
		if (rep.err < 0)
			synq_unbind(q);
	} else if (req->op == HELPER_TRANSPARENT) {
		rep.err = t ? transparent_install(t, req->mark, req->table,
						  req->family == AF_INET6)
			    : -ENOTSUP;
	} else if (req->op == HELPER_DNS_ROUTE) {
		rep.err = dns_route(r, req);
	} else if (req->op == HELPER_CT_SOCKET) {
		/* the parent's now, or nobody's */
		fd = r ? r->ct_spare : -1;
		rep.err = fd < 0 ? -ENOTSUP : 0;
		if (r)
			r->ct_spare = -1;
	} else if (req->op == HELPER_UDP_REPLY) {
		rep.err = r ? udpreply_install(&r->u, req->family == AF_INET6)
			    : -ENOTSUP;
	} else {
		rep.err = req->op == HELPER_BYPASS ? -ENOTSUP : -EINVAL;
	}
	if (rfd >= 0)
		close(rfd);
	fd_send(sock, &rep, sizeof(rep), fd);
	if (fd >= 0)
		close(fd);
}

/**
 * serve_one() - Wait for the parent's next request or the queue's
 * next SYN, and handle what came
 * @sock:	the pair
 * @r:		as answer()
 * @q:		as answer()
 * Return: false once the parent is gone
 */
static bool serve_one(int sock, struct helper_rules *r, struct synq *q)
{
	struct pollfd pf[3] = { { .fd = sock, .events = POLLIN },
				{ .fd = q->chan, .events = POLLIN },
				{ .fd = synq_queue_fd(q), .events = POLLIN } };
	struct helper_req req;
	int fd;

	/* SYNs the parent could not take yet: wait for room, and leave
	 * the next ones in the kernel's queue meanwhile */
	if (synq_waiting(q)) {
		pf[1].events |= POLLOUT;
		pf[2].fd = -1;
	}
	if (poll(pf, 3, -1) < 0)
		return errno == EINTR;
	if (pf[1].revents & POLLOUT)
		synq_flush(q);
	/* the parent gave up on the bypass, or is gone (then so is sock) */
	if ((pf[1].revents & (POLLIN | POLLHUP)) && synq_verdicts(q) < 0)
		synq_unbind(q);
	if (pf[2].revents & POLLIN)
		synq_read(q);
	if (!pf[0].revents)
		return true;
	ssize_t n = fd_recv(sock, &req, sizeof(req), &fd);

	if (n <= 0) {
		if (fd >= 0)
			close(fd);
		return false; /* parent gone */
	}
	if (n == sizeof(req))
		answer(sock, &req, fd, r, q);
	else if (fd >= 0)
		close(fd);
	return true;
}

void helper_serve(int sock, struct helper_rules *r)
{
	struct synq none = { .nl = NULL, .chan = -1 };
	struct synq *q = r ? &r->q : &none;

	while (serve_one(sock, r, q))
		;
	synq_close(q); /* the kernel drops what it still holds */
	if (!r)
		return;
	/* first: they need the mark's route */
	tproxy_remove(&r->p);
	udpreply_remove(&r->u);
	dnsmark_remove(&r->dm);
	/* the offloads tap_open() set stay with a persistent TAP: the next
	 * forwarder to attach without a virtio-net header (slirp4netns)
	 * would read frames with their checksums not done, and drop them */
	if (r->persistent_tap >= 0) {
		ioctl(r->persistent_tap, TUNSETOFFLOAD, 0);
		close(r->persistent_tap);
	}
	transparent_remove(&r->t);
}

/**
 * bess_accept() - Listen on the BESS path and take one connection
 * @path:	unix socket path
 * @lfd:	gets the listener, kept for the peers that come next
 * @e:		message on failure
 * Return: the connection, or -errno
 */
static int bess_accept(const char *path, int *lfd, struct err *e)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int l, fd;

	if (strlen(path) >= sizeof(sun.sun_path))
		return err_set(e, -ENAMETOOLONG,
			       "the specified BESS socket path is too long "
			       "(>= %zu)",
			       sizeof(sun.sun_path));
	strcpy(sun.sun_path, path);
	l = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (l < 0)
		return err_set(e, -errno, "socket: %s", strerror(errno));
	unlink(path);
	if (bind(l, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(l, 1) < 0) {
		fd = err_set(e, -errno, "%s: %s", path, strerror(errno));
		close(l);
		return fd;
	}
	log_info("Waiting for connection to %s", path);
	fd = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		fd = err_set(e, -errno, "accept: %s", strerror(errno));
		close(l);
		return fd;
	}
	*lfd = l;
	return fd;
}

/* Does the TAP outlive us? (RootlessKit makes its own, persistent) */
static bool tap_persistent(int fd)
{
	struct ifreq ifr = { 0 };

	return ioctl(fd, TUNGETIFF, &ifr) == 0 && (ifr.ifr_flags & IFF_PERSIST);
}

/* The TAP's index, or 0 if it is persistent: a route on it would outlive
 * us */
static int tap_ifindex(int fd)
{
	struct ifreq ifr = { 0 };

	if (ioctl(fd, TUNGETIFF, &ifr) < 0 || (ifr.ifr_flags & IFF_PERSIST))
		return 0;
	return (int)if_nametoindex(ifr.ifr_name);
}

/**
 * helper_main() - The helper's life: namespaces, TAP, fd, then serve
 * @o:		options
 * @sock:	our end of the pair
 */
static _Noreturn void helper_main(const struct opts *o, int sock)
{
	const char *name = o->tapname;
	struct helper_rules r = { .q = { .nl = NULL, .chan = -1 },
				  .persistent_tap = -1, .ct_spare = -1 };
	struct err e = { 0 };
	char one = '1';
	int fd, lfd = -1;

	if (o->target_type == TARGET_BESS) {
		name = o->bess_path;
		fd = bess_accept(o->bess_path, &lfd, &e);
	} else if (ns_enter(o, &e) < 0) {
		fd = -1;
	} else {
		fd = tap_open(o->tapname, &e);
		if (fd >= 0 && o->configure &&
		    tap_configure(o->tapname, o, &e) < 0) {
			close(fd);
			fd = -1;
		}
	}
	if (fd < 0) {
		log_err("%s", e.msg);
		_exit(EXIT_FAILURE);
	}
	if (o->target_type != TARGET_BESS) {
		transparent_open(&r.t);
		r.tap_ifindex = tap_ifindex(fd);
		r.persistent_tap = tap_persistent(fd) ? dup(fd) : -1;
		tproxy_open(&r.p, o);
		synq_open(&r.q, o);
		udpreply_open(&r.u, o->forward_fwmark, o->tapname,
			      UDPREPLY_TIMEOUT_S);
		dnsmark_open(&r.dm, o->forward_fwmark);
		if (o->tcp_bypass)
			r.ct_spare = socket(AF_NETLINK,
					    SOCK_RAW | SOCK_CLOEXEC,
					    NETLINK_NETFILTER);
		/* every file it will need is open: nothing of the host's
		 * filesystem stays within the namespace's reach, and it is so
		 * before the parent reports ready */
		if (sandbox_helper_apply(&e) < 0)
			log_warn("helper: cannot confine itself: %s", e.msg);
	}
	if (fd_send(sock, &one, 1, fd) < 0 ||
	    (lfd >= 0 && fd_send(sock, &one, 1, lfd) < 0))
		_exit(EXIT_FAILURE);
	if (lfd >= 0)
		close(lfd); /* the parent has it now */
	/* From here on it only waits on the pair, whose EOF ends it when the
	 * parent goes, however it goes: SIGKILL on the parent's death would
	 * come before the namespace's rules are removed. */
	prctl(PR_SET_PDEATHSIG, 0);
	if (o->target_type == TARGET_BESS)
		log_info("sent \"tapfd\"=%d (not really TAP) for %s", fd, name);
	else
		log_info("sent tapfd=%d for %s", fd, name);
	close(fd);
	if (o->seccomp && seccomp_helper_apply(&e) < 0) {
		log_err("%s", e.msg);
		_exit(EXIT_FAILURE);
	}
	if (o->target_type == TARGET_BESS)
		helper_serve(sock, NULL);
	else
		helper_serve(sock, &r);
	_exit(EXIT_SUCCESS);
}

/**
 * child_failed() - The helper died before sending the fd: say how
 * @pid:	the helper
 * Return: the status to exit with
 */
static int child_failed(pid_t pid)
{
	int ws, rc;

	do
		rc = waitpid(pid, &ws, 0);
	while (rc < 0 && errno == EINTR);
	if (rc < 0) {
		log_perror("waitpid");
		return 1;
	}
	if (!WIFEXITED(ws)) {
		log_err("child failed(wstatus=%d, !WIFEXITED)", ws);
		return 1;
	}
	log_err("child failed(%d)", WEXITSTATUS(ws));
	return WEXITSTATUS(ws) ? WEXITSTATUS(ws) : 1;
}

/**
 * keep_only() - In the helper, close every fd but stdio and @fd
 * @fd:		the helper's end of the pair
 *
 * The ready and exit pipes must not stay open in here: clients wait for
 * EOF on the first, and the second must hang up when they close it.
 * Return: the fd, now number 3
 */
static int keep_only(int fd)
{
	if (fd != 3 && dup2(fd, 3) < 0)
		_exit(EXIT_FAILURE);
	close_range(4, ~0U, 0);
	return 3;
}

int helper_start(const struct opts *o, struct helper *h, int *tapfd)
{
	pid_t parent = getpid();
	int sv[2];
	char one;

	h->pid = 0;
	h->sock = -1;
	h->bess_listener = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_perror("socketpair");
		return 1;
	}
	fflush(stdout); /* else the child's exit would print it again */
	h->pid = fork();
	if (h->pid < 0) {
		log_perror("fork");
		return 1;
	}
	if (h->pid == 0) {
		/* first: root in the user namespace it joins could otherwise
		 * ptrace it, or walk /proc/PID/root into the host's files; now
		 * that needs CAP_SYS_PTRACE in ours (mm->user_ns) */
		prctl(PR_SET_DUMPABLE, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(EXIT_FAILURE);
		helper_main(o, keep_only(sv[1]));
	}
	close(sv[1]);
	h->sock = sv[0];
	if (fd_recv(h->sock, &one, 1, tapfd) <= 0 || *tapfd < 0) {
		if (*tapfd >= 0)
			close(*tapfd);
		return child_failed(h->pid);
	}
	log_info("received tapfd=%d", *tapfd);
	/* BESS: the listener follows, for the peers after this one */
	if (o->target_type == TARGET_BESS &&
	    (fd_recv(h->sock, &one, 1, &h->bess_listener) <= 0 ||
	     h->bess_listener < 0)) {
		close(*tapfd);
		return child_failed(h->pid);
	}
	return 0;
}

static uint32_t next_id; /* of requests, to match the answers */

/**
 * request() - Send one request to the helper, read its @n answers
 * @h:		helper
 * @req:	the request; its id is set here
 * @fds:	gets the sockets that come with the answers; NULL if none are
 *		due (any that comes is closed)
 * @n:		how many answers the request gets
 * @give:	a socket to pass with it, or -1 (ours to close still)
 * Return: how many sockets came (0 when none were due), or -errno: the
 *	   last error, when no socket came
 */
static int request(struct helper *h, struct helper_req *req, int *fds,
		   unsigned n, int give)
{
	int got = 0, rc;

	if (h->sock < 0)
		return -ENOTCONN;
	req->id = ++next_id;
	rc = fd_send(h->sock, req, sizeof(*req), give);
	if (rc < 0)
		return rc;
	for (unsigned i = 0; i < n; i++) {
		struct helper_rep rep;
		int fd;
		ssize_t len = fd_recv(h->sock, &rep, sizeof(rep), &fd);

		if (len != sizeof(rep) || rep.id != req->id) {
			if (fd >= 0)
				close(fd);
			rc = len < 0 ? (int)len : -EPROTO;
			break; /* out of step: nothing more to read */
		}
		if (rep.err < 0)
			rc = rep.err;
		else if (fds && fd >= 0) {
			fds[got++] = fd;
			continue;
		} else if (fds)
			rc = -EPROTO;
		if (fd >= 0)
			close(fd);
	}
	return got ? got : rc;
}

int helper_socket(struct helper *h, int family, int type, int protocol)
{
	struct helper_req req = { .op = HELPER_SOCKET,
				  .family = family,
				  .type = type,
				  .protocol = protocol };
	int fd, rc = request(h, &req, &fd, 1, -1);

	return rc == 1 ? fd : rc;
}

int helper_sockets(struct helper *h, int family, int type, uint32_t mark,
		   int *fds, unsigned n)
{
	struct helper_req req = { .op = HELPER_SOCKET,
				  .family = family,
				  .type = type | SOCK_NONBLOCK,
				  .mark = mark,
				  .count = n };

	if (n == 0 || n > HELPER_BATCH)
		return -EINVAL;
	return request(h, &req, fds, n, -1);
}

int helper_bound_socket(struct helper *h, int type,
			const struct sockaddr *addr, socklen_t len)
{
	struct helper_req req = { .op = HELPER_SOCKET,
				  .family = addr->sa_family,
				  .type = type | SOCK_NONBLOCK,
				  .srclen = len };
	int fd, rc;

	if (len > sizeof(req.src))
		return -EINVAL;
	memcpy(&req.src, addr, len);
	rc = request(h, &req, &fd, 1, -1);
	return rc == 1 ? fd : rc;
}

int helper_dns_route(struct helper *h, const struct sockaddr *addr,
		     socklen_t len, uint32_t mark, uint32_t table, bool ipv6)
{
	struct helper_req req = { .op = HELPER_DNS_ROUTE,
				  .family = addr->sa_family,
				  .srclen = len,
				  .mark = mark,
				  .table = table,
				  .count = ipv6 };

	if (len > sizeof(req.src))
		return -EINVAL;
	memcpy(&req.src, addr, len);
	return request(h, &req, NULL, 1, -1);
}

int helper_transparent(struct helper *h, uint32_t mark, uint32_t table,
		       bool ipv6)
{
	struct helper_req req = { .op = HELPER_TRANSPARENT,
				  .family = ipv6 ? AF_INET6 : AF_INET,
				  .mark = mark,
				  .table = table };

	return request(h, &req, NULL, 1, -1);
}

int helper_bypass(struct helper *h, const struct tproxy_ports *ports,
		  int chan)
{
	struct helper_req req = { .op = HELPER_BYPASS,
				  .ports = *ports,
				  .count = chan < 0 };

	return request(h, &req, NULL, 1, chan);
}

int helper_udp_reply(struct helper *h, bool ipv6)
{
	struct helper_req req = { .op = HELPER_UDP_REPLY,
				  .family = ipv6 ? AF_INET6 : AF_INET };

	return request(h, &req, NULL, 1, -1);
}

int helper_ct_socket(struct helper *h)
{
	struct helper_req req = { .op = HELPER_CT_SOCKET };
	int fd, rc = request(h, &req, &fd, 1, -1);

	return rc == 1 ? fd : rc;
}

int helper_synq_socket(struct helper *h)
{
	struct helper_req req = { .op = HELPER_SYNQ_SOCKET };
	int fd, rc = request(h, &req, &fd, 1, -1);

	return rc == 1 ? fd : rc;
}

void helper_stop(struct helper *h)
{
	if (h->sock >= 0)
		close(h->sock);
	h->sock = -1;
	/* On EOF it removes the namespace's rules, if it installed any, and
	 * _exit()s. Give it a moment for that, then end it: nothing else it
	 * could be doing is worth waiting for. */
	for (int i = 0; h->pid > 0 && i < HELPER_STOP_MS; i += 5) {
		if (waitpid(h->pid, NULL, WNOHANG) == h->pid) {
			h->pid = 0;
			return;
		}
		usleep(5000);
	}
	if (h->pid > 0) {
		kill(h->pid, SIGKILL);
		waitpid(h->pid, NULL, 0);
	}
	h->pid = 0;
}

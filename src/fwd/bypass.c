// SPDX-License-Identifier: GPL-2.0-or-later
/* bypass.c - the namespace's outbound TCP without libslirp (the default;
 * --disable-tcp-bypass turns it off).
 *
 * DOC: Theory of Operation
 * On the slirp path every byte the guest sends out crosses libslirp's TCP,
 * which has no window scaling: about 64 KiB in flight per round trip of
 * our loop. Here the kernel takes the guest's connection instead
 * (ns/tproxy.c): the helper makes listening sockets in the namespace, two
 * IP_TRANSPARENT ones on loopback (127.0.0.1 and ::1) for the namespace's
 * own TCP, and two on the wildcard addresses for what containers behind a
 * bridge or veth send (redirected there by conntrack's NAT, which a bridge
 * with br_netfilter does not undo as it undoes tproxy), ports chosen by
 * the kernel, and installs an nftables table that sends every TCP segment
 * about to leave by the TAP to them. The guest's original destination is
 * the accepted socket's own address on loopback, conntrack's
 * (SO_ORIGINAL_DST) on the wildcard; the splice engine relays it and a
 * host socket connected there, translated as libslirp would
 * (egress_target()). Between the guest and us it is kernel TCP.
 *
 * The connect semantics are libslirp's: each new connection's SYN waits in
 * the namespace's netfilter queue until the host socket's connect has an
 * outcome (gate.c, ns/synq.c); only then does our listener see it, and
 * dial() hands the engine that socket, already connected. A refusal or an
 * unreachable network is the guest's, as libslirp gives it.
 *
 * The namespace's own UDP takes a kernel path of its own (udp_out.c),
 * whose listeners start() opens with these and whose rules go in the same
 * table.
 *
 * What stays on libslirp: ICMP, TCP to the DNS address (libslirp
 * sends it to the host's resolver), under --disable-host-loopback TCP to
 * the whole virtual network, which libslirp refuses, answers in
 * connections that came in by the TAP, and new connections the gate has
 * no room or fd for.
 */
#include <netinet/in.h> /* before the kernel's headers */

#include <errno.h>
#include <linux/netfilter_ipv4.h> /* SO_ORIGINAL_DST */
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../clock.h"
#include "../log.h"
#include "../ns/helper.h"
#include "../ns/synq.h"
#include "../options.h"
#include "../sandbox.h"
#include "../timers.h"
#include "bypass.h"
#include "egress.h"
#include "gate.h"
#include "splice.h"
#include "udp_out.h"

/* linux/netfilter_ipv6/ip6_tables.h's, which does not build beside
 * glibc's net/if.h */
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80
#endif

enum {
	RETRY_MS = 1000, /* while the namespace's lo is down */
	RETRIES = 120,
};

/* What the bypass works with, for as long as the loop runs. */
struct bypass {
	struct ring *ring;
	struct timers *timers;
	struct helper *helper;
	const struct opts *o;
	struct fwd_splice *splice;
	struct udp_out *udp; /* outbound UDP's engine */
	struct gate *gate;   /* the SYN queue's parent end */
	struct timer *retry; /* armed while lo is down */
	unsigned tries;
};

/* gate_dial_fn: the host socket for a held SYN */
static int gate_dial(const void *opaque, const struct sockaddr_storage *orig,
		     struct sockaddr_storage *to, socklen_t *tolen)
{
	return egress_socket(opaque, SOCK_STREAM, orig, to, tolen);
}

/**
 * original_dst() - Where an accepted connection was going: its own
 * address on a transparent listener, conntrack's on a redirected one
 * @cfd:	the connection
 * @redirected:	accepted on a wildcard listener
 * @orig:	filled
 *
 * A connection to a wildcard listener that no redirect sent there (a
 * client that dialled its port) has no original destination of its own,
 * and must not become one to the host's loopback (10.0.2.100:PORT would
 * be translated so): -ECONNREFUSED, and the engine resets it.
 * Return: 0 or -errno
 */
static int original_dst(int cfd, bool redirected,
			struct sockaddr_storage *orig)
{
	struct sockaddr_storage self;
	socklen_t len = sizeof(*orig), mine = sizeof(self);
	int rc;

	if (!redirected)
		return getsockname(cfd, (struct sockaddr *)orig, &len) < 0
			       ? -errno
			       : 0;
	if (getsockname(cfd, (struct sockaddr *)&self, &mine) < 0)
		return -errno;
	memset(orig, 0, sizeof(*orig));
	rc = self.ss_family == AF_INET6
		     ? getsockopt(cfd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, orig,
				  &len)
		     : getsockopt(cfd, SOL_IP, SO_ORIGINAL_DST, orig, &len);
	if (rc < 0)
		return errno == ENOENT ? -ECONNREFUSED : -errno;
	/* conntrack's answer when nothing was translated: the tuple's own */
	if (netcfg_same_endpoint(&self, orig))
		return -ECONNREFUSED;
	return 0;
}

/**
 * dial_as() - Each accepted connection's host end, the one the gate
 * connected before the guest's handshake went on; a new one (the old
 * way, connect after accept) if its SYN was not held
 * @b:		the bypass
 * @cfd:	the accepted connection
 * @redirected:	on a wildcard listener
 * @to:		where a new one must connect, if one is made
 * @tolen:	its length; 0 if the fd returned is connected already
 * Return: the host socket, or -errno
 */
static int dial_as(const struct bypass *b, int cfd, bool redirected,
		   struct sockaddr_storage *to, socklen_t *tolen)
{
	struct sockaddr_storage orig, peer;
	socklen_t pl = sizeof(peer);
	int one = 1, fd, rc;

	setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	rc = original_dst(cfd, redirected, &orig);
	if (rc < 0)
		return rc;
	if (getpeername(cfd, (struct sockaddr *)&peer, &pl) < 0)
		return -errno;
	fd = gate_claim(b->gate, &peer, &orig);
	if (fd >= 0) {
		*tolen = 0; /* connected already */
		return fd;
	}
	return egress_socket(b->o, SOCK_STREAM, &orig, to, tolen);
}

/* fwd_splice_dial_fn: a transparent listener's connection */
static int dial(const void *opaque, int cfd, struct sockaddr_storage *to,
		socklen_t *tolen)
{
	return dial_as(opaque, cfd, false, to, tolen);
}

/* fwd_splice_dial_fn: a redirected connection */
static int dial_redirected(const void *opaque, int cfd,
			   struct sockaddr_storage *to, socklen_t *tolen)
{
	return dial_as(opaque, cfd, true, to, tolen);
}

/**
 * queue() - Where the gate gets its SYNs: the queue itself, if we may bind
 * it (CAP_NET_ADMIN over the namespace), else a channel from the helper
 * @b:		what we work with
 * @chan:	set to the channel's two ends (-1 if none; [1] for the helper)
 * Return: the gate's end: fd -errno if neither could be had
 */
static struct gate_queue queue(struct bypass *b, int chan[2])
{
	uint16_t num = synq_number(b->o->forward_fwmark);
	/* a verdict needs CAP_NET_ADMIN every time, not only at the bind,
	 * and root's --enable-sandbox drops it after this */
	struct gate_queue q = { .fd = sandbox_keeps_net_admin(b->o)
					      ? helper_synq_socket(b->helper)
					      : -EPERM,
				.direct = true,
				.num = num,
				.mark = b->o->forward_fwmark };

	chan[0] = chan[1] = -1;
	if (q.fd >= 0 && synq_bind_fd(q.fd, num) == 0)
		return q;
	if (q.fd >= 0)
		close(q.fd); /* -EPERM: the helper reads it for us */
	q.direct = false;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC,
		       0, chan) < 0) {
		q.fd = -errno;
		return q;
	}
	q.fd = chan[0];
	chan[0] = -1; /* the gate's */
	return q;
}

/**
 * start() - Listeners, the gate, rules, and the listeners handed to the
 * engine
 * @b:		what we work with
 * Return: 0 or -errno; nothing stays behind on failure
 */
static int start(struct bypass *b)
{
	/* IPv4 and IPv6 on loopback, then on the wildcard address */
	int fd[4] = { -1, -1, -1, -1 }, chan[2] = { -1, -1 }, rc = 0;
	struct tproxy_ports ports = { { 0, 0 }, { 0, 0 }, { 0, 0 }, { 0, 0 } };
	uint16_t *port[4] = { &ports.lo[0], &ports.lo[1], &ports.any[0],
			      &ports.any[1] };
	for (int i = 0; i < 4 && rc >= 0; i++)
		if (!(i & 1) || b->o->ipv6)
			fd[i] = rc = egress_listener(
				b->helper, b->o, SOCK_STREAM,
				i & 1 ? AF_INET6 : AF_INET, i >= 2, port[i]);
	/* listening before the rules point at them: else a guest's connect
	 * in between would be reset */
	for (int i = 0; i < 4 && rc >= 0; i++)
		if (fd[i] >= 0) {
			rc = fwd_splice_adopt(b->splice, fd[i],
					      i >= 2 ? dial_redirected : dial,
					      b);
			if (rc >= 0)
				fd[i] = -1; /* the engine's now */
		}
	/* without UDP listeners, UDP stays on libslirp and TCP goes on */
	if (rc >= 0 && b->udp) {
		int urc = udp_out_listen(b->udp, ports.udp, ports.udp_any);

		if (urc < 0)
			log_warn("outbound UDP: no listener in the namespace "
				 "(%s): it stays on libslirp",
				 strerror(-urc));
	}
	if (rc >= 0) {
		struct gate_queue q = queue(b, chan);

		rc = q.fd;
		if (rc >= 0) {
			b->gate = gate_new(b->ring, b->timers, &q, gate_dial,
					   b->o);
			if (!b->gate)
				rc = -ENOMEM;
		}
	}
	if (rc >= 0)
		rc = helper_bypass(b->helper, &ports, chan[1]);
	if (rc < 0) {
		fwd_splice_drop_adopted(b->splice);
		udp_out_stop(b->udp);
		gate_free(b->gate);
		b->gate = NULL;
	}
	for (int i = 0; i < 4; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	for (int i = 0; i < 2; i++)
		if (chan[i] >= 0)
			close(chan[i]);
	return rc < 0 ? rc : 0;
}

/* Say once why outbound TCP stays on libslirp. */
static void give_up(int rc)
{
	log_warn("outbound TCP: cannot set up the kernel path in the "
		 "namespace (%s): it stays on libslirp",
		 strerror(-rc));
}

/**
 * try_start() - The rules and the listeners, or a word why not
 * @b:		the bypass
 * Return: 0, -ENETDOWN to try again later, or another -errno
 */
static int try_start(struct bypass *b)
{
	int rc = fwd_splice_rules(b->splice);

	if (rc >= 0)
		rc = start(b);
	return rc < 0 ? rc : 0;
}

/* timer callback: lo was down; is it up now? */
static void retry(void *a, void *unused)
{
	struct bypass *b = a;
	int rc = try_start(b);

	(void)unused;
	if (rc == -ENETDOWN && ++b->tries < RETRIES)
		timers_mod(b->retry, clock_now_ms() + RETRY_MS);
	else if (rc < 0)
		give_up(rc);
}

struct bypass *bypass_start(struct ring *ring, struct timers *timers,
			    struct helper *helper, const struct opts *o,
			    struct fwd_splice *splice, struct udp_out *udp)
{
	struct bypass *b;
	int rc;

	if (!o->tcp_bypass)
		return NULL;
	if (!fwd_splice_available(splice)) {
		log_warn("outbound TCP needs a helper in the target namespace "
			 "for its kernel path (not with --netns-type=tapfd or "
			 "--target-type=bess): it stays on libslirp");
		return NULL;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	*b = (struct bypass){ .ring = ring, .timers = timers,
			      .helper = helper, .o = o, .splice = splice,
			      .udp = udp };
	rc = try_start(b);
	/* lo down: a client that configures the namespace itself (no -c,
	 * as rootlesskit) brings it up after we are ready; till then TCP
	 * goes by libslirp */
	if (rc == -ENETDOWN) {
		b->retry = timers_add(timers, retry, b, NULL);
		if (b->retry) {
			timers_mod(b->retry, clock_now_ms() + RETRY_MS);
			return b;
		}
	}
	if (rc < 0) {
		give_up(rc);
		free(b);
		return NULL;
	}
	return b;
}

void bypass_complete(struct bypass *b, union ring_ref ref, int res)
{
	if (b)
		gate_complete(b->gate, ref, res);
}

void bypass_free(struct bypass *b)
{
	if (!b)
		return;
	if (b->retry)
		timers_del(b->timers, b->retry);
	gate_free(b->gate);
	free(b);
}

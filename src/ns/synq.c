// SPDX-License-Identifier: GPL-2.0-or-later
/* synq.c - the guest's outbound SYNs, held until the host has answered.
 *
 * DOC: Theory of Operation
 * On the slirp path the guest's connect() completes only when libslirp's
 * host connect has: a refused host connect is a refused guest connect,
 * and an unreachable network is an ICMP error. The transparent proxy
 * alone would complete every handshake at once (our listener answers
 * it). So tproxy.c's rules put each new connection's first SYN in the
 * netfilter queue SYNQ number, and this end, in the helper, holds it:
 *  - it reads the queue (NETLINK_NETFILTER, the packet's headers only)
 *    and sends each SYN's packet id and addresses to the parent, up to
 *    SYNQ_BATCH per SOCK_SEQPACKET message;
 *  - the parent connects on the host and answers with a verdict per id;
 *  - we give each to the kernel: accept (on to our listener), drop, or
 *    accept with a mark that the next chain turns into a reset or an ICMP
 *    error (synq_mark()).
 * The parent gives every id exactly one verdict. When the channel is
 * full we stop reading the queue (the kernel holds up to SYNQ_MAXLEN,
 * then drops new SYNs, which the guest sends again); a packet the kernel
 * could not pass to us is dropped by the kernel, never left waiting.
 * When the helper exits, the kernel drops whatever is still held.
 *
 * Binding a queue and giving verdicts need CAP_NET_ADMIN in the
 * namespace's user namespace; the helper keeps it, the parent under
 * --enable-sandbox does not, so this is here and not in the parent.
 */
#include <netinet/in.h> /* before the kernel's headers */

#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../options.h"
#include "synq.h"

enum {
	SYNQ_MAXLEN = 4096, /* SYNs the kernel holds for us */
	HDR_COPY = 128,	    /* IPv6 and a full TCP header fit */
	RCVBUF = 1 << 20,
};

/* A NETLINK_NETFILTER socket for a queue, or NULL */
static struct mnl_socket *queue_socket(void)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
	int one = 1, sz = RCVBUF;

	if (nl && mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		mnl_socket_close(nl);
		return NULL;
	}
	if (!nl)
		return NULL;
	/* a message the kernel could not queue for us is a dropped SYN,
	 * which the guest repeats: nothing to learn from ENOBUFS */
	setsockopt(mnl_socket_get_fd(nl), SOL_NETLINK, NETLINK_NO_ENOBUFS,
		   &one, sizeof(one));
	setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUF, &sz,
		   sizeof(sz));
	return nl;
}

void synq_open(struct synq *q, const struct opts *o)
{
	*q = (struct synq){ .nl = NULL, .spare = NULL, .chan = -1,
			    .num = synq_number(o->forward_fwmark),
			    .mark = o->forward_fwmark };
	if (!o->tcp_bypass)
		return;
	q->nl = queue_socket();
	q->spare = queue_socket();
}

int synq_spare_fd(const struct synq *q)
{
	return q->spare ? mnl_socket_get_fd(q->spare) : -ENOTSUP;
}

void synq_close_spare(struct synq *q)
{
	if (q->spare)
		mnl_socket_close(q->spare);
	q->spare = NULL;
}

/* to the kernel */
static ssize_t to_kernel(int fd, const void *buf, size_t len)
{
	static const struct sockaddr_nl k = { .nl_family = AF_NETLINK };

	return sendto(fd, buf, len, 0, (const struct sockaddr *)&k, sizeof(k));
}

int synq_config(int fd, uint16_t num, uint8_t cmd)
{
	/* zeroed: libnetfilter_queue leaves bytes of the message unset
	 * (valgrind saw them go to the kernel) */
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	ssize_t n;

	memset(buf, 0, sizeof(buf));
	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, num);
	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = 1;
	if (cmd) {
		nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, cmd);
	} else {
		nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, HDR_COPY);
		nfq_nlmsg_cfg_put_qmaxlen(nlh, SYNQ_MAXLEN);
	}
	if (to_kernel(fd, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0)
		return -errno;
	return mnl_cb_run(buf, n, 1, 0, NULL, NULL) < 0 ? -errno : 0;
}

int synq_bind_fd(int fd, uint16_t num)
{
	int rc = synq_config(fd, num, NFQNL_CFG_CMD_BIND);

	return rc ? rc : synq_config(fd, num, 0);
}

static int config(struct synq *q, uint8_t cmd)
{
	return synq_config(mnl_socket_get_fd(q->nl), q->num, cmd);
}

int synq_bind(struct synq *q, int chan)
{
	int rc;

	if (!q->nl)
		return -ENOTSUP;
	if (q->chan >= 0)
		return -EALREADY;
	rc = synq_bind_fd(mnl_socket_get_fd(q->nl), q->num);
	if (rc < 0)
		return rc;
	q->chan = chan;
	return 0;
}

void synq_unbind(struct synq *q)
{
	if (q->chan < 0)
		return;
	config(q, NFQNL_CFG_CMD_UNBIND); /* the kernel drops what it held */
	close(q->chan);
	q->chan = -1;
	q->nout = 0;
}

int synq_queue_fd(const struct synq *q)
{
	return q->nl && q->chan >= 0 ? mnl_socket_get_fd(q->nl) : -1;
}

bool synq_waiting(const struct synq *q)
{
	return q->nout > 0;
}

void synq_give(int fd, uint16_t num, uint32_t mark,
	       const struct synq_verdict *v, unsigned n)
{
	static char buf[SYNQ_BATCH * 64];

	while (n) {
		struct mnl_nlmsg_batch *b =
			mnl_nlmsg_batch_start(buf, sizeof(buf));
		unsigned i;

		if (!b)
			return;
		for (i = 0; i < n && i < SYNQ_BATCH; i++) {
			struct nlmsghdr *nlh = nfq_nlmsg_put(
				mnl_nlmsg_batch_current(b), NFQNL_MSG_VERDICT,
				num);

			if (v[i].kind == SYNQ_DROP ||
			    v[i].kind >= SYNQ_NUM_VERDICTS) {
				nfq_nlmsg_verdict_put(nlh, v[i].id, NF_DROP);
			} else {
				nfq_nlmsg_verdict_put(nlh, v[i].id, NF_ACCEPT);
				if (v[i].kind != SYNQ_ACCEPT)
					nfq_nlmsg_verdict_put_mark(
						nlh, synq_mark(mark, v[i].kind));
			}
			mnl_nlmsg_batch_next(b); /* the buffer fits a batch */
		}
		to_kernel(fd, mnl_nlmsg_batch_head(b), mnl_nlmsg_batch_size(b));
		mnl_nlmsg_batch_stop(b);
		v += i;
		n -= i;
	}
}

/* Give @n verdicts to the kernel, in one message batch. */
static void give(struct synq *q, const struct synq_verdict *v, unsigned n)
{
	synq_give(mnl_socket_get_fd(q->nl), q->num, q->mark, v, n);
}

void synq_flush(struct synq *q)
{
	ssize_t n;

	if (!q->nout)
		return;
	n = send(q->chan, q->out, q->nout * sizeof(q->out[0]),
		 MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
		if (n < 0) { /* the parent is gone: let them go */
			for (unsigned i = 0; i < q->nout; i++)
				give(q, &(struct synq_verdict){ q->out[i].id,
								SYNQ_DROP },
				     1);
		}
		q->nout = 0;
	}
}

/**
 * tuple() - The addresses of a queued packet, if it is TCP we can read
 * @p:		its network header on
 * @len:	bytes of it we have
 * @t:		filled
 * Return: true if @t is filled
 */
static bool tuple(const uint8_t *p, size_t len, struct synq_tuple *t)
{
	const struct tcphdr *th;
	size_t off;

	memset(t, 0, sizeof(*t));
	if (len >= sizeof(struct iphdr) && (p[0] >> 4) == 4) {
		const struct iphdr *ip = (const void *)p;

		off = ip->ihl * 4u;
		if (ip->protocol != IPPROTO_TCP || off < sizeof(*ip))
			return false;
		t->family = AF_INET;
		memcpy(t->saddr, &ip->saddr, 4);
		memcpy(t->daddr, &ip->daddr, 4);
	} else if (len >= sizeof(struct ip6_hdr) && (p[0] >> 4) == 6) {
		const struct ip6_hdr *ip6 = (const void *)p;

		/* a SYN with extension headers goes on unheld */
		off = sizeof(*ip6);
		if (ip6->ip6_nxt != IPPROTO_TCP)
			return false;
		t->family = AF_INET6;
		memcpy(t->saddr, &ip6->ip6_src, 16);
		memcpy(t->daddr, &ip6->ip6_dst, 16);
	} else {
		return false;
	}
	if (len < off + sizeof(*th))
		return false;
	th = (const void *)(p + off);
	t->sport = th->source;
	t->dport = th->dest;
	return true;
}

/* What synq_packets() works with, for on_packet(). */
struct packets {
	synq_syn_fn fn;
	void *data;
};

/* mnl_cb_t: one queued packet */
static int on_packet(const struct nlmsghdr *nlh, void *data)
{
	const struct packets *p = data;
	struct nlattr *attr[NFQA_MAX + 1] = { NULL };
	struct nfqnl_msg_packet_hdr *ph;
	struct synq_syn s;
	bool ok;

	if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR])
		return MNL_CB_OK;
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	s.id = ntohl(ph->packet_id);
	ok = attr[NFQA_PAYLOAD] &&
	     tuple(mnl_attr_get_payload(attr[NFQA_PAYLOAD]),
		   mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]), &s.t);
	p->fn(p->data, &s, ok);
	return MNL_CB_OK;
}

void synq_packets(const void *buf, size_t n, synq_syn_fn fn, void *data)
{
	struct packets p = { fn, data };

	mnl_cb_run(buf, n, 0, 0, on_packet, &p);
}

/* synq_syn_fn, in the helper: on to the parent */
static void relay(void *data, const struct synq_syn *s, bool ok)
{
	struct synq *q = data;

	if (!ok || q->nout == SYNQ_BATCH) {
		/* not one we can read: on unheld; no room: the guest sends
		 * it again */
		give(q, &(struct synq_verdict){ s->id, ok ? SYNQ_DROP
							   : SYNQ_ACCEPT },
		     1);
		return;
	}
	q->out[q->nout] = *s;
	if (++q->nout == SYNQ_BATCH)
		synq_flush(q);
}

void synq_read(struct synq *q)
{
	static char buf[SYNQ_BATCH * (HDR_COPY + 256)];
	int fd = mnl_socket_get_fd(q->nl);

	/* a full batch the parent cannot take yet: leave the rest in the
	 * kernel's queue until it can */
	while (q->nout < SYNQ_BATCH) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n <= 0)
			break;
		synq_packets(buf, n, relay, q);
	}
	synq_flush(q);
}

int synq_verdicts(struct synq *q)
{
	struct synq_verdict v[SYNQ_BATCH];

	for (;;) {
		ssize_t n = recv(q->chan, v, sizeof(v), MSG_DONTWAIT);

		if (n == 0)
			return -EPIPE;
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		give(q, v, n / sizeof(v[0]));
	}
}

void synq_close(struct synq *q)
{
	synq_unbind(q);
	if (q->nl)
		mnl_socket_close(q->nl);
	if (q->spare)
		mnl_socket_close(q->spare);
	q->nl = q->spare = NULL;
}

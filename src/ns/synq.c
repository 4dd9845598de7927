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
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>
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

void synq_open(struct synq *q, const struct opts *o)
{
	int one = 1, sz = RCVBUF;

	*q = (struct synq){ .nl = NULL, .chan = -1,
			    .num = synq_number(o->forward_fwmark),
			    .mark = o->forward_fwmark };
	if (!o->tcp_bypass)
		return;
	q->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (q->nl && mnl_socket_bind(q->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		mnl_socket_close(q->nl);
		q->nl = NULL;
	}
	if (!q->nl)
		return;
	/* a message the kernel could not queue for us is a dropped SYN,
	 * which the guest repeats: nothing to learn from ENOBUFS */
	setsockopt(mnl_socket_get_fd(q->nl), SOL_NETLINK, NETLINK_NO_ENOBUFS,
		   &one, sizeof(one));
	setsockopt(mnl_socket_get_fd(q->nl), SOL_SOCKET, SO_RCVBUF, &sz,
		   sizeof(sz));
}

/**
 * config() - One NFQNL_MSG_CONFIG message, acknowledged
 * @q:		opened
 * @cmd:	NFQNL_CFG_CMD_BIND, or 0 for the copy and length parameters
 * Return: 0 or the kernel's -errno
 */
static int config(struct synq *q, uint8_t cmd)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, q->num);
	ssize_t n;

	nlh->nlmsg_flags |= NLM_F_ACK;
	if (cmd) {
		nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, cmd);
	} else {
		nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, HDR_COPY);
		nfq_nlmsg_cfg_put_qmaxlen(nlh, SYNQ_MAXLEN);
	}
	if (mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	n = mnl_socket_recvfrom(q->nl, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	return mnl_cb_run(buf, n, nlh->nlmsg_seq, mnl_socket_get_portid(q->nl),
			  NULL, NULL) < 0
		       ? -errno
		       : 0;
}

int synq_bind(struct synq *q, int chan)
{
	int rc;

	if (!q->nl)
		return -ENOTSUP;
	if (q->chan >= 0)
		return -EALREADY;
	rc = config(q, NFQNL_CFG_CMD_BIND);
	if (rc == 0)
		rc = config(q, 0);
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

/* Give @n verdicts to the kernel, in one message batch. */
static void give(struct synq *q, const struct synq_verdict *v, unsigned n)
{
	static char buf[SYNQ_BATCH * 64];
	struct mnl_nlmsg_batch *b = mnl_nlmsg_batch_start(buf, sizeof(buf));

	if (!b)
		return;
	for (unsigned i = 0; i < n; i++) {
		struct nlmsghdr *nlh = nfq_nlmsg_put(
			mnl_nlmsg_batch_current(b), NFQNL_MSG_VERDICT, q->num);

		if (v[i].kind == SYNQ_DROP || v[i].kind >= SYNQ_NUM_VERDICTS) {
			nfq_nlmsg_verdict_put(nlh, v[i].id, NF_DROP);
		} else {
			nfq_nlmsg_verdict_put(nlh, v[i].id, NF_ACCEPT);
			if (v[i].kind != SYNQ_ACCEPT)
				nfq_nlmsg_verdict_put_mark(
					nlh, synq_mark(q->mark, v[i].kind));
		}
		if (!mnl_nlmsg_batch_next(b))
			break; /* cannot happen: the buffer fits SYNQ_BATCH */
	}
	mnl_socket_sendto(q->nl, mnl_nlmsg_batch_head(b),
			  mnl_nlmsg_batch_size(b));
	mnl_nlmsg_batch_stop(b);
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

/* mnl_cb_t: one queued packet */
static int on_packet(const struct nlmsghdr *nlh, void *data)
{
	struct synq *q = data;
	struct nlattr *attr[NFQA_MAX + 1] = { NULL };
	struct nfqnl_msg_packet_hdr *ph;
	struct synq_syn *s;

	if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR])
		return MNL_CB_OK;
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	if (q->nout == SYNQ_BATCH) { /* the parent has not taken the last */
		give(q, &(struct synq_verdict){ ntohl(ph->packet_id),
						SYNQ_DROP },
		     1);
		return MNL_CB_OK;
	}
	s = &q->out[q->nout];
	s->id = ntohl(ph->packet_id);
	if (!attr[NFQA_PAYLOAD] ||
	    !tuple(mnl_attr_get_payload(attr[NFQA_PAYLOAD]),
		   mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]), &s->t)) {
		give(q, &(struct synq_verdict){ s->id, SYNQ_ACCEPT }, 1);
		return MNL_CB_OK;
	}
	if (++q->nout == SYNQ_BATCH)
		synq_flush(q);
	return MNL_CB_OK;
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
		mnl_cb_run(buf, n, 0, 0, on_packet, q);
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
	q->nl = NULL;
}

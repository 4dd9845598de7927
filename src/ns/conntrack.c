// SPDX-License-Identifier: GPL-2.0-or-later
/* conntrack.c - the original destination of a redirected datagram.
 *
 * DOC: Theory of Operation
 * UDP that a container behind a bridge sends out by the TAP is redirected
 * by the namespace's NAT to a listener of ours (tproxy.c's redirect
 * chain; tproxy, which keeps the destination, does not survive a bridge
 * with br_netfilter on). A UDP socket is told only the address it was
 * redirected to; TCP has SO_ORIGINAL_DST, UDP has nothing of the kind.
 * Conntrack knows: the entry whose reply direction runs from our
 * listener's address and port to the datagram's source (which tproxy.c's
 * SNAT makes unique per entry) holds the original destination in its
 * original direction. One ctnetlink GET per new flow asks for it.
 *
 * The socket is the helper's, opened in the namespace before its filter;
 * the kernel wants CAP_NET_ADMIN over the namespace from both its opener
 * and whoever sends on it (nfnetlink_rcv_msg()), so the parent can use
 * it only where it keeps that capability: conntrack_socket_check() asks
 * once, and without it containers' UDP stays on libslirp. The kernel
 * answers a GET while sendto() runs: the answer is read without waiting.
 */
#include <netinet/in.h> /* before the kernel's headers */

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <string.h>
#include <sys/socket.h>

#include "conntrack.h"

enum { GET_MAX = 256 }; /* a GET by one tuple fits */

static uint32_t next_seq = 1;

/* the address and port of @a, as ctnetlink's attributes take them */
static int addr_of(const struct sockaddr_storage *a, const void **addr,
		   uint16_t *port)
{
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)a;

		*addr = &s->sin_addr;
		*port = s->sin_port;
		return 4;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)a;

		*addr = &s->sin6_addr;
		*port = s->sin6_port;
		return 16;
	}
	return -EAFNOSUPPORT;
}

int conntrack_build_get(void *buf, uint32_t seq,
			const struct sockaddr_storage *local,
			const struct sockaddr_storage *peer)
{
	const void *src, *dst;
	uint16_t sport, dport;
	int len = addr_of(local, &src, &sport);
	bool v6 = local->ss_family == AF_INET6;
	struct nlmsghdr *nlh;
	struct nfgenmsg *g;
	struct nlattr *tuple, *nest;

	if (len < 0 || addr_of(peer, &dst, &dport) != len)
		return -EAFNOSUPPORT;
	/* attributes' padding is not written: none of it goes out unset */
	memset(buf, 0, GET_MAX);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = local->ss_family;
	g->version = NFNETLINK_V0;
	g->res_id = 0;
	/* the reply direction: from our listener to the (translated)
	 * source */
	tuple = mnl_attr_nest_start(nlh, CTA_TUPLE_REPLY);
	nest = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	mnl_attr_put(nlh, v6 ? CTA_IP_V6_SRC : CTA_IP_V4_SRC, len, src);
	mnl_attr_put(nlh, v6 ? CTA_IP_V6_DST : CTA_IP_V4_DST, len, dst);
	mnl_attr_nest_end(nlh, nest);
	nest = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, IPPROTO_UDP);
	mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, sport);
	mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, dport);
	mnl_attr_nest_end(nlh, nest);
	mnl_attr_nest_end(nlh, tuple);
	return (int)nlh->nlmsg_len;
}

/* ------------------------------------------------------------- parsing */

/* what the answer's attributes fill in */
struct found {
	int family;
	const struct nlattr *dst, *port; /* the original tuple's */
	uint32_t status;		 /* host order */
	bool has_status;
};

/* an attribute of a nest, by type, into @tb (of @max + 1) */
static int by_type(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = ((const struct nlattr ***)data)[0];
	int max = (int)(uintptr_t)((void **)data)[1];
	int type = mnl_attr_get_type(a);

	if (mnl_attr_type_valid(a, max) > 0)
		tb[type] = a;
	return MNL_CB_OK;
}

static void nested(const struct nlattr *a, const struct nlattr **tb, int max)
{
	void *data[2] = { tb, (void *)(uintptr_t)max };

	memset(tb, 0, (max + 1) * sizeof(*tb));
	if (a && mnl_attr_validate(a, MNL_TYPE_NESTED) == 0)
		mnl_attr_parse_nested(a, by_type, data);
}

static int take_orig(const struct nlmsghdr *nlh, struct found *f)
{
	const struct nlattr *top[CTA_MAX + 1] = { 0 },
			    *tuple[CTA_TUPLE_MAX + 1], *ip[CTA_IP_MAX + 1],
			    *proto[CTA_PROTO_MAX + 1];
	void *data[2] = { top, (void *)(uintptr_t)CTA_MAX };
	const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
	int dst_type;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*g) ||
	    mnl_attr_parse(nlh, sizeof(*g), by_type, data) < 0)
		return -EBADMSG;
	f->family = g->nfgen_family;
	dst_type = f->family == AF_INET6 ? CTA_IP_V6_DST : CTA_IP_V4_DST;
	nested(top[CTA_TUPLE_ORIG], tuple, CTA_TUPLE_MAX);
	nested(tuple[CTA_TUPLE_IP], ip, CTA_IP_MAX);
	nested(tuple[CTA_TUPLE_PROTO], proto, CTA_PROTO_MAX);
	f->dst = ip[dst_type];
	f->port = proto[CTA_PROTO_DST_PORT];
	if (top[CTA_STATUS] &&
	    mnl_attr_validate(top[CTA_STATUS], MNL_TYPE_U32) == 0) {
		f->status = ntohl(mnl_attr_get_u32(top[CTA_STATUS]));
		f->has_status = true;
	}
	return 0;
}

int conntrack_parse(const void *buf, size_t len, uint32_t seq,
		    struct sockaddr_storage *orig, int *natted)
{
	const struct nlmsghdr *nlh = buf;
	struct found f = { 0 };
	int left = (int)len;
	size_t alen;

	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		if (nlh->nlmsg_seq != seq)
			continue; /* an earlier request's, given up on */
		if (nlh->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

			if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e))
				return -EBADMSG;
			return e->error < 0 ? e->error : -EBADMSG;
		}
		if ((nlh->nlmsg_type & 0xff) != IPCTNL_MSG_CT_NEW ||
		    (nlh->nlmsg_type >> 8) != NFNL_SUBSYS_CTNETLINK)
			continue;
		if (take_orig(nlh, &f) < 0)
			return -EBADMSG;
		break;
	}
	alen = f.family == AF_INET6 ? 16 : 4;
	if (!f.dst || !f.port || !f.has_status ||
	    (f.family != AF_INET && f.family != AF_INET6) ||
	    mnl_attr_get_payload_len(f.dst) != alen ||
	    mnl_attr_get_payload_len(f.port) != 2)
		return -EBADMSG;
	memset(orig, 0, sizeof(*orig));
	orig->ss_family = f.family;
	if (f.family == AF_INET6) {
		struct sockaddr_in6 *s = (void *)orig;

		memcpy(&s->sin6_addr, mnl_attr_get_payload(f.dst), 16);
		s->sin6_port = mnl_attr_get_u16(f.port);
	} else {
		struct sockaddr_in *s = (void *)orig;

		memcpy(&s->sin_addr, mnl_attr_get_payload(f.dst), 4);
		s->sin_port = mnl_attr_get_u16(f.port);
	}
	*natted = !!(f.status & IPS_DST_NAT);
	return 0;
}

/* ---------------------------------------------------------- the socket */

/* one request, and its answer, which is queued when sendto() returns */
static int ask(int fd, const struct sockaddr_storage *local,
	       const struct sockaddr_storage *peer,
	       struct sockaddr_storage *orig, int *natted)
{
	static const struct sockaddr_nl k = { .nl_family = AF_NETLINK };
	char buf[MNL_SOCKET_BUFFER_SIZE];
	uint32_t seq = next_seq++;
	int len = conntrack_build_get(buf, seq, local, peer), rc;
	ssize_t n;

	if (len < 0)
		return len;
	if (sendto(fd, buf, len, 0, (const struct sockaddr *)&k, sizeof(k)) < 0)
		return -errno;
	do {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		rc = conntrack_parse(buf, n, seq, orig, natted);
	} while (rc == -EBADMSG && n > 0);
	return rc;
}

int conntrack_socket_check(int fd)
{
	struct sockaddr_storage a = { .ss_family = AF_INET }, orig;
	int natted, rc;

	if (fd < 0)
		return fd;
	/* 0.0.0.0:0 to itself: no such entry, if we may ask at all */
	rc = ask(fd, &a, &a, &orig, &natted);
	return rc == -ENOENT || rc == 0 ? 0 : rc;
}

int conntrack_orig_dst(int fd, const struct sockaddr_storage *local,
		       const struct sockaddr_storage *peer,
		       struct sockaddr_storage *orig)
{
	int natted, rc = ask(fd, local, peer, orig, &natted);

	if (rc < 0)
		return rc;
	return natted ? 0 : -EADDRNOTAVAIL;
}

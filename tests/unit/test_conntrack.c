// SPDX-License-Identifier: GPL-2.0-or-later
/* The ctnetlink request for a redirected datagram's entry (by its reply
 * tuple) and the reading of the kernel's answer (ns/conntrack.c). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <string.h>

#include "ns/conntrack.h"

static struct sockaddr_storage v4(const char *ip, uint16_t port)
{
	struct sockaddr_storage a = { 0 };
	struct sockaddr_in *s = (struct sockaddr_in *)&a;

	s->sin_family = AF_INET;
	s->sin_port = htons(port);
	inet_pton(AF_INET, ip, &s->sin_addr);
	return a;
}

static struct sockaddr_storage v6(const char *ip, uint16_t port)
{
	struct sockaddr_storage a = { 0 };
	struct sockaddr_in6 *s = (struct sockaddr_in6 *)&a;

	s->sin6_family = AF_INET6;
	s->sin6_port = htons(port);
	inet_pton(AF_INET6, ip, &s->sin6_addr);
	return a;
}

/* the attribute of type @type in nest @a */
static const struct nlattr *child(const struct nlattr *a, int type)
{
	const struct nlattr *c;

	mnl_attr_for_each_nested(c, a)
		if (mnl_attr_get_type(c) == type)
			return c;
	return NULL;
}

Test(conntrack, get_asks_for_the_reply_tuple)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct sockaddr_storage local = v4("10.88.0.1", 40000),
				peer = v4("10.88.0.2", 51234);
	int len = conntrack_build_get(buf, 77, &local, &peer);
	const struct nlmsghdr *nlh = (const void *)buf;
	const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a, *reply = NULL, *ip, *proto;
	uint32_t want;

	cr_assert_gt(len, 0);
	cr_assert_eq(nlh->nlmsg_type,
		     (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET);
	cr_assert_eq(nlh->nlmsg_seq, 77);
	cr_assert(nlh->nlmsg_flags & NLM_F_REQUEST);
	cr_assert_eq(g->nfgen_family, AF_INET);
	mnl_attr_for_each(a, nlh, sizeof(*g))
		if (mnl_attr_get_type(a) == CTA_TUPLE_REPLY)
			reply = a;
	cr_assert_not_null(reply, "by the reply tuple");
	ip = child(reply, CTA_TUPLE_IP);
	proto = child(reply, CTA_TUPLE_PROTO);
	cr_assert(ip && proto);
	inet_pton(AF_INET, "10.88.0.1", &want);
	cr_assert_eq(mnl_attr_get_u32(child(ip, CTA_IP_V4_SRC)), want,
		     "from our listener's address");
	inet_pton(AF_INET, "10.88.0.2", &want);
	cr_assert_eq(mnl_attr_get_u32(child(ip, CTA_IP_V4_DST)), want);
	cr_assert_eq(mnl_attr_get_u8(child(proto, CTA_PROTO_NUM)),
		     IPPROTO_UDP);
	cr_assert_eq(ntohs(mnl_attr_get_u16(child(proto, CTA_PROTO_SRC_PORT))),
		     40000);
	cr_assert_eq(ntohs(mnl_attr_get_u16(child(proto, CTA_PROTO_DST_PORT))),
		     51234);
}

Test(conntrack, get_refuses_mixed_families)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct sockaddr_storage local = v4("10.88.0.1", 1),
				peer = v6("fd88::2", 2);

	cr_assert_eq(conntrack_build_get(buf, 1, &local, &peer),
		     -EAFNOSUPPORT);
}

/* the kernel's answer: an entry whose original tuple goes from @src to
 * @dst, with @status; without the status if @status is ~0 */
static int answer(char *buf, uint32_t seq, const struct sockaddr_storage *src,
		  const struct sockaddr_storage *dst, uint32_t status)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *g;
	struct nlattr *t, *n;
	bool six = src->ss_family == AF_INET6;
	const struct sockaddr_in *s4 = (const void *)src, *d4 = (const void *)dst;
	const struct sockaddr_in6 *s6 = (const void *)src,
				  *d6 = (const void *)dst;

	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = src->ss_family;
	t = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
	n = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	if (six) {
		mnl_attr_put(nlh, CTA_IP_V6_SRC, 16, &s6->sin6_addr);
		mnl_attr_put(nlh, CTA_IP_V6_DST, 16, &d6->sin6_addr);
	} else {
		mnl_attr_put(nlh, CTA_IP_V4_SRC, 4, &s4->sin_addr);
		mnl_attr_put(nlh, CTA_IP_V4_DST, 4, &d4->sin_addr);
	}
	mnl_attr_nest_end(nlh, n);
	n = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, IPPROTO_UDP);
	mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT,
			 six ? s6->sin6_port : s4->sin_port);
	mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT,
			 six ? d6->sin6_port : d4->sin_port);
	mnl_attr_nest_end(nlh, n);
	mnl_attr_nest_end(nlh, t);
	if (status != ~0u)
		mnl_attr_put_u32(nlh, CTA_STATUS, htonl(status));
	return (int)nlh->nlmsg_len;
}

static const char *addr(const struct sockaddr_storage *a)
{
	static char buf[64];
	const struct sockaddr_in *s4 = (const void *)a;
	const struct sockaddr_in6 *s6 = (const void *)a;

	if (a->ss_family == AF_INET6)
		snprintf(buf, sizeof(buf), "[%s]:%u",
			 inet_ntop(AF_INET6, &s6->sin6_addr, (char[64]){ 0 },
				   64),
			 ntohs(s6->sin6_port));
	else
		snprintf(buf, sizeof(buf), "%s:%u",
			 inet_ntop(AF_INET, &s4->sin_addr, (char[64]){ 0 },
				   64),
			 ntohs(s4->sin_port));
	return buf;
}

Test(conntrack, answer_gives_the_original_destination)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct sockaddr_storage src = v4("10.88.0.2", 5000),
				dst = v4("198.51.100.9", 7007), orig;
	int natted = -1,
	    len = answer(buf, 9, &src, &dst,
			 IPS_CONFIRMED | IPS_DST_NAT | IPS_SRC_NAT);

	cr_assert_eq(conntrack_parse(buf, len, 9, &orig, &natted), 0);
	cr_assert_str_eq(addr(&orig), "198.51.100.9:7007");
	cr_assert_eq(natted, 1);
}

Test(conntrack, answer_ipv6)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct sockaddr_storage src = v6("fd88::2", 5000),
				dst = v6("fd00::2", 53), orig;
	int natted = -1,
	    len = answer(buf, 3, &src, &dst, IPS_DST_NAT);

	cr_assert_eq(conntrack_parse(buf, len, 3, &orig, &natted), 0);
	cr_assert_str_eq(addr(&orig), "[fd00::2]:53");
	cr_assert_eq(natted, 1);
}

Test(conntrack, not_redirected_says_so)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct sockaddr_storage src = v4("10.88.0.2", 5000),
				dst = v4("10.88.0.1", 40000), orig;
	int natted = -1,
	    len = answer(buf, 4, &src, &dst, IPS_CONFIRMED | IPS_SRC_NAT);

	cr_assert_eq(conntrack_parse(buf, len, 4, &orig, &natted), 0);
	cr_assert_eq(natted, 0, "sent to our port itself: no DNAT");
}

Test(conntrack, kernel_error_and_strays)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct sockaddr_storage src = v4("10.88.0.2", 5000),
				dst = v4("198.51.100.9", 7007), orig;
	struct nlmsghdr *nlh;
	struct nlmsgerr *e;
	int natted, len;

	/* another request's answer first, then ours: an error */
	len = answer(buf, 1, &src, &dst, IPS_DST_NAT);
	nlh = mnl_nlmsg_put_header(buf + len);
	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_seq = 2;
	e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
	e->error = -ENOENT;
	len += nlh->nlmsg_len;
	cr_assert_eq(conntrack_parse(buf, len, 2, &orig, &natted), -ENOENT);
	/* only another's: nothing for us in it */
	cr_assert_eq(conntrack_parse(buf, len, 5, &orig, &natted), -EBADMSG);
	/* no status: not taken */
	len = answer(buf, 6, &src, &dst, ~0u);
	cr_assert_eq(conntrack_parse(buf, len, 6, &orig, &natted), -EBADMSG);
	/* cut short */
	len = answer(buf, 7, &src, &dst, IPS_DST_NAT);
	cr_assert_lt(conntrack_parse(buf, 20, 7, &orig, &natted), 0);
}

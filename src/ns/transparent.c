// SPDX-License-Identifier: GPL-2.0-or-later
/* transparent.c - the namespace side of source-preserving splice forwards.
 *
 * DOC: Theory of Operation
 * A splice forward's socket in the namespace is bound, with IP_TRANSPARENT,
 * to the address the service should see (10.0.2.2 for a loopback client,
 * the client's own address otherwise) and marked with SO_MARK. The service
 * answers that address; three things in the namespace bring the answer
 * back to our socket instead of out through the TAP:
 *  - net.ipv4.tcp_fwmark_accept=1: the service's accepted socket, and its
 *    SYN-ACK, carry the mark of our SYN;
 *  - net.ipv4.fwmark_reflect=1 and net.ipv6.fwmark_reflect=1: so does the
 *    reset for a port nobody listens on (else it leaves by the TAP, and a
 *    refused connect looks like a timeout);
 *  - a rule "fwmark MARK lookup TABLE" (IPv4 and IPv6);
 *  - in TABLE, "local 0.0.0.0/0 dev lo" and "local ::/0 dev lo".
 * And one for the rate of connections: our socket closes first, so each
 * connection leaves a TIME_WAIT entry for 10.0.2.2:port -> service for
 * 60 s. The default net.ipv4.tcp_tw_reuse=2 reuses those for loopback
 * addresses only; 10.0.2.2 is not one, so one client address ran out of
 * the namespace's 28,232 ephemeral ports after 28,232 connections in a
 * minute (connect: EADDRNOTAVAIL), and before that the search for a free
 * port took half our CPU. tcp_tw_reuse=1 lets a new connection take over
 * an entry older than a second (TCP timestamps keep old segments out).
 *
 * The helper runs this, lazily: only a namespace that gets a splice
 * forward is touched. The netlink socket and the sysctl file are opened
 * when the helper starts, before its seccomp filter, and kept; installing
 * and removing then need only sendto, recvmsg, pread and pwrite. MARK and TABLE
 * must be unused: a rule that already names either makes the install fail
 * (the caller falls back to plain splice), and so does an existing route
 * (NLM_F_EXCL). What was installed is removed, and the sysctl restored,
 * when the helper exits.
 *
 * A forwarder killed outright leaves them behind. They are harmless then:
 * nothing carries the mark once our sockets are gone (the bypass's table,
 * which marks the namespace's own traffic, goes with the helper's netlink
 * socket: tproxy.c). The next forwarder finds exactly our rule (fwmark
 * MARK, lookup TABLE, no other selector), takes it for a dead one's and
 * installs afresh; any other rule naming MARK or TABLE is someone else's.
 */
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <net/if.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "transparent.h"

static const char *const sysctls[TRANSPARENT_SYSCTLS] = {
	"/proc/sys/net/ipv4/tcp_fwmark_accept",
	"/proc/sys/net/ipv4/fwmark_reflect",
	"/proc/sys/net/ipv4/tcp_tw_reuse",
	"/proc/sys/net/ipv6/fwmark_reflect", /* last: absent without IPv6 */
};

void transparent_open(struct transparent *t)
{
	*t = (struct transparent){ .nl = NULL };
	t->nl = mnl_socket_open(NETLINK_ROUTE);
	if (t->nl && mnl_socket_bind(t->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		mnl_socket_close(t->nl);
		t->nl = NULL;
	}
	for (int i = 0; i < TRANSPARENT_SYSCTLS; i++)
		t->sysctl[i] = open(sysctls[i], O_RDWR | O_CLOEXEC);
	t->seq = time(NULL);
}

/* The kernel's own values, for a "1" a killed forwarder left behind. */
static const char sysctl_defaults[TRANSPARENT_SYSCTLS] = { '0', '0', '2', '0' };

/**
 * set_sysctls() - Each sysctl to "1", keeping what it was
 * @t:		state
 * @stale:	a killed forwarder's rule was there: a "1" is likely its own,
 *		and the kernel's default is what to restore
 * Return: 0 or -errno (the IPv6 one may be missing without IPv6)
 */
static int set_sysctls(struct transparent *t, bool stale)
{
	for (int i = 0; i < TRANSPARENT_SYSCTLS; i++) {
		char old[4] = "";

		if (t->sysctl[i] < 0) {
			if (i == TRANSPARENT_SYSCTLS - 1 && !t->ipv6)
				continue;
			return -ENOTSUP;
		}
		if (pread(t->sysctl[i], old, sizeof(old) - 1, 0) > 0)
			t->old[i] = old[0];
		if (stale && t->old[i] == '1')
			t->old[i] = sysctl_defaults[i];
		if (pwrite(t->sysctl[i], "1\n", 2, 0) != 2)
			return -errno;
	}
	return 0;
}

/* Each sysctl back to what it was before set_sysctls(). */
static void restore_sysctls(struct transparent *t)
{
	for (int i = 0; i < TRANSPARENT_SYSCTLS; i++) {
		char v[2] = { t->old[i], '\n' };

		if (t->sysctl[i] >= 0 && t->old[i] && t->old[i] != '1' &&
		    pwrite(t->sysctl[i], v, 2, 0) < 0) {
			/* nothing more to do about it on the way out */
		}
		t->old[i] = 0;
	}
}

/**
 * talk() - Send one request, read until its ack (or error)
 * @t:		state
 * @nlh:	the request
 * @cb:		for each answer of a dump, or NULL
 * @data:	for @cb
 * Return: 0 or -errno
 */
static int talk(struct transparent *t, struct nlmsghdr *nlh, mnl_cb_t cb,
		void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	unsigned portid = mnl_socket_get_portid(t->nl);
	int rc;

	nlh->nlmsg_seq = ++t->seq;
	if (mnl_socket_sendto(t->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		ssize_t n = mnl_socket_recvfrom(t->nl, buf, sizeof(buf));

		if (n < 0)
			return -errno;
		rc = mnl_cb_run(buf, n, nlh->nlmsg_seq, portid, cb, data);
	} while (rc > 0);
	return rc < 0 ? -errno : 0;
}

struct clash {
	uint32_t mark, table;
	bool foreign; /* a rule of someone else's names our mark or table */
	bool stale;   /* exactly our rule is there: a dead forwarder's */
};

/* One rule's attributes, as far as telling ours from others' goes. */
struct rule_seen {
	const struct clash *k;
	bool mark, table, other;
};

static int rule_attr(const struct nlattr *a, void *data)
{
	struct rule_seen *r = data;
	const struct clash *k = r->k;

	switch (mnl_attr_get_type(a)) {
	case FRA_FWMARK:
		r->mark = mnl_attr_get_u32(a) == k->mark;
		r->other |= !r->mark;
		break;
	case FRA_TABLE:
		r->table = mnl_attr_get_u32(a) == k->table;
		break;
	case FRA_FWMASK:
		r->other |= mnl_attr_get_u32(a) != 0xffffffff;
		break;
	case FRA_IIFNAME:
	case FRA_OIFNAME:
	case FRA_SRC:
	case FRA_DST:
	case FRA_IP_PROTO:
	case FRA_SPORT_RANGE:
	case FRA_DPORT_RANGE:
	case FRA_UID_RANGE:
		r->other = true; /* a selector ours does not have */
		break;
	default:
		break;
	}
	return MNL_CB_OK;
}

/* For each rule of the dump: is it ours exactly, or does it clash? */
static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct clash *k = data;
	const struct fib_rule_hdr *h = mnl_nlmsg_get_payload(nlh);
	struct rule_seen r = { .k = k };

	if (h->table == (k->table & 0xff) && k->table < 256)
		r.table = true;
	mnl_attr_parse(nlh, sizeof(*h), rule_attr, &r);
	if (!r.mark && !r.table)
		return MNL_CB_OK; /* nothing of ours */
	if (r.mark && r.table && !r.other && h->action == FR_ACT_TO_TBL &&
	    !h->src_len && !h->dst_len && !h->tos)
		k->stale = true;
	else
		k->foreign = true;
	return MNL_CB_OK;
}

/**
 * rule_msg() - Build an RTM_NEWRULE/RTM_DELRULE for fwmark -> table
 * @buf:	room for it
 * @type:	RTM_NEWRULE, RTM_DELRULE or RTM_GETRULE (a dump)
 * @family:	AF_INET or AF_INET6
 * @mark:	fwmark
 * @table:	table
 * Return: the message
 */
static struct nlmsghdr *rule_msg(char *buf, int type, int family,
				 uint32_t mark, uint32_t table)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct fib_rule_hdr *h;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	if (type == RTM_NEWRULE)
		nlh->nlmsg_flags |= NLM_F_CREATE | NLM_F_EXCL;
	if (type == RTM_GETRULE)
		nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	h = mnl_nlmsg_put_extra_header(nlh, sizeof(*h));
	h->family = family;
	if (type == RTM_GETRULE)
		return nlh;
	h->action = FR_ACT_TO_TBL;
	h->table = table < 256 ? table : RT_TABLE_UNSPEC;
	mnl_attr_put_u32(nlh, FRA_FWMARK, mark);
	mnl_attr_put_u32(nlh, FRA_TABLE, table);
	return nlh;
}

/**
 * route_msg() - Build "local 0/0 dev lo table TABLE" (or ::/0)
 * @buf:	room for it
 * @type:	RTM_NEWROUTE or RTM_DELROUTE
 * @family:	AF_INET or AF_INET6
 * @table:	table
 * Return: the message
 */
static struct nlmsghdr *route_msg(char *buf, int type, int family,
				  uint32_t table)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *r;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	if (type == RTM_NEWROUTE)
		nlh->nlmsg_flags |= NLM_F_CREATE | NLM_F_EXCL;
	r = mnl_nlmsg_put_extra_header(nlh, sizeof(*r));
	r->rtm_family = family;
	r->rtm_dst_len = 0;
	r->rtm_table = table < 256 ? table : RT_TABLE_UNSPEC;
	r->rtm_protocol = RTPROT_STATIC;
	r->rtm_scope = RT_SCOPE_HOST;
	r->rtm_type = RTN_LOCAL;
	mnl_attr_put_u32(nlh, RTA_TABLE, table);
	/* lo is ifindex 1 in every namespace; if_nametoindex() would need
	 * a socket and an ioctl, which the helper's filter refuses */
	mnl_attr_put_u32(nlh, RTA_OIF, 1);
	return nlh;
}

static const int families[] = { AF_INET, AF_INET6 };

/**
 * delete_rules() - Delete the fwmark rule and the local route, each family
 * @t:		state
 * @mark:	fwmark
 * @table:	table
 * @ipv6:	IPv6 too
 *
 * What is missing is fine: at exit, what was installed; at start, exactly
 * our rule and route left by a forwarder that died before it could (they
 * matched nothing; deleting and adding them again is simpler than proving
 * each one whole).
 */
static void delete_rules(struct transparent *t, uint32_t mark,
			 uint32_t table, bool ipv6)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];

	for (int i = 0; i < 1 + ipv6; i++) {
		talk(t, rule_msg(buf, RTM_DELRULE, families[i], mark, table),
		     NULL, NULL);
		talk(t, route_msg(buf, RTM_DELROUTE, families[i], table), NULL,
		     NULL);
	}
}

int transparent_install(struct transparent *t, uint32_t mark, uint32_t table,
			bool ipv6)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct clash k = { .mark = mark, .table = table };
	int rc;

	if (t->installed)
		return 0;
	if (!t->nl)
		return -ENOTSUP;
	for (int i = 0; i < 1 + ipv6; i++) {
		rc = talk(t, rule_msg(buf, RTM_GETRULE, families[i], 0, 0),
			  rule_cb, &k);
		if (rc < 0)
			return rc;
	}
	if (k.foreign)
		return -EEXIST; /* someone else's mark or table */
	if (k.stale)
		delete_rules(t, mark, table, ipv6);
	t->mark = mark;
	t->table = table;
	t->ipv6 = ipv6;
	t->installed = true; /* from here on, remove undoes what was done */
	rc = set_sysctls(t, k.stale);
	if (rc < 0) {
		transparent_remove(t);
		return rc;
	}
	for (int i = 0; i < 1 + ipv6; i++) {
		rc = talk(t, route_msg(buf, RTM_NEWROUTE, families[i], table),
			  NULL, NULL);
		if (!rc)
			rc = talk(t, rule_msg(buf, RTM_NEWRULE, families[i],
					      mark, table),
				  NULL, NULL);
		if (rc < 0) {
			transparent_remove(t);
			return rc;
		}
	}
	return 0;
}

int transparent_local_route(struct transparent *t, int family,
			    const void *addr, int ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct rtmsg *r;
	int rc;

	if (!t->nl)
		return -ENOTSUP;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE |
			   NLM_F_REPLACE;
	r = mnl_nlmsg_put_extra_header(nlh, sizeof(*r));
	r->rtm_family = family;
	r->rtm_dst_len = family == AF_INET6 ? 128 : 32;
	r->rtm_table = RT_TABLE_LOCAL;
	r->rtm_protocol = RTPROT_STATIC;
	r->rtm_scope = RT_SCOPE_HOST;
	r->rtm_type = RTN_LOCAL;
	mnl_attr_put(nlh, RTA_DST, family == AF_INET6 ? 16 : 4, addr);
	mnl_attr_put_u32(nlh, RTA_OIF, ifindex);
	rc = talk(t, nlh, NULL, NULL);
	return rc;
}

/* mnl_cb_t: one RTM_NEWLINK answer; *data = its flags */
static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type == RTM_NEWLINK)
		*(unsigned *)data = ifi->ifi_flags;
	return MNL_CB_OK;
}

bool transparent_lo_up(struct transparent *t)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	unsigned flags = 0;

	if (!t->nl)
		return false;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = 1; /* lo's, in every namespace */
	return talk(t, nlh, link_cb, &flags) == 0 && (flags & IFF_UP);
}

void transparent_remove(struct transparent *t)
{
	if (!t->installed)
		return;
	delete_rules(t, t->mark, t->table, t->ipv6);
	restore_sysctls(t);
	t->installed = false;
}

void transparent_close(struct transparent *t)
{
	if (t->nl)
		mnl_socket_close(t->nl);
	for (int i = 0; i < TRANSPARENT_SYSCTLS; i++) {
		if (t->sysctl[i] >= 0)
			close(t->sysctl[i]);
		t->sysctl[i] = -1;
	}
	t->nl = NULL;
}

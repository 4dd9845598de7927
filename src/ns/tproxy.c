// SPDX-License-Identifier: GPL-2.0-or-later
/* tproxy.c - the namespace side of --enable-tcp-bypass.
 *
 * DOC: Theory of Operation
 * The guest's outbound TCP should reach our listener in the namespace
 * instead of the TAP, with its original destination kept as the accepted
 * socket's own address. The kernel's transparent proxying does that, and
 * it works in a user namespace. One nftables table, "inet slirp4netns":
 *  - chain output, type route: TCP about to leave by the TAP, to anything
 *    but what libslirp must still see (the DNS address; the whole virtual
 *    network under --disable-host-loopback, so that it is refused as
 *    before), gets the mark MARK. A route chain routes a packet again when
 *    its mark changes, and transparent.c's rule "fwmark MARK lookup TABLE"
 *    with "local 0.0.0.0/0 dev lo" in TABLE makes it local: it comes back
 *    in through lo;
 *  - chain prerouting: TCP in on lo with that mark and a destination that
 *    is not one of the namespace's addresses goes to "tproxy to
 *    127.0.0.1:PORT" ([::1]:PORT for IPv6): the kernel hands a SYN to our
 *    IP_TRANSPARENT listener there, and every later segment to the socket
 *    accept() made for it.
 * The "not local" test keeps apart the packets a splice forward sends to
 * the guest's own address with the same mark (transparent.c).
 *
 * The helper installs it on request, once the listeners exist (their ports
 * go into the rules), and deletes the table when it exits. The table is
 * owned by the helper's netlink socket (NFT_TABLE_F_OWNER), so the kernel
 * deletes it too when the helper is killed: a table left behind would send
 * the namespace's TCP to listeners that no longer exist, and every connect
 * of the next forwarder, ours or slirp4netns, would time out. It talks
 * nfnetlink on a socket opened before its seccomp filter, by sendto and
 * recvmsg only. A batch is processed while sendto() runs, so every answer
 * is queued when it returns: read them without waiting.
 */
#include <netinet/in.h> /* before the kernel's headers: linux/in.h */

#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "../options.h"
#include "tproxy.h"

static const char table_name[] = "slirp4netns";

enum { PRIO_MANGLE = -150, LO_IFINDEX = 1, BATCH_SIZE = 32 << 10 };

/* An expression that could not be allocated: a rule without it would
 * match more than it should, so the batch is not sent. */
static bool nomem;

/* mask of a prefix of @bits, in network order, over @len bytes */
static void prefix_mask(uint8_t *mask, size_t len, unsigned bits)
{
	for (size_t i = 0; i < len; i++, bits = bits > 8 ? bits - 8 : 0)
		mask[i] = bits >= 8 ? 0xff : (uint8_t)(0xff00 >> bits);
}

void tproxy_open(struct tproxy *t, const struct opts *o)
{
	const struct netcfg *n = &o->net;
	bool all = o->disable_host_loopback;

	*t = (struct tproxy){ .nl = NULL, .mark = o->forward_fwmark,
			      .ipv6 = o->ipv6 };
	if (!o->tcp_bypass)
		return;
	strncpy(t->ifname, o->tapname, sizeof(t->ifname) - 1);
	t->skip4 = all ? n->net : n->dns;
	prefix_mask((uint8_t *)&t->mask4, 4, all ? n->prefix : 32);
	t->skip6 = all ? n->net6 : n->dns6;
	prefix_mask(t->mask6.s6_addr, 16, all ? 64 : 128);
	t->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (t->nl && mnl_socket_bind(t->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		mnl_socket_close(t->nl);
		t->nl = NULL;
	}
	t->seq = time(NULL);
}

/* ---------------------------------------------------------- expressions */

static struct nftnl_expr *expr(struct nftnl_rule *r, const char *name)
{
	struct nftnl_expr *e = nftnl_expr_alloc(name);

	if (e)
		nftnl_rule_add_expr(r, e);
	else
		nomem = true;
	return e;
}

/* reg 1 = meta @key */
static void meta_load(struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *e = expr(r, "meta");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
}

/* go on only if reg 1 @op @data */
static void cmp(struct nftnl_rule *r, uint32_t op, const void *data,
		uint32_t len)
{
	struct nftnl_expr *e = expr(r, "cmp");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
}

static void meta_is(struct nftnl_rule *r, uint32_t key, const void *data,
		    uint32_t len)
{
	meta_load(r, key);
	cmp(r, NFT_CMP_EQ, data, len);
}

/* go on only if the destination address & @mask != @addr */
static void daddr_not(struct nftnl_rule *r, uint32_t off, const void *addr,
		      const void *mask, uint32_t len)
{
	static const uint8_t zero[16];
	struct nftnl_expr *e = expr(r, "payload");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE,
			   NFT_PAYLOAD_NETWORK_HEADER);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	e = expr(r, "bitwise");
	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, len);
	cmp(r, NFT_CMP_NEQ, addr, len);
}

static void immediate(struct nftnl_rule *r, uint32_t reg, const void *data,
		      uint32_t len)
{
	struct nftnl_expr *e = expr(r, "immediate");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, reg);
	nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, data, len);
}

/* go on only if the destination is not one of this namespace's */
static void daddr_not_local(struct nftnl_rule *r)
{
	uint32_t local = RTN_LOCAL;
	struct nftnl_expr *e = expr(r, "fib");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR);
	cmp(r, NFT_CMP_NEQ, &local, sizeof(local));
}

/* ---------------------------------------------------------------- rules */

static struct nftnl_rule *rule_new(const char *chain)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (!r) {
		nomem = true;
		return NULL;
	}
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table_name);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	return r;
}

/**
 * mark_rule() - oifname TAP, TCP, @nfproto, daddr not skipped: mark it
 * @t:		state
 * @nfproto:	NFPROTO_IPV4 or NFPROTO_IPV6
 * Return: the rule, or NULL without memory
 */
static struct nftnl_rule *mark_rule(const struct tproxy *t, uint8_t nfproto)
{
	struct nftnl_rule *r = rule_new("output");
	uint8_t tcp = IPPROTO_TCP;
	char name[IFNAMSIZ] = "";

	if (!r)
		return NULL;
	memcpy(name, t->ifname, sizeof(name));
	meta_is(r, NFT_META_OIFNAME, name, sizeof(name));
	meta_is(r, NFT_META_L4PROTO, &tcp, 1);
	meta_is(r, NFT_META_NFPROTO, &nfproto, 1);
	if (nfproto == NFPROTO_IPV4)
		daddr_not(r, 16, &t->skip4, &t->mask4, 4);
	else
		daddr_not(r, 24, &t->skip6, &t->mask6, 16);
	immediate(r, NFT_REG_1, &t->mark, sizeof(t->mark));
	struct nftnl_expr *e = expr(r, "meta");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, NFT_META_MARK);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_SREG, NFT_REG_1);
	}
	return r;
}

/**
 * tproxy_rule() - In on lo, marked, TCP, not local, @nfproto: to our
 * listener on loopback @port
 * @t:		state
 * @nfproto:	NFPROTO_IPV4 or NFPROTO_IPV6
 * @port:	the listener's, host order
 * Return: the rule, or NULL without memory
 */
static struct nftnl_rule *tproxy_rule(const struct tproxy *t, uint8_t nfproto,
				      uint16_t port)
{
	struct nftnl_rule *r = rule_new("prerouting");
	uint32_t lo = LO_IFINDEX, lo4 = htonl(INADDR_LOOPBACK);
	uint16_t nport = htons(port);
	uint8_t tcp = IPPROTO_TCP;
	struct nftnl_expr *e;

	if (!r)
		return NULL;
	meta_is(r, NFT_META_IIF, &lo, sizeof(lo));
	meta_is(r, NFT_META_MARK, &t->mark, sizeof(t->mark));
	meta_is(r, NFT_META_L4PROTO, &tcp, 1);
	daddr_not_local(r);
	meta_is(r, NFT_META_NFPROTO, &nfproto, 1);
	if (nfproto == NFPROTO_IPV4)
		immediate(r, NFT_REG_1, &lo4, sizeof(lo4));
	else
		immediate(r, NFT_REG_1, &in6addr_loopback,
			  sizeof(in6addr_loopback));
	immediate(r, NFT_REG_2, &nport, sizeof(nport));
	e = expr(r, "tproxy");
	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_TPROXY_FAMILY, nfproto);
		nftnl_expr_set_u32(e, NFTNL_EXPR_TPROXY_REG_ADDR, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_TPROXY_REG_PORT, NFT_REG_2);
	}
	return r;
}

static struct nftnl_chain *chain_new(const char *name, const char *type,
				     uint32_t hook)
{
	struct nftnl_chain *c = nftnl_chain_alloc();

	if (!c)
		return NULL;
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table_name);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, type);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, PRIO_MANGLE);
	return c;
}

/* ---------------------------------------------------------------- batch */

/**
 * talk() - Send a batch, read every answer that is queued
 * @t:		state
 * @b:		the batch, ended
 * Return: 0, or the first error the kernel gave
 */
static int talk(struct tproxy *t, struct mnl_nlmsg_batch *b)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	unsigned portid = mnl_socket_get_portid(t->nl);
	int fd = mnl_socket_get_fd(t->nl), err = 0;
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (mnl_socket_sendto(t->nl, mnl_nlmsg_batch_head(b),
			      mnl_nlmsg_batch_size(b)) < 0)
		return -errno;
	while ((n = recvmsg(fd, &msg, MSG_DONTWAIT)) > 0)
		if (mnl_cb_run(buf, n, 0, portid, NULL, NULL) < 0 && !err)
			err = -errno;
	return err;
}

static struct nlmsghdr *put(struct tproxy *t, struct mnl_nlmsg_batch *b,
			    uint16_t type, uint16_t flags)
{
	return nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(b), type,
				     NFPROTO_INET, flags | NLM_F_ACK,
				     ++t->seq);
}

static void put_table(struct tproxy *t, struct mnl_nlmsg_batch *b,
		      uint16_t type, uint16_t flags)
{
	struct nftnl_table *tb = nftnl_table_alloc();

	if (!tb) {
		nomem = true;
		return;
	}
	nftnl_table_set_u32(tb, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	nftnl_table_set_str(tb, NFTNL_TABLE_NAME, table_name);
	/* owned by our netlink socket: the kernel deletes the table when
	 * the socket closes, however the helper ends (SIGKILL, a crash),
	 * and nobody else may change it meanwhile */
	if (type == NFT_MSG_NEWTABLE)
		nftnl_table_set_u32(tb, NFTNL_TABLE_FLAGS, NFT_TABLE_F_OWNER);
	nftnl_table_nlmsg_build_payload(put(t, b, type, flags), tb);
	nftnl_table_free(tb);
	mnl_nlmsg_batch_next(b);
}

static void put_chain(struct tproxy *t, struct mnl_nlmsg_batch *b,
		      struct nftnl_chain *c)
{
	if (!c) {
		nomem = true;
		return;
	}
	nftnl_chain_nlmsg_build_payload(put(t, b, NFT_MSG_NEWCHAIN,
					    NLM_F_CREATE),
					c);
	nftnl_chain_free(c);
	mnl_nlmsg_batch_next(b);
}

static void put_rule(struct tproxy *t, struct mnl_nlmsg_batch *b,
		     struct nftnl_rule *r)
{
	if (!r)
		return;
	nftnl_rule_nlmsg_build_payload(put(t, b, NFT_MSG_NEWRULE,
					   NLM_F_CREATE | NLM_F_APPEND),
				       r);
	nftnl_rule_free(r);
	mnl_nlmsg_batch_next(b);
}

/* A batch of @body between begin and end; 0 or the first error. */
static int run(struct tproxy *t,
	       void (*body)(struct tproxy *, struct mnl_nlmsg_batch *,
			    const uint16_t *),
	       const uint16_t *ports)
{
	static char buf[BATCH_SIZE];
	struct mnl_nlmsg_batch *b = mnl_nlmsg_batch_start(buf, sizeof(buf));
	int rc;

	if (!b)
		return -ENOMEM;
	nomem = false;
	nftnl_batch_begin(mnl_nlmsg_batch_current(b), ++t->seq);
	mnl_nlmsg_batch_next(b);
	body(t, b, ports);
	nftnl_batch_end(mnl_nlmsg_batch_current(b), ++t->seq);
	mnl_nlmsg_batch_next(b);
	rc = nomem ? -ENOMEM : talk(t, b);
	mnl_nlmsg_batch_stop(b);
	return rc;
}

static void install_body(struct tproxy *t, struct mnl_nlmsg_batch *b,
			 const uint16_t *ports)
{
	put_table(t, b, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL);
	put_chain(t, b, chain_new("output", "route", NF_INET_LOCAL_OUT));
	put_chain(t, b, chain_new("prerouting", "filter",
				  NF_INET_PRE_ROUTING));
	put_rule(t, b, mark_rule(t, NFPROTO_IPV4));
	put_rule(t, b, tproxy_rule(t, NFPROTO_IPV4, ports[0]));
	if (!ports[1])
		return;
	put_rule(t, b, mark_rule(t, NFPROTO_IPV6));
	put_rule(t, b, tproxy_rule(t, NFPROTO_IPV6, ports[1]));
}

static void remove_body(struct tproxy *t, struct mnl_nlmsg_batch *b,
			const uint16_t *ports)
{
	(void)ports;
	put_table(t, b, NFT_MSG_DELTABLE, 0);
}

int tproxy_install(struct tproxy *t, uint16_t port4, uint16_t port6)
{
	const uint16_t ports[2] = { port4, t->ipv6 ? port6 : 0 };
	int rc;

	if (t->installed)
		return -EALREADY;
	if (!t->nl)
		return -ENOTSUP;
	rc = run(t, install_body, ports);
	/* A table of that name without an owner: an older forwarder's that
	 * was killed, whose rules now send the namespace's TCP to listeners
	 * that are gone. Delete it and go on; one that a live process owns
	 * refuses the delete (EPERM), and we stay on libslirp. */
	if (rc == -EEXIST && run(t, remove_body, NULL) == 0)
		rc = run(t, install_body, ports);
	t->installed = rc == 0; /* a failed batch leaves nothing behind */
	return rc;
}

void tproxy_remove(struct tproxy *t)
{
	if (t->installed)
		run(t, remove_body, NULL);
	t->installed = false;
}

void tproxy_close(struct tproxy *t)
{
	if (t->nl)
		mnl_socket_close(t->nl);
	t->nl = NULL;
}

// SPDX-License-Identifier: GPL-2.0-or-later
/* tproxy.c - the namespace side of the outbound kernel path.
 *
 * DOC: Theory of Operation
 * The guest's outbound TCP should reach our listener in the namespace
 * instead of the TAP, with its original destination kept as the accepted
 * socket's own address. The kernel's transparent proxying does that, and
 * it works in a user namespace. One nftables table, "inet slirp4netns",
 * with three chains on each of two hooks, in this order, and a nat chain:
 *  - gate_out (output) and gate_in (prerouting, what comes in from another
 *    interface and is routed to the TAP): a new connection's SYN goes to
 *    the netfilter queue of synq.c, and waits for the parent's verdict
 *    (fwd/gate.c). nftables' own queue expression may be missing from the
 *    kernel; iptables' NFQUEUE target, which nftables runs for
 *    iptables-nft, is used instead. A verdict goes on at the next chain;
 *  - reject_out and reject_in: a SYN the verdict marked (synq_mark()) is
 *    refused there, with a reset or an ICMP unreachable, as libslirp would;
 *  - output, type route: TCP about to leave by the TAP, to anything but
 *    what libslirp must still see (the DNS address; the whole virtual
 *    network under --disable-host-loopback, so that it is refused as
 *    before), gets the mark MARK. A route chain routes a packet again when
 *    its mark changes, and transparent.c's rule "fwmark MARK lookup TABLE"
 *    with "local 0.0.0.0/0 dev lo" in TABLE makes it local: it comes back
 *    in through lo. Not marked: answers in a connection that came in by
 *    the TAP (conntrack's reply direction: a forward of mode slirp), the
 *    kernel's own resets for what it does not know (no conntrack entry, a
 *    socket bound to nothing), and connections the gate left to libslirp
 *    (their conntrack mark);
 *  - prerouting: TCP in on lo with that mark and a destination that is not
 *    one of the namespace's addresses goes to "tproxy to 127.0.0.1:PORT"
 *    ([::1]:PORT for IPv6): the kernel hands a SYN to our IP_TRANSPARENT
 *    listener there, and every later segment to the socket accept() made
 *    for it;
 *  - redirect (nat, prerouting): TCP in from another interface (a bridge,
 *    a veth: containers) and routed to the TAP is redirected to our
 *    listener on the wildcard address; the original destination is
 *    conntrack's (SO_ORIGINAL_DST). Not tproxy: where br_netfilter is on
 *    (Docker loads it, and bridge-nf-call-iptables is 1 in every
 *    namespace then) a bridge runs the IPv4 and IPv6 prerouting hooks
 *    itself, and the socket tproxy gives the packet is dropped when the
 *    bridge hands it up to IP (ip_rcv_core() orphans it), so every
 *    container's SYN on a bridge was answered with a reset. NAT is
 *    conntrack's, which keeps. It runs after the usual dstnat priority: a
 *    DNAT of the namespace's own comes first, and then ours does not.
 * UDP from the namespace's own sockets to a unicast address takes the
 * output and prerouting legs too, to a transparent UDP listener on
 * loopback (fwd/udp_out.c); broadcast and multicast stay libslirp's, and
 * so does what other interfaces route to the TAP (no redirect for UDP
 * yet: the original destination of a redirected datagram is conntrack's,
 * which UDP sockets do not tell).
 * The "not local" test keeps apart the packets a splice forward sends to
 * the guest's own address with the same mark (transparent.c). Our
 * listeners carry MARK + 1, which routes as usual: their answers to a
 * container leave by its interface.
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
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/xt_NFQUEUE.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "../options.h"
#include "synq.h"
#include "tproxy.h"

static const char table_name[] = "slirp4netns";

enum {
	PRIO_MANGLE = -150,
	PRIO_REJECT = PRIO_MANGLE - 1,
	PRIO_GATE = PRIO_MANGLE - 2,
	PRIO_REDIRECT = -100 + 1, /* after NF_IP_PRI_NAT_DST */
	LO_IFINDEX = 1,
	BATCH_SIZE = 32 << 10,
	TH_SYN_ACK_RST_FIN = 0x17,
};

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
			      .queue = synq_number(o->forward_fwmark),
			      .ipv6 = o->ipv6 };
	/* the tests' stand-in for a kernel without nf_tables */
	if (!o->tcp_bypass || getenv("S4_TEST_NO_NFTABLES"))
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

/* reg 1 = conntrack's @key */
static void ct_load(struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *e = expr(r, "ct");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
}

/* accept: this chain ends here for the packet, the next ones go on */
static void accept_here(struct nftnl_rule *r)
{
	struct nftnl_expr *e = expr(r, "immediate");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NF_ACCEPT);
}

/* go on only if the destination's route type @op @type (RTN_*) */
static void daddr_type(struct nftnl_rule *r, uint32_t op, uint32_t type)
{
	struct nftnl_expr *e = expr(r, "fib");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR);
	cmp(r, op, &type, sizeof(type));
}

/* go on only if the destination is not one of this namespace's */
static void daddr_not_local(struct nftnl_rule *r)
{
	daddr_type(r, NFT_CMP_NEQ, RTN_LOCAL);
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

/* reg 1 = @mark, then the packet's mark = reg 1 */
static void mark_set(struct nftnl_rule *r, uint32_t mark)
{
	struct nftnl_expr *e;

	immediate(r, NFT_REG_1, &mark, sizeof(mark));
	e = expr(r, "meta");
	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, NFT_META_MARK);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_SREG, NFT_REG_1);
}

/* go on only for @l4 (TCP, UDP) of @nfproto to a destination libslirp need
 * not see */
static void l4_to_bypass(const struct tproxy *t, struct nftnl_rule *r,
			 uint8_t nfproto, uint8_t l4)
{
	meta_is(r, NFT_META_L4PROTO, &l4, 1);
	meta_is(r, NFT_META_NFPROTO, &nfproto, 1);
	if (nfproto == NFPROTO_IPV4)
		daddr_not(r, 16, &t->skip4, &t->mask4, 4);
	else
		daddr_not(r, 24, &t->skip6, &t->mask6, 16);
}

/* go on only if the packet leaves (@op NFT_CMP_EQ) or does not leave by
 * the TAP, as routed so far */
static void oifname_cmp(const struct tproxy *t, struct nftnl_rule *r,
			uint32_t op)
{
	char name[IFNAMSIZ] = "";

	memcpy(name, t->ifname, sizeof(name));
	meta_load(r, NFT_META_OIFNAME);
	cmp(r, op, name, sizeof(name));
}

/* go on only if the packet came in by lo (@op NFT_CMP_EQ), or not */
static void iif_lo_cmp(struct nftnl_rule *r, uint32_t op)
{
	uint32_t lo = LO_IFINDEX;

	meta_load(r, NFT_META_IIF);
	cmp(r, op, &lo, sizeof(lo));
}

/* go on only if the route to the destination leaves by the TAP: what
 * comes in from another interface and would be forwarded there. A route
 * lookup: after the cheaper tests */
static void routed_to_tap(const struct tproxy *t, struct nftnl_rule *r)
{
	char name[IFNAMSIZ] = "";
	struct nftnl_expr *e = expr(r, "fib");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_OIFNAME);
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR);
	memcpy(name, t->ifname, sizeof(name));
	cmp(r, NFT_CMP_EQ, name, sizeof(name));
}

/* go on only for a SYN without ACK, RST or FIN: a new connection */
static void syn_only(struct nftnl_rule *r)
{
	static const uint8_t mask = TH_SYN_ACK_RST_FIN, zero = 0,
			     syn = 0x02;
	struct nftnl_expr *e = expr(r, "payload");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE,
			   NFT_PAYLOAD_TRANSPORT_HEADER);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, 13);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, 1);
	e = expr(r, "bitwise");
	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, 1);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, &mask, 1);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &zero, 1);
	cmp(r, NFT_CMP_EQ, &syn, 1);
}

/* the packet waits in our queue (synq.c). The kernels we run on may
 * lack nftables' own queue expression (CONFIG_NFT_QUEUE) where
 * iptables' NFQUEUE target is there, which nftables runs as it runs
 * iptables-nft's rules (nft_compat): that one, then. */
static void to_queue(const struct tproxy *t, struct nftnl_rule *r)
{
	struct nftnl_expr *e = expr(r, "target");
	/* the expression keeps this pointer, and frees it */
	struct xt_NFQ_info *info = malloc(sizeof(*info));

	if (!e || !info) {
		free(info);
		nomem = true;
		return;
	}
	info->queuenum = t->queue;
	nftnl_expr_set_str(e, NFTNL_EXPR_TG_NAME, "NFQUEUE");
	nftnl_expr_set_u32(e, NFTNL_EXPR_TG_REV, 0);
	nftnl_expr_set(e, NFTNL_EXPR_TG_INFO, info, sizeof(*info));
}

/**
 * ours_only_rule() - Ends @chain at once for packets none of its later
 * rules is for: in output, whatever does not leave by the TAP; in
 * prerouting, after the lo rules, whatever came in by lo. The bypass's
 * own legs over lo are most of the packets, and they skip the conntrack
 * and socket lookups of the rules after it.
 * @t:		state
 * @output:	the output chain's, else prerouting's
 * Return: the rule, or NULL without memory
 */
static struct nftnl_rule *ours_only_rule(const struct tproxy *t, bool output)
{
	struct nftnl_rule *r = rule_new(output ? "output" : "prerouting");

	if (!r)
		return NULL;
	if (output)
		oifname_cmp(t, r, NFT_CMP_NEQ);
	else
		iif_lo_cmp(r, NFT_CMP_EQ);
	accept_here(r);
	return r;
}

/**
 * reply_rule() - Answers in a connection that came in by the TAP (a
 * forward of mode slirp: libslirp dialled the guest) leave by it, to
 * libslirp, as before: they end @chain here (conntrack's direction; a
 * packet it does not track goes on)
 * @chain:	"output" or "prerouting"
 * Return: the rule, or NULL without memory
 */
static struct nftnl_rule *reply_rule(const char *chain)
{
	struct nftnl_rule *r = rule_new(chain);
	uint8_t reply = 1; /* IP_CT_DIR_REPLY, not in the uapi headers */

	if (!r)
		return NULL;
	ct_load(r, NFT_CT_DIRECTION);
	cmp(r, NFT_CMP_EQ, &reply, 1);
	accept_here(r);
	return r;
}

/**
 * orphan_rule() - What the namespace's kernel sends for no connection it
 * knows (the reset for a SYN-ACK libslirp sent from a forward's half-open
 * connection) is none of ours: it goes to libslirp, which waits for it.
 * Conntrack has no entry for it, and its socket is the kernel's own, bound
 * to no address; every packet of a connection we carry has an entry, or
 * at least the guest's socket
 * Return: the rule, or NULL without memory
 */
static struct nftnl_rule *orphan_rule(void)
{
	struct nftnl_rule *r = rule_new("output");
	uint32_t invalid = NF_CT_STATE_INVALID_BIT, zero = 0;
	uint8_t one = 1;
	struct nftnl_expr *e;

	if (!r)
		return NULL;
	ct_load(r, NFT_CT_STATE);
	e = expr(r, "bitwise");
	if (!e)
		return r;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, 4);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, &invalid, 4);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &zero, 4);
	cmp(r, NFT_CMP_NEQ, &zero, 4);
	e = expr(r, "socket");
	if (!e)
		return r;
	nftnl_expr_set_u32(e, NFTNL_EXPR_SOCKET_KEY, NFT_SOCKET_WILDCARD);
	nftnl_expr_set_u32(e, NFTNL_EXPR_SOCKET_DREG, NFT_REG_1);
	cmp(r, NFT_CMP_EQ, &one, 1);
	accept_here(r);
	return r;
}

/**
 * slirp_rule() - A connection the gate sent to libslirp (SYNQ_SLIRP)
 * stays there: its SYN's mark goes to its conntrack entry, and every
 * packet of an entry so marked ends @chain here, unmarked, on its way to
 * the TAP
 * @t:		state
 * @chain:	"output" or "prerouting"
 * @syn:	the first rule (the SYN's mark), else the second
 * Return: the rule, or NULL without memory
 */
static struct nftnl_rule *slirp_rule(const struct tproxy *t, const char *chain,
				     bool syn)
{
	struct nftnl_rule *r = rule_new(chain);
	uint32_t mark = synq_mark(t->mark, SYNQ_SLIRP);
	struct nftnl_expr *e;

	if (!r)
		return NULL;
	if (syn) {
		meta_is(r, NFT_META_MARK, &mark, sizeof(mark));
		e = expr(r, "ct");
		if (e) {
			nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_MARK);
			nftnl_expr_set_u32(e, NFTNL_EXPR_CT_SREG, NFT_REG_1);
		}
	} else {
		ct_load(r, NFT_CT_MARK);
		cmp(r, NFT_CMP_EQ, &mark, sizeof(mark));
	}
	accept_here(r);
	return r;
}

/**
 * mark_rule() - oifname TAP, @l4, @nfproto, daddr not skipped: mark it
 * @t:		state
 * @nfproto:	NFPROTO_IPV4 or NFPROTO_IPV6
 * @l4:		IPPROTO_TCP, or IPPROTO_UDP (to a unicast address)
 * Return: the rule, or NULL without memory
 */
static struct nftnl_rule *mark_rule(const struct tproxy *t, uint8_t nfproto,
				    uint8_t l4)
{
	struct nftnl_rule *r = rule_new("output");

	if (!r)
		return NULL;
	oifname_cmp(t, r, NFT_CMP_EQ);
	l4_to_bypass(t, r, nfproto, l4);
	/* one host: broadcast and multicast stay libslirp's */
	if (l4 == IPPROTO_UDP)
		daddr_type(r, NFT_CMP_EQ, RTN_UNICAST);
	mark_set(r, t->mark);
	return r;
}

/**
 * gate_rule() - A new connection's SYN into the queue: the namespace's
 * own (output), or one it forwards from another interface (prerouting)
 * @t:		state
 * @nfproto:	NFPROTO_IPV4 or NFPROTO_IPV6
 * @forwarded:	the prerouting one
 * Return: the rule, or NULL without memory
 */
static struct nftnl_rule *gate_rule(const struct tproxy *t, uint8_t nfproto,
				    bool forwarded)
{
	struct nftnl_rule *r = rule_new(forwarded ? "gate_in" : "gate_out");

	if (!r)
		return NULL;
	if (forwarded)
		iif_lo_cmp(r, NFT_CMP_NEQ);
	else
		oifname_cmp(t, r, NFT_CMP_EQ);
	l4_to_bypass(t, r, nfproto, IPPROTO_TCP);
	syn_only(r);
	if (forwarded)
		routed_to_tap(t, r);
	to_queue(t, r);
	return r;
}

/**
 * reject_rule() - A SYN the queue's verdict marked: refuse it as libslirp
 * would have
 * @t:		state
 * @chain:	"reject_out" or "reject_in"
 * @kind:	SYNQ_REFUSE, SYNQ_NO_ROUTE or SYNQ_HOST_UNREACH
 * Return: the rule, or NULL without memory
 */
static struct nftnl_rule *reject_rule(const struct tproxy *t,
				      const char *chain,
				      enum synq_verdict_kind kind)
{
	struct nftnl_rule *r = rule_new(chain);
	uint32_t mark = synq_mark(t->mark, kind);
	uint8_t tcp = IPPROTO_TCP;
	struct nftnl_expr *e;

	if (!r)
		return NULL;
	meta_is(r, NFT_META_L4PROTO, &tcp, 1);
	meta_is(r, NFT_META_MARK, &mark, sizeof(mark));
	/* not the reset itself: fwmark_reflect gives it the SYN's mark */
	syn_only(r);
	e = expr(r, "reject");
	if (!e)
		return r;
	if (kind == SYNQ_REFUSE) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE,
				   NFT_REJECT_TCP_RST);
		nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, 0);
	} else {
		nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE,
				   NFT_REJECT_ICMPX_UNREACH);
		nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE,
				  kind == SYNQ_NO_ROUTE
					  ? NFT_REJECT_ICMPX_NO_ROUTE
					  : NFT_REJECT_ICMPX_HOST_UNREACH);
	}
	return r;
}

/* reg 1, 2 = our listener of @nfproto on loopback, then tproxy there */
static void tproxy_to(struct nftnl_rule *r, uint8_t nfproto, uint16_t port)
{
	uint32_t lo4 = htonl(INADDR_LOOPBACK);
	uint16_t nport = htons(port);
	struct nftnl_expr *e;

	if (nfproto == NFPROTO_IPV4)
		immediate(r, NFT_REG_1, &lo4, sizeof(lo4));
	else
		immediate(r, NFT_REG_1, &in6addr_loopback,
			  sizeof(in6addr_loopback));
	immediate(r, NFT_REG_2, &nport, sizeof(nport));
	e = expr(r, "tproxy");
	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_TPROXY_FAMILY, nfproto);
	nftnl_expr_set_u32(e, NFTNL_EXPR_TPROXY_REG_ADDR, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_TPROXY_REG_PORT, NFT_REG_2);
}

/**
 * tproxy_rule() - To our listener on loopback @port: what the output chain
 * marked (it comes back in on lo, to a destination not local). For UDP
 * the kernel looks for a connected socket of the flow first (udp_out.c).
 * @t:		state
 * @nfproto:	NFPROTO_IPV4 or NFPROTO_IPV6
 * @l4:		IPPROTO_TCP or IPPROTO_UDP
 * @port:	the listener's, host order
 * Return: the rule, or NULL without memory
 */
static struct nftnl_rule *tproxy_rule(const struct tproxy *t, uint8_t nfproto,
				      uint8_t l4, uint16_t port)
{
	struct nftnl_rule *r = rule_new("prerouting");

	if (!r)
		return NULL;
	iif_lo_cmp(r, NFT_CMP_EQ);
	meta_is(r, NFT_META_MARK, &t->mark, sizeof(t->mark));
	meta_is(r, NFT_META_L4PROTO, &l4, 1);
	daddr_not_local(r);
	meta_is(r, NFT_META_NFPROTO, &nfproto, 1);
	tproxy_to(r, nfproto, port);
	return r;
}

/**
 * redirect_rule() - What comes in from another interface, routed to the
 * TAP, to our listener on the wildcard address, port @port (a nat chain:
 * a new connection's first packet only)
 * @t:		state
 * @nfproto:	NFPROTO_IPV4 or NFPROTO_IPV6
 * @port:	the listener's, host order
 * Return: the rule, or NULL without memory
 */
static struct nftnl_rule *redirect_rule(const struct tproxy *t,
					uint8_t nfproto, uint16_t port)
{
	struct nftnl_rule *r = rule_new("redirect");
	uint16_t nport = htons(port);
	struct nftnl_expr *e;

	if (!r)
		return NULL;
	iif_lo_cmp(r, NFT_CMP_NEQ);
	l4_to_bypass(t, r, nfproto, IPPROTO_TCP);
	routed_to_tap(t, r);
	immediate(r, NFT_REG_1, &nport, sizeof(nport));
	e = expr(r, "redir");
	if (!e)
		return r;
	nftnl_expr_set_u32(e, NFTNL_EXPR_REDIR_REG_PROTO_MIN, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_REDIR_FLAGS,
			   NF_NAT_RANGE_PROTO_SPECIFIED);
	return r;
}

static struct nftnl_chain *chain_new(const char *name, const char *type,
				     uint32_t hook, int32_t prio)
{
	struct nftnl_chain *c = nftnl_chain_alloc();

	if (!c)
		return NULL;
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table_name);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, type);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
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
			    const struct tproxy_ports *),
	       const struct tproxy_ports *ports)
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

/* Our base chains: two hooks of three each, and the redirect. */
static void put_chains(struct tproxy *t, struct mnl_nlmsg_batch *b)
{
	/* in this order on each hook: hold a SYN, carry out the verdict,
	 * then mark (output) or proxy (prerouting); a verdict goes on at
	 * the chain after the one that queued */
	put_chain(t, b, chain_new("gate_out", "filter", NF_INET_LOCAL_OUT,
				  PRIO_GATE));
	put_chain(t, b, chain_new("reject_out", "filter", NF_INET_LOCAL_OUT,
				  PRIO_REJECT));
	put_chain(t, b, chain_new("output", "route", NF_INET_LOCAL_OUT,
				  PRIO_MANGLE));
	put_chain(t, b, chain_new("gate_in", "filter", NF_INET_PRE_ROUTING,
				  PRIO_GATE));
	put_chain(t, b, chain_new("reject_in", "filter", NF_INET_PRE_ROUTING,
				  PRIO_REJECT));
	put_chain(t, b, chain_new("prerouting", "filter", NF_INET_PRE_ROUTING,
				  PRIO_MANGLE));
	put_chain(t, b, chain_new("redirect", "nat", NF_INET_PRE_ROUTING,
				  PRIO_REDIRECT));
}

static void install_body(struct tproxy *t, struct mnl_nlmsg_batch *b,
			 const struct tproxy_ports *ports)
{
	static const enum synq_verdict_kind kinds[] = {
		SYNQ_REFUSE, SYNQ_NO_ROUTE, SYNQ_HOST_UNREACH
	};

	put_table(t, b, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL);
	put_chains(t, b);
	for (unsigned i = 0; i < 3; i++) {
		put_rule(t, b, reject_rule(t, "reject_out", kinds[i]));
		put_rule(t, b, reject_rule(t, "reject_in", kinds[i]));
	}
	/* output: not the TAP's, done; answers, orphans and libslirp's
	 * connections, done; then mark */
	put_rule(t, b, ours_only_rule(t, true));
	put_rule(t, b, reply_rule("output"));
	put_rule(t, b, orphan_rule());
	put_rule(t, b, slirp_rule(t, "output", true));
	put_rule(t, b, slirp_rule(t, "output", false));
	for (int f = 0; f < 2; f++) {
		uint8_t nfproto = f ? NFPROTO_IPV6 : NFPROTO_IPV4;

		if (ports->lo[f])
			put_rule(t, b, mark_rule(t, nfproto, IPPROTO_TCP));
		if (ports->udp[f])
			put_rule(t, b, mark_rule(t, nfproto, IPPROTO_UDP));
	}
	/* prerouting: lo's to the listeners, then done with lo; from
	 * elsewhere, libslirp's connections keep their conntrack mark */
	for (int f = 0; f < 2; f++) {
		uint8_t nfproto = f ? NFPROTO_IPV6 : NFPROTO_IPV4;

		if (ports->lo[f])
			put_rule(t, b, tproxy_rule(t, nfproto, IPPROTO_TCP,
						   ports->lo[f]));
		if (ports->udp[f])
			put_rule(t, b, tproxy_rule(t, nfproto, IPPROTO_UDP,
						   ports->udp[f]));
	}
	put_rule(t, b, ours_only_rule(t, false));
	put_rule(t, b, reply_rule("prerouting"));
	put_rule(t, b, slirp_rule(t, "prerouting", true));
	put_rule(t, b, slirp_rule(t, "prerouting", false));
	/* redirect: not libslirp's, the rest to the wildcard listeners */
	put_rule(t, b, slirp_rule(t, "redirect", false));
	for (int f = 0; f < 2; f++) {
		uint8_t nfproto = f ? NFPROTO_IPV6 : NFPROTO_IPV4;

		if (!ports->lo[f] || !ports->any[f])
			continue;
		put_rule(t, b, redirect_rule(t, nfproto, ports->any[f]));
		put_rule(t, b, gate_rule(t, nfproto, false));
		put_rule(t, b, gate_rule(t, nfproto, true));
	}
}

static void remove_body(struct tproxy *t, struct mnl_nlmsg_batch *b,
			const struct tproxy_ports *ports)
{
	(void)ports;
	put_table(t, b, NFT_MSG_DELTABLE, 0);
}

int tproxy_install(struct tproxy *t, const struct tproxy_ports *ports)
{
	struct tproxy_ports p = *ports;
	int rc;

	if (t->installed)
		return -EALREADY;
	if (!t->nl)
		return -ENOTSUP;
	if (!t->ipv6)
		p.lo[1] = p.any[1] = p.udp[1] = 0;
	rc = run(t, install_body, &p);
	/* A table of that name without an owner: an older forwarder's that
	 * was killed, whose rules now send the namespace's TCP to listeners
	 * that are gone. Delete it and go on; one that a live process owns
	 * refuses the delete (EPERM), and we stay on libslirp. */
	if (rc == -EEXIST && run(t, remove_body, NULL) == 0)
		rc = run(t, install_body, &p);
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

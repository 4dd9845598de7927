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
 * loopback (fwd/udp_out.c); broadcast and multicast stay libslirp's.
 * UDP that other interfaces route to the TAP is redirected, as TCP is, to
 * a UDP socket of ours on the wildcard address, which asks conntrack for
 * the original destination (conntrack.c): by the entry's reply tuple,
 * from our port to the datagram's source. Two entries must not share
 * one, yet a container's socket may send to any number of destinations
 * from one port, and a redirect cannot pick another port of ours: so a
 * nat chain on input (snat_in) gives each entry a source port of its own
 * (fully random: an entry that replaces a closed one, to a new
 * destination, does not take the old one's port, which a flow of ours
 * may still hold). The answers our socket sends from the address the
 * datagram reached are conntrack's reply direction: both translations are
 * undone, and the container sees them come from where it sent.
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
#include <stdio.h> /* FILE, for libnftnl's headers */
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
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

#include "../options.h"
#include "nft.h"
#include "synq.h"
#include "tproxy.h"
#include "udpreply.h"

static const char table_name[] = "slirp4netns";

enum {
	PRIO_MANGLE = -150,
	PRIO_REJECT = PRIO_MANGLE - 1,
	PRIO_GATE = PRIO_MANGLE - 2,
	PRIO_REDIRECT = -100 + 1, /* after NF_IP_PRI_NAT_DST */
	PRIO_SNAT_IN = 100,	  /* NF_IP_PRI_NAT_SRC */
	LO_IFINDEX = 1,
	TH_SYN_ACK_RST_FIN = 0x17,
};

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

	*t = (struct tproxy){ .nft.nl = NULL, .mark = o->forward_fwmark,
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
	nft_open(&t->nft, table_name);
}

/* ---------------------------------------------------------------- rules */

static void l4_to_bypass(const struct tproxy *t, struct nftnl_rule *r,
			 uint8_t nfproto, uint8_t l4)
{
	nft_meta_is(r, NFT_META_L4PROTO, &l4, 1);
	nft_meta_is(r, NFT_META_NFPROTO, &nfproto, 1);
	if (nfproto == NFPROTO_IPV4)
		nft_daddr_not(r, 16, &t->skip4, &t->mask4, 4);
	else
		nft_daddr_not(r, 24, &t->skip6, &t->mask6, 16);
}

/* go on only if the packet leaves (@op NFT_CMP_EQ) or does not leave by
 * the TAP, as routed so far */
static void oifname_cmp(const struct tproxy *t, struct nftnl_rule *r,
			uint32_t op)
{
	char name[IFNAMSIZ] = "";

	memcpy(name, t->ifname, sizeof(name));
	nft_meta_load(r, NFT_META_OIFNAME);
	nft_cmp(r, op, name, sizeof(name));
}

/* go on only if the packet came in by lo (@op NFT_CMP_EQ), or not */
static void iif_lo_cmp(struct nftnl_rule *r, uint32_t op)
{
	uint32_t lo = LO_IFINDEX;

	nft_meta_load(r, NFT_META_IIF);
	nft_cmp(r, op, &lo, sizeof(lo));
}

/* go on only if the route to the destination leaves by the TAP: what
 * comes in from another interface and would be forwarded there. A route
 * lookup: after the cheaper tests */
static void routed_to_tap(const struct tproxy *t, struct nftnl_rule *r)
{
	char name[IFNAMSIZ] = "";
	struct nftnl_expr *e = nft_expr(r, "fib");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_OIFNAME);
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR);
	memcpy(name, t->ifname, sizeof(name));
	nft_cmp(r, NFT_CMP_EQ, name, sizeof(name));
}

/* go on only for a SYN without ACK, RST or FIN: a new connection */
static void syn_only(struct nftnl_rule *r)
{
	static const uint8_t mask = TH_SYN_ACK_RST_FIN, zero = 0,
			     syn = 0x02;
	struct nftnl_expr *e;

	nft_payload_load(r, NFT_PAYLOAD_TRANSPORT_HEADER, 13, 1);
	e = nft_expr(r, "bitwise");
	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, 1);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, &mask, 1);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &zero, 1);
	nft_cmp(r, NFT_CMP_EQ, &syn, 1);
}

/* the packet waits in our queue (synq.c). The kernels we run on may
 * lack nftables' own queue expression (CONFIG_NFT_QUEUE) where
 * iptables' NFQUEUE target is there, which nftables runs as it runs
 * iptables-nft's rules (nft_compat): that one, then. */
static void to_queue(const struct tproxy *t, struct nftnl_rule *r)
{
	struct nftnl_expr *e = nft_expr(r, "target");
	/* the expression keeps this pointer, and frees it */
	struct xt_NFQ_info *info = malloc(sizeof(*info));

	if (!e || !info) {
		free(info);
		nft_nomem();
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
	struct nftnl_rule *r = nft_rule_new(&t->nft, output ? "output" : "prerouting");

	if (!r)
		return NULL;
	if (output)
		oifname_cmp(t, r, NFT_CMP_NEQ);
	else
		iif_lo_cmp(r, NFT_CMP_EQ);
	nft_accept_here(r);
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
static struct nftnl_rule *reply_rule(const struct tproxy *t,
				     const char *chain)
{
	struct nftnl_rule *r = nft_rule_new(&t->nft, chain);
	uint8_t reply = 1; /* IP_CT_DIR_REPLY, not in the uapi headers */

	if (!r)
		return NULL;
	nft_ct_load(r, NFT_CT_DIRECTION);
	nft_cmp(r, NFT_CMP_EQ, &reply, 1);
	nft_accept_here(r);
	return r;
}

/**
 * orphan_rule(t) - What the namespace's kernel sends for no connection it
 * knows (the reset for a SYN-ACK libslirp sent from a forward's half-open
 * connection) is none of ours: it goes to libslirp, which waits for it.
 * Conntrack has no entry for it, and its socket is the kernel's own, bound
 * to no address; every packet of a connection we carry has an entry, or
 * at least the guest's socket
 * Return: the rule, or NULL without memory
 */
static struct nftnl_rule *orphan_rule(const struct tproxy *t)
{
	struct nftnl_rule *r = nft_rule_new(&t->nft, "output");
	uint32_t invalid = NF_CT_STATE_INVALID_BIT, zero = 0;
	uint8_t one = 1;
	struct nftnl_expr *e;

	if (!r)
		return NULL;
	nft_ct_load(r, NFT_CT_STATE);
	e = nft_expr(r, "bitwise");
	if (!e)
		return r;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, 4);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, &invalid, 4);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &zero, 4);
	nft_cmp(r, NFT_CMP_NEQ, &zero, 4);
	e = nft_expr(r, "socket");
	if (!e)
		return r;
	nftnl_expr_set_u32(e, NFTNL_EXPR_SOCKET_KEY, NFT_SOCKET_WILDCARD);
	nftnl_expr_set_u32(e, NFTNL_EXPR_SOCKET_DREG, NFT_REG_1);
	nft_cmp(r, NFT_CMP_EQ, &one, 1);
	nft_accept_here(r);
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
	struct nftnl_rule *r = nft_rule_new(&t->nft, chain);
	uint32_t mark = synq_mark(t->mark, SYNQ_SLIRP);
	struct nftnl_expr *e;

	if (!r)
		return NULL;
	if (syn) {
		nft_meta_is(r, NFT_META_MARK, &mark, sizeof(mark));
		e = nft_expr(r, "ct");
		if (e) {
			nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_MARK);
			nftnl_expr_set_u32(e, NFTNL_EXPR_CT_SREG, NFT_REG_1);
		}
	} else {
		nft_ct_load(r, NFT_CT_MARK);
		nft_cmp(r, NFT_CMP_EQ, &mark, sizeof(mark));
	}
	nft_accept_here(r);
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
	struct nftnl_rule *r = nft_rule_new(&t->nft, "output");

	if (!r)
		return NULL;
	oifname_cmp(t, r, NFT_CMP_EQ);
	l4_to_bypass(t, r, nfproto, l4);
	/* one host: broadcast and multicast stay libslirp's */
	if (l4 == IPPROTO_UDP)
		nft_daddr_type(r, NFT_CMP_EQ, RTN_UNICAST);
	nft_mark_set(r, t->mark);
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
	struct nftnl_rule *r =
		nft_rule_new(&t->nft, forwarded ? "gate_in" : "gate_out");

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
	struct nftnl_rule *r = nft_rule_new(&t->nft, chain);
	uint32_t mark = synq_mark(t->mark, kind);
	uint8_t tcp = IPPROTO_TCP;
	struct nftnl_expr *e;

	if (!r)
		return NULL;
	nft_meta_is(r, NFT_META_L4PROTO, &tcp, 1);
	nft_meta_is(r, NFT_META_MARK, &mark, sizeof(mark));
	/* not the reset itself: fwmark_reflect gives it the SYN's mark */
	syn_only(r);
	e = nft_expr(r, "reject");
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
		nft_immediate(r, NFT_REG_1, &lo4, sizeof(lo4));
	else
		nft_immediate(r, NFT_REG_1, &in6addr_loopback,
			  sizeof(in6addr_loopback));
	nft_immediate(r, NFT_REG_2, &nport, sizeof(nport));
	e = nft_expr(r, "tproxy");
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
	struct nftnl_rule *r = nft_rule_new(&t->nft, "prerouting");

	if (!r)
		return NULL;
	iif_lo_cmp(r, NFT_CMP_EQ);
	nft_meta_is(r, NFT_META_MARK, &t->mark, sizeof(t->mark));
	/* (and never the DNS address: marked by dnsmark.c, it is for the
	 * DNS forwarder's socket there) */
	l4_to_bypass(t, r, nfproto, l4);
	nft_daddr_not_local(r);
	if (l4 == IPPROTO_UDP) {
		/* not an answer to a UDP forward's datagram (udpreply.c):
		 * with its flow closed, it would become a datagram of the
		 * namespace's to the forward's client */
		uint32_t ours = udpreply_mark(t->mark);

		nft_ct_load(r, NFT_CT_MARK);
		nft_cmp(r, NFT_CMP_NEQ, &ours, sizeof(ours));
	}
	tproxy_to(r, nfproto, port);
	return r;
}

/**
 * redirect_rule() - What comes in from another interface, routed to the
 * TAP, to our listener on the wildcard address, port @port (a nat chain:
 * a new connection's first packet only)
 * @t:		state
 * @nfproto:	NFPROTO_IPV4 or NFPROTO_IPV6
 * @l4:		IPPROTO_TCP, or IPPROTO_UDP (to a unicast address)
 * @port:	the listener's, host order
 * Return: the rule, or NULL without memory
 */
static struct nftnl_rule *redirect_rule(const struct tproxy *t,
					uint8_t nfproto, uint8_t l4,
					uint16_t port)
{
	struct nftnl_rule *r = nft_rule_new(&t->nft, "redirect");
	uint16_t nport = htons(port);
	struct nftnl_expr *e;

	if (!r)
		return NULL;
	iif_lo_cmp(r, NFT_CMP_NEQ);
	l4_to_bypass(t, r, nfproto, l4);
	if (l4 == IPPROTO_UDP)
		nft_daddr_type(r, NFT_CMP_EQ, RTN_UNICAST);
	routed_to_tap(t, r);
	nft_immediate(r, NFT_REG_1, &nport, sizeof(nport));
	e = nft_expr(r, "redir");
	if (!e)
		return r;
	nftnl_expr_set_u32(e, NFTNL_EXPR_REDIR_REG_PROTO_MIN, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_REDIR_FLAGS,
			   NF_NAT_RANGE_PROTO_SPECIFIED);
	return r;
}

/**
 * snat_in_rule() - A redirected datagram's entry gets a source port of its
 * own (fully random), its address unchanged: no two entries then share
 * the reply tuple by which conntrack.c finds them (nat, input)
 * @t:		state
 * @nfproto:	NFPROTO_IPV4 or NFPROTO_IPV6
 * @port:	our UDP listener's on the wildcard address, host order
 * Return: the rule, or NULL without memory
 */
static struct nftnl_rule *snat_in_rule(const struct tproxy *t,
				       uint8_t nfproto, uint16_t port)
{
	struct nftnl_rule *r = nft_rule_new(&t->nft, "snat_in");
	uint8_t udp = IPPROTO_UDP;
	uint16_t nport = htons(port);
	struct nftnl_expr *e;

	if (!r)
		return NULL;
	nft_meta_is(r, NFT_META_NFPROTO, &nfproto, 1);
	nft_meta_is(r, NFT_META_L4PROTO, &udp, 1);
	nft_payload_load(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
	nft_cmp(r, NFT_CMP_EQ, &nport, sizeof(nport));
	/* reg 1 = the source address: the range is that one address */
	if (nfproto == NFPROTO_IPV4)
		nft_payload_load(r, NFT_PAYLOAD_NETWORK_HEADER, 12, 4);
	else
		nft_payload_load(r, NFT_PAYLOAD_NETWORK_HEADER, 8, 16);
	e = nft_expr(r, "nat");
	if (!e)
		return r;
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_SNAT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, nfproto);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FLAGS,
			   NF_NAT_RANGE_PROTO_RANDOM_FULLY);
	return r;
}

/* Our base chains: two hooks of three each, and the redirect. */
static void put_chains(struct nft *n, struct mnl_nlmsg_batch *b)
{
	static const struct {
		const char *name, *type;
		uint32_t hook;
		int32_t prio;
	} chains[] = {
		/* in this order on each hook: hold a SYN, carry out the
		 * verdict, then mark (output) or proxy (prerouting); a
		 * verdict goes on at the chain after the one that queued */
		{ "gate_out", "filter", NF_INET_LOCAL_OUT, PRIO_GATE },
		{ "reject_out", "filter", NF_INET_LOCAL_OUT, PRIO_REJECT },
		{ "output", "route", NF_INET_LOCAL_OUT, PRIO_MANGLE },
		{ "gate_in", "filter", NF_INET_PRE_ROUTING, PRIO_GATE },
		{ "reject_in", "filter", NF_INET_PRE_ROUTING, PRIO_REJECT },
		{ "prerouting", "filter", NF_INET_PRE_ROUTING, PRIO_MANGLE },
		{ "redirect", "nat", NF_INET_PRE_ROUTING, PRIO_REDIRECT },
		{ "snat_in", "nat", NF_INET_LOCAL_IN, PRIO_SNAT_IN },
	};

	for (unsigned i = 0; i < sizeof(chains) / sizeof(chains[0]); i++)
		nft_put_chain(n, b, nft_chain_new(n, chains[i].name,
						  chains[i].type,
						  chains[i].hook,
						  chains[i].prio));
}

static void install_body(struct nft *n, struct mnl_nlmsg_batch *b,
			 const void *arg)
{
	const struct tproxy *t = arg;
	const struct tproxy_ports *ports = &t->ports;
	static const enum synq_verdict_kind kinds[] = {
		SYNQ_REFUSE, SYNQ_NO_ROUTE, SYNQ_HOST_UNREACH
	};

	nft_put_table(n, b, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL);
	put_chains(n, b);
	for (unsigned i = 0; i < 3; i++) {
		nft_put_rule(n, b, reject_rule(t, "reject_out", kinds[i]));
		nft_put_rule(n, b, reject_rule(t, "reject_in", kinds[i]));
	}
	/* output: not the TAP's, done; answers, orphans and libslirp's
	 * connections, done; then mark */
	nft_put_rule(n, b, ours_only_rule(t, true));
	nft_put_rule(n, b, reply_rule(t, "output"));
	nft_put_rule(n, b, orphan_rule(t));
	nft_put_rule(n, b, slirp_rule(t, "output", true));
	nft_put_rule(n, b, slirp_rule(t, "output", false));
	for (int f = 0; f < 2; f++) {
		uint8_t nfproto = f ? NFPROTO_IPV6 : NFPROTO_IPV4;

		if (ports->lo[f])
			nft_put_rule(n, b, mark_rule(t, nfproto, IPPROTO_TCP));
		if (ports->udp[f])
			nft_put_rule(n, b, mark_rule(t, nfproto, IPPROTO_UDP));
	}
	/* prerouting: lo's to the listeners, then done with lo; from
	 * elsewhere, libslirp's connections keep their conntrack mark */
	for (int f = 0; f < 2; f++) {
		uint8_t nfproto = f ? NFPROTO_IPV6 : NFPROTO_IPV4;

		if (ports->lo[f])
			nft_put_rule(n, b, tproxy_rule(t, nfproto, IPPROTO_TCP,
						   ports->lo[f]));
		if (ports->udp[f])
			nft_put_rule(n, b, tproxy_rule(t, nfproto, IPPROTO_UDP,
						   ports->udp[f]));
	}
	nft_put_rule(n, b, ours_only_rule(t, false));
	nft_put_rule(n, b, reply_rule(t, "prerouting"));
	nft_put_rule(n, b, slirp_rule(t, "prerouting", true));
	nft_put_rule(n, b, slirp_rule(t, "prerouting", false));
	/* redirect: not libslirp's, the rest to the wildcard listeners */
	nft_put_rule(n, b, slirp_rule(t, "redirect", false));
	for (int f = 0; f < 2; f++) {
		uint8_t nfproto = f ? NFPROTO_IPV6 : NFPROTO_IPV4;

		if (ports->udp_any[f]) {
			nft_put_rule(n, b, redirect_rule(t, nfproto,
							 IPPROTO_UDP,
							 ports->udp_any[f]));
			nft_put_rule(n, b, snat_in_rule(t, nfproto,
							ports->udp_any[f]));
		}
		if (!ports->lo[f] || !ports->any[f])
			continue;
		nft_put_rule(n, b, redirect_rule(t, nfproto, IPPROTO_TCP,
						 ports->any[f]));
		nft_put_rule(n, b, gate_rule(t, nfproto, false));
		nft_put_rule(n, b, gate_rule(t, nfproto, true));
	}
}

int tproxy_install(struct tproxy *t, const struct tproxy_ports *ports)
{
	if (t->nft.installed)
		return -EALREADY;
	if (!t->nft.nl)
		return -ENOTSUP;
	t->ports = *ports;
	if (!t->ipv6)
		t->ports.lo[1] = t->ports.any[1] = t->ports.udp[1] =
			t->ports.udp_any[1] = 0;
	/* an older forwarder's table, left by a kill, would send the
	 * namespace's TCP to listeners that are gone: replaced; one that a
	 * live process owns stays, and we stay on libslirp */
	return nft_install(&t->nft, install_body, t);
}

void tproxy_remove(struct tproxy *t)
{
	nft_remove(&t->nft);
}

void tproxy_close(struct tproxy *t)
{
	nft_close(&t->nft);
}

// SPDX-License-Identifier: GPL-2.0-or-later
/* udpreply.c - the namespace side of UDP forwards that keep the client's
 * address: the service's answers come back to our socket.
 *
 * DOC: Theory of Operation
 * A UDP forward's socket in the namespace is transparent, bound to the
 * address the service should see (fwd/udp.c), as a TCP splice forward's
 * is, and carries the mark OURS (udpreply_mark()). For TCP the kernel
 * copies the forward mark to the service's side of the connection
 * (transparent.c); a UDP service has no connection to copy it to, and its
 * answer to 10.0.2.2 or to the client's address would leave by the TAP, to
 * libslirp. Conntrack knows the answer belongs to our datagram. One table,
 * "inet slirp4netns-udp", with a route chain on output:
 *  - our datagram (mark OURS, conntrack's original direction) marks its
 *    entry OURS, with a timeout policy of UDPREPLY_TIMEOUT_S in both of
 *    its states: the kernel's 30 s for an entry without an answer would
 *    forget it while our flow still waits, and the late answer would
 *    leave by the TAP;
 *  - a packet in the reply direction of an entry so marked (the answer,
 *    or an ICMP error about our datagram) gets the forward mark MARK: the
 *    chain routes it again, and transparent.c's rule brings it in by lo,
 *    to our socket;
 *  - our datagram itself is routed as any: to the service's address
 *    where the namespace delivers it (its own address by lo, a container
 *    behind a bridge), but never out by the TAP: libslirp would take it
 *    for the namespace's outbound traffic, and so would tproxy.c's rules
 *    (a forward to an address outside the namespace is a real datagram
 *    from the host then). It is dropped: nothing answers, as on the slirp
 *    path, where the namespace does not route it back out.
 * and the same mark for answers on prerouting, from a container behind a
 * bridge. Both chains run before tproxy.c's (which mark the namespace's
 * own outbound traffic).
 *
 * The table is owned by the helper's netfilter socket (nft.c): it goes
 * when the helper does, and a table of that name left with no owner is a
 * dead forwarder's and is replaced.
 */
#include <netinet/in.h> /* before the kernel's headers: linux/in.h */

#include <errno.h>
#include <stdio.h> /* FILE, for libnftnl's headers */
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include "udpreply.h"

static const char table_name[] = "slirp4netns-udp";
static const char *const policy[2] = { "ours4", "ours6" };

enum {
	PRIO_BEFORE_TPROXY = -150 - 3, /* tproxy.c's chains: -152 to -150 */
	CT_REPLY = 1,		       /* IP_CT_DIR_REPLY */
};

void udpreply_open(struct udpreply *u, uint32_t mark, const char *tapname,
		   unsigned timeout_s)
{
	*u = (struct udpreply){ .mark = mark, .timeout_s = timeout_s };
	strncpy(u->ifname, tapname, sizeof(u->ifname) - 1);
	/* the tests' stand-in for a kernel without nf_tables */
	if (!getenv("S4_TEST_NO_NFTABLES"))
		nft_open(&u->nft, table_name);
}

/* the conntrack timeout policy of our entries, for @nfproto */
static struct nftnl_obj *policy_obj(const struct udpreply *u, int f)
{
	uint32_t t[NFTNL_CTTIMEOUT_ARRAY_MAX] = {
		[NFTNL_CTTIMEOUT_UDP_UNREPLIED] = u->timeout_s,
		[NFTNL_CTTIMEOUT_UDP_REPLIED] = u->timeout_s,
	};
	struct nftnl_obj *o = nftnl_obj_alloc();

	if (!o)
		return NULL;
	nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_CT_TIMEOUT);
	nftnl_obj_set_str(o, NFTNL_OBJ_NAME, policy[f]);
	nftnl_obj_set_u16(o, NFTNL_OBJ_CT_TIMEOUT_L3PROTO,
			  f ? NFPROTO_IPV6 : NFPROTO_IPV4);
	nftnl_obj_set_u8(o, NFTNL_OBJ_CT_TIMEOUT_L4PROTO, IPPROTO_UDP);
	nftnl_obj_set_data(o, NFTNL_OBJ_CT_TIMEOUT_ARRAY, t, sizeof(t));
	return o;
}

/* our datagram of family @f: its entry is ours */
static struct nftnl_rule *ours_rule(struct udpreply *u, int f)
{
	struct nftnl_rule *r = nft_rule_new(&u->nft, "output");
	uint32_t ours = udpreply_mark(u->mark);
	uint8_t orig = 0, nfproto = f ? NFPROTO_IPV6 : NFPROTO_IPV4;

	if (!r)
		return NULL;
	nft_meta_is(r, NFT_META_MARK, &ours, sizeof(ours));
	nft_meta_is(r, NFT_META_NFPROTO, &nfproto, 1);
	nft_ct_load(r, NFT_CT_DIRECTION);
	nft_cmp(r, NFT_CMP_EQ, &orig, 1);
	nft_immediate(r, NFT_REG_1, &ours, sizeof(ours));
	nft_ct_set(r, NFT_CT_MARK);
	nft_objref(r, NFT_OBJECT_CT_TIMEOUT, policy[f]);
	return r;
}

/* what answers an entry of ours gets the forward mark: to our socket */
static struct nftnl_rule *answer_rule(struct udpreply *u, const char *chain)
{
	struct nftnl_rule *r = nft_rule_new(&u->nft, chain);
	uint32_t ours = udpreply_mark(u->mark);
	uint8_t reply = CT_REPLY;

	if (!r)
		return NULL;
	nft_ct_load(r, NFT_CT_DIRECTION);
	nft_cmp(r, NFT_CMP_EQ, &reply, 1);
	nft_ct_load(r, NFT_CT_MARK);
	nft_cmp(r, NFT_CMP_EQ, &ours, sizeof(ours));
	nft_mark_set(r, u->mark);
	return r;
}

/* our datagram never leaves by the TAP (see above) */
static struct nftnl_rule *not_out_rule(struct udpreply *u)
{
	struct nftnl_rule *r = nft_rule_new(&u->nft, "output");
	uint32_t ours = udpreply_mark(u->mark);
	char name[IFNAMSIZ] = "";

	if (!r)
		return NULL;
	memcpy(name, u->ifname, sizeof(name));
	nft_meta_is(r, NFT_META_MARK, &ours, sizeof(ours));
	nft_meta_is(r, NFT_META_OIFNAME, name, sizeof(name));
	nft_verdict(r, NF_DROP);
	return r;
}

static void install_body(struct nft *n, struct mnl_nlmsg_batch *b,
			 const void *arg)
{
	struct udpreply *u = (struct udpreply *)arg;

	nft_put_table(n, b, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL);
	for (int f = 0; f < 1 + u->ipv6; f++)
		nft_put_obj(n, b, policy_obj(u, f));
	nft_put_chain(n, b, nft_chain_new(n, "output", "route",
					  NF_INET_LOCAL_OUT,
					  PRIO_BEFORE_TPROXY));
	nft_put_chain(n, b, nft_chain_new(n, "prerouting", "filter",
					  NF_INET_PRE_ROUTING,
					  PRIO_BEFORE_TPROXY));
	for (int f = 0; f < 1 + u->ipv6; f++)
		nft_put_rule(n, b, ours_rule(u, f));
	nft_put_rule(n, b, answer_rule(u, "output"));
	nft_put_rule(n, b, not_out_rule(u));
	nft_put_rule(n, b, answer_rule(u, "prerouting"));
}

int udpreply_install(struct udpreply *u, bool ipv6)
{
	if (u->nft.installed)
		return 0;
	if (!u->nft.nl)
		return -ENOTSUP;
	u->ipv6 = ipv6;
	return nft_install(&u->nft, install_body, u);
}

void udpreply_remove(struct udpreply *u)
{
	nft_remove(&u->nft);
}

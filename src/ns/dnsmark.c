// SPDX-License-Identifier: GPL-2.0-or-later
/* dnsmark.c - DNS to the DNS address, to our forwarder (dns/dns.c), on a
 * TAP that may outlive us.
 *
 * DOC: Theory of Operation
 * The forwarder's sockets in the namespace are bound to port 53 of the
 * DNS address. On a TAP of our own a local route on it brings the
 * namespace's queries there (transparent_local_route()). A persistent TAP
 * (RootlessKit makes one) would keep that route after we are gone, and the
 * next forwarder's DNS would go nowhere. Here, instead, one table "inet
 * slirp4netns-dns" gives a UDP or TCP packet to port 53 of the DNS address
 * the forward mark, in the output route chain (the namespace's own: routed
 * again) and in prerouting (from containers on a bridge: before the
 * routing decision). transparent.c's rule routes marked packets to lo,
 * locally, and the socket bound to that address and port takes them;
 * tproxy.c's rule, which would hand marked packets to the outbound path,
 * leaves the DNS address alone. The table is owned by the helper's
 * netlink socket: the kernel deletes it however we end, and the fwmark
 * rule left behind matches nothing.
 */
#include <netinet/in.h> /* before the kernel's headers: linux/in.h */

#include <errno.h>
#include <stdio.h> /* FILE, for libnftnl's headers */
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>

#include "dnsmark.h"

static const char table_name[] = "slirp4netns-dns";

enum {
	PRIO_BEFORE_TPROXY = -150 - 3, /* tproxy.c's chains: -152 to -150 */
	DNS_PORT = 53,
	IP4_DADDR = 16,
	IP6_DADDR = 24,
	TH_DPORT = 2,
};

void dnsmark_open(struct dnsmark *m, uint32_t mark)
{
	*m = (struct dnsmark){ .mark = mark };
	/* the tests' stand-in for a kernel without nf_tables */
	if (!getenv("S4_TEST_NO_NFTABLES"))
		nft_open(&m->nft, table_name);
}

/* go on only if @len bytes at @off of header @base are @data */
static void payload_is(struct nftnl_rule *r, uint32_t base, uint32_t off,
		       const void *data, uint32_t len)
{
	nft_payload_load(r, base, off, len);
	nft_cmp(r, NFT_CMP_EQ, data, len);
}

/* @l4 to port 53 of the DNS address of @nfproto: the mark */
static struct nftnl_rule *mark_rule(const struct dnsmark *m,
				    const char *chain, uint8_t nfproto,
				    uint8_t l4)
{
	struct nftnl_rule *r = nft_rule_new(&m->nft, chain);
	uint16_t port = htons(DNS_PORT);

	if (!r)
		return NULL;
	nft_meta_is(r, NFT_META_NFPROTO, &nfproto, 1);
	nft_meta_is(r, NFT_META_L4PROTO, &l4, 1);
	if (nfproto == NFPROTO_IPV4)
		payload_is(r, NFT_PAYLOAD_NETWORK_HEADER, IP4_DADDR, &m->dns4,
			   4);
	else
		payload_is(r, NFT_PAYLOAD_NETWORK_HEADER, IP6_DADDR, &m->dns6,
			   16);
	payload_is(r, NFT_PAYLOAD_TRANSPORT_HEADER, TH_DPORT, &port, 2);
	nft_mark_set(r, m->mark);
	return r;
}

static void install_body(struct nft *n, struct mnl_nlmsg_batch *b,
			 const void *arg)
{
	const struct dnsmark *m = arg;
	static const char *const chains[] = { "output", "prerouting" };
	static const uint8_t l4s[] = { IPPROTO_UDP, IPPROTO_TCP };

	nft_put_table(n, b, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL);
	nft_put_chain(n, b, nft_chain_new(n, "output", "route",
					  NF_INET_LOCAL_OUT,
					  PRIO_BEFORE_TPROXY));
	nft_put_chain(n, b, nft_chain_new(n, "prerouting", "filter",
					  NF_INET_PRE_ROUTING,
					  PRIO_BEFORE_TPROXY));
	for (unsigned c = 0; c < 2; c++)
		for (unsigned l = 0; l < 2; l++) {
			if (m->has4)
				nft_put_rule(n, b, mark_rule(m, chains[c],
							     NFPROTO_IPV4,
							     l4s[l]));
			if (m->has6)
				nft_put_rule(n, b, mark_rule(m, chains[c],
							     NFPROTO_IPV6,
							     l4s[l]));
		}
}

int dnsmark_install(struct dnsmark *m, int family, const void *addr)
{
	if (!m->nft.nl)
		return -ENOTSUP;
	if (family == AF_INET) {
		memcpy(&m->dns4, addr, sizeof(m->dns4));
		m->has4 = true;
	} else {
		memcpy(&m->dns6, addr, sizeof(m->dns6));
		m->has6 = true;
	}
	nft_remove(&m->nft); /* made again, with every address so far */
	return nft_install(&m->nft, install_body, m);
}

void dnsmark_remove(struct dnsmark *m)
{
	nft_remove(&m->nft);
}

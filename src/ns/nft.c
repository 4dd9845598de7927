// SPDX-License-Identifier: GPL-2.0-or-later
/* nft.c - nftables rules built with libnftnl and sent in one batch, for
 * the tables the helper installs in the namespace (tproxy.c, udpreply.c).
 *
 * A rule is a list of expressions on registers; the helpers here each add
 * one step (load, compare, set). An expression that cannot be allocated
 * would leave a rule that matches more than it should, so it marks the
 * batch, and nft_run() then sends nothing. A table is owned by the netlink
 * socket that made it (NFT_TABLE_F_OWNER): the kernel deletes it when that
 * socket closes, however the helper ends. Only sendto and recvmsg are used
 * on the socket, so the helper's seccomp filter allows them.
 */
#include <netinet/in.h> /* before the kernel's headers: linux/in.h */

#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "nft.h"

enum { BATCH_SIZE = 32 << 10 };

/* An expression that could not be allocated (see above). */
static bool nomem;

int nft_open(struct nft *n, const char *table)
{
	*n = (struct nft){.table = table, .seq = time(NULL)};
	n->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (n->nl && mnl_socket_bind(n->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		mnl_socket_close(n->nl);
		n->nl = NULL;
	}
	return n->nl ? 0 : -errno;
}

void nft_close(struct nft *n)
{
	if (n->nl)
		mnl_socket_close(n->nl);
	n->nl = NULL;
}

void nft_nomem(void)
{
	nomem = true;
}

/* ---------------------------------------------------------- expressions */

struct nftnl_expr *nft_expr(struct nftnl_rule *r, const char *name)
{
	struct nftnl_expr *e = nftnl_expr_alloc(name);

	if (e)
		nftnl_rule_add_expr(r, e);
	else
		nft_nomem();
	return e;
}

/* reg 1 = meta @key */
void nft_meta_load(struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *e = nft_expr(r, "meta");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
}

/* go on only if reg 1 @op @data */
void nft_cmp(struct nftnl_rule *r, uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nft_expr(r, "cmp");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
}

void nft_meta_is(struct nftnl_rule *r, uint32_t key, const void *data,
		 uint32_t len)
{
	nft_meta_load(r, key);
	nft_cmp(r, NFT_CMP_EQ, data, len);
}

/* go on only if the destination address & @mask != @addr */
void nft_payload_load(struct nftnl_rule *r, uint32_t base, uint32_t off,
		      uint32_t len)
{
	struct nftnl_expr *e = nft_expr(r, "payload");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
}

void nft_daddr_not(struct nftnl_rule *r, uint32_t off, const void *addr,
		   const void *mask, uint32_t len)
{
	static const uint8_t zero[16];
	struct nftnl_expr *e;

	nft_payload_load(r, NFT_PAYLOAD_NETWORK_HEADER, off, len);
	e = nft_expr(r, "bitwise");
	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, len);
	nft_cmp(r, NFT_CMP_NEQ, addr, len);
}

void nft_immediate(struct nftnl_rule *r, uint32_t reg, const void *data,
		   uint32_t len)
{
	struct nftnl_expr *e = nft_expr(r, "immediate");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, reg);
	nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, data, len);
}

/* reg 1 = conntrack's @key */
void nft_ct_load(struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *e = nft_expr(r, "ct");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
}

/* accept: this chain ends here for the packet, the next ones go on */
void nft_verdict(struct nftnl_rule *r, int verdict)
{
	struct nftnl_expr *e = nft_expr(r, "immediate");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, verdict);
}

void nft_accept_here(struct nftnl_rule *r)
{
	nft_verdict(r, NF_ACCEPT);
}

/* go on only if the destination's route type @op @type (RTN_*) */
void nft_daddr_type(struct nftnl_rule *r, uint32_t op, uint32_t type)
{
	struct nftnl_expr *e = nft_expr(r, "fib");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR);
	nft_cmp(r, op, &type, sizeof(type));
}

/* go on only if the destination is not one of this namespace's */
void nft_daddr_not_local(struct nftnl_rule *r)
{
	nft_daddr_type(r, NFT_CMP_NEQ, RTN_LOCAL);
}

/* conntrack's @key = reg 1 */
void nft_ct_set(struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *e = nft_expr(r, "ct");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_SREG, NFT_REG_1);
}

/* apply the table's object @name of @type (NFT_OBJECT_*) */
void nft_objref(struct nftnl_rule *r, uint32_t type, const char *name)
{
	struct nftnl_expr *e = nft_expr(r, "objref");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_OBJREF_IMM_TYPE, type);
	nftnl_expr_set_str(e, NFTNL_EXPR_OBJREF_IMM_NAME, name);
}

/* ---------------------------------------------------------------- rules */

struct nftnl_rule *nft_rule_new(const struct nft *n, const char *chain)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (!r) {
		nft_nomem();
		return NULL;
	}
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, n->table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	return r;
}

/* reg 1 = @mark, then the packet's mark = reg 1 */
void nft_mark_set(struct nftnl_rule *r, uint32_t mark)
{
	struct nftnl_expr *e;

	nft_immediate(r, NFT_REG_1, &mark, sizeof(mark));
	e = nft_expr(r, "meta");
	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, NFT_META_MARK);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_SREG, NFT_REG_1);
}

struct nftnl_chain *nft_chain_new(const struct nft *n, const char *name,
				  const char *type, uint32_t hook, int32_t prio)
{
	struct nftnl_chain *c = nftnl_chain_alloc();

	if (!c)
		return NULL;
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, n->table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, type);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
	return c;
}

/* ---------------------------------------------------------------- batch */

/**
 * nft_talk() - Send a batch, read every answer that is queued
 * @n:		the socket
 * @b:		the batch, ended
 * Return: 0, or the first error the kernel gave
 */
static int nft_talk(struct nft *n, struct mnl_nlmsg_batch *b)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	unsigned portid = mnl_socket_get_portid(n->nl);
	int fd = mnl_socket_get_fd(n->nl), err = 0;
	struct iovec iov = {buf, sizeof(buf)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t len;

	if (mnl_socket_sendto(n->nl, mnl_nlmsg_batch_head(b),
			      mnl_nlmsg_batch_size(b)) < 0)
		return -errno;
	while ((len = recvmsg(fd, &msg, MSG_DONTWAIT)) > 0)
		if (mnl_cb_run(buf, len, 0, portid, NULL, NULL) < 0 && !err)
			err = -errno;
	return err;
}

static struct nlmsghdr *nft_put(struct nft *n, struct mnl_nlmsg_batch *b,
				uint16_t type, uint16_t flags)
{
	return nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(b), type,
				     NFPROTO_INET, flags | NLM_F_ACK, ++n->seq);
}

void nft_put_table(struct nft *n, struct mnl_nlmsg_batch *b, uint16_t type,
		   uint16_t flags)
{
	struct nftnl_table *tb = nftnl_table_alloc();

	if (!tb) {
		nft_nomem();
		return;
	}
	nftnl_table_set_u32(tb, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	nftnl_table_set_str(tb, NFTNL_TABLE_NAME, n->table);
	/* owned by our netlink socket: the kernel deletes the table when
	 * the socket closes, however the helper ends (SIGKILL, a crash),
	 * and nobody else may change it meanwhile */
	if (type == NFT_MSG_NEWTABLE)
		nftnl_table_set_u32(tb, NFTNL_TABLE_FLAGS, NFT_TABLE_F_OWNER);
	nftnl_table_nlmsg_build_payload(nft_put(n, b, type, flags), tb);
	nftnl_table_free(tb);
	mnl_nlmsg_batch_next(b);
}

void nft_put_chain(struct nft *n, struct mnl_nlmsg_batch *b,
		   struct nftnl_chain *c)
{
	if (!c) {
		nft_nomem();
		return;
	}
	nftnl_chain_nlmsg_build_payload(
	    nft_put(n, b, NFT_MSG_NEWCHAIN, NLM_F_CREATE), c);
	nftnl_chain_free(c);
	mnl_nlmsg_batch_next(b);
}

void nft_put_rule(struct nft *n, struct mnl_nlmsg_batch *b,
		  struct nftnl_rule *r)
{
	if (!r)
		return;
	nftnl_rule_nlmsg_build_payload(
	    nft_put(n, b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND), r);
	nftnl_rule_free(r);
	mnl_nlmsg_batch_next(b);
}

void nft_put_obj(struct nft *n, struct mnl_nlmsg_batch *b, struct nftnl_obj *o)
{
	if (!o) {
		nft_nomem();
		return;
	}
	nftnl_obj_set_u32(o, NFTNL_OBJ_FAMILY, NFPROTO_INET);
	nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, n->table);
	nftnl_obj_nlmsg_build_payload(
	    nft_put(n, b, NFT_MSG_NEWOBJ, NLM_F_CREATE), o);
	nftnl_obj_free(o);
	mnl_nlmsg_batch_next(b);
}

/* A batch of @body between begin and end; 0 or the first error. */
int nft_run(struct nft *n,
	    void (*body)(struct nft *, struct mnl_nlmsg_batch *, const void *),
	    const void *arg)
{
	static char buf[BATCH_SIZE];
	struct mnl_nlmsg_batch *b = mnl_nlmsg_batch_start(buf, sizeof(buf));
	int rc;

	if (!b)
		return -ENOMEM;
	nomem = false;
	nftnl_batch_begin(mnl_nlmsg_batch_current(b), ++n->seq);
	mnl_nlmsg_batch_next(b);
	body(n, b, arg);
	nftnl_batch_end(mnl_nlmsg_batch_current(b), ++n->seq);
	mnl_nlmsg_batch_next(b);
	rc = nomem ? -ENOMEM : nft_talk(n, b);
	mnl_nlmsg_batch_stop(b);
	return rc;
}

static void delete_body(struct nft *n, struct mnl_nlmsg_batch *b,
			const void *arg)
{
	(void)arg;
	nft_put_table(n, b, NFT_MSG_DELTABLE, 0);
}

int nft_install(struct nft *n,
		void (*body)(struct nft *, struct mnl_nlmsg_batch *,
			     const void *),
		const void *arg)
{
	int rc = nft_run(n, body, arg);

	/* a table of that name without an owner: a killed forwarder's,
	 * whose rules point at sockets that are gone. One that a live
	 * process owns refuses the delete (EPERM). */
	if (rc == -EEXIST && nft_delete(n) == 0)
		rc = nft_run(n, body, arg);
	n->installed = rc == 0;
	return rc;
}

void nft_remove(struct nft *n)
{
	if (n->installed)
		nft_delete(n);
	n->installed = false;
}

int nft_delete(struct nft *n)
{
	return nft_run(n, delete_body, NULL);
}

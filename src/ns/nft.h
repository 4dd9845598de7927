/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_NFT_H
#define S4_NFT_H

#include <stdbool.h>
#include <stdint.h>

struct mnl_socket;
struct mnl_nlmsg_batch;
struct nftnl_chain;
struct nftnl_expr;
struct nftnl_obj;
struct nftnl_rule;

/* One nftables table (family inet) and the netfilter socket that owns it;
 * see nft.c. */
struct nft {
	struct mnl_socket *nl; /* NULL: not opened */
	unsigned seq;
	const char *table;
	bool installed; /* by nft_install(), until nft_remove() */
};

/* The socket, for @table (a string that outlives @n); call before any
 * seccomp filter. Return: 0 or -errno (then n->nl is NULL) */
int nft_open(struct nft *n, const char *table);
void nft_close(struct nft *n);

/* A rule's expressions: each adds one step. Registers: reg 1 (and 2). */
struct nftnl_expr *nft_expr(struct nftnl_rule *r, const char *name);
void nft_nomem(void); /* an allocation failed: the batch is not sent */
void nft_meta_load(struct nftnl_rule *r, uint32_t key); /* reg 1 = meta */
/* go on only if reg 1 @op @data */
void nft_cmp(struct nftnl_rule *r, uint32_t op, const void *data, uint32_t len);
void nft_meta_is(struct nftnl_rule *r, uint32_t key, const void *data,
		 uint32_t len);
/* go on only if the destination address & @mask != @addr (@off: its
 * offset in the network header) */
/* reg 1 = @len bytes at @off of header @base (NFT_PAYLOAD_*) */
void nft_payload_load(struct nftnl_rule *r, uint32_t base, uint32_t off,
		      uint32_t len);
void nft_daddr_not(struct nftnl_rule *r, uint32_t off, const void *addr,
		   const void *mask, uint32_t len);
void nft_immediate(struct nftnl_rule *r, uint32_t reg, const void *data,
		   uint32_t len);
void nft_ct_load(struct nftnl_rule *r, uint32_t key); /* reg 1 = ct key */
void nft_ct_set(struct nftnl_rule *r, uint32_t key);  /* ct key = reg 1 */
void nft_objref(struct nftnl_rule *r, uint32_t type, const char *name);
void nft_verdict(struct nftnl_rule *r, int verdict); /* NF_DROP, ... */
/* accept: this chain ends here for the packet, the next ones go on */
void nft_accept_here(struct nftnl_rule *r);
void nft_daddr_type(struct nftnl_rule *r, uint32_t op, uint32_t type);
void nft_daddr_not_local(struct nftnl_rule *r);
void nft_mark_set(struct nftnl_rule *r, uint32_t mark);

/* A rule for @chain of the table, or NULL (the batch then fails) */
struct nftnl_rule *nft_rule_new(const struct nft *n, const char *chain);
/* A base chain of the table: @type "filter", "route" or "nat" */
struct nftnl_chain *nft_chain_new(const struct nft *n, const char *name,
				  const char *type, uint32_t hook,
				  int32_t prio);

/* Into a batch; each takes (and frees) what it is given, NULL included */
void nft_put_table(struct nft *n, struct mnl_nlmsg_batch *b, uint16_t type,
		   uint16_t flags);
void nft_put_chain(struct nft *n, struct mnl_nlmsg_batch *b,
		   struct nftnl_chain *c);
void nft_put_rule(struct nft *n, struct mnl_nlmsg_batch *b,
		  struct nftnl_rule *r);
void nft_put_obj(struct nft *n, struct mnl_nlmsg_batch *b, struct nftnl_obj *o);

/**
 * nft_run() - One batch: what @body puts, between begin and end
 * @n:		the table's socket
 * @body:	puts the messages
 * @arg:	for @body
 * Return: 0, or the first error the kernel gave (-ENOMEM: not sent)
 */
int nft_run(struct nft *n,
	    void (*body)(struct nft *, struct mnl_nlmsg_batch *, const void *),
	    const void *arg);

/* The table, made by @body with NFT_MSG_NEWTABLE and NLM_F_EXCL: as
 * nft_run(), and an ownerless table of that name (a killed forwarder's)
 * is deleted first. A failed batch leaves nothing behind. Sets
 * n->installed. */
int nft_install(struct nft *n,
		void (*body)(struct nft *, struct mnl_nlmsg_batch *,
			     const void *),
		const void *arg);
/* Delete the table: 0 or -errno */
int nft_delete(struct nft *n);
/* nft_delete() what nft_install() made, if it did */
void nft_remove(struct nft *n);

#endif

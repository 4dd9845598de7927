/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_SYNQ_H
#define S4_SYNQ_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

struct opts;

/* The guest's outbound SYNs, held in the namespace's netfilter queue
 * until the host's connect has an outcome (see synq.c). The helper reads
 * the queue and tells the parent; the parent connects and answers with a
 * verdict; the helper gives it to the kernel. */

/* A connection as the guest sees it: its own end, and where it dialled. */
struct synq_tuple {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t pad;
	uint16_t sport, dport; /* network order */
	uint8_t saddr[16], daddr[16]; /* IPv4 in the first 4 bytes */
};

/* helper -> parent, several per message */
struct synq_syn {
	uint32_t id; /* the queued packet's */
	struct synq_tuple t;
};

/* What becomes of a held SYN. */
enum synq_verdict_kind {
	SYNQ_ACCEPT,	   /* on to our transparent listener */
	SYNQ_REFUSE,	   /* a reset: the guest's connect is refused */
	SYNQ_NO_ROUTE,	   /* ICMP network unreachable (no route) */
	SYNQ_HOST_UNREACH, /* ICMP host unreachable */
	SYNQ_DROP,	   /* nothing: the guest sends it again */
	SYNQ_SLIRP,	   /* this connection by the TAP, to libslirp */
	SYNQ_NUM_VERDICTS,
};

/* parent -> helper, several per message */
struct synq_verdict {
	uint32_t id;
	uint32_t kind; /* enum synq_verdict_kind */
};

enum { SYNQ_BATCH = 64 }; /* entries per message, either way */

/**
 * synq_mark() - The mark a verdict gives its SYN, for the rules of tproxy.c
 * @base:	--forward-fwmark
 * @kind:	SYNQ_REFUSE, SYNQ_NO_ROUTE, SYNQ_HOST_UNREACH or SYNQ_SLIRP
 * Return: @base + 2, 3, 4 or 6 (@base + 1 is our listeners' own)
 */
static inline uint32_t synq_mark(uint32_t base, enum synq_verdict_kind kind)
{
	return base + 1 + (uint32_t)kind;
}

/* Our listeners' sockets carry this mark: their packets route as any
 * other (the base mark would bring them back to lo, tproxy.c). */
static inline uint32_t synq_listener_mark(uint32_t base)
{
	return base + 1;
}

/* The queue's number: the low half of --forward-fwmark (0x5334). */
static inline uint16_t synq_number(uint32_t base)
{
	return (uint16_t)base;
}

/* The queue, on the helper's side. */
struct synq {
	struct mnl_socket *nl; /* NETLINK_NETFILTER, NULL if not wanted */
	struct mnl_socket *spare; /* another, for a parent that may bind it */
	int chan;	       /* to the parent, -1 until bound */
	uint16_t num;	       /* queue number */
	uint32_t mark;	       /* --forward-fwmark */
	struct synq_syn out[SYNQ_BATCH]; /* for the parent, not sent yet */
	unsigned nout;
};

/* Open the netlink sockets if @o asks for the bypass; before seccomp. */
void synq_open(struct synq *q, const struct opts *o);

/* The spare socket's fd, to send to the parent, or -ENOTSUP; then close
 * ours. A parent with CAP_NET_ADMIN over the namespace binds the queue on
 * it and gives its verdicts itself: two wake-ups fewer per connection than
 * through the helper. */
int synq_spare_fd(const struct synq *q);
void synq_close_spare(struct synq *q);

/* The queue's wire, for the helper and for such a parent. */

/**
 * synq_config() - One NFQNL_MSG_CONFIG message on @fd, acknowledged
 * @fd:		a NETLINK_NETFILTER socket in the namespace
 * @num:	the queue
 * @cmd:	NFQNL_CFG_CMD_BIND or _UNBIND, or 0 for our copy parameters
 * Return: 0 or the kernel's -errno (-EPERM without CAP_NET_ADMIN there)
 */
int synq_config(int fd, uint16_t num, uint8_t cmd);

/* Bind queue @num on @fd, with our copy parameters: 0 or -errno */
int synq_bind_fd(int fd, uint16_t num);

/* Give @n verdicts on queue @num; @mark: --forward-fwmark. */
void synq_give(int fd, uint16_t num, uint32_t mark,
	       const struct synq_verdict *v, unsigned n);

/* For each packet in a buffer read from the queue: @ok false if it is not
 * a TCP packet we can read (let it go on unheld: SYNQ_ACCEPT). */
typedef void (*synq_syn_fn)(void *data, const struct synq_syn *s, bool ok);
void synq_packets(const void *buf, size_t n, synq_syn_fn fn, void *data);

/**
 * synq_bind() - Take the queue, and the channel to the parent
 * @q:		opened
 * @chan:	SOCK_SEQPACKET to the parent, non-blocking; ours on success
 * Return: 0 or -errno (-EBUSY: another process has the queue)
 */
int synq_bind(struct synq *q, int chan);

/* Give the queue back (what it held is dropped) and close the channel:
 * the parent gave up on the bypass. */
void synq_unbind(struct synq *q);

/* What the helper's poll watches: the queue, and the channel */
int synq_queue_fd(const struct synq *q);
bool synq_waiting(const struct synq *q); /* SYNs the channel did not take */

/* The queue is readable: pass its SYNs on to the parent. */
void synq_read(struct synq *q);
/* The channel is readable: give the parent's verdicts; 0, or -errno when
 * the parent is gone */
int synq_verdicts(struct synq *q);
/* The channel has room again: send what waited. */
void synq_flush(struct synq *q);
void synq_close(struct synq *q);

#endif

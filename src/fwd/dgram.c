// SPDX-License-Identifier: GPL-2.0-or-later
/* dgram.c - batches of whole datagrams (see dgram.h). */
#include <errno.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../fdlimit.h"
#include "../log.h"
#include "dgram.h"

enum { GSO_MAX_BYTES = 60000 }; /* one UDP payload, with room to spare */

int dgram_init(struct dgram_batch *b)
{
	if (!b->data) /* not calloc(): untouched until used */
		b->data = malloc((size_t)DGRAM_BATCH * DGRAM_MAX);
	return b->data ? 0 : -ENOMEM;
}

void dgram_free(struct dgram_batch *b)
{
	free(b->data);
	b->data = NULL;
}

void dgram_idle(struct dgram_batch *b)
{
	if (b->data)
		madvise(b->data, (size_t)DGRAM_BATCH * DGRAM_MAX,
			MADV_DONTNEED);
}

int dgram_recv(struct dgram_batch *b, int fd, unsigned flags)
{
	int n;

	for (int i = 0; i < DGRAM_BATCH; i++) {
		struct msghdr *mh = &b->m[i].msg_hdr;

		b->iov[i] = (struct iovec){ b->data + (size_t)i * DGRAM_MAX,
					    DGRAM_MAX };
		*mh = (struct msghdr){ .msg_iov = &b->iov[i], .msg_iovlen = 1 };
		if (flags & DGRAM_NAMES) {
			mh->msg_name = &b->name[i];
			mh->msg_namelen = sizeof(b->name[i]);
		}
		if (flags & DGRAM_ORIGDST) {
			mh->msg_control = b->ctl[i].buf;
			mh->msg_controllen = sizeof(b->ctl[i].buf);
		}
	}
	do
		n = recvmmsg(fd, b->m, DGRAM_BATCH, MSG_DONTWAIT, NULL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

socklen_t dgram_addrlen(const struct sockaddr_storage *a)
{
	return a->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
					: sizeof(struct sockaddr_in);
}

/* where the run of datagrams from @j that may go as one ends */
static int gso_run(const struct dgram_batch *b, int j, int to)
{
	size_t size = b->m[j].msg_len, total = size;
	int k = j + 1;

	while (size && k < to && b->m[k].msg_len <= size &&
	       total + b->m[k].msg_len <= GSO_MAX_BYTES) {
		total += b->m[k].msg_len;
		if (b->m[k++].msg_len < size)
			break; /* a shorter one ends it */
	}
	return k;
}

int dgram_pktinfo(const struct dgram_batch *b, int j, struct dgram_from *from,
		  struct sockaddr_storage *local, uint16_t port)
{
	struct msghdr *mh = (struct msghdr *)&b->m[j].msg_hdr;

	memset(local, 0, sizeof(*local));
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c;
	     c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_PKTINFO) {
			struct sockaddr_in *a = (struct sockaddr_in *)local;

			from->family = AF_INET;
			memcpy(&from->v4, CMSG_DATA(c), sizeof(from->v4));
			/* answers leave from the header's destination */
			from->v4.ipi_spec_dst = from->v4.ipi_addr;
			from->v4.ipi_ifindex = 0;
			*a = (struct sockaddr_in){ .sin_family = AF_INET,
						   .sin_port = port,
						   .sin_addr = from->v4.ipi_addr };
			return 0;
		}
		if (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)local;

			from->family = AF_INET6;
			memcpy(&from->v6, CMSG_DATA(c), sizeof(from->v6));
			*a = (struct sockaddr_in6){
				.sin6_family = AF_INET6,
				.sin6_port = port,
				.sin6_addr = from->v6.ipi6_addr
			};
			/* a link-local one is the interface's (and a global
			 * one leaves as routed, not by force) */
			if (!IN6_IS_ADDR_LINKLOCAL(&from->v6.ipi6_addr))
				from->v6.ipi6_ifindex = 0;
			return 0;
		}
	}
	return -ENOENT;
}

/* @c, a control message in @mh, set to @src's IP_PKTINFO; the next */
static struct cmsghdr *put_pktinfo(struct cmsghdr *c,
				   const struct dgram_from *src)
{
	bool v6 = src->family == AF_INET6;
	size_t len = v6 ? sizeof(src->v6) : sizeof(src->v4);

	c->cmsg_level = v6 ? SOL_IPV6 : SOL_IP;
	c->cmsg_type = v6 ? IPV6_PKTINFO : IP_PKTINFO;
	c->cmsg_len = CMSG_LEN(len);
	memcpy(CMSG_DATA(c), v6 ? (const void *)&src->v6
				: (const void *)&src->v4, len);
	return (struct cmsghdr *)((char *)c + CMSG_SPACE(len));
}

/* message @r: datagrams @j to @k - 1 of the batch, to @dest from @src */
static void put_run(struct dgram_batch *b, int r, int j, int k,
		    const struct sockaddr_storage *dest,
		    const struct dgram_from *src)
{
	struct msghdr *mh = &b->out[r].msg_hdr;
	struct cmsghdr *c = (struct cmsghdr *)b->gso[r].buf, *end = c;

	*mh = (struct msghdr){ .msg_iov = &b->iov[j], .msg_iovlen = k - j };
	if (dest) {
		mh->msg_name = (void *)dest;
		mh->msg_namelen = dgram_addrlen(dest);
	}
	if (k - j > 1) {
		end->cmsg_level = SOL_UDP;
		end->cmsg_type = UDP_SEGMENT;
		end->cmsg_len = CMSG_LEN(sizeof(uint16_t));
		*(uint16_t *)CMSG_DATA(end) = b->m[j].msg_len;
		end = (struct cmsghdr *)((char *)end +
					 CMSG_SPACE(sizeof(uint16_t)));
	}
	if (src && src->family)
		end = put_pktinfo(end, src);
	if (end != c) {
		mh->msg_control = c;
		mh->msg_controllen = (char *)end - (char *)c;
	}
}

/* dgram_send(), with runs as one message only if @gso */
static void send_runs(struct dgram_batch *b, int fd, int from, int to,
		      const struct sockaddr_storage *dest,
		      const struct dgram_from *src, dgram_refused_fn refused,
		      void *opaque, bool gso)
{
	int first[DGRAM_BATCH + 1], runs = 0, r = 0;

	for (int j = from; j < to; j = first[++runs]) {
		first[runs] = j;
		first[runs + 1] = gso ? gso_run(b, j, to) : j + 1;
		put_run(b, runs, j, first[runs + 1], dest, src);
	}
	while (r < runs) {
		int n = sendmmsg(fd, b->out + r, runs - r, MSG_DONTWAIT);

		if (n >= 0) {
			r += n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == ENOBUFS)
			return;
		if (first[r + 1] - first[r] > 1 &&
		    (errno == EINVAL || errno == EIO)) {
			/* no GSO this way: the rest a datagram at a time */
			send_runs(b, fd, first[r], to, dest, src, refused,
				  opaque, false);
			return;
		}
		/* the peer's error, pending since an earlier datagram: the
		 * first of the run takes it, the rest go on */
		if (refused)
			refused(opaque, first[r], errno);
		if (first[r + 1] - first[r] > 1) {
			send_runs(b, fd, first[r] + 1, to, dest, src,
				  refused, opaque, gso);
			return;
		}
		r++;
	}
}

void dgram_send(struct dgram_batch *b, int fd, int from, int to,
		const struct sockaddr_storage *dest,
		const struct dgram_from *src, dgram_refused_fn refused,
		void *opaque)
{
	for (int j = from; j < to; j++)
		b->iov[j].iov_len = b->m[j].msg_len;
	send_runs(b, fd, from, to, dest, src, refused, opaque, true);
}

/* ---------------------------------------------------------------- flows */

int dgram_flows_init(struct dgram_flows *f, struct ring *ring,
		     enum ring_type type, const char *what, unsigned max)
{
	*f = (struct dgram_flows){ .ring = ring, .type = type, .what = what };
	f->tab = flowtab_new(max);
	/* untouched until a slot is taken: a slot's socket counts only
	 * while flowtab_used() says so */
	f->sock = calloc(max, sizeof(*f->sock));
	if (f->tab && f->sock)
		return 0;
	flowtab_free(f->tab);
	free(f->sock);
	f->tab = NULL;
	f->sock = NULL;
	return -ENOMEM;
}

void dgram_flows_free(struct dgram_flows *f)
{
	int i;

	while (f->tab && (i = flowtab_oldest(f->tab, NULL)) >= 0)
		dgram_flow_close(f, i);
	flowtab_free(f->tab);
	free(f->sock);
	f->tab = NULL;
	f->sock = NULL;
}

static union ring_ref flow_ref(const struct dgram_flows *f, unsigned i)
{
	return ring_ref(f->type, f->sock[i].gen, i);
}

void dgram_flow_arm(struct dgram_flows *f, unsigned i)
{
	struct dgram_sock *s = &f->sock[i];

	if (s->fd < 0 || s->armed)
		return;
	ring_poll_add(f->ring, s->fd, POLLIN, flow_ref(f, i));
	s->armed = true;
}

void dgram_flow_close(struct dgram_flows *f, unsigned i)
{
	struct dgram_sock *s = &f->sock[i];

	if (s->armed)
		ring_poll_remove(f->ring, flow_ref(f, i));
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->armed = false;
	s->gen++;
	flowtab_del(f->tab, i);
}

void dgram_flows_room(struct dgram_flows *f, int any_fd, unsigned fds)
{
	int i;

	while (flowtab_count(f->tab) &&
	       (flowtab_count(f->tab) >= flowtab_max(f->tab) ||
		!fdlimit_room(any_fd, fds)) &&
	       (i = flowtab_oldest(f->tab, NULL)) >= 0) {
		dgram_flow_close(f, i);
		f->evicted++;
		log_debug("%s: flow table full, evicted the oldest flow (%lu "
			  "so far)",
			  f->what, f->evicted);
	}
}

int dgram_flows_add(struct dgram_flows *f, const struct flow_key *k, int fd,
		    int64_t now)
{
	int i = flowtab_add(f->tab, k, now);

	if (i < 0) {
		close(fd);
		return i;
	}
	f->sock[i].fd = fd;
	f->sock[i].armed = false;
	dgram_flow_arm(f, i);
	return i;
}

bool dgram_flows_expire(struct dgram_flows *f, int64_t now, int64_t idle_ms)
{
	int64_t last;
	int i;

	while ((i = flowtab_oldest(f->tab, &last)) >= 0 &&
	       now - last >= idle_ms)
		dgram_flow_close(f, i);
	return flowtab_count(f->tab) > 0;
}

int dgram_flow_polled(struct dgram_flows *f, union ring_ref ref)
{
	struct dgram_sock *s;

	if (!f->tab || !flowtab_used(f->tab, ref.idx))
		return -1;
	s = &f->sock[ref.idx];
	if (s->gen != ref.gen || s->fd < 0)
		return -1;
	s->armed = false;
	return ref.idx;
}

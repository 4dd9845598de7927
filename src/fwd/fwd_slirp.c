// SPDX-License-Identifier: GPL-2.0-or-later
/* fwd_slirp.c - the forward table's backend: FWD_SPLICE forwards go to
 * the splice (TCP) or UDP engine, the rest through libslirp, as
 * slirp4netns does them: libslirp owns the listener and the guest sees
 * connections from the gateway (a loopback client) or from the client's
 * real address.
 *
 * It takes the whole context (ctx.h): it is where the forward table meets
 * libslirp, the splice and UDP engines and the pollset. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../ctx.h"
#include "fwd_slirp.h"

/* The fd the next socket() will get: single-threaded, so libslirp's.
 * F_DUPFD gives the lowest free number; any open fd serves to ask. */
static int next_fd(int open_fd)
{
	int fd = fcntl(open_fd, F_DUPFD_CLOEXEC, 0);

	if (fd >= 0)
		close(fd);
	return fd;
}

/**
 * widen_backlog() - Give libslirp's new TCP listener a real backlog
 * @fd:		where it should be
 * @host:	the address it listens on
 * @hlen:	its length
 *
 * libslirp 4.7 listens with a backlog of 1, so a burst of connects loses
 * some to resets. listen() again on a listening socket only changes the
 * backlog. The fd is checked to be that listener before it is touched.
 * Return: true if @fd is the listener
 */
static bool widen_backlog(int fd, const struct sockaddr *host,
			  socklen_t hlen)
{
	int on = 0;
	socklen_t ol = sizeof(on);

	if (fd < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &ol) < 0 || !on ||
	    !fwd_bound_to(fd, host, hlen))
		return false;
	listen(fd, SOMAXCONN);
	return true;
}

/**
 * udp_add() - A UDP forward on the fast path, if it keeps clients'
 * addresses or was asked for
 * @c:		context
 * @fl:		enum fwd_flags
 * @host:	where it listens
 * @hlen:	its length
 * @guest:	where it sends
 * @glen:	its length
 * Return: 0, -EOPNOTSUPP for libslirp's path, or another -errno
 */
static int udp_add(struct ctx *c, unsigned fl, const struct sockaddr *host,
		   socklen_t hlen, const struct sockaddr *guest,
		   socklen_t glen)
{
	bool keep = fwd_splice_rules(c->splice) == 0 &&
		    fwd_udp_rules(c->udp) == 0;

	if (!keep && !(fl & FWD_ASKED))
		return -EOPNOTSUPP;
	return fwd_udp_add(c->udp, host, hlen, guest, glen);
}

static int slirp_add(void *o, unsigned fl, const struct sockaddr *host,
		     socklen_t hlen, const struct sockaddr *guest,
		     socklen_t glen)
{
	struct ctx *c = o;
	bool udp = fl & FWD_UDP;
	int flags = (udp ? SLIRP_HOSTFWD_UDP : 0) |
		    (host->sa_family == AF_INET6 ? SLIRP_HOSTFWD_V6ONLY : 0);
	int fd;

	if (!fwd_guest_reachable(guest, &c->o->net))
		return -EADDRNOTAVAIL; /* the API refuses these first */
	if ((fl & FWD_SPLICE) && !fwd_splice_available(c->splice))
		return -EOPNOTSUPP;
	if (fl & FWD_SPLICE) {
		int rc = udp ? udp_add(c, fl, host, hlen, guest, glen)
			     : fwd_splice_add(c->splice, host, hlen, guest,
					      glen);

		bool to_slirp = udp && rc == -EOPNOTSUPP && !(fl & FWD_ASKED);

		if (!to_slirp) {
			/* the API's answer is upstream's fixed string: say
			 * why here */
			if (rc < 0)
				log_warn("add_hostfwd: %s", strerror(-rc));
			return rc;
		}
		fl &= ~FWD_SPLICE; /* libslirp's, then */
	}
	fd = next_fd(c->sigfd);

	if (slirp_add_hostxfwd(c->slirp, host, hlen, guest, glen, flags) < 0)
		return -EADDRNOTAVAIL;
	if (!udp && widen_backlog(fd, host, hlen))
		pollset_listener(c->ps, fd);
	return 0;
}

static int slirp_remove(void *o, unsigned fl, const struct sockaddr *host,
			socklen_t hlen)
{
	struct ctx *c = o;
	int flags = (fl & FWD_UDP ? SLIRP_HOSTFWD_UDP : 0) |
		    (host->sa_family == AF_INET6 ? SLIRP_HOSTFWD_V6ONLY : 0);

	if ((fl & FWD_SPLICE) && !(fl & FWD_UDP))
		return fwd_splice_remove(c->splice, host, hlen);
	/* a UDP forward that did not ask for the fast path may have taken
	 * libslirp's (udp_add()) */
	if (fl & FWD_SPLICE) {
		int rc = fwd_udp_remove(c->udp, host, hlen);

		if (rc == 0 || (fl & FWD_ASKED))
			return rc;
	}
	return slirp_remove_hostxfwd(c->slirp, host, hlen, flags) < 0
		       ? -ENOENT
		       : 0;
}

struct fwd_backend fwd_slirp_backend(struct ctx *c)
{
	return (struct fwd_backend){ slirp_add, slirp_remove, c };
}

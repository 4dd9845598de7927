// SPDX-License-Identifier: GPL-2.0-or-later
/* egress.c - what the kernel paths for the namespace's outbound TCP
 * (bypass.c) and UDP (udp_out.c) share: a transparent listener in the
 * namespace, and the host socket for what it took, sent where libslirp
 * would send it (10.0.2.2 is the host's loopback; what libslirp refuses,
 * refused) and bound to --outbound-addr[6].
 */
#include <netinet/in.h>

#include <errno.h>
#include <netinet/tcp.h>
#include <string.h>
#include <unistd.h>

#include "../ns/helper.h"
#include "../ns/synq.h"
#include "../options.h"
#include "egress.h"

static bool in_net4(const struct netcfg *n, struct in_addr a)
{
	return (a.s_addr & n->mask.s_addr) == n->net.s_addr;
}

/* libslirp runs its IPv6 network as a /64 whatever --cidr6 says */
static bool in_net6(const struct netcfg *n, const struct in6_addr *a)
{
	return !memcmp(a->s6_addr, n->net6.s6_addr, 8);
}

int egress_target(const struct opts *o, const struct sockaddr_storage *orig,
		  struct sockaddr_storage *to)
{
	const struct netcfg *n = &o->net;

	*to = *orig;
	if (orig->ss_family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)to;

		if ((ntohl(a->sin_addr.s_addr) >> 24) == 127 ||
		    a->sin_addr.s_addr == INADDR_ANY)
			return -ECONNREFUSED; /* our listener, dialled direct */
		if (in_net4(n, a->sin_addr)) {
			/* the gateway or any other alias but DNS, which the
			 * rules leave to libslirp: the host's loopback */
			if (o->disable_host_loopback ||
			    a->sin_addr.s_addr == n->dns.s_addr)
				return -ECONNREFUSED;
			a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		}
		return sizeof(*a);
	}
	if (orig->ss_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)to;

		if (IN6_IS_ADDR_LOOPBACK(&a->sin6_addr) ||
		    IN6_IS_ADDR_UNSPECIFIED(&a->sin6_addr) ||
		    IN6_IS_ADDR_V4MAPPED(&a->sin6_addr))
			return -ECONNREFUSED;
		if (in_net6(n, &a->sin6_addr)) {
			if (o->disable_host_loopback ||
			    IN6_ARE_ADDR_EQUAL(&a->sin6_addr, &n->dns6))
				return -ECONNREFUSED;
			a->sin6_addr = in6addr_loopback;
		}
		a->sin6_flowinfo = 0;
		a->sin6_scope_id = 0;
		return sizeof(*a);
	}
	return -ECONNREFUSED;
}

int egress_socket(const struct opts *o, int type,
		  const struct sockaddr_storage *orig,
		  struct sockaddr_storage *to, socklen_t *tolen)
{
	int one = 1, fd, len, rc = 0;

	len = egress_target(o, orig, to);
	if (len < 0)
		return len;
	*tolen = len;
	fd = socket(to->ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (type == SOCK_STREAM) {
		/* as libslirp's own sockets: a relay adds no Nagle delay */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		setsockopt(fd, SOL_IP, IP_BIND_ADDRESS_NO_PORT, &one,
			   sizeof(one));
	}
	if (to->ss_family == AF_INET && o->has_out4)
		rc = bind(fd, (const struct sockaddr *)&o->out4,
			  sizeof(o->out4));
	else if (to->ss_family == AF_INET6 && o->has_out6)
		rc = bind(fd, (const struct sockaddr *)&o->out6,
			  sizeof(o->out6));
	if (rc < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

int egress_listener(struct helper *h, const struct opts *o, int type,
		    int family, bool any, uint16_t *port)
{
	struct sockaddr_storage a = { .ss_family = family };
	socklen_t len = family == AF_INET6 ? sizeof(struct sockaddr_in6)
					   : sizeof(struct sockaddr_in);
	int fd, one = 1, rc;

	rc = helper_sockets(h, family, type,
			    synq_listener_mark(o->forward_fwmark), &fd, 1);
	if (rc < 0)
		return rc;
	if (family == AF_INET6) {
		((struct sockaddr_in6 *)&a)->sin6_addr =
			any ? in6addr_any : in6addr_loopback;
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	} else {
		((struct sockaddr_in *)&a)->sin_addr.s_addr =
			htonl(any ? INADDR_ANY : INADDR_LOOPBACK);
	}
	if (bind(fd, (struct sockaddr *)&a, len) < 0 ||
	    (type == SOCK_STREAM && listen(fd, SOMAXCONN) < 0) ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	*port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&a)->sin6_port
					 : ((struct sockaddr_in *)&a)->sin_port);
	return fd;
}

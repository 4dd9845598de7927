// SPDX-License-Identifier: GPL-2.0-or-later
/* netcfg.c - derive the virtual network's addresses from the CIDR options.
 * Messages are slirp4netns's (IPv4) and those of its PR #276 (IPv6), which is
 * where the seed man page's --cidr6 comes from. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netcfg.h"

static struct in_addr add4(struct in_addr a, uint32_t off)
{
	return (struct in_addr){ htonl(ntohl(a.s_addr) + off) };
}

static struct in6_addr add6(const struct in6_addr *a, uint8_t low)
{
	struct in6_addr r = *a;

	r.s6_addr[15] += low;
	return r;
}

/**
 * netcfg_cidr4() - Parse --cidr and derive gateway, DNS, DHCP and guest
 * @n:		filled on success
 * @cidr:	"a.b.c.d/N", N in 1..25 so that net+100 fits
 * @e:		upstream's message on failure
 * Return: 0 or -EINVAL
 */
int netcfg_cidr4(struct netcfg *n, const char *cidr, struct err *e)
{
	static const char *re_src =
		"^(([0-9]{1,3}\\.){3}[0-9]{1,3})/([0-9]{1,2})$";
	char addr[16];
	regmatch_t m[4];
	regex_t re;
	size_t len;
	int rc;

	if (regcomp(&re, re_src, REG_EXTENDED))
		return err_set(e, -EINVAL, "internal regex error");
	rc = regexec(&re, cidr, ARRAY_SIZE(m), m, 0);
	regfree(&re);
	if (rc) /* and m is not filled in: nothing to measure */
		return err_set(e, -EINVAL, "invalid CIDR: %s", cidr);
	len = m[1].rm_eo - m[1].rm_so;
	if (len >= sizeof(addr))
		return err_set(e, -EINVAL, "invalid CIDR: %s", cidr);
	memcpy(addr, cidr + m[1].rm_so, len);
	addr[len] = '\0';
	if (inet_pton(AF_INET, addr, &n->net) != 1)
		return err_set(e, -EINVAL, "invalid network address: %s", addr);
	n->prefix = atoi(cidr + m[3].rm_so);
	if (n->prefix < 1 || n->prefix > 25)
		return err_set(e, -EINVAL, "prefix length needs to be 1-25");
	n->mask.s_addr = htonl(~((1u << (32 - n->prefix)) - 1));
	if ((n->net.s_addr & n->mask.s_addr) != n->net.s_addr)
		return err_set(e, -EINVAL,
			       "CIDR needs to be a network address like "
			       "10.0.2.0/24, not like 10.0.2.100/24");
	n->host = add4(n->net, NETCFG_HOST_OFF);
	n->dns = add4(n->net, NETCFG_DNS_OFF);
	n->dhcp_start = add4(n->net, NETCFG_DHCP_OFF);
	n->dhcp_end = add4(n->net, NETCFG_DHCP_OFF + NETCFG_DHCP_LEASES - 1);
	n->guest = add4(n->net, NETCFG_GUEST_OFF);
	return 0;
}

static void derive6(struct netcfg *n)
{
	n->host6 = add6(&n->net6, NETCFG_HOST_OFF);
	n->dns6 = add6(&n->net6, NETCFG_DNS_OFF);
	/* ::100 as in fd00::100, the seed's default IPv6 guest address */
	n->guest6 = n->net6;
	n->guest6.s6_addr[14] = 0x01;
}

/**
 * netcfg_cidr6() - Parse --cidr6 ("fd00::/64")
 * @n:		filled on success
 * @cidr:	an IPv6 network; libslirp runs the /64 that starts there, so the
 *		low 64 bits must be zero
 * @e:		message on failure
 * Return: 0 or -EINVAL
 */
int netcfg_cidr6(struct netcfg *n, const char *cidr, struct err *e)
{
	const char *slash = strrchr(cidr, '/');
	char addr[INET6_ADDRSTRLEN];
	size_t len = slash ? (size_t)(slash - cidr) : 0;
	char *end;
	long prefix;

	if (!slash || !len || len >= sizeof(addr) || !isdigit(slash[1]))
		return err_set(e, -EINVAL, "invalid CIDR: %s", cidr);
	memcpy(addr, cidr, len);
	addr[len] = '\0';
	if (inet_pton(AF_INET6, addr, &n->net6) != 1)
		return err_set(e, -EINVAL, "invalid CIDR: %s", cidr);
	prefix = strtol(slash + 1, &end, 10);
	if (*end || end - slash > 4)
		return err_set(e, -EINVAL, "invalid CIDR: %s", cidr);
	if (prefix < 8 || prefix > 128)
		return err_set(e, -EINVAL, "prefix length needs to be 8-128");
	for (int i = 8; i < 16; i++)
		if (n->net6.s6_addr[i])
			return err_set(e, -EINVAL,
				       "CIDR needs to be a network address "
				       "like fd00::/64, not like %s",
				       cidr);
	n->prefix6 = prefix;
	derive6(n);
	return 0;
}

/**
 * netcfg_random6() - A unique local /64 (RFC 4193): fd + 40 random bits
 * @n:		filled
 * @rnd:	5 random bytes, the global ID
 */
void netcfg_random6(struct netcfg *n, const uint8_t rnd[5])
{
	memset(&n->net6, 0, sizeof(n->net6));
	n->net6.s6_addr[0] = 0xfd;
	memcpy(&n->net6.s6_addr[1], rnd, 5);
	n->prefix6 = 64;
	derive6(n);
}

/**
 * netcfg_mac() - Parse --macaddress "xx:xx:xx:xx:xx:xx"
 * @s:		the option value
 * @mac:	filled on success
 * @e:		upstream's messages on failure
 *
 * Stricter than slirp4netns, which zero-pads fewer than six bytes and takes
 * whatever sscanf("%x") takes: here it is six groups of one or two hex digits.
 * Return: 0 or -EINVAL
 */
int netcfg_mac(const char *s, uint8_t mac[6], struct err *e)
{
	static const char *tail = "macaddress has to be a valid MAC address "
				  "(hex string, 6 bytes, each byte separated "
				  "by a ':').";
	const char *p = s;

	for (int i = 0; i < 6; i++) {
		char *end;
		unsigned long v;

		if (!isxdigit(p[0]))
			goto bad;
		v = strtoul(p, &end, 16);
		if (end - p > 2 || v > 255)
			goto bad;
		mac[i] = v;
		if (i < 5 && *end != ':')
			goto bad;
		if (i == 5 && *end)
			return err_set(e, -EINVAL,
				       "\"%s\" is an invalid MAC address.  Is "
				       "it too long?\n%s",
				       s, tail);
		p = end + 1;
	}
	return 0;
bad:
	return err_set(e, -EINVAL, "\"%s\" is an invalid MAC address.\n%s", s,
		       tail);
}

bool netcfg_same_endpoint(const struct sockaddr_storage *a,
			  const struct sockaddr_storage *b)
{
	const struct sockaddr_in6 *a6 = (const void *)a, *b6 = (const void *)b;
	const struct sockaddr_in *a4 = (const void *)a, *b4 = (const void *)b;

	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET6)
		return a6->sin6_port == b6->sin6_port &&
		       IN6_ARE_ADDR_EQUAL(&a6->sin6_addr, &b6->sin6_addr);
	return a->ss_family == AF_INET && a4->sin_port == b4->sin_port &&
	       a4->sin_addr.s_addr == b4->sin_addr.s_addr;
}

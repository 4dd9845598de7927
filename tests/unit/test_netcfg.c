// SPDX-License-Identifier: GPL-2.0-or-later
/* Addresses derived from --cidr and --cidr6. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "netcfg.h"

static const char *s4(struct in_addr a)
{
	static char buf[4][INET_ADDRSTRLEN];
	static int i;

	return inet_ntop(AF_INET, &a, buf[i++ % 4], INET_ADDRSTRLEN);
}

static const char *s6(const struct in6_addr *a)
{
	static char buf[INET6_ADDRSTRLEN];

	return inet_ntop(AF_INET6, a, buf, sizeof(buf));
}

Test(netcfg, default_network)
{
	struct netcfg n;

	cr_assert_eq(netcfg_cidr4(&n, "10.0.2.0/24", NULL), 0);
	cr_assert_str_eq(s4(n.net), "10.0.2.0");
	cr_assert_str_eq(s4(n.mask), "255.255.255.0");
	cr_assert_str_eq(s4(n.host), "10.0.2.2");
	cr_assert_str_eq(s4(n.dns), "10.0.2.3");
	cr_assert_str_eq(s4(n.dhcp_start), "10.0.2.15");
	cr_assert_str_eq(s4(n.dhcp_end), "10.0.2.30");
	cr_assert_str_eq(s4(n.guest), "10.0.2.100");
}

Test(netcfg, wide_network)
{
	struct netcfg n;

	cr_assert_eq(netcfg_cidr4(&n, "10.41.0.0/16", NULL), 0);
	cr_assert_str_eq(s4(n.mask), "255.255.0.0");
	cr_assert_str_eq(s4(n.host), "10.41.0.2");
	cr_assert_str_eq(s4(n.guest), "10.41.0.100");
}

Test(netcfg, prefix_bounds)
{
	struct netcfg n;
	struct err e = { 0 };

	cr_assert_eq(netcfg_cidr4(&n, "128.0.0.0/1", NULL), 0);
	cr_assert_str_eq(s4(n.mask), "128.0.0.0");
	cr_assert_eq(netcfg_cidr4(&n, "10.0.0.128/25", NULL), 0);
	cr_assert_str_eq(s4(n.guest), "10.0.0.228");
	cr_assert_eq(netcfg_cidr4(&n, "0.0.0.0/0", &e), -EINVAL);
	cr_assert_str_eq(e.msg, "prefix length needs to be 1-25");
}

Test(netcfg, regex_shape)
{
	struct err e = { 0 };
	struct netcfg n;
	static const char *bad[] = { "10.0.2/24", "10.0.2.0/", "a.b.c.d/8",
				     "10.0.2.0/024", " 10.0.2.0/24",
				     "10.0.2.0/24 " };

	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		cr_assert_eq(netcfg_cidr4(&n, bad[i], &e), -EINVAL, "%s",
			     bad[i]);
		cr_assert(!strncmp(e.msg, "invalid CIDR: ", 14), "%s", e.msg);
	}
}

Test(netcfg, ipv6_default)
{
	struct netcfg n;

	cr_assert_eq(netcfg_cidr6(&n, "fd00::/64", NULL), 0);
	cr_assert_str_eq(s6(&n.host6), "fd00::2");
	cr_assert_str_eq(s6(&n.dns6), "fd00::3");
	cr_assert_str_eq(s6(&n.guest6), "fd00::100");
}

Test(netcfg, ipv6_host_bits)
{
	struct netcfg n;
	struct err e = { 0 };

	cr_assert_eq(netcfg_cidr6(&n, "fd00::1/64", &e), -EINVAL);
	cr_assert(strstr(e.msg, "network address"), "%s", e.msg);
	cr_assert_eq(netcfg_cidr6(&n, "fd00::/abc", &e), -EINVAL);
	cr_assert_eq(netcfg_cidr6(&n, "zz::/64", &e), -EINVAL);
}

Test(netcfg, random6_is_unique_local)
{
	const uint8_t rnd[5] = { 0x12, 0x34, 0x56, 0x78, 0x9a };
	struct netcfg n;

	netcfg_random6(&n, rnd);
	cr_assert_str_eq(s6(&n.net6), "fd12:3456:789a::");
	cr_assert_str_eq(s6(&n.guest6), "fd12:3456:789a::100");
}

Test(netcfg, mac)
{
	uint8_t mac[6];
	struct err e = { 0 };

	cr_assert_eq(netcfg_mac("02:1:ab:CD:0:ff", mac, NULL), 0);
	cr_assert_eq(mac[0], 2);
	cr_assert_eq(mac[1], 1);
	cr_assert_eq(mac[3], 0xcd);
	cr_assert_eq(mac[5], 0xff);
	cr_assert_eq(netcfg_mac("02:00:00:00:00:100", mac, &e), -EINVAL);
	cr_assert_eq(netcfg_mac("02:00:00:00:00", mac, &e), -EINVAL);
	cr_assert_eq(netcfg_mac("", mac, &e), -EINVAL);
	cr_assert_eq(netcfg_mac("0x2:00:00:00:00:00", mac, &e), -EINVAL);
}

// SPDX-License-Identifier: GPL-2.0-or-later
/* --enable-tcp-bypass: where a bypassed connection goes on the host. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "fwd/egress.h"
#include "options.h"

static struct opts o;

static void setup(void)
{
	memset(&o, 0, sizeof(o));
	cr_assert_eq(netcfg_cidr4(&o.net, "10.0.2.0/24", NULL), 0);
	cr_assert_eq(netcfg_cidr6(&o.net, "fd00::/64", NULL), 0);
}

/* egress_target() of @addr:@port; the host's address in @out */
static int target(const char *addr, uint16_t port, char *out)
{
	struct sockaddr_storage in = { 0 }, to;
	int len;

	if (strchr(addr, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&in;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		cr_assert_eq(inet_pton(AF_INET6, addr, &a->sin6_addr), 1);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&in;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		cr_assert_eq(inet_pton(AF_INET, addr, &a->sin_addr), 1);
	}
	len = egress_target(&o, &in, &to);
	if (len < 0)
		return len;
	if (to.ss_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&to;

		cr_assert_eq(len, sizeof(*a));
		cr_assert_eq(ntohs(a->sin6_port), port);
		inet_ntop(AF_INET6, &a->sin6_addr, out, INET6_ADDRSTRLEN);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&to;

		cr_assert_eq(len, sizeof(*a));
		cr_assert_eq(ntohs(a->sin_port), port);
		inet_ntop(AF_INET, &a->sin_addr, out, INET6_ADDRSTRLEN);
	}
	return len;
}

TestSuite(bypass, .init = setup);

Test(bypass, remote_addresses_unchanged)
{
	char out[INET6_ADDRSTRLEN];

	cr_assert_gt(target("198.51.100.9", 80, out), 0);
	cr_assert_str_eq(out, "198.51.100.9");
	cr_assert_gt(target("2001:db8::5", 443, out), 0);
	cr_assert_str_eq(out, "2001:db8::5");
	cr_assert_gt(target("10.0.3.1", 80, out), 0);
	cr_assert_str_eq(out, "10.0.3.1");
}

/* as libslirp's sotranslate_out(): every alias but DNS is the host */
Test(bypass, virtual_network_is_host_loopback)
{
	char out[INET6_ADDRSTRLEN];

	cr_assert_gt(target("10.0.2.2", 8080, out), 0);
	cr_assert_str_eq(out, "127.0.0.1");
	cr_assert_gt(target("10.0.2.77", 22, out), 0);
	cr_assert_str_eq(out, "127.0.0.1");
	cr_assert_gt(target("fd00::2", 8080, out), 0);
	cr_assert_str_eq(out, "::1");
	cr_assert_gt(target("fd00::1:2", 8080, out), 0);
	cr_assert_str_eq(out, "::1");
}

Test(bypass, follows_cidr)
{
	char out[INET6_ADDRSTRLEN];

	cr_assert_eq(netcfg_cidr4(&o.net, "10.8.0.0/20", NULL), 0);
	cr_assert_gt(target("10.8.15.2", 80, out), 0);
	cr_assert_str_eq(out, "127.0.0.1");
	cr_assert_gt(target("10.0.2.2", 80, out), 0);
	cr_assert_str_eq(out, "10.0.2.2");
}

Test(bypass, disable_host_loopback_refuses_the_network)
{
	char out[INET6_ADDRSTRLEN];

	o.disable_host_loopback = true;
	cr_assert_eq(target("10.0.2.2", 8080, out), -ECONNREFUSED);
	cr_assert_eq(target("10.0.2.77", 8080, out), -ECONNREFUSED);
	cr_assert_eq(target("fd00::2", 8080, out), -ECONNREFUSED);
	cr_assert_gt(target("198.51.100.9", 80, out), 0);
}

/* DNS is libslirp's (the rules leave it there); loopback is only ever
 * our own listener, dialled directly: never on to the host's */
Test(bypass, dns_and_loopback_refused)
{
	char out[INET6_ADDRSTRLEN];

	cr_assert_eq(target("10.0.2.3", 53, out), -ECONNREFUSED);
	cr_assert_eq(target("fd00::3", 53, out), -ECONNREFUSED);
	cr_assert_eq(target("127.0.0.1", 40000, out), -ECONNREFUSED);
	cr_assert_eq(target("127.3.4.5", 40000, out), -ECONNREFUSED);
	cr_assert_eq(target("::1", 40000, out), -ECONNREFUSED);
	cr_assert_eq(target("::ffff:127.0.0.1", 40000, out), -ECONNREFUSED);
	cr_assert_eq(target("0.0.0.0", 80, out), -ECONNREFUSED);
}

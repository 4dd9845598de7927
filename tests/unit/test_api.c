// SPDX-License-Identifier: GPL-2.0-or-later
/* API requests and replies, byte for byte, over a fake forward backend. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_req.h"
#include "api/json.h"

static int nadd, nremove, fail_port;
static unsigned last_flags;

static int fake_add(void *o, unsigned flags, const struct sockaddr *h,
		    socklen_t hl, const struct sockaddr *g, socklen_t gl)
{
	(void)o, (void)hl, (void)g, (void)gl;
	last_flags = flags;
	if (ntohs(((const struct sockaddr_in *)h)->sin_port) == fail_port &&
	    (fail_port != 7777 || h->sa_family == AF_INET6))
		return -1;
	nadd++;
	return 0;
}

static int fake_remove(void *o, unsigned flags, const struct sockaddr *h,
		       socklen_t hl)
{
	(void)o, (void)flags, (void)h, (void)hl;
	nremove++;
	return 0;
}

static struct netcfg net;
static struct api_env env;

static void setup(void)
{
	static const struct fwd_backend b = { fake_add, fake_remove, NULL };

	netcfg_cidr4(&net, "10.0.2.0/24", NULL);
	netcfg_cidr6(&net, "fd00::/64", NULL);
	env = (struct api_env){ fwd_new(&b), &net, false };
	nadd = nremove = 0;
	fail_port = 9999;
}

static void teardown(void)
{
	fwd_free(env.fwd);
}

TestSuite(api, .init = setup, .fini = teardown);

/* Send @req, expect exactly @want back. */
static void expect(const char *req, const char *want)
{
	char *reply = NULL;
	int n = api_request(&env, req, strlen(req), &reply);

	cr_assert_geq(n, 0);
	cr_assert_eq((size_t)n, strlen(reply));
	cr_assert_str_eq(reply, want, "request: %s", req);
	free(reply);
}

#define ERR(d) "{\"error\":{\"desc\":\"bad request: " d "\"}}"
#define ADD(args) "{\"execute\":\"add_hostfwd\",\"arguments\":{" args "}}"

Test(api, add_list_remove)
{
	expect(ADD("\"proto\":\"tcp\",\"host_addr\":\"0.0.0.0\",\"host_port\":"
		   "8080,\"guest_addr\":\"10.0.2.100\",\"guest_port\":80"),
	       "{\"return\":{\"id\":1}}");
	expect(ADD("\"proto\":\"udp\",\"host_port\":8081,\"guest_port\":81"),
	       "{\"return\":{\"id\":2}}");
	expect("{\"execute\":\"list_hostfwd\"}",
	       "{\"entries\":[{\"id\":1,\"proto\":\"tcp\",\"host_addr\":"
	       "\"0.0.0.0\",\"host_port\":8080,\"guest_addr\":\"10.0.2.100\","
	       "\"guest_port\":80},{\"id\":2,\"proto\":\"udp\",\"host_addr\":"
	       "\"0.0.0.0\",\"host_port\":8081,\"guest_addr\":\"10.0.2.100\","
	       "\"guest_port\":81}]}");
	expect("{\"execute\":\"remove_hostfwd\",\"arguments\":{\"id\":1}}",
	       "{\"return\":{}}");
	expect("{\"execute\":\"remove_hostfwd\",\"arguments\":{\"id\":1}}",
	       ERR("remove_hostfwd: bad arguments.id"));
	expect(ADD("\"proto\":\"tcp\",\"host_port\":8080,\"guest_port\":80"),
	       "{\"return\":{\"id\":3}}"); /* ids are never reused */
	cr_assert_eq(nadd, 3);
	cr_assert_eq(nremove, 1);
}

Test(api, empty_list)
{
	expect("{\"execute\":\"list_hostfwd\"}", "{\"entries\":[]}");
}

Test(api, podman_and_rootlesskit_requests)
{
	/* captured bytes, trailing newline included */
	expect("{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"tcp\","
	       "\"host_addr\":\"127.0.0.1\",\"host_port\":19600,\"guest_addr\":"
	       "\"\",\"guest_port\":80}}\n",
	       "{\"return\":{\"id\":1}}");
	expect("{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"udp\","
	       "\"host_addr\":\"127.0.0.1\",\"host_port\":19402,\"guest_addr\":"
	       "\"10.0.2.100\",\"guest_port\":6281}}\n",
	       "{\"return\":{\"id\":2}}");
	expect("{\"execute\":\"list_hostfwd\"}",
	       "{\"entries\":[{\"id\":1,\"proto\":\"tcp\",\"host_addr\":"
	       "\"127.0.0.1\",\"host_port\":19600,\"guest_addr\":\"10.0.2.100\","
	       "\"guest_port\":80},{\"id\":2,\"proto\":\"udp\",\"host_addr\":"
	       "\"127.0.0.1\",\"host_port\":19402,\"guest_addr\":\"10.0.2.100\","
	       "\"guest_port\":6281}]}");
}

Test(api, request_errors)
{
	expect("", ERR("cannot parse JSON"));
	expect("not json", ERR("cannot parse JSON"));
	expect("{\"execute\":", ERR("cannot parse JSON"));
	expect("{\"a\":1,\"a\":2}", ERR("cannot parse JSON"));
	expect("{/*c*/\"execute\":\"list_hostfwd\"}", ERR("cannot parse JSON"));
	expect("[1,2]", ERR("json_object() failed"));
	expect("\"x\"", ERR("json_object() failed"));
	expect("{}", ERR("no execute found"));
	expect("{\"execute\":5}", ERR("no execute found"));
	expect("{\"execute\":\"reboot\"}", ERR("unknown execute"));
}

Test(api, trailing_bytes_ignored)
{
	/* as slirp4netns: the first JSON value is the request */
	expect("{\"execute\":\"list_hostfwd\"}}} garbage",
	       "{\"entries\":[]}");
	expect("{\"execute\":\"list_hostfwd\"}\n", "{\"entries\":[]}");
}

Test(api, too_large)
{
	char *req = malloc(API_MAX_REQUEST + 1);

	memset(req, ' ', API_MAX_REQUEST);
	req[API_MAX_REQUEST] = '\0';
	expect(req, ERR("too large message"));
	free(req);
}

/* A list_hostfwd request padded with trailing spaces to @n bytes. */
static char *padded(size_t n)
{
	static const char req[] = "{\"execute\":\"list_hostfwd\"}";
	char *p = malloc(n + 1);

	memset(p, ' ', n);
	memcpy(p, req, sizeof(req) - 1);
	p[n] = '\0';
	return p;
}

Test(api, size_limit_counts_trailing_bytes)
{
	/* slirp4netns serves 4095 bytes and calls a full 4096-byte read
	 * too large, whatever follows the JSON value */
	static const size_t sizes[] = { API_MAX_REQUEST - 1, API_MAX_REQUEST,
					API_MAX_REQUEST + 1 };
	static const char *const want[] = { "{\"entries\":[]}",
					    ERR("too large message"),
					    ERR("too large message") };

	cr_assert_eq(API_MAX_REQUEST, 4096);
	for (unsigned i = 0; i < 3; i++) {
		char *req = padded(sizes[i]);

		expect(req, want[i]);
		free(req);
	}
}

Test(api, proto_errors)
{
	/* upstream crashes on the first two */
	expect("{\"execute\":\"add_hostfwd\"}",
	       ERR("add_hostfwd: bad arguments.proto"));
	expect(ADD("\"host_port\":1,\"guest_port\":1"),
	       ERR("add_hostfwd: bad arguments.proto"));
	expect(ADD("\"proto\":5,\"host_port\":1,\"guest_port\":1"),
	       ERR("add_hostfwd: bad arguments.proto"));
	expect(ADD("\"proto\":\"sctp\",\"host_port\":1,\"guest_port\":1"),
	       ERR("add_hostfwd: bad arguments.proto"));
	expect(ADD("\"proto\":\"TCP\",\"host_port\":1,\"guest_port\":1"),
	       ERR("add_hostfwd: bad arguments.proto"));
	expect(ADD("\"proto\":\"tcp5\",\"host_port\":1,\"guest_port\":1"),
	       ERR("add_hostfwd: bad arguments.proto"));
	expect(ADD("\"proto\":\"tcp6\",\"host_port\":1,\"guest_port\":1"),
	       ERR("add_hostfwd: bad arguments.proto")); /* no -6 */
	cr_assert_eq(nadd, 0);
}

Test(api, address_errors)
{
	expect(ADD("\"proto\":\"tcp\",\"host_addr\":\"localhost\","
		   "\"host_port\":1,\"guest_port\":1"),
	       ERR("add_hostfwd: bad arguments.host_addr"));
	expect(ADD("\"proto\":\"tcp\",\"host_addr\":\"::1\",\"host_port\":1,"
		   "\"guest_port\":1"),
	       ERR("add_hostfwd: bad arguments.host_addr")); /* no -6 */
	expect(ADD("\"proto\":\"tcp\",\"host_addr\":7,\"host_port\":1,"
		   "\"guest_port\":1"),
	       ERR("add_hostfwd: bad arguments.host_addr"));
	expect(ADD("\"proto\":\"tcp\",\"host_port\":1,\"guest_addr\":\"x\","
		   "\"guest_port\":1"),
	       ERR("add_hostfwd: bad arguments.guest_addr"));
	expect(ADD("\"proto\":\"tcp\",\"host_port\":1,\"guest_addr\":"
		   "\"fd00::100\",\"guest_port\":1"),
	       ERR("add_hostfwd: bad arguments.guest_addr"));
	cr_assert_eq(nadd, 0);
}

/* @guest is refused for @proto in every mode */
static void refused_guest(const char *proto, const char *guest)
{
	static const char *const modes[] = { "", ",\"mode\":\"splice\"",
					     ",\"mode\":\"slirp\"" };
	char req[256];

	for (unsigned m = 0; m < ARRAY_SIZE(modes); m++) {
		snprintf(req, sizeof(req),
			 ADD("\"proto\":\"%s\",\"host_port\":1,"
			     "\"guest_addr\":\"%s\",\"guest_port\":1%s"),
			 proto, guest, modes[m]);
		expect(req, ERR("add_hostfwd: bad arguments.guest_addr"));
	}
}

Test(api, guest_addr_the_tap_cannot_reach)
{
	/* what the namespace drops on arrival from the TAP, or never
	 * delivers to TCP: refused on every path, splice and slirp alike */
	static const char *const v4[] = {
		"127.0.0.1", "127.1.2.3", "0.0.0.0",	"0.1.2.3",
		"224.0.0.1", "239.1.1.1", "255.255.255.255", "10.0.2.255",
	};
	static const char *const v6[] = {
		"::1", "::", "::ffff:127.0.0.1", "::ffff:0.0.0.0",
		"::ffff:10.0.2.100", "ff02::1", "::127.0.0.1",
	};

	env.ipv6 = true;
	for (unsigned i = 0; i < ARRAY_SIZE(v4); i++)
		refused_guest(i % 2 ? "udp" : "tcp4", v4[i]);
	for (unsigned i = 0; i < ARRAY_SIZE(v6); i++)
		refused_guest(i % 2 ? "udp6" : "tcp6", v6[i]);
	cr_assert_eq(nadd, 0);
	/* the neighbours of those are fine */
	expect(ADD("\"proto\":\"tcp4\",\"host_port\":1,\"guest_addr\":"
		   "\"10.0.2.254\",\"guest_port\":1"),
	       "{\"return\":{\"id\":1}}");
	expect(ADD("\"proto\":\"tcp6\",\"host_port\":2,\"guest_addr\":"
		   "\"fd00::100\",\"guest_port\":1"),
	       "{\"return\":{\"id\":2}}");
	expect(ADD("\"proto\":\"udp4\",\"host_port\":3,\"guest_addr\":"
		   "\"128.0.0.1\",\"guest_port\":1"),
	       "{\"return\":{\"id\":3}}");
}

Test(api, port_errors)
{
	static const char *bad[] = { "0", "-1", "65536", "72010", "1.5",
				     "1e3", "1e300", "\"80\"", "true", "null" };
	char req[256];

	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(req, sizeof(req),
			 ADD("\"proto\":\"tcp\",\"host_port\":%s,"
			     "\"guest_port\":80"),
			 bad[i]);
		expect(req, ERR("add_hostfwd: bad arguments.host_port"));
		snprintf(req, sizeof(req),
			 ADD("\"proto\":\"tcp\",\"host_port\":80,"
			     "\"guest_port\":%s"),
			 bad[i]);
		expect(req, ERR("add_hostfwd: bad arguments.guest_port"));
	}
	expect(ADD("\"proto\":\"tcp\",\"guest_port\":80"),
	       ERR("add_hostfwd: bad arguments.host_port"));
	expect(ADD("\"proto\":\"tcp\",\"host_port\":65535,\"guest_port\":1"),
	       "{\"return\":{\"id\":1}}");
	cr_assert_eq(nadd, 1);
}

Test(api, duplicate_and_bind_failure)
{
	expect(ADD("\"proto\":\"tcp\",\"host_port\":80,\"guest_port\":80"),
	       "{\"return\":{\"id\":1}}");
	expect(ADD("\"proto\":\"tcp\",\"host_port\":80,\"guest_port\":81"),
	       ERR("add_hostfwd: slirp_add_hostfwd failed"));
	expect(ADD("\"proto\":\"udp\",\"host_port\":80,\"guest_port\":80"),
	       "{\"return\":{\"id\":2}}"); /* tcp and udp coexist */
	expect(ADD("\"proto\":\"tcp\",\"host_port\":9999,\"guest_port\":80"),
	       ERR("add_hostfwd: slirp_add_hostfwd failed"));
	expect(ADD("\"proto\":\"tcp\",\"host_port\":81,\"guest_port\":80"),
	       "{\"return\":{\"id\":3}}"); /* a failure uses up no id */
}

Test(api, remove_errors)
{
	expect("{\"execute\":\"remove_hostfwd\"}",
	       ERR("remove_hostfwd: bad arguments.id"));
	expect("{\"execute\":\"remove_hostfwd\",\"arguments\":{\"id\":\"1\"}}",
	       ERR("remove_hostfwd: bad arguments.id"));
	expect("{\"execute\":\"remove_hostfwd\",\"arguments\":{\"id\":1.7}}",
	       ERR("remove_hostfwd: bad arguments.id"));
	expect("{\"execute\":\"remove_hostfwd\",\"arguments\":{\"id\":42}}",
	       ERR("remove_hostfwd: bad arguments.id"));
}

Test(api, ipv6_forwards)
{
	env.ipv6 = true;
	expect(ADD("\"proto\":\"tcp\",\"host_addr\":\"0.0.0.0\","
		   "\"host_port\":8080,\"guest_port\":80"),
	       "{\"return\":{\"id\":1}}");
	expect(ADD("\"proto\":\"tcp6\",\"host_addr\":\"::\",\"host_port\":8081,"
		   "\"guest_port\":80"),
	       "{\"return\":{\"id\":2}}");
	expect(ADD("\"proto\":\"udp4\",\"host_port\":8082,\"guest_port\":80"),
	       "{\"return\":{\"id\":3}}");
	expect(ADD("\"proto\":\"tcp\",\"host_addr\":\"::1\",\"host_port\":8083,"
		   "\"guest_port\":80"),
	       "{\"return\":{\"id\":4}}");
	expect(ADD("\"proto\":\"tcp4\",\"host_addr\":\"::\",\"host_port\":8084,"
		   "\"guest_port\":80"),
	       ERR("add_hostfwd: bad arguments.host_addr"));
	expect(ADD("\"proto\":\"tcp6\",\"host_addr\":\"0.0.0.0\","
		   "\"host_port\":8084,\"guest_port\":80"),
	       ERR("add_hostfwd: bad arguments.host_addr"));
	expect("{\"execute\":\"list_hostfwd\"}",
	       "{\"entries\":["
	       "{\"id\":1,\"proto\":\"tcp\",\"host_addr\":\"0.0.0.0\","
	       "\"host_addr6\":\"::\",\"host_port\":8080,\"guest_addr\":"
	       "\"10.0.2.100\",\"guest_addr6\":\"fd00::100\",\"guest_port\":80},"
	       "{\"id\":2,\"proto\":\"tcp\",\"host_addr6\":\"::\",\"host_port\":"
	       "8081,\"guest_addr6\":\"fd00::100\",\"guest_port\":80},"
	       "{\"id\":3,\"proto\":\"udp\",\"host_addr\":\"0.0.0.0\","
	       "\"host_port\":8082,\"guest_addr\":\"10.0.2.100\",\"guest_port\":"
	       "80},"
	       "{\"id\":4,\"proto\":\"tcp\",\"host_addr6\":\"::1\",\"host_port\":"
	       "8083,\"guest_addr6\":\"fd00::100\",\"guest_port\":80}]}");
	cr_assert_eq(nadd, 5); /* the dual-stack one is two listeners */
}

Test(api, dual_stack_is_all_or_nothing)
{
	env.ipv6 = true;
	fail_port = 7777; /* the IPv6 half fails */
	expect(ADD("\"proto\":\"tcp\",\"host_port\":7777,\"guest_port\":80"),
	       ERR("add_hostfwd: slirp_add_hostfwd failed"));
	cr_assert_eq(nadd, 1);
	cr_assert_eq(nremove, 1, "the IPv4 half is removed again");
	expect("{\"execute\":\"list_hostfwd\"}", "{\"entries\":[]}");
}

Test(json, value_end)
{
	cr_assert_eq(json_value_end("{\"a\":1}", 7), 7);
	cr_assert_eq(json_value_end("  {\"a\":{\"b\":[1]}}\n", 18), 17);
	cr_assert_eq(json_value_end("{\"a\":\"}\"}", 9), 9);
	cr_assert_eq(json_value_end("{\"a\":\"\\\"}\"}x", 12), 11);
	cr_assert_eq(json_value_end("{\"a\":", 5), 0);
	cr_assert_eq(json_value_end("", 0), 0);
	cr_assert_eq(json_value_end("\"str\"", 5), 0);
}

/* "mode" picks the fast path for TCP; anything else is refused. */
Test(api, mode)
{
	expect(ADD("\"proto\":\"tcp\",\"host_port\":1,\"guest_port\":1,"
		   "\"mode\":\"splice\""),
	       "{\"return\":{\"id\":1}}");
	cr_assert_eq(last_flags, FWD_SPLICE | FWD_ASKED);
	expect(ADD("\"proto\":\"tcp\",\"host_port\":2,\"guest_port\":1,"
		   "\"mode\":\"slirp\""),
	       "{\"return\":{\"id\":2}}");
	cr_assert_eq(last_flags, 0);
	expect(ADD("\"proto\":\"udp\",\"host_port\":3,\"guest_port\":1"),
	       "{\"return\":{\"id\":3}}");
	cr_assert_eq(last_flags, FWD_UDP, "no mode: slirp");
	expect(ADD("\"proto\":\"udp\",\"host_port\":4,\"guest_port\":1,"
		   "\"mode\":\"splice\""),
	       "{\"return\":{\"id\":4}}");
	cr_assert_eq(last_flags, FWD_UDP | FWD_SPLICE | FWD_ASKED);
	expect(ADD("\"proto\":\"tcp\",\"host_port\":4,\"guest_port\":1,"
		   "\"mode\":\"fast\""),
	       ERR("add_hostfwd: bad arguments.mode"));
	expect(ADD("\"proto\":\"tcp\",\"host_port\":4,\"guest_port\":1,"
		   "\"mode\":1"),
	       ERR("add_hostfwd: bad arguments.mode"));
	cr_assert_eq(nadd, 4);
	/* the default, unless --forward-mode=slirp */
	env.splice = true;
	expect(ADD("\"proto\":\"tcp\",\"host_port\":5,\"guest_port\":1"),
	       "{\"return\":{\"id\":5}}");
	cr_assert_eq(last_flags, FWD_SPLICE, "no mode: splice for TCP");
	expect(ADD("\"proto\":\"udp\",\"host_port\":5,\"guest_port\":1"),
	       "{\"return\":{\"id\":6}}");
	cr_assert_eq(last_flags, FWD_UDP | FWD_SPLICE,
		     "and for UDP, not asked for: it may take slirp");
}

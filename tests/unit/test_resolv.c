// SPDX-License-Identifier: GPL-2.0-or-later
/* resolv.conf as the DNS forwarder reads it, and the little of a DNS
 * message it looks at. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "dns/msg.h"
#include "dns/resolv.h"

static struct resolv r;

static void parse(const char *text)
{
	resolv_parse(text, strlen(text), &r);
}

static const char *ns(unsigned i)
{
	static char buf[INET6_ADDRSTRLEN];
	const struct sockaddr_in *a4 = (const void *)&r.ns[i];
	const struct sockaddr_in6 *a6 = (const void *)&r.ns[i];

	if (r.ns[i].ss_family == AF_INET)
		return inet_ntop(AF_INET, &a4->sin_addr, buf, sizeof(buf));
	return inet_ntop(AF_INET6, &a6->sin6_addr, buf, sizeof(buf));
}

Test(resolv, every_nameserver_in_order_both_families)
{
	parse("# generated\nnameserver 192.0.2.1\n"
	      "nameserver\t2001:db8::53 ; a comment\n"
	      "nameserver not-an-address\nnameserver 127.0.0.53\n");
	cr_assert_eq(r.nns, 3);
	cr_assert_str_eq(ns(0), "192.0.2.1");
	cr_assert_str_eq(ns(1), "2001:db8::53");
	cr_assert_str_eq(ns(2), "127.0.0.53");
	cr_assert_eq(ntohs(((struct sockaddr_in *)&r.ns[0])->sin_port), 53);
	cr_assert_eq(r.nslen[1], sizeof(struct sockaddr_in6));
	cr_assert_eq(r.timeout_s, RESOLV_TIMEOUT_S);
	cr_assert_eq(r.attempts, RESOLV_ATTEMPTS);
}

Test(resolv, link_local_scope)
{
	parse("nameserver fe80::1%1\nnameserver fe80::2%no-such-if9\n");
	cr_assert_eq(r.nns, 1, "an unknown interface: skipped");
	cr_assert_eq(((struct sockaddr_in6 *)&r.ns[0])->sin6_scope_id, 1);
}

Test(resolv, none_means_localhost)
{
	parse("search example.test\n");
	cr_assert_eq(r.nns, 1);
	cr_assert_str_eq(ns(0), "127.0.0.1");
}

Test(resolv, more_than_we_keep)
{
	char text[1024] = "";

	for (int i = 1; i <= RESOLV_MAX_NS + 3; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
			 "nameserver 192.0.2.%d\n", i);
	parse(text);
	cr_assert_eq(r.nns, RESOLV_MAX_NS);
	cr_assert_str_eq(ns(RESOLV_MAX_NS - 1), "192.0.2.8");
}

Test(resolv, search_and_domain_last_wins)
{
	parse("search a.test b.test\r\ndomain c.test\n");
	cr_assert_eq(r.nsearch, 1);
	cr_assert_str_eq(r.search[0], "c.test");
	parse("domain c.test\nsearch a.test b.test # x\n");
	cr_assert_eq(r.nsearch, 2);
	cr_assert_str_eq(r.search[1], "b.test");
}

Test(resolv, options_bounded)
{
	parse("options rotate timeout:2 attempts:3\nnameserver ::1\n");
	cr_assert_eq(r.timeout_s, 2);
	cr_assert_eq(r.attempts, 3);
	parse("options timeout:99999999999 attempts:0\n");
	cr_assert_eq(r.timeout_s, 30);
	cr_assert_eq(r.attempts, 1);
}

Test(resolv, missing_file)
{
	cr_assert_lt(resolv_read("/nonexistent/resolv.conf", &r), 0);
	cr_assert_eq(r.nns, 1, "as an empty one: localhost");
}

/* a query for a.test, type A */
static const uint8_t query[] = { 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0,
				 0, 0, 1, 'a', 4, 't', 'e', 's', 't', 0,
				 0, 1, 0, 1 };

Test(msg, question_end)
{
	uint8_t m[sizeof(query)];

	cr_assert_eq(dnsmsg_question_end(query, sizeof(query)), sizeof(query));
	cr_assert_eq(dnsmsg_question_end(query, sizeof(query) - 1), 0);
	cr_assert_eq(dnsmsg_question_end(query, 11), 0);
	memcpy(m, query, sizeof(m));
	m[5] = 2; /* two questions */
	cr_assert_eq(dnsmsg_question_end(m, sizeof(m)), 0);
	memcpy(m, query, sizeof(m));
	m[12] = 0xc0; /* a pointer */
	cr_assert_eq(dnsmsg_question_end(m, sizeof(m)), 0);
	memcpy(m, query, sizeof(m));
	m[12] = 60; /* a label past the end */
	cr_assert_eq(dnsmsg_question_end(m, sizeof(m)), 0);
}

Test(msg, servfail)
{
	uint8_t m[sizeof(query) + 11];

	memcpy(m, query, sizeof(query));
	memset(m + sizeof(query), 0, 11);
	m[11] = 1; /* an OPT record follows */
	cr_assert_eq(dnsmsg_servfail(m, sizeof(query)), sizeof(query));
	cr_assert(dnsmsg_is_response(m));
	cr_assert_eq(dnsmsg_rcode(m), DNSMSG_SERVFAIL);
	cr_assert_eq(m[2] & 1, 1, "RD kept");
	cr_assert_eq(dnsmsg_id(m), 0x1234);
	cr_assert_eq(m[11], 0, "no additional record");
}

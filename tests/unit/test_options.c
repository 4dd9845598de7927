// SPDX-License-Identifier: GPL-2.0-or-later
/* Option parsing: every option, every message, byte for byte. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <string.h>

#include "options.h"

#define USAGE_HEAD "Usage: slirp4netns [OPTION]... PID|PATH|FD [TAPNAME]\n"

static const char help_expected[] =
#include "help.inc"
	;

static struct opts o;

static int parse(int argc, char **argv)
{
	int rc = opts_parse(&o, argc, argv);

	fflush(stdout);
	fflush(stderr);
	return rc;
}

#define PARSE(...)                                                             \
	({                                                                     \
		char *argv_[] = { "slirp4netns", __VA_ARGS__, NULL };          \
		parse(ARRAY_SIZE(argv_) - 1, argv_);                           \
	})

static void redirect(void)
{
	cr_redirect_stdout();
	cr_redirect_stderr();
}

TestSuite(options, .init = redirect);

Test(options, defaults)
{
	cr_assert_eq(PARSE("1234", "tap0"), -1);
	cr_assert_eq(o.pid, 1234);
	cr_assert_str_eq(o.tapname, "tap0");
	cr_assert_eq(o.mtu, 1500);
	cr_assert_eq(o.exit_fd, -1);
	cr_assert_eq(o.ready_fd, -1);
	cr_assert_not(o.configure);
	cr_assert_eq(o.netns_type, NETNS_PID);
	cr_assert_stdout_eq_str("");
}

Test(options, every_flag_long_and_short)
{
	cr_assert_eq(PARSE("-c", "-e", "3", "-r", "4", "-m", "65520", "-6",
			   "-a", "/tmp/s.sock", "--cidr", "10.41.0.0/16",
			   "--disable-host-loopback", "--enable-sandbox",
			   "--enable-seccomp", "--disable-dns",
			   "--macaddress=02:00:00:00:00:01", "99", "tap1"),
		     -1);
	cr_assert(o.configure && o.ipv6 && o.disable_host_loopback);
	cr_assert(o.sandbox && o.seccomp && o.disable_dns);
	cr_assert_eq(o.exit_fd, 3);
	cr_assert_eq(o.ready_fd, 4);
	cr_assert_eq(o.mtu, 65520);
	cr_assert_str_eq(o.api_socket, "/tmp/s.sock");
	cr_assert_eq(o.net.prefix, 16);
	cr_assert_eq(o.mac[5], 1);
	cr_assert_str_eq(o.tapname, "tap1");
	cr_assert_stdout_eq_str("WARNING: Support for IPv6 is experimental\n"
				"WARNING: Support for seccomp is experimental\n");
}

Test(options, equals_form_and_permutation)
{
	cr_assert_eq(PARSE("77", "--mtu=9000", "tap0", "--exit-fd=5",
			   "--ready-fd=6", "--api-socket=/x"),
		     -1);
	cr_assert_eq(o.mtu, 9000);
	cr_assert_eq(o.exit_fd, 5);
	cr_assert_eq(o.ready_fd, 6);
	cr_assert_str_eq(o.api_socket, "/x");
	cr_assert_eq(o.pid, 77);
}

Test(options, help_exits_zero_on_stdout)
{
	cr_assert_eq(PARSE("--help"), 0);
	cr_assert_stdout_eq_str(help_expected);
}

Test(options, help_short)
{
	cr_assert_eq(PARSE("-h"), 0);
}

Test(options, version)
{
	char buf[4096] = { 0 };
	FILE *f;

	cr_assert_eq(PARSE("-v"), 0);
	f = cr_get_redirected_stdout();
	fread(buf, 1, sizeof(buf) - 1, f);
	cr_assert(!strncmp(buf, "slirp4netns version ", 20), "%s", buf);
	cr_assert(strstr(buf, "\nlibslirp: 4."), "%s", buf);
	cr_assert(strstr(buf, "\nSLIRP_CONFIG_VERSION_MAX: "), "%s", buf);
	cr_assert(strstr(buf, "\nlibseccomp: 2."), "%s", buf);
	cr_assert(strstr(buf, "\nliburing: 2."), "%s", buf);
}

Test(options, deprecated_aliases)
{
	cr_assert_eq(PARSE("--no-host-loopback", "--create-sandbox", "1",
			   "tap0"),
		     -1);
	cr_assert(o.disable_host_loopback && o.sandbox);
	cr_assert_stdout_eq_str(
		"WARNING: --no-host-loopback is deprecated and will be removed "
		"in future releases, please use --disable-host-loopback "
		"instead.\n"
		"WARNING: --create-sandbox is deprecated and will be removed "
		"in future releases, please use --enable-sandbox instead.\n");
}

/* A message on stderr, then the usage on stdout, exit 1. */
static void assert_usage_error(int rc, const char *msg)
{
	char buf[8192] = { 0 };

	cr_assert_eq(rc, 1);
	cr_assert_stderr_eq_str(msg);
	fread(buf, 1, sizeof(buf) - 1, cr_get_redirected_stdout());
	cr_assert(strstr(buf, USAGE_HEAD), "usage expected, got: %s", buf);
}

Test(options, bad_exit_fd)
{
	assert_usage_error(PARSE("-e", "x", "1", "tap0"),
			   "exit-fd must be a non-negative integer\n");
}

Test(options, negative_ready_fd)
{
	assert_usage_error(PARSE("-r", "-1", "1", "tap0"),
			   "ready-fd must be a non-negative integer\n");
}

Test(options, mtu_range)
{
	static const char *bad[] = { "0", "-1", "65522", "abc", "", "15x" };

	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		char *argv[] = { "slirp4netns", "-m", (char *)bad[i], "1",
				 "tap0", NULL };

		cr_assert_eq(parse(5, argv), 1, "mtu %s", bad[i]);
	}
	cr_assert_eq(PARSE("--mtu=65521", "1", "tap0"), -1);
	cr_assert_eq(o.mtu, 65521);
}

Test(options, mtu_message)
{
	assert_usage_error(PARSE("--mtu=65522", "1", "tap0"),
			   "MTU must be a positive integer (< 65522)\n");
}

Test(options, unknown_option)
{
	assert_usage_error(PARSE("--bogus", "1", "tap0"),
			   "slirp4netns: unrecognized option '--bogus'\n");
}

Test(options, missing_tapname)
{
	assert_usage_error(PARSE("1"), "");
}

Test(options, bad_pid)
{
	assert_usage_error(PARSE("0", "tap0"),
			   "PID must be a positive integer\n");
}

Test(options, pid_junk)
{
	assert_usage_error(PARSE("12a", "tap0"),
			   "PID must be a positive integer\n");
}

Test(options, too_many_arguments_is_a_warning)
{
	cr_assert_eq(PARSE("1", "tap0", "extra"), -1);
	cr_assert_stdout_eq_str("WARNING: too many arguments\n");
}

Test(options, path_mode)
{
	cr_assert_eq(PARSE("--netns-type=path", "/proc/self/ns/net", "tap0"),
		     -1);
	cr_assert_eq(o.netns_type, NETNS_PATH);
	cr_assert_str_eq(o.netns_path, "/proc/self/ns/net");
}

Test(options, unknown_netns_type_is_path)
{
	cr_assert_eq(PARSE("--netns-type=foo", "/proc/self/ns/net", "tap0"),
		     -1);
	cr_assert_eq(o.netns_type, NETNS_PATH);
}

Test(options, path_must_exist)
{
	assert_usage_error(PARSE("--netns-type", "path", "/nonexistent/x",
				 "tap0"),
			   "existing path expected when --netns-type=path: "
			   "No such file or directory\n");
}

Test(options, userns_path_must_exist)
{
	assert_usage_error(PARSE("--userns-path=/nonexistent/u", "1", "tap0"),
			   "userns path doesn't exist: /nonexistent/u\n");
}

Test(options, userns_path)
{
	cr_assert_eq(PARSE("--userns-path=/proc/self/ns/user",
			   "--netns-type=path", "/proc/self/ns/net", "tap0"),
		     -1);
	cr_assert_str_eq(o.userns_path, "/proc/self/ns/user");
}

Test(options, tapfd_mode)
{
	cr_assert_eq(PARSE("--netns-type=tapfd", "5"), -1);
	cr_assert_eq(o.netns_type, NETNS_TAPFD);
	cr_assert_eq(o.tapfd, 5);
}

Test(options, tapfd_bad)
{
	assert_usage_error(PARSE("--netns-type=tapfd", "x"),
			   "TAPFD must a file descriptor\n");
}

Test(options, tapfd_extra_argument_warns)
{
	cr_assert_eq(PARSE("--netns-type=tapfd", "5", "tap0"), -1);
	cr_assert_stdout_eq_str("WARNING: too many arguments\n");
}

Test(options, tapfd_configure_warns)
{
	cr_assert_eq(PARSE("-c", "--netns-type=tapfd", "5"), -1);
	cr_assert_stdout_eq_str("WARNING: --configure has no effect with "
				"--netns-type=tapfd\n");
}

Test(options, macaddress_needs_configure)
{
	assert_usage_error(PARSE("--macaddress=02:00:00:00:00:01", "1", "tap0"),
			   "--macaddr cannot be specified when --configure or "
			   "-c is not specified\n");
}

Test(options, macaddress_invalid_no_usage)
{
	cr_assert_eq(PARSE("-c", "--macaddress=zz:00:00:00:00:01", "1", "tap0"),
		     1);
	cr_assert_stderr_eq_str("\"zz:00:00:00:00:01\" is an invalid MAC "
				"address.\nmacaddress has to be a valid MAC "
				"address (hex string, 6 bytes, each byte "
				"separated by a ':').\n");
	cr_assert_stdout_eq_str("");
}

Test(options, macaddress_too_long)
{
	cr_assert_eq(PARSE("-c", "--macaddress=02:00:00:00:00:01:02", "1",
			   "tap0"),
		     1);
	cr_assert_stderr_eq_str("\"02:00:00:00:00:01:02\" is an invalid MAC "
				"address.  Is it too long?\nmacaddress has to "
				"be a valid MAC address (hex string, 6 bytes, "
				"each byte separated by a ':').\n");
}

Test(options, macaddress_too_short_is_refused)
{
	/* upstream zero-pads; a short MAC is a typo, so we refuse it */
	cr_assert_eq(PARSE("-c", "--macaddress=02:00:00", "1", "tap0"), 1);
}

Test(options, cidr_errors_have_no_usage)
{
	cr_assert_eq(PARSE("--cidr=10.0.2.0", "1", "tap0"), 1);
	cr_assert_stderr_eq_str("invalid CIDR: 10.0.2.0\n");
	cr_assert_stdout_eq_str("");
}

Test(options, cidr_bad_octet)
{
	cr_assert_eq(PARSE("--cidr=10.0.300.0/24", "1", "tap0"), 1);
	cr_assert_stderr_eq_str("invalid network address: 10.0.300.0\n");
}

Test(options, cidr_prefix)
{
	cr_assert_eq(PARSE("--cidr=10.0.0.0/26", "1", "tap0"), 1);
	cr_assert_stderr_eq_str("prefix length needs to be 1-25\n");
}

Test(options, cidr_host_bits)
{
	cr_assert_eq(PARSE("--cidr=10.0.2.100/24", "1", "tap0"), 1);
	cr_assert_stderr_eq_str("CIDR needs to be a network address like "
				"10.0.2.0/24, not like 10.0.2.100/24\n");
}

Test(options, cidr6)
{
	cr_assert_eq(PARSE("-6", "--cidr6=fd12:3456::/64", "1", "tap0"), -1);
	cr_assert_eq(o.net.net6.s6_addr[1], 0x12);
	cr_assert_eq(o.net.host6.s6_addr[15], 2);
	cr_assert_eq(o.net.dns6.s6_addr[15], 3);
	cr_assert_eq(o.net.guest6.s6_addr[14], 1);
}

Test(options, cidr6_errors)
{
	cr_assert_eq(PARSE("-6", "--cidr6=fd00::", "1", "tap0"), 1);
	cr_assert_stderr_eq_str("invalid CIDR: fd00::\n");
}

Test(options, cidr6_prefix)
{
	cr_assert_eq(PARSE("-6", "--cidr6=fd00::/4", "1", "tap0"), 1);
	cr_assert_stderr_eq_str("prefix length needs to be 8-128\n");
}

Test(options, ipv6_random)
{
	cr_assert_eq(PARSE("-6", "--ipv6-random", "1", "tap0"), -1);
	cr_assert_eq(o.net.net6.s6_addr[0], 0xfd);
	for (int i = 6; i < 16; i++)
		if (i != 15)
			cr_assert_eq(o.net.host6.s6_addr[i], 0);
	cr_assert_eq(o.net.host6.s6_addr[15], 2);
}

Test(options, ipv6_random_conflicts_with_cidr6)
{
	cr_assert_eq(PARSE("-6", "--ipv6-random", "--cidr6=fd00::/64", "1",
			   "tap0"),
		     1);
	cr_assert_stderr_eq_str("--cidr6 conflicts with --ipv6-random\n");
}

Test(options, outbound_addr)
{
	cr_assert_eq(PARSE("--outbound-addr=192.0.2.1",
			   "--outbound-addr6=2001:db8::1", "1", "tap0"),
		     -1);
	cr_assert(o.has_out4 && o.has_out6);
	cr_assert_stdout_eq_str(
		"WARNING: Support for --outbound-addr is experimental\n"
		"WARNING: Support for --outbound-addr6 is experimental\n");
}

Test(options, outbound_addr_interface)
{
	cr_assert_eq(PARSE("--outbound-addr=lo", "1", "tap0"), -1);
	cr_assert_eq(o.out4.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
}

Test(options, outbound_addr_bad)
{
	cr_assert_eq(PARSE("--outbound-addr=nosuchif0", "1", "tap0"), 1);
	cr_assert_stderr_eq_str("outbound-addr has to be valid ipv4 address "
				"or interface name.\n");
}

Test(options, outbound_addr6_bad)
{
	cr_assert_eq(PARSE("--outbound-addr6=nosuchif0", "1", "tap0"), 1);
	cr_assert_stderr_eq_str("outbound-addr has to be valid ipv6 address "
				"or interface name.\n");
}

Test(options, target_type_bad)
{
	assert_usage_error(PARSE("--target-type=vm", "1", "tap0"),
			   "--target-type must be either \"netns\" or "
			   "\"bess\"\n");
}

Test(options, bess)
{
	cr_assert_eq(PARSE("--target-type=bess", "/tmp/bess.sock"), -1);
	cr_assert_eq(o.target_type, TARGET_BESS);
	cr_assert_str_eq(o.bess_path, "/tmp/bess.sock");
	cr_assert_stdout_eq_str("WARNING: BESS mode is experimental\n");
}

Test(options, bess_conflicts)
{
	assert_usage_error(PARSE("--target-type=bess", "-c", "/tmp/b"),
			   "--configure conflicts with --target-type=bess\n");
}

Test(options, bess_netns_type_conflicts)
{
	assert_usage_error(PARSE("--target-type=bess", "--netns-type=pid",
				 "/tmp/b"),
			   "--netns-type conflicts with --target-type=bess\n");
}

Test(options, bess_too_many)
{
	assert_usage_error(PARSE("--target-type=bess", "/tmp/b", "tap0"),
			   "too many arguments\n");
}

Test(options, forward_defaults)
{
	cr_assert_eq(PARSE("1", "tap0"), -1);
	cr_assert(!o.forward_slirp, "TCP forwards take the fast path");
	cr_assert_eq(o.forward_fwmark, 0x5334);
	cr_assert_eq(o.forward_table, 0x5334);
}

Test(options, forward_options)
{
	cr_assert_eq(PARSE("--forward-mode=slirp", "--forward-fwmark=0x10",
			   "--forward-table", "100", "1", "tap0"),
		     -1);
	cr_assert(o.forward_slirp);
	cr_assert_eq(o.forward_fwmark, 0x10);
	cr_assert_eq(o.forward_table, 100);
	cr_assert_eq(PARSE("--forward-mode=splice", "1", "tap0"), -1);
	cr_assert(!o.forward_slirp);
}

Test(options, forward_mode_error)
{
	cr_assert_eq(PARSE("--forward-mode=fast", "1", "tap0"), 1);
	cr_assert_stderr_eq_str(
		"--forward-mode must be either \"splice\" or \"slirp\"\n");
}

Test(options, forward_number_errors)
{
	static const char *bad[] = { "0",	   "-1", "x",	       "",
				     "4294967296", "1x", " 1",	       "0xfffffff9",
				     "0xffffffff" };

	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		char arg[64];

		snprintf(arg, sizeof(arg), "--forward-fwmark=%s", bad[i]);
		cr_assert_eq(PARSE(arg, "1", "tap0"), 1, "%s", arg);
	}
}

Test(options, forward_table_reserved)
{
	cr_assert_eq(PARSE("--forward-table=254", "1", "tap0"), 1);
	cr_assert_stderr_eq_str("--forward-table must be a positive 32-bit "
				"integer, not 253, 254 or 255\n");
}

Test(options, bypass_and_busy_poll)
{
	cr_assert_eq(PARSE("1", "tap0"), -1);
	cr_assert(o.tcp_bypass, "the kernel path is the default");
	cr_assert_eq(o.busy_poll_us, 50);
	cr_assert_eq(PARSE("--enable-tcp-bypass", "--disable-tcp-bypass", "1",
			   "tap0"),
		     -1);
	cr_assert(!o.tcp_bypass, "the last one counts");
	cr_assert_eq(PARSE("--disable-tcp-bypass", "--enable-tcp-bypass",
			   "--busy-poll=0", "1", "tap0"),
		     -1);
	cr_assert(o.tcp_bypass, "the last one counts");
	cr_assert_eq(o.busy_poll_us, 0);
	cr_assert_eq(PARSE("--busy-poll", "1000", "1", "tap0"), -1);
	cr_assert_eq(o.busy_poll_us, 1000);
}

Test(options, busy_poll_errors)
{
	static const char *bad[] = { "1001", "-1", "x", "", "5us", " 5",
				     "99999999999999999999" };

	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		char arg[64];

		snprintf(arg, sizeof(arg), "--busy-poll=%s", bad[i]);
		cr_assert_eq(PARSE(arg, "1", "tap0"), 1, "%s", arg);
	}
	fflush(stderr);
	cr_assert_stderr_eq_str(
		"--busy-poll must be an integer from 0 to 1000 (microseconds)\n"
		"--busy-poll must be an integer from 0 to 1000 (microseconds)\n"
		"--busy-poll must be an integer from 0 to 1000 (microseconds)\n"
		"--busy-poll must be an integer from 0 to 1000 (microseconds)\n"
		"--busy-poll must be an integer from 0 to 1000 (microseconds)\n"
		"--busy-poll must be an integer from 0 to 1000 (microseconds)\n"
		"--busy-poll must be an integer from 0 to 1000 (microseconds)\n");
}

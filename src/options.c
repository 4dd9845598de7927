// SPDX-License-Identifier: GPL-2.0-or-later
/* options.c - slirp4netns's command line, byte for byte (UPSTREAM.md §2-§5),
 * plus the seed man page's --cidr6 and --ipv6-random.
 *
 * Errors found inside the getopt loop, and in the positionals, print the
 * message and then the usage text and exit 1; errors in CIDR, outbound
 * address and MAC print the message only. Both as upstream. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <liburing.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <slirp/libslirp.h>

#include "commit.h"
#include "config.h"
#include "options.h"
#include "ring/spin.h"

enum {
	OPT_CIDR = 256,
	OPT_CIDR6,
	OPT_IPV6_RANDOM,
	OPT_DISABLE_HOST_LOOPBACK,
	OPT_NO_HOST_LOOPBACK,
	OPT_NETNS_TYPE,
	OPT_USERNS_PATH,
	OPT_ENABLE_SANDBOX,
	OPT_CREATE_SANDBOX,
	OPT_ENABLE_SECCOMP,
	OPT_OUTBOUND_ADDR,
	OPT_OUTBOUND_ADDR6,
	OPT_DISABLE_DNS,
	OPT_MACADDRESS,
	OPT_TARGET_TYPE,
	OPT_FORWARD_MODE,
	OPT_FORWARD_FWMARK,
	OPT_FORWARD_TABLE,
	OPT_ENABLE_TCP_BYPASS,
	OPT_DISABLE_TCP_BYPASS,
	OPT_BUSY_POLL,
};

static const struct option longopts[] = {
	{ "configure", no_argument, NULL, 'c' },
	{ "exit-fd", required_argument, NULL, 'e' },
	{ "ready-fd", required_argument, NULL, 'r' },
	{ "mtu", required_argument, NULL, 'm' },
	{ "enable-ipv6", no_argument, NULL, '6' },
	{ "api-socket", required_argument, NULL, 'a' },
	{ "cidr", required_argument, NULL, OPT_CIDR },
	{ "cidr6", required_argument, NULL, OPT_CIDR6 },
	{ "ipv6-random", no_argument, NULL, OPT_IPV6_RANDOM },
	{ "disable-host-loopback", no_argument, NULL,
	  OPT_DISABLE_HOST_LOOPBACK },
	{ "no-host-loopback", no_argument, NULL, OPT_NO_HOST_LOOPBACK },
	{ "netns-type", required_argument, NULL, OPT_NETNS_TYPE },
	{ "userns-path", required_argument, NULL, OPT_USERNS_PATH },
	{ "enable-sandbox", no_argument, NULL, OPT_ENABLE_SANDBOX },
	{ "create-sandbox", no_argument, NULL, OPT_CREATE_SANDBOX },
	{ "enable-seccomp", no_argument, NULL, OPT_ENABLE_SECCOMP },
	{ "outbound-addr", required_argument, NULL, OPT_OUTBOUND_ADDR },
	{ "outbound-addr6", required_argument, NULL, OPT_OUTBOUND_ADDR6 },
	{ "disable-dns", no_argument, NULL, OPT_DISABLE_DNS },
	{ "macaddress", required_argument, NULL, OPT_MACADDRESS },
	{ "target-type", required_argument, NULL, OPT_TARGET_TYPE },
	{ "forward-mode", required_argument, NULL, OPT_FORWARD_MODE },
	{ "forward-fwmark", required_argument, NULL, OPT_FORWARD_FWMARK },
	{ "forward-table", required_argument, NULL, OPT_FORWARD_TABLE },
	{ "enable-tcp-bypass", no_argument, NULL, OPT_ENABLE_TCP_BYPASS },
	{ "disable-tcp-bypass", no_argument, NULL, OPT_DISABLE_TCP_BYPASS },
	{ "busy-poll", required_argument, NULL, OPT_BUSY_POLL },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'v' },
	{ NULL, 0, NULL, 0 },
};

void opts_usage(const char *argv0)
{
	printf("Usage: %s [OPTION]... PID|PATH|FD [TAPNAME]\n", argv0);
	printf("User-mode networking for unprivileged network namespaces.\n\n");
	printf("-c, --configure          bring up the interface\n");
	printf("-e, --exit-fd=FD         specify the FD for terminating "
	       "slirp4netns\n");
	printf("-r, --ready-fd=FD        specify the FD to write to when the "
	       "network is configured\n");
	printf("-m, --mtu=MTU            specify MTU (default=1500, "
	       "max=65521)\n");
	printf("-6, --enable-ipv6        enable IPv6 (experimental)\n");
	printf("-a, --api-socket=PATH    specify API socket path\n");
	printf("--cidr=CIDR              specify network address CIDR "
	       "(default=10.0.2.0/24)\n");
	printf("--cidr6=CIDR             specify network address CIDR "
	       "(default=fd00::/64)\n");
	printf("--ipv6-random            generate a random local IPv6 range "
	       "(experimental)\n");
	printf("--disable-host-loopback  prohibit connecting to 127.0.0.1:* on "
	       "the host namespace\n");
	printf("--netns-type=TYPE \t specify network namespace type "
	       "([path|pid|tapfd], default=pid)\n");
	printf("--userns-path=PATH\t specify user namespace path\n");
	printf("--enable-sandbox         create a new mount namespace (and drop "
	       "all caps except CAP_NET_BIND_SERVICE if running as the root)\n");
	printf("--enable-seccomp         enable seccomp to limit syscalls "
	       "(experimental)\n");
	printf("--outbound-addr=IPv4     sets outbound ipv4 address to bound to "
	       "(experimental)\n");
	printf("--outbound-addr6=IPv6    sets outbound ipv6 address to bound to "
	       "(experimental)\n");
	printf("--disable-dns            disables 10.0.2.3 (or configured "
	       "internal ip) to host dns redirect (experimental)\n");
	printf("--macaddress=MAC         specify the MAC address of the TAP "
	       "(only valid with -c)\n");
	printf("--target-type=TYPE       specify the target type "
	       "([netns|bess], default=netns)\n");
	printf("--forward-mode=MODE      how API forwards carry TCP "
	       "([splice|slirp], default=splice)\n");
	printf("--forward-fwmark=MARK    fwmark of splice forwards in the "
	       "namespace (default=0x5334)\n");
	printf("--forward-table=TABLE    routing table of splice forwards in "
	       "the namespace (default=21300)\n");
	printf("--disable-tcp-bypass     carry outbound TCP on libslirp, not "
	       "by the kernel (default: the kernel, where the namespace "
	       "allows)\n");
	printf("--enable-tcp-bypass      the default (accepted for older "
	       "command lines)\n");
	printf("--busy-poll=USEC         poll up to USEC for the next event "
	       "before sleeping (adaptive; default=%d, 0=never)\n",
	       SPIN_DEFAULT_US);
	printf("-h, --help               show this help and exit\n");
	printf("-v, --version            show version and exit\n");
}

void opts_version(void)
{
	const struct scmp_version *sv = seccomp_version();

	printf("slirp4netns version %s\n", S4_VERSION);
	if (strcmp(S4_COMMIT, "none") && strcmp(S4_COMMIT, S4_VERSION))
		printf("commit: %s\n", S4_COMMIT);
	printf("libslirp: %s\n", slirp_version_string());
	printf("SLIRP_CONFIG_VERSION_MAX: %d\n", SLIRP_CONFIG_VERSION_MAX);
	printf("libseccomp: %u.%u.%u\n", sv->major, sv->minor, sv->micro);
	printf("liburing: %s\n", S4_LIBURING_VERSION);
}

/**
 * parse_u32() - A positive 32-bit integer, decimal, 0x hex or 0 octal
 * @s:		the text
 * @out:	the value
 * Return: 0 or -EINVAL
 */
static int parse_u32(const char *s, uint32_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	if (!isdigit((unsigned char)s[0]))
		return -EINVAL;
	v = strtoull(s, &end, 0);
	if (errno || *end || v == 0 || v > UINT32_MAX)
		return -EINVAL;
	*out = v;
	return 0;
}

/**
 * parse_uint() - A decimal integer from 0 to @max
 * @s:		the text
 * @max:	largest allowed
 * @out:	the value
 * Return: 0 or -EINVAL
 */
static int parse_uint(const char *s, unsigned max, unsigned *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	if (!isdigit((unsigned char)s[0]))
		return -EINVAL;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/**
 * parse_fd() - strtol a non-negative integer the way upstream does
 * @s:		the text
 * @out:	the value
 * Return: 0, or -EINVAL for junk, empty text or a negative number
 */
static int parse_fd(const char *s, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > INT32_MAX)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_mtu(const char *s, unsigned *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v <= 0 || v > 65521)
		return -EINVAL;
	*out = v;
	return 0;
}

static void opts_init(struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->exit_fd = -1;
	o->ready_fd = -1;
	o->tapfd = -1;
	o->mtu = 1500;
	o->forward_fwmark = 0x5334; /* "S4" */
	o->tcp_bypass = true;
	o->busy_poll_us = SPIN_DEFAULT_US;
	o->forward_table = 0x5334;
}

/**
 * parse_one() - Handle one option from getopt_long()
 * @o:		options being filled
 * @c:		getopt's return value
 * @argv0:	for the usage text
 * Return: -1 to go on, else the exit status
 */
static int parse_one(struct opts *o, int c, const char *argv0)
{
	switch (c) {
	case 'c':
		o->configure = true;
		break;
	case 'e':
		if (parse_fd(optarg, &o->exit_fd) < 0) {
			fprintf(stderr,
				"exit-fd must be a non-negative integer\n");
			return 1;
		}
		break;
	case 'r':
		if (parse_fd(optarg, &o->ready_fd) < 0) {
			fprintf(stderr,
				"ready-fd must be a non-negative integer\n");
			return 1;
		}
		break;
	case 'm':
		if (parse_mtu(optarg, &o->mtu) < 0) {
			fprintf(stderr,
				"MTU must be a positive integer (< 65522)\n");
			return 1;
		}
		break;
	case '6':
		o->ipv6 = true;
		printf("WARNING: Support for IPv6 is experimental\n");
		break;
	case 'a':
		o->api_socket = optarg;
		break;
	case OPT_CIDR:
		o->cidr = optarg;
		break;
	case OPT_CIDR6:
		o->cidr6 = optarg;
		break;
	case OPT_IPV6_RANDOM:
		o->ipv6_random = true;
		break;
	case OPT_NO_HOST_LOOPBACK:
		printf("WARNING: --no-host-loopback is deprecated and will be "
		       "removed in future releases, please use "
		       "--disable-host-loopback instead.\n");
		/* fall through */
	case OPT_DISABLE_HOST_LOOPBACK:
		o->disable_host_loopback = true;
		break;
	case OPT_NETNS_TYPE:
		if (!strcmp(optarg, "pid"))
			o->netns_type = NETNS_PID;
		else if (!strcmp(optarg, "tapfd"))
			o->netns_type = NETNS_TAPFD;
		else /* upstream takes any other word as "path" */
			o->netns_type = NETNS_PATH;
		break;
	case OPT_USERNS_PATH:
		o->userns_path = optarg;
		if (access(optarg, F_OK) < 0) {
			fprintf(stderr, "userns path doesn't exist: %s\n",
				optarg);
			return 1;
		}
		break;
	case OPT_CREATE_SANDBOX:
		printf("WARNING: --create-sandbox is deprecated and will be "
		       "removed in future releases, please use "
		       "--enable-sandbox instead.\n");
		/* fall through */
	case OPT_ENABLE_SANDBOX:
		o->sandbox = true;
		break;
	case OPT_ENABLE_SECCOMP:
		printf("WARNING: Support for seccomp is experimental\n");
		o->seccomp = true;
		break;
	case OPT_OUTBOUND_ADDR:
		printf("WARNING: Support for --outbound-addr is "
		       "experimental\n");
		o->outbound_addr = optarg;
		break;
	case OPT_OUTBOUND_ADDR6:
		printf("WARNING: Support for --outbound-addr6 is "
		       "experimental\n");
		o->outbound_addr6 = optarg;
		break;
	case OPT_DISABLE_DNS:
		o->disable_dns = true;
		break;
	case OPT_MACADDRESS:
		o->macaddress = optarg;
		break;
	case OPT_TARGET_TYPE:
		if (!strcmp(optarg, "netns")) {
			o->target_type = TARGET_NETNS;
		} else if (!strcmp(optarg, "bess")) {
			o->target_type = TARGET_BESS;
		} else {
			fprintf(stderr, "--target-type must be either "
					"\"netns\" or \"bess\"\n");
			return 1;
		}
		break;
	case OPT_FORWARD_MODE:
		if (strcmp(optarg, "splice") && strcmp(optarg, "slirp")) {
			fprintf(stderr, "--forward-mode must be either "
					"\"splice\" or \"slirp\"\n");
			return 1;
		}
		o->forward_slirp = !strcmp(optarg, "slirp");
		break;
	case OPT_FORWARD_FWMARK:
		/* the seven marks after it are ours too (ns/synq.h,
		 * ns/udpreply.h) */
		if (parse_u32(optarg, &o->forward_fwmark) < 0 ||
		    o->forward_fwmark > UINT32_MAX - 7) {
			fprintf(stderr, "--forward-fwmark must be a positive "
					"32-bit integer, below 0xfffffff9\n");
			return 1;
		}
		break;
	case OPT_FORWARD_TABLE:
		/* 253-255 are default, main and local */
		if (parse_u32(optarg, &o->forward_table) < 0 ||
		    (o->forward_table >= 253 && o->forward_table <= 255)) {
			fprintf(stderr, "--forward-table must be a positive "
					"32-bit integer, not 253, 254 or 255\n");
			return 1;
		}
		break;
	case OPT_ENABLE_TCP_BYPASS:
		o->tcp_bypass = true;
		break;
	case OPT_DISABLE_TCP_BYPASS:
		o->tcp_bypass = false;
		break;
	case OPT_BUSY_POLL:
		if (parse_uint(optarg, BUSY_POLL_MAX_US, &o->busy_poll_us) < 0) {
			fprintf(stderr, "--busy-poll must be an integer from 0 "
					"to %d (microseconds)\n",
				BUSY_POLL_MAX_US);
			return 1;
		}
		break;
	case 'h':
		opts_usage(argv0);
		return 0;
	case 'v':
		opts_version();
		return 0;
	default: /* getopt printed "unrecognized option" */
		return 1;
	}
	return -1;
}

/**
 * check_bess() - Combinations and positionals of --target-type=bess
 * @o:		options
 * @argc:	positional count
 * @argv:	positionals
 * Return: -1 to go on, else the exit status (usage follows)
 */
static int check_bess(struct opts *o, int argc, char **argv, bool set[3])
{
	static const char *conflicts[] = { "--configure", "--netns-type",
					   "--userns-path" };

	for (unsigned i = 0; i < ARRAY_SIZE(conflicts); i++) {
		if (set[i]) {
			fprintf(stderr,
				"%s conflicts with --target-type=bess\n",
				conflicts[i]);
			return 1;
		}
	}
	if (argc < 1)
		return 1;
	if (argc > 1) {
		fprintf(stderr, "too many arguments\n");
		return 1;
	}
	printf("WARNING: BESS mode is experimental\n");
	o->bess_path = argv[0];
	return -1;
}

/**
 * check_positionals() - PID|PATH|FD and TAPNAME
 * @o:		options
 * @argc:	positional count
 * @argv:	positionals
 * Return: -1 to go on, else the exit status (usage follows)
 */
static int check_positionals(struct opts *o, int argc, char **argv)
{
	char *end;
	long v;

	if (o->netns_type == NETNS_TAPFD) {
		if (argc < 1 || parse_fd(argv[0], &o->tapfd) < 0) {
			fprintf(stderr, "TAPFD must a file descriptor\n");
			return 1;
		}
		if (argc > 1)
			printf("WARNING: too many arguments\n");
		return -1;
	}
	if (argc < 2)
		return 1;
	if (argc > 2)
		printf("WARNING: too many arguments\n");
	if (o->netns_type == NETNS_PID) {
		errno = 0;
		v = strtol(argv[0], &end, 10);
		if (errno || end == argv[0] || *end || v <= 0 ||
		    v > INT32_MAX) {
			fprintf(stderr, "PID must be a positive integer\n");
			return 1;
		}
		o->pid = v;
	} else {
		o->netns_path = argv[0];
		if (access(o->netns_path, F_OK) < 0) {
			perror("existing path expected when "
			       "--netns-type=path");
			return 1;
		}
	}
	o->tapname = argv[1];
	return -1;
}

/**
 * iface_addr() - First address of family @af on interface @name
 * @name:	interface name
 * @af:		AF_INET or AF_INET6
 * @out:	struct in_addr or struct in6_addr
 * Return: 0, or -ENOENT
 */
static int iface_addr(const char *name, int af, void *out)
{
	struct ifaddrs *all, *i;
	int rc = -ENOENT;

	if (getifaddrs(&all) < 0)
		return -errno;
	for (i = all; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != af ||
		    strcmp(i->ifa_name, name))
			continue;
		if (af == AF_INET)
			*(struct in_addr *)out =
				((struct sockaddr_in *)i->ifa_addr)->sin_addr;
		else
			*(struct in6_addr *)out =
				((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
		rc = 0;
		break;
	}
	freeifaddrs(all);
	return rc;
}

/**
 * derive() - Network, outbound addresses and MAC from the options
 * @o:		options
 * Return: -1 to go on, else the exit status (no usage: upstream prints none)
 */
static int derive(struct opts *o)
{
	struct err e = { 0 };

	if (netcfg_cidr4(&o->net, o->cidr ? o->cidr : "10.0.2.0/24", &e) < 0)
		goto fail;
	if (o->cidr6 && o->ipv6_random) {
		err_set(&e, -EINVAL, "--cidr6 conflicts with --ipv6-random");
		goto fail;
	}
	if (o->ipv6_random) {
		uint8_t rnd[5];

		if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) {
			perror("getrandom");
			return 1;
		}
		netcfg_random6(&o->net, rnd);
	} else if (netcfg_cidr6(&o->net, o->cidr6 ? o->cidr6 : "fd00::/64",
				&e) < 0) {
		goto fail;
	}
	if ((o->cidr6 || o->ipv6_random) && !o->ipv6)
		printf("WARNING: --cidr6 and --ipv6-random have no effect "
		       "without --enable-ipv6\n");
	if (o->outbound_addr) {
		o->out4.sin_family = AF_INET;
		if (inet_pton(AF_INET, o->outbound_addr,
			      &o->out4.sin_addr) != 1 &&
		    iface_addr(o->outbound_addr, AF_INET,
			       &o->out4.sin_addr) < 0) {
			err_set(&e, -EINVAL,
				"outbound-addr has to be valid ipv4 address "
				"or interface name.");
			goto fail;
		}
		o->has_out4 = true;
	}
	if (o->outbound_addr6) {
		o->out6.sin6_family = AF_INET6;
		/* upstream looked up the --outbound-addr string here (bug) */
		if (inet_pton(AF_INET6, o->outbound_addr6,
			      &o->out6.sin6_addr) != 1 &&
		    iface_addr(o->outbound_addr6, AF_INET6,
			       &o->out6.sin6_addr) < 0) {
			err_set(&e, -EINVAL,
				"outbound-addr has to be valid ipv6 address "
				"or interface name.");
			goto fail;
		}
		o->has_out6 = true;
	}
	if (o->macaddress && netcfg_mac(o->macaddress, o->mac, &e) < 0)
		goto fail;
	return -1;
fail:
	fprintf(stderr, "%s\n", e.msg);
	return 1;
}

int opts_parse(struct opts *o, int argc, char **argv)
{
	bool bess_conflicts[3] = { false };
	int c, rc;

	opts_init(o);
	optind = 0; /* full re-initialisation: the unit tests parse often */
	while ((c = getopt_long(argc, argv, "ce:r:m:a:6hv", longopts, NULL)) !=
	       -1) {
		if (c == OPT_NETNS_TYPE)
			bess_conflicts[1] = true;
		if (c == OPT_USERNS_PATH)
			bess_conflicts[2] = true;
		rc = parse_one(o, c, argv[0]);
		if (rc == 1)
			goto usage;
		if (rc >= 0)
			return rc;
	}
	if (o->macaddress && !o->configure) {
		fprintf(stderr, "--macaddr cannot be specified when "
				"--configure or -c is not specified\n");
		goto usage;
	}
	bess_conflicts[0] = o->configure;
	if (o->target_type == TARGET_BESS)
		rc = check_bess(o, argc - optind, argv + optind,
				bess_conflicts);
	else
		rc = check_positionals(o, argc - optind, argv + optind);
	if (rc >= 0)
		goto usage;
	if (o->netns_type == NETNS_TAPFD && o->configure)
		printf("WARNING: --configure has no effect with "
		       "--netns-type=tapfd\n");
	return derive(o);
usage:
	opts_usage(argv[0]);
	return 1;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_OPTIONS_H
#define S4_OPTIONS_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "netcfg.h"

enum { BUSY_POLL_MAX_US = 1000 };
enum netns_type { NETNS_PID, NETNS_PATH, NETNS_TAPFD };
enum target_type { TARGET_NETNS, TARGET_BESS };

/* Everything the command line says, checked, plus what is derived from it. */
struct opts {
	bool configure, ipv6, ipv6_random, disable_host_loopback;
	bool sandbox, seccomp, disable_dns;
	int exit_fd, ready_fd;
	unsigned mtu;
	const char *api_socket, *cidr, *cidr6, *userns_path;
	const char *outbound_addr, *outbound_addr6, *macaddress;
	enum netns_type netns_type;
	enum target_type target_type;
	bool forward_slirp; /* --forward-mode=slirp: TCP forwards too */
	uint32_t forward_fwmark, forward_table;
	bool tcp_bypass; /* not --disable-tcp-bypass (fwd/bypass.c) */
	unsigned busy_poll_us; /* --busy-poll (ring/spin.c) */

	/* positionals: one of pid, netns_path, tapfd or bess_path */
	pid_t pid;
	const char *netns_path, *bess_path;
	int tapfd;
	const char *tapname;

	/* derived */
	struct netcfg net;
	uint8_t mac[6];
	struct sockaddr_in out4;
	struct sockaddr_in6 out6;
	bool has_out4, has_out6;
};

/**
 * opts_parse() - Parse and check the command line, as slirp4netns does
 * @o:		filled
 * @argc:	from main()
 * @argv:	from main()
 *
 * Prints what slirp4netns prints (usage and --version on stdout, errors on
 * stderr, WARNING lines on stdout).
 * Return: -1 to go on, else the status to exit with
 */
int opts_parse(struct opts *o, int argc, char **argv);

void opts_usage(const char *argv0);
void opts_version(void);

#endif

// SPDX-License-Identifier: GPL-2.0-or-later
/* main.c - slirp4netns: options, helper and TAP, banner, loop, exit.
 * Start-up follows slirp4netns (UPSTREAM.md §6) so that what clients see,
 * and when, is the same. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "ctx.h"
#include "loop.h"
#include "sandbox.h"

static void raise_nofile(void)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
		r.rlim_cur = r.rlim_max;
		setrlimit(RLIMIT_NOFILE, &r);
	}
}

/**
 * fix_mmap_threshold() - Keep libslirp's socket buffers in their own maps
 *
 * libslirp gives each TCP connection two buffers of about 128 KiB. With
 * glibc's sliding threshold the first free() moves them onto the heap,
 * where a flood of short connections (a SYN flood from the namespace, say)
 * left 160 MB resident after it was over; at a fixed threshold they are
 * mapped and unmapped with their connection: 5 MB.
 */
static void fix_mmap_threshold(void)
{
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
}

static const char *ntop4(struct in_addr a, char *buf)
{
	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

/* stdout, as upstream; flushed, unlike upstream, so logs show it at once */
static void banner(const struct opts *o)
{
	char b[INET6_ADDRSTRLEN];
	const struct netcfg *n = &o->net;

	printf("Starting slirp\n");
	printf("* MTU:             %u\n", o->mtu);
	printf("* Network:         %s\n", ntop4(n->net, b));
	printf("* Netmask:         %s\n", ntop4(n->mask, b));
	printf("* Gateway:         %s\n", ntop4(n->host, b));
	printf("* DNS:             %s\n", ntop4(n->dns, b));
	printf("* DHCP begin:      %s\n", ntop4(n->dhcp_start, b));
	printf("* DHCP end:        %s\n", ntop4(n->dhcp_end, b));
	printf("* Recommended IP:  %s\n", ntop4(n->guest, b));
	if (o->ipv6 && (o->cidr6 || o->ipv6_random))
		printf("* IPv6 Network:    %s/64\n",
		       inet_ntop(AF_INET6, &n->net6, b, sizeof(b)));
	if (o->api_socket)
		printf("* API Socket:      %s\n", o->api_socket);
	if (o->has_out4)
		printf("* Outbound IPv4:    %s\n", ntop4(o->out4.sin_addr, b));
	if (o->has_out6)
		printf("* Outbound IPv6:    %s\n",
		       inet_ntop(AF_INET6, &o->out6.sin6_addr, b, sizeof(b)));
	if (o->macaddress)
		printf("* MAC address:     %02x:%02x:%02x:%02x:%02x:%02x\n",
		       o->mac[0], o->mac[1], o->mac[2], o->mac[3], o->mac[4],
		       o->mac[5]);
	if (!o->disable_host_loopback)
		printf("WARNING: 127.0.0.1:* on the host is accessible as %s "
		       "(set --disable-host-loopback to prohibit connecting "
		       "to 127.0.0.1:*)\n",
		       ntop4(n->host, b));
	fflush(stdout);
}

/* -r: one byte, then close. Errors are ignored, as upstream. */
static void signal_ready(int fd)
{
	ssize_t n;

	if (fd < 0)
		return;
	do
		n = write(fd, "1", 1);
	while (n < 0 && errno == EINTR);
	close(fd);
}

/**
 * check_fds() - The fds named on the command line must be open
 * @o:		options
 *
 * slirp4netns exits 0 at once on a closed exit-fd; an error says why.
 * Return: 0, or the exit status
 */
static int check_fds(const struct opts *o)
{
	if (o->exit_fd >= 0 && fcntl(o->exit_fd, F_GETFD) < 0) {
		log_perror("exit-fd %d", o->exit_fd);
		return 1;
	}
	if (o->netns_type == NETNS_TAPFD && o->target_type == TARGET_NETNS &&
	    fcntl(o->tapfd, F_GETFD) < 0) {
		log_perror("TAP fd %d", o->tapfd);
		return 1;
	}
	return 0;
}

static int start_tap(struct ctx *c, int *tapfd)
{
	if (c->o->target_type == TARGET_NETNS &&
	    c->o->netns_type == NETNS_TAPFD) {
		*tapfd = c->o->tapfd;
		return 0;
	}
	return helper_start(c->o, &c->helper, tapfd);
}

/**
 * setup() - What happens between the banner and the ready byte, in
 * slirp4netns's order: the sandbox's user namespace (while we still have
 * one thread), ring and libslirp and API socket, sandbox, seccomp
 * @c:		context
 * @tapfd:	the TAP
 * @e:		message on failure
 * Return: 0 or -errno
 */
static int setup(struct ctx *c, int tapfd, struct err *e)
{
	const struct opts *o = c->o;
	int rc = 0;

	if (o->sandbox && (rc = sandbox_enter_userns(o, e)) < 0)
		return rc;
	rc = loop_init(c, tapfd, e);
	if (!rc && o->sandbox && (rc = sandbox_apply(o, e)) < 0)
		err_set(e, rc, "%s\ncreate_sandbox failed", e->msg);
	if (!rc && o->seccomp && (rc = seccomp_apply(e)) < 0)
		err_set(e, rc, "%s\nenable_seccomp failed", e->msg);
	return rc;
}

int main(int argc, char **argv)
{
	struct ctx c = { .sigfd = -1 };
	struct err e = { 0 };
	struct opts o;
	int rc, tapfd;

	rc = opts_parse(&o, argc, argv);
	fflush(stdout);
	if (rc >= 0)
		return rc;
	c.o = &o;
	c.helper.sock = -1;
	c.helper.bess_listener = -1;
	raise_nofile();
	fix_mmap_threshold();
	signal(SIGPIPE, SIG_IGN);
	rc = check_fds(&o);
	if (rc)
		return rc;
	rc = start_tap(&c, &tapfd);
	if (rc)
		return rc;
	banner(&o);
	if (setup(&c, tapfd, &e) < 0) {
		log_err("%s", e.msg);
		log_err("do_slirp is exiting");
		log_err("do_slirp failed");
		log_err("parent failed");
		loop_cleanup(&c);
		helper_stop(&c.helper);
		fflush(stdout);
		return 1;
	}
	fflush(stdout);
	signal_ready(o.ready_fd);
	rc = loop_run(&c);
	if (!c.quit_signal)
		log_info("do_slirp is exiting");
	loop_cleanup(&c);
	helper_stop(&c.helper);
	fflush(stdout);
	if (c.quit_signal) {
		sigset_t set;

		/* die of the same signal, so the status is what it was */
		sigemptyset(&set);
		sigaddset(&set, c.quit_signal);
		signal(c.quit_signal, SIG_DFL);
		raise(c.quit_signal);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
	}
	return rc;
}

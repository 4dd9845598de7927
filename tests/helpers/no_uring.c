// SPDX-License-Identifier: GPL-2.0-or-later
/* no_uring - run a command where io_uring_setup(2) fails with EPERM, as under
 * Docker's default seccomp profile or kernel.io_uring_disabled=2.
 * Usage: no_uring COMMAND [ARG]... */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	scmp_filter_ctx f;

	if (argc < 2) {
		fprintf(stderr, "usage: no_uring COMMAND [ARG]...\n");
		return 2;
	}
	f = seccomp_init(SCMP_ACT_ALLOW);
	if (!f || seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM),
				   SCMP_SYS(io_uring_setup), 0) < 0 ||
	    seccomp_load(f) < 0) {
		perror("no_uring: seccomp");
		return 2;
	}
	execvp(argv[1], argv + 1);
	perror(argv[1]);
	return 127;
}

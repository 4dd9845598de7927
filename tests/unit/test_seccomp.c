// SPDX-License-Identifier: GPL-2.0-or-later
/* --enable-seccomp: what each filter denies, and that what each process
 * needs still works behind it. Every test runs in its own process. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <linux/io_uring.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox.h"
#include "ns/helper.h"

static void apply_main(void)
{
	struct err e = { 0 };

	cr_assert_eq(seccomp_apply(&e), 0, "%s", e.msg);
}

Test(seccomp, main_denies_execve, .signal = SIGSYS)
{
	char *argv[] = { "true", NULL };

	apply_main();
	execv("/bin/true", argv);
	cr_assert_fail("execve returned");
}

/* io_uring operations bypass seccomp: a second ring must not be had */
Test(seccomp, main_denies_io_uring_setup, .signal = SIGSYS)
{
	struct io_uring_params p = { 0 };

	apply_main();
	syscall(__NR_io_uring_setup, 4, &p);
	cr_assert_fail("io_uring_setup returned");
}

Test(seccomp, main_denies_setns, .signal = SIGSYS)
{
	apply_main();
	setns(0, 0);
	cr_assert_fail("setns returned");
}

/* In a child of the test, so that a sanitizer's leak check at exit (it
 * needs ptrace) does not meet the filter. */
Test(seccomp, main_keeps_sockets_working)
{
	pid_t pid = fork();
	int ws;

	if (pid == 0) {
		struct err e = { 0 };
		int sv[2];
		char b[4];

		if (seccomp_apply(&e) < 0 ||
		    socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 ||
		    write(sv[0], "abc", 3) != 3 || read(sv[1], b, 4) != 3)
			_exit(1);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &ws, 0), pid);
	cr_assert(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "status %#x", ws);
}

static void apply_helper(void)
{
	struct err e = { 0 };

	cr_assert_eq(seccomp_helper_apply(&e), 0, "%s", e.msg);
}

/* A helper behind its filter still serves IP sockets; anything else it is
 * asked for fails; it exits 0 when its parent hangs up. */
Test(seccomp, helper_serves_ip_sockets_only)
{
	struct helper h;
	int sv[2], fd, ws;
	pid_t pid;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	pid = fork();
	if (pid == 0) {
		struct err e = { 0 };

		close(sv[0]);
		if (seccomp_helper_apply(&e) < 0)
			_exit(2);
		helper_serve(sv[1], NULL);
		_exit(0);
	}
	close(sv[1]);
	h = (struct helper){ .pid = 0, .sock = sv[0] };
	fd = helper_socket(&h, AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(fd, 0);
	close(fd);
	fd = helper_socket(&h, AF_INET6, SOCK_DGRAM, 0);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(helper_socket(&h, AF_NETLINK, SOCK_RAW, 0), -EAFNOSUPPORT);
	cr_assert_eq(helper_socket(&h, AF_PACKET, SOCK_RAW, 0), -EAFNOSUPPORT);
	cr_assert_eq(helper_socket(&h, AF_UNIX, SOCK_STREAM, 0), -EAFNOSUPPORT);
	fd = helper_socket(&h, AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(fd, 0, "still serving after refusals");
	close(fd);
	close(sv[0]);
	cr_assert_eq(waitpid(pid, &ws, 0), pid);
	cr_assert(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "status %#x", ws);
}

/* The helper builds its nftables batches on the heap: growing it (brk, or
 * mmap for a large block) must not kill it; executable memory is denied. */
Test(seccomp, helper_may_grow_its_heap)
{
	pid_t pid = fork();
	int ws;

	if (pid == 0) {
		struct err e = { 0 };
		void *p;

		if (seccomp_helper_apply(&e) < 0)
			_exit(2);
		for (int i = 0; i < 4096; i++)
			if (!malloc(4096)) /* brk, past the first heap */
				_exit(3);
		p = malloc(64 << 20); /* mmap'd by malloc */
		if (!p)
			_exit(4);
		memset(p, 1, 64 << 20);
		free(p);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &ws, 0), pid);
	cr_assert(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "status %#x", ws);
}

Test(seccomp, helper_denies_exec_memory, .signal = SIGSYS)
{
	apply_helper();
	mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
	     -1, 0);
	cr_assert_fail("mmap returned");
}

Test(seccomp, helper_denies_open, .signal = SIGSYS)
{
	apply_helper();
	open("/etc/passwd", O_RDONLY);
	cr_assert_fail("open returned");
}

Test(seccomp, helper_denies_connect, .signal = SIGSYS)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET };

	apply_helper();
	connect(fd, (struct sockaddr *)&a, sizeof(a));
	cr_assert_fail("connect returned");
}

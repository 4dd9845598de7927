// SPDX-License-Identifier: GPL-2.0-or-later
/* The helper's socket-factory protocol, served by a forked helper_serve(). */
#include <criterion/criterion.h>
#include <errno.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ns/helper.h"

/* A helper serving on one end of a pair, in a child, as helper_start()
 * would have it after the TAP. */
static void start_helper(struct helper *h)
{
	int sv[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	h->pid = fork();
	if (h->pid == 0) {
		close(sv[0]);
		helper_serve(sv[1], NULL);
		_exit(0);
	}
	close(sv[1]);
	h->sock = sv[0];
}

Test(helper, makes_sockets_until_eof)
{
	struct helper h;
	int fd, type, st;
	socklen_t len = sizeof(type);

	start_helper(&h);
	fd = helper_socket(&h, AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len), 0);
	cr_assert_eq(type, SOCK_STREAM);
	close(fd);
	fd = helper_socket(&h, AF_INET6, SOCK_DGRAM, 0);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(helper_socket(&h, 12345, SOCK_STREAM, 0), -EAFNOSUPPORT);
	helper_stop(&h);
	cr_assert_eq(h.pid, 0);
	(void)st;
}

Test(helper, no_helper)
{
	struct helper h = { 0, -1 };

	cr_assert_eq(helper_socket(&h, AF_INET, SOCK_STREAM, 0), -ENOTCONN);
}

/* A pool's batch: n sockets for one round trip, and a failed batch leaves
 * the protocol in step for the next request. */
Test(helper, batch_of_sockets)
{
	struct helper h;
	int fds[HELPER_BATCH], type;
	socklen_t len = sizeof(type);

	start_helper(&h);
	cr_assert_eq(helper_sockets(&h, AF_INET, SOCK_STREAM, 0, fds, 5), 5);
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(getsockopt(fds[i], SOL_SOCKET, SO_TYPE, &type,
					&len),
			     0);
		cr_assert_eq(type, SOCK_STREAM);
		close(fds[i]);
	}
	cr_assert_eq(helper_sockets(&h, 12345, SOCK_STREAM, 0, fds, 3), -EAFNOSUPPORT);
	cr_assert_eq(helper_sockets(&h, AF_INET6, SOCK_STREAM, 0, fds, 0), -EINVAL);
	cr_assert_eq(helper_sockets(&h, AF_INET6, SOCK_STREAM, 0, fds, 2), 2, "in step");
	close(fds[0]);
	close(fds[1]);
	helper_stop(&h);
}

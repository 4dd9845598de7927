// SPDX-License-Identifier: GPL-2.0-or-later
/* fdlimit.c - how close the process is to RLIMIT_NOFILE.
 * fds are handed out lowest first, so the lowest free one being near the
 * limit means that almost none are left; one F_DUPFD finds it. */
#include <fcntl.h>
#include <limits.h>
#include <sys/resource.h>
#include <unistd.h>

#include "fdlimit.h"

enum { FDLIMIT_RESERVE = 16 };

unsigned long fdlimit_max(void)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };

	getrlimit(RLIMIT_NOFILE, &rl);
	return rl.rlim_cur;
}

unsigned fdlimit_spare(int any_fd)
{
	unsigned long limit = fdlimit_max(), reserve;
	int n = fcntl(any_fd, F_DUPFD_CLOEXEC, 0);

	if (n < 0)
		return 0;
	close(n);
	if (limit == RLIM_INFINITY || limit > INT_MAX)
		return INT_MAX;
	reserve = limit < 4 * FDLIMIT_RESERVE ? limit / 4 : FDLIMIT_RESERVE;
	return n + reserve < limit ? limit - reserve - n : 0;
}

bool fdlimit_room(int any_fd, unsigned need)
{
	return fdlimit_spare(any_fd) >= need;
}

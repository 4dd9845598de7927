// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../options.h"
#include "nsenter.h"

static int open_ns(const char *path, struct err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return err_set(e, -errno, "%s: %s", path, strerror(errno));
	return fd;
}

/**
 * same_netns() - Is @fd the network namespace we run in?
 * @fd:		an open namespace file
 * Return: true if it is
 */
static bool same_netns(int fd)
{
	struct stat a, b;

	if (fstat(fd, &a) < 0 || stat("/proc/self/ns/net", &b) < 0)
		return false;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int ns_enter(const struct opts *o, struct err *e)
{
	char net[PATH_MAX], user[PATH_MAX];
	const char *userns = o->userns_path;
	int netfd, userfd = -1, rc = 0;

	if (o->netns_type == NETNS_PID) {
		snprintf(net, sizeof(net), "/proc/%d/ns/net", o->pid);
		snprintf(user, sizeof(user), "/proc/%d/ns/user", o->pid);
		if (!userns)
			userns = user;
	} else {
		snprintf(net, sizeof(net), "%s", o->netns_path);
	}
	netfd = open_ns(net, e);
	if (netfd < 0)
		return netfd;
	if (same_netns(netfd)) {
		rc = err_set(e, -EEXIST,
			     "%s is the network namespace slirp4netns runs "
			     "in: refusing to add a TAP device and routes to "
			     "it (wrong PID or path?)",
			     net);
		goto out;
	}
	if (userns) {
		userfd = open_ns(userns, e);
		if (userfd < 0) {
			rc = userfd;
			goto out;
		}
		/* as upstream: failure is fine (already in it, or privileged
		 * over the netns anyway) */
		if (setns(userfd, CLONE_NEWUSER) < 0 && errno != EINVAL &&
		    errno != EPERM)
			log_perror("setns(CLONE_NEWUSER)");
		close(userfd);
	}
	if (setns(netfd, CLONE_NEWNET) < 0)
		rc = err_set(e, -errno, "setns(CLONE_NEWNET): %s",
			     strerror(errno));
out:
	close(netfd);
	return rc;
}

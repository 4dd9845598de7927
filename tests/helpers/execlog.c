// SPDX-License-Identifier: GPL-2.0-or-later
/* execlog.c - run a command and write down every program it, or anything
 * it starts, executes: execlog OUT CMD [ARG]...
 *
 * For scripts/check-deps.sh: each path in OUT must come from a package
 * that scripts/deps.sh installs, or the suite would fail on a fresh
 * machine that lacks it while passing on this one.
 *
 * fanotify's FAN_OPEN_EXEC_PERM stops every execve() on the root's
 * filesystem (whatever mount namespace it runs in) until we answer, so
 * the process is still there to be asked who its parents are; we answer
 * "allow" to all. Only descendants count (other users of the machine do
 * not): we are a child subreaper, so a daemon that double-forks (conmon)
 * is still ours. Needs CAP_SYS_ADMIN; the exit status is the command's.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

enum { ORPHAN_MS = 5000 };

/* Is @pid ours: a descendant of this process? */
static int ours(pid_t pid)
{
	pid_t self = getpid();

	for (int depth = 0; pid > 1 && depth < 256; depth++) {
		char path[64], buf[512], *p;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		f = fopen(path, "re");
		if (!f)
			return 0;
		p = fgets(buf, sizeof(buf), f);
		fclose(f);
		p = p ? strrchr(buf, ')') : NULL;
		if (!p || sscanf(p + 2, "%*c %d", &pid) != 1)
			return 0;
		if (pid == self)
			return 1;
	}
	return 0;
}

/* Answer every queued event; log the programs our descendants run. */
static void drain(int fan, FILE *out)
{
	char buf[8192] __attribute__((aligned(8)));
	ssize_t n;

	while ((n = read(fan, buf, sizeof(buf))) > 0) {
		struct fanotify_event_metadata *m = (void *)buf;

		for (; FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n)) {
			struct fanotify_response r = { m->fd, FAN_ALLOW };
			char link[64], path[PATH_MAX];
			ssize_t len;

			if (m->fd < 0)
				continue;
			snprintf(link, sizeof(link), "/proc/self/fd/%d",
				 m->fd);
			len = readlink(link, path, sizeof(path) - 1);
			if (len > 0 && ours(m->pid)) {
				path[len] = '\0';
				fprintf(out, "%s\n", path);
			}
			if (write(fan, &r, sizeof(r)) < 0)
				perror("execlog: fanotify response");
			close(m->fd);
		}
	}
}

int main(int argc, char **argv)
{
	int fan, status = 0;
	pid_t child;
	FILE *out;

	if (argc < 3) {
		fprintf(stderr, "usage: execlog OUT CMD [ARG]...\n");
		return 2;
	}
	out = fopen(argv[1], "we");
	fan = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK,
			    O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (!out || fan < 0 ||
	    fanotify_mark(fan, FAN_MARK_ADD | FAN_MARK_FILESYSTEM,
			  FAN_OPEN_EXEC_PERM, AT_FDCWD, "/") < 0) {
		perror("execlog");
		return 2;
	}
	setvbuf(out, NULL, _IOLBF, 0);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	child = fork();
	if (child == 0) {
		execvp(argv[2], argv + 2);
		perror(argv[2]);
		_exit(127);
	}
	/* until the command is over and the orphans it left to us are too,
	 * or have had ORPHAN_MS more */
	for (int after = -1; after < ORPHAN_MS;) {
		struct pollfd p = { fan, POLLIN, 0 };
		int ws;
		pid_t w;

		poll(&p, 1, 100);
		drain(fan, out);
		while ((w = waitpid(-1, &ws, WNOHANG)) > 0)
			if (w == child) {
				status = ws;
				after = 0;
			}
		if (w < 0 && errno == ECHILD)
			break;
		if (after >= 0)
			after += 100;
	}
	drain(fan, out);
	fclose(out);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

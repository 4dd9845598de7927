/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_SANDBOX_H
#define S4_SANDBOX_H

#include <stdbool.h>

#include "err.h"

struct opts;

/**
 * sandbox_enter_userns() - Become root in the target's user namespace
 * @o:		options (PID, or --userns-path)
 * @e:		message on failure
 *
 * Only for a non-root caller, and before the ring exists: setns() into a
 * user namespace needs a single-threaded process. Unlike slirp4netns, path
 * mode works too, through --userns-path.
 * Return: 0 or -errno
 */
int sandbox_enter_userns(const struct opts *o, struct err *e);

/**
 * sandbox_keeps_net_admin() - Whether we hold CAP_NET_ADMIN over the target
 * namespace for good: without --enable-sandbox, or in the target's user
 * namespace (non-root) while the kernel path is on
 * @o:		options
 *
 * Call after sandbox_enter_userns().
 * Return: true if so
 */
bool sandbox_keeps_net_admin(const struct opts *o);

/**
 * sandbox_apply() - A mount namespace with only /etc and /run, read-only,
 * and no capability but CAP_NET_BIND_SERVICE, and CAP_NET_ADMIN where
 * sandbox_keeps_net_admin() says
 * @o:		options
 * @e:		slirp4netns's message on failure
 * Return: 0 or -errno
 */
int sandbox_apply(const struct opts *o, struct err *e);

/**
 * sandbox_helper_apply() - Confine the helper, which lives in the target's
 * user namespace: a mount namespace of its own with an empty, read-only
 * root, no capability but CAP_NET_ADMIN (its rules and transparent
 * sockets) and CAP_NET_RAW (raw sockets for outbound UDP), no_new_privs
 * @e:		message on failure
 *
 * Call once every file it needs is open. With PR_SET_DUMPABLE 0 (set when
 * it is forked) this leaves root in the namespace nothing: ptrace and
 * /proc/PID/{root,cwd,fd,mem} need CAP_SYS_PTRACE in the user namespace
 * we were started in, and the root they would show is empty anyway.
 * Return: 0 or -errno
 */
int sandbox_helper_apply(struct err *e);

/**
 * seccomp_apply() - slirp4netns's denylist, plus io_uring_setup
 * @e:		message on failure
 *
 * Prints the list on stdout, as slirp4netns does. io_uring operations are
 * not seen by seccomp; a second ring is at least denied.
 * Return: 0 or -errno
 */
int seccomp_apply(struct err *e);

/**
 * seccomp_helper_apply() - The helper's own filter, for its serving life
 * @e:		message on failure
 *
 * An allowlist: the socket-factory protocol and IPv4/IPv6 sockets; any
 * other syscall kills it, another socket family gets EAFNOSUPPORT.
 * Return: 0 or -errno
 */
int seccomp_helper_apply(struct err *e);

#endif

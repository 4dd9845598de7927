/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_NSENTER_H
#define S4_NSENTER_H

#include "../err.h"

struct opts;

/**
 * ns_enter() - Join the target's user and network namespaces
 * @o:		options: PID, or netns path and --userns-path
 * @e:		upstream's message on failure
 *
 * The netns is opened before the userns is joined: a path under
 * /proc/PID/root is only reachable from our own mount namespace. A target
 * netns that is our own is refused: a wrong PID would otherwise put a TAP
 * and a default route into the host's namespace.
 * Return: 0 or -errno
 */
int ns_enter(const struct opts *o, struct err *e);

#endif

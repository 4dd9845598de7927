/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_LOOP_H
#define S4_LOOP_H

#include "err.h"

struct ctx;

/**
 * loop_init() - Ring, libslirp, TAP, exit-fd and signals
 * @c:		context with options set
 * @tapfd:	the TAP (or BESS) fd, owned by the loop from now on
 * @e:		message on failure
 * Return: 0 or -errno
 */
int loop_init(struct ctx *c, int tapfd, struct err *e);

/**
 * loop_run() - Run until the exit-fd, a signal or a dead TAP says stop
 * @c:		context
 * Return: the exit status
 */
int loop_run(struct ctx *c);

void loop_cleanup(struct ctx *c);

#endif

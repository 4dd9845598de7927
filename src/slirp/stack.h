/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_STACK_H
#define S4_STACK_H

#include "../err.h"

struct ctx;

/**
 * stack_new() - libslirp configured from the options, on our loop
 * @c:		context: options, ring, pollset and timers must exist
 * @e:		message on failure
 * Return: 0 (c->slirp set) or -errno
 */
int stack_new(struct ctx *c, struct err *e);

#endif

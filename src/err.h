/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_ERR_H
#define S4_ERR_H

#include "log.h"

/* An error that reaches a user carries its message with it (STYLE rule 6):
 * the CLI prints it, the API turns it into {"error":{"desc":...}}. */
struct err {
	int code;
	char msg[256];
};

/**
 * err_set() - Record an error
 * @e:		where to record it (may be NULL)
 * @code:	-errno
 * @fmt:	message
 * Return: @code, so callers can write "return err_set(e, -EINVAL, ...)"
 */
int err_set(struct err *e, int code, const char *fmt, ...) PRINTF(3, 4);

#endif

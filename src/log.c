// SPDX-License-Identifier: GPL-2.0-or-later
/* log.c - one place for diagnostics. Every line goes to stderr unbuffered and
 * whole, so the helper's and the parent's lines do not interleave mid-line. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

bool log_debug_enabled;

/**
 * vlog() - Format one line, optionally with strerror, and write it at once
 * @prefix:	text before the message ("" for none)
 * @errnum:	errno to append, 0 for none
 * @fmt:	printf format
 * @ap:		arguments
 */
static void vlog(const char *prefix, int errnum, const char *fmt, va_list ap)
{
	char buf[1024];
	int n = snprintf(buf, sizeof(buf), "%s", prefix);

	n += vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	if (n < (int)sizeof(buf) && errnum)
		n += snprintf(buf + n, sizeof(buf) - n, ": %s", strerror(errnum));
	if (n >= (int)sizeof(buf) - 1)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	fwrite(buf, 1, n, stderr);
}

#define LOG_FN(name, prefix, errexpr)                                          \
	void name(const char *fmt, ...)                                        \
	{                                                                      \
		int e = errno;                                                 \
		va_list ap;                                                    \
		va_start(ap, fmt);                                             \
		vlog(prefix, errexpr, fmt, ap);                                \
		va_end(ap);                                                    \
		errno = e;                                                     \
	}

LOG_FN(log_err, "", 0)
LOG_FN(log_warn, "WARNING: ", 0)
LOG_FN(log_info, "", 0)
LOG_FN(log_perror, "", e)

void log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_debug_enabled)
		return;
	va_start(ap, fmt);
	vlog("debug: ", 0, fmt, ap);
	va_end(ap);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("", 0, fmt, ap);
	va_end(ap);
	fflush(stdout);
	exit(EXIT_FAILURE);
}

void die_perror(const char *fmt, ...)
{
	int e = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog("", e, fmt, ap);
	va_end(ap);
	fflush(stdout);
	exit(EXIT_FAILURE);
}

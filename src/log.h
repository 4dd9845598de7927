/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_LOG_H
#define S4_LOG_H

#include <stdbool.h>
#include <stdnoreturn.h>

#define PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Diagnostics go to stderr; only the banner and upstream's WARNING lines go
 * to stdout (clients log both, none parses either). */
void log_err(const char *fmt, ...) PRINTF(1, 2);
void log_warn(const char *fmt, ...) PRINTF(1, 2);
void log_info(const char *fmt, ...) PRINTF(1, 2);
void log_debug(const char *fmt, ...) PRINTF(1, 2);
/* *_perror() variants append ": strerror(errno)". */
void log_perror(const char *fmt, ...) PRINTF(1, 2);
noreturn void die(const char *fmt, ...) PRINTF(1, 2);
noreturn void die_perror(const char *fmt, ...) PRINTF(1, 2);

/* Set from SLIRP4NETNS_DEBUG=1 at start-up. */
extern bool log_debug_enabled;

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_FDLIMIT_H
#define S4_FDLIMIT_H

#include <stdbool.h>

/**
 * fdlimit_room() - Is there room for @need more fds, above a reserve?
 * @any_fd:	an open fd, to ask F_DUPFD with
 * @need:	fds about to be opened
 *
 * Listeners ask before accepting, so that at RLIMIT_NOFILE they wait
 * instead of failing in a loop; the reserve (16, a quarter of a tiny
 * limit) keeps the API socket and the namespace's own connections working.
 * Return: true if there is
 */
bool fdlimit_room(int any_fd, unsigned need);

/* About how many fds are free above the reserve (0 if none): what a pool
 * may take without eating into it. */
unsigned fdlimit_spare(int any_fd);

/* RLIMIT_NOFILE now (soft), for messages */
unsigned long fdlimit_max(void);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_CONFIGURE_H
#define S4_CONFIGURE_H

#include "../err.h"

struct opts;

/**
 * tap_open() - Create TAPNAME, or attach to a persistent one of that name
 * @name:	interface name (truncated to 15 bytes, as upstream)
 * @e:		message on failure
 *
 * IFF_TAP|IFF_NO_PI, single queue: a tap0 that rootlesskit made beforehand
 * with "ip tuntap add" is attached to as it is.
 * Return: the fd, or -errno
 */
int tap_open(const char *name, struct err *e);

/**
 * tap_configure() - What -c does, with ioctls (no "ip" binary)
 * @name:	the TAP
 * @o:		MTU, addresses, MAC, IPv6
 * @e:		upstream's message on failure
 *
 * lo up; TAP up; MTU; MAC; net+100 and netmask; default route via net+2;
 * with -6 also P::100/64 next to the address SLAAC will add.
 * Return: 0 or -errno
 */
int tap_configure(const char *name, const struct opts *o, struct err *e);

#endif

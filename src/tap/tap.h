/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_TAP_H
#define S4_TAP_H

#include <stddef.h>
#include <stdint.h>

#include "../ring/ring.h"

struct ctx;
struct tap;

/**
 * tap_bufs() - How many ring buffers the TAP wants, and how big
 * @mtu:	the link MTU
 * @size:	set to the size of each buffer
 * Return: the number of buffers
 */
unsigned tap_bufs(unsigned mtu, size_t *size);

/**
 * tap_new() - Take over the TAP (or BESS socket) fd and start reading
 * @c:		context; c->ring must exist
 * @fd:		the fd, owned by the TAP from now on
 * Return: the TAP, or NULL (logged)
 */
struct tap *tap_new(struct ctx *c, int fd);
void tap_free(struct tap *t);

/* implements SlirpCb.send_packet */
ssize_t tap_send(const void *buf, size_t len, void *opaque);

void tap_complete(struct ctx *c, union ring_ref ref, int res, unsigned flags);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_TAP_H
#define S4_TAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../ring/ring.h"

struct ctx;
struct tap;

/**
 * tap_vnet() - Whether frames on this fd carry a virtio-net header
 * @fd:		the TAP (or BESS socket) fd
 * Return: true for a TAP opened with IFF_VNET_HDR
 */
bool tap_vnet(int fd);

/**
 * tap_bufs() - How many ring buffers the TAP wants, and how big
 * @mtu:	the link MTU
 * @vnet:	frames carry a virtio-net header (and may be 64 KiB segments)
 * @size:	set to the size of each buffer
 * Return: the number of buffers
 */
unsigned tap_bufs(unsigned mtu, bool vnet, size_t *size);

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

/* Queue the frame still growing from libslirp's segments, if any (gso.c):
 * before the loop waits. */
void tap_flush(struct tap *t);

void tap_complete(struct ctx *c, union ring_ref ref, int res, unsigned flags);

#endif

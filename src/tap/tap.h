/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_TAP_H
#define S4_TAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <slirp/libslirp.h>

#include "../ring/ring.h"

struct opts;
struct tap;
struct timers;

/* What the TAP works with besides its fd. */
struct tap_env {
	struct ring *ring;
	struct timers *timers;
	const struct opts *o; /* MTU, --target-type, the BESS path */
	/* set (to true and 1) when the device is gone: the loop ends */
	bool *quit;
	int *exit_status;
};

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
 * @env:	ring, timers, options, the loop's end (copied)
 * @fd:		the fd, owned by the TAP from now on
 * @bess_listener: BESS: the socket path's listener, for the peers after
 *		this one (owned by the TAP from now on); else -1
 * Return: the TAP, or NULL (logged)
 */
struct tap *tap_new(const struct tap_env *env, int fd, int bess_listener);
void tap_free(struct tap *t);

/* Frames from the namespace go to @slirp from now on: before the loop. */
void tap_set_slirp(struct tap *t, Slirp *slirp);

/* A frame to the namespace (SlirpCb.send_packet's work): its length, or
 * -1 if it was not sent */
ssize_t tap_send(struct tap *t, const void *buf, size_t len);

/* Looks at a frame from the namespace before libslirp does: true takes
 * it, and libslirp never sees it (slirp/reap.c: answers to its probes). */
typedef bool (*tap_watch_fn)(void *arg, const uint8_t *frame, size_t len);

/* Watch every frame with @fn from now on; NULL to stop. One at a time. */
void tap_watch(struct tap *t, tap_watch_fn fn, void *arg);

/* Queue the frame still growing from libslirp's segments, if any (gso.c):
 * before the loop waits. */
void tap_flush(struct tap *t);

void tap_complete(struct tap *t, union ring_ref ref, int res, unsigned flags);

#endif

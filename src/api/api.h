/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_API_H
#define S4_API_H

#include "../err.h"
#include "../ring/ring.h"

struct ctx;
struct api;

/**
 * api_new() - Listen on --api-socket PATH (a stale socket file is replaced)
 * @c:		context: ring, options and forward table must exist
 * @e:		upstream's message on failure
 * Return: the server, or NULL
 */
struct api *api_new(struct ctx *c, struct err *e);

/* RING_API_ACCEPT and RING_API_CONN completions */
void api_complete(struct ctx *c, union ring_ref ref, int res);

/* Close every client and the listener; unlink the socket file. */
void api_free(struct api *a);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_API_H
#define S4_API_H

#include "../err.h"
#include "../ring/ring.h"

struct api;
struct fwd_splice;
struct fwd_table;
struct opts;
struct timers;

/**
 * api_new() - Listen on --api-socket PATH (a stale socket file is replaced)
 * @ring:	accept, receive and send go here
 * @timers:	for a pause after a failed accept
 * @o:		options: the path, the network, --forward-mode
 * @fwd:	the forward table requests change
 * @splice:	whether TCP forwards may take the fast path
 * @e:		upstream's message on failure
 * Return: the server, or NULL
 */
struct api *api_new(struct ring *ring, struct timers *timers,
		    const struct opts *o, struct fwd_table *fwd,
		    const struct fwd_splice *splice, struct err *e);

/* RING_API_ACCEPT and RING_API_CONN completions */
void api_complete(struct api *a, union ring_ref ref, int res);

/* Close every client and the listener; unlink the socket file. */
void api_free(struct api *a);

#endif

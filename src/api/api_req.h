/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_API_REQ_H
#define S4_API_REQ_H

#include <stdbool.h>
#include <stddef.h>

#include "../fwd/fwd.h"
#include "../netcfg.h"

/* What a request may touch. */
struct api_env {
	struct fwd_table *fwd;
	const struct netcfg *net;
	bool ipv6;
	bool splice; /* TCP forwards without "mode" take the fast path */
};

enum { API_MAX_REQUEST = 4096 };

/**
 * api_request() - Handle one request, as slirp4netns answers it
 * @env:	forwards and network
 * @req:	the bytes received: one JSON value, and whatever followed it
 *		(ignored)
 * @len:	their length, trailing bytes included; API_MAX_REQUEST or more
 *		is "too large"
 * @reply:	set to a malloc()ed reply: compact JSON, no newline
 * Return: the reply's length, or -ENOMEM (then *reply is NULL)
 */
int api_request(const struct api_env *env, const char *req, size_t len,
		char **reply);

#endif

// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer target: any bytes as an API request. */
#include <stdlib.h>

#include "api/api_req.h"

static int fake_add(void *o, unsigned flags, const struct sockaddr *h,
		    socklen_t hl, const struct sockaddr *g, socklen_t gl)
{
	(void)o, (void)flags, (void)h, (void)hl, (void)g, (void)gl;
	return 0;
}

static int fake_remove(void *o, unsigned flags, const struct sockaddr *h,
		       socklen_t hl)
{
	(void)o, (void)flags, (void)h, (void)hl;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct fwd_backend b = { fake_add, fake_remove, NULL };
	static struct netcfg net;
	static struct fwd_table *fwd;
	struct api_env env;
	char *reply = NULL;

	if (!fwd) {
		netcfg_cidr4(&net, "10.0.2.0/24", NULL);
		netcfg_cidr6(&net, "fd00::/64", NULL);
		fwd = fwd_new(&b);
	}
	env = (struct api_env){ fwd, &net, size & 1 };
	if (api_request(&env, (const char *)data, size, &reply) >= 0)
		free(reply);
	return 0;
}

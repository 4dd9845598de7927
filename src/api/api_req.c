// SPDX-License-Identifier: GPL-2.0-or-later
/* api_req.c - the JSON API's commands (UPSTREAM.md §11, the seed's API
 * SOCKET section).
 *
 * Replies are byte for byte slirp4netns's: compact JSON, no newline,
 * {"return":...} on success except list_hostfwd's top-level {"entries":...},
 * {"error":{"desc":"bad request: ..."}} on failure. Unlike slirp4netns,
 * every argument is checked (ports are integers in 1..65535, a missing proto
 * is an error, not a crash). */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_req.h"
#include "json.h"

/* A growing reply. A failed allocation sticks and is reported at the end. */
struct sb {
	char *p;
	size_t len, cap;
	bool oom;
};

static void PRINTF(2, 3) sb_printf(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	if (!b->p) { /* so that b->p + b->len is never NULL + 0 */
		b->cap = 256;
		b->p = malloc(b->cap);
		if (!b->p) {
			b->oom = true;
			return;
		}
	}
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && b->len + n < b->cap)
			break;
		b->cap = (b->len + n + 1) * 2;
		char *q = realloc(b->p, b->cap);
		if (!q) {
			b->oom = true;
			return;
		}
		b->p = q;
	}
	b->len += n;
}

static int reply_error(struct sb *b, const char *desc)
{
	sb_printf(b, "{\"error\":{\"desc\":\"bad request: %s\"}}", desc);
	return -1;
}

/* Protocol and families from "proto": tcp|udp, with the seed's 4/6 */
static int parse_proto(const struct api_env *env, const struct json *j,
		       int t, struct fwd_spec *s, int *only)
{
	char p[8];

	if (json_str(j, t, p, sizeof(p)) < 0 || strlen(p) < 3 ||
	    strlen(p) > 4)
		return -1;
	if (!strncmp(p, "tcp", 3))
		s->udp = false;
	else if (!strncmp(p, "udp", 3))
		s->udp = true;
	else
		return -1;
	*only = p[3] == '4' ? 4 : p[3] == '6' ? 6 : 0;
	if (p[3] && !*only)
		return -1;
	return *only == 6 && !env->ipv6 ? -1 : 0;
}

/**
 * parse_host() - Families and host addresses from "host_addr"
 * @env:	-6 or not
 * @j:		request
 * @t:		the host_addr token, or -1
 * @only:	4 or 6 from the proto suffix, else 0
 * @s:		gets v4/v6 and host4/host6
 *
 * Missing or "" is the wildcard; a wildcard (0.0.0.0, ::) with plain
 * tcp/udp means IPv4, and IPv6 too with -6.
 * Return: 0 or -1
 */
static int parse_host(const struct api_env *env, const struct json *j, int t,
		      int only, struct fwd_spec *s)
{
	char a[INET6_ADDRSTRLEN] = "";
	bool wild;

	if (t >= 0 && json_str(j, t, a, sizeof(a)) < 0)
		return -1;
	if (!a[0])
		strcpy(a, only == 6 ? "::" : "0.0.0.0");
	if (inet_pton(AF_INET, a, &s->host4) == 1) {
		if (only == 6)
			return -1;
		wild = s->host4.s_addr == INADDR_ANY;
		s->v4 = true;
		s->v6 = wild && !only && env->ipv6;
		s->host6 = in6addr_any;
		return 0;
	}
	if (!env->ipv6 || only == 4 || inet_pton(AF_INET6, a, &s->host6) != 1)
		return -1;
	wild = IN6_IS_ADDR_UNSPECIFIED(&s->host6);
	s->v6 = true;
	s->v4 = wild && !only;
	s->host4.s_addr = INADDR_ANY;
	return 0;
}

/* "guest_addr": missing or "" is the -c address of each family; one that
 * nothing in the namespace could receive from the TAP (its loopback, say)
 * is refused on every path, libslirp's too (fwd_guest_reachable()) */
static int parse_guest(const struct api_env *env, const struct json *j,
		       int t, struct fwd_spec *s)
{
	char a[INET6_ADDRSTRLEN] = "";
	union {
		struct sockaddr sa;
		struct sockaddr_in sin;
		struct sockaddr_in6 sin6;
	} g = { 0 };
	bool ok = false;

	s->guest4 = env->net->guest;
	s->guest6 = env->net->guest6;
	if (t >= 0 && json_str(j, t, a, sizeof(a)) < 0)
		return -1;
	if (!a[0])
		return 0;
	if (inet_pton(AF_INET, a, &s->guest4) == 1) {
		g.sin.sin_family = AF_INET;
		g.sin.sin_addr = s->guest4;
		ok = s->v4;
	} else if (inet_pton(AF_INET6, a, &s->guest6) == 1) {
		g.sin6.sin6_family = AF_INET6;
		g.sin6.sin6_addr = s->guest6;
		ok = s->v6;
	}
	return ok && fwd_guest_reachable(&g.sa, env->net) ? 0 : -1;
}

/* "mode" (ours): "splice", the fast path, or "slirp"; without it, the
 * fast path unless --forward-mode=slirp or it is not to be had (tapfd,
 * BESS; for UDP, without the namespace's rules: see fwd/udp.c) */
static int parse_mode(const struct api_env *env, const struct json *j, int t,
		      struct fwd_spec *s)
{
	char m[8];

	if (t < 0) {
		s->splice = env->splice;
		return 0;
	}
	if (json_str(j, t, m, sizeof(m)) < 0)
		return -1;
	if (!strcmp(m, "slirp"))
		return 0;
	if (strcmp(m, "splice"))
		return -1;
	s->splice = s->asked = true;
	return 0;
}

static int port(const struct json *j, int t, uint16_t *out)
{
	long v;

	if (json_int(j, t, 1, 65535, &v) < 0)
		return -1;
	*out = v;
	return 0;
}

static int cmd_add(const struct api_env *env, const struct json *j, int args,
		   struct sb *b)
{
	struct fwd_spec s = { 0 };
	struct err e = { 0 };
	char desc[300];
	int only;
	long id;

	if (parse_proto(env, j, json_get(j, args, "proto"), &s, &only) < 0)
		return reply_error(b, "add_hostfwd: bad arguments.proto");
	if (parse_host(env, j, json_get(j, args, "host_addr"), only, &s) < 0)
		return reply_error(b, "add_hostfwd: bad arguments.host_addr");
	if (port(j, json_get(j, args, "host_port"), &s.host_port) < 0)
		return reply_error(b, "add_hostfwd: bad arguments.host_port");
	if (parse_guest(env, j, json_get(j, args, "guest_addr"), &s) < 0)
		return reply_error(b, "add_hostfwd: bad arguments.guest_addr");
	if (port(j, json_get(j, args, "guest_port"), &s.guest_port) < 0)
		return reply_error(b, "add_hostfwd: bad arguments.guest_port");
	if (parse_mode(env, j, json_get(j, args, "mode"), &s) < 0)
		return reply_error(b, "add_hostfwd: bad arguments.mode");
	id = fwd_add(env->fwd, &s, &e);
	if (id < 0) {
		snprintf(desc, sizeof(desc), "add_hostfwd: %s", e.msg);
		return reply_error(b, desc);
	}
	sb_printf(b, "{\"return\":{\"id\":%ld}}", id);
	return 0;
}

static void list_entry(struct sb *b, const struct fwd_entry *f)
{
	const struct fwd_spec *s = &f->spec;
	char a[INET6_ADDRSTRLEN];

	sb_printf(b, "{\"id\":%ld,\"proto\":\"%s\"", f->id,
		  s->udp ? "udp" : "tcp");
	if (s->v4)
		sb_printf(b, ",\"host_addr\":\"%s\"",
			  inet_ntop(AF_INET, &s->host4, a, sizeof(a)));
	if (s->v6)
		sb_printf(b, ",\"host_addr6\":\"%s\"",
			  inet_ntop(AF_INET6, &s->host6, a, sizeof(a)));
	sb_printf(b, ",\"host_port\":%u", s->host_port);
	if (s->v4)
		sb_printf(b, ",\"guest_addr\":\"%s\"",
			  inet_ntop(AF_INET, &s->guest4, a, sizeof(a)));
	if (s->v6)
		sb_printf(b, ",\"guest_addr6\":\"%s\"",
			  inet_ntop(AF_INET6, &s->guest6, a, sizeof(a)));
	sb_printf(b, ",\"guest_port\":%u}", s->guest_port);
}

static int cmd_list(const struct api_env *env, const struct json *j,
		    int args, struct sb *b)
{
	const struct fwd_entry *f;

	(void)j;
	(void)args;
	sb_printf(b, "{\"entries\":[");
	for (unsigned i = 0; (f = fwd_at(env->fwd, i)); i++) {
		if (i)
			sb_printf(b, ",");
		list_entry(b, f);
	}
	sb_printf(b, "]}");
	return 0;
}

static int cmd_remove(const struct api_env *env, const struct json *j,
		      int args, struct sb *b)
{
	struct err e = { 0 };
	char desc[300];
	long id;

	if (json_int(j, json_get(j, args, "id"), 1, LONG_MAX, &id) < 0)
		return reply_error(b, "remove_hostfwd: bad arguments.id");
	if (fwd_remove(env->fwd, id, &e) < 0) {
		snprintf(desc, sizeof(desc), "remove_hostfwd: %s", e.msg);
		return reply_error(b, desc);
	}
	sb_printf(b, "{\"return\":{}}");
	return 0;
}

static const struct api_cmd {
	const char *name;
	int (*fn)(const struct api_env *env, const struct json *j, int args,
		  struct sb *b);
} api_cmds[] = {
	{ "add_hostfwd", cmd_add },
	{ "list_hostfwd", cmd_list },
	{ "remove_hostfwd", cmd_remove },
};

static void dispatch(const struct api_env *env, const char *req, size_t len,
		     struct sb *b)
{
	size_t end;
	struct json *j;
	int exec;

	/* as slirp4netns: what was received counts, trailing bytes too (its
	 * one read() filling the 4096-byte buffer is "too large") */
	if (len >= API_MAX_REQUEST) {
		reply_error(b, "too large message");
		return;
	}
	end = json_value_end(req, len);
	if (end)
		len = end; /* what follows the first value is ignored */
	j = malloc(sizeof(*j));
	if (!j) {
		b->oom = true;
		return;
	}
	if (json_parse(j, req, len) < 0)
		reply_error(b, "cannot parse JSON");
	else if (j->tok[0].type != JSMN_OBJECT)
		reply_error(b, "json_object() failed");
	else if (!json_is(j, exec = json_get(j, 0, "execute"), JSMN_STRING))
		reply_error(b, "no execute found");
	else {
		for (unsigned i = 0; i < ARRAY_SIZE(api_cmds); i++) {
			if (json_str_eq(j, exec, api_cmds[i].name)) {
				api_cmds[i].fn(env, j, json_get(j, 0,
								"arguments"),
					       b);
				free(j);
				return;
			}
		}
		reply_error(b, "unknown execute");
	}
	free(j);
}

int api_request(const struct api_env *env, const char *req, size_t len,
		char **reply)
{
	struct sb b = { 0 };

	dispatch(env, req, len, &b);
	if (b.oom) {
		free(b.p);
		*reply = NULL;
		return -ENOMEM;
	}
	*reply = b.p;
	return b.len;
}

// SPDX-License-Identifier: GPL-2.0-or-later
/* resolv.c - the host's resolv.conf, as the DNS forwarder needs it.
 *
 * The syntax is resolv.conf(5)'s: a keyword, then its arguments, "#" or
 * ";" start a comment. Unknown keywords are ignored, as glibc does.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "resolv.h"

enum {
	DNS_PORT = 53,
	TIMEOUT_MAX_S = 30, /* glibc's RES_MAXRETRANS */
	ATTEMPTS_MAX = 5,   /* glibc's RES_MAXRETRY */
	FILE_MAX = 64 << 10,
};

/* The next word of a line from *p, up to @end: its start and length */
static const char *word(const char **p, const char *end, size_t *len)
{
	const char *s = *p, *w;

	while (s < end && (*s == ' ' || *s == '\t' || *s == '\r'))
		s++;
	w = s;
	while (s < end && *s != ' ' && *s != '\t' && *s != '\r')
		s++;
	*p = s;
	*len = (size_t)(s - w);
	return w;
}

static void add_nameserver(struct resolv *r, const char *w, size_t len)
{
	char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2], *scope;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&r->ns[r->nns];
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&r->ns[r->nns];

	if (r->nns == RESOLV_MAX_NS || !len || len >= sizeof(buf))
		return;
	memcpy(buf, w, len);
	buf[len] = '\0';
	memset(&r->ns[r->nns], 0, sizeof(r->ns[0]));
	if (inet_pton(AF_INET, buf, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(DNS_PORT);
		r->nslen[r->nns++] = sizeof(*a4);
		return;
	}
	scope = strchr(buf, '%');
	if (scope)
		*scope++ = '\0';
	if (inet_pton(AF_INET6, buf, &a6->sin6_addr) != 1)
		return;
	if (scope) {
		char *e;
		unsigned long id = strtoul(scope, &e, 10);

		a6->sin6_scope_id = *e ? if_nametoindex(scope) : (uint32_t)id;
		if (!a6->sin6_scope_id)
			return;
	}
	a6->sin6_family = AF_INET6;
	a6->sin6_port = htons(DNS_PORT);
	r->nslen[r->nns++] = sizeof(*a6);
}

/* "search a b c" or "domain a": replaces what an earlier one said */
static void set_search(struct resolv *r, const char *p, const char *end,
		       bool one)
{
	const char *w;
	size_t len;

	r->nsearch = 0;
	while ((w = word(&p, end, &len)), len) {
		if (r->nsearch == RESOLV_MAX_SEARCH)
			break;
		if (len >= RESOLV_NAME_MAX)
			continue;
		memcpy(r->search[r->nsearch], w, len);
		r->search[r->nsearch++][len] = '\0';
		if (one)
			break;
	}
}

static unsigned option_value(const char *w, size_t len, size_t skip,
			     unsigned max)
{
	unsigned v = 0;

	for (size_t i = skip; i < len && w[i] >= '0' && w[i] <= '9'; i++) {
		v = v * 10 + (unsigned)(w[i] - '0');
		if (v > max)
			v = max;
	}
	return v;
}

static void set_options(struct resolv *r, const char *p, const char *end)
{
	static const char t[] = "timeout:", a[] = "attempts:";
	const char *w;
	size_t len;

	while ((w = word(&p, end, &len)), len) {
		if (len > sizeof(t) - 1 && !memcmp(w, t, sizeof(t) - 1))
			r->timeout_s = option_value(w, len, sizeof(t) - 1,
						    TIMEOUT_MAX_S);
		else if (len > sizeof(a) - 1 && !memcmp(w, a, sizeof(a) - 1))
			r->attempts = option_value(w, len, sizeof(a) - 1,
						   ATTEMPTS_MAX);
	}
	if (!r->timeout_s)
		r->timeout_s = 1;
	if (!r->attempts)
		r->attempts = 1;
}

static bool is_keyword(const char *w, size_t len, const char *k)
{
	return len == strlen(k) && !memcmp(w, k, len);
}

static void parse_line(struct resolv *r, const char *p, const char *end)
{
	const char *hash = memchr(p, '#', (size_t)(end - p));
	const char *semi = memchr(p, ';', (size_t)(end - p));
	const char *w;
	size_t len;

	if (hash)
		end = hash;
	if (semi && semi < end)
		end = semi;
	w = word(&p, end, &len);
	if (is_keyword(w, len, "nameserver")) {
		w = word(&p, end, &len);
		add_nameserver(r, w, len);
	} else if (is_keyword(w, len, "search")) {
		set_search(r, p, end, false);
	} else if (is_keyword(w, len, "domain")) {
		set_search(r, p, end, true);
	} else if (is_keyword(w, len, "options")) {
		set_options(r, p, end);
	}
}

void resolv_parse(const char *text, size_t len, struct resolv *r)
{
	const char *p = text, *end = text + len;

	memset(r, 0, sizeof(*r));
	r->timeout_s = RESOLV_TIMEOUT_S;
	r->attempts = RESOLV_ATTEMPTS;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;

		parse_line(r, p, le);
		p = le + 1;
	}
	if (!r->nns) {
		struct sockaddr_in *a = (struct sockaddr_in *)&r->ns[0];

		a->sin_family = AF_INET;
		a->sin_port = htons(DNS_PORT);
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		r->nslen[0] = sizeof(*a);
		r->nns = 1;
	}
}

int resolv_read(const char *path, struct resolv *r)
{
	char *buf = malloc(FILE_MAX);
	size_t len = 0;
	ssize_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0 || !buf) {
		rc = fd < 0 ? -errno : -ENOMEM;
	} else {
		while (len < FILE_MAX &&
		       (n = read(fd, buf + len, FILE_MAX - len)) > 0)
			len += (size_t)n;
		if (n < 0)
			rc = -errno;
	}
	if (fd >= 0)
		close(fd);
	resolv_parse(buf ? buf : "", rc < 0 ? 0 : len, r);
	free(buf);
	return rc;
}

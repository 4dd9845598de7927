/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_RESOLV_H
#define S4_RESOLV_H

#include <stddef.h>
#include <sys/socket.h>

/* What the DNS forwarder takes from the host's resolv.conf (resolv.c). */
enum {
	RESOLV_MAX_NS = 8,	/* glibc uses 3; we ask every one we keep */
	RESOLV_MAX_SEARCH = 6,
	RESOLV_NAME_MAX = 254,
	RESOLV_TIMEOUT_S = 5, /* glibc's defaults (resolv.conf(5)) */
	RESOLV_ATTEMPTS = 2,
};

struct resolv {
	struct sockaddr_storage ns[RESOLV_MAX_NS];
	socklen_t nslen[RESOLV_MAX_NS];
	unsigned nns;
	unsigned timeout_s, attempts;
	char search[RESOLV_MAX_SEARCH][RESOLV_NAME_MAX];
	unsigned nsearch;
};

/**
 * resolv_parse() - Read resolv.conf's text
 * @text:	its contents (need not end in a NUL)
 * @len:	their length
 * @r:		filled
 *
 * "nameserver" lines, IPv4 or IPv6 (a link-local one with its %scope),
 * in order, port 53; unparsable ones are skipped. None at all: 127.0.0.1,
 * as glibc does. "search" and "domain" (the last one wins), "options
 * timeout:N attempts:N" (bounded as glibc bounds them).
 */
void resolv_parse(const char *text, size_t len, struct resolv *r);

/**
 * resolv_read() - resolv_parse() a file
 * @path:	usually /etc/resolv.conf
 * @r:		filled; as for an empty file if it cannot be read
 * Return: 0, or -errno if it could not be read
 */
int resolv_read(const char *path, struct resolv *r);

#endif

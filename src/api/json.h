/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_JSON_H
#define S4_JSON_H

#include <stdbool.h>
#include <stddef.h>

#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#ifndef JSON_IMPL
#define JSMN_HEADER
#endif
#include <jsmn.h>

enum { JSON_MAX_TOKENS = 128 };

/* A parsed request: jsmn tokens over the caller's text. */
struct json {
	const char *s;
	int n;
	jsmntok_t tok[JSON_MAX_TOKENS];
};

/**
 * json_value_end() - Where the first JSON value in @s ends
 * @s:		text received so far
 * @len:	its length
 *
 * Brace matching, aware of strings and escapes; enough to know when a
 * request is complete without waiting for EOF.
 * Return: the length of the first object or array, 0 if it is not complete
 *	   yet (or is not an object or array: then only EOF completes it)
 */
size_t json_value_end(const char *s, size_t len);

/**
 * json_parse() - Parse @len bytes of @s, strictly
 * @j:		filled
 * @s:		text, kept by reference
 * @len:	length
 *
 * Duplicate keys in an object are an error, as in the parser slirp4netns
 * uses.
 * Return: 0, or -1 if it is not one JSON value
 */
int json_parse(struct json *j, const char *s, size_t len);

/* Value token of @key in object token @obj, or -1. */
int json_get(const struct json *j, int obj, const char *key);
bool json_is(const struct json *j, int t, jsmntype_t type);
bool json_str_eq(const struct json *j, int t, const char *str);
/* Copy a string token (no escapes allowed); -1 if too long or not a string */
int json_str(const struct json *j, int t, char *out, size_t cap);
/* An integer in [min, max], written as one (no fraction, no exponent) */
int json_int(const struct json *j, int t, long min, long max, long *out);

#endif

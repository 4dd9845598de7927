// SPDX-License-Identifier: GPL-2.0-or-later
/* json.c - the little JSON the API needs, on jsmn (libjsmn-dev). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define JSON_IMPL
#include "json.h"

size_t json_value_end(const char *s, size_t len)
{
	size_t i = 0;
	int depth = 0;
	bool in_str = false;

	while (i < len && isspace((unsigned char)s[i]))
		i++;
	if (i == len || (s[i] != '{' && s[i] != '['))
		return 0;
	for (; i < len; i++) {
		char c = s[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if ((c == '}' || c == ']') && --depth == 0) {
			return i + 1;
		}
	}
	return 0;
}

static bool tok_eq(const struct json *j, int a, int b)
{
	int la = j->tok[a].end - j->tok[a].start;

	return la == j->tok[b].end - j->tok[b].start &&
	       !memcmp(j->s + j->tok[a].start, j->s + j->tok[b].start, la);
}

/* Keys of one object are the string tokens whose parent it is. */
static bool has_duplicate_keys(const struct json *j)
{
	for (int a = 0; a < j->n; a++) {
		int p = j->tok[a].parent;

		if (p < 0 || j->tok[p].type != JSMN_OBJECT)
			continue;
		for (int b = a + 1; b < j->n; b++)
			if (j->tok[b].parent == p && tok_eq(j, a, b))
				return true;
	}
	return false;
}

int json_parse(struct json *j, const char *s, size_t len)
{
	jsmn_parser p;

	jsmn_init(&p);
	j->s = s;
	j->n = jsmn_parse(&p, s, len, j->tok, JSON_MAX_TOKENS);
	if (j->n < 1)
		return -1;
	/* jsmn is happy with several top-level values; JSON is not */
	for (int i = 1; i < j->n; i++)
		if (j->tok[i].parent < 0)
			return -1;
	return has_duplicate_keys(j) ? -1 : 0;
}

int json_get(const struct json *j, int obj, const char *key)
{
	size_t kl = strlen(key);

	if (obj < 0 || obj >= j->n || j->tok[obj].type != JSMN_OBJECT)
		return -1;
	for (int i = obj + 1; i + 1 < j->n; i++) {
		const jsmntok_t *t = &j->tok[i];

		if (t->parent == obj && t->type == JSMN_STRING &&
		    (size_t)(t->end - t->start) == kl &&
		    !memcmp(j->s + t->start, key, kl))
			return i + 1;
	}
	return -1;
}

bool json_is(const struct json *j, int t, jsmntype_t type)
{
	return t >= 0 && t < j->n && j->tok[t].type == type;
}

bool json_str_eq(const struct json *j, int t, const char *str)
{
	size_t l = strlen(str);

	return json_is(j, t, JSMN_STRING) &&
	       (size_t)(j->tok[t].end - j->tok[t].start) == l &&
	       !memcmp(j->s + j->tok[t].start, str, l);
}

int json_str(const struct json *j, int t, char *out, size_t cap)
{
	size_t l;

	if (!json_is(j, t, JSMN_STRING))
		return -1;
	l = j->tok[t].end - j->tok[t].start;
	if (l >= cap || memchr(j->s + j->tok[t].start, '\\', l))
		return -1;
	memcpy(out, j->s + j->tok[t].start, l);
	out[l] = '\0';
	return 0;
}

int json_int(const struct json *j, int t, long min, long max, long *out)
{
	char buf[24], *end;
	long v;

	if (!json_is(j, t, JSMN_PRIMITIVE))
		return -1;
	if (j->tok[t].end - j->tok[t].start >= (int)sizeof(buf))
		return -1;
	memcpy(buf, j->s + j->tok[t].start, j->tok[t].end - j->tok[t].start);
	buf[j->tok[t].end - j->tok[t].start] = '\0';
	if (buf[0] != '-' && !isdigit((unsigned char)buf[0]))
		return -1; /* true, false, null */
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1; /* fractions, exponents, out of range */
	*out = v;
	return 0;
}

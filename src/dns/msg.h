/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_DNS_MSG_H
#define S4_DNS_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The little of a DNS message (RFC 1035 4.1) the forwarder reads. */
enum {
	DNSMSG_HEADER = 12,
	DNSMSG_SERVFAIL = 2,
	DNSMSG_REFUSED = 5,
};

static inline uint16_t dnsmsg_id(const uint8_t *m)
{
	return (uint16_t)(m[0] << 8 | m[1]);
}

static inline void dnsmsg_set_id(uint8_t *m, uint16_t id)
{
	m[0] = (uint8_t)(id >> 8);
	m[1] = (uint8_t)id;
}

static inline bool dnsmsg_is_response(const uint8_t *m)
{
	return m[2] & 0x80;
}

static inline unsigned dnsmsg_rcode(const uint8_t *m)
{
	return m[3] & 0x0f;
}

/**
 * dnsmsg_question_end() - Where the question section of @m ends
 * @m:		message
 * @len:	its length
 *
 * A query asks one question (every resolver's); a name in it is labels,
 * no compression pointer.
 * Return: the offset after QTYPE and QCLASS, or 0 if @m is not a query's
 *	   shape (no header, not one question, a bad name)
 */
size_t dnsmsg_question_end(const uint8_t *m, size_t len);

/**
 * dnsmsg_servfail() - Turn a query into its SERVFAIL answer, in place
 * @m:		the query, from dnsmsg_question_end()'s checks
 * @qend:	dnsmsg_question_end(m, ...)
 * Return: the answer's length: header and question only
 */
size_t dnsmsg_servfail(uint8_t *m, size_t qend);

#endif

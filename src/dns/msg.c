// SPDX-License-Identifier: GPL-2.0-or-later
/* msg.c - reading a DNS message's header and question. */
#include <string.h>

#include "msg.h"

enum {
	LABEL_MAX = 63,
	NAME_MAX_LEN = 255,
	QTYPE_QCLASS = 4,
};

size_t dnsmsg_question_end(const uint8_t *m, size_t len)
{
	size_t p = DNSMSG_HEADER, name = 0;

	if (len < DNSMSG_HEADER || m[4] != 0 || m[5] != 1)
		return 0;
	while (p < len && m[p]) {
		if (m[p] > LABEL_MAX)
			return 0; /* a pointer, or a reserved label type */
		name += m[p] + 1u;
		p += m[p] + 1u;
		if (name > NAME_MAX_LEN)
			return 0;
	}
	if (p >= len || len - p - 1 < QTYPE_QCLASS)
		return 0;
	return p + 1 + QTYPE_QCLASS;
}

size_t dnsmsg_servfail(uint8_t *m, size_t qend)
{
	m[2] = (uint8_t)(0x80 | (m[2] & 0x79)); /* QR, opcode and RD kept */
	m[3] = (uint8_t)(0x80 | DNSMSG_SERVFAIL); /* RA */
	memset(m + 6, 0, 6); /* no answer, authority or additional */
	return qend;
}

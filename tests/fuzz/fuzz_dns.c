// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer target: what the DNS forwarder reads from others: a query from
 * the namespace (its header and question, and the SERVFAIL made of it),
 * and the host's resolv.conf. */
#include <stdlib.h>
#include <string.h>

#include "dns/msg.h"
#include "dns/resolv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct resolv r;
	uint8_t *m;
	size_t qend;

	resolv_parse((const char *)data, size, &r);
	if (r.nns < 1 || r.nns > RESOLV_MAX_NS || r.nsearch > RESOLV_MAX_SEARCH)
		abort();
	for (unsigned i = 0; i < r.nsearch; i++)
		if (strlen(r.search[i]) >= RESOLV_NAME_MAX)
			abort();
	qend = dnsmsg_question_end(data, size);
	if (!qend)
		return 0;
	if (qend > size || qend < DNSMSG_HEADER)
		abort();
	m = malloc(size); /* exactly: ASan sees a read past it */
	if (!m)
		return 0;
	memcpy(m, data, size);
	if (dnsmsg_servfail(m, qend) != qend || !dnsmsg_is_response(m) ||
	    dnsmsg_rcode(m) != DNSMSG_SERVFAIL)
		abort();
	free(m);
	return 0;
}

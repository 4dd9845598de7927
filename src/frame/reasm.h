/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_REASM_H
#define S4_REASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* IPv4 reassembly in front of libslirp, whose ip_reass has memory-safety
 * bugs (an orphan fragment is enough to kill it): libslirp only ever sees
 * whole datagrams. */
struct reasm;

enum reasm_verdict {
	REASM_PASS, /* not a fragment: use the frame as it is */
	REASM_HELD, /* kept; nothing to pass on yet */
	REASM_DONE, /* *out is the whole datagram as one frame */
	REASM_DROP, /* a bad fragment: it (and its datagram) are gone */
};

enum {
	REASM_SLOTS = 32,	 /* datagrams in flight: 2 MiB at the most */
	REASM_TIMEOUT_MS = 30000,
};

struct reasm *reasm_new(void);

/* Is @f an IPv4 fragment (MF set or a non-zero offset)? */
bool reasm_is_fragment(const uint8_t *f, size_t len);
void reasm_free(struct reasm *r);

/**
 * reasm_input() - Offer one Ethernet frame
 * @r:		reassembly state
 * @f:		frame, already through sanitize_frame()
 * @len:	its length
 * @now_ms:	current time, for expiry
 * @out:	on REASM_DONE, the whole datagram as a frame, valid until the
 *		next call
 * @out_len:	its length
 *
 * Strict: a fragment that overlaps data already held, claims more than
 * 65535 bytes, carries IP options, or (except the last) is not a multiple of
 * 8 bytes drops its whole datagram. The oldest datagram is evicted when all
 * slots are busy; a datagram not complete within REASM_TIMEOUT_MS is
 * dropped.
 * Return: the verdict
 */
enum reasm_verdict reasm_input(struct reasm *r, const uint8_t *f, size_t len,
			       int64_t now_ms, const uint8_t **out,
			       size_t *out_len);

#endif

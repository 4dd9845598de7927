// SPDX-License-Identifier: GPL-2.0-or-later
/* reasm.c - IPv4 fragment reassembly before libslirp.
 *
 * DOC: Theory of Operation
 * A datagram in progress holds a 64 KiB buffer for its payload and a bitmap
 * of the 8-byte blocks received. The first fragment (offset 0) also gives
 * the Ethernet and IP headers for the result; the last (MF clear) gives the
 * length. When every block up to the length is there, the headers are
 * fixed up (no fragment bits, new total length, new checksum) in front of
 * the payload, and the slot is freed. Memory is bounded by REASM_SLOTS
 * buffers, allocated when a datagram starts and freed when it ends.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "reasm.h"
#include "wire.h"

enum {
	/* fragments with IP options are refused: headers are WIRE_IP_LEN */
	MAX_PAYLOAD = 65535 - WIRE_IP_LEN,
	BLOCKS = (MAX_PAYLOAD + 7) / 8,
	BUF_LEN = WIRE_ETH_LEN + WIRE_IP_LEN + MAX_PAYLOAD,
	MAP_LEN = (BLOCKS + 7) / 8,
};

struct dgram {
	bool used;
	uint32_t src, dst;
	uint16_t id;
	uint8_t proto;
	bool have_first;
	int32_t total; /* payload length, -1 until the last fragment */
	int64_t born_ms;
	uint8_t hdr[WIRE_ETH_LEN + WIRE_IP_LEN];
	uint8_t *buf; /* BUF_LEN */
	/* which 8-byte blocks have arrived (MAP_LEN): allocated with the
	 * buffer, so an idle struct reasm is 3 KiB that calloc() touches,
	 * not 35 */
	uint8_t *map;
};

struct reasm {
	struct dgram d[REASM_SLOTS];
	uint8_t *out; /* the last result, until the next call */
};

struct reasm *reasm_new(void)
{
	return calloc(1, sizeof(struct reasm));
}

static void release(struct dgram *d)
{
	free(d->buf);
	free(d->map);
	memset(d, 0, sizeof(*d));
}

void reasm_free(struct reasm *r)
{
	if (!r)
		return;
	for (unsigned i = 0; i < REASM_SLOTS; i++)
		release(&r->d[i]);
	free(r->out);
	free(r);
}

/**
 * find() - The datagram this fragment belongs to, or a new slot for it
 * @r:		state
 * @ip:		the fragment's IP header
 * @now_ms:	current time: expired datagrams are dropped on the way
 * Return: the slot, or NULL if out of memory
 */
static struct dgram *find(struct reasm *r, const uint8_t *ip, int64_t now_ms)
{
	uint32_t src = wire_get32(ip + 12), dst = wire_get32(ip + 16);
	uint16_t id = wire_get16(ip + 4);
	struct dgram *free_slot = NULL, *oldest = NULL;

	for (unsigned i = 0; i < REASM_SLOTS; i++) {
		struct dgram *d = &r->d[i];

		if (d->used && now_ms - d->born_ms > REASM_TIMEOUT_MS)
			release(d);
		if (!d->used) {
			free_slot = free_slot ? free_slot : d;
			continue;
		}
		if (d->src == src && d->dst == dst && d->id == id &&
		    d->proto == ip[9])
			return d;
		if (!oldest || d->born_ms < oldest->born_ms)
			oldest = d;
	}
	if (!free_slot) {
		release(oldest); /* all busy: the oldest gives way */
		free_slot = oldest;
	}
	/* apart: the buffer's pages are touched only where fragments land */
	free_slot->buf = malloc(BUF_LEN);
	free_slot->map = calloc(1, MAP_LEN);
	if (!free_slot->buf || !free_slot->map) {
		release(free_slot);
		return NULL;
	}
	free_slot->used = true;
	free_slot->src = src;
	free_slot->dst = dst;
	free_slot->id = id;
	free_slot->proto = ip[9];
	free_slot->total = -1;
	free_slot->born_ms = now_ms;
	return free_slot;
}

/* Mark blocks [first, last] received; false if any already was. */
static bool claim(struct dgram *d, unsigned first, unsigned last)
{
	for (unsigned b = first; b <= last; b++)
		if (d->map[b / 8] & (1u << (b % 8)))
			return false;
	for (unsigned b = first; b <= last; b++)
		d->map[b / 8] |= 1u << (b % 8);
	return true;
}

static bool complete(const struct dgram *d)
{
	if (!d->have_first || d->total < 0)
		return false;
	for (unsigned b = 0; b < (unsigned)(d->total + 7) / 8; b++)
		if (!(d->map[b / 8] & (1u << (b % 8))))
			return false;
	return true;
}

/* The whole datagram as a frame, into r->out; frees the slot. */
static size_t assemble(struct reasm *r, struct dgram *d)
{
	size_t n = WIRE_ETH_LEN + WIRE_IP_LEN + d->total;
	uint8_t *ip;

	free(r->out);
	r->out = d->buf; /* the payload is already in place behind the hdr */
	d->buf = NULL;
	memcpy(r->out, d->hdr, sizeof(d->hdr));
	ip = r->out + WIRE_ETH_LEN;
	wire_put16(ip + 2, WIRE_IP_LEN + d->total);
	wire_put16(ip + 6, 0); /* no flags, offset 0 */
	wire_put16(ip + 10, wire_ip_csum(ip));
	release(d);
	return n;
}

bool reasm_is_fragment(const uint8_t *f, size_t len)
{
	return len >= WIRE_ETH_LEN + WIRE_IP_LEN &&
	       wire_get16(f + 12) == WIRE_ETH_P_IP &&
	       (wire_get16(f + WIRE_ETH_LEN + 6) & 0x3fff);
}

enum reasm_verdict reasm_input(struct reasm *r, const uint8_t *f, size_t len,
			       int64_t now_ms, const uint8_t **out,
			       size_t *out_len)
{
	const uint8_t *ip = f + WIRE_ETH_LEN;
	size_t total, plen, off;
	uint16_t frag;
	bool more;
	struct dgram *d;

	if (!reasm_is_fragment(f, len))
		return REASM_PASS;
	frag = wire_get16(ip + 6);
	more = frag & 0x2000;
	off = (frag & 0x1fff) * 8u;
	total = wire_get16(ip + 2);
	if ((ip[0] & 0x0f) != 5 || total < WIRE_IP_LEN ||
	    total > len - WIRE_ETH_LEN)
		return REASM_DROP;
	plen = total - WIRE_IP_LEN;
	if (!plen || (more && plen % 8) || off + plen > MAX_PAYLOAD)
		return REASM_DROP;
	d = find(r, ip, now_ms);
	if (!d)
		return REASM_DROP;
	if (!claim(d, off / 8, (off + plen - 1) / 8) ||
	    (!more && d->total >= 0) ||
	    (d->total >= 0 && off + plen > (size_t)d->total)) {
		release(d); /* overlap, or a second or shorter end */
		return REASM_DROP;
	}
	if (!more) {
		d->total = off + plen;
		/* nothing may already lie past the end */
		for (unsigned b = (d->total + 7) / 8; b < BLOCKS; b++)
			if (d->map[b / 8] & (1u << (b % 8))) {
				release(d);
				return REASM_DROP;
			}
	}
	if (!off) {
		memcpy(d->hdr, f, sizeof(d->hdr));
		d->have_first = true;
	}
	memcpy(d->buf + WIRE_ETH_LEN + WIRE_IP_LEN + off, ip + WIRE_IP_LEN,
	       plen);
	if (!complete(d))
		return REASM_HELD;
	*out_len = assemble(r, d);
	*out = r->out;
	return REASM_DONE;
}

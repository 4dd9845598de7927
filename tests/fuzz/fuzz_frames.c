// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer target: a sequence of frames ([u16 length][bytes]...) through
 * the sanitizer and the reassembler, as the TAP path runs them. Before
 * that, each frame's checksum is completed where its first four bytes say
 * (as a virtio-net header's csum_start and csum_offset would): the
 * namespace controls those too. */
#include <stdlib.h>
#include <string.h>

#include "frame/reasm.h"
#include "frame/sanitize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reasm *r = reasm_new();
	int64_t now = 0;

	while (size >= 2) {
		size_t n = (size_t)(data[0] << 8 | data[1]);
		const uint8_t *out;
		size_t out_len;
		uint8_t *frame;

		data += 2;
		size -= 2;
		if (n > size)
			n = size;
		frame = malloc(n ? n : 1); /* exact size: ASan sees overreads */
		memcpy(frame, data, n);
		if (n >= 4)
			sanitize_csum_partial(frame, n, frame[0] << 8 | frame[1],
					      frame[2] << 8 | frame[3]);
		if (sanitize_frame(frame, n) == SAN_PASS &&
		    reasm_input(r, frame, n, now, &out, &out_len) ==
			    REASM_DONE &&
		    sanitize_frame(out, out_len) > SAN_NUM_VERDICTS)
			abort(); /* never: keeps the call and its result */
		free(frame);
		data += n;
		size -= n;
		now += 1000;
	}
	reasm_free(r);
	return 0;
}

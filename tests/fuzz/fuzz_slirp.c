// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer target: frames through the sanitizer and reassembler into
 * libslirp itself, as the TAP path feeds it. Run it only inside a network
 * namespace with no route (scripts/fuzz.sh does): libslirp opens real
 * sockets towards whatever the frames name. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <slirp/libslirp.h>

#include "frame/reasm.h"
#include "frame/sanitize.h"

static ssize_t send_packet(const void *buf, size_t len, void *opaque)
{
	(void)buf, (void)opaque;
	return len;
}

static void guest_error(const char *msg, void *opaque)
{
	(void)msg, (void)opaque;
}

static int64_t clock_ns(void *opaque)
{
	struct timespec ts;

	(void)opaque;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
	(void)cb, (void)cb_opaque, (void)opaque;
	return malloc(1);
}

static void timer_free(void *t, void *opaque)
{
	(void)opaque;
	free(t);
}

static void timer_mod(void *t, int64_t when, void *opaque)
{
	(void)t, (void)when, (void)opaque;
}

static void poll_fd(int fd, void *opaque)
{
	(void)fd, (void)opaque;
}

static void notify(void *opaque)
{
	(void)opaque;
}

static const SlirpCb cb = {
	.send_packet = send_packet,
	.guest_error = guest_error,
	.clock_get_ns = clock_ns,
	.timer_new = timer_new,
	.timer_free = timer_free,
	.timer_mod = timer_mod,
	.register_poll_fd = poll_fd,
	.unregister_poll_fd = poll_fd,
	.notify = notify,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	SlirpConfig cfg = {
		.version = 1,
		.in_enabled = true,
		.vnetwork = { htonl(0x0a000200) },
		.vnetmask = { htonl(0xffffff00) },
		.vhost = { htonl(0x0a000202) },
		.in6_enabled = true,
		.vprefix_addr6 = { { { 0xfd } } },
		.vprefix_len = 64,
		.vhost6 = { { { 0xfd, [15] = 2 } } },
		.vdhcp_start = { htonl(0x0a00020f) },
		.vnameserver = { htonl(0x0a000203) },
		.vnameserver6 = { { { 0xfd, [15] = 3 } } },
		.if_mtu = 1500,
		.if_mru = 1500,
		.disable_host_loopback = true,
	};
	Slirp *s = slirp_new(&cfg, &cb, NULL);
	struct reasm *r = reasm_new();

	while (size >= 2) {
		size_t n = (size_t)(data[0] << 8 | data[1]);
		const uint8_t *out;
		size_t out_len;

		data += 2;
		size -= 2;
		if (n > size)
			n = size;
		if (sanitize_frame(data, n) == SAN_PASS) {
			switch (reasm_input(r, data, n, 0, &out, &out_len)) {
			case REASM_PASS:
				slirp_input(s, data, n);
				break;
			case REASM_DONE:
				slirp_input(s, out, out_len);
				break;
			default:
				break;
			}
		}
		data += n;
		size -= n;
	}
	reasm_free(r);
	slirp_cleanup(s);
	return 0;
}

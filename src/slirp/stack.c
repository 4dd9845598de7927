// SPDX-License-Identifier: GPL-2.0-or-later
/* stack.c - libslirp's configuration and callbacks (SlirpCb).
 *
 * Frames go out through tap_send(); sockets are watched by the pollset;
 * timers are folded into the ring's wait. SlirpConfig version 4 so that the
 * one timer libslirp 4.7 has comes through timer_new_opaque.
 *
 * It takes the whole context (ctx.h): libslirp hands every callback the one
 * opaque pointer, and between them they reach the TAP, the pollset, the
 * timers and the loop's kick. */
#include <errno.h>
#include <string.h>

#include "../dns/resolv.h"
#include "../clock.h"
#include "../ctx.h"
#include "stack.h"

static int64_t cb_clock_get_ns(void *opaque)
{
	(void)opaque;
	return clock_now_ns();
}

static void cb_guest_error(const char *msg, void *opaque)
{
	(void)opaque;
	log_err("libslirp: %s", msg);
}

/* SlirpCb.timer_new hands us a callback; timer_new_opaque a timer id */
static void fire_cb(void *cb, void *cb_opaque)
{
	((SlirpTimerCb)cb)(cb_opaque);
}

static void fire_id(void *id_and_ctx, void *cb_opaque)
{
	struct ctx *c = id_and_ctx;

	slirp_handle_timer(c->slirp, SLIRP_TIMER_RA, cb_opaque);
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
	struct ctx *c = opaque;

	return timers_add(c->timers, fire_cb, (void *)cb, cb_opaque);
}

static void *cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque,
				 void *opaque)
{
	struct ctx *c = opaque;

	if (id != SLIRP_TIMER_RA) { /* the only id libslirp 4.7 knows */
		log_err("libslirp: unknown timer id %d", id);
		return NULL;
	}
	return timers_add(c->timers, fire_id, c, cb_opaque);
}

static void cb_timer_free(void *timer, void *opaque)
{
	struct ctx *c = opaque;

	if (timer)
		timers_del(c->timers, timer);
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	(void)opaque;
	if (timer)
		timers_mod(timer, expire_ms);
}

static void cb_register_poll_fd(int fd, void *opaque)
{
	/* nothing: every fd libslirp wants watched comes through the fill */
	(void)fd;
	(void)opaque;
}

static void cb_unregister_poll_fd(int fd, void *opaque)
{
	struct ctx *c = opaque;

	pollset_unregister(c->ps, fd);
}

static void cb_notify(void *opaque)
{
	struct ctx *c = opaque;

	c->kick = true;
}

/* implements SlirpCb.send_packet */
static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
	struct ctx *c = opaque;

	return tap_send(c->tap, buf, len);
}

static const SlirpCb callbacks = {
	.send_packet = cb_send_packet,
	.guest_error = cb_guest_error,
	.clock_get_ns = cb_clock_get_ns,
	.timer_new = cb_timer_new,
	.timer_free = cb_timer_free,
	.timer_mod = cb_timer_mod,
	.register_poll_fd = cb_register_poll_fd,
	.unregister_poll_fd = cb_unregister_poll_fd,
	.notify = cb_notify,
	.timer_new_opaque = cb_timer_new_opaque,
};

/**
 * dns_search() - The host's search domains, for DHCP option 119 (libslirp
 * copies them): a short name resolves in the guest as on the host
 * @r:		filled
 * @list:	filled, NULL-terminated, pointing into @r
 * Return: @list, or NULL if there are none
 */
static const char **dns_search(struct resolv *r,
			       const char *list[RESOLV_MAX_SEARCH + 1])
{
	resolv_read("/etc/resolv.conf", r);
	for (unsigned i = 0; i < r->nsearch; i++)
		list[i] = r->search[i];
	list[r->nsearch] = NULL;
	return r->nsearch ? list : NULL;
}

int stack_new(struct ctx *c, struct err *e)
{
	const struct opts *o = c->o;
	struct resolv r;
	const char *search[RESOLV_MAX_SEARCH + 1];
	SlirpConfig cfg = {
		.version = SLIRP_CONFIG_VERSION_MAX < 4 ? SLIRP_CONFIG_VERSION_MAX
							: 4,
		.restricted = 0,
		.in_enabled = true,
		.vnetwork = o->net.net,
		.vnetmask = o->net.mask,
		.vhost = o->net.host,
		.in6_enabled = o->ipv6,
		.vprefix_addr6 = o->net.net6,
		.vprefix_len = 64, /* SLAAC needs a /64 */
		.vhost6 = o->net.host6,
		.vdhcp_start = o->net.dhcp_start,
		.vnameserver = o->net.dns,
		.vnameserver6 = o->net.dns6,
		.if_mtu = o->mtu,
		.if_mru = o->mtu,
		.disable_host_loopback = o->disable_host_loopback,
		.outbound_addr = o->has_out4 ? (struct sockaddr_in *)&o->out4
					     : NULL,
		.outbound_addr6 = o->has_out6 ? (struct sockaddr_in6 *)&o->out6
					      : NULL,
		.disable_dns = o->disable_dns,
		.vdnssearch = o->disable_dns ? NULL : dns_search(&r, search),
	};

	/* libslirp asserts rather than failing on an MTU below IF_MTU_MIN */
	if (o->mtu < 68)
		return err_set(e, -EINVAL, "slirp_new failed");
	c->slirp = slirp_new(&cfg, &callbacks, c);
	if (!c->slirp)
		return err_set(e, -ENOMEM, "slirp_new failed");
	return 0;
}

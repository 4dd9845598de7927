// SPDX-License-Identifier: GPL-2.0-or-later
/* reap.c - libslirp's host sockets whose guest side is gone.
 *
 * DOC: Theory of Operation
 * A guest that half-closes a connection (sends its FIN) and then goes away
 * leaves libslirp in CLOSE_WAIT and its host socket in FIN_WAIT2 (libslirp
 * passed the FIN on with shutdown(SHUT_WR)). If the far end keeps its side
 * open and sends nothing, that lasts for good: nothing tells libslirp that
 * the guest's socket is gone, and the kernel never times out a FIN_WAIT2
 * socket that is still open. slirp4netns 1.2.0 is the same (its #350).
 * Had the far end sent anything, libslirp would have passed it on and the
 * guest's reset would have closed the connection; the reaper asks the
 * guest instead.
 *
 * Every REAP_SWEEP_MS it lists libslirp's connections
 * (slirp_connection_info(), the public view; IPv4 only) and picks those in
 * CLOSE_WAIT whose host socket is half-closed and has had no data for
 * REAP_IDLE_MS. That is Linux's tcp_fin_timeout, how long a guest's
 * orphan waits in FIN_WAIT2: asking sooner gets "still here". For each it
 * writes to the TAP a bare ACK "from" the far end, addressed as libslirp
 * addresses the guest (its ARP table, slirp_neighbor_info()), with a
 * sequence number the guest does not expect and the probe's token as the
 * acknowledgement:
 *  - a socket that still exists (open, an orphan in FIN_WAIT2, a
 *    TIME_WAIT) answers a segment outside its window with an ACK of its
 *    own (RFC 793; RFC 5961's challenge ACK), which goes on to libslirp
 *    as any duplicate ACK does, and nothing changes;
 *  - where there is none, or only a listener, the guest's kernel answers
 *    with a reset whose sequence number is the probe's token.
 * While answers may come (REAP_ANSWER_MS) the TAP shows the reaper every
 * frame before libslirp (tap_watch()). A reset that answers a probe is
 * kept from libslirp, which never sent the probe, and the host socket is
 * shut down, as if the far end had closed: libslirp then reads its end,
 * sends the guest a FIN (which the guest's kernel resets) and closes the
 * fd, and the host kernel's tcp_fin_timeout ends the orphan. The far end
 * sees what a guest that vanished without libslirp between would have
 * shown it: nothing more.
 *
 * No answer (a reset lost, a rate limit, a guest address whose MAC
 * libslirp does not know) changes nothing: the next sweep asks again.
 * Before a socket is shut down, its addresses and state are checked
 * again: libslirp may have closed the fd, and another connection taken
 * its number, since the sweep.
 *
 * libslirp lists a connection the guest made with the guest's address
 * and port first and the far end's second; one it accepted for a forward
 * of its own (mode slirp) with the host socket's own address first and
 * the guest's second. There the far end, as the guest sees it, is the host
 * socket's peer, the gateway's address standing for loopback
 * (libslirp's sotranslate_accept()).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../clock.h"
#include "../frame/rawip.h"
#include "../fwd/fwd.h"
#include "../frame/wire.h"
#include "../log.h"
#include "../options.h"
#include "../tap/tap.h"
#include "../timers.h"
#include "reap.h"

enum {
	REAP_SWEEP_MS = 30 * 1000,
	REAP_IDLE_MS = 60 * 1000,
	REAP_ANSWER_MS = 500,
	REAP_MAX = 1024, /* probes per sweep; more wait for the next one */
	REAP_FIRST = 16, /* probes the array starts with */
	FRAME_LEN = WIRE_ETH_LEN + RAWIP_TCP_ACK4_LEN,
	TCP_RST = 0x04,
};

struct probe {
	int fd;
	struct sockaddr_in guest; /* the guest's socket, as it sees itself */
	struct sockaddr_in far;	  /* and its peer */
	struct sockaddr_in local, peer; /* the host socket's, when probed */
	bool answered;
};

struct reap {
	Slirp *slirp;
	struct tap *tap;
	struct timers *timers;
	struct timer *tick;
	const struct netcfg *net; /* the gateway's address */
	int64_t sweep_ms, idle_ms;
	uint32_t token; /* the first probe's; probe i has token + i */
	unsigned n;	/* probes out */
	unsigned cap;
	struct probe *probes; /* NULL between sweeps: idle costs nothing */
};

/* same_addr() - The same address and port */
static bool same_addr(const struct sockaddr_in *a, const struct sockaddr_in *b)
{
	return a->sin_addr.s_addr == b->sin_addr.s_addr &&
	       a->sin_port == b->sin_port;
}

/**
 * host_ends() - A TCP socket's own address and its peer's, both IPv4
 * @fd:		the socket
 * @local:	filled
 * @peer:	filled
 * Return: true if both are IPv4
 */
static bool host_ends(int fd, struct sockaddr_in *local,
		      struct sockaddr_in *peer)
{
	socklen_t ll = sizeof(*local), pl = sizeof(*peer);

	return getsockname(fd, (struct sockaddr *)local, &ll) == 0 &&
	       getpeername(fd, (struct sockaddr *)peer, &pl) == 0 &&
	       local->sin_family == AF_INET && peer->sin_family == AF_INET;
}

/**
 * half_closed_idle() - Whether libslirp's host socket has sent its FIN and
 * had no data for @idle_ms
 * @fd:		the socket
 * @idle_ms:	how long
 * Return: true if so
 */
static bool half_closed_idle(int fd, int64_t idle_ms)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return false;
	return (ti.tcpi_state == TCP_FIN_WAIT1 ||
		ti.tcpi_state == TCP_FIN_WAIT2) &&
	       ti.tcpi_last_data_recv >= idle_ms;
}

/**
 * parse_addr() - An address and port as libslirp lists them
 * @a:		dotted quad ("*" for none)
 * @port:	the port
 * @sa:		filled
 * Return: true for a real one (not 0.0.0.0, which is how libslirp 4.7
 *	   lists an IPv6 connection's addresses)
 */
static bool parse_addr(const char *a, int port, struct sockaddr_in *sa)
{
	*sa = (struct sockaddr_in){ .sin_family = AF_INET,
				    .sin_port = htons((uint16_t)port) };
	return port > 0 && port <= 0xffff &&
	       inet_pton(AF_INET, a, &sa->sin_addr) == 1 &&
	       sa->sin_addr.s_addr != INADDR_ANY;
}

/**
 * candidate() - A probe for one line of slirp_connection_info(), if its
 * connection is one the guest may have left
 * @r:		reaper (idle time, the virtual network)
 * @line:	the line
 * @p:		filled
 * Return: true if @p is to be sent
 */
static bool candidate(const struct reap *r, const char *line, struct probe *p)
{
	char state[16], a[16], b[16];
	int fd, pa, pb;
	struct sockaddr_in first;
	struct sockaddr_storage peer = { 0 }, seen;

	if (sscanf(line, " TCP[%15[^]]] %d %15s %d %15s %d", state, &fd, a, &pa,
		   b, &pb) != 6 ||
	    strcmp(state, "CLOSE_WAIT") || fd < 0 ||
	    !half_closed_idle(fd, r->idle_ms) ||
	    !host_ends(fd, &p->local, &p->peer) ||
	    !parse_addr(a, pa, &first) || !parse_addr(b, pb, &p->guest))
		return false;
	p->fd = fd;
	p->answered = false;
	if (!same_addr(&first, &p->local)) {
		/* the guest's own connection: the guest, then the far end */
		p->far = p->guest;
		p->guest = first;
		return true;
	}
	/* one libslirp accepted: the host socket, then the guest; the far
	 * end is its client as libslirp shows it, as a splice forward does */
	memcpy(&peer, &p->peer, sizeof(p->peer));
	fwd_seen_as(r->net, &peer, &seen, true);
	memcpy(&p->far, &seen, sizeof(p->far));
	return true;
}

/**
 * guest_mac() - The MAC libslirp sends to for @addr (its ARP table)
 * @arp:	slirp_neighbor_info()'s text
 * @addr:	the guest's address
 * @mac:	filled
 * Return: true if libslirp knows one
 */
static bool guest_mac(const char *arp, struct in_addr addr, uint8_t mac[6])
{
	char m[18], ip[16];
	struct in_addr a;

	for (const char *l = arp; l; l = strchr(l, '\n')) {
		l += *l == '\n';
		if (sscanf(l, " ARP %17s %15s", m, ip) == 2 &&
		    inet_pton(AF_INET, ip, &a) == 1 &&
		    a.s_addr == addr.s_addr &&
		    sscanf(m, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1],
			   &mac[2], &mac[3], &mac[4], &mac[5]) == 6)
			return true;
	}
	return false;
}

/**
 * send_probe() - Ask the guest about probe @i's connection
 * @r:		reaper
 * @i:		the probe's number
 * @mac:	the guest's MAC
 */
static void send_probe(struct reap *r, unsigned i, const uint8_t mac[6])
{
	const struct probe *p = &r->probes[i];
	uint8_t f[FRAME_LEN];
	uint32_t token = r->token + i;

	memcpy(f, mac, 6);
	f[6] = 0x52; /* libslirp's own MAC: 52:55 and the gateway's address */
	f[7] = 0x55;
	memcpy(f + 8, &r->net->host, 4);
	wire_put16(f + 12, WIRE_ETH_P_IP);
	/* any sequence number will do: in the window or not, a socket in a
	 * synchronized state answers an ACK of nothing it sent with an empty
	 * ACK, never a reset (RFC 793, 3.4) */
	rawip_tcp_ack4(f + WIRE_ETH_LEN, &p->far, &p->guest,
		       token ^ 0x80000000u, token);
	tap_send(r->tap, f, sizeof(f));
}

/**
 * reap_gone() - Shut down a host socket whose guest side is gone, if it is
 * still the one that was probed
 * @fd:		libslirp's host socket
 * @local:	its address when probed
 * @peer:	its peer's
 * Return: true if it was shut down
 */
static bool reap_gone(int fd, const struct sockaddr_in *local,
		      const struct sockaddr_in *peer)
{
	struct sockaddr_in l, pr;

	/* the fd may be another socket by now */
	if (!host_ends(fd, &l, &pr) || !same_addr(&l, local) ||
	    !same_addr(&pr, peer) || !half_closed_idle(fd, 0))
		return false;
	log_debug("reap: the guest's side of %s:%u is gone; closing",
		  inet_ntoa(pr.sin_addr), ntohs(pr.sin_port));
	/* libslirp's poll sees the end and closes the connection */
	shutdown(fd, SHUT_RDWR);
	return true;
}

/**
 * answer() - tap_watch_fn: a reset that answers one of our probes
 * @arg:	reaper
 * @f:		a frame from the namespace
 * @len:	its length
 * Return: true if it was one (libslirp does not get it)
 */
static bool answer(void *arg, const uint8_t *f, size_t len)
{
	struct reap *r = arg;
	const uint8_t *ip = f + WIRE_ETH_LEN, *tcp;
	struct probe *p;
	size_t ihl;
	uint32_t i;

	if (len < WIRE_ETH_LEN + RAWIP_TCP_ACK4_LEN ||
	    wire_get16(f + 12) != WIRE_ETH_P_IP || ip[9] != IPPROTO_TCP)
		return false;
	ihl = (size_t)(ip[0] & 0x0f) * 4;
	tcp = ip + ihl;
	if (ihl < WIRE_IP_LEN || len < WIRE_ETH_LEN + ihl + 20 ||
	    !(tcp[13] & TCP_RST))
		return false;
	i = wire_get32(tcp + 4) - r->token;
	if (i >= r->n)
		return false;
	p = &r->probes[i];
	if (p->answered || memcmp(ip + 12, &p->guest.sin_addr, 4) ||
	    memcmp(ip + 16, &p->far.sin_addr, 4) ||
	    memcmp(tcp, &p->guest.sin_port, 2) ||
	    memcmp(tcp + 2, &p->far.sin_port, 2))
		return false;
	p->answered = true;
	reap_gone(p->fd, &p->local, &p->peer);
	return true;
}

/**
 * room() - Make room for one more probe
 * @r:		reaper
 * Return: true if there is room
 */
static bool room(struct reap *r)
{
	unsigned cap = r->cap ? 2 * r->cap : REAP_FIRST;
	struct probe *p;

	if (r->n < r->cap)
		return true;
	if (cap > REAP_MAX)
		return false;
	p = realloc(r->probes, cap * sizeof(*p));
	if (!p)
		return false;
	r->probes = p;
	r->cap = cap;
	return true;
}

/* drop_probes() - Forget the probes: no answer is awaited any more */
static void drop_probes(struct reap *r)
{
	free(r->probes);
	r->probes = NULL;
	r->n = r->cap = 0;
}

/**
 * sweep() - Probe every connection the guest may have left
 * @r:		reaper
 */
static void sweep(struct reap *r)
{
	char *conns = slirp_connection_info(r->slirp), *arp = NULL;
	uint8_t mac[6];

	r->n = 0;
	for (const char *l = conns; l; l = strchr(l, '\n')) {
		struct probe p;

		l += *l == '\n';
		if (!candidate(r, l, &p))
			continue;
		if (!room(r))
			break;
		r->probes[r->n++] = p;
	}
	g_free(conns);
	if (!r->n)
		return; /* nothing allocated */
	arp = slirp_neighbor_info(r->slirp);
	r->token = (uint32_t)clock_now_ns();
	for (unsigned i = 0; i < r->n; i++)
		if (guest_mac(arp, r->probes[i].guest.sin_addr, mac))
			send_probe(r, i, mac);
	g_free(arp);
	tap_watch(r->tap, answer, r);
}

/* answer_ms() - How long answers may come after a sweep */
static int64_t answer_ms(const struct reap *r)
{
	return r->sweep_ms / 2 < REAP_ANSWER_MS ? r->sweep_ms / 2
						: REAP_ANSWER_MS;
}

/**
 * tick() - Timer callback: a sweep, or the end of its answers' time
 * @a:		reaper
 * @b:		unused
 */
static void tick(void *a, void *b)
{
	struct reap *r = a;
	int64_t now = clock_now_ms();

	(void)b;
	if (r->n) {
		tap_watch(r->tap, NULL, NULL);
		drop_probes(r);
		timers_mod(r->tick, now + r->sweep_ms - answer_ms(r));
		return;
	}
	sweep(r);
	timers_mod(r->tick, now + (r->n ? answer_ms(r) : r->sweep_ms));
}

struct reap *reap_new(Slirp *slirp, struct tap *tap, struct timers *timers,
		      const struct opts *o)
{
	struct reap *r = calloc(1, sizeof(*r));
	const char *test = getenv("SLIRP4NETNS_TEST_REAP_MS");

	if (!r)
		return NULL;
	*r = (struct reap){ .slirp = slirp, .tap = tap, .timers = timers,
			    .net = &o->net, .sweep_ms = REAP_SWEEP_MS,
			    .idle_ms = REAP_IDLE_MS };
	if (test && atoi(test) > 1) /* tests: sweep and idle time in one */
		r->sweep_ms = r->idle_ms = atoi(test);
	r->tick = timers_add(timers, tick, r, NULL);
	if (!r->tick) {
		free(r);
		return NULL;
	}
	timers_mod(r->tick, clock_now_ms() + r->sweep_ms);
	return r;
}

void reap_free(struct reap *r)
{
	if (!r)
		return;
	tap_watch(r->tap, NULL, NULL);
	timers_del(r->timers, r->tick);
	free(r->probes);
	free(r);
}

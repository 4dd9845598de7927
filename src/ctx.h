/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_CTX_H
#define S4_CTX_H

#include <signal.h>
#include <stdbool.h>
#include <sys/signalfd.h>

#include <slirp/libslirp.h>

#include "api/api.h"
#include "dns/dns.h"
#include "fwd/fwd.h"
#include "fwd/splice.h"
#include "fwd/udp.h"
#include "fwd/udp_out.h"
#include "options.h"
#include "ring/ring.h"
#include "slirp/pollset.h"
#include "slirp/reap.h"
#include "timers.h"
#include "ns/helper.h"
#include "tap/tap.h"

/* What the loop owns. One per process; every module gets it. */
struct ctx {
	struct opts *o;
	struct ring *ring;
	struct tap *tap;
	struct pollset *ps;
	struct timers *timers;
	struct helper helper;
	struct fwd_table *fwd;
	struct fwd_splice *splice; /* TCP forwards' fast path */
	struct fwd_udp *udp;	   /* and UDP's */
	struct bypass *bypass;	   /* outbound TCP's, NULL if on libslirp */
	struct udp_out *udp_out;   /* outbound UDP's (idle on libslirp) */
	struct dns *dns;	   /* NULL where libslirp answers DNS */
	struct api *api; /* NULL without --api-socket */
	Slirp *slirp;
	struct reap *reap; /* libslirp's connections the guest left */

	int sigfd;
	struct signalfd_siginfo siginfo;

	bool kick; /* SlirpCb.notify: poll again without sleeping */
	bool quit;
	int exit_status;
	int quit_signal; /* re-raised after cleanup, so the status is 128+N */
};

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_FWD_SLIRP_H
#define S4_FWD_SLIRP_H

#include "fwd.h"

struct ctx;

/* Forwards through libslirp's own host listeners (slirp_add_hostxfwd). */
struct fwd_backend fwd_slirp_backend(struct ctx *c);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_NETCFG_H
#define S4_NETCFG_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "err.h"

/* Offsets from the network address, as slirp4netns defines them. */
enum {
	NETCFG_HOST_OFF = 2,
	NETCFG_DNS_OFF = 3,
	NETCFG_DHCP_OFF = 15,
	NETCFG_DHCP_LEASES = 16, /* hard-coded in libslirp */
	NETCFG_GUEST_OFF = 100,
};

/* The virtual network as derived from --cidr and --cidr6. */
struct netcfg {
	struct in_addr net, mask, host, dns, dhcp_start, dhcp_end, guest;
	unsigned prefix;
	struct in6_addr net6, host6, dns6, guest6;
	unsigned prefix6; /* as given; libslirp always runs a /64 */
};

int netcfg_cidr4(struct netcfg *n, const char *cidr, struct err *e);
int netcfg_cidr6(struct netcfg *n, const char *cidr, struct err *e);
void netcfg_random6(struct netcfg *n, const uint8_t rnd[5]);
int netcfg_mac(const char *s, uint8_t mac[6], struct err *e);

/* The same address and port (IPv4 or IPv6; another family: no) */
bool netcfg_same_endpoint(const struct sockaddr_storage *a,
			  const struct sockaddr_storage *b);

#endif

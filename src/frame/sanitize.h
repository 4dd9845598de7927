/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_SANITIZE_H
#define S4_SANITIZE_H

#include <stddef.h>
#include <stdint.h>

/* Why a frame from the namespace was dropped before libslirp saw it. */
enum sanitize_verdict {
	SAN_PASS,
	SAN_RUNT,	  /* shorter than its headers */
	SAN_BAD_HEADER,	  /* IP version or header length, ARP shape */
	SAN_BAD_LENGTH,	  /* IP total/payload length beyond the frame */
	SAN_LOOPBACK,	  /* 127/8, ::1, ::ffff:127/104 as source or dest */
	SAN_UNSPECIFIED,  /* 0.0.0.0 or :: where it cannot be */
	SAN_BAD_FRAGMENT, /* refused by the reassembler (tap.c) */
	SAN_NUM_VERDICTS,
};

extern const char *const sanitize_names[SAN_NUM_VERDICTS];

/**
 * sanitize_frame() - Decide whether libslirp may see a frame
 * @f:		Ethernet frame from the TAP
 * @len:	its length
 *
 * libslirp trusts what the guest sends: an IPv4 or IPv6 packet addressed to
 * a loopback address becomes a connection to the host's own loopback, even
 * with --disable-host-loopback, and malformed lengths have crashed it.
 * Unspecified sources are allowed only where the protocols need them: DHCP
 * (0.0.0.0 to 255.255.255.255, UDP to port 67), and ICMPv6 and MLD
 * (duplicate address detection and multicast reports send from ::).
 * Return: SAN_PASS, or why to drop it
 */
enum sanitize_verdict sanitize_frame(const uint8_t *f, size_t len);

/**
 * sanitize_csum_partial() - Finish a checksum the guest left to the device
 * @f:		Ethernet frame
 * @len:	its length
 * @start:	where the checksummed part starts (virtio_net_hdr.csum_start)
 * @off:	where in it the checksum goes, from @start (csum_offset)
 *
 * With checksum offload the guest writes only the pseudo-header's sum into
 * the checksum field; the one's-complement sum from @start to the end,
 * that field included, completes it. libslirp checks every checksum, so
 * this must be done before it sees the frame.
 * Return: 0, or -EINVAL if @start and @off do not fit in the frame
 */
int sanitize_csum_partial(uint8_t *f, size_t len, size_t start, size_t off);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef S4_RAWIP_H
#define S4_RAWIP_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* IP packets for the guest that only a raw socket can send: the ICMP
 * errors libslirp sends when a UDP datagram could not be delivered, and
 * the headers of a UDP datagram from an address we cannot bind (see
 * rawip.c); and the reaper's probe, a bare TCP ACK. */
enum {
	RAWIP_ICMP_MAX = 40 + 8 + 40 + 8, /* IPv6, ICMPv6, the quoted headers */
};

/**
 * rawip_icmp_unreach() - "Destination unreachable" for a UDP datagram, as an IP
 * packet from the destination to the sender
 * @buf:	RAWIP_ICMP_MAX bytes
 * @err:	what sending it gave: ECONNREFUSED (port unreachable),
 *		EHOSTUNREACH (host); anything else is the network's
 * @sender:	the datagram's source
 * @dest:	its destination (one family with @sender)
 * @len:	its payload's length
 * Return: the packet's length, headers and checksums filled, or
 *	   -EAFNOSUPPORT
 */
int rawip_icmp_unreach(void *buf, int err, const struct sockaddr_storage *sender,
		  const struct sockaddr_storage *dest, size_t len);

enum {
	RAWIP_UDP_MAX = 40 + 8, /* IPv6 and UDP */
};

/**
 * rawip_udp_header() - The IP and UDP headers of a datagram from @src to
 * @dst, for a raw socket (IP_HDRINCL) to send before its payload
 * @buf:	RAWIP_UDP_MAX bytes
 * @src:	where it comes from
 * @dst:	where it goes (one family with @src)
 * @payload:	its payload: IPv6 wants a checksum over it
 * @len:	its length
 * Return: the headers' length, or -EAFNOSUPPORT, or -EMSGSIZE if @len
 *	   does not fit one IP packet
 */
int rawip_udp_header(void *buf, const struct sockaddr_storage *src,
		     const struct sockaddr_storage *dst, const void *payload,
		     size_t len);

enum {
	RAWIP_TCP_ACK4_LEN = 20 + 20, /* IPv4 and TCP, no options */
};

/**
 * rawip_tcp_ack4() - A bare TCP ACK from @src to @dst: no data, no options
 * @buf:	RAWIP_TCP_ACK4_LEN bytes
 * @src:	where it comes from
 * @dst:	where it goes
 * @seq:	its sequence number
 * @ack:	the number it acknowledges
 * Return: its length, RAWIP_TCP_ACK4_LEN, checksums filled
 */
size_t rawip_tcp_ack4(void *buf, const struct sockaddr_in *src,
		      const struct sockaddr_in *dst, uint32_t seq, uint32_t ack);

#endif

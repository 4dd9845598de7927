// SPDX-License-Identifier: GPL-2.0-or-later
/* configure.c - open and configure the TAP from inside the namespace. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <net/route.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../options.h"
#include "configure.h"

int tap_open(const char *name, struct err *e)
{
	/* A virtio-net header on each frame lets the namespace hand us TCP
	 * segments of up to 64 KiB whatever the MTU, checksum not done
	 * (TSO and checksum offload; IPv4): at MTU 1500 that is 40 times fewer
	 * frames through libslirp from the namespace. tap.c reads the
	 * header back with TUNGETIFF, so a TAP opened elsewhere works too. */
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return err_set(e, -errno, "open(\"/dev/net/tun\"): %s",
			       strerror(errno));
	strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int rc = -errno;

		close(fd);
		return err_set(e, rc, "ioctl(TUNSETIFF): %s", strerror(-rc));
	}
	/* Without it the header just stays empty: frames as before. No TSO6:
	 * libslirp answers an IPv6 packet over the MTU with "packet too big"
	 * (IPv4 it takes whole). At MTU 65520 too, though frames there are
	 * libslirp's 32 KiB MSS either way and the checksum left to us costs
	 * a pass over every byte: without offloads one stream from the
	 * namespace ran at 0.6x (5 rounds; the device then has no
	 * scatter-gather either, so the namespace's TCP copies each segment
	 * into one piece, on the same two cores). */
	ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4);
	return fd;
}

static void sin_set(struct sockaddr *sa, struct in_addr a)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)sa;

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr = a;
}

static int if_up(int sock, const char *name, struct err *e)
{
	struct ifreq ifr = { 0 };

	strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
		return err_set(e, -errno, "cannot get flags of %s: %s", name,
			       strerror(errno));
	/* OR, not assign: upstream's assignment cleared IFF_MULTICAST */
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0)
		return err_set(e, -errno, "cannot set device up: %s",
			       strerror(errno));
	return 0;
}

static int set_ipv4(int sock, const char *name, const struct opts *o,
		    struct err *e)
{
	struct ifreq ifr = { 0 };
	struct rtentry rt = { 0 };

	strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	sin_set(&ifr.ifr_addr, o->net.guest);
	if (ioctl(sock, SIOCSIFADDR, &ifr) < 0)
		return err_set(e, -errno, "cannot set device address: %s",
			       strerror(errno));
	sin_set(&ifr.ifr_netmask, o->net.mask);
	if (ioctl(sock, SIOCSIFNETMASK, &ifr) < 0)
		return err_set(e, -errno, "cannot set device netmask: %s",
			       strerror(errno));
	sin_set(&rt.rt_dst, (struct in_addr){ 0 });
	sin_set(&rt.rt_genmask, (struct in_addr){ 0 });
	sin_set(&rt.rt_gateway, o->net.host);
	rt.rt_flags = RTF_UP | RTF_GATEWAY;
	rt.rt_dev = (char *)name;
	if (ioctl(sock, SIOCADDRT, &rt) < 0)
		return err_set(e, -errno, "set route: %s", strerror(errno));
	return 0;
}

/* linux/ipv6.h's, which clashes with netinet/in.h */
struct in6_ifreq {
	struct in6_addr ifr6_addr;
	uint32_t ifr6_prefixlen;
	int ifr6_ifindex;
};

static int set_ipv6(const char *name, const struct opts *o, struct err *e)
{
	struct in6_ifreq r = { .ifr6_addr = o->net.guest6,
			       .ifr6_prefixlen = 64 };
	int sock = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int rc = 0;

	if (sock < 0)
		return err_set(e, -errno, "socket(AF_INET6): %s",
			       strerror(errno));
	r.ifr6_ifindex = if_nametoindex(name);
	if (ioctl(sock, SIOCSIFADDR, &r) < 0)
		rc = err_set(e, -errno, "cannot set IPv6 address: %s",
			     strerror(errno));
	close(sock);
	return rc;
}

static int set_mtu_mac(int sock, const char *name, const struct opts *o,
		       struct err *e)
{
	struct ifreq ifr = { 0 };

	strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	ifr.ifr_mtu = o->mtu;
	if (ioctl(sock, SIOCSIFMTU, &ifr) < 0)
		return err_set(e, -errno, "cannot set MTU: %s",
			       strerror(errno));
	if (!o->macaddress)
		return 0;
	ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
	memcpy(ifr.ifr_hwaddr.sa_data, o->mac, 6);
	if (ioctl(sock, SIOCSIFHWADDR, &ifr) < 0)
		return err_set(e, -errno, "cannot set MAC address: %s",
			       strerror(errno));
	return 0;
}

int tap_configure(const char *name, const struct opts *o, struct err *e)
{
	int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int rc;

	if (sock < 0)
		return err_set(e, -errno, "socket: %s", strerror(errno));
	rc = if_up(sock, "lo", e);
	if (!rc)
		rc = set_mtu_mac(sock, name, o, e);
	if (!rc)
		rc = if_up(sock, name, e);
	if (!rc)
		rc = set_ipv4(sock, name, o, e);
	if (!rc && o->ipv6)
		rc = set_ipv6(name, o, e);
	close(sock);
	return rc;
}

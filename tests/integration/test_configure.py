#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""-c: lo up, TAP up with MTU, MAC, .100/prefix, default route via .2; with
-6 also P::100. Configured before the ready byte is written."""
from nslib import *

isolate()
t = Netns()
f = start(["-c", "--mtu=65520", "--cidr=10.41.0.0/16", "-6",
           "--macaddress=02:11:22:33:44:55"], t)
# read right after the ready byte: -c must be complete by then
link = t.sh("ip -o link show tap0").stdout
addr = t.sh("ip -o addr show tap0").stdout
route = t.sh("ip route show default").stdout
lo = t.sh("ip -o link show lo").stdout
check("mtu 65520" in link, "MTU 65520 set on tap0")
check("02:11:22:33:44:55" in link, "MAC address set")
check(",UP" in link, "tap0 is up")
check("MULTICAST" in link, "tap0 keeps IFF_MULTICAST")
check("10.41.0.100/16" in addr, "IPv4 address net+100 with the CIDR's prefix")
check("fd00::100/64" in addr, "IPv6 address P::100/64 with -6")
check("default via 10.41.0.2 dev tap0" in route, "default route via net+2")
check("UP" in lo.split(">")[0], "lo is up")
status, out, err = f.finish()
check("* Network:         10.41.0.0" in out, "banner shows the network")
check("* Netmask:         255.255.0.0" in out, "banner shows the netmask")
check("* MAC address:     02:11:22:33:44:55" in out, "banner shows the MAC")
check("WARNING: Support for IPv6 is experimental" in out, "IPv6 warning")

# without -c the TAP exists but is left alone
t2 = Netns("plain")
f = start([], t2)
link = t2.sh("ip -o link show tap0").stdout
check("state DOWN" in link and "10." not in t2.sh("ip -o addr").stdout,
      "without -c the TAP is created down and unaddressed")
f.finish()

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""-6: router advertisements (SLAAC in fd00::/64), and fd00::2 reaching the
host's ::1 with TCP and UDP. --cidr6 moves all of it."""
from nslib import *

isolate()
tcp = TcpEchoServer("::1", family=socket.AF_INET6)
udp = UdpEchoServer("::1", family=socket.AF_INET6)

for args, prefix in (([], "fd00:"), (["--cidr6=fd42:1:2::/64"], "fd42:1:2:")):
    t = Netns("v6")
    f = start(["-c", "-6", *args], t)
    check(t.peer("wait-addr", prefix + ":100", 10) == "ok",
          f"{prefix}:100 assigned by -c and usable")
    # SLAAC: an address from the router advertisement, and a default route
    for _ in range(100):
        a = t.sh("ip -6 -o addr show tap0 scope global").stdout
        if "dynamic" in a:
            break
        time.sleep(0.1)
    check("dynamic" in a and prefix in a, f"SLAAC address in {prefix}:/64")
    n = 4 << 20
    sent, got, ln = t.peer("tcp-echo6", prefix + ":2", tcp.port, n).split()
    check(sent == got and int(ln) == n, f"TCP over IPv6 to {prefix}:2 echoed")
    check(t.peer("udp-echo6", prefix + ":2", udp.port, 10, 1000) == "10",
          "UDP over IPv6 echoed")
    status, out, err = f.finish()
    t.close()
check(set(tcp.peers) == {"::1"}, "the host side sees ::1")

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""--disable-host-loopback: connections to the gateway are refused with
"Network is unreachable", UDP is dropped, the host's server sees nothing."""
from nslib import *

isolate()
t = Netns()
tcp = TcpEchoServer()
udp = UdpEchoServer()
f = start(["-c", "--disable-host-loopback"], t)
r = t.peer("tcp-connect", "10.0.2.2", tcp.port)
check(r == "ENETUNREACH", f"TCP to 10.0.2.2 refused with ENETUNREACH ({r})")
check(t.peer("udp-echo", "10.0.2.2", udp.port, 2, 100) == "0",
      "UDP to 10.0.2.2 gets no answer")
check(not tcp.peers and not udp.peers, "the host's servers saw nothing")
r = t.sh("ping -c 1 -W 2 10.0.2.2", check=False)
check(r.returncode == 0, "the gateway itself still answers ping")
status, out, err = f.finish()
check("WARNING: 127.0.0.1:* on the host is accessible" not in out,
      "no loopback warning in the banner")

# and the default: the warning is there
t2 = Netns("default")
f = start([], t2)
status, out, err = f.finish()
check("WARNING: 127.0.0.1:* on the host is accessible as 10.0.2.2" in out,
      "the default banner warns that host loopback is reachable")

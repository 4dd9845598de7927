#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Junk from a hostile namespace: 5,000 runt frames, 20,000 malformed ARP,
30,000 bad IPv4 headers and 50,000 random frames leave the forwarder
serving, with bounded memory. (Random frames carry random destinations:
the outer namespace has no route anywhere, so none can leave.)"""
from nslib import *

isolate()


srv = TcpEchoServer()
t = Netns()
f = start(["-c", "-6"], t)
base = rss_kb(f.proc.pid)
for kind, n in (("runt", 5000), ("arp", 20000), ("ipv4", 30000),
                ("random", 50000)):
    t.peer("flood", kind, n, timeout=300)
    sent, got, _ = t.peer("tcp-echo", "10.0.2.2", srv.port, 1 << 20).split()
    rss = rss_kb(f.proc.pid)
    check(f.proc.poll() is None and sent == got,
          f"{n} {kind} frames: still serving (RSS {base} -> {rss} kB)")
    check(rss - base < 16 * 1024, f"{kind}: memory bounded")
status, out, err = f.finish()
check(len(err.splitlines()) < 40, f"log output bounded ({len(err.splitlines())}"
      " lines)")

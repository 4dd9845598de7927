#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""IPv4 fragments from a hostile namespace: an orphan fragment, overlapping
fragments and a flood of them leave the forwarder serving with bounded
memory (libslirp's own reassembly dies on the first: the original is the
control), while large fragmented UDP datagrams still work."""
import os
import random
from nslib import *

isolate()


def serving(t, srv):
    sent, got, n = t.peer("tcp-echo", "10.0.2.2", srv.port, 100000).split()
    return sent == got


srv = TcpEchoServer()
udp = UdpEchoServer()
t = Netns()
f = start(["-c"], t)
t.peer("frag", "10.0.2.100", "10.0.2.2", 100, 0, 7, 64)
check(f.proc.poll() is None and serving(t, srv),
      "an orphan fragment: still serving")
# overlapping: 0..800 then 400..1200 of one datagram, then a clean end
t.peer("frag", "10.0.2.100", "10.0.2.2", 0, 1, 8, 800)
t.peer("frag", "10.0.2.100", "10.0.2.2", 50, 1, 8, 800)
t.peer("frag", "10.0.2.100", "10.0.2.2", 150, 0, 8, 100)
check(f.proc.poll() is None and serving(t, srv),
      "overlapping fragments: still serving")
before = rss_kb(f.proc.pid)
flood = "; ".join(
    f"{sys.executable} {PEER} frag 10.0.2.100 10.0.2.{random.randrange(2, 4)}"
    f" {random.randrange(8192)} {random.randrange(2)} {i} "
    f"{8 * random.randrange(1, 180)} >/dev/null" for i in range(300))
t.sh(flood)
check(f.proc.poll() is None and serving(t, srv),
      "300 random fragments: still serving")
after = rss_kb(f.proc.pid)
# 32 datagrams of 64 KiB at most are held; ASan's quarantine keeps every
# freed buffer for a while instead (~25 KiB each, 300 here), hence its own
limit_mb = 16 if "ASAN_OPTIONS" in os.environ else 8
check(after - before < limit_mb * 1024,
      f"RSS bounded ({before} -> {after} kB, < {limit_mb} MiB)")
for size in (4000, 30000, 65000):
    check(t.peer("udp-echo", "10.0.2.2", udp.port, 3, size) == "3",
          f"{size}-byte UDP datagrams through fragments, both ways")
status, out, err = f.finish()
check("bad IPv4 fragment" in err, "bad fragments are counted")

if os.path.exists("/usr/bin/slirp4netns"):
    t2 = Netns("control")
    f = start(["-c"], t2, binary="/usr/bin/slirp4netns")
    t2.peer("frag", "10.0.2.100", "10.0.2.2", 100, 0, 7, 64)
    check(f.wait(3) is not None,
          f"control: the original dies of it (status {f.proc.returncode})")

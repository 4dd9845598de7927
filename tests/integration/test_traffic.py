#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Namespace -> host loopback through 10.0.2.2: TCP with checksummed data
both ways (small and 64 MiB), UDP, and ping to the gateway."""
import sys
from nslib import *

isolate()
mtu = sys.argv[1] if len(sys.argv) > 1 else "1500"
# "fixed": the four-READ_FIXED receive path kernels before 6.7 take
if len(sys.argv) > 2 and sys.argv[2] == "fixed":
    os.environ["SLIRP4NETNS_TEST_NO_MULTISHOT"] = "1"
t = Netns()
tcp = TcpEchoServer()
udp = UdpEchoServer()
f = start(["-c", "--mtu=" + mtu], t)
for n in (1, 1000, 1 << 20, 64 << 20):
    sent, got, ln = t.peer("tcp-echo", "10.0.2.2", tcp.port, n).split()
    check(sent == got and int(ln) == n, f"TCP {n} bytes echoed intact (MTU {mtu})")
# TSO and checksum offload at every MTU (configure.c): without them, even
# at MTU 65520 one stream from the namespace ran at 0.6x
got = t.peer("tap-offloads", "tap0")
check(got == "csum=1 tso=1", f"TAP offloads at MTU {mtu}: {got}")
if mtu == "1500":
    # TSO through the virtio-net header: the namespace's TCP leaves in
    # segments of up to 64 KiB. 8 MiB need ~5,800 frames at 1,460 bytes
    # each; what is left besides a few hundred large ones is the ACKs for
    # the echo coming back (~2,700 here)
    s0 = tap_stats(t)
    sent, got, ln = t.peer("tcp-echo", "10.0.2.2", tcp.port, 8 << 20).split()
    s1 = tap_stats(t)
    frames = s1["tx"]["packets"] - s0["tx"]["packets"]
    check(sent == got, "8 MiB echoed intact in large segments")
    check(frames < 4500, f"8 MiB out of the namespace in {frames} frames "
          "(segments larger than the MTU)")
    # and back in: libslirp's 1,460-byte segments joined into GSO frames
    # (gso.c), ~5,900 frames without
    frames = s1["rx"]["packets"] - s0["rx"]["packets"]
    check(frames < 2000, f"8 MiB into the namespace in {frames} frames "
          "(segments joined)")
check(tcp.peers and set(tcp.peers) == {"127.0.0.1"},
      "the host side sees connections from 127.0.0.1")
check(t.peer("udp-echo", "10.0.2.2", udp.port, 50, 1200) == "50",
      "50 UDP datagrams of 1200 bytes echoed")
check(t.peer("udp-echo", "10.0.2.2", udp.port, 5, 8000) == "5",
      "UDP datagrams larger than the MTU (fragmented) echoed")
r = t.sh("ping -c 3 -i 0.2 -W 2 10.0.2.2", check=False)
check(r.returncode == 0 and " 0% packet loss" in r.stdout, "ping 10.0.2.2")
status, out, err = f.finish()
check(status == -15, f"SIGTERM ends it with the signal (status {status})")

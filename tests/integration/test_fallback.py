#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Where io_uring is refused (seccomp EPERM, as Docker's profile does), the
same loop runs on poll(2): one warning, and everything still works."""
from nslib import *

isolate()
wrapper = os.environ.get("S4_NO_URING") or os.path.join(
    os.path.dirname(S4), "tests", "no_uring")
if not os.path.exists(wrapper):
    fail("no_uring helper not built: " + wrapper)
t = Netns()
tcp = TcpEchoServer()
udp = UdpEchoServer()
f = Forwarder(["-c"], t, wrapper=[wrapper], exit_fd=True).wait_ready()
for n in (1, 16 << 20):
    sent, got, ln = t.peer("tcp-echo", "10.0.2.2", tcp.port, n).split()
    check(sent == got and int(ln) == n, f"poll(2) backend: TCP {n} bytes")
check(t.peer("udp-echo", "10.0.2.2", udp.port, 20, 1000) == "20",
      "poll(2) backend: UDP")
check(t.sh("ping -c 2 -i 0.2 -W 2 10.0.2.2", check=False).returncode == 0,
      "poll(2) backend: ping")
os.close(f.exit_w)
check(f.wait(5) == 0, "poll(2) backend: exit fd works")
err = f.proc.stderr.read().decode()
warn = [l for l in err.splitlines() if "io_uring" in l]
check(warn == ["WARNING: io_uring is not available (Operation not "
               "permitted), using poll(2)"], f"one warning: {warn}")

# and the normal binary does use io_uring: no such warning
f = start(["-c"], t)
status, out, err = f.finish()
check("io_uring" not in err, "with io_uring available, no warning")

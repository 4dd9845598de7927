#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Frames a hostile namespace crafts itself, addressed to the host's
loopback (127.0.0.1, 0.0.0.0, ::1), reach nothing on the host, even though
libslirp would turn them into connections there despite
--disable-host-loopback. The same frames sent through /usr/bin/slirp4netns
(when installed) show that they are real attacks, not merely malformed."""
import re
from nslib import *

isolate()


class Trap:
    """Listeners on the host's loopback that record anything reaching
    them."""

    def __init__(self):
        self.u4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.u4.bind(("127.0.0.1", 0))
        self.t4 = socket.socket()
        self.t4.bind(("127.0.0.1", 0))
        self.t4.listen(8)
        self.t6 = socket.socket(socket.AF_INET6)
        self.t6.bind(("::1", 0))
        self.t6.listen(8)
        for s in (self.u4, self.t4, self.t6):
            s.setblocking(False)

    def hits(self):
        n = 0
        for s in (self.u4, self.t4, self.t6):
            try:
                s.recvfrom(100) if s.type == socket.SOCK_DGRAM else s.accept()
                n += 1
            except BlockingIOError:
                pass
        return n


def attack(binary, trap):
    """Send every crafted frame through a forwarder; count what arrived."""
    t = Netns("attacker")
    f = start(["-c", "-6", "--disable-host-loopback"], t, binary=binary)
    t.peer("wait-addr", "fd00::100", 10)
    got = {}
    for proto, dst, port in (
            ("udp", "127.0.0.1", trap.u4.getsockname()[1]),
            ("tcp", "127.0.0.1", trap.t4.getsockname()[1]),
            ("tcp", "0.0.0.0", trap.t4.getsockname()[1]),
            ("tcp", "::1", trap.t6.getsockname()[1])):
        src = "fd00::100" if ":" in dst else "10.0.2.100"
        t.peer("raw", proto, src, dst, port)
        time.sleep(0.5)
        got[f"{proto} to {dst}"] = trap.hits()
    status, out, err = f.finish()
    t.close()
    return got, err


trap = Trap()
got, err = attack(S4, trap)
for what, n in got.items():
    check(n == 0, f"{what}: nothing reached the host's loopback")
check("dropped a frame from the namespace (loopback address)" in err,
      "the drop is logged once")
check(re.search(r"tap: dropped \d+ frame\(s\): loopback address", err),
      "and counted at exit")

if os.path.exists("/usr/bin/slirp4netns"):
    got, _ = attack("/usr/bin/slirp4netns", Trap())
    check(sum(got.values()) > 0,
          f"control: the same frames do reach it through the original {got}")
elif CI:
    fail("control run needs /usr/bin/slirp4netns under CI")

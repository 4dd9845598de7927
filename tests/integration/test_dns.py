#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""DNS: queries to 10.0.2.3 reach the resolver in the host's resolv.conf (one
the test runs); --disable-dns stops that."""
import struct
from nslib import *

isolate()


class Resolver(threading.Thread):
    """Answers every A query with 192.0.2.7; counts queries."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 53))
        self.queries = []
        self.start()

    def run(self):
        while True:
            q, a = self.sock.recvfrom(4096)
            name, i = [], 12
            while q[i]:
                name.append(q[i + 1:i + 1 + q[i]].decode())
                i += 1 + q[i]
            self.queries.append(".".join(name))
            qend = i + 5
            hdr = q[:2] + struct.pack(">HHHHH", 0x8180, 1, 1, 0, 0)
            ans = struct.pack(">HHHIH", 0xC00C, 1, 1, 60, 4)
            self.sock.sendto(hdr + q[12:qend] + ans +
                             socket.inet_aton("192.0.2.7"), a)


resolv_conf("127.0.0.1")
res = Resolver()

t = Netns()
f = start(["-c"], t)
check(t.peer("dns", "10.0.2.3", "svc.test.internal") == "192.0.2.7",
      "10.0.2.3 answers through the host's resolver")
check(res.queries == ["svc.test.internal"], "the resolver saw the query")
f.finish()

t2 = Netns("nodns")
f = start(["-c", "--disable-dns"], t2)
check(t2.peer("dns", "10.0.2.3", "other.test.internal") == "timeout",
      "--disable-dns: 10.0.2.3 does not answer")
check(res.queries == ["svc.test.internal"], "--disable-dns: resolver saw nothing")
f.finish()

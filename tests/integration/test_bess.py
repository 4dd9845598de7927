#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""--target-type=bess: frames as SOCK_SEQPACKET messages on a unix socket
(User Mode Linux's vector transport). An ARP request for the gateway gets
libslirp's reply; ready comes only after the client connected."""
import struct
import tempfile
from nslib import *

isolate()
tmp = tempfile.mkdtemp()
path = os.path.join(tmp, "bess.sock")
sock = os.path.join(tmp, "api.sock")
f = Forwarder(["--target-type=bess", "-a", sock, path])
for _ in range(100):
    if os.path.exists(path):
        break
    time.sleep(0.05)
r, _, _ = select.select([f.ready_r], [], [], 0.3)
check(not r, "not ready before a client connects")
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(path)
f.wait_ready()
mac = bytes.fromhex("020000000001")
arp = (b"\xff" * 6 + mac + b"\x08\x06" +
       struct.pack(">HHBBH", 1, 0x0800, 6, 4, 1) + mac +
       socket.inet_aton("10.0.2.100") + b"\0" * 6 +
       socket.inet_aton("10.0.2.2"))
s.send(arp)
s.settimeout(3)
reply = s.recv(2048)
check(reply[12:14] == b"\x08\x06" and reply[20:22] == b"\x00\x02",
      "an ARP reply came back")
check(reply[22:28] == bytes.fromhex("52550a000202"),
      "10.0.2.2 is at 52:55:0a:00:02:02")
# the helper stays in our own namespace here, where guest_addr would be a
# real address: no splice forwards, and TCP forwards default to libslirp
fwd = {"proto": "tcp", "host_addr": "127.0.0.1", "host_port": 18080,
       "guest_port": 80}
r = api_call(sock, {"execute": "add_hostfwd",
                    "arguments": dict(fwd, mode="splice")})
check("slirp_add_hostfwd failed" in r.get("error", {}).get("desc", ""),
      f"BESS: a splice forward is refused ({r})")
r = api_call(sock, {"execute": "add_hostfwd", "arguments": fwd})
check(r == {"return": {"id": 1}}, f"BESS: a forward without a mode is added "
      f"({r})")
check(api_call(sock, {"execute": "list_hostfwd"})["entries"][0]["id"] == 1,
      "and listed")
s2 = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
try:
    s2.connect(path)
    check(False, "a second client is refused")
except OSError:
    check(True, "a second client is refused")
status, out, err = f.finish()
check("Waiting for connection to " + path in err, "says it waits")
check("WARNING: BESS mode is experimental" in out, "BESS warning")

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A lost poll wake-up must not stall a splice connection for good: with
S4_TEST_DROP_POLLS=5 the engine ignores every fifth poll completion of its
connections, and the once-a-second sweep (splice.c) must still carry every
byte, through the bypass and through a forward. Without the sweep, some of
these connections stop and time out."""
import hashlib
import tempfile
from nslib import *

isolate()
os.environ["S4_TEST_DROP_POLLS"] = "5"
lo = TcpEchoServer("127.0.0.1")
sock = os.path.join(tempfile.mkdtemp(), "api.sock")
t = Netns()
f = start(["-c", "--enable-tcp-bypass", "-a", sock], t)

out = t.peer("tcp-echo-many", "10.0.2.2", lo.port, 16, 1 << 20,
             timeout=200).split()
check(out and out[0] == "16", f"bypass: 16 x 1 MiB intact despite lost "
      f"wake-ups: {out}")

t.popen([sys.executable, PEER, "serve-tcp-echo", "0.0.0.0", "80", "0"],
        stdout=subprocess.DEVNULL)
time.sleep(0.3)
r = api_call(sock, {"execute": "add_hostfwd", "arguments": {
    "proto": "tcp", "host_addr": "127.0.0.1", "host_port": 18080,
    "guest_port": 80, "mode": "splice"}})
check(r == {"return": {"id": 1}}, f"splice forward: {r}")
bad = []


def one(i):
    data = random.Random(i).randbytes(1 << 20)
    try:
        got = tcp_roundtrip("127.0.0.1", 18080, data, timeout=60)
    except OSError as e:
        got = repr(e).encode()
    if hashlib.sha256(got).digest() != hashlib.sha256(data).digest():
        bad.append(i)


ts = [threading.Thread(target=one, args=(i,)) for i in range(8)]
for x in ts:
    x.start()
for x in ts:
    x.join()
check(not bad, f"forward: 8 x 1 MiB intact despite lost wake-ups ({bad})")
f.finish()

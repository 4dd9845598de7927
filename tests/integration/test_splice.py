#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""TCP forwards on the fast path ("mode": "splice"): host socket to a
socket the helper made in the namespace, splice(2) in between, the TAP
never touched. 64 connections x 1 MiB each way with sha256, half-close,
a refused connect reset at once, removal closing only the listener, 2,000
connections held open at once, and the same under sandbox and seccomp."""
import tempfile
from nslib import *

isolate()


def add(sock, host_port, guest_port, **kw):
    args = {"proto": "tcp", "host_addr": "127.0.0.1", "host_port": host_port,
            "guest_port": guest_port, "mode": "splice", **kw}
    return api_call(sock, {"execute": "add_hostfwd", "arguments": args})


def run(extra):
    tmp = tempfile.mkdtemp()
    sock = os.path.join(tmp, "api.sock")
    t = Netns()
    f = start(["-c", "-a", sock, *extra], t)
    t.popen([sys.executable, PEER, "serve-tcp-echo", "0.0.0.0", "80", "0"],
            stdout=subprocess.DEVNULL)
    time.sleep(0.3)
    check(add(sock, 18080, 80) == {"return": {"id": 1}}, "splice forward")
    before = tap_bytes(t)
    bad = many_roundtrips(18080, 64, 1 << 20)
    check(not bad, f"64 x 1 MiB each way, sha256 intact ({bad[:5]})")
    moved = tap_bytes(t) - before
    check(moved < (1 << 20), f"not through the TAP ({moved} bytes there)")

    # the client half-closes first: the echo still comes back whole
    got = tcp_roundtrip("127.0.0.1", 18080, b"x" * 100000, timeout=10)
    check(got == b"x" * 100000, "half-close: all bytes, then EOF")

    # nothing listens on 81: the client is reset, promptly
    check(add(sock, 18081, 81) == {"return": {"id": 2}}, "second forward")
    t0 = time.time()
    try:
        # the reset may beat connect() itself back to user space
        c = socket.create_connection(("127.0.0.1", 18081), timeout=10)
        r = c.recv(16)
        outcome = f"read {r!r}"
    except ConnectionResetError:
        outcome = "reset"
    check(outcome == "reset" and time.time() - t0 < 5,
          f"refused in the namespace: client reset ({outcome})")

    # removing a forward closes its listener, not its connections
    c = socket.create_connection(("127.0.0.1", 18080), timeout=10)
    c.sendall(b"before")
    check(c.recv(16) == b"before", "established connection echoes")
    check(api_call(sock, {"execute": "remove_hostfwd",
                     "arguments": {"id": 1}}) == {"return": {}}, "removed")
    try:
        socket.create_connection(("127.0.0.1", 18080), timeout=5)
        refused = False
    except ConnectionRefusedError:
        refused = True
    check(refused, "new connections refused after removal")
    c.sendall(b"after")
    check(c.recv(16) == b"after", "the established one still echoes")
    c.close()
    return t, f, sock


t, f, sock = run([])

# 2,000 connections at once, all held open, all still echoing
check(add(sock, 18082, 80) == {"return": {"id": 3}}, "third forward")
conns = []
for i in range(2000):
    c = socket.create_connection(("127.0.0.1", 18082), timeout=30)
    conns.append(c)
for i, c in enumerate(conns):
    c.sendall(b"%d;" % i)
ok = 0
for i, c in enumerate(conns):
    want = b"%d;" % i
    got = b""
    while len(got) < len(want):
        d = c.recv(64)
        if not d:
            break
        got += d
    ok += got == want
check(ok == 2000, f"2,000 held open, all echo ({ok})")
threads = len(os.listdir(f"/proc/{f.proc.pid}/task"))
check(threads == 1, f"no kernel or user threads per connection ({threads})")
st, _, err = f.finish()
check(st == -signal.SIGTERM, f"with forwards and connections open, a clean "
      f"stop ({st}: {err[-300:]!r})")
for c in conns:
    c.close()

t, f, sock = run(["--enable-sandbox", "--enable-seccomp"])
st, _, err = f.finish()
check(st == -signal.SIGTERM, f"sandboxed: a clean stop ({st})")

# no "mode": TCP takes the fast path, unless --forward-mode=slirp
for opt, through_tap in (([], False), (["--forward-mode=slirp"], True)):
    sock = os.path.join(tempfile.mkdtemp(), "api.sock")
    t = Netns()
    f = start(["-c", "-a", sock, *opt], t)
    t.popen([sys.executable, PEER, "serve-tcp-echo", "0.0.0.0", "80", "0"],
            stdout=subprocess.DEVNULL)
    time.sleep(0.3)
    args = {"proto": "tcp", "host_addr": "127.0.0.1", "host_port": 18080,
            "guest_port": 80}
    check(api_call(sock, {"execute": "add_hostfwd", "arguments": args}) ==
          {"return": {"id": 1}}, f"forward without a mode {opt}")
    before = tap_bytes(t)
    check(not many_roundtrips(18080, 1, 1 << 20), "1 MiB each way")
    moved = tap_bytes(t) - before
    check((moved > (2 << 20)) == through_tap,
          f"{opt}: {moved} bytes through the TAP")
    f.finish()
    t.close()

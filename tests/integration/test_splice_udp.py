#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""UDP forwards on the fast path ("mode": "splice"): one flow per client,
datagrams intact both ways up to 60,000 bytes, none through the TAP, the
service sees the namespace's own address, idle flows expire (their sockets
close) and come back on the next datagram, removal closes the port."""
import tempfile
from nslib import *

isolate()


def echo(c, data):
    c.sendto(data, ("127.0.0.1", 18053))
    return c.recvfrom(65536)[0]


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def fds_become(pid, n, timeout=3):
    """The API's own connection closes a moment after it answers."""
    end = time.time() + timeout
    while fds(pid) != n and time.time() < end:
        time.sleep(0.05)
    return fds(pid) == n


IDLE_MS = 1500
os.environ["SLIRP4NETNS_TEST_UDP_IDLE_MS"] = str(IDLE_MS)
sock = os.path.join(tempfile.mkdtemp(), "api.sock")
t = Netns()
f = start(["-c", "-a", sock], t)
srv = t.popen([sys.executable, PEER, "serve-udp-echo", "0.0.0.0", "5353"],
              stdout=subprocess.PIPE, text=True)
check(srv.stdout.readline().strip() == "listening", "echo server")
base = fds(f.proc.pid)
check(api_call(sock, {"execute": "add_hostfwd", "arguments": {
    "proto": "udp", "host_addr": "127.0.0.1", "host_port": 18053,
    "guest_port": 5353, "mode": "splice"}}) == {"return": {"id": 1}},
    "UDP splice forward")
check(fds_become(f.proc.pid, base + 1), "one listener socket")
listener = base + 1

before = tap_bytes(t)
clients = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(3)]
rnd = random.Random(7)
bad = 0
for c in clients:
    c.settimeout(5)
    for size in (1, 100, 1400, 9000, 60000):
        data = rnd.randbytes(size)
        bad += echo(c, data) != data
check(bad == 0, "3 clients x 5 sizes up to 60,000 bytes, all intact")
check(tap_bytes(t) - before < 10000, "not through the TAP")
check(fds(f.proc.pid) == listener + 3, "one flow (socket) per client")
peers = {srv.stdout.readline().strip() for _ in range(1)}
check(peers == {"10.0.2.100"},
      f"the service sees the namespace's own address ({peers})")

# idle flows expire, and a client that comes back gets a new one
time.sleep(IDLE_MS / 1000 * 2.5)
check(fds(f.proc.pid) == listener, "idle flows closed")
check(echo(clients[0], b"again") == b"again", "a returning client is served")
check(fds(f.proc.pid) == listener + 1, "with a new flow")

check(api_call(sock, {"execute": "remove_hostfwd", "arguments": {"id": 1}}) ==
      {"return": {}}, "removed")
check(fds_become(f.proc.pid, base), "its listener and flows are closed")
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.bind(("127.0.0.1", 18053))
    free = True
except OSError:
    free = False
check(free, "the port is free again")
status, out, err = f.finish()
check(status == -signal.SIGTERM, "a clean stop")

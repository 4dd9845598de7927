#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The API socket: forwards with real, checksummed data; the address the
service sees; many requests, concurrent clients, a silent client, split
requests, garbage; and the socket file's life."""
import json
import random
import tempfile
from concurrent.futures import ThreadPoolExecutor
from nslib import *

isolate()
tmp = tempfile.mkdtemp()
sock = os.path.join(tmp, "api.sock")
open(sock, "w").write("stale")  # a stale file in the way is replaced

remote = veth_remote()
t = Netns()
f = Forwarder(["-c", "-a", sock], t, exit_fd=True).wait_ready()
check(os.path.exists(sock), "the socket exists by the time ready is written")


def api(req, shut=True):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(sock)
    s.sendall(req if isinstance(req, bytes) else req.encode())
    if shut:
        s.shutdown(socket.SHUT_WR)
    out = b""
    while True:
        d = s.recv(4096)
        if not d:
            break
        out += d
    s.close()
    return out.decode()


def add(proto, hport, gport, host="127.0.0.1"):
    r = json.loads(api(json.dumps({"execute": "add_hostfwd", "arguments": {
        "proto": proto, "host_addr": host, "host_port": hport,
        "guest_addr": "", "guest_port": gport}}) + "\n"))
    if "return" not in r:
        fail(f"add_hostfwd {proto} {hport}: {r}")
    return r["return"]["id"]


def echo_via(port, n, host="127.0.0.1"):
    try:
        return _echo_via(port, n, host)
    except OSError as e:
        log(f"  connection through {host}:{port} failed: {e}")
        return False


def _echo_via(port, n, host):
    data = random.randbytes(n)
    return tcp_roundtrip(host, port, data) == data


# a TCP and a UDP service in the namespace
srv = t.popen([sys.executable, PEER, "serve-tcp-echo", "0.0.0.0", "8080", "0"],
              stdout=subprocess.PIPE, text=True)
usrv = t.popen([sys.executable, PEER, "serve-udp-echo", "0.0.0.0", "8081"],
               stdout=subprocess.PIPE, text=True)
check(srv.stdout.readline().strip() == "listening", "TCP service up")
check(usrv.stdout.readline().strip() == "listening", "UDP service up")

tid = add("tcp", 18080, 8080, "0.0.0.0")
uid = add("udp", 18081, 8081)
check(tid == 1 and uid == 2, "ids 1 and 2")
check(echo_via(18080, 4 << 20), "4 MiB through the TCP forward intact")
check(srv.stdout.readline().strip() == "10.0.2.2",
      "a loopback client appears as 10.0.2.2 in the namespace")
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(2)
ok = 0
for i in range(20):
    msg = random.randbytes(1000)
    u.sendto(msg, ("127.0.0.1", 18081))
    try:
        ok += u.recvfrom(2000)[0] == msg
    except socket.timeout:
        pass
check(ok >= 19, f"UDP forward echoes ({ok}/20)")
check(usrv.stdout.readline().strip() == "10.0.2.2",
      "a loopback UDP client appears as 10.0.2.2")

# a remote client keeps its address
r = remote.peer("tcp-echo", "198.51.100.1", 18080, 100000).split()
check(r[0] == r[1], "a remote host's data through the forward intact")
check(srv.stdout.readline().strip() == "198.51.100.9",
      "a remote client keeps its real address")

# 64 simultaneous connects, twice: none lost (libslirp's backlog is 1)
for burst in (1, 2):
    with ThreadPoolExecutor(64) as ex:
        res = list(ex.map(lambda _: echo_via(18080, 1 << 16), range(64)))
    check(all(res), f"burst {burst}: 64 simultaneous connections all echoed "
          f"({sum(res)}/64)")

lst = json.loads(api('{"execute":"list_hostfwd"}'))
check([e["id"] for e in lst["entries"]] == [1, 2] and
      lst["entries"][0] == {"id": 1, "proto": "tcp", "host_addr": "0.0.0.0",
                            "host_port": 18080, "guest_addr": "10.0.2.100",
                            "guest_port": 8080}, "list shows both")
check(api('{"execute":"remove_hostfwd","arguments":{"id":1}}') ==
      '{"return":{}}', "remove answers {\"return\":{}}")
try:
    socket.create_connection(("127.0.0.1", 18080), timeout=3)
    check(False, "removed forward refuses connections")
except ConnectionRefusedError:
    check(True, "removed forward refuses connections")

# an occupied port is an error, and nothing is added
busy = socket.socket()
busy.bind(("127.0.0.1", 18090))
busy.listen()
r = api(json.dumps({"execute": "add_hostfwd", "arguments": {
    "proto": "tcp", "host_addr": "127.0.0.1", "host_port": 18090,
    "guest_port": 80}}))
check(r == '{"error":{"desc":"bad request: add_hostfwd: slirp_add_hostfwd '
      'failed"}}', "port in use: error " + r)

# 1,000 sequential requests
n = sum(api('{"execute":"list_hostfwd"}').startswith('{"entries":')
        for _ in range(1000))
check(n == 1000, f"1000 sequential requests answered ({n})")

# a silent client stalls nothing
silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
silent.connect(sock)
check(api('{"execute":"list_hostfwd"}').startswith('{"entries":'),
      "answered while a silent client is connected")
sent, got, _ = t.peer("tcp-echo", "10.0.2.2",
                      TcpEchoServer().port, 1 << 20).split()
check(sent == got, "traffic flows while a silent client is connected")

# 16 concurrent clients x 40 requests
def client(_):
    return sum(api('{"execute":"list_hostfwd"}').startswith('{"entries":')
               for _ in range(40))
with ThreadPoolExecutor(16) as ex:
    total = sum(ex.map(client, range(16)))
check(total == 640, f"16 clients x 40 requests all answered ({total})")

# a request in 4 writes, no SHUT_WR
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sock)
req = b'{"execute":"list_hostfwd"}\n'
for i in range(4):
    s.sendall(req[i * 7:(i + 1) * 7] if i < 3 else req[21:])
    time.sleep(0.1)
check(s.recv(4096).startswith(b'{"entries":'), "split request answered "
      "without half-close")
s.close()

# garbage and truncated JSON: errors, and the process keeps serving
for junk in (random.randbytes(300), b'{"execute":"add_hos', b"\x00" * 10,
             b'{"execute":"add_hostfwd"}', b"x" * 5000):
    r = api(junk)
    check(r.startswith('{"error":{"desc":"bad request: '), f"junk: {r}")
check(api('{"execute":"list_hostfwd"}').startswith('{"entries":'),
      "still serving after junk")
silent.close()

os.close(f.exit_w)
check(f.wait(5) == 0, "exit fd: exits 0")
check(not os.path.exists(sock), "the socket file is removed at exit")

# a path too long for sockaddr_un
f = Forwarder(["-c", "-a", "/tmp/" + "x" * 120], t)
check(f.wait(10) == 1, "a 125-byte path: exit 1")
err = f.proc.stderr.read().decode()
check("the specified API socket path is too long (>= 108)" in err, err)

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The seed's IPv6 forwards: tcp with -6 listens on both families, tcp6 on
IPv6 only, tcp4 on IPv4 only; each reaches the service in the namespace."""
import json
import tempfile
from nslib import *

isolate()
sock = os.path.join(tempfile.mkdtemp(), "api.sock")
t = Netns()
f = start(["-c", "-6", "-a", sock], t)
check(t.peer("wait-addr", "fd00::100", 10) == "ok", "fd00::100 ready")
srv = t.popen([sys.executable, PEER, "serve-tcp-echo", "::", "8080", "0"],
              stdout=subprocess.PIPE, text=True)
check(srv.stdout.readline().strip() == "listening", "dual-stack service up")


def api(req):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    s.sendall(json.dumps(req).encode())
    s.shutdown(socket.SHUT_WR)
    return json.loads(s.recv(65536))


def add(proto, host, port):
    return api({"execute": "add_hostfwd", "arguments": {
        "proto": proto, "host_addr": host, "host_port": port,
        "guest_port": 8080}})


def reaches(host, port, fam):
    try:
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect((host, port))
        s.sendall(b"hello")
        s.shutdown(socket.SHUT_WR)
        return s.recv(16) == b"hello"
    except OSError:
        return False


check(add("tcp", "0.0.0.0", 18080) == {"return": {"id": 1}}, "tcp dual-stack")
check(reaches("127.0.0.1", 18080, socket.AF_INET), "tcp: IPv4 client served")
check(reaches("::1", 18080, socket.AF_INET6), "tcp: IPv6 client served")
check(add("tcp6", "::", 18081) == {"return": {"id": 2}}, "tcp6")
check(reaches("::1", 18081, socket.AF_INET6), "tcp6: IPv6 client served")
check(not reaches("127.0.0.1", 18081, socket.AF_INET),
      "tcp6: nothing on IPv4")
check(add("tcp4", "0.0.0.0", 18082) == {"return": {"id": 3}}, "tcp4")
check(reaches("127.0.0.1", 18082, socket.AF_INET), "tcp4: IPv4 served")
check(not reaches("::1", 18082, socket.AF_INET6), "tcp4: nothing on IPv6")
lst = api({"execute": "list_hostfwd"})["entries"]
check(lst[0] == {"id": 1, "proto": "tcp", "host_addr": "0.0.0.0",
                 "host_addr6": "::", "host_port": 18080,
                 "guest_addr": "10.0.2.100", "guest_addr6": "fd00::100",
                 "guest_port": 8080}, "list shows both families: " +
      json.dumps(lst[0]))
check(api({"execute": "remove_hostfwd", "arguments": {"id": 1}}) ==
      {"return": {}}, "remove the dual-stack forward")
check(not reaches("127.0.0.1", 18080, socket.AF_INET) and
      not reaches("::1", 18080, socket.AF_INET6), "both listeners closed")
f.finish()

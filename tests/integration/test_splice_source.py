#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""What a service behind a splice forward sees as its client: the same as
on the slirp path (10.0.2.2 / fd00::2 for a client on the host's loopback,
the real address for a remote one), through the rules the helper puts in
the namespace, which are gone again after exit. If the mark or table is
taken, it says so and falls back to the namespace's own address."""
import tempfile
import threading
from nslib import *

isolate()


def add(sock, **args):
    return api_call(sock, {"execute": "add_hostfwd", "arguments": args})


def serve(t, addr, port):
    p = t.popen([sys.executable, PEER, "serve-tcp-echo", addr, str(port),
                 "0"], stdout=subprocess.PIPE, text=True)
    check(p.stdout.readline().strip() == "listening", f"server on {port}")
    return p


def seen(server, host, port):
    """Connect, echo a little, return the peer address the server printed."""
    check(tcp_roundtrip(host, port, b"who am i") == b"who am i",
          f"echo through {host}:{port}")
    return server.stdout.readline().strip()


def rules(t):
    return t.sh("ip rule; ip -6 rule; ip route show table all | "
                "grep -c 'table 21300' || true").stdout


remote = veth_remote()
sock = os.path.join(tempfile.mkdtemp(), "api.sock")
t = Netns()
f = start(["-c", "-6", "-a", sock], t)
v4 = serve(t, "0.0.0.0", 80)
v6 = serve(t, "::", 81)
check(add(sock, proto="tcp", host_port=18080, guest_port=80,
          mode="splice") == {"return": {"id": 1}}, "splice forward")
check(add(sock, proto="tcp", host_port=18090, guest_port=80) ==
      {"return": {"id": 2}}, "slirp forward, for comparison")
check(add(sock, proto="tcp6", host_addr="::1", host_port=18081, guest_port=81,
          mode="splice") == {"return": {"id": 3}}, "IPv6 splice forward")

for port, path in ((18090, "slirp"), (18080, "splice")):
    check(seen(v4, "127.0.0.1", port) == "10.0.2.2",
          f"{path}: a loopback client is seen as 10.0.2.2")
    r = remote.peer("tcp-echo", "198.51.100.1", port, 100000).split()
    check(r[0] == r[1], f"{path}: a remote client's data goes through")
    check(v4.stdout.readline().strip() == "198.51.100.9",
          f"{path}: a remote client is seen with its own address")
check(seen(v6, "::1", 18081) == "fd00::2",
      "IPv6 splice: a loopback client is seen as fd00::2")
# Many short connections from one client address: our namespace socket
# closes first, so each leaves a TIME_WAIT entry 10.0.2.2:port -> service.
# With 5,000 ephemeral ports in the namespace, 7,000 in a row need
# tcp_tw_reuse=1 there (the default reuses loopback addresses' only).
t.sh("sysctl -qw net.ipv4.ip_local_port_range='40000 44999'")
churn = serve(t, "0.0.0.0", 82)
threading.Thread(target=lambda: [None for _ in churn.stdout],
                 daemon=True).start()  # it prints every peer: keep reading
check(add(sock, proto="tcp", host_port=18082, guest_port=82,
          mode="splice") == {"return": {"id": 4}}, "a forward to churn")
echoed = 0
try:
    for i in range(7000):
        with socket.create_connection(("127.0.0.1", 18082), timeout=5) as c:
            c.sendall(b"x")
            echoed += c.recv(1) == b"x"
except OSError as e:
    log(f"connection {echoed + 1}: {e}")
check(echoed == 7000, f"7,000 short connections in a row from one address, "
      f"5,000 ports in the namespace ({echoed} echoed)")
check(t.sh("sysctl -n net.ipv4.tcp_tw_reuse").stdout.strip() == "1",
      "tcp_tw_reuse=1 in the namespace while forwarding")
during = rules(t)
check("fwmark 0x5334 lookup 21300" in during, "the rules while running")
status, out, err = f.finish()
check("cannot keep" not in err, f"no fallback warning ({err!r})")
after = rules(t)
check("0x5334" not in after and after.strip().endswith("0"),
      f"rules and routes gone after exit ({after!r})")
check(t.sh("sysctl -n net.ipv4.tcp_fwmark_accept net.ipv4.fwmark_reflect "
           "net.ipv4.tcp_tw_reuse").stdout.split() == ["0", "0", "2"],
      "sysctls restored")
t.close()

# someone else's rule already uses the mark: fall back, leave it alone
t = Netns("taken")
t.sh("ip rule add fwmark 0x5334 lookup 100")
f = start(["-c", "-a", sock], t)
v4 = serve(t, "0.0.0.0", 80)
check(add(sock, proto="tcp", host_port=18080, guest_port=80,
          mode="splice") == {"return": {"id": 1}}, "splice forward")
check(seen(v4, "127.0.0.1", 18080) == "10.0.2.100",
      "mark taken: the service sees the namespace's own address")
status, out, err = f.finish()
check("splice forwards: cannot keep clients' addresses (File exists)" in err,
      f"and that was said ({err!r})")
check("fwmark 0x5334 lookup 100" in rules(t), "the other rule is untouched")

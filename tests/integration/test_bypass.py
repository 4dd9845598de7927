#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The kernel path for outbound TCP (--enable-tcp-bypass): the
namespace's outbound TCP reaches its
destination through the kernel's transparent proxy and the splice engine,
not the TAP: many parallel checksummed connections to a "remote" host (a
namespace over a veth, 198.51.100.0/24) and to the host's loopback through
10.0.2.2, IPv6 to fd00::2; --disable-host-loopback still refuses 10.0.2.2
(test_connect.py: what a connect ends with, as on the slirp path); DNS over TCP
to 10.0.2.3 still reaches the resolver; UDP still echoes (its own kernel
path: test_outbound_udp.py); our own
listener cannot be dialled to reach the host's loopback; the rules are gone
after exit; the same under sandbox and seccomp; without the option nothing
changes."""
import re
import struct
from nslib import *

isolate()
remote = veth_remote()
MiB = 1 << 20


class TcpResolver(threading.Thread):
    """DNS over TCP on 127.0.0.1:53: every A query gets 192.0.2.8."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 53))
        self.sock.listen(8)
        self.queries = 0
        self.start()

    def run(self):
        while True:
            c, _ = self.sock.accept()
            with c:
                d = b""
                while len(d) < 2 or len(d) < 2 + struct.unpack(">H", d[:2])[0]:
                    more = c.recv(4096)
                    if not more:
                        break
                    d += more
                q = d[2:]
                if len(q) < 17:
                    continue
                self.queries += 1
                ans = (q[:2] + struct.pack(">HHHHH", 0x8180, 1, 1, 0, 0) +
                       q[12:] + struct.pack(">HHHIH", 0xC00C, 1, 1, 60, 4) +
                       socket.inet_aton("192.0.2.8"))
                c.sendall(struct.pack(">H", len(ans)) + ans)


resolv_conf("127.0.0.1")
resolver = TcpResolver()
lo = TcpEchoServer("127.0.0.1")
lo6 = TcpEchoServer("::1", family=socket.AF_INET6)
udp = UdpEchoServer("127.0.0.1")
far = remote.popen([sys.executable, PEER, "serve-tcp-echo", "198.51.100.9",
                    "7000", "0"], stdout=subprocess.PIPE, text=True)
check(far.stdout.readline().strip() == "listening", "remote server up")


def ruleset(t):
    return t.sh("nft list ruleset").stdout + t.sh("ip rule").stdout


def echo_many(t, cmd, host, port, n, size):
    out = t.peer(cmd, host, port, n, size, timeout=120).split()
    if not out or out[0] != str(n):
        # what each end still holds, to tell where bytes stopped
        for name, ns in (("namespace", t), ("remote", remote)):
            log(f"{name}:\n" + ns.sh("ss -tnoi", check=False).stdout)
        log("host:\n" + subprocess.run(["ss", "-tnoi"], capture_output=True,
                                       text=True).stdout)
    check(out and out[0] == str(n),
          f"{n} x {size} B each way to {host}:{port}, sha256 intact: {out}")


# ---- without the option, nothing changes: no rules, TCP by the TAP
t = Netns("off")
f = start(["-c", "--disable-tcp-bypass"], t)
check("slirp4netns" not in ruleset(t) and "fwmark" not in ruleset(t),
      "no option: no table, no rule")
before = tap_bytes(t)
sent, got, _ = t.peer("tcp-echo", "10.0.2.2", lo.port, MiB).split()
check(sent == got, "no option: echo through 10.0.2.2")
check(tap_bytes(t) - before > 2 * MiB, "no option: the bytes crossed the TAP")
f.finish()
t.close()

# ---- on, in a namespace with its own user namespace (as podman's)
t = Netns("on", userns=True)
f = start(["-c", "-6", "--enable-tcp-bypass"], t)
rules = ruleset(t)
check("table inet slirp4netns" in rules and "fwmark 0x5334" in rules,
      "the table and the fwmark rule are in the namespace")
check(t.peer("wait-addr", "fd00::100", 10) == "ok", "fd00::100 usable")
before = tap_bytes(t)
echo_many(t, "tcp-echo-many", "198.51.100.9", 7000, 32, MiB)
echo_many(t, "tcp-echo-many", "10.0.2.2", lo.port, 32, MiB)
echo_many(t, "tcp-echo-many6", "fd00::2", lo6.port, 8, MiB)
moved = tap_bytes(t) - before
check(moved < MiB, f"144 MiB moved, {moved} B of it through the TAP")
check(far.stdout.readline().strip() == "198.51.100.1",
      "the remote host sees the host's address")
check(set(lo.peers) == {"127.0.0.1"} and set(lo6.peers) == {"::1"},
      "the host's loopback services see loopback clients")

check(t.peer("dns-tcp", "10.0.2.3", "svc.test.internal") == "192.0.2.8" and
      resolver.queries == 1, "DNS over TCP to 10.0.2.3 reaches the resolver")
check(t.peer("udp-echo", "10.0.2.2", udp.port, 10, 1000) == "10",
      "UDP to 10.0.2.2 still echoes")



def no_way_out(what, pattern, addrs):
    """Our listener whose port @pattern finds in the rules, dialled
    directly at @addrs from inside, must not lead to the host's loopback
    (a trap listens on that port there)"""
    port = int(re.search(pattern, rules).group(1))
    try:
        trap = TcpEchoServer("127.0.0.1", port)
    except OSError:
        return  # the port is taken on the host: nothing to fall into
    outs = [t.peer("tcp-connect", a, port) for a in addrs]
    check(not any(o.endswith("echo") for o in outs) and trap.peers == [],
          f"{what}'s port is not a way out ({outs})")


no_way_out("the tproxy listener", r"tproxy ip to 127\.0\.0\.1:(\d+)",
           ["127.0.0.1"])
# 10.0.2.100:PORT would be translated to the host's loopback, as 10.0.2.2
no_way_out("the redirect's wildcard listener", r"redirect to :(\d+)",
           ["10.0.2.100", "127.0.0.1"])

status, out, err = f.finish()
check("stays on libslirp" not in out + err, f"no warning: {out}{err}")
rules = ruleset(t)
check("slirp4netns" not in rules and "fwmark" not in rules,
      f"the table and rules are gone after exit: {rules}")
t.close()

# ---- --disable-host-loopback: 10.0.2.2 refused as before, the rest goes
t = Netns("noloop")
f = start(["-c", "--enable-tcp-bypass", "--disable-host-loopback"], t)
n = len(lo.peers)
check(t.peer("tcp-connect", "10.0.2.2", lo.port) == "ENETUNREACH" and
      len(lo.peers) == n, "--disable-host-loopback: 10.0.2.2 unreachable")
before = tap_bytes(t)
echo_many(t, "tcp-echo-many", "198.51.100.9", 7000, 4, MiB)
check(tap_bytes(t) - before < MiB, "--disable-host-loopback: remote bypassed")
f.finish()
t.close()

# ---- sandbox and seccomp: sockets from the helper, rules still removed
t = Netns("sandboxed")
f = start(["-c", "--enable-tcp-bypass", "--enable-sandbox",
           "--enable-seccomp"], t)
before = tap_bytes(t)
echo_many(t, "tcp-echo-many", "198.51.100.9", 7000, 8, MiB)
check(tap_bytes(t) - before < MiB, "sandbox and seccomp: bypassed")
f.finish()
check("slirp4netns" not in ruleset(t), "sandbox and seccomp: table removed")
t.close()
far.kill()

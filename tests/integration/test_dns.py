#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""DNS at 10.0.2.3 (src/dns/): every nameserver of the host's resolv.conf,
with failover and the failed ones asked last; IPv6 upstreams for IPv4
queries; a loopback stub under --disable-host-loopback; TCP, truncated
answers, 4 KiB EDNS0 answers; a 10,000-query burst; resolv.conf replaced
through its symlink, with and without --enable-sandbox; the search list in
DHCP; a persistent TAP (RootlessKit's), after which slirp4netns 1.2.0's
DNS still works; --disable-dns unchanged. The resolvers are the test's own, on the
outer namespace's loopback; /etc is a tmpfs of links to the real one
there, so that resolv.conf can be a symlink the test replaces."""
import json
import struct
import tempfile
from nslib import *

isolate()

A = 1  # the record type


class Resolver:
    """A DNS server on addr:53, UDP and TCP. Every A query gets one record,
    `ip`, unless `mode` says otherwise ("silent": no answer; "servfail",
    "refused"). Names: tc.test is truncated over UDP (whole over TCP);
    big.test is 250 records, ~4 KiB, over TCP or to an EDNS0 query
    offering 4096 bytes, truncated to others. Counts what it saw."""

    def __init__(self, addr, ip, mode="ok"):
        self.ip, self.mode, self.seen = ip, mode, []
        fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
        self.udp = socket.socket(fam, socket.SOCK_DGRAM)
        self.udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
        self.udp.bind((addr, 53))
        self.tcp = socket.socket(fam, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind((addr, 53))
        self.tcp.listen(64)
        for fn in (self.serve_udp, self.serve_tcp):
            threading.Thread(target=fn, daemon=True).start()

    def answer(self, q, tcp):
        i = 12
        name = []
        while q[i]:
            name.append(q[i + 1:i + 1 + q[i]].decode())
            i += 1 + q[i]
        qend = i + 5
        name = ".".join(name)
        self.seen.append(name)
        edns = 0
        if len(q) >= qend + 11 and q[qend + 1:qend + 3] == b"\0\x29":
            edns = struct.unpack(">H", q[qend + 3:qend + 5])[0]
        rcode = {"servfail": 2, "refused": 5}.get(self.mode, 0)
        n = 250 if name == "big.test" else 1
        flags = 0x8180 | rcode
        if not tcp and ((name == "tc.test") or
                        (name == "big.test" and edns < 4096)):
            flags, n = flags | 0x200, 0
        if rcode:
            n = 0
        hdr = q[:2] + struct.pack(">HHHHH", flags, 1, n, 0, 0)
        rr = struct.pack(">HHHIH", 0xC00C, A, 1, 60, 4) + \
            socket.inet_aton(self.ip)
        return hdr + q[12:qend] + rr * n

    def serve_udp(self):
        while True:
            q, a = self.udp.recvfrom(65536)
            if self.mode != "silent":
                self.udp.sendto(self.answer(q, False), a)
            else:
                self.seen.append("(silent)")

    def serve_tcp(self):
        while True:
            c, _ = self.tcp.accept()
            threading.Thread(target=self.serve_conn, args=(c,),
                             daemon=True).start()

    def serve_conn(self, c):
        buf = b""
        while True:
            d = c.recv(65536)
            if not d:
                return
            buf += d
            while len(buf) >= 2 and len(buf) >= 2 + \
                    struct.unpack(">H", buf[:2])[0]:
                n = struct.unpack(">H", buf[:2])[0]
                q, buf = buf[2:2 + n], buf[2 + n:]
                if self.mode == "silent":
                    continue
                a = self.answer(q, True)
                c.sendall(struct.pack(">H", len(a)) + a)


def etc_of_links():
    """/etc becomes a tmpfs of links to the real one (in this mount
    namespace only), resolv.conf aside: what a systemd-resolved host
    looks like, and a file the test may replace"""
    old = os.path.join(tempfile.mkdtemp(), "etc")
    os.mkdir(old)
    subprocess.run(["mount", "--bind", "/etc", old], check=True)
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "/etc"], check=True)
    for name in os.listdir(old):
        if name != "resolv.conf":
            os.symlink(os.path.join(old, name), os.path.join("/etc", name))


def resolv(name, text, link=True):
    """/etc/<name> holds text; with link, /etc/resolv.conf now points to
    it (replaced at once, by rename, as resolvconf and NetworkManager do)"""
    with open(f"/etc/{name}", "w") as fh:
        fh.write(text)
    if link:
        tmp = "/etc/.resolv.conf.new"
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(name, tmp)
        os.rename(tmp, "/etc/resolv.conf")


def ask(t, server, name, *extra):
    return json.loads(t.peer("dns-ask", server, name, *extra))


def forwarder(args, name):
    t = Netns(name)
    f = start(["-c", *args], t)
    return t, f


etc_of_links()
answering = Resolver("127.0.0.1", "192.0.2.1")
silent = Resolver("127.0.0.2", "0.0.0.0", "silent")
failing = Resolver("127.0.0.4", "0.0.0.0", "servfail")
v6 = Resolver("::1", "192.0.2.6")
stub = Resolver("127.0.0.53", "192.0.2.53")
other = Resolver("127.0.0.3", "192.0.2.3")

# --- every nameserver, in order, the dead one asked last afterwards
resolv("resolv-a.conf", "# a comment\nnameserver 127.0.0.2\n"
       "nameserver 127.0.0.1\nsearch corp.test lab.test\n")
t, f = forwarder([], "failover")
routes = t.sh("ip route show table local").stdout
check("10.0.2.3 dev tap0" in routes, f"the DNS address is local, on the TAP "
      f"({routes.strip()})")
r = ask(t, "10.0.2.3", "first.test")
check(r.get("a") == "192.0.2.1" and r["ms"] < 3000,
      f"first nameserver silent: the second answers, within the "
      f"resolver's timeout ({r})")
check("(silent)" in silent.seen, "the first was asked first")
n = len(silent.seen)
r = ask(t, "10.0.2.3", "second.test")
check(r.get("a") == "192.0.2.1" and r["ms"] < 500,
      f"then the silent one is asked last: answered at once ({r})")
check(len(silent.seen) == n, "and it was not asked")
rx = tap_stats(t)["rx"]["packets"]
got = [ask(t, "10.0.2.3", f"q{i}.test").get("a") for i in range(50)]
rx = tap_stats(t)["rx"]["packets"] - rx
check(got == ["192.0.2.1"] * 50, "50 more queries answered")
check(rx < 10, f"and none went through the TAP ({rx} frames)")
check(t.peer("dhcp", "tap0", "search") == "corp.test lab.test",
      "the search list goes out in DHCP (option 119)")
# a container on a bridge in the namespace (libslirp would ask the silent
# first nameserver only)
c = container_behind(t, bridge=True)
r = ask(c, "10.0.2.3", "container.test")
check(r.get("a") == "192.0.2.1", f"a container on a bridge is answered "
      f"({r})")
c.close()

# --- TCP, truncation, a 4 KiB EDNS0 answer
r = ask(t, "10.0.2.3", "tcp.test", "tcp")
check(r.get("a") == "192.0.2.1", f"a query over TCP ({r})")
r = ask(t, "10.0.2.3", "tc.test")
check(r.get("tc") is True, f"a truncated answer stays truncated ({r})")
r = ask(t, "10.0.2.3", "tc.test", "tcp")
check(r.get("a") == "192.0.2.1" and not r["tc"],
      f"and comes whole over TCP ({r})")
r = ask(t, "10.0.2.3", "big.test", "udp", "4096")
check(r.get("len", 0) > 4000 and not r["tc"] and r["a"] == "192.0.2.1",
      f"a {r.get('len')}-byte EDNS0 answer arrives whole over UDP")
r = ask(t, "10.0.2.3", "big.test", "tcp")
check(r.get("len", 0) > 4000, f"and over TCP ({r.get('len')} bytes)")

# --- a burst
r = json.loads(t.peer("dns-burst", "10.0.2.3", "10000", timeout=120))
check(r["answered"] == 10000, f"10,000 queries in a burst, all answered "
      f"({r})")
f.finish()
t.close()

# --- a nameserver we cannot send to (no route: the outer namespace has
# none to 2001:db8::/32) is passed at once; SERVFAIL goes on to the next
resolv("resolv-b.conf", "nameserver 2001:db8::53\nnameserver 127.0.0.4\n"
       "nameserver 127.0.0.1\n")
t, f = forwarder([], "servfail")
r = ask(t, "10.0.2.3", "sf.test")
check(r.get("a") == "192.0.2.1" and r["ms"] < 500, f"no route to the first, "
      f"SERVFAIL from the second: the third answers, at once ({r})")
f.finish()
t.close()

# --- IPv6-only upstreams, for IPv4 and IPv6 queries
resolv("resolv-c.conf", "nameserver ::1\n")
t, f = forwarder(["--enable-ipv6"], "v6")
r = ask(t, "10.0.2.3", "four.test")
check(r.get("a") == "192.0.2.6", f"IPv6-only nameservers answer 10.0.2.3 "
      f"({r})")
check(t.peer("wait-addr", "fd00::100", 10) == "ok", "fd00::100 ready")
r = ask(t, "fd00::3", "six.test")
check(r.get("a") == "192.0.2.6", f"and fd00::3 ({r})")
f.finish()
t.close()

# --- a loopback stub, --disable-host-loopback notwithstanding
resolv("resolv-d.conf", "nameserver 127.0.0.53\noptions edns0 trust-ad\n")
t, f = forwarder(["--disable-host-loopback"], "stub")
r = ask(t, "10.0.2.3", "stub.test")
check(r.get("a") == "192.0.2.53", f"systemd-resolved's 127.0.0.53 with "
      f"--disable-host-loopback ({r})")
f.finish()
t.close()

# --- resolv.conf replaced through its symlink, sandboxed or not
for args in ([], ["--enable-sandbox", "--enable-seccomp"]):
    resolv("resolv-e.conf", "nameserver 127.0.0.1\n")
    t, f = forwarder(args, "follow")
    r = ask(t, "10.0.2.3", "before.test")
    check(r.get("a") == "192.0.2.1", f"{args}: before ({r})")
    resolv("resolv-f.conf", "nameserver 127.0.0.3\n")
    time.sleep(1)
    r = ask(t, "10.0.2.3", "after.test")
    check(r.get("a") == "192.0.2.3", f"{args}: a second after the symlink "
          f"was replaced, the new nameserver answers ({r})")
    # written in place, through the link
    resolv("resolv-f.conf", "nameserver 127.0.0.1\n", link=False)
    time.sleep(1)
    r = ask(t, "10.0.2.3", "again.test")
    check(r.get("a") == "192.0.2.1", f"{args}: and when the file it points "
          f"to is rewritten ({r})")
    f.finish()
    t.close()

# --- a persistent TAP, as RootlessKit makes it (and lo down until after we
# are ready, as it leaves it): no route that would outlive us, the
# marking table instead; killed, nothing stays that breaks the next run's
# DNS (slirp4netns 1.2.0's)
resolv("resolv-h.conf", "nameserver 127.0.0.2\nnameserver 127.0.0.1\n")
t = Netns("persistent")
t.sh("ip tuntap add name tap0 mode tap && ip link set tap0 up && "
     "ip link set lo down")
f = start([], t)
t.sh("ip link set lo up && ip addr add 10.0.2.100/24 dev tap0 && "
     "ip route add default via 10.0.2.2")
time.sleep(0.5)
check("10.0.2.3" not in t.sh("ip route show table local").stdout,
      "persistent TAP: no route for the DNS address")
r = ask(t, "10.0.2.3", "persistent.test")
check(r.get("a") == "192.0.2.1" and r["ms"] < 3000, f"persistent TAP, lo "
      f"up after we started: the second nameserver answers ({r})")
c = container_behind(t, bridge=True, name="pctr")
r = ask(c, "10.0.2.3", "pcontainer.test")
check(r.get("a") == "192.0.2.1", f"persistent TAP: a container on a bridge "
      f"is answered ({r})")
c.close()
f.proc.kill()
f.proc.wait()
for _ in range(50):
    if "slirp4netns" not in t.sh("nft list tables").stdout:
        break
    time.sleep(0.1)
check("slirp4netns" not in t.sh("nft list tables").stdout,
      "killed: our tables went with us")
resolv("resolv-i.conf", "nameserver 127.0.0.1\n")
f = start([], t, binary="/usr/bin/slirp4netns")
r = ask(t, "10.0.2.3", "next.test")
check(r.get("a") == "192.0.2.1", f"and slirp4netns 1.2.0 on the same TAP "
      f"answers DNS after us ({r})")
f.finish()
t.close()

# --- --disable-dns: as before
resolv("resolv-g.conf", "nameserver 127.0.0.1\n")
t, f = forwarder(["--disable-dns"], "nodns")
n = len(answering.seen)
r = ask(t, "10.0.2.3", "nodns.test")
check(r.get("error") == "timeout", f"--disable-dns: 10.0.2.3 does not answer "
      f"({r})")
check(len(answering.seen) == n, "--disable-dns: the resolver saw nothing")
check("10.0.2.3" not in t.sh("ip route show table local").stdout,
      "--disable-dns: no route for it")
f.finish()
t.close()

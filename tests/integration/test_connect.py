#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Outbound TCP on the kernel path ends every connect as the slirp path
does: a remote port nobody listens on, a closed port of the host's
loopback, a network the host has no route to, and a port whose SYNs the
remote host drops give the same errno with --enable-tcp-bypass as with
--disable-tcp-bypass (libslirp), from the namespace's own sockets and
from a container behind a veth inside it, masqueraded or not, or on a
bridge with br_netfilter on (as Docker's and podman's); no connect
reports "connected" where libslirp would not. The container's checksummed
bulk echoes take the kernel path (no bytes through the TAP), over IPv6
too. `nft flush
ruleset` in the namespace, during a transfer and before new connections,
changes none of it. Without nf_tables (a test knob) the forwarder says so
once and TCP goes through libslirp. Under root's --enable-sandbox (the
helper relays the queue) the outcomes are the same. With Docker's
iptables-nft rules and iptables-legacy rules in the namespace, it all
still holds. A namespace whose lo is down at start (a client that
configures it itself, as rootlesskit does) has TCP through libslirp until
lo comes up, then the kernel path."""
from nslib import *

isolate()
remote = veth_remote()
MiB = 1 << 20
lo = TcpEchoServer("127.0.0.1")
far = remote.popen([sys.executable, PEER, "serve-tcp-echo", "198.51.100.9",
                    "7000", "0"], stdout=subprocess.PIPE, text=True)
check(far.stdout.readline().strip() == "listening", "remote server up")
# a port whose SYNs vanish: "unanswered"
remote.sh("nft add table inet f && nft add chain inet f in "
          "'{ type filter hook input priority 0; }' && "
          "nft add rule inet f in tcp dport 7998 drop")
closed = socket.socket()
closed.bind(("127.0.0.1", 0))  # bound, never listening: refused
DESTS = [("198.51.100.9", 7999, "ECONNREFUSED"),  # the remote refuses
         ("10.0.2.2", closed.getsockname()[1], "ECONNREFUSED"),
         ("203.0.113.9", 80, "ENETUNREACH"),  # no route on the host
         ("198.51.100.9", 7998, "timeout")]   # the guest gives up first


def outcomes(ns):
    # 3 s: enough for every answer that comes, and "timeout" for the one
    # that never does (libslirp would reset it after 75 s)
    return [ns.peer("tcp-connect", h, p, 3) for h, p, _ in DESTS]


def bulk(ns, label, t):
    before = tap_bytes(t)
    out = ns.peer("tcp-echo-many", "198.51.100.9", 7000, 8, MiB,
                  timeout=120).split()
    check(out and out[0] == "8", f"{label}: 8 x 1 MiB echoed, sha256 "
          f"intact ({out})")
    return tap_bytes(t) - before


for masq, bridge in ((True, False), (False, False), (True, True)):
    what = "on a bridge" if bridge else "behind a veth"
    got = {}
    for mode in ("--enable-tcp-bypass", "--disable-tcp-bypass"):
        t = Netns("t")
        check(netns_ino(t.pid) != netns_ino(), "a namespace of its own")
        f = start(["-c", mode], t)
        c = container_behind(t, masquerade=masq, bridge=bridge)
        got[mode] = (outcomes(t), outcomes(c))
        if mode == "--enable-tcp-bypass":
            tapped = bulk(c, f"container {what} (masquerade {masq})", t)
            check(tapped < MiB, f"the container's 16 MiB took the kernel "
                  f"path ({tapped} B through the TAP)")
        status, out, err = f.finish()
        check("stays on libslirp" not in out + err, f"{mode}: no fallback")
        c.close()
        t.close()
    kernel, slirp = got["--enable-tcp-bypass"], got["--disable-tcp-bypass"]
    want = [w for _, _, w in DESTS]
    check(kernel[0] == slirp[0] == want,
          f"the namespace: {kernel[0]} as on libslirp's path {slirp[0]}")
    if masq:
        check(kernel[1] == slirp[1] == want,
              f"a masqueraded container {what}: {kernel[1]} as libslirp's "
              f"{slirp[1]}")
    else:
        # libslirp cannot answer an address outside its network, so
        # there nothing connects; here it does, and fails as it should
        check(kernel[1] == want, f"a routed container: {kernel[1]}")

# ---- IPv6 from a container on a bridge takes the redirect too
lo6 = TcpEchoServer("::1", family=socket.AF_INET6)
t = Netns("v6")
f = start(["-c", "-6"], t)
check(t.peer("wait-addr", "fd00::100", 10) == "ok", "IPv6: fd00::100 usable")
c = container_behind(t, bridge=True)
t.sh(f"ip -6 addr add fd88::1/64 dev {c.gw_if} nodad && "
     "sysctl -qw net.ipv6.conf.all.forwarding=1")
c.sh("ip -6 addr add fd88::2/64 dev vc-ctr nodad && "
     "ip -6 route add default via fd88::1")
before = tap_bytes(t)
out = c.peer("tcp-echo-many6", "fd00::2", lo6.port, 4, MiB,
             timeout=120).split()
check(out and out[0] == "4", f"IPv6 from a container on a bridge: 4 x 1 MiB "
      f"echoed, sha256 intact ({out})")
check(tap_bytes(t) - before < MiB, "IPv6 from a container on a bridge: the "
      f"kernel path ({tap_bytes(t) - before} B through the TAP)")
check(set(lo6.peers) == {"::1"}, "the host's service sees ::1, as through "
      "libslirp")
f.finish()
c.close()
t.close()

# ---- under --enable-sandbox as root (as here) we drop CAP_NET_ADMIN, so
# the helper reads the queue and relays (without it, or as non-root, we
# bind the queue ourselves: test_rootlesskit.py)
t = Netns("sandboxed")
f = start(["-c", "--enable-tcp-bypass", "--enable-sandbox",
           "--enable-seccomp"], t)
want = [w for _, _, w in DESTS]
check(outcomes(t) == want, "sandbox and seccomp (the helper relays): the "
      "same connect outcomes")
check(bulk(t, "sandbox and seccomp", t) < MiB, "sandbox and seccomp: the "
      "kernel path")
f.finish()
t.close()

# ---- nft flush ruleset: our table is owned by the helper, and stays
t = Netns("flush")
f = start(["-c", "--enable-tcp-bypass"], t)
busy = t.popen([sys.executable, PEER, "tcp-echo-many", "198.51.100.9",
                "7000", "4", str(16 * MiB)], stdout=subprocess.PIPE,
               text=True)
time.sleep(0.3)
t.sh("nft flush ruleset")
out = busy.communicate(timeout=120)[0].split()
check(out and out[0] == "4", f"a transfer across the flush completes ({out})")
check("table inet slirp4netns" in t.sh("nft list ruleset").stdout,
      "after the flush our table is there")
check(bulk(t, "after the flush", t) < MiB, "after the flush: kernel path")
check(outcomes(t) == [w for _, _, w in DESTS], "after the flush: the "
      "same connect outcomes")
f.finish()
t.close()

# ---- Docker's rules (iptables-nft), and an iptables-legacy table beside
DOCKER = """
*nat
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 10.88.0.0/24 ! -o BR -j MASQUERADE
COMMIT
*filter
:FORWARD DROP [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -o BR -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -i BR ! -o BR -j ACCEPT
-A DOCKER-USER -j RETURN
COMMIT
"""
t = Netns("docker")
f = start(["-c", "--enable-tcp-bypass"], t)
c = container_behind(t, masquerade=False, bridge=True)  # docker0's place
t.run(["iptables-nft-restore"], input=DOCKER.replace("BR", c.gw_if),
      check=True)
t.sh("iptables-legacy -t mangle -A OUTPUT -p tcp -j ACCEPT && "
     "iptables-legacy -A INPUT -p tcp -j ACCEPT")
check("DOCKER" in t.sh("nft list ruleset").stdout, "Docker's chains are in")
want = [w for _, _, w in DESTS]
check(outcomes(t) == want and outcomes(c) == want,
      "with Docker's and legacy rules: the same connect outcomes")
tapped = bulk(c, "a Docker container", t) + bulk(t, "the namespace", t)
check(tapped < MiB, f"with Docker's rules: the kernel path ({tapped} B "
      "through the TAP)")
status, out, err = f.finish()
check("stays on libslirp" not in out + err, "Docker's rules: no fallback")
c.close()
t.close()

# ---- lo down at start, no -c: libslirp until it is up, then the kernel
t = Netns("lodown")
t.sh("ip link set lo down")
f = start(["-6", "--enable-tcp-bypass"], t)
t.sh("ip addr add 10.0.2.100/24 dev tap0 && ip link set tap0 up && "
     "ip route add default via 10.0.2.2")
check(bulk(t, "lo down", t) > 16 * MiB, "lo down: TCP works, by the TAP")
t.sh("ip link set lo up")
time.sleep(2.5)  # the bypass looks again each second
check(bulk(t, "lo up", t) < MiB, "lo up: the kernel path took over")
status, out, err = f.finish()
check("stays on libslirp" not in out + err, "lo down, then up: no warning")
t.close()

# ---- no nf_tables: one warning, TCP by libslirp
t = Netns("nonft")
os.environ["S4_TEST_NO_NFTABLES"] = "1"
f = start(["-c", "--enable-tcp-bypass"], t)
del os.environ["S4_TEST_NO_NFTABLES"]
check(bulk(t, "without nf_tables", t) > 16 * MiB,
      "without nf_tables: the bytes crossed the TAP")
status, out, err = f.finish()
lines = [l for l in (out + err).splitlines() if "stays on libslirp" in l]
check(len(lines) == 1, f"one warning line: {lines}")
t.close()
far.kill()

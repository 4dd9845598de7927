#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Outbound UDP from containers behind a bridge in the namespace (rootless
Docker's docker0, podman's networks), on the kernel path by default: the
namespace's NAT redirects it to our listener, conntrack says where it was
going (ns/conntrack.c). Sizes 1 to 65,507 arrive whole both ways and a
bulk keeps its sha256, to a remote host and to the host's loopback, with
nothing through the TAP; the answers come from where the container sent,
and the far side sees what it sees through libslirp; one socket talking to
several destinations from one port gets each one's answers from each; a
socket whose conntrack entry expired, sending to a new destination, reaches
that one only; closed ports refuse (ECONNREFUSED); a datagram sent to our
listener's port itself goes nowhere; idle flows close; IPv6 likewise;
--disable-host-loopback and --outbound-addr keep their meaning; under
root's --enable-sandbox, --disable-tcp-bypass and without nftables it stays
on libslirp, through the TAP, and works."""
import json
import re
from nslib import *

isolate()
remote = veth_remote(extra_host_ips=("198.51.100.2",))
SIZES = "1,100,1400,1473,9000,32768,65507"
SIZES6 = "1,100,1400,1473,9000,32768,65480"  # in one packet on lo
IDLE_MS = 1500
os.environ["SLIRP4NETNS_TEST_UDP_IDLE_MS"] = str(IDLE_MS)
FAR_PORTS = (7007, 7009, 7010)

lo = UdpEchoServer("127.0.0.1")
lo6 = UdpEchoServer("::1", family=socket.AF_INET6)
far = []
for p in FAR_PORTS:
    far.append(remote.popen([sys.executable, PEER, "serve-udp-echo",
                             "198.51.100.9", str(p)],
                            stdout=subprocess.PIPE, text=True))
    check(far[-1].stdout.readline().strip() == "listening",
          f"remote echo server on {p}")


def udp_check(c, host, port, count=300, six=False):
    return json.loads(c.peer("udp-check6" if six else "udp-check", host,
                             port, SIZES6 if six else SIZES, count,
                             timeout=120))


def expect_whole(res, what, sizes=SIZES):
    check(res["whole"] == [int(x) for x in sizes.split(",")],
          f"{what}: datagrams of 1 to {sizes.split(',')[-1]} bytes come "
          f"back whole ({res['whole']})")
    check(res["sent"] == res["got"],
          f"{what}: 300 x 1,400 bytes, the same sha256 both ways")


def setup(args=(), env=None, six=False):
    """A target namespace, a forwarder in it, a container on a bridge"""
    t = Netns()
    saved = dict(os.environ)
    os.environ.update(env or {})
    try:
        f = start(["-c", *(["-6"] if six else []), *args], t)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    c = container_behind(t, bridge=True)
    if six:
        check(t.peer("wait-addr", "fd00::100", 10) == "ok",
              "fd00::100 usable")
        t.sh(f"ip -6 addr add fd88::1/64 dev {c.gw_if} nodad && "
             "sysctl -qw net.ipv6.conf.all.forwarding=1")
        c.sh("ip -6 addr add fd88::2/64 dev vc-ctr nodad && "
             "ip -6 route add default via fd88::1")
    return t, f, c


def done(t, f, c):
    status, _, err = f.finish()
    check(status == -signal.SIGTERM, f"a clean stop: {err}")
    c.close()
    t.close()


def redirect_port(t):
    """Our UDP listener's port, from the redirect rule"""
    out = t.sh("nft list table inet slirp4netns").stdout
    for line in out.splitlines():
        m = re.search(r"l4proto udp .*redirect to :(\d+)", line)
        if m:
            return int(m.group(1))
    return None


# ---- the kernel path: bulk and sizes, none of it through the TAP
t, f, c = setup()
new_peers(far[0])
before = tap_bytes(t)
res = udp_check(c, "198.51.100.9", 7007)
expect_whole(res, "to a remote host")
check(res["from"] == ["198.51.100.9:7007"],
      f"answers come from the remote host ({res['from']})")
check(new_peers(far[0]) == ["198.51.100.1"],
      "the remote host sees the host's address, as through libslirp")
lo.peers.clear()
res = udp_check(c, "10.0.2.2", lo.port)
expect_whole(res, "to the host's loopback")
check(res["from"] == [f"10.0.2.2:{lo.port}"],
      f"answers come from 10.0.2.2 ({res['from']})")
check(set(lo.peers) == {"127.0.0.1"},
      f"the host's service sees its loopback ({set(lo.peers)})")
check(tap_bytes(t) - before < 64 * 1024,
      f"not through the TAP ({tap_bytes(t) - before} bytes)")

# one socket, one port, several destinations: each answers as itself
dests = ",".join([f"198.51.100.9/{p}" for p in FAR_PORTS] +
                 [f"10.0.2.2/{lo.port}"])
res = json.loads(c.peer("udp-many", dests, 20, timeout=60))
check(all(n >= 19 for n in res["right"].values()) and res["wrong"] == 0,
      f"one port to four destinations: each one's answers from it ({res})")

# closed ports refuse a connected socket, as through libslirp
check(c.peer("udp-refused", "198.51.100.9", "7008") == "ECONNREFUSED",
      "a closed port on a remote host refuses")
check(c.peer("udp-refused", "10.0.2.2", "1") == "ECONNREFUSED",
      "a closed port on the host's loopback refuses")

# idle flows close
udp_flow_expires(c, f.proc.pid, IDLE_MS, "198.51.100.9", 7007)

# our listener's own port, dialled directly, is no way out: 10.0.2.100
# would be translated to the host's loopback, as 10.0.2.2 is (a trap
# listens on that port there)
port = redirect_port(t)
check(port is not None, "the redirect rule names our UDP listener")
time.sleep(IDLE_MS / 1000 * 2.5)
base = fd_count(f.proc.pid)
try:
    trap = UdpEchoServer("127.0.0.1", port)
except OSError:
    trap = None  # the port is taken on the host: nothing to fall into
outs = [c.peer("udp-refused", a, port) for a in ("10.0.2.100", "10.88.0.1")]
check(outs == ["timeout", "timeout"] and (trap is None or trap.peers == []),
      f"a datagram to our listener itself is not answered ({outs})")
check(fd_count(f.proc.pid) == base, "and opens no flow")
done(t, f, c)

# ---- a conntrack entry that expired: the same socket, now to another
# destination, reaches that one (not the first, which our flow for the
# same addresses still knows: its answer would come back translated as if
# from the second); fresh servers, which print a peer the first time only.
# Our flows live on here: they must outlive the entry
t, f, c = setup(env={"SLIRP4NETNS_TEST_UDP_IDLE_MS": "60000"})
t.sh("sysctl -qw net.netfilter.nf_conntrack_udp_timeout=1 "
     "net.netfilter.nf_conntrack_udp_timeout_stream=1")
fresh = []
for p in (7011, 7012):
    fresh.append(remote.popen([sys.executable, PEER, "serve-udp-echo",
                               "198.51.100.9", str(p)],
                              stdout=subprocess.PIPE, text=True))
    check(fresh[-1].stdout.readline().strip() == "listening",
          f"remote echo server on {p}")
out = c.sh(f"""{sys.executable} -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
got = []
for port in (7011, 7012):
    s.sendto(b"to %d" % port, ("198.51.100.9", port))
    d, a = s.recvfrom(100)
    got.append("%s:%d %s" % (a[0], a[1], d.decode()))
    time.sleep(3)
print(";".join(got))'""").stdout.strip()
check(out == "198.51.100.9:7011 to 7011;198.51.100.9:7012 to 7012",
      f"after its entry expired, a socket's new destination answers "
      f"({out})")
check(new_peers(fresh[1]) == ["198.51.100.1"],
      "the new destination got the datagram itself")
for s in fresh:
    s.kill()
done(t, f, c)

# ---- IPv6 from a container on the bridge
t, f, c = setup(six=True)
before = tap_bytes(t)
lo6.peers.clear()
res = udp_check(c, "fd00::2", lo6.port, six=True)
expect_whole(res, "IPv6 to the host's loopback", SIZES6)
check(res["from"] == [f"fd00::2:{lo6.port}"],
      f"IPv6 answers come from fd00::2 ({res['from']})")
check(set(lo6.peers) == {"::1"}, f"the host's service sees ::1 "
      f"({set(lo6.peers)})")
check(tap_bytes(t) - before < 64 * 1024,
      f"IPv6: not through the TAP ({tap_bytes(t) - before} bytes)")
check(c.peer("udp-refused6", "fd00::2", "1") == "ECONNREFUSED",
      "IPv6: a closed port refuses")
done(t, f, c)

# ---- --outbound-addr binds a container's UDP too
t, f, c = setup(["--outbound-addr=198.51.100.2"])
new_peers(far[0])
c.peer("udp-echo", "198.51.100.9", "7007", "1", "10")
check(new_peers(far[0]) == ["198.51.100.2"],
      "--outbound-addr: the remote host sees 198.51.100.2")
done(t, f, c)

# ---- --disable-host-loopback: 10.0.2.2 is not the host's loopback
t, f, c = setup(["--disable-host-loopback"])
lo.peers.clear()
r = c.peer("udp-echo", "10.0.2.2", lo.port, "2", "10")
check(r == "0" and not lo.peers,
      f"--disable-host-loopback keeps 10.0.2.2 away ({r}, {lo.peers})")
done(t, f, c)

# ---- on libslirp, through the TAP, where the kernel path is not ours:
# root's sandbox drops CAP_NET_ADMIN, so conntrack cannot be asked
for what, args, env in (
        ("--enable-sandbox --enable-seccomp as root",
         ["--enable-sandbox", "--enable-seccomp"], None),
        ("--disable-tcp-bypass", ["--disable-tcp-bypass"], None),
        ("no nftables", [], {"S4_TEST_NO_NFTABLES": "1"})):
    t, f, c = setup(args, env)
    before = tap_bytes(t)
    res = udp_check(c, "198.51.100.9", 7007, 50)
    check(res["sent"] == res["got"] and
          res["from"] == ["198.51.100.9:7007"], f"{what}: UDP works")
    check(tap_bytes(t) - before > 50 * 1400,
          f"{what}: through the TAP ({tap_bytes(t) - before} bytes)")
    done(t, f, c)

for s in far:
    s.kill()

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Outbound UDP on the kernel path (the default): the namespace's
datagrams reach the host's loopback (10.0.2.2, fd00::2) and a "remote"
host (a namespace over a veth, 198.51.100.0/24) without crossing the TAP;
sizes 1 to 65,507 arrive whole both ways, a bulk of 1,400-byte datagrams
has the same sha256 both ways; the addresses each side sees are the ones
slirp4netns 1.2.0 shows (run side by side where it is installed); a closed
port refuses a connected socket (ECONNREFUSED) as on the slirp path; a
service in the namespace that holds the destination's port does not stop
the answers; idle flows close; a flood of new flows keeps the fds bounded,
a client that keeps talking is still answered, and the API answers;
--outbound-addr binds UDP too; --disable-host-loopback still keeps
10.0.2.2 away; --disable-tcp-bypass and a kernel without nftables leave
UDP on libslirp."""
import json
import tempfile
from nslib import *

isolate()
remote = veth_remote(extra_host_ips=("198.51.100.2",))
SIZES = "1,100,1400,1473,9000,32768,65507"
# IPv6 in one packet on lo (MTU 65,536, 48 bytes of headers): larger ones
# are fragmented there and not yet taken by the kernel path (see README)
SIZES6 = "1,100,1400,1473,9000,32768,65480"
IDLE_MS = 1500
os.environ["SLIRP4NETNS_TEST_UDP_IDLE_MS"] = str(IDLE_MS)

lo = UdpEchoServer("127.0.0.1")
lo6 = UdpEchoServer("::1", family=socket.AF_INET6)
far = remote.popen([sys.executable, PEER, "serve-udp-echo", "198.51.100.9",
                    "7007"], stdout=subprocess.PIPE, text=True)
check(far.stdout.readline().strip() == "listening", "remote echo server")
FAR_CLOSED = 7008


def udp_check(t, host, port, count=300, six=False, sizes=None):
    return json.loads(t.peer("udp-check6" if six else "udp-check", host,
                             port, sizes or (SIZES6 if six else SIZES),
                             count, timeout=120))


def expect_whole(res, what, six=False):
    sizes = SIZES6 if six else SIZES
    check(res["whole"] == [int(x) for x in sizes.split(",")],
          f"{what}: datagrams of 1 to {sizes.split(',')[-1]} bytes come "
          f"back whole ({res['whole']})")
    check(res["sent"] == res["got"],
          f"{what}: 300 x 1,400 bytes, the same sha256 both ways")


def run(binary, args=(), env=None, six=True):
    """A target namespace and a forwarder in it, with -c (and -6)"""
    t = Netns()
    saved = dict(os.environ)
    os.environ.update(env or {})
    try:
        f = start(["-c", *(["-6"] if six else []), *args], t,
                  binary=binary)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    if six:
        check(t.peer("wait-addr", "fd00::100", 10) == "ok",
              "fd00::100 usable")
    return t, f


def addresses(binary, six=True):
    """What the guest and the services see through @binary (slirp4netns
    1.2.0's -6 wants router advertisements we do not wait for: IPv4)"""
    t, f = run(binary, six=six)
    lo.peers.clear()
    got = {"lo": udp_check(t, "10.0.2.2", lo.port, 20, sizes="1")["from"],
           "far": udp_check(t, "198.51.100.9", 7007, 20, sizes="1")["from"],
           "lo_sees": sorted(set(lo.peers))}
    if six:
        got["lo6"] = udp_check(t, "fd00::2", lo6.port, 20, six=True,
                               sizes="1")["from"]
    f.finish()
    t.close()
    return got


# the kernel path: bulk and sizes, none of it through the TAP
t, f = run(None)
before = tap_bytes(t)
expect_whole(udp_check(t, "10.0.2.2", lo.port), "to the host's loopback")
expect_whole(udp_check(t, "fd00::2", lo6.port, six=True),
             "to the host's loopback, IPv6", six=True)
expect_whole(udp_check(t, "198.51.100.9", 7007), "to a remote host")
check(tap_bytes(t) - before < 64 * 1024,
      f"not through the TAP ({tap_bytes(t) - before} bytes)")

# a closed port: the guest's connected socket is refused, as by libslirp
check(t.peer("udp-refused", "10.0.2.2", "1") == "ECONNREFUSED",
      "a closed port on the host's loopback refuses")
check(t.peer("udp-refused", "198.51.100.9", FAR_CLOSED) == "ECONNREFUSED",
      "a closed port on a remote host refuses")
check(t.peer("udp-refused6", "fd00::2", "1") == "ECONNREFUSED",
      "a closed port refuses over IPv6")

# a service in the namespace on the destination's port, all addresses,
# without SO_REUSEADDR: our socket for the answers cannot take that name
svc = t.popen([sys.executable, PEER, "serve-udp-echo", "0.0.0.0",
               str(lo.port)], stdout=subprocess.PIPE, text=True)
check(svc.stdout.readline().strip() == "listening", "a service on the port")
res = udp_check(t, "10.0.2.2", lo.port, 50)
check(res["sent"] == res["got"] and res["from"] == [f"10.0.2.2:{lo.port}"],
      f"answers still come, from 10.0.2.2 ({res['from']})")
svc.kill()

# idle flows close
udp_flow_expires(t, f.proc.pid, IDLE_MS, "198.51.100.9", 7007)
status, _, err = f.finish()
check(status == -signal.SIGTERM, f"a clean stop: {err}")
t.close()

# a flood of new flows with few fds: the oldest flows make room
sock = os.path.join(tempfile.mkdtemp(), "api.sock")
t = Netns()
f = start(["-c", "-a", sock], t, wrapper=("prlimit", "--nofile=512:512",
                                         "--"))
flood = t.popen([sys.executable, PEER, "udp-flood", "198.51.100.9", "7007",
                 "3000", "100"], stdout=subprocess.PIPE, text=True)
peak = peak_fds_while(flood, f.proc.pid)
res = json.loads(flood.stdout.read())
check(res["answered"] == res["asked"],
      f"a client that keeps talking is answered through the flood ({res})")
check(peak < 400, f"fds stay bounded below the limit of 512 (peak {peak})")
listed = api_call(sock, {"execute": "list_hostfwd"})
check(listed == {"entries": []}, f"the API answers ({listed})")
expect_whole(udp_check(t, "198.51.100.9", 7007), "after the flood")
f.finish()
t.close()

# --outbound-addr: the remote host sees the address asked for
t, f = run(None, ["--outbound-addr=198.51.100.2"])
t.peer("udp-echo", "198.51.100.9", "7007", "1", "10")
check("198.51.100.2" in new_peers(far),
      "--outbound-addr binds UDP: the remote host sees 198.51.100.2")
f.finish()
t.close()

# --disable-host-loopback: 10.0.2.2 is not the host's loopback
t, f = run(None, ["--disable-host-loopback"])
lo.peers.clear()
r = t.peer("udp-echo", "10.0.2.2", lo.port, "2", "10")
check(r == "0" and not lo.peers,
      f"--disable-host-loopback keeps 10.0.2.2 away ({r}, {lo.peers})")
f.finish()
t.close()

# the fallback: on libslirp, through the TAP
for what, args, env in (("--disable-tcp-bypass", ["--disable-tcp-bypass"],
                         None),
                        ("no nftables", [], {"S4_TEST_NO_NFTABLES": "1"})):
    t, f = run(None, args, env)
    before = tap_bytes(t)
    res = udp_check(t, "198.51.100.9", 7007, 50)
    check(res["sent"] == res["got"], f"{what}: UDP works")
    check(tap_bytes(t) - before > 50 * 1400,
          f"{what}: through the TAP ({tap_bytes(t) - before} bytes)")
    f.finish()
    t.close()

# the addresses each side sees are 1.2.0's
ours = addresses(None)
check(ours["lo"] == [f"10.0.2.2:{lo.port}"] and
      ours["far"] == ["198.51.100.9:7007"] and
      ours["lo_sees"] == ["127.0.0.1"],
      f"answers come from where the guest sent, the host sees its "
      f"loopback ({ours})")
check(ours["lo6"] == [f"fd00::2:{lo6.port}"],
      f"IPv6 answers come from fd00::2 ({ours['lo6']})")
if os.path.exists("/usr/bin/slirp4netns"):
    theirs = addresses("/usr/bin/slirp4netns", six=False)
    del ours["lo6"]
    check(ours == theirs, f"the same as slirp4netns 1.2.0 ({theirs})")
far.kill()

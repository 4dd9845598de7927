#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""UDP forwards on the fast path, the default: datagrams of 1 to 65,507
bytes arrive whole both ways, a bulk of 1,400-byte ones has the same
sha256 both ways, none crosses the TAP; the service sees what it sees
through slirp4netns (10.0.2.2 and the client's port for a client on the
host's loopback, fd00::2 for ::1, the client's own address for a remote
one; libslirp shows a port of its own) and the client sees the answers come from the forward's address; an
answer given long after conntrack's own timeout (cut to 1 s here) still
reaches the client from the forward; idle flows close; a flood of new
clients keeps the fds bounded, a client that keeps talking is answered
and the API answers; removal closes the port and the flows. "mode":
"slirp" keeps libslirp's path. Without nftables a forward that did not
ask for the fast path takes libslirp's (the service still sees 10.0.2.2);
one that asked ("mode": "splice") shows the namespace's own address."""
import json
import tempfile
from nslib import *

isolate()
remote = veth_remote()
SIZES = "1,100,1400,1473,9000,32768,65507"
IDLE_MS = 1500
PORT, GPORT = 18053, 5353


def add(sock, port, gport=GPORT, mode=None, host="0.0.0.0", v6=False):
    args = {"proto": "udp6" if v6 else "udp", "host_addr": host,
            "host_port": port, "guest_port": gport}
    if mode:
        args["mode"] = mode
    return api_call(sock, {"execute": "add_hostfwd", "arguments": args})


def serve(t, addr="0.0.0.0", port=GPORT):
    srv = t.popen([sys.executable, PEER, "serve-udp-peers", addr, str(port)],
                  stdout=subprocess.PIPE, text=True)
    check(srv.stdout.readline().strip() == "listening",
          f"a UDP service on {addr} port {port}")
    return srv


def peer_line(srv, timeout=5):
    """The next "host port" the service printed, or None."""
    fd = srv.stdout.fileno()
    if not select.select([fd], [], [], timeout)[0]:
        return None
    return srv.stdout.readline().strip()


def exchange(msg, addr=("127.0.0.1", PORT), family=socket.AF_INET,
             timeout=5):
    """One datagram from a new socket: (its port, the answer, where from)"""
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.bind(("::1" if family == socket.AF_INET6 else "127.0.0.1", 0))
    s.settimeout(timeout)
    s.sendto(msg, addr)
    try:
        d, a = s.recvfrom(65536)
    except socket.timeout:
        d, a = None, None
    return s.getsockname()[1], d, a


def udp_check(where, port):
    cmd = [sys.executable, PEER, "udp-check", where, str(port), SIZES,
           "300"]
    return json.loads(subprocess.run(cmd, capture_output=True, text=True,
                                     check=True, timeout=120).stdout)


def expect_whole(res, what):
    check(res["whole"] == [int(x) for x in SIZES.split(",")],
          f"{what}: 1 to 65,507 bytes come back whole ({res['whole']})")
    check(res["sent"] == res["got"],
          f"{what}: 300 x 1,400 bytes, the same sha256 both ways")


def ipv6_ready(t, secs=10):
    """The namespace's IPv6 address is past duplicate address detection
    (until then the kernel delivers nothing to it, on any path)"""
    end = time.time() + secs
    while time.time() < end:
        out = t.run(["ip", "-6", "addr", "show", "dev", "tap0",
                     "scope", "global"]).stdout
        if "fd00::100" in out and "tentative" not in out:
            return True
        time.sleep(0.1)
    return False


def flow_sockets(t):
    """The namespace's sockets connected to the service's port: flows"""
    out = t.run(["ss", "-Huan", "dport", "=", f":{GPORT}"]).stdout
    return len(out.splitlines())


# ---- the default path
sock = os.path.join(tempfile.mkdtemp(), "api.sock")
t = Netns()
check(netns_ino(t.pid) != netns_ino(), "the target is not our namespace")
f = start(["-c", "-6", "-a", sock], t)
srv = serve(t)
srv6 = serve(t, "::", GPORT + 1)
check("return" in add(sock, PORT), "a UDP forward, no mode given")
check("return" in add(sock, PORT + 1, GPORT + 1, host="::1", v6=True),
      "a udp6 forward")

before = tap_bytes(t)
res = udp_check("127.0.0.1", PORT)
expect_whole(res, "from the host's loopback")
check(res["from"] == [f"127.0.0.1:{PORT}"],
      f"the answers come from the forward ({res['from']})")
check(tap_bytes(t) - before < 20000,
      f"not through the TAP ({tap_bytes(t) - before} bytes)")
check(peer_line(srv) is not None, "the service saw the check's client")

cport, d, a = exchange(b"who")
check(d == b"who" and a == ("127.0.0.1", PORT), f"an echo ({d}, {a})")
seen = peer_line(srv)
check(seen == f"10.0.2.2 {cport}",
      f"a loopback client is 10.0.2.2 with its own port ({seen}; "
      f"client port {cport})")
check(ipv6_ready(t), "fd00::100 is the namespace's")
cport, d, a = exchange(b"six", ("::1", PORT + 1), socket.AF_INET6)
seen = peer_line(srv6)
check(d == b"six" and seen == f"fd00::2 {cport}",
      f"::1 is fd00::2 to the service ({d}, {seen})")

res = json.loads(remote.peer("udp-check", "198.51.100.1", PORT, SIZES, 300,
                             timeout=120))
expect_whole(res, "from a remote host")
seen = peer_line(srv)
check(seen and seen.split()[0] == "198.51.100.9",
      f"a remote client is its own address ({seen})")

# a forward to an address outside the namespace reaches nothing there (on
# the slirp path the namespace does not route it back out either), and
# not the remote host through ours
far = remote.popen([sys.executable, PEER, "serve-udp-peers", "198.51.100.9",
                    "7007"], stdout=subprocess.PIPE, text=True)
check(far.stdout.readline().strip() == "listening", "a remote UDP service")
check("return" in api_call(sock, {"execute": "add_hostfwd", "arguments": {
    "proto": "udp", "host_addr": "127.0.0.1", "host_port": PORT + 3,
    "guest_addr": "198.51.100.9", "guest_port": 7007}}),
    "a forward to the remote host's address")
cport, d, a = exchange(b"out?", ("127.0.0.1", PORT + 3), timeout=2)
check(d is None and peer_line(far, 1) is None,
      "reaches nothing: no answer, and the remote host saw nothing")

# the service answers after conntrack would have forgotten the flow
t.sh("sysctl -qw net.netfilter.nf_conntrack_udp_timeout=1 "
     "net.netfilter.nf_conntrack_udp_timeout_stream=1")
cport, d, a = exchange(b"late 3", timeout=8)
check(d == b"late 3" and a == ("127.0.0.1", PORT),
      f"an answer 3 s late still comes, from the forward ({d}, {a})")

check(api_call(sock, {"execute": "remove_hostfwd", "arguments": {"id": 1}})
      == {"return": {}}, "removed")
check(flow_sockets(t) == 0, "its flows closed with it")
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", PORT))  # raises if the port is still held
s.close()
log("ok: the port is free again")

# "mode": "slirp"
check("return" in add(sock, PORT + 2, mode="slirp"), "mode slirp")
before = tap_bytes(t)
cport, d, a = exchange(b"slirp", ("127.0.0.1", PORT + 2))
check(d == b"slirp" and tap_bytes(t) > before,
      "mode slirp goes through the TAP")
seen = peer_line(srv)
check(seen and seen.split()[0] == "10.0.2.2",
      f"as 10.0.2.2 (libslirp's own port: {seen})")
status, _, err = f.finish()
check(status == -signal.SIGTERM, f"a clean stop: {err[-300:]}")
t.close()

# ---- idle flows close; a flood of new clients with few fds
os.environ["SLIRP4NETNS_TEST_UDP_IDLE_MS"] = str(IDLE_MS)
sock = os.path.join(tempfile.mkdtemp(), "api.sock")
t = Netns()
f = start(["-c", "-a", sock], t, wrapper=("prlimit", "--nofile=512:512",
                                         "--"))
srv = serve(t)
check("return" in add(sock, PORT), "a forward, fds limited to 512")
cport, d, a = exchange(b"late 3", timeout=5)
check(d is None, f"an answer after its flow closed is dropped ({d}, {a})")
cport, d, a = exchange(b"hello")
check(d == b"hello" and flow_sockets(t) > 0, "a flow is open")
time.sleep(IDLE_MS / 1000 * 2.5)
check(flow_sockets(t) == 0, "idle flows close")
cport, d, a = exchange(b"again")
check(d == b"again", "a client that comes back is served again")
flood = subprocess.Popen([sys.executable, PEER, "udp-flood", "127.0.0.1",
                          str(PORT), "3000", "100"], stdout=subprocess.PIPE,
                         text=True)
peak = peak_fds_while(flood, f.proc.pid)
res = json.loads(flood.stdout.read())
check(res["answered"] == res["asked"],
      f"a client that keeps talking is answered through the flood ({res})")
check(peak < 480, f"fds stay below the limit of 512 (peak {peak})")
listed = api_call(sock, {"execute": "list_hostfwd"})
check(len(listed.get("entries", [])) == 1, f"the API answers ({listed})")
cport, d, a = exchange(b"after")
check(d == b"after", "a new client after the flood is served")
f.finish()
t.close()

# ---- no nftables: libslirp's path, unless asked
os.environ["S4_TEST_NO_NFTABLES"] = "1"
sock = os.path.join(tempfile.mkdtemp(), "api.sock")
t = Netns()
f = start(["-c", "-a", sock], t)
srv = serve(t)
check("return" in add(sock, PORT), "a forward, no mode, no nftables")
check("return" in add(sock, PORT + 1, mode="splice"),
      "a forward that asks for splice, no nftables")
before = tap_bytes(t)
cport, d, a = exchange(b"plain")
check(d == b"plain" and tap_bytes(t) > before,
      "without the rules the default goes through the TAP")
seen = peer_line(srv)
check(seen and seen.split()[0] == "10.0.2.2", f"and keeps 10.0.2.2 ({seen})")
before = tap_bytes(t)
cport, d, a = exchange(b"asked", ("127.0.0.1", PORT + 1))
check(d == b"asked" and tap_bytes(t) - before < 2000,
      "the one that asked takes the fast path")
seen = peer_line(srv)
check(seen and seen.split()[0] == "10.0.2.100",
      f"and shows the namespace's own address ({seen})")
for fid in (1, 2):
    check(api_call(sock, {"execute": "remove_hostfwd",
                          "arguments": {"id": fid}}) == {"return": {}},
          f"forward {fid} removed")
for port in (PORT, PORT + 1):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("0.0.0.0", port))
    except OSError as e:
        fail(f"port {port} still held: {e}; "
             f"{subprocess.run(['ss', '-uanp'], capture_output=True, text=True).stdout}")
    s.close()
log("ok: both ports are free again")
f.finish()
t.close()

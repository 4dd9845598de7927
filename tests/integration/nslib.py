# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared pieces of the integration tests.

Every test runs inside an outer namespace made for it (user, net, mount;
lo up): the forwarder's host sockets live there, so whatever a test sends
can reach nothing but that namespace and the ones the test makes itself.
The target ("container") namespace is a child of it.
"""
import hashlib
import os
import random
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

from peer import echo_conn, echo_once  # noqa: E402  (same folder)

S4 = os.environ.get("S4_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "slirp4netns")
PEER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "peer.py")
CI = os.environ.get("CI") == "true"


_libc = None


def die_with_parent():
    """preexec_fn: a test killed by its timeout takes its processes along."""
    global _libc
    import ctypes
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    _libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def log(*a):
    print(*a, flush=True)


def fail(msg):
    log("FAIL: " + msg)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)
    log("ok: " + msg)


def skip(msg):
    """Exit 77 (meson's skip), except under CI, where everything must run."""
    if CI:
        fail("missing under CI: " + msg)
    log("SKIP: " + msg)
    sys.exit(77)


def netns_ino(pid="self"):
    return os.stat(f"/proc/{pid}/ns/net").st_ino


def isolate(extra_unshare=()):
    """Re-run the calling test inside a fresh user+net+mount namespace."""
    if os.environ.get("S4_ISOLATED") == "1":
        if str(netns_ino()) == os.environ.get("S4_HOST_NETNS"):
            fail("not isolated: still in the host's network namespace")
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        return
    if not shutil.which("unshare"):
        skip("unshare(1) not installed")
    env = dict(os.environ, S4_ISOLATED="1", S4_HOST_NETNS=str(netns_ino()))
    cmd = ["unshare", "--user", "--map-root-user", "--net", "--mount",
           "--propagation", "private", *extra_unshare,
           sys.executable, *sys.argv]
    sys.exit(subprocess.run(cmd, env=env).returncode)


def assert_isolated():
    """In a stage run by as_test_user(): we must not be in the host's
    network namespace."""
    if str(netns_ino()) == os.environ.get("S4_HOST_NETNS", ""):
        fail("not isolated: still in the host's network namespace")


def subids(user, first=200000, count=65536):
    """Subordinate uids and gids for user (rootlesskit, podman), if it has
    none: useradd gives them only when /etc/subuid existed before it ran."""
    for path in ("/etc/subuid", "/etc/subgid"):
        lines = open(path).read().splitlines() if os.path.exists(path) \
            else []
        if any(l.split(":")[0] == user for l in lines):
            continue
        ends = [int(l.split(":")[1]) + int(l.split(":")[2])
                for l in lines if l.count(":") == 2]
        start = max([first, *ends])
        with open(path, "a") as fh:
            fh.write(f"{user}:{start}:{count}\n")


def as_test_user(script, stage, user="s4test", extra_files=(), setup=""):
    """Run `script stage` as an unprivileged user, in a network namespace
    made for it (and a mount namespace): a real uid, an isolated network.
    setup: shell commands run there as root first (addresses for "remote"
    servers, say).

    The script, this module, peer.py and the binary are copied to a
    world-readable folder first (a clone under /root is not readable to the
    user); S4_BIN points at the copy. Needs root. Returns the exit status.
    """
    import pwd
    import tempfile
    if os.geteuid() != 0:
        skip("needs root to create the test user")
    try:
        pwd.getpwnam(user)
    except KeyError:
        subprocess.run(["useradd", "-m", user], check=True)
    subids(user)
    # Debian's udev makes /dev/net/tun 0666; rootless TAPs need that (the
    # original slirp4netns fails the same way without it)
    if os.stat("/dev/net/tun").st_mode & 0o666 != 0o666:
        log("note: /dev/net/tun was not world-usable; setting 0666 as udev "
            "does")
        os.chmod("/dev/net/tun", 0o666)
    here = os.path.dirname(os.path.abspath(__file__))
    tmp = tempfile.mkdtemp(prefix="s4-user-")
    for name in ("nslib.py", "peer.py", *extra_files):
        shutil.copy(os.path.join(here, name), tmp)  # absolute names too
    shutil.copy(os.path.abspath(script), tmp)
    shutil.copy(S4, os.path.join(tmp, "slirp4netns"))
    for name in os.listdir(tmp):
        os.chmod(os.path.join(tmp, name), 0o755)
    os.chmod(tmp, 0o1777)
    py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") \
        else sys.executable
    env = dict(os.environ, S4_BIN=os.path.join(tmp, "slirp4netns"),
               S4_HOST_NETNS=str(netns_ino()), S4_TMP=tmp)
    inner = (f"ip link set lo up && {setup or 'true'} && exec runuser -u {user} -- {py} "
             f"{os.path.join(tmp, os.path.basename(script))} {stage}")
    # cwd: the user may not enter the caller's (meson's build folder)
    r = subprocess.run(["unshare", "--net", "--mount", "--propagation",
                        "private", "sh", "-c", inner], env=env, cwd=tmp)
    shutil.rmtree(tmp, ignore_errors=True)
    return r.returncode


class Netns:
    """A network namespace held open by a sleeping process."""

    def __init__(self, name="target", userns=False, mount=False,
                 within=None):
        self.name = name
        # a rootless target owns its user namespace; joining it makes us
        # root there. One made @within another such is owned by that one's
        self.enter = (["-U", "--preserve-credentials", "-n"]
                      if userns or within else ["-n"]) + \
            (["-m"] if mount else [])
        own = (["--user", "--map-root-user"] if userns else []) + \
            (["--mount"] if mount else [])
        pre = ["nsenter", "-t", str(within.pid), *within.enter] \
            if within else []
        self.proc = subprocess.Popen([*pre, "unshare", *own, "--net",
                                      "sleep", "infinity"],
                                     stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL,
                                     preexec_fn=die_with_parent)
        self.pid = self.proc.pid
        for _ in range(200):
            try:
                if netns_ino(self.pid) != netns_ino():
                    break
            except FileNotFoundError:
                pass
            time.sleep(0.01)
        else:
            fail(f"{name}: namespace did not appear")
        self.sh("ip link set lo up")

    def run(self, args, **kw):
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        return subprocess.run(["nsenter", "-t", str(self.pid), *self.enter,
                               *args], **kw)

    def sh(self, cmd, check=True, **kw):
        r = self.run(["sh", "-c", cmd], **kw)
        if check and r.returncode != 0:
            fail(f"{self.name}: `{cmd}` failed: {r.stdout}{r.stderr}")
        return r

    def peer(self, *args, timeout=60):
        """Run a peer.py command in here; returns its stdout lines."""
        r = self.run([sys.executable, PEER, *map(str, args)],
                     timeout=timeout)
        if r.returncode != 0:
            fail(f"peer {args} failed ({r.returncode}): {r.stdout}{r.stderr}")
        return r.stdout.strip()

    def popen(self, args, **kw):
        kw.setdefault("preexec_fn", die_with_parent)
        return subprocess.Popen(["nsenter", "-t", str(self.pid), *self.enter,
                                 *args], **kw)

    def close(self):
        self.proc.kill()
        self.proc.wait()


class Forwarder:
    """The binary under test, started with a ready pipe (-r)."""

    def __init__(self, args, target=None, ready=True, exit_fd=False,
                 binary=None, tapname="tap0", wrapper=(), extra_fds=()):
        if target is not None and netns_ino(target.pid) == netns_ino():
            fail("target namespace is the forwarder's own: refusing to start")
        pass_fds = []
        keep = list(extra_fds)
        argv = [*wrapper, binary or S4]
        if ready:
            rr, rw = os.pipe()
            self.ready_r = rr
            pass_fds.append(rw)
            argv += ["-r", str(rw)]
        if exit_fd:
            er, ew = os.pipe()
            self.exit_w = ew
            pass_fds.append(er)
            argv += ["-e", str(er)]
        argv += list(args)
        if target is not None:
            argv += [str(target.pid), tapname]
        self.argv = argv
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, pass_fds=pass_fds + keep,
                                     preexec_fn=die_with_parent)
        for fd in pass_fds:
            os.close(fd)

    def wait_ready(self, timeout=10):
        r, _, _ = select.select([self.ready_r], [], [], timeout)
        if not r:
            self.stop()
            fail(f"not ready within {timeout}s: {self.output()}")
        data = os.read(self.ready_r, 16)
        if data != b"1":
            self.stop()
            fail(f"ready fd said {data!r}: {self.output()}")
        return self

    def wait(self, timeout=10):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            if self.wait(5) is None:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def output(self):
        out, err = self.proc.communicate() if self.proc.poll() is not None \
            else (b"", b"")
        self._out = (out or b"").decode() + (err or b"").decode()
        return self._out

    def finish(self):
        """Stop it and return (status, stdout, stderr)."""
        self.stop()
        out, err = self.proc.communicate()
        return self.proc.returncode, out.decode(), err.decode()


def start(args, target, **kw):
    return Forwarder(args, target, **kw).wait_ready()


def tcp_roundtrip(host, port, data, timeout=30):
    """What an echo server at host:port sends back for data (peer.py)."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    return echo_once(host, port, data, fam, timeout)


def many_roundtrips(port, n, size, host="127.0.0.1"):
    """n connections at once to the echo server at host:port, size bytes
    of each one's own seeded data each way: the ones that did not come
    back whole, as (number, bytes back)"""
    bad = []

    def one(i):
        data = random.Random(i).randbytes(size)
        try:
            got = tcp_roundtrip(host, port, data, timeout=60)
        except OSError as e:
            got = repr(e).encode()
        if hashlib.sha256(got).digest() != hashlib.sha256(data).digest():
            bad.append((i, len(got)))

    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return bad


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def new_peers(srv):
    """The addresses a peer.py serve-udp-echo @srv has printed so far (it
    prints each peer once)"""
    data = b""
    fd = srv.stdout.fileno()  # not readline(): its buffer hides from select
    while select.select([fd], [], [], 1)[0]:
        more = os.read(fd, 4096)
        if not more:
            break
        data += more
    return data.decode().split()


def udp_flow_expires(client, pid, idle_ms, host, port):
    """A datagram from namespace @client to an echo at @host:@port opens a
    flow in forwarder @pid that holds fds, and they close once it has
    been idle a while (the forwarder runs with
    SLIRP4NETNS_TEST_UDP_IDLE_MS=@idle_ms)"""
    time.sleep(idle_ms / 1000 * 2.5)
    base = fd_count(pid)
    client.peer("udp-echo", host, port, "1", "10")
    check(fd_count(pid) > base, "a new flow holds a socket")
    time.sleep(idle_ms / 1000 * 2.5)
    check(fd_count(pid) == base,
          f"idle, it closes ({fd_count(pid)} fds, {base} before)")


def peak_fds_while(proc, pid):
    """The most fds process pid held while proc ran (sampled every 10 ms)"""
    peak = fd_count(pid)
    while proc.poll() is None:
        peak = max(peak, fd_count(pid))
        time.sleep(0.01)
    return peak


def settled_fd_count(pid, still=2.5, secs=30):
    """The fd count of pid once it has not moved for still seconds (a
    close finishes after the client's; the splice engine's pipe pool
    closes its spares a second or two after the last transfer)"""
    n, end = -1, time.time() + secs
    while time.time() < end:
        m = fd_count(pid)
        if m == n:
            return m
        n = m
        time.sleep(still)
    return n


HALF_CLOSED = ("FIN-WAIT-2", "CLOSE-WAIT", "LAST-ACK")


def lost_fin(sock, pairs):
    """Is sock (an ss -Htano row, split) a closed socket in FIN_WAIT2 whose
    peer is gone (no socket with its addresses the other way round in
    pairs, the (local, peer) of every socket: a listener shares the
    peer's local address, so addresses alone would not do)? Its peer's FIN met the kernel's own race: a socket
    turning into a timewait one during close() is briefly in no lookup
    table, so the FIN is answered with a reset that the peer takes and
    the closed socket never sees (seen on 6.18; without anyone in
    between: a tcp_rr echo churned with "half" on lo leaves a few per
    100,000, and counts one TcpOutRsts each). A peer that never sent its
    FIN would still be there, in CLOSE_WAIT."""
    return sock[0] == "FIN-WAIT-2" and "timer:(timewait" in " ".join(sock) \
        and (sock[4], sock[3]) not in pairs


def half_closed(t):
    """TCP sockets in FIN_WAIT2, CLOSE_WAIT or LAST_ACK here and in the
    namespace t (but not lost_fin() ones): {state: count}, the states
    with any"""
    out = {}
    for run in (subprocess.run, t.run):
        r = run(["ss", "-Htano"], capture_output=True, text=True)
        socks = [line.split() for line in r.stdout.splitlines()]
        pairs = {(sock[3], sock[4]) for sock in socks if len(sock) > 4}
        for sock in socks:
            if len(sock) > 4 and sock[0] in HALF_CLOSED and \
                    not lost_fin(sock, pairs):
                out[sock[0]] = out.get(sock[0], 0) + 1
    return out


def resolv_conf(nameserver):
    """Bind a resolv.conf naming only nameserver over /etc/resolv.conf
    (the outer namespace has its own mounts): what libslirp reads."""
    import tempfile
    path = os.path.join(tempfile.mkdtemp(), "resolv.conf")
    with open(path, "w") as fh:
        fh.write(f"nameserver {nameserver}\n")
    subprocess.run(["mount", "--bind", path, "/etc/resolv.conf"], check=True)


def api_call(sock, req, timeout=5):
    """One JSON request to the API socket at sock; its parsed answer."""
    import json
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(sock)
    s.sendall(json.dumps(req).encode())
    out = json.loads(s.recv(65536))
    s.close()
    return out


def tap_stats(t, dev="tap0"):
    """The TAP's counters in namespace t: {"rx": {...}, "tx": {...}}."""
    import json
    return json.loads(t.sh(f"ip -j -s link show {dev}").stdout)[0]["stats64"]


def tap_bytes(t, dev="tap0"):
    """Bytes the TAP in namespace t has carried, both ways."""
    st = tap_stats(t, dev)
    return st["rx"]["bytes"] + st["tx"]["bytes"]


def tap_packets(t, dev="tap0"):
    """Frames the namespace has sent out through its TAP."""
    return tap_stats(t, dev)["tx"]["packets"]


def rss_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])


# ---------------------------------------------------------------- servers

class TcpEchoServer(threading.Thread):
    """Echoes every byte back on each connection; records peer addresses."""

    def __init__(self, addr="127.0.0.1", port=0, family=socket.AF_INET):
        super().__init__(daemon=True)
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((addr, port))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.peers = []
        self.start()

    def run(self):
        while True:
            try:
                c, a = self.sock.accept()
            except OSError:
                return
            self.peers.append(a[0])
            threading.Thread(target=echo_conn, args=(c,), daemon=True).start()


class UdpEchoServer(threading.Thread):
    def __init__(self, addr="127.0.0.1", port=0, family=socket.AF_INET):
        super().__init__(daemon=True)
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.bind((addr, port))
        self.port = self.sock.getsockname()[1]
        self.peers = []
        self.start()

    def run(self):
        while True:
            try:
                d, a = self.sock.recvfrom(65536)
            except OSError:
                return
            self.peers.append(a[0])
            self.sock.sendto(d, a)


def veth_remote(name="remote", host_ip="198.51.100.1", remote_ip="198.51.100.9",
                extra_host_ips=()):
    """A "remote" host: another namespace joined to ours by a veth pair."""
    ns = Netns(name)
    subprocess.run(["ip", "link", "add", "veth-h", "type", "veth", "peer",
                    "name", "veth-r"], check=True)
    subprocess.run(["ip", "link", "set", "veth-r", "netns", str(ns.pid)],
                   check=True)
    for ip in (host_ip, *extra_host_ips):
        subprocess.run(["ip", "addr", "add", ip + "/24", "dev", "veth-h"],
                       check=True)
    subprocess.run(["ip", "link", "set", "veth-h", "up"], check=True)
    ns.sh(f"ip addr add {remote_ip}/24 dev veth-r && ip link set veth-r up")
    return ns


def container_behind(t, masquerade=True, name="ctr", bridge=False):
    """A container behind a veth inside namespace @t, as rootless Docker,
    podman's bridge networks and usernetes pods sit: 10.88.0.2 in its own
    namespace, routed by @t (10.88.0.1), masqueraded on the way out (to the
    TAP, or whatever @t leaves by) if @masquerade. With @bridge, @t's end
    of the veth is a port of a bridge that holds 10.88.0.1, as docker0 and
    podman's cni-podman0 are, with br_netfilter's bridge-nf-call-iptables
    on where the kernel has it (Docker turns it on): the bridge then runs
    the IP prerouting hooks itself. The veth is made here, in the isolated
    outer namespace, and its ends moved: @t may own its user namespace.
    c.gw_if is @t's interface towards it."""
    outer, inner = "vb-" + name, "vc-" + name
    if "-U" in t.enter:  # a rootless target: made by its owner, in there
        c = Netns(name, within=t)
        t.sh(f"ip link add {outer} type veth peer name {inner} && "
             f"ip link set {inner} netns {c.pid}")
    else:
        c = Netns(name)
        subprocess.run(["ip", "link", "add", outer, "type", "veth", "peer",
                        "name", inner], check=True)
        subprocess.run(["ip", "link", "set", outer, "netns", str(t.pid)],
                       check=True)
        subprocess.run(["ip", "link", "set", inner, "netns", str(c.pid)],
                       check=True)
    c.gw_if = outer
    if bridge:
        c.gw_if = "br-" + name
        t.sh(f"ip link add {c.gw_if} type bridge && ip link set {outer} "
             f"master {c.gw_if} && ip link set {outer} up && "
             "for v in iptables ip6tables; do "
             "f=/proc/sys/net/bridge/bridge-nf-call-$v; "
             "[ ! -e $f ] || echo 1 > $f; done")
    t.sh(f"ip addr add 10.88.0.1/24 dev {c.gw_if} && ip link set {c.gw_if} "
         "up && sysctl -qw net.ipv4.ip_forward=1")
    c.sh(f"ip addr add 10.88.0.2/24 dev {inner} && ip link set {inner} up"
         " && ip route add default via 10.88.0.1")
    if masquerade:
        t.sh("nft add table ip ctrnat && nft add chain ip ctrnat post "
             "'{ type nat hook postrouting priority srcnat; }' && "
             f"nft add rule ip ctrnat post ip saddr 10.88.0.0/24 "
             f"oifname != {c.gw_if} masquerade")
    return c


# A program for a namespace (python3 -c HALF_CLOSER ROLE ADDR PORT NAME
# [MORE]): "connect" sends its NAME, "listen" accepts one connection;
# either half-closes and says "half", then NAME "live" waits for the far
# end's data and prints it, "many" leaves MORE connections more the same
# way and prints how many, anything else exits at once (test_reap.py,
# bench/reap.py)
HALF_CLOSER = r"""
import socket, sys
role, addr, port, name = sys.argv[1:5]
if role == "connect":
    s = socket.create_connection((addr, int(port)), timeout=60)
    s.sendall(name.encode())
else:
    l = socket.socket()
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind((addr, int(port)))
    l.listen(4)
    print("listening", flush=True)
    s, _ = l.accept()
    l.close()
s.shutdown(socket.SHUT_WR)
print("half", flush=True)
if name == "many":  # and as many more, all left the same way
    more = []
    for i in range(int(sys.argv[5])):
        c = socket.create_connection((addr, int(port)), timeout=60)
        c.sendall(b"many%d" % i)
        c.shutdown(socket.SHUT_WR)
        more.append(c)
    print(len(more) + 1, flush=True)
if name == "live":
    print(b"".join(iter(lambda: s.recv(4096), b"")).decode(), flush=True)
"""


def fin_wait2(port_filter):
    """TCP sockets here in FIN_WAIT2 (timewait ones in that state too) that
    match an ss filter such as "dport = :5000" """
    r = subprocess.run(["ss", "-Htan", "state", "fin-wait-2", port_filter],
                       capture_output=True, text=True)
    return [l for l in r.stdout.splitlines() if l.strip()]


def wait_for(cond, secs):
    end = time.time() + secs
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.2)
    return cond()


class SilentServer(threading.Thread):
    """Accepts, reads each connection to its end, answers nothing until
    told to (send())."""

    def __init__(self):
        super().__init__(daemon=True)
        self.l = socket.socket()
        self.l.bind(("127.0.0.1", 0))
        self.l.listen(16)
        self.port = self.l.getsockname()[1]
        self.conns = {}  # what the client sent -> its socket
        self.lock = threading.Condition()
        self.start()

    def run(self):
        while True:
            s, _ = self.l.accept()
            threading.Thread(target=self.read, args=(s,), daemon=True).start()

    def read(self, s):
        got = b"".join(iter(lambda: s.recv(4096), b""))
        with self.lock:
            self.conns[got.decode()] = s
            self.lock.notify_all()

    def wait_eof(self, names, secs=30):
        with self.lock:
            return self.lock.wait_for(
                lambda: all(n in self.conns for n in names), secs)

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A forwarder that dies outright leaves nothing that breaks the next one.
With --enable-tcp-bypass and a splice forward (so every rule of ours is in
the namespace), mid-transfer:
 - SIGKILL to the forwarder and its helper at once: the bypass's table goes
   with the helper's netlink socket; then slirp4netns 1.2.0, and after it
   ours, each carry outbound TCP at once, and ours gets its bypass and its
   client addresses back without a warning;
 - SIGKILL to the forwarder alone: the helper sees EOF and removes every
   rule, route and sysctl of ours;
 - SIGKILL to the helper alone: the forwarder goes on, its outbound TCP on
   libslirp."""
import tempfile
from nslib import *

isolate()
remote = veth_remote()
far = remote.popen([sys.executable, PEER, "serve-tcp-echo", "198.51.100.9",
                    "7000", "0"], stdout=subprocess.PIPE, text=True)
check(far.stdout.readline().strip() == "listening", "remote server up")
lo = TcpEchoServer("127.0.0.1")
OLD = "/usr/bin/slirp4netns"
if not os.path.exists(OLD):
    skip("Debian's slirp4netns is not installed")
MARK = "0x5334"


def ours(t):
    """What of ours is in namespace t: the table, rules, routes, sysctls."""
    return {
        "table": "slirp4netns" in t.sh("nft list tables").stdout,
        "rule": MARK in t.sh("ip rule; ip -6 rule").stdout,
        "route": "local default" in t.sh(
            "ip route show table 21300; ip -6 route show table 21300",
            check=False).stdout,
        "fwmark_accept": t.sh(
            "cat /proc/sys/net/ipv4/tcp_fwmark_accept").stdout.strip() == "1",
    }


def helper_of(f):
    return int(open(f"/proc/{f.proc.pid}/task/{f.proc.pid}/children")
               .read().split()[0])


def gone(pid, timeout=5):
    end = time.time() + timeout
    while time.time() < end:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().split(") ", 1)[1].startswith("Z"):
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.02)
    return False


def echo(t, host, port, size=1 << 20):
    r = t.run([sys.executable, PEER, "tcp-echo", host, str(port), str(size)],
              timeout=20)
    out = r.stdout.split()
    return r.returncode == 0 and len(out) >= 2 and out[0] == out[1]


def start_ours(t, sock):
    f = start(["-c", "--enable-tcp-bypass", "-a", sock], t)
    r = api_call(sock, {"execute": "add_hostfwd", "arguments": {
        "proto": "tcp", "host_addr": "127.0.0.1", "host_port": 18300,
        "guest_port": 7400}})
    check("return" in r, f"a splice forward ({r})")
    return f


def fully_working(t, f, sock, what):
    """Ours, on t: bypass and client addresses on, traffic both ways."""
    got = ours(t)
    check(got["table"] and got["rule"] and got["route"],
          f"{what}: its table, rule and route are installed ({got})")
    before = tap_bytes(t)
    check(echo(t, "198.51.100.9", 7000), f"{what}: outbound TCP works")
    check(tap_bytes(t) - before < (256 << 10),
          f"{what}: and takes the bypass ({tap_bytes(t) - before} B on the "
          "TAP)")
    srv = t.popen([sys.executable, PEER, "serve-tcp-echo", "0.0.0.0", "7400",
                   "1"], stdout=subprocess.PIPE, text=True)
    check(srv.stdout.readline().strip() == "listening", "service up")
    check(tcp_roundtrip("127.0.0.1", 18300, b"hello") == b"hello",
          f"{what}: the forward carries data")
    peer = srv.stdout.readline().strip()
    check(peer == "10.0.2.2",
          f"{what}: the service sees a loopback client as 10.0.2.2 ({peer})")
    srv.wait(5)


def mid_transfer(t):
    """A big echo to the remote host, running."""
    p = t.popen([sys.executable, PEER, "tcp-echo", "198.51.100.9", "7000",
                 str(1 << 30)], stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    return p


tmp = tempfile.mkdtemp()
sock = os.path.join(tmp, "api.sock")

# 1. both killed at once
t = Netns("target", userns=True)
f = start_ours(t, sock)
fully_working(t, f, sock, "first run")
p = mid_transfer(t)
fwd, helper = f.proc.pid, helper_of(f)
os.kill(helper, signal.SIGKILL)
os.kill(fwd, signal.SIGKILL)
f.proc.wait()
p.kill()
check(gone(helper), "the helper is gone")
left = ours(t)
check(not left["table"], f"no table left behind ({left})")
log(f"left behind, harmless without our sockets: {left}")

old = start(["-c"], t, binary=OLD)
check(echo(t, "198.51.100.9", 7000), "slirp4netns 1.2.0 next: outbound TCP")
check(echo(t, "10.0.2.2", lo.port), "slirp4netns 1.2.0: host loopback too")
old.finish()

f = start_ours(t, sock)
fully_working(t, f, sock, "ours after the kill")
status, out, err = f.finish()
check("WARNING" not in err.replace(
    "WARNING: 127.0.0.1:* on the host", ""),
    f"ours after the kill: no warning ({err.strip()[-300:]})")
left = ours(t)
check(not any(left.values()), f"a clean stop removes it all ({left})")
t.close()

# 2. the forwarder alone: the helper cleans up on EOF
t = Netns("target", userns=True)
f = start_ours(t, sock)
fully_working(t, f, sock, "second namespace")
p = mid_transfer(t)
helper = helper_of(f)
os.kill(f.proc.pid, signal.SIGKILL)
f.proc.wait()
check(gone(helper), "the helper ends when the forwarder is killed")
p.kill()
left = ours(t)
check(not any(left.values()),
      f"the helper removed every rule, route and sysctl ({left})")
t.close()

# 3. the helper alone: the forwarder goes on, outbound on libslirp
t = Netns("target", userns=True)
f = start_ours(t, sock)
fully_working(t, f, sock, "third namespace")
helper = helper_of(f)
os.kill(helper, signal.SIGKILL)
check(gone(helper), "the helper is gone")
check(not ours(t)["table"], "its table went with it")
check(f.proc.poll() is None, "the forwarder goes on")
before = tap_bytes(t)
check(echo(t, "198.51.100.9", 7000), "outbound TCP still works")
check(tap_bytes(t) - before > (1 << 20), "through libslirp now")
status, out, err = f.finish()
check(status == -signal.SIGTERM, "and stops cleanly")
t.close()

# 4. a table without an owner, as an older forwarder killed outright left
# it (its rules sent TCP to listeners that were gone): taken over
t = Netns("target", userns=True)
t.sh("nft add table inet slirp4netns && nft add chain inet slirp4netns "
     "output '{ type route hook output priority -150; }' && "
     "nft add rule inet slirp4netns output meta l4proto tcp meta mark set "
     f"{MARK}")
f = start_ours(t, sock)
fully_working(t, f, sock, "over an older forwarder's table")
check("owner" in t.sh("nft list table inet slirp4netns").stdout,
      "the table is ours now, owned by the helper's socket")
status, out, err = f.finish()
check("WARNING" not in err.replace("WARNING: 127.0.0.1:* on the host", ""),
      f"no warning ({err.strip()[-300:]})")
t.close()

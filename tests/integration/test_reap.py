#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""libslirp's connections whose guest side is gone are reaped (slirp/reap.c).

A guest half-closes a connection and vanishes while the far end keeps its
side open and silent: libslirp would hold its host socket in FIN_WAIT2
for good (slirp4netns 1.2.0 does). Both ways libslirp carries TCP: a
connection out of the namespace (--disable-tcp-bypass) and one into it
through a forward of mode slirp. The forwarder's socket must be gone within
seconds (sweeps every 500 ms here, SLIRP4NETNS_TEST_REAP_MS; both kernels'
tcp_fin_timeout 2 s), while a guest that half-closed and is still there
keeps its connection through every sweep and gets the far end's data
later. Without the reaper the first check fails: the socket stays. Then
300 at once, for a sweep that grows its probe array (ASan in CI)."""
import tempfile
from nslib import *

REAP_MS = "500"
MANY = 300
WAIT = 20  # seconds for a socket to go: orphans 2 s each side, sweeps

isolate()
with open("/proc/sys/net/ipv4/tcp_fin_timeout", "w") as fh:
    fh.write("2")
t = Netns("reap")
t.sh("echo 2 > /proc/sys/net/ipv4/tcp_fin_timeout")
os.environ["SLIRP4NETNS_TEST_REAP_MS"] = REAP_MS

def outbound():
    """Out of the namespace, on libslirp's path"""
    srv = SilentServer()
    f = start(["-c", "--disable-tcp-bypass"], t)
    live = t.popen([sys.executable, "-c", HALF_CLOSER, "connect",
                    "10.0.2.2", str(srv.port), "live"],
                   stdout=subprocess.PIPE, text=True)
    check(live.stdout.readline().strip() == "half", "outbound: live guest "
          "half-closed")
    r = t.run([sys.executable, "-c", HALF_CLOSER, "connect", "10.0.2.2",
               str(srv.port), "vanish"], timeout=30)
    check(r.returncode == 0 and r.stdout.strip() == "half",
          f"outbound: the other guest half-closed and exited {r.stderr}")
    check(srv.wait_eof(["live", "vanish"]), "outbound: the server read both "
          "to their ends, and keeps them open")
    ours = f"dport = :{srv.port}"
    check(wait_for(lambda: len(fin_wait2(ours)) == 2, 5),
          f"outbound: the forwarder's two sockets "
          f"in FIN_WAIT2: {fin_wait2(ours)}")
    gone = wait_for(lambda: len(fin_wait2(ours)) == 1, WAIT)
    check(gone, f"outbound: the vanished guest's socket is reaped within "
          f"{WAIT} s, the live one's kept: {fin_wait2(ours)}")
    time.sleep(2)  # four more sweeps: the live one is asked again
    check(len(fin_wait2(ours)) == 1, "outbound: the live one still there")
    s = srv.conns["live"]
    s.sendall(b"later")
    s.close()
    out, _ = live.communicate(timeout=30)
    check(out.strip() == "later", f"outbound: the live guest got the far "
          f"end's data after the sweeps: {out!r}")
    check(f.proc.poll() is None, "outbound: the forwarder runs on")
    f.stop()


def inbound():
    """Into the namespace, through a forward of libslirp's"""
    sock = os.path.join(tempfile.mkdtemp(), "api.sock")
    f = start(["-c", "-a", sock], t)
    services = {}
    for port, name in ((7001, "live"), (7002, "vanish")):
        services[name] = t.popen([sys.executable, "-c", HALF_CLOSER,
                                  "listen", "0.0.0.0", str(port), name],
                                 stdout=subprocess.PIPE, text=True)
        check(services[name].stdout.readline().strip() == "listening",
              f"inbound: {name} service listening")
        r = api_call(sock, {"execute": "add_hostfwd", "arguments": {
            "proto": "tcp", "host_addr": "127.0.0.1",
            "host_port": port + 10000, "guest_port": port,
            "mode": "slirp"}})
        check("return" in r, f"inbound: forward of mode slirp: {r}")
    clients = {}
    for port, name in ((7001, "live"), (7002, "vanish")):
        clients[name] = socket.create_connection(("127.0.0.1", port + 10000),
                                                 timeout=30)
        check(services[name].stdout.readline().strip() == "half",
              f"inbound: {name} service half-closed")
        check(clients[name].recv(1) == b"", f"inbound: {name}'s client "
              "read the end, and keeps its side open")
    check(services["vanish"].wait(30) == 0, "inbound: one service exited")
    ours = "sport = :17001 or sport = :17002"
    check(wait_for(lambda: len(fin_wait2(ours)) == 2, 5),
          f"inbound: the forwarder's two sockets in FIN_WAIT2: "
          f"{fin_wait2(ours)}")
    gone = wait_for(lambda: fin_wait2(ours) and
                    all(":17001" in l for l in fin_wait2(ours)), WAIT)
    check(gone, f"inbound: the vanished service's socket is reaped within "
          f"{WAIT} s, the live one's kept: {fin_wait2(ours)}")
    time.sleep(2)
    check(len(fin_wait2(ours)) == 1, "inbound: the live one still there")
    clients["live"].sendall(b"later")
    clients["live"].close()
    out, _ = services["live"].communicate(timeout=30)
    check(out.strip() == "later", f"inbound: the live service got the "
          f"client's data after the sweeps: {out!r}")
    check(f.proc.poll() is None, "inbound: the forwarder runs on")
    f.stop()


def many():
    """A sweep with more than one array's worth (16) of probes"""
    srv = SilentServer()
    f = start(["-c", "--disable-tcp-bypass"], t)
    r = t.run([sys.executable, "-c", HALF_CLOSER, "connect", "10.0.2.2",
               str(srv.port), "many", str(MANY - 1)], timeout=60)
    check(r.returncode == 0 and r.stdout.split() == ["half", str(MANY)],
          f"many: {MANY} guest connections half-closed, and the guest "
          f"exited {r.stdout} {r.stderr}")
    check(srv.wait_eof(["many"] + [f"many{i}" for i in range(MANY - 1)]),
          "many: the server read them all to their ends")
    ours = f"dport = :{srv.port}"
    t0 = time.time()
    gone = wait_for(lambda: not fin_wait2(ours), WAIT)
    check(gone, f"many: all {MANY} reaped within {WAIT} s "
          f"({len(fin_wait2(ours))} left; {time.time() - t0:.1f} s)")
    check(f.proc.poll() is None, "many: the forwarder runs on")
    f.stop()


outbound()
inbound()
many()

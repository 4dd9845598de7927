#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scale, bounded (bench/scale.py runs it at full size): 2,000 connections
held through a forward cost the forwarder two fds and under 1 KiB of RSS
each; 2,000 UDP clients at once through a UDP forward are all answered,
twice, at one fd each; connections churned through a forward and out of the namespace,
ended by close, by a reset, by a half-close, and by a client that
half-closes and vanishes (its echo meets a reset): none fails, the
forwarder's fds come back to where they were and its RSS stays put, and
no socket is left in FIN_WAIT2, CLOSE_WAIT or LAST_ACK on either side
(nslib.lost_fin() says which FIN_WAIT2 ones are the kernel's own race);
the same when the service resets each connection after its echo.
(At the fd limit itself: test_limits.)"""
import resource
import tempfile
from nslib import *

CONNS = os.environ["CONNS"]
FLOWS = os.environ["FLOWS"]
TCP_RR = os.environ["TCP_RR"]
HELD, CHURN, NFLOWS = 2000, 5000, 2000
POOL = 16  # splice.c's POOL_BATCH

isolate()
hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 2 * HELD + 1000), hard))
for port, extra in (("5202", []), ("5203", ["reset"])):
    srv = subprocess.Popen([TCP_RR, "server", port, *extra],
                           stdout=subprocess.PIPE, preexec_fn=die_with_parent)
    check(srv.stdout.readline().strip() == b"listening",
          f"host echo service {port} {extra}")
t = Netns("scale")
sock = os.path.join(tempfile.mkdtemp(), "api.sock")
f = start(["-c", "-a", sock], t)
pid = f.proc.pid
services = []
for port, extra in (("5202", []), ("5203", ["reset"])):
    services.append(t.popen([TCP_RR, "server", port, *extra],
                            stdout=subprocess.PIPE))
    check(services[-1].stdout.readline().strip() == b"listening",
          f"namespace echo service {port} {extra}")
    r = api_call(sock, {"execute": "add_hostfwd", "arguments": {
        "proto": "tcp", "host_addr": "127.0.0.1", "host_port": 10000 + int(port),
        "guest_port": int(port)}})
    check("return" in r, f"forward: {r}")


def fd_kinds():
    """What the forwarder's fds are, kind by kind (for a failure)"""
    kinds = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            k = os.readlink(f"/proc/{pid}/fd/{fd}").split(":")[0]
        except OSError:
            continue
        kinds[k] = kinds.get(k, 0) + 1
    return kinds


def half_closed_detail():
    """Which sockets are half-closed, here and in the namespace (for a
    failure)"""
    cmd = ["ss", "-Htanoi", "state", "fin-wait-2", "state", "close-wait",
           "state", "last-ack"]
    return {"here": subprocess.run(cmd, capture_output=True,
                                   text=True).stdout.strip(),
            "namespace": t.run(cmd).stdout.strip()}


def kv(line):
    return {k: float(v) for k, v in (w.split("=") for w in line.split())}


# ---- held
base, base_rss = settled_fd_count(pid), rss_kb(pid)
p = subprocess.Popen([CONNS, "hold", "127.0.0.1", "15202", str(HELD)],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
held = int(kv(p.stdout.readline())["held"])
grew, rss = fd_count(pid) - base, rss_kb(pid) - base_rss
check(held == HELD, f"{HELD} connections held through a forward ({held})")
check(grew <= 2 * HELD + 16, f"{grew / HELD:.2f} fds per held connection")
if "ASAN_OPTIONS" in os.environ:
    log(f"(sanitizer build: {rss * 1024 / HELD:.0f} B RSS each, not checked)")
else:
    check(rss * 1024 <= HELD * 1024, f"{rss * 1024 / HELD:.0f} B RSS per "
          "held connection (at most 1 KiB)")
check("entries" in api_call(sock, {"execute": "list_hostfwd"}),
      "the API answers meanwhile")
p.stdin.close()
p.wait(60)

# ---- UDP flows through a forward: one socket each, none evicted
r = api_call(sock, {"execute": "add_hostfwd", "arguments": {
    "proto": "udp", "host_addr": "127.0.0.1", "host_port": 15202,
    "guest_port": 5202}})
check("return" in r, f"a UDP forward: {r}")
base, base_rss = settled_fd_count(pid), rss_kb(pid)
p = subprocess.Popen([FLOWS, "127.0.0.1", "15202", str(NFLOWS), "2"],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
rounds = [kv(p.stdout.readline()) for _ in range(2)]
grew = fd_count(pid) - base
check(all(r["answered"] == NFLOWS for r in rounds),
      f"{NFLOWS} UDP flows at once through a forward, each answered twice "
      f"({rounds})")
check(grew <= NFLOWS + POOL, f"{grew / NFLOWS:.2f} fds per UDP flow")
check("entries" in api_call(sock, {"execute": "list_hostfwd"}),
      "the API answers meanwhile")
p.stdin.close()
p.wait(60)

# ---- churn, after a warm-up: the namespace socket pool (16 at a time)
# and the pipe pool take what they keep
subprocess.run([CONNS, "churn", "127.0.0.1", "15202", "1000", "64", "64"],
               capture_output=True, timeout=120)
t.run([CONNS, "churn", "10.0.2.2", "5202", "1000", "64", "64"], timeout=120)
warm, warm_rss = settled_fd_count(pid), rss_kb(pid)
for outbound in (False, True):
    where = "out of the namespace" if outbound else "through a forward"
    args = ["10.0.2.2", "5202"] if outbound else ["127.0.0.1", "15202"]
    for how in ("close", "reset", "half", "vanish", "service resets"):
        cmd = [CONNS, "churn", *args, str(CHURN), "64", "64", "120", how]
        if how == "service resets":  # on the port next to it
            cmd[3] = str(int(cmd[3]) + 1)
            cmd[-1] = "close"
        r = t.run(cmd, timeout=300) if outbound else \
            subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        res = kv(r.stdout) if r.returncode == 0 else {}
        # a reset may beat the echo to the client: those count as failed
        # (without us in between too: 2,975 of 5,000 on the host's lo)
        want = res.get("done", 0) > 0 if how == "service resets" else \
            res.get("done") == CHURN and res.get("failed") == 0
        check(want, f"{CHURN} connections {where}, ended by {how}: "
              f"{r.stdout!r} {r.stderr[-200:]!r}")
        after = settled_fd_count(pid)
        # the namespace sockets the helper makes 16 at a time come and go
        check(after <= warm + POOL, f"  fds flat ({warm} after the warm-up, "
              f"now {after}: {fd_kinds()})")
        left = {}
        for _ in range(20):  # FIN_WAIT2, LAST_ACK: a round trip or two
            left = half_closed(t)
            if not left:
                break
            time.sleep(0.25)
        check(not left, f"  no socket left half-closed ({left}; "
              f"{half_closed_detail()})")
        grown = rss_kb(pid) - warm_rss
        if "ASAN_OPTIONS" not in os.environ:
            check(grown < 1024, f"  RSS flat ({grown:+d} KiB)")
check("entries" in api_call(sock, {"execute": "list_hostfwd"}),
      "the API answers after it all")
status, _, err = f.finish()
check(status == -signal.SIGTERM, f"stopped cleanly ({err[-300:]!r})")

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scale: what connections cost and what many of them do to the forwarder,
side by side with slirp4netns 1.2.0. Everything runs inside a namespace
made for it; clients and servers are bench/conns and bench/tcp_rr.

Usage: scale.py [--held N] [--churn N] [--outbound N] [--flows N]
                [--forwards N] [--limit FDS] [--secs S] [--out DIR]
                [BINARY]...

For each binary, one forwarder with RLIMIT_NOFILE at --limit (20,000:
this machine's hard limit) and a TCP forward 127.0.0.1:15202 -> tcp_rr's
echo in the namespace:
  held      --held connections opened through the forward (64 at a time,
            16 bytes echoed each), then held: how many, the forwarder's
            fds and RSS per connection, an API call's time meanwhile
  churn     --churn connections in a row through the forward, 64 at a
            time, 64 bytes each way, then out of the namespace to the
            host the same way: failures, rate, p99, fds and RSS before
            and after, sockets left in FIN_WAIT2/CLOSE_WAIT/LAST_ACK
  outbound  --outbound connections from the namespace held at once
  flows     --flows UDP clients (bench/flows) through a UDP forward
            127.0.0.1:15202 -> the same echo, all at once, each asked
            twice: how many answered each round, lost, p99, the
            forwarder's fds and RSS per flow, an API call meanwhile
  forwards  --forwards TCP forwards added one by one (127.0.0.1:20000
            and up -> the echo), each then carrying a connection (16
            bytes echoed): add_hostfwd p50/p99, list_hostfwd of them all,
            how many carried their connection, remove_hostfwd p50
A slower binary stops opening after --secs per step; its counts say so.
A count of 0 skips its step.
Default binaries: this build and /usr/bin/slirp4netns.
"""
import argparse
import os
import resource
import tempfile

from bench import S4, TCP_RR, Slirp, api, host_side, label, mem_kib
from nslib import *  # noqa: E402,F401

CONNS = os.environ.get("CONNS") or os.path.join(
    os.path.dirname(S4), "bench", "conns")
FLOWS = os.environ.get("FLOWS") or os.path.join(
    os.path.dirname(S4), "bench", "flows")


def rss(pid):
    return mem_kib(pid, "status", "VmRSS")


def kv(line):
    return {k: float(v) for k, v in (w.split("=") for w in line.split())}


def held(d, t, n, secs):
    pid = d.pid
    base_fds, base_rss = settled_fd_count(pid), rss(pid)
    p = subprocess.Popen([CONNS, "hold", "127.0.0.1", "15202", str(n),
                          str(secs)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    t0 = time.time()
    got = int(kv(p.stdout.readline()).get("held", 0))
    took = time.time() - t0
    f, r = fd_count(pid), rss(pid)
    t1 = time.time()
    ok = "entries" in api(d.sock, {"execute": "list_hostfwd"})
    api_ms = (time.time() - t1) * 1e3
    p.stdin.close()
    p.wait(60)
    return {"held": got, "secs to open": round(took, 1),
            "fds per conn": round((f - base_fds) / max(got, 1), 2),
            "RSS KiB per conn": round((r - base_rss) / max(got, 1), 2),
            "API ms while held": round(api_ms, 2) if ok else "no answer"}


def churn(d, t, n, secs, outbound):
    pid = d.pid
    warm = [CONNS, "churn", d.host if outbound else "127.0.0.1",
            "5202" if outbound else "15202"]
    cmd = (lambda a: t.run(a, timeout=secs + 120)) if outbound else \
        (lambda a: subprocess.run(a, capture_output=True, text=True,
                                  timeout=secs + 120))
    cmd(warm + ["2000", "64", "64", str(secs)])  # pools, tables: warm
    f0, r0 = settled_fd_count(pid), rss(pid)
    res = kv(cmd(warm + [str(n), "64", "64", str(secs)]).stdout)
    f1 = settled_fd_count(pid)
    time.sleep(2)  # FIN_WAIT2 and LAST_ACK need a round trip or two
    left = half_closed(t)
    return {"done": int(res.get("done", 0)),
            "failed": int(res.get("failed", 0)),
            "conn/s": res.get("rate"), "p99 ms": res.get("p99_ms"),
            "fds before/after": f"{f0}/{f1}",
            "RSS KiB before/after": f"{r0}/{rss(pid)}",
            "lingering": sum(left.values()), **{st: c for st, c in
                                                  left.items() if c}}


def outbound_held(d, t, n, secs):
    pid = d.pid
    base = settled_fd_count(pid)
    p = t.popen([CONNS, "hold", d.host, "5202", str(n), str(secs)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    got = int(kv(p.stdout.readline()).get("held", 0))
    f = fd_count(pid)
    p.stdin.close()
    p.wait(60)
    return {"held": got, "fds per conn": round((f - base) / max(got, 1), 2)}


def udp_flows(d, n, secs):
    pid = d.pid  # the UDP forward 15202 is bench.py's (UDP_FWDS)
    base_fds, base_rss = settled_fd_count(pid), rss(pid)
    p = subprocess.Popen([FLOWS, "127.0.0.1", "15202", str(n), "2"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True)
    out = {"flows": n}
    for rnd in (1, 2):
        line = p.stdout.readline()
        v = kv(line) if line else {}
        out[f"round {rnd} answered"] = int(v.get("answered", 0))
        out[f"round {rnd} lost"] = int(v.get("lost", n))
        out[f"round {rnd} secs"] = v.get("secs")
        out[f"round {rnd} p99 ms"] = v.get("p99_ms")
        if rnd == 1:
            f, rs = fd_count(pid), rss(pid)
    t1 = time.time()
    ok = "entries" in api(d.sock, {"execute": "list_hostfwd"})
    out["API ms while held"] = round((time.time() - t1) * 1e3, 2) \
        if ok else "no answer"
    out["fds per flow"] = round((f - base_fds) / n, 2)
    out["RSS KiB per flow"] = round((rs - base_rss) / n, 2)
    p.stdin.close()
    p.wait(secs + 60)
    return out


def forwards(d, n):
    def timed(req):
        t0 = time.monotonic()
        try:
            r = api(d.sock, req)
        except OSError as e:  # a full backlog: it stopped accepting
            r = {"error": str(e)}
        return (time.monotonic() - t0) * 1e3, r

    adds, ids = [], []
    for i in range(n):
        ms, r = timed({"execute": "add_hostfwd", "arguments": {
            "proto": "tcp", "host_addr": "127.0.0.1", "host_port": 20000 + i,
            "guest_port": 5202}})
        if "return" not in r:
            break
        adds.append(ms)
        ids.append(r["return"]["id"])
    carried = missed = 0
    for i in range(len(ids)):
        try:
            ok = tcp_roundtrip("127.0.0.1", 20000 + i, b"x" * 16,
                               timeout=5) == b"x" * 16
        except OSError:
            ok = False
        carried += ok
        missed = 0 if ok else missed + 1
        if missed == 5:
            break  # the forwarder has stopped answering
    list_ms, r = timed({"execute": "list_hostfwd"})
    listed = len(r.get("entries", []))
    removes = []
    for i in ids:
        ms, r = timed({"execute": "remove_hostfwd", "arguments": {"id": i}})
        if "return" not in r:
            break
        removes.append(ms)
    q = lambda v, p: round(sorted(v)[min(len(v) - 1, len(v) * p // 100)], 2) \
        if v else None  # noqa: E731
    return {"asked": n, "added": len(ids), "add p50 ms": q(adds, 50),
            "add p99 ms": q(adds, 99), "carried a connection": carried,
            "list ms": round(list_ms, 2), "listed": listed,
            "removed": len(removes), "remove p50 ms": q(removes, 50)}


def one(b, a):
    d = Slirp(b)
    t = d.up(1500)
    srv = t.popen([TCP_RR, "server", "5202"], stdout=subprocess.DEVNULL)
    time.sleep(0.3)
    steps = (("held", a.held, lambda: held(d, t, a.held, a.secs)),
             ("churn fwd", a.churn,
              lambda: churn(d, t, a.churn, a.secs, False)),
             ("churn outbound", a.churn,
              lambda: churn(d, t, a.churn, a.secs, True)),
             ("outbound held", a.outbound,
              lambda: outbound_held(d, t, a.outbound, a.secs)),
             ("UDP flows fwd", a.flows,
              lambda: udp_flows(d, a.flows, a.secs)),
             ("forwards", a.forwards, lambda: forwards(d, a.forwards)))
    out = {name: step() for name, n, step in steps if n}  # 0: skipped
    srv.kill()
    srv.wait()
    d.down()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--held", type=int, default=10000)
    ap.add_argument("--churn", type=int, default=1000000)
    ap.add_argument("--outbound", type=int, default=2000)
    ap.add_argument("--flows", type=int, default=10000)
    ap.add_argument("--forwards", type=int, default=1000)
    ap.add_argument("--limit", type=int, default=20000)
    ap.add_argument("--secs", type=float, default=300)
    ap.add_argument("--out", default="")
    ap.add_argument("binaries", nargs="*")
    a = ap.parse_args()
    bins = a.binaries or [S4, "/usr/bin/slirp4netns"]
    isolate()
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    limit = min(a.limit, hard)
    # the forwarders (and the clients, which raise theirs) inherit it
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
    srvs = host_side()
    res = {}
    for b in bins:
        log(f"{label(b)}: fd limit {limit}")
        res[b] = one(b, a)
        for step, v in res[b].items():
            log(f"  {step}: {v}")
    for p in srvs:
        p.kill()
    rows = []  # in the order measured
    for r in res.values():
        rows += [(s, k) for s, v in r.items() for k in v
                 if (s, k) not in rows]
    text = [f"fd limit {limit}; held {a.held}, churn {a.churn}, outbound "
            f"{a.outbound}, UDP flows {a.flows}, forwards {a.forwards}, at "
            f"most {a.secs:g} s per step", "",
            "| step | figure | " + " | ".join(label(b) for b in bins) + " |",
            "|---" * (len(bins) + 2) + "|"]
    for s, k in rows:
        text.append(f"| {s} | {k} | " + " | ".join(
            str(res[b].get(s, {}).get(k, "-")) for b in bins) + " |")
    text = "\n".join(text)
    log("\n" + text)
    out = a.out or tempfile.mkdtemp(prefix="s4-scale-", dir="/tmp")
    os.makedirs(out, exist_ok=True)
    open(os.path.join(out, "scale.md"), "w").write(text + "\n")
    log(f"\nresults: {out}/scale.md")


if __name__ == "__main__":
    main()

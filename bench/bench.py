#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Side-by-side iperf3 benchmark: this slirp4netns and others, interleaved,
repeated, medians. Everything runs inside a namespace made for it.

Usage: bench.py [--rounds N] [--time S] [--quick] [--cases TEXT] [BINARY]...
Default binaries: this build and /usr/bin/slirp4netns. BINARY:MODE makes
the forward cases send that "mode" (splice, slirp); the word rootlesskit
stands for rootlesskit's builtin port driver in the forward cases (run
first, as a real user: it needs subuids).
"""
import argparse
import json
import os
import shutil
import statistics
import tempfile
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests",
                                "integration"))
from nslib import *  # noqa: E402

CASES = [
    # name, mtu, kind, iperf3 extra args
    ("ns->host 65520", 65520, "iperf", []),
    ("ns->host 65520 -P4", 65520, "iperf", ["-P", "4"]),
    ("host->ns 65520 (-R)", 65520, "iperf", ["-R"]),
    ("ns->host 1500", 1500, "iperf", []),
    ("ns->host 1500 -P4", 1500, "iperf", ["-P", "4"]),
    ("host->ns 1500 (-R)", 1500, "iperf", ["-R"]),
    # through a port forward (add_hostfwd): host client, server in the ns
    ("fwd host->ns 65520", 65520, "fwd", []),
    ("fwd host->ns 1500", 1500, "fwd", []),
    ("fwd conn/s", 1500, "connrate", []),
    ("rr latency ns->host", 1500, "latency", []),
]
UNITS = {"iperf": ("Gbit/s", "CPU s/GB"), "fwd": ("Gbit/s", "CPU s/GB"),
         "connrate": ("conn/s", "CPU ms/1k conn"),
         "latency": ("p50 us", "p99 us")}
TCP_RR = os.environ.get("TCP_RR") or os.path.join(
    os.path.dirname(S4), "bench", "tcp_rr")
RK = "rootlesskit"  # pseudo-binary: rootlesskit's builtin port driver


def cpu_s(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def api(sock, req):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    s.sendall(json.dumps(req).encode())
    out = json.loads(s.recv(4096))
    s.close()
    return out


def iperf_result(r, cpu):
    """(Gbit/s, CPU s per GB) from iperf3 -J output, or None."""
    if r.returncode != 0:
        return None
    s = json.loads(r.stdout)["end"]["sum_received"]
    return s["bits_per_second"] / 1e9, cpu / (s["bytes"] / 1e9)


def host_client(kind, port, secs, cpu_of):
    """Run the host-side client of a forward case; cpu_of() is the
    forwarder's CPU seconds so far. Returns the case's result pair."""
    c0 = cpu_of()
    if kind == "fwd":
        r = subprocess.run(["iperf3", "-c", "127.0.0.1", "-p", str(port),
                            "-t", str(secs), "-J"], capture_output=True,
                           text=True, timeout=secs + 60)
        return iperf_result(r, cpu_of() - c0)
    r = subprocess.run([TCP_RR, "connrate", "127.0.0.1", str(port + 1),
                        str(secs)], capture_output=True, text=True,
                       timeout=secs + 60)
    if r.returncode != 0:
        return None
    rate = float(r.stdout.split("=")[1])
    return rate, (cpu_of() - c0) * 1e3 / (rate * secs / 1e3)


def one_fwd(binary, mtu, kind, secs):
    """A client on the host, a server in the namespace, through a forward
    (iperf3 on 5201, tcp_rr on 5202); BINARY:MODE sends that "mode"."""
    binary, _, mode = binary.partition(":")
    t = Netns("bench")
    sock = os.path.join(tempfile.mkdtemp(), "api.sock")
    f = start(["-c", f"--mtu={mtu}", "-a", sock], t, binary=binary)
    srvs = [t.popen(["iperf3", "-s", "-p", "5201"],
                    stdout=subprocess.DEVNULL),
            t.popen([TCP_RR, "server", "5202"], stdout=subprocess.DEVNULL)]
    time.sleep(0.3)
    for port in (15201, 15202):
        args = {"proto": "tcp", "host_addr": "127.0.0.1", "host_port": port,
                "guest_port": port - 10000}
        if mode:
            args["mode"] = mode
        api(sock, {"execute": "add_hostfwd", "arguments": args})
    res = host_client(kind, 15201, secs, lambda: cpu_s(f.proc.pid))
    for p in srvs:
        p.kill()
        p.wait()
    f.finish()
    t.close()
    return res


def one(binary, mtu, kind, extra, secs, rk_results):
    """One run through a fresh forwarder: the case's result pair."""
    if binary == RK:
        v = rk_results.get(f"{kind} {mtu}")
        return tuple(v.pop(0)) if v else None
    if kind in ("fwd", "connrate"):
        return one_fwd(binary, mtu, kind, secs)
    binary = binary.partition(":")[0]
    t = Netns("bench")
    f = start(["-c", f"--mtu={mtu}"], t, binary=binary)
    c0 = cpu_s(f.proc.pid)
    if kind == "latency":
        r = t.run([TCP_RR, "latency", "10.0.2.2", "5202",
                   str(2000 * secs)], timeout=secs * 10 + 60)
        res = None
        if r.returncode == 0:
            v = dict(kv.split("=") for kv in r.stdout.split())
            res = float(v["p50_us"]), float(v["p99_us"])
    else:
        r = t.run(["iperf3", "-c", "10.0.2.2", "-p", "5201", "-t", str(secs),
                   "-J", *extra], timeout=secs + 60)
        res = iperf_result(r, cpu_s(f.proc.pid) - c0)
    f.finish()
    t.close()
    return res


def rootlesskit_prepass(cases, rounds, secs):
    """rootlesskit needs a real user with subuids: run its rounds first,
    as the test user, each in a namespace of its own. Returns
    {"kind mtu": [result, ...]}."""
    want = [(k, m) for _, m, k, _ in cases if k in ("fwd", "connrate")]
    if not want or not shutil.which("rootlesskit"):
        return {}
    out = tempfile.mkdtemp(prefix="s4-rk-")
    os.chmod(out, 0o1777)
    os.environ.update(RK_WANT=json.dumps(want), RK_ROUNDS=str(rounds),
                      RK_SECS=str(secs), RK_OUT=os.path.join(out, "r.json"))
    shutil.copy(TCP_RR, os.path.join(out, "tcp_rr"))
    os.chmod(os.path.join(out, "tcp_rr"), 0o755)
    os.environ["TCP_RR_USER"] = os.path.join(out, "tcp_rr")
    as_test_user(os.path.join(os.path.dirname(__file__),
                              "rootlesskit_fwd.py"), "user")
    try:
        return json.load(open(os.environ["RK_OUT"]))
    except (OSError, ValueError):
        log("rootlesskit: no results")
        return {}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--time", type=int, default=5)
    ap.add_argument("--quick", action="store_true",
                    help="one round, 1 s, two cases: a smoke run")
    ap.add_argument("--cases", default="",
                    help="only the cases whose name contains this")
    ap.add_argument("binaries", nargs="*")
    a = ap.parse_args()
    bins = a.binaries or [S4, "/usr/bin/slirp4netns"]
    cases = CASES
    if a.quick:
        a.rounds, a.time, cases = 1, 1, CASES[:1] + CASES[3:4]
    cases = [c for c in cases if a.cases in c[0]]
    rk = {}
    if RK in bins and os.environ.get("S4_ISOLATED") != "1":
        rk = rootlesskit_prepass(cases, a.rounds, a.time)
        os.environ["RK_RESULTS"] = json.dumps(rk)
    rk = json.loads(os.environ.get("RK_RESULTS", "{}"))
    isolate()
    iperf = subprocess.Popen(["iperf3", "-s", "-B", "127.0.0.1", "-p",
                              "5201"], stdout=subprocess.DEVNULL,
                             preexec_fn=die_with_parent)
    rr = subprocess.Popen([TCP_RR, "server", "5202"],
                          stdout=subprocess.DEVNULL, preexec_fn=die_with_parent)
    time.sleep(0.5)
    res = {(c[0], b): [] for c in cases for b in bins}
    for rnd in range(a.rounds):
        for name, mtu, kind, extra in cases:
            # rotate the order each round, so neither always goes first
            order = bins[rnd % len(bins):] + bins[:rnd % len(bins)]
            unit, unit2 = UNITS[kind]
            for b in order:
                if b == RK and kind not in ("fwd", "connrate"):
                    continue
                r = one(b, mtu, kind, extra, a.time, rk)
                if r:
                    res[(name, b)].append(r)
                log(f"round {rnd + 1} {name:22} {b}: " +
                    (f"{r[0]:.2f} {unit} {r[1]:.2f} {unit2}" if r
                     else "FAILED"))
    iperf.kill()
    rr.kill()
    ours, ref = bins[0], bins[-1]
    log(f"\nmedian of {a.rounds}, {a.time} s each; each cell: value "
        "(second figure), units per row; ratios are first column / last\n")
    log("| test | units | " + " | ".join(label(b) for b in bins) +
        " | ratio | 2nd ratio |")
    log("|---" * (len(bins) + 4) + "|")
    for name, _, kind, _ in cases:
        cells, meds = [], {}
        for b in bins:
            v = res[(name, b)]
            if not v:
                cells.append("-" if b == RK else "failed")
                continue
            g = statistics.median(x[0] for x in v)
            c = statistics.median(x[1] for x in v)
            meds[b] = (g, c)
            cells.append(f"{g:.2f} ({c:.2f})")
        ratio = cratio = "-"
        if ours in meds and ref in meds and ours != ref:
            ratio = f"{meds[ours][0] / meds[ref][0]:.2f}x"
            cratio = f"{meds[ours][1] / meds[ref][1]:.2f}x"
        unit = "%s (%s)" % UNITS[kind]
        log(f"| {name} | {unit} | " + " | ".join(cells) +
            f" | {ratio} | {cratio} |")


def label(b):
    if b == RK:
        return "rootlesskit builtin"
    path, _, mode = b.partition(":")
    name = os.path.basename(os.path.dirname(path)) + "/" + \
        os.path.basename(path)
    return name + (f" ({mode})" if mode else "")


if __name__ == "__main__":
    main()

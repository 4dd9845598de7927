#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Side-by-side iperf3 benchmark: this slirp4netns and others, interleaved,
repeated, medians. Everything runs inside a namespace made for it.

Usage: bench.py [--rounds N] [--time S] [--quick] [--cases TEXT] [BINARY]...
Default binaries: this build and /usr/bin/slirp4netns. BINARY:splice
makes the "fwd" cases ask for the fast path ("mode": "splice").
"""
import argparse
import json
import os
import statistics
import tempfile
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests",
                                "integration"))
from nslib import *  # noqa: E402

CASES = [
    # name, mtu, iperf3 extra args
    ("ns->host 65520", 65520, []),
    ("ns->host 65520 -P4", 65520, ["-P", "4"]),
    ("host->ns 65520 (-R)", 65520, ["-R"]),
    ("ns->host 1500", 1500, []),
    ("ns->host 1500 -P4", 1500, ["-P", "4"]),
    ("host->ns 1500 (-R)", 1500, ["-R"]),
    # through a port forward (add_hostfwd): host client, server in the ns
    ("fwd host->ns 65520", 65520, ["fwd"]),
    ("fwd host->ns 1500", 1500, ["fwd"]),
]


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


def one_fwd(binary, mtu, secs):
    """iperf3 from the host to a server in the namespace, through a
    forward; BINARY:splice asks for the fast path."""
    binary, _, mode = binary.partition(":")
    t = Netns("bench")
    sock = os.path.join(tempfile.mkdtemp(), "api.sock")
    f = start(["-c", f"--mtu={mtu}", "-a", sock], t, binary=binary)
    srv = t.popen(["iperf3", "-s", "-p", "5201"], stdout=subprocess.DEVNULL)
    time.sleep(0.3)
    args = {"proto": "tcp", "host_addr": "127.0.0.1", "host_port": 15201,
            "guest_port": 5201}
    if mode:
        args["mode"] = mode
    api(sock, {"execute": "add_hostfwd", "arguments": args})
    c0 = cpu_s(f.proc.pid)
    r = subprocess.run(["iperf3", "-c", "127.0.0.1", "-p", "15201", "-t",
                        str(secs), "-J"], capture_output=True, text=True,
                       timeout=secs + 60)
    c1 = cpu_s(f.proc.pid)
    srv.kill()
    srv.wait()
    f.finish()
    t.close()
    if r.returncode != 0:
        return None
    s = json.loads(r.stdout)["end"]["sum_received"]
    return s["bits_per_second"] / 1e9, (c1 - c0) / (s["bytes"] / 1e9)


def one(binary, mtu, extra, secs):
    """One iperf3 run through a fresh forwarder: (Gbit/s, CPU s per GB)."""
    if extra == ["fwd"]:
        return one_fwd(binary, mtu, secs)
    binary = binary.partition(":")[0]
    t = Netns("bench")
    f = start(["-c", f"--mtu={mtu}"], t, binary=binary)
    c0 = cpu_s(f.proc.pid)
    r = t.run(["iperf3", "-c", "10.0.2.2", "-p", "5201", "-t", str(secs),
               "-J", *extra], timeout=secs + 60)
    c1 = cpu_s(f.proc.pid)
    f.finish()
    t.close()
    if r.returncode != 0:
        return None
    end = json.loads(r.stdout)["end"]
    s = end["sum_received"]
    return s["bits_per_second"] / 1e9, (c1 - c0) / (s["bytes"] / 1e9)


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
    isolate()
    iperf = subprocess.Popen(["iperf3", "-s", "-B", "127.0.0.1", "-p",
                              "5201"], stdout=subprocess.DEVNULL,
                             preexec_fn=die_with_parent)
    time.sleep(0.5)
    res = {(c[0], b): [] for c in cases for b in bins}
    for rnd in range(a.rounds):
        for name, mtu, extra in cases:
            # rotate the order each round, so neither always goes first
            order = bins[rnd % len(bins):] + bins[:rnd % len(bins)]
            for b in order:
                r = one(b, mtu, extra, a.time)
                if r:
                    res[(name, b)].append(r)
                log(f"round {rnd + 1} {name:22} {b}: " +
                    (f"{r[0]:.2f} Gbit/s {r[1]:.2f} CPU s/GB" if r
                     else "FAILED"))
    iperf.kill()
    ours, ref = bins[0], bins[-1]
    log(f"\nmedian of {a.rounds}, {a.time} s each; Gbit/s (forwarder CPU "
        "seconds per GB)\n")
    log("| test | " + " | ".join(os.path.basename(os.path.dirname(b)) + "/" +
                                 os.path.basename(b) for b in bins) +
        " | ratio | CPU ratio |")
    log("|---" * (len(bins) + 3) + "|")
    for name, _, _ in cases:
        cells, meds = [], {}
        for b in bins:
            v = res[(name, b)]
            if not v:
                cells.append("failed")
                continue
            g = statistics.median(x[0] for x in v)
            c = statistics.median(x[1] for x in v)
            meds[b] = (g, c)
            cells.append(f"{g:.2f} ({c:.2f})")
        ratio = cratio = "-"
        if ours in meds and ref in meds and ours != ref:
            ratio = f"{meds[ours][0] / meds[ref][0]:.2f}x"
            cratio = f"{meds[ours][1] / meds[ref][1]:.2f}x"
        log(f"| {name} | " + " | ".join(cells) + f" | {ratio} | {cratio} |")


if __name__ == "__main__":
    main()

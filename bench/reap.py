#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""What a forwarder keeps of connections whose guest side is gone, side by
side, at default settings (both kernels' tcp_fin_timeout, our reaper's
own timing). Everything runs inside a namespace made for it.

Usage: reap.py [--conns N] [--secs S] [--every S] [BINARY]...

For each binary, in a namespace of its own, at once: N guest connections
to a silent server on the host's loopback (10.0.2.2), each half-closed,
and then the guest exits. The server reads each to its end and keeps its
side open, saying nothing. Every --every seconds, for --secs at most, the
forwarder's sockets still in FIN_WAIT2 are counted. Our libslirp path is
the one that can leak; BINARY+nobypass runs ours with
--disable-tcp-bypass (our default path does not use libslirp for this).
Default binaries: this build +nobypass, and /usr/bin/slirp4netns.
"""
import argparse
import os
import sys

from bench import label  # noqa: E402  (it puts nslib on the path)
from nslib import *  # noqa: E402


def leave(b, n):
    """n half-closed connections left by a guest through binary b: the
    forwarder, its namespace, and the ss filter for its sockets"""
    path, _, plus = b.partition("+")
    t = Netns("reap")
    srv = SilentServer()
    f = start(["-c"] + (["--disable-tcp-bypass"] if plus == "nobypass"
                        else []), t, binary=path)
    r = t.run([sys.executable, "-c", HALF_CLOSER, "connect", "10.0.2.2",
               str(srv.port), "many", str(n - 1)], timeout=300)
    if r.returncode != 0:
        fail(f"{b}: the guest's connections: {r.stdout} {r.stderr}")
    names = ["many"] + [f"many{i}" for i in range(n - 1)]
    if not srv.wait_eof(names, 120):
        fail(f"{b}: the server did not read all {n} to their ends")
    flt = f"dport = :{srv.port}"
    # the last FINs' ACKs may still be on their way
    wait_for(lambda: len(fin_wait2(flt)) >= n, 10)
    return f, t, flt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--conns", type=int, default=1000)
    ap.add_argument("--secs", type=float, default=300)
    ap.add_argument("--every", type=float, default=10)
    ap.add_argument("binaries", nargs="*")
    a = ap.parse_args()
    bins = a.binaries or [S4 + "+nobypass", "/usr/bin/slirp4netns"]
    isolate()
    runs = [(b, *leave(b, a.conns)) for b in bins]
    t0, gone = time.time(), {}
    counts = {}
    while True:
        now = time.time() - t0
        for b, f, t, flt in runs:
            counts[b] = len(fin_wait2(flt))
            if not counts[b] and b not in gone:
                gone[b] = now
        log(f"{now:6.1f} s  " + "  ".join(f"{label(b)}: {counts[b]}"
                                           for b in bins))
        if len(gone) == len(runs) or now + a.every > a.secs:
            break
        time.sleep(a.every)
    log(f"\n{a.conns} connections half-closed and left by the guest; "
        f"the forwarder's sockets in FIN_WAIT2, counted every {a.every:g} "
        f"s for {a.secs:g} s at most\n")
    log("| binary | all gone after | left at the end |")
    log("|---|---|---|")
    for b, f, t, flt in runs:
        when = f"{gone[b]:.0f} s" if b in gone else "not within the run"
        log(f"| {label(b)} | {when} | {counts[b]} |")
        f.stop()
        t.close()


if __name__ == "__main__":
    main()

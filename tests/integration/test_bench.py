#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The benchmark's smoke run (bench/bench.py --quick): this binary, the
original, pasta, rootlesskit (forwards only) and the veth ceiling each get
a figure in every case they run, and the
table, the JSON and the chart are written. Then bench/reap.py for 3 s: a
count per binary. Figures are not judged here: speed lives in the
benchmark, not in tests."""
import json
import tempfile
from nslib import *

if not shutil.which("iperf3"):
    skip("iperf3 not installed")
bench = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                     "bench", "bench.py")
out = tempfile.mkdtemp(prefix="s4-bench-smoke-")
# every column the full benchmark has, so that each program it runs runs
# here too (scripts/check_deps.py checks deps.sh installs them)
bins = [S4, "/usr/bin/slirp4netns", "pasta", "rootlesskit", "veth"]
for b in ("/usr/bin/slirp4netns", "pasta", "rootlesskit"):
    if not shutil.which(b):
        if CI:
            fail(f"{b} is not installed under CI")
        bins.remove(b)
r = subprocess.run([sys.executable, bench, "--quick", "--out", out, *bins],
                   capture_output=True, text=True, timeout=240)
check(r.returncode == 0, f"bench.py --quick exits 0 ({r.returncode}: "
      f"{r.stderr[-2000:]})")
table = open(os.path.join(out, "results.md")).read()
rows = [l for l in table.splitlines() if l.startswith("| ") and
        "|---" not in l][1:]
check(len(rows) == 3 + 2, f"three cases and two memory rows ({len(rows)})")
check("failed" not in table, f"a figure in every cell:\n{table}")
res = json.load(open(os.path.join(out, "results.json")))
# rootlesskit's builtin driver is a column of the forward cases only
res = {k: v for k, v in res.items()
       if not k.endswith("| rootlesskit builtin") or k.startswith("fwd")}
check(all(v for k, v in res.items()), f"every run measured: {res}")
check(all(isinstance(v[0][0], float) and v[0][0] > 0 for v in res.values()),
      "every figure is a positive number")
png = open(os.path.join(out, "chart.png"), "rb").read(8)
check(png == b"\x89PNG\r\n\x1a\n", "the chart is a PNG")
shutil.rmtree(out, ignore_errors=True)

# bench/reap.py, briefly: at default settings nothing is reaped in 3 s, so
# both forwarders must still be counted holding every connection
reap = os.path.join(os.path.dirname(bench), "reap.py")
bins = [S4 + "+nobypass"] + (["/usr/bin/slirp4netns"]
                             if shutil.which("/usr/bin/slirp4netns") else [])
r = subprocess.run([sys.executable, reap, "--conns", "20", "--secs", "3",
                    "--every", "1", *bins], capture_output=True, text=True,
                   timeout=240)
check(r.returncode == 0, "reap.py exits 0" + (
    f" ({r.returncode}: {r.stderr[-2000:]})" if r.returncode else ""))
rows = [l for l in r.stdout.splitlines() if l.startswith("| ") and
        "|---" not in l][1:]
check(len(rows) == len(bins) and
      all(l.endswith("| not within the run | 20 |") for l in rows),
      f"reap.py counts every connection held, per binary:\n{r.stdout}")

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The guard on scripts/deps.sh: tests/helpers/execlog writes down what a
command and everything it starts executes (a double-forked daemon too),
and scripts/check_deps.py fails on a program from a package deps.sh does
not install (nftables taken out of a copy of deps.sh: nft is flagged),
and passes with the real list."""
import tempfile
from nslib import *

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.join(here, "..", "..")
execlog = os.path.join(os.path.dirname(S4), "tests", "execlog")
check_deps = os.path.join(root, "scripts", "check_deps.py")
deps = os.path.join(root, "scripts", "deps.sh")
if os.geteuid() != 0:
    skip("execlog needs CAP_SYS_ADMIN (fanotify)")
for prog in ("nft", "ip"):
    if not shutil.which(prog):
        fail(f"{prog} is not installed: run scripts/deps.sh")
tmp = tempfile.mkdtemp()
log_path = os.path.join(tmp, "exec.log")
r = subprocess.run([execlog, log_path, "sh", "-c",
                    "nft --version >/dev/null; "
                    "(setsid sh -c 'sleep 0.2; ip -V >/dev/null' &); "
                    "exit 3"])
check(r.returncode == 3, f"execlog exits with the command's status "
      f"({r.returncode})")
seen = set(open(log_path).read().split())
nft = os.path.realpath(shutil.which("nft"))
check(nft in seen, f"nft is logged ({sorted(seen)})")
check(os.path.realpath(shutil.which("ip")) in seen,
      "so is what a daemon it left behind runs")

r = subprocess.run([sys.executable, check_deps, log_path],
                   capture_output=True, text=True)
check(r.returncode == 0, f"with scripts/deps.sh it passes: {r.stdout}")
without = os.path.join(tmp, "deps.sh")
text = open(deps).read()
check(" nftables " in text, "deps.sh installs nftables")
open(without, "w").write(text.replace(" nftables ", " "))
r = subprocess.run([sys.executable, check_deps, "--deps", without, log_path],
                   capture_output=True, text=True)
check(r.returncode == 1 and nft in r.stdout and "nftables" in r.stdout,
      f"without nftables in deps.sh, nft is flagged: {r.stdout}")
shutil.rmtree(tmp)

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Is every program the tests and the demo ran installed by scripts/deps.sh?

    check_deps.py [--deps FILE] EXECLOG...

EXECLOG: what tests/helpers/execlog wrote, one executed path a line. Each
path under /usr, /bin, /sbin or /lib must belong to a Debian package that
deps.sh names, or that one of those depends on, or that every Debian
system has (Essential, or Priority required). Anything else passed here
only because this machine happens to have it: on a fresh one the suite
would fail (nftables was once missing from deps.sh, and CI stayed green).
Paths elsewhere (the build tree, a user's own python) are not packages and
are left out. Exit 1, naming each program and its package, if any fails.
"""
import argparse
import os
import re
import subprocess
import sys

SYSTEM = ("/usr/", "/bin/", "/sbin/", "/lib/", "/lib64/")


def deps_packages(path):
    """The package names in deps.sh's PKGS="..." list."""
    text = open(path).read()
    m = re.search(r'^PKGS="([^"]*)"', text, re.M)
    if not m:
        sys.exit(f"{path}: no PKGS=\"...\" list")
    return set(m.group(1).split())


def closure(pkgs):
    """pkgs and everything they depend on, recursively (apt's view)."""
    r = subprocess.run(
        ["apt-cache", "depends", "--recurse", "--no-recommends",
         "--no-suggests", "--no-conflicts", "--no-breaks", "--no-replaces",
         "--no-enhances", *sorted(pkgs)],
        capture_output=True, text=True)
    names = set(pkgs)
    # every package the recursion reaches gets a line of its own
    for line in r.stdout.splitlines():
        if line and not line[0].isspace():
            names.add(line.strip().strip("<>").split(":")[0])
    return names


def everywhere():
    """Packages every Debian system has: Essential, or Priority required."""
    r = subprocess.run(["dpkg-query", "-W",
                        "-f=${Package} ${Essential} ${Priority}\n"],
                       capture_output=True, text=True, check=True)
    out = set()
    for line in r.stdout.splitlines():
        f = line.split()
        if len(f) >= 2 and ("yes" in f[1:2] or "required" in f[1:]):
            out.add(f[0])
    return out


def owner(path):
    """The package a file belongs to, trying the merged-/usr twin too."""
    cands = [path]
    if path.startswith("/usr/"):
        cands.append(path[4:])
    else:
        cands.append("/usr" + path)
    for p in cands:
        r = subprocess.run(["dpkg", "-S", p], capture_output=True,
                           text=True)
        # "pkg[:arch][, pkg2]: /path", after any "diversion by ..." lines
        lines = [l for l in r.stdout.splitlines()
                 if not l.startswith("diversion ")]
        if r.returncode == 0 and lines:
            first = lines[0].rsplit(": ", 1)[0]
            return first.split(",")[0].strip().split(":")[0]
    return None


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--deps", default=os.path.join(here, "deps.sh"))
    ap.add_argument("logs", nargs="+")
    a = ap.parse_args()
    paths = set()
    for log in a.logs:
        paths |= {l.strip() for l in open(log) if l.strip()}
    progs = sorted(p for p in paths if p.startswith(SYSTEM))
    allowed = closure(deps_packages(a.deps)) | everywhere()
    bad, pkgs = [], set()
    for p in progs:
        pkg = owner(p)
        if pkg is None:
            bad.append(f"{p}: in no Debian package")
        elif pkg not in allowed:
            bad.append(f"{p}: from {pkg}, which scripts/deps.sh does not "
                       "install")
        else:
            pkgs.add(pkg)
    print(f"check_deps: {len(progs)} programs run, from {len(pkgs)} "
          f"packages; {len(bad)} not installed by scripts/deps.sh")
    for b in bad:
        print("  " + b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

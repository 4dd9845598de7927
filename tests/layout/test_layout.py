#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The house's rules, checked on the tree (issue "The house"):
 - no circle among src/'s modules (a module: x.c with its x.h, and an
   x_int.h private to it) by what they include;
 - ctx.h, all of the loop's state, only where the whole loop is needed:
   main.c, loop.c, and the two adapters that bind libslirp and the forward
   table to everything else (slirp/stack.c, fwd/fwd_slirp.c);
 - the README's map of the folders names every file under src/, and only
   files that exist;
 - no compiled Python is tracked in git."""
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
SRC = os.path.join(ROOT, "src")
CTX_ALLOWED = {"main", "loop", "slirp/stack", "fwd/fwd_slirp"}
bad = []


def module(path):
    rel = os.path.splitext(os.path.relpath(path, SRC))[0]
    return rel[:-4] if rel.endswith("_int") else rel


files = []
for d, _, names in os.walk(SRC):
    files += [os.path.join(d, n) for n in names if n.endswith((".c", ".h"))]
mods = {module(f) for f in files}

# includes between modules
edges = {m: set() for m in mods}
ctx_users = set()
for f in files:
    m = module(f)
    for inc in re.findall(r'#include "([^"]+)"', open(f).read()):
        target = module(os.path.normpath(os.path.join(os.path.dirname(f),
                                                      inc)))
        if target == "ctx":
            ctx_users.add(m)
        if target in mods and target != m:
            edges[m].add(target)  # through ctx.h: all that it includes


def cycle():
    """A circle in edges, as a list, or None."""
    state = {}

    def visit(m, path):
        state[m] = 1
        for n in sorted(edges[m]):
            if state.get(n) == 1:
                return path[path.index(n):] + [n] if n in path else [m, n]
            if n not in state:
                c = visit(n, path + [n])
                if c:
                    return c
        state[m] = 2
        return None

    for m in sorted(mods):
        if m not in state:
            c = visit(m, [m])
            if c:
                return c
    return None


c = cycle()
if c:
    bad.append("a circle of includes: " + " -> ".join(c))
else:
    print(f"ok: no circle among {len(mods)} modules")
extra = ctx_users - CTX_ALLOWED
if extra:
    bad.append("ctx.h included by " + ", ".join(sorted(extra)) +
               ": hand the module what it touches instead")
else:
    print("ok: ctx.h only in " + ", ".join(sorted(ctx_users)))

readme = open(os.path.join(ROOT, "README.md")).read()
if "### Where things are" not in readme:
    bad.append("the README has no map of the folders (### Where things "
               "are)")
    readme += "\n### Where things are\n\n| a | b | c |\n|---|---|---|\n\n"
table = readme[readme.index("### Where things are"):]
table = table[:table.index("\n\n", table.index("|---"))]
named = set()
for row in table.splitlines()[3:]:
    cells = [c.strip() for c in row.strip("|").split("|")]
    folder = cells[0].strip("`").rstrip("/")
    for name in re.findall(r"`([\w.]+\.[ch])`", cells[2]):
        named.add(os.path.normpath(os.path.join(folder, name)))
real = {os.path.normpath(os.path.join("src", os.path.relpath(f, SRC)))
        for f in files}
# a header that goes with a listed .c is listed with it
listed = named | {n[:-2] + ".h" for n in named if n.endswith(".c")}
missing = sorted(r for r in real if r not in listed and
                 not r.endswith("_int.h"))
gone = sorted(n for n in named if n not in real)
if missing:
    bad.append("the README's map leaves out " + ", ".join(missing))
if gone:
    bad.append("the README's map names what is not there: " +
               ", ".join(gone))
if not missing and not gone:
    print(f"ok: the README's map names all {len(real)} files under src/")
import subprocess  # noqa: E402
r = subprocess.run(["git", "-C", ROOT, "ls-files", "*.pyc", "**/*.pyc"],
                   capture_output=True, text=True)
if r.returncode == 0 and r.stdout.strip():
    bad.append("compiled Python tracked in git: " +
               ", ".join(r.stdout.split()))
elif r.returncode == 0:
    print("ok: no compiled Python tracked in git")
for b in bad:
    print("FAIL: " + b)
sys.exit(1 if bad else 0)

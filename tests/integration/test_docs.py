#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The man page documents every option --help lists, and every API error."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from nslib import S4, check  # noqa: E402

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
man = open(os.path.join(root, "man", "slirp4netns.1.md")).read()
api = open(os.path.join(root, "src", "api", "api_req.c")).read() + \
    open(os.path.join(root, "src", "fwd", "fwd.c")).read()
helptext = subprocess.run([S4, "--help"], capture_output=True, text=True,
                          check=True).stdout
opts = sorted(set(re.findall(r"(--[a-z0-9-]+)", helptext)))
check(len(opts) >= 20, f"--help lists {len(opts)} long options")
for o in opts:
    check("**" + o + "**" in man, f"man page documents {o}")
descs = set(re.findall(r'"((?:add|remove)_hostfwd: [^"%]+)"', api))
descs |= set(re.findall(r'reply_error\(b, "([^"]+)"\)', api))
descs |= {"add_hostfwd: slirp_add_hostfwd failed",
          "remove_hostfwd: slirp_remove_hostfwd failed"}
for d in sorted(descs):
    check("`" + d + "`" in man or "`" + d.split(": ", 1)[-1] + "`" in man,
          f"man page lists the API error '{d}'")

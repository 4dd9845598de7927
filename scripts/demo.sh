#!/bin/sh
# The main job on a fresh Debian 12 machine, as root: install what is
# missing, build, and run the demo (scripts/demo.py).
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
sh scripts/build.sh >/dev/null
S4_BIN="$PWD/${BUILD:-build}/slirp4netns" exec python3 scripts/demo.py

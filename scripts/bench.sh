#!/bin/sh
# Side-by-side benchmark against /usr/bin/slirp4netns (bench/bench.py), as
# root on Debian 12: installs what is missing, builds, runs.
# Arguments go to bench.py, e.g. --rounds 5 --time 10, or --quick.
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
sh scripts/build.sh >/dev/null
S4_BIN="$PWD/${BUILD:-build}/slirp4netns" exec python3 bench/bench.py "$@"

#!/bin/sh
# The whole test suite on a fresh Debian 12 machine, as root: installs what
# is missing, builds, runs the unit tests (criterion) and the integration
# tests (the real binary in namespaces made for each test).
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
sh scripts/build.sh
rc=0
meson test -C "${BUILD:-build}" --print-errorlogs "$@" || rc=$?
python3 - "${BUILD:-build}/meson-logs/testlog.json" <<'PY'
import json, sys
res = [json.loads(l)["result"] for l in open(sys.argv[1]) if l.strip()]
ok = sum(r in ("OK", "EXPECTEDFAIL") for r in res)
sk = sum(r == "SKIP" for r in res)
print(f"{ok} passed, {len(res) - ok - sk} failed, {sk} skipped")
PY
exit $rc

#!/bin/sh
# The whole test suite on a fresh Debian 12 machine, as root: installs what
# is missing, builds, runs the unit tests (criterion) and the integration
# tests (the real binary in namespaces made for each test), then all of it
# again on an ASan+UBSan build, where any sanitizer report is a failure, then
# the libFuzzer targets for a bounded time each.
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
sh scripts/build.sh >/dev/null
rc=0
echo "== tests"
meson test -C "${BUILD:-build}" --print-errorlogs "$@" || rc=$?
echo "== tests on the ASan+UBSan build"
sh scripts/test-sanitizers.sh "$@" || rc=$?
echo "== fuzzing (libFuzzer, ASan+UBSan): 1,000,000 runs or 60 s per target"
fuzz=0
sh scripts/fuzz.sh 1000000 60 || fuzz=1
[ $fuzz -eq 0 ] || { echo "fuzzing found a crash: see /tmp/fuzz_*.log"; rc=1; }
python3 - "${BUILD:-build}" build-asan <<'PY'
import json, os, sys
res = []
for b in sys.argv[1:]:
    p = os.path.join(b, "meson-logs", "testlog.json")
    if os.path.exists(p):
        res += [json.loads(l)["result"] for l in open(p) if l.strip()]
ok = sum(r in ("OK", "EXPECTEDFAIL") for r in res)
sk = sum(r == "SKIP" for r in res)
print(f"{ok} passed, {len(res) - ok - sk} failed, {sk} skipped")
PY
exit $rc

#!/bin/sh
# The whole test suite on a fresh Debian 12 machine, as root: installs what
# is missing, builds, runs the unit tests (criterion) and the integration
# tests (the real binary in namespaces made for each test), then all of it
# again on an ASan+UBSan build, where any sanitizer report is a failure, then
# the libFuzzer targets for a bounded time each. The first run and the demo
# go under tests/helpers/execlog: every program they execute must come from
# a package scripts/deps.sh installs (scripts/check_deps.py), so that a
# missing install step cannot pass here because this machine has it.
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
sh scripts/build.sh >/dev/null
B=${BUILD:-build}
execs=$(mktemp -d /tmp/s4-execlog-XXXXXX)
rc=0
echo "== tests"
"$B/tests/execlog" "$execs/tests" \
	meson test -C "$B" --print-errorlogs "$@" || rc=$?
echo "== the demo"
"$B/tests/execlog" "$execs/demo" sh scripts/demo.sh || rc=$?
echo "== programs run against scripts/deps.sh"
python3 scripts/check_deps.py "$execs/tests" "$execs/demo" || rc=1
rm -rf "$execs"
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

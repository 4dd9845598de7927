#!/bin/sh
# Build the libFuzzer targets (clang, ASan+UBSan) and run each for a bounded
# number of executions, inside a network namespace with no route: the slirp
# target hands libslirp frames naming random hosts.
# Usage: fuzz.sh [RUNS] [SECONDS]   (defaults: 1000000 runs, 120 s at most)
set -eu
cd "$(dirname "$0")/.."
RUNS=${1:-1000000}
SECS=${2:-120}
B=build-fuzz
[ -f "$B/build.ninja" ] ||
	CC=clang-14 meson setup "$B" -Dfuzz=true -Dtests=false -Dman=disabled \
		-Db_sanitize=address,undefined -Db_lundef=false >/dev/null
ninja -C "$B" >/dev/null
rc=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
for t in api frames slirp dns; do
	corpus=$(mktemp -d)
	cp tests/fuzz/corpus/$t/* "$corpus"/ 2>/dev/null || true
	echo "== fuzz_$t: $RUNS runs or ${SECS}s"
	unshare --user --map-root-user --net "$B/tests/fuzz/fuzz_$t" \
		-runs="$RUNS" -max_total_time="$SECS" -max_len=4096 \
		-print_final_stats=1 "$corpus" tests/fuzz/corpus/$t \
		>"/tmp/fuzz_$t.log" 2>&1 || rc=1
	grep -E "stat::number_of_executed_units|ERROR|SUMMARY" \
		"/tmp/fuzz_$t.log" || true
	rm -rf "$corpus"
done
exit $rc

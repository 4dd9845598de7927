#!/bin/sh
# The test suite again on an ASan+UBSan build; any report fails it. Reports
# go to files (the helper process and the test user's runs included), and
# the folder must stay empty.
set -eu
cd "$(dirname "$0")/.."
B=build-asan
[ -f "$B/build.ninja" ] ||
	meson setup "$B" -Db_sanitize=address,undefined -Db_lundef=false \
		-Dman=disabled >/dev/null
ninja -C "$B" >/dev/null
logs=$(mktemp -d /tmp/s4-sanitizer-XXXXXX)
chmod 1777 "$logs"
export ASAN_OPTIONS="log_path=$logs/asan:detect_leaks=1"
export UBSAN_OPTIONS="log_path=$logs/ubsan:print_stacktrace=1"
rc=0
meson test -C "$B" --print-errorlogs --no-suite valgrind "$@" || rc=$?
if [ -n "$(ls -A "$logs")" ]; then
	echo "sanitizer reports:"
	cat "$logs"/*
	rc=1
fi
rm -rf "$logs"
exit $rc

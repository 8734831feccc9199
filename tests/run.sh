#!/bin/sh
# Runs every test: C unit tests (build/tests/*) and shell scenarios
# (tests/*/test_*.sh).  Each prints TAP; this script counts "ok"/"not ok"
# lines and ends with "N passed, N failed[, N skipped]".
# TESTS="name ..." runs a subset.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
export PD_TOP="$top" PD_BUILD="$top/build"
log=$(mktemp -d /tmp/pd-testlog.XXXXXX)
pass=0 fail=0 skip=0 failed_names=""

run_one() {
	name=$1; shift
	out="$log/$(echo "$name" | tr / _).out"
	echo "== $name"
	timeout -k 10 "${PD_TEST_TIMEOUT:-600}" "$@" >"$out" 2>&1
	rc=$?
	p=$(grep -c '^ok ' "$out" | tr -d ' '); s=$(grep -c '^ok .*# SKIP' "$out" | tr -d ' ')
	f=$(grep -c '^not ok ' "$out" | tr -d ' ')
	p=$((p - s))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $name exited with status $rc" >>"$out"
		f=1
	fi
	grep -E '^(not ok|ok .*# SKIP|#)' "$out" | sed 's/^/   /' | head -n 60
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
	[ "$f" -gt 0 ] && failed_names="$failed_names $name"
	echo "   $name: $p passed, $f failed, $s skipped"
}

want() {
	[ -z "${TESTS:-}" ] && return 0
	for _w in $TESTS; do case "$1" in *"$_w"*) return 0;; esac; done
	return 1
}

for t in build/tests/test_*; do
	[ -x "$t" ] || continue
	want "$t" && run_one "$t" "$t"
done
for t in tests/*/test_*.sh; do
	[ -f "$t" ] || continue
	want "$t" && run_one "$t" sh "$t"
done
[ -n "$failed_names" ] && echo "failed:$failed_names (logs in $log)"
[ -z "$failed_names" ] && rm -rf "$log"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]

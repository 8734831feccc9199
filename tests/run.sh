#!/bin/sh
# Runs every test: C unit tests (build/tests/*) and shell scenarios
# (tests/*/test_*.sh).  Each prints TAP; this script counts "ok"/"not ok"
# lines and ends with "N passed, N failed[, N skipped]".
# TESTS="name ..." runs a subset.  PD_BUILD picks the build (default
# build/); for a sanitizer build (build-asan/, `make check SANITIZE=1`)
# every process a test starts writes its ASan/UBSan reports into a
# directory of that test, and any report fails the test.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
export PD_TOP="$top" PD_BUILD="${PD_BUILD:-$top/build}"
log=$(mktemp -d /tmp/pd-testlog.XXXXXX)
chmod 755 "$log"	# helpers and setpriv'd tools write sanitizer reports below
pass=0 fail=0 skip=0 failed_names=""
san=""
grep -qa __asan_init "$PD_BUILD/plugind" 2>/dev/null && san=1
export PD_SANITIZE=$san

# sanitize_env DIR: reports of every process to DIR/san.PID, fatal on the
# first one (UBSan too: -fno-sanitize-recover).  The broker hands these to
# its helpers (broker/proc/helper.c); sandboxed processes skip the exit-time
# leak check by themselves (common/sandbox-seccomp.c).
sanitize_env() {
	mkdir -p "$1" && chmod 1777 "$1"
	export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:log_path=$1/san:symbolize=1"
	export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$1/san"
}

# sanitize_check DIR OUT: a report file fails the test, its head is shown.
sanitize_check() {
	_bad=0
	for _r in "$1"/san.*; do
		[ -s "$_r" ] || continue
		_bad=$((_bad + 1))
		echo "not ok - sanitizer report $(basename "$_r")" >>"$2"
		grep -E -m 12 'ERROR|SUMMARY|runtime error|#[0-9] ' "$_r" |
		    sed 's/^/# /' >>"$2"
	done
	return $_bad
}

run_one() {
	name=$1; shift
	out="$log/$(echo "$name" | tr / _).out"
	echo "== $name"
	[ -n "$san" ] && sanitize_env "$out.san"
	timeout -k 10 "${PD_TEST_TIMEOUT:-600}" "$@" >"$out" 2>&1
	rc=$?
	[ -n "$san" ] && sanitize_check "$out.san" "$out"
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

for t in "$PD_BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	want "$t" && run_one "${t#"$top"/}" "$t"
done
for t in tests/*/test_*.sh; do
	[ -f "$t" ] || continue
	want "$t" && run_one "$t" sh "$t"
done
[ -n "$failed_names" ] && echo "failed:$failed_names (logs in $log)"
[ -z "$failed_names" ] && rm -rf "$log"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]

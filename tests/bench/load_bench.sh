#!/bin/sh
# Control-socket load: CLIENTS (default 50) loadgen clients issue ls /
# inspect / events for SECONDS (default 60) while a loop creates, enables,
# disables and removes a plugin; once with a new connection per request
# (as pluginctl), once with connections reused for 50 requests, and once
# without the 500 ms event follows (10% of requests by default), which
# bound the request rate of the other two by design.
# Prints requests, req/s, p50/p99 latency, the broker's peak RSS (VmHWM)
# and threads, and how many mutations ran.  Needs root and runc.
#
#	tests/bench/load_bench.sh [SECONDS [CLIENTS]]
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
B=${PD_BUILD:-$top/build}
secs=${1:-60}
clients=${2:-50}
[ -x "$B/tests/tools/loadgen" ] && [ -x "$B/fixtures/volplugin" ] ||
    { echo "build first (make all tests)" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "needs root" >&2; exit 1; }

. "$top/tests/bench/broker_setup.sh"
bench_broker 256m
ctl create stable "$P" >/dev/null

mutate() {
	n=0 f=0
	while [ ! -e "$T/stop" ]; do
		for step in "create mut $P" "enable mut" "disable mut" "rm mut"; do
			# shellcheck disable=SC2086
			if ctl $step >/dev/null 2>&1; then n=$((n + 1)); else f=$((f + 1)); fi
		done
	done
	echo "$n $f" >"$T/mut"
}

run() { # run LABEL LOADGEN-ARGS...
	label=$1; shift
	rm -f "$T/stop"
	mutate & MP=$!
	out=$("$B/tests/tools/loadgen" -s "$T/e/plugind.sock" -c "$clients" -t "$secs" -i stable "$@" 2>"$T/err") || true
	touch "$T/stop"; wait "$MP"; MP=""
	v() { echo "$out" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
	printf '%-22s %8s req %5s failed %6s req/s  p50 %6s ms  p90 %6s ms  p99 %6s ms  max %7s ms  mutations %s ok %s failed\n' \
	    "$label" "$(v requests)" "$(v failures)" "$(v rps)" "$(v p50_ms)" "$(v p90_ms)" \
	    "$(v p99_ms)" "$(v max_ms)" $(cat "$T/mut")
	[ -s "$T/err" ] && head -n 5 "$T/err"
	return 0
}

echo "load: $clients clients, $secs s each, ls/inspect/events + create/enable/disable/rm"
run "connection/request"
run "50 requests/connection" -r 50
run "no follows, conn/req" -f 0
echo "broker peak RSS (VmHWM) $(awk '/^VmHWM/ { print $2 }' /proc/$BP/status) kB," \
    "now $(awk '/^VmRSS/ { print $2 }' /proc/$BP/status) kB, $(awk '/^Threads/ { print $2 }' /proc/$BP/status) threads"

#!/bin/sh
# Plugin lifecycle timings, measured through pluginctl (so each number
# includes one CLI process and one control round trip):
#   enable          disabled -> socket accepts a connection
#   disable         SIGTERM -> exit -> runc delete -> mounts and dirs gone
#   create+enable   context tar through the extractor, then enable
# and, for reference in the same run, a bare `runc run -d` of the same
# bundle.  Then the broker's RSS and threads with 10 plugins
# enabled, and its child processes (no per-plugin supervisor).
# Medians of RUNS (default 11).  Needs root; data root on a tmpfs.
#
#	tests/bench/lifecycle_bench.sh [RUNS]
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
B=${PD_BUILD:-$top/build}
runs=${1:-11}
[ -x "$B/fixtures/volplugin" ] || { echo "build first (make all tests)" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "needs root" >&2; exit 1; }

. "$top/tests/bench/broker_setup.sh"
bench_broker 512m

ns() { date +%s%N; }
median() { sort -n | awk '{ a[NR] = $1 } END { m = a[int((NR + 1) / 2)]; printf "%.1f", m / 1e6 }'; }

ctl create bench "$P" >/dev/null
: >"$T/en"; : >"$T/dis"; : >"$T/ce"; : >"$T/ref"
i=0
while [ $i -lt "$runs" ]; do
	t0=$(ns); ctl enable bench >/dev/null; t1=$(ns); ctl disable bench >/dev/null; t2=$(ns)
	echo $((t1 - t0)) >>"$T/en"; echo $((t2 - t1)) >>"$T/dis"
	t0=$(ns); ctl create "ce$i" "$P" >/dev/null; ctl enable "ce$i" >/dev/null; t1=$(ns)
	echo $((t1 - t0)) >>"$T/ce"
	ctl rm -f "ce$i" >/dev/null
	i=$((i + 1))
done

# Reference: runc alone on the bundle plugind wrote (kept from one enable).
ctl enable bench >/dev/null
ID=$(ctl inspect -f '{{.Id}}' bench)
cp -r "$T/e/bundles/$ID" "$T/refbundle"
ctl disable bench >/dev/null
mkdir -p "$T/e/plugins/$ID"
i=0
while [ $i -lt "$runs" ]; do
	t0=$(ns)
	runc --root "$T/refroot" run -d --pid-file "$T/refbundle/p" --bundle "$T/refbundle" ref </dev/null >/dev/null 2>&1
	t1=$(ns); echo $((t1 - t0)) >>"$T/ref"
	runc --root "$T/refroot" delete -f ref
	i=$((i + 1))
done
rm -rf "$T/e/plugins/$ID"
awk -v p="$T/d/plugins/$ID" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m"; done

rss0=$(awk '/VmRSS/ { print $2 }' /proc/$BP/status)
i=0
while [ $i -lt 10 ]; do ctl create "p$i" "$P" >/dev/null; ctl enable "p$i" >/dev/null; i=$((i + 1)); done
rss=$(awk '/VmRSS/ { print $2 }' /proc/$BP/status)
thr=$(awk '/Threads/ { print $2 }' /proc/$BP/status)
kids=$(ps -o comm= --ppid $BP | sort | uniq -c | awk '{ printf "%s%s x%s", (NR > 1 ? ", " : ""), $2, $1 }')

echo "plugind lifecycle benchmark: median of $runs runs (ms), data root on tmpfs"
printf '  enable                 %8s   (target <= 100)\n' "$(median <"$T/en")"
printf '  disable                %8s   (target <= 50; plugin exits on SIGTERM)\n' "$(median <"$T/dis")"
printf '  create + enable        %8s\n' "$(median <"$T/ce")"
printf '  runc run -d            %8s   (reference: runc alone, same bundle, no readiness wait)\n' "$(median <"$T/ref")"
printf '  broker RSS             %8s KiB idle, %s KiB with 10 plugins enabled, %s threads\n' "$rss0" "$rss" "$thr"
printf '  broker children        %s (the plugins themselves; no per-plugin supervisor)\n' "${kids:-none}"
for p in 0 1 2 3 4 5 6 7 8 9; do ctl rm -f "p$p" >/dev/null; done

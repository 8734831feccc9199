#!/bin/sh
# VolumeDriver calls through the gateway (the published socket an engine
# uses: parse, forward, Mountpoint rewrite, in-use report and its fsync)
# against the same calls straight to the plugin's own socket, side by
# side in one run.  One Mount + Unmount pair per iteration, each call one
# curl process (the same cost on both sides).  Medians of RUNS (101).
#
#	tests/bench/gateway_bench.sh [RUNS]
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
B=${PD_BUILD:-$top/build}
runs=${1:-101}
[ -x "$B/fixtures/volplugin" ] || { echo "build first (make all tests)" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "needs root" >&2; exit 1; }

. "$top/tests/bench/broker_setup.sh"
bench_broker 256m

ns() { date +%s%N; }
median() { sort -n | awk '{ a[NR] = $1 } END { m = a[int((NR + 1) / 2)]; printf "%.2f", m / 1e6 }'; }
call() { curl -sf --max-time 10 --unix-socket "$1" -X POST "http://plugin/$2" -d "$3" >/dev/null; }

ctl create gwb "$P" >/dev/null
ctl enable gwb >/dev/null
ID=$(ctl inspect -f '{{.Id}}' gwb)
GW="$T/pub/gwb.sock"
DIRECT="$T/e/plugins/$ID/vol.sock"
call "$GW" VolumeDriver.Create '{"Name":"b1"}'
: >"$T/gm"; : >"$T/gu"; : >"$T/dm"; : >"$T/du"
i=0
while [ $i -lt "$runs" ]; do
	t0=$(ns); call "$GW" VolumeDriver.Mount '{"Name":"b1","ID":"m1"}'
	t1=$(ns); call "$GW" VolumeDriver.Unmount '{"Name":"b1","ID":"m1"}'
	t2=$(ns); call "$DIRECT" VolumeDriver.Mount '{"Name":"b1","ID":"m1"}'
	t3=$(ns); call "$DIRECT" VolumeDriver.Unmount '{"Name":"b1","ID":"m1"}'
	t4=$(ns)
	echo $((t1 - t0)) >>"$T/gm"; echo $((t2 - t1)) >>"$T/gu"
	echo $((t3 - t2)) >>"$T/dm"; echo $((t4 - t3)) >>"$T/du"
	i=$((i + 1))
done
held=$(ctl inspect -f '{{json .InUse}}' gwb)
gm=$(median <"$T/gm"); dm=$(median <"$T/dm"); gu=$(median <"$T/gu"); du=$(median <"$T/du")
echo "gateway benchmark: median of $runs calls (ms), one curl per call, data root on tmpfs"
printf '  VolumeDriver.Mount    gateway %7s   direct %7s   ratio %s\n' "$gm" "$dm" \
    "$(awk -v a="$gm" -v b="$dm" 'BEGIN { printf "%.2f", a / b }')"
printf '  VolumeDriver.Unmount  gateway %7s   direct %7s   ratio %s\n' "$gu" "$du" \
    "$(awk -v a="$gu" -v b="$du" 'BEGIN { printf "%.2f", a / b }')"
printf '  in use after the run  %s (the volume b1, no mount)\n' "$held"
ctl disable -f gwb >/dev/null

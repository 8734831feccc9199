#!/bin/sh
# make bench: every benchmark, each printing its own ratios.
top=$(cd "$(dirname "$0")/../.." && pwd)
export PD_BUILD=${PD_BUILD:-$top/build}
rc=0
for b in untar_bench.sh install_bench.sh push_bench.sh lifecycle_bench.sh load_bench.sh \
    gateway_bench.sh; do
	[ -f "$top/tests/bench/$b" ] || continue
	echo "=== $b"
	bash "$top/tests/bench/$b" || rc=1
done
exit $rc

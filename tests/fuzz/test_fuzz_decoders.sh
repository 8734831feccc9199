#!/bin/sh
# Builds each decoder harness with clang (libFuzzer, ASan, UBSan) and runs
# it briefly; a crash or sanitizer report fails the test.  FUZZ_SECONDS
# sets the time per harness (default 5; `make fuzz` runs longer).
. "$(dirname "$0")/../lib.sh"

command -v clang >/dev/null || { skip "clang not installed (make deps installs it)"; done_testing; exit 0; }
T=$(mktemp -d /tmp/pd-fuzz.XXXXXX); track_dir "$T"
secs=${FUZZ_SECONDS:-5}
C="$PD_TOP/common"
SRCS="$C/msg.c $C/proto.c $C/error.c $C/ref.c $C/manifest.c $C/plugincfg.c $C/digest.c $C/util.c"
for t in PROTO REF MANIFEST CONFIG HTTP; do
	bin="$T/fuzz_$t"
	extra=""
	[ $t = HTTP ] && extra="-I$PD_TOP/api $PD_TOP/api/http.c $PD_TOP/api/b64.c"
	# shellcheck disable=SC2086
	if ! clang -g -O1 -D_GNU_SOURCE -DFUZZ_$t -I"$C" -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=undefined -o "$bin" "$PD_TOP/tests/fuzz/fuzz_decoders.c" $SRCS $extra \
	    $(pkg-config --cflags --libs jansson openssl) >"$T/build_$t.log" 2>&1; then
		notok "fuzz_$t builds"; diag "$(tail -n 5 "$T/build_$t.log")"; continue
	fi
	corpus="$PD_TOP/tests/fuzz/corpus/$(echo $t | tr A-Z a-z)"
	mkdir -p "$T/work_$t"
	[ -d "$corpus" ] && cp "$corpus"/* "$T/work_$t/" 2>/dev/null
	if (cd "$T" && ASAN_OPTIONS=detect_leaks=1 "$bin" -max_total_time="$secs" -rss_limit_mb=1024 \
	    -max_len=70000 "$T/work_$t" >"$T/run_$t.log" 2>&1); then
		n=$(grep -o 'stat::number_of_executed_runs: *[0-9]*' "$T/run_$t.log" | grep -o '[0-9]*$')
		[ -z "$n" ] && n=$(grep -Eo '#[0-9]+' "$T/run_$t.log" | tail -1 | tr -d '#')
		ok "fuzz_$t: no crash in ${secs}s (${n:-?} executions)"
	else
		notok "fuzz_$t found a crash"; diag "$(grep -A 15 'ERROR' "$T/run_$t.log" | head -n 30)"
		cp "$T"/crash-* "$PD_TOP/tests/fuzz/" 2>/dev/null
	fi
done
done_testing

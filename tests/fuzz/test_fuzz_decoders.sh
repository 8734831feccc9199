#!/bin/sh
# Builds each decoder harness of fuzz_decoders.c with clang (libFuzzer,
# ASan, UBSan), replays its regression inputs (tests/fuzz/regress/<name>/)
# and fuzzes it from its seed corpus (tests/fuzz/corpus/<name>/).  A crash
# or sanitizer report fails the test; the input is kept under
# $PD_BUILD/fuzz-artifacts/<name>/ so it can become a regression input.
# FUZZ_SECONDS sets the time per harness (default 4; `make fuzz` longer).
. "$(dirname "$0")/../lib.sh"

command -v clang >/dev/null || { skip "clang not installed (make deps installs it)"; done_testing; exit 0; }
T=$(mktemp -d /tmp/pd-fuzz.XXXXXX); track_dir "$T"
secs=${FUZZ_SECONDS:-4}
targets=${FUZZ_TARGETS:-PROTO CTLREQ REF MANIFEST INDEX CONFIG POLICY TOKEN WWWAUTH HTTP TERMSAFE SIGPAYLOAD SIGMANIFEST}
CFL="-g -O1 -std=gnu11 -D_GNU_SOURCE -fno-omit-frame-pointer -fno-sanitize-recover=undefined
    -I$PD_TOP/common -I$PD_TOP/broker -I$PD_TOP/fetcher -I$PD_TOP/api $(pkg-config --cflags jansson openssl libcurl)"
SRCS="common/msg.c common/proto.c common/error.c common/ref.c common/manifest.c
    common/plugincfg.c common/digest.c common/util.c common/log.c common/termsafe.c
    common/http_status.c common/caps.c broker/state/policy.c common/sigpayload.c
    common/sigattach.c
    fetcher/reg_url.c fetcher/reg_client.c
    fetcher/reg_auth.c fetcher/reg_http.c fetcher/reg_pull.c
    fetcher/reg_push.c fetcher/wwwauth.c api/http.c api/b64.c"
# Harness options: a report fails the run; leaks count (no sandbox here).
FUZZ_ASAN="detect_leaks=1:halt_on_error=1:abort_on_error=0"

# The decoders once, instrumented; each harness is one file on top.
objs=""
for s in $SRCS; do
	o="$T/$(echo "$s" | tr / _).o"
	if ! clang $CFL -fsanitize=fuzzer-no-link,address,undefined -c \
	    -o "$o" "$PD_TOP/$s" >>"$T/build.log" 2>&1; then
		notok "decoder sources build with clang"; diag "$(tail -n 5 "$T/build.log")"
		done_testing; exit 1
	fi
	objs="$objs $o"
done

for t in $targets; do
	name=$(echo "$t" | tr A-Z a-z)
	bin="$T/fuzz_$name"
	if ! clang $CFL -DFUZZ_$t -fsanitize=fuzzer,address,undefined -o "$bin" \
	    "$PD_TOP/tests/fuzz/fuzz_decoders.c" $objs \
	    $(pkg-config --libs jansson openssl libcurl) >"$T/build_$name.log" 2>&1; then
		notok "fuzz_$name builds"; diag "$(tail -n 5 "$T/build_$name.log")"; continue
	fi
	reg="$PD_TOP/tests/fuzz/regress/$name"
	if [ -d "$reg" ]; then
		nreg=$(ls "$reg" | wc -l)
		if ASAN_OPTIONS=$FUZZ_ASAN "$bin" "$reg"/* >"$T/regress_$name.log" 2>&1; then
			ok "fuzz_$name: $nreg regression inputs replay without a report"
		else
			notok "fuzz_$name: a regression input fails again"
			diag "$(grep -E -A 12 'ERROR|runtime error' "$T/regress_$name.log" | head -n 25)"
		fi
	fi
	corpus="$PD_TOP/tests/fuzz/corpus/$name"
	mkdir -p "$T/work_$name" "$T/art_$name"
	[ -d "$corpus" ] || { notok "fuzz_$name: no seed corpus in tests/fuzz/corpus/$name"; continue; }
	if ASAN_OPTIONS=$FUZZ_ASAN timeout -k 5 $((secs + 60)) "$bin" \
	    -max_total_time="$secs" -rss_limit_mb=1024 -max_len=70000 -timeout=10 \
	    -print_final_stats=1 -artifact_prefix="$T/art_$name/" \
	    "$T/work_$name" "$corpus" >"$T/run_$name.log" 2>&1; then
		n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$T/run_$name.log")
		ok "fuzz_$name: no report in ${secs}s (${n:-?} executions)"
	else
		notok "fuzz_$name found a crash"
		diag "$(grep -E -A 15 'ERROR|runtime error' "$T/run_$name.log" | head -n 30)"
		if [ -n "$(ls "$T/art_$name")" ]; then
			mkdir -p "$PD_BUILD/fuzz-artifacts/$name"
			cp "$T/art_$name"/* "$PD_BUILD/fuzz-artifacts/$name/"
			diag "input kept in $PD_BUILD/fuzz-artifacts/$name/; fix, then add it to tests/fuzz/regress/$name/"
		fi
	fi
done
done_testing

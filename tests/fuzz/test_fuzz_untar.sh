#!/bin/sh
# Build tests/fuzz/fuzz_untar.c with clang (libFuzzer, ASan, UBSan) from
# the sources, replay tests/fuzz/regress/untar/ if present, seed it with
# the corpus layers (compressed and not) and run it for FUZZ_SECONDS
# (default 20).  TAP: ok if nothing crashed; a crashing input is kept in
# $PD_BUILD/fuzz-artifacts/untar/.
set -u
top=${PD_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${PD_BUILD:-$top/build}
secs=${FUZZ_SECONDS:-20}
n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); echo "not ok $n - $*"; }

if ! command -v clang >/dev/null 2>&1; then
	echo "ok 1 - # SKIP clang not installed"
	echo "1..1"
	exit 0
fi
tmp=$(mktemp -d /dev/shm/pd-fuzz.XXXXXX 2>/dev/null) ||
    tmp=$(mktemp -d /tmp/pd-fuzz.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

cd "$top" || exit 1
if clang -g -O1 -std=gnu11 -D_GNU_SOURCE -fno-omit-frame-pointer \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -Icommon $(pkg-config --cflags libarchive openssl zlib 2>/dev/null) \
    extractor/untar*.c common/error.c tests/fuzz/fuzz_untar.c \
    -o "$tmp/fuzz_untar" $(pkg-config --libs libarchive openssl zlib) \
    >"$tmp/build.log" 2>&1; then
	ok "fuzz_untar builds with clang -fsanitize=fuzzer,address,undefined"
else
	notok "fuzz_untar does not build"
	sed 's/^/# /' "$tmp/build.log" | tail -n 20
	echo "1..$n"
	exit 0
fi

if [ -d "$top/tests/fuzz/regress/untar" ]; then
	if PD_FUZZ_DIR=$tmp ASAN_OPTIONS=detect_leaks=1 "$tmp/fuzz_untar" \
	    "$top/tests/fuzz/regress/untar"/* >"$tmp/regress.log" 2>&1; then
		ok "fuzz_untar: regression inputs replay without a report"
	else
		notok "fuzz_untar: a regression input fails again"
		grep -E -A 12 'ERROR|runtime error' "$tmp/regress.log" | head -n 25 |
		    sed 's/^/# /'
	fi
fi

mkdir "$tmp/seeds" "$tmp/work"
cp "$top/tests/fuzz/corpus/untar"/* "$tmp/seeds/"
if [ -f "$top/../shared/corpus/make_corpus.py" ]; then
	python3 "$top/../shared/corpus/make_corpus.py" "$tmp/c" --bomb-mib 1 \
	    >/dev/null 2>&1
	python3 - "$tmp/c" "$tmp/seeds" <<'EOF'
import gzip, os, sys, zlib
src, dst = sys.argv[1], sys.argv[2]
for f in sorted(os.listdir(src)):
    if not f.endswith(".tar.gz"):
        continue
    data = open(os.path.join(src, f), "rb").read()
    if len(data) > 256 << 10:
        continue
    open(os.path.join(dst, f), "wb").write(data)
    try:
        raw = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data, 1 << 20)
    except zlib.error:
        continue
    if raw:
        open(os.path.join(dst, f[:-3]), "wb").write(raw)
EOF
fi
echo "# $(ls "$tmp/seeds" | wc -l) seeds, fuzzing for $secs s"

PD_FUZZ_DIR=$tmp ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1 \
    timeout -k 10 $((secs + 60)) "$tmp/fuzz_untar" -max_total_time="$secs" \
    -max_len=262144 -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$tmp/" "$tmp/work" "$tmp/seeds" >"$tmp/fuzz.log" 2>&1
rc=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/fuzz.log")
if [ "$rc" -eq 0 ]; then
	ok "fuzz_untar: no report in ${secs}s (${runs:-?} executions)"
else
	notok "fuzz_untar failed (exit $rc)"
	grep -E 'ERROR|SUMMARY|escape|error without|runtime error' \
	    "$tmp/fuzz.log" | head -n 10 | sed 's/^/# /'
	for a in "$tmp"/crash-* "$tmp"/leak-* "$tmp"/timeout-*; do
		[ -f "$a" ] || continue
		mkdir -p "$build/fuzz-artifacts/untar"
		cp "$a" "$build/fuzz-artifacts/untar/"
		echo "# kept in $build/fuzz-artifacts/untar/$(basename "$a");" \
		    "fix, then add it to tests/fuzz/regress/untar/"
	done
fi
echo "1..$n"

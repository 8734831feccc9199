#!/bin/bash
# Push benchmark (issue 6): pluginctl push of a ~200 MB plugin (half
# incompressible, thousands of small files) to a loopback docker-registry,
# to repositories that do not have the blobs and again to ones that do,
# next to `curl -T` of the same layer blob (monolithic upload) in the
# same run.  Median of RUNS (default 5).
#	tests/bench/push_bench.sh [RUNS]
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
B=${PD_BUILD:-$top/build}
RUNS=${1:-5}
T=$(mktemp -d /var/tmp/pd-pbench.XXXXXX); chmod 755 "$T"
bp=""
cleanup() {
	[ -n "$bp" ] && { kill -TERM "$bp" 2>/dev/null; wait "$bp" 2>/dev/null; }
	sh "$top/tests/registry/registry.sh" stop "$T/reg" >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT INT TERM
PORT=$(sh "$top/tests/registry/registry.sh" start "$T/reg" anon) || exit 1
R="127.0.0.1:$PORT"
python3 - "$T/p/rootfs" <<'PY'
import os, random, sys
root = sys.argv[1]; rnd = random.Random(7)
for d in ("data", "text", "run/docker/plugins"):
    os.makedirs(os.path.join(root, d), exist_ok=True)
for i in range(20):
    open(os.path.join(root, "data", "r%03d" % i), "wb").write(os.urandom(5 << 20))
words = ["".join(rnd.choice("abcdefghij") for _ in range(rnd.randint(2, 8))) for _ in range(500)]
for i in range(5000):
    d = os.path.join(root, "text", "d%02d" % (i % 50)); os.makedirs(d, exist_ok=True)
    open(os.path.join(d, "f%05d.txt" % i), "w").write(" ".join(rnd.choice(words) for _ in range(3500)))
PY
cat >"$T/p/config.json" <<'JSON'
{"Description": "bench", "Entrypoint": ["/x"],
 "Interface": {"Socket": "b.sock", "Types": ["docker.volumedriver/1.0"]}}
JSON
echo '{"limits": {"max-layer-bytes": 4294967296, "max-compressed": 4294967296, "max-file": 1073741824, "max-ratio": 1000}}' >"$T/conf.json"
"$B/plugind" --config "$T/conf.json" --data-root "$T/data" --exec-root "$T/exec" --helper-dir "$B" 2>"$T/log" &
bp=$!
while [ ! -S "$T/exec/plugind.sock" ]; do sleep 0.05; done
C="$B/pluginctl -H unix://$T/exec/plugind.sock"
i=0
while [ $i -lt "$RUNS" ]; do $C create "$R/bench/p$i" "$T/p" >/dev/null || exit 1; i=$((i + 1)); done
ID=$($C inspect -f '{{.Id}}' "$R/bench/p0")
L=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['Blobsums'][0])" "$T/data/plugins/$ID/config.json")
BLOB="$T/data/storage/blobs/sha256/${L#sha256:}"
SZ=$(stat -c %s "$BLOB")

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now() { date +%s.%N; }
t_new="" t_again="" t_curl=""
i=0
while [ $i -lt "$RUNS" ]; do
	a=$(now); $C push -q "$R/bench/p$i" >/dev/null || echo "push failed" >&2; b=$(now)
	t_new="$t_new $(echo "$b - $a" | bc -l)"
	a=$(now); $C push -q "$R/bench/p$i" >/dev/null; b=$(now)
	t_again="$t_again $(echo "$b - $a" | bc -l)"
	a=$(now)
	loc=$(curl -s -D - -o /dev/null -X POST "http://$R/v2/bench/curl$i/blobs/uploads/" | tr -d '\r' | sed -n 's/^Location: //Ip')
	case "$loc" in /*) loc="http://$R$loc" ;; esac
	sep='?'; case "$loc" in *\?*) sep='&' ;; esac
	curl -s -o /dev/null -T "$BLOB" -H 'Content-Type: application/octet-stream' "$loc${sep}digest=$L"
	b=$(now); t_curl="$t_curl $(echo "$b - $a" | bc -l)"
	i=$((i + 1))
done
mn=$(echo $t_new | tr ' ' '\n' | median); ma=$(echo $t_again | tr ' ' '\n' | median)
mc=$(echo $t_curl | tr ' ' '\n' | median)
printf 'push of a %.1f MB layer, median of %d: curl -T %.3fs | pluginctl push (new repository) %.3fs = %.2fx curl | push again (blobs present) %.3fs = %.2fx curl\n' \
    "$(echo "$SZ / 1000000" | bc -l)" "$RUNS" "$mc" "$mn" "$(echo "$mn / $mc" | bc -l)" "$ma" "$(echo "$ma / $mc" | bc -l)"

#!/bin/bash
# Install benchmark (issue 3): plugind install of a ~1 MB and a ~200 MB
# plugin from a loopback docker-registry, next to the raw pipeline on the
# same blob in the same run: curl to /dev/null, sha256sum, tar xzf to the
# same filesystem, and one-pass curl | tee >(sha256sum) | tar xz.
# Median of RUNS (default 5).  Data roots on a tmpfs, then on disk.
# Also the peak RSS of every plugind process during the big install.
#	tests/bench/install_bench.sh [RUNS]
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
B=${PD_BUILD:-$top/build}
RUNS=${1:-5}
T=$(mktemp -d /var/tmp/pd-ibench.XXXXXX); chmod 755 "$T"
M="$T/tmpfs"; mkdir -p "$M"
pids=""
cleanup() {
	for p in $pids; do kill -TERM "$p" 2>/dev/null; done
	sleep 0.3
	for p in $pids; do kill -KILL "$p" 2>/dev/null; done
	[ -f "$T/reg/registry.pid" ] && sh "$top/tests/registry/registry.sh" stop "$T/reg" >/dev/null 2>&1
	umount "$M" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT INT TERM
mount -t tmpfs -o size=6g tmpfs "$M" || { echo "cannot mount tmpfs" >&2; exit 1; }

PORT=$(sh "$top/tests/registry/registry.sh" start "$T/reg" anon) || exit 1
R="127.0.0.1:$PORT"

# Plugin content: small; big = 100 MB random in 20 files + 100 MB text in 5000 files.
python3 - "$T/small" "$T/big" <<'PY'
import os, random, sys
def mk(root, nrand, randsz, ntext, textsz):
    rnd = random.Random(7)
    for d in ("bin", "data", "text", "run/docker/plugins"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    for i in range(nrand):
        with open(os.path.join(root, "data", "r%03d" % i), "wb") as f:
            f.write(os.urandom(randsz))
    words = ["".join(rnd.choice("abcdefghij") for _ in range(rnd.randint(2, 8))) for _ in range(500)]
    for i in range(ntext):
        d = os.path.join(root, "text", "d%02d" % (i % 50))
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "f%05d.txt" % i), "w") as f:
            n = 0
            out = []
            while n < textsz:
                w = rnd.choice(words); out.append(w); n += len(w) + 1
            f.write(" ".join(out))
mk(sys.argv[1], 2, 300 * 1024, 200, 2 * 1024)
mk(sys.argv[2], 20, 5 * 1024 * 1024, 5000, 20 * 1024)
PY
cat >"$T/cfg.json" <<'JSON'
{"Description": "bench", "Entrypoint": ["/bin/true"],
 "Interface": {"Socket": "b.sock", "Types": ["docker.volumedriver/1.0"]}}
JSON
for s in small big; do
	python3 "$top/tests/registry/push_plugin.py" --registry "http://$R" --repo bench/$s \
	    --rootfs "$T/$s" --config "$T/cfg.json" --info "$T/$s.json" >/dev/null || exit 1
done
cat >"$T/plugind.json" <<'JSON'
{"limits": {"max-layer-bytes": 4294967296, "max-compressed": 4294967296,
            "max-file": 1073741824, "max-ratio": 1000}}
JSON

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc -l; }

layer_of() { python3 -c "import json,sys; i=json.load(open(sys.argv[1])); l=i['manifests'][0]['layers'][0]; print(l['digest'], l['size'])" "$1"; }

bench_one() { # bench_one small|big ROOTDIR  -> prints a result line
	s=$1 base=$2 kind=$3
	set -- $(layer_of "$T/$s.json"); dg=$1; sz=$2
	url="http://$R/v2/bench/$s/blobs/$dg"
	curl -s -o "$base/blob" "$url"
	t_curl="" t_sha="" t_tar="" t_pipe="" t_pd=""
	i=0
	while [ $i -lt "$RUNS" ]; do
		a=$(now); curl -s -o /dev/null "$url"; b=$(now); t_curl="$t_curl $(elapsed $a $b)"
		a=$(now); sha256sum "$base/blob" >/dev/null; b=$(now); t_sha="$t_sha $(elapsed $a $b)"
		d="$base/tar.$i"; mkdir -p "$d"
		a=$(now); tar xzf "$base/blob" -C "$d"; b=$(now); t_tar="$t_tar $(elapsed $a $b)"
		d="$base/pipe.$i"; mkdir -p "$d"
		a=$(now); curl -s "$url" | tee >(sha256sum >/dev/null) | tar xz -C "$d"; b=$(now)
		t_pipe="$t_pipe $(elapsed $a $b)"
		dr="$base/pd.$i"; mkdir -p "$dr"
		"$B/plugind" --config "$T/plugind.json" --data-root "$dr/data" --exec-root "$dr/exec" \
		    --helper-dir "$B" 2>"$dr/log" &
		bp=$!; pids="$pids $bp"
		while [ ! -S "$dr/exec/plugind.sock" ]; do sleep 0.02; done
		if [ "$s" = big ] && [ $i = 0 ]; then
			"$top/tests/bench/rss_sampler.sh" $bp >"$base/rss.$i" &
			sp=$!
		fi
		a=$(now)
		"$B/pluginctl" -H "unix://$dr/exec/plugind.sock" install -q --disable "$R/bench/$s" >/dev/null 2>"$dr/err" ||
		    { echo "install failed: $(cat "$dr/err")" >&2; }
		b=$(now); t_pd="$t_pd $(elapsed $a $b)"
		[ -n "${sp:-}" ] && { kill $sp 2>/dev/null; wait $sp 2>/dev/null; sp=""; }
		kill -TERM $bp; wait $bp 2>/dev/null
		i=$((i + 1))
	done
	mc=$(echo $t_curl | tr ' ' '\n' | median); ms=$(echo $t_sha | tr ' ' '\n' | median)
	mt=$(echo $t_tar | tr ' ' '\n' | median); mp=$(echo $t_pipe | tr ' ' '\n' | median)
	mpd=$(echo $t_pd | tr ' ' '\n' | median)
	printf '%-5s %-6s blob %6.1f MB | curl %.3fs  sha256sum %.3fs  tar xzf %.3fs  one-pass %.3fs | plugind install %.3fs | install/tar %.2f  install/one-pass %.2f\n' \
	    "$s" "$kind" "$(echo "$sz / 1000000" | bc -l)" "$mc" "$ms" "$mt" "$mp" "$mpd" \
	    "$(echo "$mpd / $mt" | bc -l)" "$(echo "$mpd / $mp" | bc -l)"
}

echo "plugind install benchmark, median of $RUNS runs, registry on $R"
mkdir -p "$M/small" "$M/big" "$T/disk-small" "$T/disk-big"
bench_one small "$M/small" tmpfs
bench_one big "$M/big" tmpfs
sync
bench_one small "$T/disk-small" disk
bench_one big "$T/disk-big" disk
if [ -f "$M/big/rss.0" ]; then
	echo "peak RSS during the big install (VmHWM, kB):"
	sort -u "$M/big/rss.0" | awk '{ if ($2 > m[$1]) m[$1] = $2 } END { t = 0; for (k in m) { print "  " k ": " m[k]; t += m[k] } print "  all together: " t }'
fi

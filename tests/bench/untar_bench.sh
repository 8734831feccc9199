#!/bin/sh
# Compare build/tests/tools/untar_tool with GNU "tar xzf" on the same
# generated ~100 MB layer (half incompressible random data in large files,
# half compressible text in thousands of small files), both extracting
# into a tmpfs mounted for the run.  Prints the median of N runs (default
# 5) of each and their ratio.  Needs root (mount).  Not part of make check.
#
#	tests/bench/untar_bench.sh [RUNS]
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
tool=${PD_BUILD:-$top/build}/tests/tools/untar_tool
runs=${1:-5}
[ -x "$tool" ] || { echo "build $tool first (make tests)" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "needs root (mounts a tmpfs)" >&2; exit 1; }

mnt=$(mktemp -d /tmp/pd-untar-bench.XXXXXX)
cleanup() {
	cd /
	umount "$mnt" 2>/dev/null || true
	rmdir "$mnt"
}
trap cleanup EXIT INT TERM
mount -t tmpfs -o size=2g,mode=0700 pd-untar-bench "$mnt"

python3 - "$mnt/src" <<'EOF'
import os, random, sys
root = sys.argv[1]
rnd = random.Random(1)
words = ["".join(rnd.choice("abcdefghijklmnopqrstuvwxyz")
                 for _ in range(rnd.randint(2, 9))) for _ in range(300)]
os.makedirs(root)
for i in range(46):                      # 46 x 1 MiB incompressible
    d = os.path.join(root, "blob", "%02d" % (i % 5))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "r%03d.bin" % i), "wb") as f:
        f.write(rnd.randbytes(1 << 20))
for i in range(5000):                    # 5000 x ~11 KB source-like text
    d = os.path.join(root, "usr", "share", "d%03d" % (i // 50))
    os.makedirs(d, exist_ok=True)
    lines = []
    n = 0
    while n < 11000:
        a, b = rnd.choice(words), rnd.choice(words)
        lines.append("static int %s_%d(struct %s *p) { return p->%s + %d; }\n"
                     % (a, rnd.randrange(1000), b, a, rnd.randrange(100)))
        n += len(lines[-1])
    with open(os.path.join(d, "f%04d.c" % i), "w") as f:
        f.write("".join(lines))
EOF
tar -C "$mnt/src" -czf "$mnt/layer.tar.gz" .
rm -rf "$mnt/src"
printf 'layer: %s bytes compressed, %s bytes uncompressed, %s entries\n' \
    "$(stat -c %s "$mnt/layer.tar.gz")" \
    "$(gzip -dc "$mnt/layer.tar.gz" | wc -c)" \
    "$(tar -tzf "$mnt/layer.tar.gz" | wc -l)"

now() { date +%s.%N; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

i=0
: >"$mnt/t_tool"
: >"$mnt/t_tar"
while [ "$i" -lt "$runs" ]; do
	i=$((i + 1))
	for kind in tool tar; do
		d="$mnt/out.$kind.$i"
		mkdir "$d"
		cat "$mnt/layer.tar.gz" >/dev/null
		t0=$(now)
		if [ "$kind" = tool ]; then
			"$tool" "$mnt/layer.tar.gz" "$d" >/dev/null
		else
			tar -xzf "$mnt/layer.tar.gz" -C "$d"
		fi
		t1=$(now)
		echo "$t1 - $t0" | bc >>"$mnt/t_$kind"
	done
	# Deleting is slow and not part of what is measured.
	rm -rf "$mnt/out.tool.$i" "$mnt/out.tar.$i"
done
tool_s=$(median <"$mnt/t_tool")
tar_s=$(median <"$mnt/t_tar")
printf 'untar_tool median %.3f s, tar xzf median %.3f s (%d runs)\n' \
    "$tool_s" "$tar_s" "$runs"
printf 'ratio untar_tool/tar: %.2f\n' "$(echo "$tool_s / $tar_s" | bc -l)"

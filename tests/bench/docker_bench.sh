#!/bin/bash
# make bench-docker (issue 16): the same plugin workload through Debian's
# dockerd, through plugind (pluginctl) and through the docker CLI against
# plugind's Engine API (--docker-api), interleaved run by run, on one
# loopback docker-registry; medians with min-max, the raw one-pass floor
# (curl | tee >(sha256sum) | tar xz) for the installs, and the RSS of
# every process of each system (idle, and the peak during the big
# install, sampled every 20 ms).  dockerd runs in a mount namespace of
# its own (tests/engines/engine.sh): own data/exec roots, no bridge, no
# iptables, its own containerd namespace, stopped by PID; the host is
# not changed.
#	tests/bench/docker_bench.sh [RUNS-SMALL [RUNS-BIG]]
set -u
export PD_TOP=$(cd "$(dirname "$0")/../.." && pwd)
export PD_BUILD=${PD_BUILD:-$PD_TOP/build}
RS=${1:-9} RB=${2:-5}
. "$PD_TOP/tests/engines/engine.sh" >/dev/null
command -v dockerd >/dev/null || { echo "docker_bench: dockerd not installed (apt-get install docker.io)" >&2; exit 1; }
DCLI=$(command -v docker)

T=$(mktemp -d /var/tmp/pd-dbench.XXXXXX); chmod 755 "$T"; track_dir "$T"
track_runc "$T/b/exec/runc"; track_mounts_under "$T"
reg_start "$T/reg" anon || exit 1
R="127.0.0.1:$REG_PORT"

# The plugins: the volplugin fixture plus ~1 MB (small) or ~200 MB in
# 5 000 files (big) of content.
python3 - "$T/small" "$T/big" <<'PY'
import os, random, sys
def mk(root, nrand, randsz, ntext, textsz):
    rnd = random.Random(7)
    for d in ("data", "text", "run/docker/plugins"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    for i in range(nrand):
        open(os.path.join(root, "data", "r%03d" % i), "wb").write(os.urandom(randsz))
    words = ["".join(rnd.choice("abcdefghij") for _ in range(rnd.randint(2, 8))) for _ in range(500)]
    for i in range(ntext):
        d = os.path.join(root, "text", "d%02d" % (i % 50)); os.makedirs(d, exist_ok=True)
        n, out = 0, []
        while n < textsz:
            w = rnd.choice(words); out.append(w); n += len(w) + 1
        open(os.path.join(d, "f%05d.txt" % i), "w").write(" ".join(out))
mk(sys.argv[1], 2, 300 * 1024, 200, 2 * 1024)
mk(sys.argv[2], 20, 5 * 1024 * 1024, 5000, 20 * 1024)
PY
for s in small big; do
	cp "$VOLPLUGIN" "$T/$s/plugin"
	mkdir -p "$T/ctx-$s" && ln -s "$T/$s" "$T/ctx-$s/rootfs"
	cat >"$T/ctx-$s/config.json" <<'JSON'
{"Description": "bench", "Entrypoint": ["/plugin"],
 "Interface": {"Socket": "vol.sock", "Types": ["docker.volumedriver/1.0"]},
 "Network": {"Type": "host"}, "PropagatedMount": "/data"}
JSON
	python3 "$PD_TOP/tests/registry/push_plugin.py" --registry "http://$R" --repo bench/$s \
	    --rootfs "$T/$s" --config "$T/ctx-$s/config.json" --info "$T/$s.json" >/dev/null || exit 1
done
# docker plugin create wants rootfs/ as a directory.
for s in small big; do rm "$T/ctx-$s/rootfs"; cp -a "$T/$s" "$T/ctx-$s/rootfs"; done

echo '{"stop-timeout": 3, "limits": {"max-layer-bytes": 4294967296, "max-compressed": 4294967296, "max-file": 1073741824, "max-ratio": 1000}}' >"$T/conf.json"
start_broker "$T/b" --config "$T/conf.json" --docker-api "unix://$T/api.sock" || exit 1
mkdir -p "$T/pub"
dockerd_start "$T/dk" "$T/pub" || exit 1
export DOCKER_CONFIG="$T/dockercfg"; mkdir -p "$DOCKER_CONFIG"

# One command line per system: d = dockerd, p = plugind, c = docker CLI
# against plugind's Engine API.
sys_cmd() {
	case $1 in
	d) echo "$DCLI -H unix://$T/dk/docker.sock plugin" ;;
	p) echo "$CTL -H unix://$SOCK" ;;
	c) echo "$DCLI -H unix://$T/api.sock plugin" ;;
	esac
}
now() { date +%s%N; }
# timed SYS VERB CMD...: run CMD, append its wall time (s) to $T/t.SYS.VERB.
timed() {
	_s=$1 _v=$2; shift 2
	_a=$(now); "$@" >/dev/null 2>"$T/err" </dev/null || { echo "docker_bench: $_s $_v failed: $*" >&2; cat "$T/err" >&2; }
	_b=$(now); echo "scale=4; ($_b - $_a) / 1000000000" | bc >>"$T/t.$_s.$_v"
}

# rss_kb ROOT...: VmRSS of the ROOT processes and all their descendants.
rss_kb() {
	ps -e -o pid=,ppid=,rss= | awk -v roots="$*" '
	    BEGIN { n = split(roots, r, " "); for (i = 1; i <= n; i++) in_[r[i]] = 1 }
	    { pid[NR] = $1; pp[NR] = $2; rs[NR] = $3 }
	    END { do { ch = 0; for (i = 1; i <= NR; i++) if (!(pid[i] in in_) && (pp[i] in in_)) { in_[pid[i]] = 1; ch = 1 } } while (ch)
	          for (i = 1; i <= NR; i++) if (pid[i] in in_) s += rs[i]; print s + 0 }'
}
# pss_kb ROOT...: the same processes' proportional set size (smaps_rollup),
# which counts a page shared by N processes as 1/N in each: the sum is
# what they cost together.  RSS counts shared libraries once per process.
pss_kb() {
	for _p in $(ps -e -o pid=,ppid= | awk -v roots="$*" '
	    BEGIN { n = split(roots, r, " "); for (i = 1; i <= n; i++) in_[r[i]] = 1 }
	    { pid[NR] = $1; pp[NR] = $2 }
	    END { do { ch = 0; for (i = 1; i <= NR; i++) if (!(pid[i] in in_) && (pp[i] in in_)) { in_[pid[i]] = 1; ch = 1 } } while (ch)
	          for (i = 1; i <= NR; i++) if (pid[i] in in_) print pid[i] }'); do
		cat /proc/$_p/smaps_rollup 2>/dev/null
	done | awk '$1 == "Pss:" { s += $2 } END { print s + 0 }'
}
# The roots of each system: plugind is the broker (helpers and plugins
# are its children); dockerd is every process of its mount namespace
# (dockerd, containerd, the shims, which are not dockerd's children) and
# their children (the plugins).
roots_of() {
	case $1 in
	p) echo "$BROKER_PID" ;;
	d) mntns_pids "$(stat -L -c %i /proc/$DOCKERD_PID/ns/mnt)" | tr '\n' ' ' ;;
	esac
}
# peak_during SYS ROOTS-SYS FILE CMD...: CMD timed as SYS's "big", the
# peak RSS sum of ROOTS-SYS's processes in FILE.
peak_during() {
	_ps=$1 _rs=$2 _f=$3; shift 3
	( m=0 q=0; while :; do r=$(roots_of $_rs); k=$(rss_kb $r); [ "$k" -gt "$m" ] && { m=$k; echo $m >"$_f"; }
	  k=$(pss_kb $r); [ "$k" -gt "$q" ] && { q=$k; echo $q >"$_f.pss"; }; sleep 0.02; done ) &
	_sp=$!
	timed "$_ps" big "$@"
	kill $_sp; wait $_sp 2>/dev/null
}

# The raw one-pass floor for each layer blob, sampled inside the loops
# below (once per round, beside the three systems), so that it runs under
# the same conditions (page cache, writeback of earlier rounds) as they do.
floor() {
	_i=0
	while [ $_i -lt "$2" ]; do
		rm -rf "$T/raw"; mkdir "$T/raw"
		_a=$(now)
		curl -s "http://$R/v2/bench/$1/blobs/$3" | tee >(sha256sum >/dev/null) | tar xzf - -C "$T/raw"
		_b=$(now); echo "scale=4; ($_b - $_a) / 1000000000" | bc >>"$T/t.raw.$1"
		_i=$((_i + 1))
	done
}
layer_of() { # the first layer digest of bench/NAME, from the registry
	curl -s -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "http://$R/v2/bench/$1/manifests/latest" |
	    python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][0]["digest"])'
}
LS=$(layer_of small) LB=$(layer_of big)

idle_p=$(rss_kb $(roots_of p)); idle_d=$(rss_kb $(roots_of d))
ipss_p=$(pss_kb $(roots_of p)); ipss_d=$(pss_kb $(roots_of d))

i=0
while [ $i -lt "$RS" ]; do
	for s in d p c; do
		X=$(sys_cmd $s); n="s$s$i"
		timed $s install-disable $X install --grant-all-permissions --disable --alias $n "$R/bench/small"
		timed $s enable $X enable $n
		timed $s ls $X ls
		timed $s inspect $X inspect $n
		timed $s disable $X disable $n
		timed $s rm $X rm $n
		timed $s install-enable $X install --grant-all-permissions --alias e$n "$R/bench/small"
		$X rm -f e$n >/dev/null 2>&1
		timed $s create $X create "$R/push$s/c$i" "$T/ctx-small"
		timed $s push-cold $X push "$R/push$s/c$i"
		timed $s push-warm $X push "$R/push$s/c$i"
		$X rm -f "$R/push$s/c$i" >/dev/null 2>&1
	done
	floor small 1 "$LS"
	i=$((i + 1))
done
peak_p=0 peak_d=0
i=0
while [ $i -lt "$RB" ]; do
	for s in d p c; do
		X=$(sys_cmd $s); n="b$s$i"
		rs=$s; [ $s = c ] && rs=p
		peak_during $s $rs "$T/peak.$s.$i" $X install --grant-all-permissions --disable --alias $n "$R/bench/big"
		$X rm -f $n >/dev/null 2>&1
	done
	floor big 1 "$LB"
	i=$((i + 1))
done


stat3() { sort -n "$1" | awk '{a[NR] = $1} END {printf "%.3f %.3f %.3f", a[int((NR + 1) / 2)], a[1], a[NR]}'; }
cell() { [ -s "$T/t.$1.$2" ] || { printf '%-22s' "-"; return; }; set -- $(stat3 "$T/t.$1.$2"); printf '%-22s' "$1 ($2-$3)"; }
med() { stat3 "$T/t.$1.$2" | cut -d' ' -f1; }
ratio() { printf "%.2f" "$(echo "$(med $1 $3) / $(med $2 $3)" | bc -l)"; }

echo "plugind vs dockerd $(dockerd --version | sed 's/Docker version //;s/,.*//'), one loopback registry, interleaved;"
echo "medians (min-max) in seconds of $RS small / $RB big runs; ratios are medians over dockerd's"
printf '%-16s%-22s%-22s%-22s%-9s%-9s\n' verb dockerd plugind "docker CLI->plugind" "p/d" "cli/d"
for v in install-enable install-disable enable disable ls inspect rm create push-cold push-warm big; do
	printf '%-16s' "$v"; cell d $v; cell p $v; cell c $v
	printf '%-9s%-9s\n' "$(ratio p d $v)" "$(ratio c d $v)"
done
fs=$(med raw small); fb=$(med raw big)
printf 'raw one-pass floor (curl | tee >(sha256sum) | tar xz): small %s s, big %s s\n' "$fs" "$fb"
printf 'install --disable over the floor: small plugind %.2fx, dockerd %.2fx; big plugind %.2fx, dockerd %.2fx\n' \
    "$(echo "$(med p install-disable) / $fs" | bc -l)" "$(echo "$(med d install-disable) / $fs" | bc -l)" \
    "$(echo "$(med p big) / $fb" | bc -l)" "$(echo "$(med d big) / $fb" | bc -l)"
pk() { cat "$T"/peak.$1.[0-9] "$T"/peak.$1.[0-9][0-9] 2>/dev/null | sort -n | tail -n1; }
pkp() { cat "$T"/peak.$1.*.pss 2>/dev/null | sort -n | tail -n1; }
# The peak of plugind's own processes is sampled in its pluginctl runs.
printf 'RSS, all processes: idle plugind %d KiB, dockerd+containerd %d KiB; peak during the big install plugind %d KiB, dockerd %d KiB (%.3f of dockerd)\n' \
    "$idle_p" "$idle_d" "$(pk p)" "$(pk d)" "$(echo "$(pk p) / $(pk d)" | bc -l)"
printf 'PSS, all processes: idle plugind %d KiB, dockerd+containerd %d KiB; peak during the big install plugind %d KiB, dockerd %d KiB (%.3f of dockerd)\n' \
    "$ipss_p" "$ipss_d" "$(pkp p)" "$(pkp d)" "$(echo "$(pkp p) / $(pkp d)" | bc -l)"

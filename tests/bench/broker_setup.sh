# Sourced by tests/bench/*_bench.sh: a broker on a tmpfs of SIZE at $T,
# stopped and cleaned up (plugins, mounts, directory) on exit; ctl() talks
# to it; $P is a plugin directory around the volplugin fixture.  Set B
# first; BP is the broker's pid; a benchmark may set MP, a pid to stop
# before the broker.
#
#	bench_broker SIZE
bench_broker() {
	T=$(mktemp -d /tmp/pdbench.XXXXXX)
	BP="" MP=""
	trap bench_cleanup EXIT INT TERM
	mount -t tmpfs -o size="$1" pdbench "$T"
	"$B/plugind" --data-root "$T/d" --exec-root "$T/e" --helper-dir "$B" \
	    --publish-docker-dir "$T/pub" --publish-podman-conf "$T/podman/plugind.conf" \
	    >"$T/broker.log" 2>&1 &
	BP=$!
	i=0; while [ ! -S "$T/e/plugind.sock" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	P="$T/src"; mkdir -p "$P/rootfs/run/docker/plugins" "$P/rootfs/data"
	cp "$B/fixtures/volplugin" "$P/rootfs/volplugin"
	cat >"$P/config.json" <<'JSON'
{"description": "bench volume plugin", "entrypoint": ["/volplugin"],
 "interface": {"socket": "vol.sock", "types": ["docker.volumedriver/1.0"]},
 "network": {"type": "host"}, "propagatedmount": "/data"}
JSON
}

bench_cleanup() {
	[ -n "$MP" ] && kill "$MP" 2>/dev/null && wait "$MP" 2>/dev/null
	[ -n "$BP" ] && kill "$BP" 2>/dev/null && wait "$BP" 2>/dev/null
	for c in $(ls "$T/e/runc" 2>/dev/null); do runc --root "$T/e/runc" delete -f "$c" >/dev/null 2>&1; done
	# Gateways and log writers outlive the broker: found by their root.
	for p in $(pgrep -x plugind-gateway; pgrep -x plugind-logger); do
		case "$(readlink "/proc/$p/root" 2>/dev/null)" in
		"$T"/*) kill -KILL "$p" 2>/dev/null ;;
		esac
	done
	awk -v p="$T" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
	    while read -r m; do umount -l "$m"; done
	rm -rf "$T"
}

ctl() { "$B/pluginctl" -H "unix://$T/e/plugind.sock" "$@"; }

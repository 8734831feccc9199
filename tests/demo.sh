#!/bin/sh
# The main job on a built-in default: start plugind on a throw-away data
# root, show what it runs and how its helpers are sandboxed, list plugins.
# (Later steps: a local registry, the sample plugin, install, enable, use.)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
B="$top/build"
T=$(mktemp -d /tmp/plugind-demo.XXXXXX)
SOCK="$T/exec/plugind.sock"
pid=""
cleanup() {
	[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

echo "+ plugind --data-root $T/data --exec-root $T/exec --helper-dir $B &"
"$B/plugind" --data-root "$T/data" --exec-root "$T/exec" --helper-dir "$B" \
    2>"$T/plugind.log" &
pid=$!
i=0
until [ -S "$SOCK" ] || [ $i -ge 100 ]; do sleep 0.05; i=$((i + 1)); done
[ -S "$SOCK" ] || { cat "$T/plugind.log"; exit 1; }
run() { echo "+ pluginctl $*"; "$B/pluginctl" -H "unix://$SOCK" "$@"; }
run info
# A sample plugin directory: config.json + a rootfs with a static busybox.
P="$T/sample"
mkdir -p "$P/rootfs/bin" "$P/rootfs/run/docker/plugins"
cp /bin/busybox "$P/rootfs/bin/busybox"
cat >"$P/config.json" <<'JSON'
{"description": "plugind sample plugin", "documentation": "https://example.invalid",
 "entrypoint": ["/bin/busybox", "nc", "-lk", "-s", "/run/docker/plugins/sample.sock"],
 "interface": {"socket": "sample.sock", "types": ["docker.volumedriver/1.0"]},
 "env": [{"name": "DEBUG", "settable": ["value"], "value": "0"}]}
JSON
run create sample "$P"
run ls
run set sample DEBUG=1
run inspect -f '{{.Name}} {{.Id}} {{json .Settings.Env}}' sample
echo "+ kill -TERM plugind"
kill -TERM "$pid"; wait "$pid"; pid=""
echo "--- plugind log ---"
cat "$T/plugind.log"

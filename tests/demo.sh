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
run ls
run inspect vieux/sshfs || true
echo "+ kill -TERM plugind"
kill -TERM "$pid"; wait "$pid"; pid=""
echo "--- plugind log ---"
cat "$T/plugind.log"

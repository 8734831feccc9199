#!/bin/sh
# The main job on a built-in default: a throw-away local registry
# (Debian's docker-registry on 127.0.0.1), the sample volume-driver plugin
# pushed to it, plugind on a throw-away data root, `pluginctl install`
# (fetch, verify, unpack, enable), then the plugin used over its socket,
# its logs, disable, rm, and the event stream.  Also `create` and `set`.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
B="$top/build"
# Short: a plugin socket path (<exec-root>/plugins/<64 hex>/<socket>) must
# fit the 108 bytes of a unix socket address.
T=$(mktemp -d /tmp/pdemo.XXXXXX)
SOCK="$T/exec/plugind.sock"
pid=""
cleanup() {
	[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	sh "$top/tests/registry/registry.sh" stop "$T/reg" >/dev/null 2>&1 || true
	# The gateways outlive plugind (docs/CONSUMERS.md): found by their root.
	for g in $(pgrep -x plugind-gateway); do
		case "$(readlink "/proc/$g/root")" in "$T"/*) kill -KILL "$g" ;; esac
	done
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

# Engines' discovery (docs/CONSUMERS.md) in the demo's directory too.
echo "+ plugind --data-root $T/data --exec-root $T/exec --helper-dir $B --publish-docker-dir $T/pub --publish-podman-conf $T/podman/plugind.conf &"
"$B/plugind" --data-root "$T/data" --exec-root "$T/exec" --helper-dir "$B" \
    --publish-docker-dir "$T/pub" --publish-podman-conf "$T/podman/plugind.conf" \
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
# A local registry with the sample volume driver (tests/fixtures/volplugin.c,
# static) pushed to it over the registry API.
echo "+ tests/registry/registry.sh start (docker-registry on 127.0.0.1)"
PORT=$(sh "$top/tests/registry/registry.sh" start "$T/reg" anon)
REF="127.0.0.1:$PORT/sample/volplugin:latest"
echo "+ push_plugin.py --plugin-binary build/fixtures/volplugin -> $REF"
cat >"$T/volcfg.json" <<'JSON'
{"description": "sample volume driver", "entrypoint": ["/plugin"],
 "interface": {"socket": "vol.sock", "types": ["docker.volumedriver/1.0"]},
 "network": {"type": "host"}, "propagatedMount": "/data"}
JSON
python3 "$top/tests/registry/push_plugin.py" --registry "http://127.0.0.1:$PORT" \
    --repo sample/volplugin --plugin-binary "$B/fixtures/volplugin" --socket vol.sock \
    --config "$T/volcfg.json"
run privileges "$REF"
run install --grant-all-permissions --alias vol "$REF"
# What dockerd and Podman use: the published socket, through the gateway.
S="$T/pub/vol.sock"
echo "+ cat $T/podman/plugind.conf (Podman's drop-in)"
cat "$T/podman/plugind.conf"
echo "+ curl --unix-socket $S -X POST http://plugin/VolumeDriver.Create -d '{\"Name\":\"v1\"}'"
curl -sS --unix-socket "$S" -X POST http://plugin/VolumeDriver.Create -d '{"Name":"v1"}'; echo
echo "+ curl --unix-socket $S -X POST http://plugin/VolumeDriver.Mount -d '{\"Name\":\"v1\",\"ID\":\"c1\"}'"
curl -sS --unix-socket "$S" -X POST http://plugin/VolumeDriver.Mount -d '{"Name":"v1","ID":"c1"}'; echo
echo "+ ls <data-root>/plugins/<id>/propagated-mount/volumes"
ls "$T/data/plugins/$("$B/pluginctl" -H "unix://$SOCK" inspect -f '{{.Id}}' vol)/propagated-mount/volumes"
run ls
run inspect -f '{{.Name}} enabled={{.Enabled}} ref={{.PluginReference}} in-use={{json .InUse}}' vol
run logs vol
echo "+ pluginctl disable vol (refused: the volume and its mount are held)"
! "$B/pluginctl" -H "unix://$SOCK" disable vol
echo "+ curl --unix-socket $S -X POST http://plugin/VolumeDriver.Unmount, then .Remove"
curl -sS --unix-socket "$S" -X POST http://plugin/VolumeDriver.Unmount -d '{"Name":"v1","ID":"c1"}'; echo
curl -sS --unix-socket "$S" -X POST http://plugin/VolumeDriver.Remove -d '{"Name":"v1"}'; echo
run disable vol
echo "+ curl --unix-socket $S -X POST http://plugin/VolumeDriver.Create (disabled: the name says so)"
curl -sS --unix-socket "$S" -X POST http://plugin/VolumeDriver.Create -d '{"Name":"v2"}'; echo
run rm vol
run events --since 1m --until 0s
echo "+ kill -TERM plugind"
kill -TERM "$pid"; wait "$pid"; pid=""
echo "--- plugind log ---"
cat "$T/plugind.log"

#!/bin/sh
# pluginctl create: a plugin from a directory (config.json + rootfs/),
# split and applied by the sandboxed extractor, stored as Docker would.
. "$(dirname "$0")/../lib.sh"

T=$(mktemp -d /tmp/pd-create.XXXXXX); track_dir "$T"; chmod 755 "$T"
P="$T/plugin"
mkdir -p "$P/rootfs/bin" "$P/rootfs/run/docker/plugins" "$P/rootfs/etc"
cp /bin/busybox "$P/rootfs/bin/busybox"
ln -s busybox "$P/rootfs/bin/sh"
ln "$P/rootfs/bin/busybox" "$P/rootfs/bin/ls"
echo hello >"$P/rootfs/etc/motd"
chmod 4755 "$P/rootfs/etc/motd"
cat >"$P/config.json" <<'JSON'
{"description": "sample volume plugin", "documentation": "https://example.com",
 "entrypoint": ["/bin/sh", "-c", "sleep 1000"],
 "interface": {"socket": "sample.sock", "types": ["docker.volumedriver/1.0"]},
 "network": {"type": "host"}, "unknownkey": 1,
 "env": [{"name": "DEBUG", "settable": ["value"], "value": "0"}],
 "mounts": [{"name": "data", "source": "/tmp", "destination": "/data",
             "type": "bind", "options": ["rbind"], "settable": ["source"]}]}
JSON

start_broker "$T/b" || { notok "broker starts"; done_testing; exit 1; }
D="$T/b/data"
blobs() { ls "$D/storage/blobs/sha256" | wc -l; }

out=$(ctl create sample "$P" 2>&1)
[ "$out" = sample ] && ok "create prints the plugin name" || { notok "create"; diag "$out"; }
ID=$(ctl inspect -f '{{.Id}}' sample)
[ ${#ID} = 64 ] && ok "created plugin has a 64-hex id" || notok "id: $ID"
[ "$(ctl inspect -f '{{.Name}} {{.PluginReference}} {{.Enabled}}' sample)" = "sample:latest sample:latest false" ] &&
    ok "name, reference (local name, as Docker) and disabled" || notok "name/reference/enabled"
[ "$(ctl inspect -f '{{json .Settings.Env}}' sample)" = '["DEBUG=0"]' ] && ok "settings initialised from config" || notok "settings"
[ "$(ctl inspect -f '{{.Config.Description}} {{.Config.Interface.Socket}}' sample)" = "sample volume plugin sample.sock" ] &&
    ok "lowercase config keys decoded" || notok "config decoding"
ctl inspect -f '{{json .Config}}' sample | grep -q unknownkey && notok "unknown key kept" || ok "unknown config keys dropped"
R="$D/plugins/$ID/rootfs"
if diff -r --no-dereference "$P/rootfs" "$R" >/dev/null 2>&1; then ok "rootfs equals the source tree"
else notok "rootfs differs"; diag "$(diff -r --no-dereference "$P/rootfs" "$R" 2>&1 | head -5)"; fi
[ "$(stat -c %i "$R/bin/busybox")" = "$(stat -c %i "$R/bin/ls")" ] && ok "hard link preserved" || notok "hard link"
[ "$(readlink "$R/bin/sh")" = busybox ] && ok "symlink preserved" || notok "symlink"
[ -d "$R/run/docker/plugins" ] && ok "run/docker/plugins present" || notok "run/docker/plugins"

S="$D/plugins/$ID/config.json"
cfgd=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['Config'])" "$S")
layer=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['Blobsums'][0])" "$S")
mand=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['Manifest'])" "$S")
B="$D/storage/blobs/sha256"
[ "$(sha256sum "$B/${cfgd#sha256:}" | cut -d' ' -f1)" = "${cfgd#sha256:}" ] && ok "config blob stored under its digest" || notok "config blob"
[ "$(tail -c1 "$B/${cfgd#sha256:}" | od -An -c | tr -d ' ')" = '\n' ] && ok "config blob ends in a newline (json.Encoder)" || notok "config newline"
python3 - "$B/${cfgd#sha256:}" "$layer" <<'PY' && ok "config rootfs.diff_ids is the compressed layer digest (Docker's form)" || notok "diff_ids"
import json, sys
c = json.load(open(sys.argv[1]))
assert c["rootfs"] == {"type": "layers", "diff_ids": [sys.argv[2]]}, c["rootfs"]
PY
python3 - "$B/${mand#sha256:}" "$cfgd" "$layer" <<'PY' && ok "schema2 manifest with Docker's media types" || notok "manifest"
import json, sys
m = json.load(open(sys.argv[1]))
assert m["schemaVersion"] == 2
assert m["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
assert m["config"]["mediaType"] == "application/vnd.docker.plugin.v1+json"
assert m["config"]["digest"] == sys.argv[2]
assert [l["mediaType"] for l in m["layers"]] == ["application/vnd.docker.image.rootfs.diff.tar.gzip"]
assert m["layers"][0]["digest"] == sys.argv[3]
PY
gzip -t "$B/${layer#sha256:}" && ok "layer blob is gzip" || notok "layer gzip"
tar tzf "$B/${layer#sha256:}" | grep -qx 'bin/busybox' && ok "layer is re-rooted (no rootfs/ prefix)" || notok "layer paths"
[ "$(blobs)" = 3 ] && ok "three blobs: manifest, config, layer" || notok "blob count $(blobs)"

expect_fail "create of an existing name" "plugin sample:latest already exists" ctl create sample "$P"
check "create of the same content under another name succeeds (Docker: 409)" ctl create sample2 "$P"
[ "$(blobs)" = 3 ] && ok "identical content shares blobs" || notok "blob count $(blobs)"
check "create --compress" ctl create --compress sample3:v1 "$P"
[ "$(ctl inspect -f '{{.Name}}' sample3:v1)" = sample3:v1 ] && ok "tagged name kept" || notok "tagged name"

mkdir -p "$T/bad1/rootfs"
expect_fail "missing config.json is named" "$T/bad1/config.json: No such file" ctl create bad "$T/bad1"
mkdir -p "$T/bad2/rootfs"; echo '{"entrypoint": [' >"$T/bad2/config.json"
expect_fail "invalid JSON" "failed to parse plugin config" ctl create bad "$T/bad2"
mkdir -p "$T/bad3"; cp "$P/config.json" "$T/bad3/"
expect_fail "no rootfs" "needs a rootfs/ directory" ctl create bad "$T/bad3"
echo '{"entrypoint": "/x", "interface": {"socket": "s"}}' >"$T/bad2/config.json"
expect_fail "config with a wrong type" '"Entrypoint" must be an array' ctl create bad "$T/bad2"
expect_fail "uppercase name" "must be lowercase" ctl create BadName "$P"
expect_fail "digest name" "canonical references are not permitted" ctl create "x@sha256:$(printf '%064d' 0)" "$P"
mkdir -p "$T/bad4/rootfs"; cp "$P/config.json" "$T/bad4/"; mkfifo "$T/bad4/rootfs/fifo"
n=$(blobs)
expect_fail "a layer the extractor refuses fails create" "forbidden_type" ctl create bad "$T/bad4"
[ "$(blobs)" = "$n" ] && ok "failed create leaves no blobs behind" || notok "blobs left: $(blobs) vs $n"
[ -z "$(job_tmp "$D")" ] && ok "no staging directories left" || notok "tmp not empty: $(ls "$D/tmp")"
expect_fail "failed create is not listed" "not found" ctl inspect bad
[ "$(ctl ls -q | wc -l)" = 3 ] && ok "three plugins listed" || notok "ls count"

# The state survives a restart.
stop_broker $BROKER_PID
start_broker "$T/b" && [ "$(ctl inspect -f '{{.Id}}' sample)" = "$ID" ] && ok "created plugin reloads after restart" || notok "reload"
done_testing

#!/bin/sh
# plugininst from a real registry (Debian's docker-registry on
# 127.0.0.1): anonymous, Basic, Bearer token and TLS; single and multi
# layer, OCI, index, digest references; privileges; errors leave no state.
. "$(dirname "$0")/../lib.sh"

command -v docker-registry >/dev/null || [ -x /usr/bin/docker-registry ] ||
    { skip "docker-registry not installed (make deps installs it)"; done_testing; exit 0; }
[ -f "$PD_TOP/tests/registry/registry.sh" ] ||
    { skip "tests/registry/ not here yet (lands with the fetcher)"; done_testing; exit 0; }
T=$(mktemp -d /tmp/pd-install.XXXXXX); track_dir "$T"; chmod 755 "$T"
REG="$PD_TOP/tests/registry"
PUSH="python3 $REG/push_plugin.py"
RAW="$PD_BUILD/tests/tools/rawctl"
# These plugins have no real entrypoint: install them without enabling.
inst() { ctl install --disable "$@"; }

reg_start "$T/reg" anon || { notok "registry starts"; done_testing; exit 1; }
PORT=$REG_PORT
R="127.0.0.1:$PORT"
ok "registry on $R"

# A plugin with a known rootfs and config.
P="$T/p"; mkdir -p "$P/rootfs/bin" "$P/rootfs/etc" "$P/rootfs/run/docker/plugins"
cp /bin/busybox "$P/rootfs/bin/"; ln -s busybox "$P/rootfs/bin/sh"; echo hi >"$P/rootfs/etc/motd"
cat >"$T/cfg-plain.json" <<'JSON'
{"Description": "test plugin", "Entrypoint": ["/bin/sh"],
 "Interface": {"Socket": "t.sock", "Types": ["docker.volumedriver/1.0"]},
 "Env": [{"Name": "DEBUG", "Settable": ["value"], "Value": "0"}]}
JSON
cat >"$T/cfg-priv.json" <<'JSON'
{"Description": "needs privileges", "Entrypoint": ["/bin/sh"],
 "Interface": {"Socket": "t.sock", "Types": ["docker.volumedriver/1.0"]},
 "Network": {"Type": "host"},
 "Mounts": [{"Name": "m", "Source": "/var/lib/x", "Destination": "/x", "Type": "bind"}],
 "Linux": {"Capabilities": ["CAP_SYS_ADMIN"]}}
JSON
D1=$($PUSH --registry "http://$R" --repo test/p1 --rootfs "$P/rootfs" --config "$T/cfg-plain.json" --info "$T/p1.json") ||
    notok "push test/p1"
$PUSH --registry "http://$R" --repo test/multi --layers 3 --layer-size 300000 >/dev/null || notok "push multi"
$PUSH --registry "http://$R" --repo test/oci --oci >/dev/null || notok "push oci"
$PUSH --registry "http://$R" --repo test/idx --index >/dev/null || notok "push index"
$PUSH --registry "http://$R" --repo test/idxoci --index --oci >/dev/null || notok "push oci index"
$PUSH --registry "http://$R" --repo test/image --image >/dev/null || notok "push image"
$PUSH --registry "http://$R" --repo test/priv --rootfs "$P/rootfs" --config "$T/cfg-priv.json" >/dev/null || notok "push priv"

start_broker "$T/b" || { notok "broker starts"; done_testing; exit 1; }
DR="$T/b/data"
nblobs() { ls "$DR/storage/blobs/sha256" | wc -l; }

out=$(ctl privileges "$R/test/p1" 2>&1)
case "$out" in *"requests no privileges"*) ok "privileges: none for a plain plugin" ;; *) notok "privileges"; diag "$out" ;; esac
out=$(inst "$R/test/p1" DEBUG=1 </dev/null 2>&1)
case "$out" in *"Installed plugin $R/test/p1:latest"*) ok "install from the registry" ;;
*) notok "install"; diag "$out" ;; esac
case "$out" in *"Pull complete"*) ok "progress lines shown" ;; *) notok "progress lines"; diag "$out" ;; esac
case "$out" in *"Digest: $D1"*) ok "digest printed" ;; *) notok "digest line" ;; esac
[ "$(ctl inspect -f '{{.Name}} {{.PluginReference}} {{.Enabled}}' "$R/test/p1")" = "$R/test/p1:latest $R/test/p1:latest false" ] &&
    ok "name, reference, disabled" || notok "inspect: $(ctl inspect -f '{{.Name}} {{.PluginReference}} {{.Enabled}}' "$R/test/p1" 2>&1)"
[ "$(ctl inspect -f '{{json .Settings.Env}}' "$R/test/p1")" = '["DEBUG=1"]' ] && ok "KEY=VALUE applied at install" || notok "install settings"
ID=$(ctl inspect -f '{{.Id}}' "$R/test/p1")
diff -r --no-dereference "$P/rootfs" "$DR/plugins/$ID/rootfs" >/dev/null 2>&1 && ok "rootfs equals the pushed tree" ||
    { notok "rootfs differs"; diag "$(diff -r --no-dereference "$P/rootfs" "$DR/plugins/$ID/rootfs" 2>&1 | head -3)"; }
python3 - "$DR/plugins/$ID/config.json" "$D1" "$DR/storage/blobs/sha256" <<'PY' && ok "state names manifest, config and layers; all stored and verified" || notok "state blobs"
import hashlib, json, os, sys
st = json.load(open(sys.argv[1])); store = sys.argv[3]
assert st["Manifest"] == sys.argv[2], (st["Manifest"], sys.argv[2])
for d in [st["Manifest"], st["Config"]] + st["Blobsums"]:
    h = d.split(":")[1]
    assert hashlib.sha256(open(os.path.join(store, h), "rb").read()).hexdigest() == h
PY
expect_fail "installing an existing name" "plugin $R/test/p1:latest already exists" inst "$R/test/p1"
n=$(nblobs)
out=$(inst --alias p1copy "$R/test/p1" 2>&1)
case "$out" in *"Already exists"*) ok "present blobs are not fetched again" ;; *) notok "Already exists"; diag "$out" ;; esac
[ "$(nblobs)" = "$n" ] && ok "no new blobs for the same content" || notok "blob count"
[ "$(ctl inspect -f '{{.Name}}' p1copy)" = p1copy:latest ] && ok "--alias names the plugin" || notok "alias"
# ls sizes its columns to their content, as docker's tabwriter: a name
# longer than the old fixed 30 characters does not run into DESCRIPTION.
LONG=a-plugin-name-well-past-thirty-characters
check "install under a 41-character alias" inst --alias "$LONG" "$R/test/p1"
out=$(ctl ls)
hd=$(printf '%s\n' "$out" | head -1)
row=$(printf '%s\n' "$out" | grep " $LONG:latest ")
dcol=$(printf '%s\n' "$hd" | awk '{ print index($0, "DESCRIPTION") }')
ncol=$(printf '%s\n' "$hd" | awk '{ print index($0, "NAME") }')
nl=$(printf '%s\n' "$row" | awk -v n="$LONG:latest" '{ print index($0, n) }')
if [ "$nl" = "$ncol" ] && [ "$dcol" -eq $((ncol + ${#LONG} + 7 + 3)) ] &&
    [ "$(printf '%s\n' "$row" | cut -c"$dcol"-$((dcol + 10)))" = "test plugin" ]; then
	ok "ls: NAME as wide as the longest name plus 3, DESCRIPTION after it"
else
	notok "ls column widths"; diag "$out"
fi
ctl rm "$LONG" >/dev/null || notok "rm the long-named plugin"
check "install by digest" inst --alias bydigest "$R/test/p1@$D1"
[ "$(ctl inspect -f '{{.PluginReference}}' bydigest)" = "$R/test/p1@$D1" ] && ok "digest reference recorded" || notok "digest ref"
expect_fail "unknown digest" "not found" inst --alias nod "$R/test/p1@sha256:$(printf '%064d' 0)"
check "multi-layer plugin" inst "$R/test/multi"
check "OCI manifest plugin" inst "$R/test/oci"
check "manifest list: this host's platform picked" inst "$R/test/idx"
check "OCI index" inst "$R/test/idxoci"
expect_fail "an image is not a plugin" "is not a plugin (config media type application/vnd.docker.container.image.v1+json" inst "$R/test/image"
expect_fail "unknown tag" "not found" inst "$R/test/p1:nosuchtag"
expect_fail "unknown repository" "not found" inst "$R/test/nosuchrepo"
expect_fail "registry down names host:port" "127.0.0.1:1" inst 127.0.0.1:1/test/p1
expect_fail "privileges, registry down" "127.0.0.1:1" ctl privileges 127.0.0.1:1/test/p1
# The fetcher's own "unavailable" error used to make the broker forget its
# fetcher: the helper and its channel outlived the job.
sleep 0.2
left=$(job_helpers fetcher | tr '\n' ' ')
[ -z "$left" ] && ok "no fetcher left after failed jobs" ||
    { notok "no fetcher left after failed jobs"; diag "still running: $left"; }

# A plugin that runs: install enables it unless --disable.
if $PUSH --registry "http://$R" --repo test/vol --plugin-binary "$PD_BUILD/fixtures/volplugin" \
    --socket vol.sock >/dev/null 2>"$T/volpush.err"; then
	out=$(ctl install --grant-all-permissions "$R/test/vol" 2>&1)
	case "$out" in *"Installed plugin $R/test/vol:latest"*) ok "install of a runnable plugin" ;;
	*) notok "install of a runnable plugin"; diag "$out" ;; esac
	[ "$(ctl inspect -f '{{.Enabled}}' "$R/test/vol")" = true ] && ok "install enables by default" ||
	    notok "not enabled after install"
	vid=$(ctl inspect -f '{{.Id}}' "$R/test/vol")
	[ -S "$T/b/exec/plugins/$vid/vol.sock" ] && ok "its socket is ready when install returns" || notok "socket missing"
	check "disable it" ctl disable "$R/test/vol"
else
	notok "push a runnable plugin"; diag "$(cat "$T/volpush.err")"
fi

# Privileges.
out=$(ctl privileges "$R/test/priv" 2>&1)
case "$out" in *" - network: [\"host\"]"*" - mount: [\"type=bind\" \"source=/var/lib/x\" \"destination=/x\" \"options=rbind,nosuid,nodev\"]"*" - capabilities: [\"CAP_SYS_ADMIN\"]"*) ok "privileges listed as docker does, each mount whole, values quoted" ;;
*) notok "privileges list"; diag "$out" ;; esac
expect_fail "no TTY and no --grant-all-permissions" "--grant-all-permissions" inst "$R/test/priv"
expect_fail "granting the wrong list is refused by the broker" "incorrect privileges" \
    "$RAW" "$SOCK" 103 0 "$R/test/priv" "" '[{"Name":"network","Description":"","Value":["host"]}]' ""
expect_fail "granting one more is refused too (CVE-2026-33997)" "incorrect privileges" \
    "$RAW" "$SOCK" 103 0 "$R/test/priv" "" "$(ctl privileges "$R/test/priv" >/dev/null; "$RAW" "$SOCK" 111 0 "$R/test/priv" "" | python3 -c 'import json,sys; l=json.load(sys.stdin); l.append({"Name":"device","Description":"","Value":["/dev/x"]}); print(json.dumps(l))')" ""
out=$(inst --grant-all-permissions "$R/test/priv" 2>&1) && ok "--grant-all-permissions installs" ||
    { notok "--grant-all-permissions installs"; diag "$out"; }
case "$out" in *"requesting the following privileges"*) notok "--grant-all-permissions still lists the privileges"; diag "$out" ;;
*) ok "--grant-all-permissions does not list the privileges it was not asked about" ;; esac

# Tampered blob: the registry serves bytes that do not match the digest.
$PUSH --registry "http://$R" --repo test/tamper --layer-size 4096 --seed 9 --info "$T/tamper.json" >/dev/null
L=$(python3 -c "import json,sys; i=json.load(open(sys.argv[1])); print(i['manifests'][0]['layers'][0]['digest'].split(':')[1])" "$T/tamper.json" 2>/dev/null)
f=$(find "$T/reg" -path "*blobs/sha256/*/$L/data" 2>/dev/null | head -1)
if [ -n "$f" ]; then
	python3 -c "import sys; p=sys.argv[1]; b=bytearray(open(p,'rb').read()); b[len(b)//2]^=0xff; open(p,'wb').write(bytes(b))" "$f"
	n=$(nblobs)
	expect_fail "tampered layer is refused" "digest mismatch" inst "$R/test/tamper"
	[ "$(nblobs)" = "$n" ] && ok "nothing stored from a tampered install" || notok "blobs after tamper: $(nblobs) vs $n"
	expect_fail "no partial plugin" "not found" ctl inspect "$R/test/tamper"
else
	notok "found the tampered blob in registry storage"; diag "$(cat "$T/tamper.json" | head -20)"
fi
[ -z "$(job_tmp "$DR")" ] && ok "no staging left after failures" || notok "tmp: $(ls "$DR/tmp")"

# No manifest for this host's platform in an index.
python3 - "$R" <<'PY' || notok "push a foreign-only index"
import json, sys, os
sys.path.insert(0, os.path.join(os.environ["PD_TOP"], "tests", "registry"))
import push_plugin as pp
c = pp.Client("http://" + sys.argv[1], "test/foreign", None, None, None)
cfg = json.dumps({"Entrypoint": ["/x"], "Interface": {"Socket": "s", "Types": ["docker.volumedriver/1.0"]}}).encode()
cd = c.blob(cfg)
man = json.dumps({"schemaVersion": 2, "mediaType": pp.MT_SCHEMA2, "config": {"mediaType": pp.MT_PLUGIN, "size": len(cfg), "digest": cd}, "layers": []}).encode()
md = c.manifest("m", man, pp.MT_SCHEMA2)
idx = json.dumps({"schemaVersion": 2, "mediaType": pp.MT_LIST, "manifests": [
    {"mediaType": pp.MT_SCHEMA2, "size": len(man), "digest": md, "platform": {"os": "linux", "architecture": "s390x"}},
    {"mediaType": pp.MT_SCHEMA2, "size": len(man), "digest": md, "platform": {"os": "windows", "architecture": "amd64"}}]}).encode()
c.manifest("latest", idx, pp.MT_LIST)
PY
expect_fail "no matching platform names those that exist" "no matching manifest for linux/amd64 in the manifest list entries (available: linux/s390x, windows/amd64)" \
    inst "$R/test/foreign"

# Hostile registry rows through the whole install path: each fails
# cleanly, and a good install right after works.
H="$T/hostile"; mkdir -p "$H"
python3 "$REG/hostile.py" --dir "$H" >"$H/out" 2>&1 &
track_pid $!
i=0; while [ ! -f "$H/info.json" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
HP=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['ports']['plain'])" "$H/info.json" 2>/dev/null)
if [ -n "$HP" ]; then
	n=$(nblobs)
	for row in "b1-wrong:" "b2-short:" "b5-extra:" "m2-wrong:" "r2-file:" \
	    "r4-downgrade:" "a7-notoken:" "m1-cl:" "b7-gzip:"; do
		c=${row%%:*} want=${row#*:}
		expect_fail "hostile $c: install fails${want:+ ($want)}" "${want:-error}" inst --alias "h-$c" "127.0.0.1:$HP/$c/p:latest"
	done
	[ "$(nblobs)" = "$n" ] && ok "hostile registries stored nothing" || notok "blobs after hostile: $(nblobs) vs $n"
	[ -z "$(job_tmp "$DR")" ] && ok "no staging left by hostile registries" || notok "tmp: $(ls "$DR/tmp")"
	check "after interrupted transfers the next install works" inst --alias h-good "$R/test/p1"
	grep -q '"attacker"' "$H/requests.log" 2>/dev/null && grep '"attacker"' "$H/requests.log" | grep -qi authorization &&
	    notok "credentials reached another origin" || ok "no credentials sent off-origin"
else
	notok "hostile registry starts"; diag "$(tail -5 "$H/out")"
fi

# Basic auth.
reg_start "$T/regb" basic || notok "basic registry"
BPORT=$REG_PORT
B="127.0.0.1:$BPORT"
$PUSH --registry "http://$B" --repo test/auth --user testuser --pass testpass >/dev/null || notok "push with basic"
expect_fail "no credentials: 401 named" "unauthorized" inst --alias a0 "$B/test/auth"
expect_fail "wrong password" "unauthorized" sh -c "echo wrong | $CTL -H unix://$SOCK install --disable --alias a1 --username testuser --password-stdin $B/test/auth"
check "--username/--password-stdin" sh -c "echo testpass | $CTL -H unix://$SOCK install --disable --alias a2 --username testuser --password-stdin $B/test/auth"
mkdir -p "$T/dockercfg"
printf '{"auths":{"%s":{"auth":"%s"}}}' "$B" "$(printf testuser:testpass | base64)" >"$T/dockercfg/config.json"
check "credentials from ~/.docker/config.json (DOCKER_CONFIG)" env DOCKER_CONFIG="$T/dockercfg" "$CTL" -H "unix://$SOCK" install --disable --alias a3 "$B/test/auth"

# Bearer token auth.
reg_start "$T/regt" token || notok "token registry"
TPORT=$REG_PORT
TK="127.0.0.1:$TPORT"
if $PUSH --registry "http://$TK" --repo test/tok --user testuser --pass testpass >/dev/null 2>&1; then
	check "Bearer token install" sh -c "echo testpass | $CTL -H unix://$SOCK install --disable --alias t1 --username testuser --password-stdin $TK/test/tok"
else
	notok "push to the token registry"
fi

# TLS with a test CA under certs.d (loopback goes HTTPS when certs.d has the host).
reg_start "$T/regs" tls || notok "tls registry"
SPORT=$REG_PORT
S="127.0.0.1:$SPORT"
$PUSH --registry "https://$S" --ca "$T/regs/ca.crt" --repo test/tls >/dev/null || notok "push over TLS"
expect_fail "TLS registry without certs.d: the HTTP error is reported, not a TLS one" "$S" inst --alias s0 "$S/test/tls"
stop_broker $BROKER_PID
mkdir -p "$T/certs.d/$S"; cp "$T/regs/ca.crt" "$T/certs.d/$S/ca.crt"
echo "{\"certs-dir\": \"$T/certs.d\"}" >"$T/tls.json"
start_broker "$T/b" --config "$T/tls.json" || notok "broker with certs-dir"
check "TLS install with the CA from certs.d" inst --alias s1 "$S/test/tls"

# Disk full in the data root: a tiny tmpfs.
mkdir -p "$T/small"
if mount -t tmpfs -o size=2m tmpfs "$T/small" 2>/dev/null; then
	track_mount "$T/small"
	stop_broker $BROKER_PID
	$PUSH --registry "http://$R" --repo test/big --layer-size 4000000 --seed 3 >/dev/null
	start_broker "$T/small" || notok "broker on a small tmpfs"
	expect_fail "disk full is reported" "No space left" inst "$R/test/big"
	[ -z "$(ls "$T/small/data/plugins")" ] && ok "no partial plugin on a full disk" || notok "partial plugin on full disk"
	stop_broker $BROKER_PID
else
	skip "cannot mount a tmpfs"
fi
done_testing

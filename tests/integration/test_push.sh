#!/bin/sh
# pluginctl push to a real registry (Debian's docker-registry on
# 127.0.0.1): create -> push -> rm -> install gives the same plugin;
# re-push finds the layers; Basic auth (accepted, refused); cross-repo
# mount; registry down; skopeo reads what we pushed.
. "$(dirname "$0")/../lib.sh"

command -v docker-registry >/dev/null || [ -x /usr/bin/docker-registry ] ||
    { skip "docker-registry not installed (make deps installs it)"; done_testing; exit 0; }
T=$(mktemp -d /tmp/pd-push.XXXXXX); track_dir "$T"; chmod 755 "$T"
REG="$PD_TOP/tests/registry"

reg_start "$T/reg" anon || { notok "registry starts"; done_testing; exit 1; }
PORT=$REG_PORT
R="127.0.0.1:$PORT"
ok "registry on $R"

# A plugin bundle: config.json + rootfs.
P="$T/p"; mkdir -p "$P/rootfs/bin" "$P/rootfs/etc" "$P/rootfs/run/docker/plugins"
cp /bin/busybox "$P/rootfs/bin/"; ln -s busybox "$P/rootfs/bin/sh"; echo hi >"$P/rootfs/etc/motd"
cat >"$P/config.json" <<'JSON'
{"Description": "pushed plugin", "Entrypoint": ["/bin/sh"],
 "Interface": {"Socket": "t.sock", "Types": ["docker.volumedriver/1.0"]},
 "Env": [{"Name": "DEBUG", "Settable": ["value"], "Value": "0"}]}
JSON

start_broker "$T/b" || { notok "broker starts"; done_testing; exit 1; }
DR="$T/b/data"

N="$R/test/pushed"
check "create $N" ctl create "$N" "$P"
ID=$(ctl inspect -f '{{.Id}}' "$N")
cp "$DR/plugins/$ID/config.json" "$T/state-before.json"
CFG0=$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["plugin"]["Config"], sort_keys=True))' "$T/state-before.json")

out=$(ctl push "$N" 2>&1)
rc=$?
[ $rc -eq 0 ] && ok "push succeeds" || { notok "push succeeds"; diag "$out"; }
case "$out" in *"The push refers to repository [$N]"*) ok "push names the repository" ;; *) notok "repository line"; diag "$out" ;; esac
case "$out" in *": Pushed"*) ok "blobs Pushed" ;; *) notok "Pushed lines"; diag "$out" ;; esac
case "$out" in *": Preparing"*) ok "Preparing lines" ;; *) notok "Preparing lines"; diag "$out" ;; esac
DG=$(printf '%s\n' "$out" | sed -n 's/^latest: digest: \(sha256:[0-9a-f]*\) size: [0-9]*$/\1/p')
[ -n "$DG" ] && ok "final line: latest: digest: … size: N" || { notok "digest line"; diag "$out"; }
MAN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["Manifest"])' "$DR/plugins/$ID/config.json")
[ "$MAN" = "$DG" ] && ok "pushed digest is the state's manifest" || notok "manifest digest $MAN vs $DG"

# The registry has it, with Docker's media types.
curl -s --noproxy '*' -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$R/v2/test/pushed/manifests/latest" >"$T/remote-man.json"
python3 - "$T/remote-man.json" "$DG" <<'PY' && ok "registry serves the manifest: schema2, plugin config, gzip layer" || notok "remote manifest"
import hashlib, json, sys
b = open(sys.argv[1], "rb").read()
assert "sha256:" + hashlib.sha256(b).hexdigest() == sys.argv[2], b[:200]
m = json.loads(b)
assert m["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
assert m["config"]["mediaType"] == "application/vnd.docker.plugin.v1+json"
assert [l["mediaType"] for l in m["layers"]] == ["application/vnd.docker.image.rootfs.diff.tar.gzip"]
PY

# Round trip: rm, install, same plugin.
check "rm the created plugin" ctl rm "$N"
out=$(ctl install --disable "$N" </dev/null 2>&1)
case "$out" in *"Installed plugin $N:latest"*) ok "install what was pushed" ;; *) notok "install"; diag "$out" ;; esac
case "$out" in *"Digest: $DG"*) ok "installed digest is the pushed one" ;; *) notok "install digest"; diag "$out" ;; esac
ID2=$(ctl inspect -f '{{.Id}}' "$N")
CFG1=$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["plugin"]["Config"], sort_keys=True))' "$DR/plugins/$ID2/config.json")
[ "$CFG0" = "$CFG1" ] && ok "same config" || { notok "config differs"; diag "$CFG0"; diag "$CFG1"; }
diff -r --no-dereference "$P/rootfs" "$DR/plugins/$ID2/rootfs" >/dev/null 2>&1 && ok "same rootfs" ||
    { notok "rootfs differs"; diag "$(diff -r --no-dereference "$P/rootfs" "$DR/plugins/$ID2/rootfs" 2>&1 | head -3)"; }

# Pushing again: nothing uploaded.  The manifest is the one plugind built
# (create, then this round trip), so it is known without a parser: the
# extractor spares are not touched.
wait_idle_spares extractor 2 || notok "two extractor spares before the re-push"
sp0=$(idle_spares extractor)
out=$(ctl push "$N" 2>&1)
[ -n "$sp0" ] && [ "$(idle_spares extractor)" = "$sp0" ] &&
    ok "re-push of a manifest plugind built: no parser started" ||
    notok "re-push took an extractor: $sp0 -> $(idle_spares extractor)"
case "$out" in *"Layer already exists"*) ok "re-push: Layer already exists" ;; *) notok "re-push"; diag "$out" ;; esac
case "$out" in *"Pushed"*) notok "re-push uploaded again"; diag "$out" ;; *) ok "re-push uploads no blob" ;; esac
case "$out" in *"latest: digest: $DG"*) ok "re-push: same digest" ;; *) notok "re-push digest"; diag "$out" ;; esac
out=$(ctl push --quiet "$N" 2>&1)
[ "$out" = "$DG" ] && ok "push --quiet prints the digest only" || { notok "push --quiet"; diag "$out"; }

# A state without a manifest: one is built and recorded.
ctl rm "$N" >/dev/null 2>&1
N2="$R/test/built:v1"
check "create $N2" ctl create "$N2" "$P"
ID3=$(ctl inspect -f '{{.Id}}' "$N2")
M3=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["Manifest"])' "$DR/plugins/$ID3/config.json")
rm -f "$DR/storage/blobs/sha256/${M3#sha256:}"
out=$(ctl push "$N2" 2>&1)
DG3=$(printf '%s\n' "$out" | sed -n 's/^v1: digest: \(sha256:[0-9a-f]*\) size: [0-9]*$/\1/p')
M3b=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["Manifest"])' "$DR/plugins/$ID3/config.json")
[ -n "$DG3" ] && [ "$DG3" = "$M3b" ] && [ -f "$DR/storage/blobs/sha256/${M3b#sha256:}" ] &&
    ok "missing manifest blob: built, pushed under the tag, recorded" || { notok "built manifest"; diag "$out"; diag "$M3b"; }

# A manifest written by another tool (push_plugin.py's JSON) is decoded
# by a parser, and pushed byte for byte.
python3 "$REG/push_plugin.py" --registry "http://$R" --repo test/foreign --layer-size 2000 \
    --info "$T/foreign.json" >/dev/null || notok "push test/foreign"
FD=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["digest"])' "$T/foreign.json" 2>/dev/null)
check "install test/foreign as test/foreign2" ctl install --disable --grant-all-permissions \
    --alias "$R/test/foreign2" "$R/test/foreign"
wait_idle_spares extractor 2 || notok "two extractor spares before the foreign push"
sp0=$(idle_spares extractor)
out=$(ctl push "$R/test/foreign2" 2>&1)
case "$out" in *"latest: digest: $FD "*) ok "a foreign manifest is pushed byte for byte ($FD)" ;;
*) notok "foreign push"; diag "$out"; diag "want $FD" ;; esac
[ "$(idle_spares extractor)" != "$sp0" ] && ok "a foreign manifest is decoded by a parser (an extractor spare taken)" ||
    notok "no parser for a foreign manifest"

# Cross-repository mount: a plugin installed from repo A, named B.
out=$(ctl install --disable --alias "$R/test/mounted" "$R/test/pushed" </dev/null 2>&1) ||
    { notok "install alias"; diag "$out"; }
out=$(ctl push "$R/test/mounted" 2>&1)
case "$out" in *"Mounted from test/pushed"*) ok "second repository: Mounted from test/pushed" ;; *) notok "mount"; diag "$out" ;; esac
case "$out" in *"Pushed"*) notok "mount: a blob was uploaded"; diag "$out" ;; *) ok "mount: no blob uploaded" ;; esac
curl -sf --noproxy '*' -o /dev/null -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$R/v2/test/mounted/manifests/latest" && ok "mounted repository serves the manifest" || notok "mounted manifest"

# A layer over 10 MiB goes up in PATCH chunks and comes back intact.
BIG="$T/big"; mkdir -p "$BIG"; cp -a "$P/rootfs" "$BIG/rootfs"; cp "$P/config.json" "$BIG/"
head -c 12582912 /dev/urandom >"$BIG/rootfs/etc/random.bin"
check "create $R/test/big" ctl create "$R/test/big" "$BIG"
out=$(ctl push "$R/test/big" 2>&1)
case "$out" in *"latest: digest: sha256:"*) ok "push of a 12 MiB layer (chunked)" ;; *) notok "big push"; diag "$out" ;; esac
if grep -q 'PATCH' "$T/reg/registry.log" 2>/dev/null; then ok "registry saw PATCH chunks"; else skip "registry log shows no methods"; fi
ctl rm "$R/test/big" >/dev/null 2>&1
out=$(ctl install --disable "$R/test/big" </dev/null 2>&1) || { notok "install big"; diag "$out"; }
IDB=$(ctl inspect -f '{{.Id}}' "$R/test/big" 2>/dev/null)
cmp -s "$BIG/rootfs/etc/random.bin" "$DR/plugins/$IDB/rootfs/etc/random.bin" && ok "12 MiB layer round-trips" || notok "big layer differs"
ctl rm "$R/test/big" >/dev/null 2>&1

# Interop: skopeo reads the manifest and the config.
if command -v skopeo >/dev/null; then
	raw=$(skopeo inspect --raw --tls-verify=false "docker://$N" 2>&1)
	printf '%s' "$raw" | python3 -c '
import json, sys
m = json.load(sys.stdin)
assert m["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
assert m["config"]["mediaType"] == "application/vnd.docker.plugin.v1+json"
assert m["layers"][0]["mediaType"] == "application/vnd.docker.image.rootfs.diff.tar.gzip"
' && ok "skopeo inspect --raw: Docker media types" || { notok "skopeo raw"; diag "$raw"; }
	cfg=$(skopeo inspect --config --raw --tls-verify=false "docker://$N" 2>&1)
	printf '%s' "$cfg" | python3 -c '
import json, sys
c = json.load(sys.stdin)
assert c["Description"] == "pushed plugin" and c["Interface"]["Socket"] == "t.sock"
' && ok "skopeo inspect --config: the plugin config" || { notok "skopeo config"; diag "$cfg"; }
else
	skip "skopeo not installed"; skip "skopeo not installed"
fi

# Basic auth: accepted with --username/--password-stdin and config.json,
# refused with a wrong password, named when missing.
reg_start "$T/regb" basic || { notok "basic registry starts"; done_testing; exit 1; }
BPORT=$REG_PORT
RB="127.0.0.1:$BPORT"
check "create $RB/test/auth" ctl create "$RB/test/auth" "$P"
expect_fail "no credentials: 401 named" "no credentials given" ctl push "$RB/test/auth"
out=$(echo wrongpass | ctl push --username testuser --password-stdin "$RB/test/auth" 2>&1) &&
    { notok "wrong password accepted"; diag "$out"; } || case "$out" in
	*"unauthorized"*"$RB"*"credentials were refused"*) ok "wrong password: clear 401 error" ;;
	*) notok "wrong password message"; diag "$out" ;; esac
out=$(echo testpass | ctl push --username testuser --password-stdin "$RB/test/auth" 2>&1)
case "$out" in *"latest: digest: sha256:"*) ok "push with --username/--password-stdin" ;; *) notok "basic push"; diag "$out" ;; esac
mkdir -p "$T/dc"
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$RB" "$(printf testuser:testpass | base64)" >"$T/dc/config.json"
out=$(DOCKER_CONFIG="$T/dc" ctl push "$RB/test/auth" 2>&1)
case "$out" in *"Layer already exists"*"latest: digest: sha256:"*) ok "push with DOCKER_CONFIG credentials" ;; *) notok "config.json push"; diag "$out" ;; esac

# Bearer tokens: anonymous tokens carry pull only; a user gets pull,push.
reg_start "$T/regt" token || { notok "token registry starts"; done_testing; exit 1; }
TPORT=$REG_PORT
RT="127.0.0.1:$TPORT"
check "create $RT/test/tok" ctl create "$RT/test/tok" "$P"
expect_fail "token registry, anonymous: refused" "unauthorized" ctl push "$RT/test/tok"
out=$(echo testpass | ctl push --username testuser --password-stdin "$RT/test/tok" 2>&1)
case "$out" in *"latest: digest: sha256:"*) ok "push with a Bearer token (scope pull,push)" ;; *) notok "token push"; diag "$out" ;; esac
grep -q 'repository(plugin):test/tok:pull,push' "$T/regt/token.log" 2>/dev/null && ok "token request names repository(plugin):…:pull,push" ||
    skip "token log does not show scopes"

# Registry down: the error names host:port; nothing changes locally.
sh "$REG/registry.sh" stop "$T/regb" >/dev/null 2>&1
cp "$DR/plugins/$(ctl inspect -f '{{.Id}}' "$RB/test/auth")/config.json" "$T/auth-before.json"
expect_fail "registry down: host:port named" "$RB" ctl push "$RB/test/auth"
cmp -s "$T/auth-before.json" "$DR/plugins/$(ctl inspect -f '{{.Id}}' "$RB/test/auth")/config.json" &&
    ok "failed push changes no state" || notok "state changed by a failed push"
expect_fail "unknown plugin" "not found" ctl push "$R/test/nope"

# A misbehaving registry: upload Locations elsewhere, 5xx, DIGEST_INVALID.
cat >"$T/hostile.py" <<'PY'
import http.server, json, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def reply(self, code, hdrs=(), body=b""):
        self.send_response(code)
        for k, v in hdrs: self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD": self.wfile.write(body)
    def do_GET(self): self.reply(200)
    def do_HEAD(self): self.reply(404)
    def do_POST(self):
        repo = self.path.split("/")[3]
        loc = {"offorigin": "http://127.0.0.2:9/up", "ftp": "ftp://127.0.0.1/up"}.get(repo, "/v2/test/%s/blobs/uploads/u1?x=1" % repo)
        self.reply(202, [("Location", loc)])
    def do_PUT(self):
        n = int(self.headers.get("Content-Length", "0")); self.rfile.read(n)
        repo = self.path.split("/")[3]
        if repo == "digest":
            b = json.dumps({"errors": [{"code": "DIGEST_INVALID", "message": "provided digest did not match uploaded content"}]}).encode()
            self.reply(400, [("Content-Type", "application/json")], b)
        else:
            self.reply(500, [], b"boom")
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(s.server_address[1]))
s.serve_forever()
PY
python3 "$T/hostile.py" "$T/hport" & track_pid $!
i=0; while [ ! -s "$T/hport" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
H="127.0.0.1:$(cat "$T/hport")"
for r in offorigin ftp digest fivexx; do ctl create "$H/test/$r" "$P" >/dev/null 2>&1; done
expect_fail "upload Location on another origin refused" "another origin" ctl push "$H/test/offorigin"
expect_fail "upload Location with another scheme refused" "ftp" ctl push "$H/test/ftp"
expect_fail "registry's DIGEST_INVALID reported" "digest mismatch" ctl push "$H/test/digest"
expect_fail "5xx reported with the registry's name" "$H answered 500" ctl push "$H/test/fivexx"

kill -0 "$BROKER_PID" 2>/dev/null && ok "broker still running" || notok "broker died"
done_testing

#!/bin/sh
# hostile_registry.md through `pluginctl install`: the document rows
# (M4-M15) and A10, emulated by tests/registry/hostile.py (its DOC_CASES),
# each against a broker with Basic credentials.  Every failing case must
# name what was wrong, exit non-zero and change nothing (plugin list,
# content store, data-root tmp); no request may reach the attacker origin
# and credentials go to the registry origin only.  First, the coverage
# table of docs/FETCHER.md must list every row of hostile_registry.md and
# point to a test that carries the row's label.
. "$(dirname "$0")/../lib.sh"

T=$(mktemp -d /tmp/pd-hostile.XXXXXX); track_dir "$T"; chmod 755 "$T"
REG="$PD_TOP/tests/registry"
RAW="$PD_BUILD/tests/tools/rawctl"
ROWS="$PD_TOP/../shared/docs/hostile_registry.md"

# -- the coverage table cannot drift from the rows, nor from the tests.
if [ -f "$ROWS" ]; then
	if out=$(python3 - "$ROWS" "$PD_TOP/docs/FETCHER.md" "$PD_TOP" <<'PY' 2>&1
import os, re, sys
rows = re.findall(r"^\| ([TRAMBN]\d+) \|", open(sys.argv[1]).read(), re.M)
doc = open(sys.argv[2]).read()
sec = doc.split("## Hostile registry coverage", 1)
assert len(sec) == 2, "docs/FETCHER.md has no 'Hostile registry coverage' section"
table = {}
for m in re.finditer(r"^\| ([TRAMBN]\d+) \| ([^|]+) \|", sec[1].split("\n## ", 1)[0], re.M):
    table[m.group(1)] = m.group(2)
missing = [r for r in rows if r not in table]
assert not missing, "rows missing from the coverage table: " + " ".join(missing)
extra = [r for r in table if r not in rows]
assert not extra, "coverage rows not in hostile_registry.md: " + " ".join(extra)
bad = []
for r in rows:
    files = re.findall(r"`([\w./-]+\.(?:sh|c|py))`", table[r])
    if not files:
        bad.append(r + " (no test named)")
    for f in files:
        p = os.path.join(sys.argv[3], f)
        if not os.path.isfile(p) or not re.search(r"\b" + r + r"\b", open(p, errors="replace").read()):
            bad.append("%s (%s lacks the label)" % (r, f))
assert not bad, "coverage table: " + ", ".join(bad)
print(len(rows))
PY
	); then
		ok "coverage: all $out rows of hostile_registry.md are in docs/FETCHER.md, each named test carries its label"
	else
		notok "coverage table of docs/FETCHER.md"; diag "$out"
	fi
else
	skip "coverage check: $ROWS not present (the shared docs are not in this checkout)"
fi

H="$T/h"; mkdir -p "$H"
python3 "$REG/hostile.py" --dir "$H" >"$H.out" 2>&1 &
track_pid $!
i=0; while [ ! -f "$H/info.json" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
[ -f "$H/info.json" ] || { notok "hostile registry starts"; diag "$(tail -5 "$H.out")"; done_testing; exit 1; }
info() { python3 -c "import json,sys; i=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$H/info.json" "$1"; }
R="127.0.0.1:$(info "i['ports']['plain']")"
LAYER=$(info "i['layer']['digest']")
start_broker "$T/b" || { notok "broker starts"; done_testing; exit 1; }
DR="$T/b/data"
AUTH='{"username":"testuser","password":"testpass"}'

# inst CASE [pluginctl install options]: install CASE/p:latest with Basic
# credentials from stdin.
inst() {
	_c=$1; shift
	echo testpass | "$CTL" -H "unix://$SOCK" install --disable --username testuser \
	    --password-stdin --alias "h-$_c" "$@" "$R/$_c/p:latest"
}
state() { # what a failed install must not change
	ctl ls -q --no-trunc 2>&1 | sort
	ls -A "$DR/storage/blobs/sha256" "$DR/plugins"; job_tmp "$DR"
}
# nreq CASE KIND METHOD: requests with credentials (the ones answered)
# the registry got for CASE (KIND manifests or blobs)
nreq() {
	python3 - "$H/requests.log" "$@" <<'PY'
import json, sys
n = 0
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e["path"].startswith("/v2/%s/p/%s/" % (sys.argv[2], sys.argv[3])) and \
            e["method"] == sys.argv[4] and "Authorization" in e["headers"]:
        n += 1
print(n)
PY
}
# hfail ROW CASE "message part" [install options]: the install fails, says
# why, and leaves the state as it was.
hfail() {
	_row=$1 _c=$2 _want=$3; shift 3
	_before=$(state)
	if _out=$(inst "$_c" "$@" </dev/null 2>&1); then
		notok "$_row $_c: install succeeded"; diag "$_out"; return
	fi
	_after=$(state)
	case "$_out" in
	*"$_want"*)
		if [ "$_before" = "$_after" ]; then
			ok "$_row $_c: fails ($_want), no state change"
		else
			notok "$_row $_c: state changed"
			diag "$(printf '%s\n' "$_before" >"$T/s1"; printf '%s\n' "$_after" | diff "$T/s1" - | head -5)"
		fi ;;
	*) notok "$_row $_c: wrong error"; diag "got: $_out"; diag "want: $_want" ;;
	esac
}

# -- documents (the store is empty: every blob would be downloaded).
hfail M5 m5-both 'ambiguous manifest: it has both "manifests" and "config"'
hfail M5 m5-mtflip 'manifest media type mismatch: the registry sent Content-Type "application/vnd.oci.image.manifest.v1+json"'
hfail M5 m5-idxconfig 'ambiguous manifest'
hfail M6 m6-encrypted 'unsupported media type application/vnd.docker.image.rootfs.diff.tar+gzip+encrypted'
hfail M6 m6-imgconfig 'is not a plugin (config media type application/vnd.docker.container.image.v1+json'
hfail M7 m7-trailing 'malformed manifest: end of file expected'
hfail M7 m7-dupkeys 'malformed manifest: duplicate object key'
hfail M7 m7-nested 'malformed manifest: maximum parsing depth'
hfail M7 m7-bom 'malformed manifest'
hfail M7 m7-nul 'malformed manifest'
hfail M7 m7-utf8 'malformed manifest: unable to decode byte 0xff'
hfail M7 m7-comment 'malformed manifest'
hfail M7 m7-1e400 'malformed manifest: real number overflow'
hfail M7 m7-neg 'malformed manifest: layer 0 has an invalid size'
hfail M7 m7-2p64 'malformed manifest: too big integer'
hfail M7 m7-cfgtrailing 'failed to parse plugin config: end of file expected'
hfail M7 m7-cfgdup 'failed to parse plugin config: duplicate object key'
for c in dotdot empty upper short long newline pct; do
	hfail M8 "m8-$c" 'malformed manifest: layer 0 has an invalid digest'
done
hfail M8 m8-md5 'layer 0 digest "md5:'
hfail M8 m8-config 'malformed manifest: config has an invalid digest'
n=0; for c in dotdot empty upper short long newline pct md5 config; do
	n=$((n + $(nreq "m8-$c" blobs GET)))
done
[ "$n" = 0 ] && ok "M8: no blob request for any bad digest (refused before a URL was built)" ||
    notok "M8: $n blob requests with bad digests"
hfail M9 m9-2p63 'malformed manifest: too big integer'
hfail M9 m9-huge 'is 1099511627776 bytes, more than limits.max-compressed (1073741824)'
[ "$(nreq m9-huge blobs GET)" -ge 1 ] && ! grep -q "/v2/m9-huge/p/blobs/$LAYER" "$H/requests.log" &&
    ok "M9: only the config was fetched, not the 1 TiB layer" || notok "M9: m9-huge layer requested"
hfail M9 m9-small "is larger than its descriptor"
hfail M9 m9-big "is shorter than its descriptor"
hfail M10 m10-many 'manifest has 10000 layers (at most 128)'
hfail M10 m10-diffids 'config lists 2 diff_ids for 1 layers'
hfail M11 m11-nested 'an index entry points to another index'
hfail M11 m11-self 'digest mismatch: manifest sha256:'
hfail M11 m11-wide 'manifest larger than 4194304 bytes'
hfail M11 m11-many 'index has 1001 manifests (at most 256)'
hfail M11 m11-noplat 'no matching manifest for linux/'
hfail M12 m12-cfgdigest 'digest mismatch: blob sha256:'
hfail M12 m12-cfgbig 'plugin config of 2097390 bytes is larger than 1048576'
[ "$(nreq m12-cfgbig blobs GET)" = 0 ] && ok "M12: the 2 MiB config was not fetched" || notok "M12: config fetched"
hfail M13 m13-socket '"Interface.Socket" must be a socket file name' --grant-all-permissions
hfail M13 m13-entrypoint 'failed to parse plugin config: \u0000 is not allowed' --grant-all-permissions
hfail M13 m13-propagated 'PropagatedMount "/": must be a directory below /' --grant-all-permissions
hfail M13 m13-propdotdot 'PropagatedMount "/data/../../etc": must be a clean path' --grant-all-permissions
hfail M13 m13-mountdst '(Mounts[0]): Destination "/": must be a directory below /' --grant-all-permissions
hfail M13 m13-mountrel '(Mounts[0]): Destination "../../etc": must be an absolute path' --grant-all-permissions
hfail M14 m14-regzip "digest mismatch: blob $LAYER"
hfail M15 m15-diffid 'diff_id mismatch: config says sha256:'
hfail A10 a10-foreign 'unsupported media type application/vnd.docker.image.rootfs.foreign.diff.tar.gzip'
[ -z "$( (ls -A "$DR/storage/blobs/sha256" "$DR/plugins"; job_tmp "$DR") 2>&1 | grep -v ':$' | grep .)" ] &&
    ok "after every refused document: no blob, no plugin, nothing in tmp" ||
    { notok "state left behind"; diag "$(ls -AR "$DR/storage/blobs/sha256" "$DR/plugins" "$DR/tmp" | head)"; }

# -- M13: privileges come from the config; the grant must be exactly them.
out=$(inst m13-priv </dev/null 2>&1) && notok "M13: installed without a grant" ||
case "$out" in
*" - network: [\"host\"]"*" - mount: [\"type=bind\" \"source=/\" \"destination=/host\" \"options=rbind,nosuid,nodev\"]"*" - allow-all-devices: [\"true\"]"*" - capabilities: [\"CAP_SYS_ADMIN\"]"*"--grant-all-permissions"*)
	ok "M13 m13-priv: refused without a grant; the message lists network, mount /, all devices, CAP_SYS_ADMIN" ;;
*) notok "M13: privilege list"; diag "$out" ;;
esac
expect_fail "M13 m13-single: one privilege with another value is refused (CVE-2026-33997)" "incorrect privileges" \
    "$RAW" "$SOCK" 103 4 "$R/m13-single/p:latest" h-single \
    '[{"Name":"capabilities","Description":"","Value":["CAP_NET_ADMIN"]}]' "$AUTH"
expect_fail "M13 m13-single: an empty grant is refused" "incorrect privileges" \
    "$RAW" "$SOCK" 103 4 "$R/m13-single/p:latest" h-single '[]' "$AUTH"
check "M13 m13-single: the exact privilege installs" \
    "$RAW" "$SOCK" 103 4 "$R/m13-single/p:latest" h-single \
    '[{"Name":"capabilities","Description":"","Value":["CAP_SYS_ADMIN"]}]' "$AUTH"
g0=$(nreq m13-priv manifests GET)
check "M13 m13-priv: --grant-all-permissions installs" inst m13-priv --grant-all-permissions
g1=$(nreq m13-priv manifests GET)
[ $((g1 - g0)) = 1 ] && ok "M13: --grant-all-permissions fetches the manifest once (no privileges request first)" ||
    notok "M13: --grant-all-permissions made $((g1 - g0)) manifest GETs"
grep -q "install $R/m13-priv/p:latest: all [0-9]* privileges it requires granted (--grant-all-permissions)" "$T/b/broker.log" &&
    ok "M13: the broker logs the privileges granted by --grant-all-permissions" || notok "no grant-all log line"

# -- M4: one GET, no HEAD; the bytes checked are the bytes installed.
out=$(inst m4-toctou </dev/null 2>&1) && { notok "M4: a manifest that changed after the privilege check was installed"; diag "$out"; } ||
case "$out" in *"incorrect privileges"*) ok "M4 m4-toctou: the privileges are checked on the manifest installed, not the one shown" ;;
*) notok "M4: wrong error"; diag "$out" ;; esac
h0=$(nreq m4-toctou manifests HEAD)
"$RAW" "$SOCK" 103 4 "$R/m4-toctou/p:once" h-m4 '[]' "$AUTH" >/dev/null 2>&1 &&
    ok "M4 m4-toctou: one install job resolves once and installs" || notok "M4: install"
[ "$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['Manifest'])" \
    "$DR/plugins/$(ctl inspect -f '{{.Id}}' h-m4)/config.json" 2>&1)" = "$(info "i['docs']['m4-toctou']['manifest']")" ] &&
    ok "M4: the installed manifest is the one the first GET returned" || notok "M4: another manifest was installed"
n=$(grep '"/v2/m4-toctou/p/manifests/once"' "$H/requests.log" | grep -c Authorization)
[ "$n" = 1 ] && [ "$h0" = "$(nreq m4-toctou manifests HEAD)" ] && [ "$h0" = 0 ] &&
    ok "M4: exactly one manifest request and no HEAD" || notok "M4: $n manifest requests, HEADs $h0"

# -- A10: descriptor urls are never fetched; the layer comes from the registry.
check "A10 a10-urls: an ordinary layer with urls installs from the registry" inst a10-urls
# A stored blob is trusted by digest, but a descriptor that lies about its size is not.
hfail M9 m9-small "layer $(echo "$LAYER" | cut -c8-19): the manifest says"
hfail M9 m9-big "the manifest says"

# -- N2: credentials from config.json by the exact registry host:port.
B64=$(printf testuser:testpass | base64)
mkdir -p "$T/dc"
printf '{"auths":{"127.0.0.1":{"auth":"%s"},"%s.attacker.example":{"auth":"%s"},"attacker.example/%s":{"auth":"%s"},"user@%s":{"auth":"%s"},"%s0":{"auth":"%s"},"127.0.0.1:1":{"auth":"%s"}}}' \
    "$B64" "$R" "$B64" "$R" "$B64" "$R" "$B64" "$R" "$B64" "$B64" >"$T/dc/config.json"
expect_fail "N2: config.json keys that only contain the host (no port, suffixes, prefixes, userinfo) give no credentials" \
    "no credentials given" env DOCKER_CONFIG="$T/dc" "$CTL" -H "unix://$SOCK" privileges "$R/m13-single/p:latest"
mkdir -p "$T/dc2"
printf '{"auths":{"http://%s/v2/":{"auth":"%s"}}}' "$R" "$B64" >"$T/dc2/config.json"
check "N2: the exact host:port (as Docker writes it, with scheme and /v2/) gives them" \
    env DOCKER_CONFIG="$T/dc2" "$CTL" -H "unix://$SOCK" privileges "$R/m13-single/p:latest"
expect_fail "N2: a registry host with userinfo is not a reference" "invalid" \
    ctl privileges "testuser:testpass@$R/m13-single/p:latest"
expect_fail "N2: a registry host with a trailing dot is not a reference" "invalid" \
    ctl privileges "localhost.:$(echo "$R" | cut -d: -f2)/m13-single/p:latest"

# -- credentials
python3 - "$H/requests.log" <<'PY' >"$T/creds" 2>&1 && ok "no request reached the attacker origin; Authorization went to the registry only ($(cat "$T/creds") requests carried it)" || { notok "credentials"; diag "$(cat "$T/creds")"; }
import json, sys
sent = 0
for l in open(sys.argv[1]):
    e = json.loads(l)
    assert e["listener"] == "plain", "request to %s: %s" % (e["listener"], e["path"])
    h = {k.lower(): v for k, v in e["headers"].items()}
    if "authorization" in h:
        sent += 1
        assert h["authorization"].startswith("Basic "), h["authorization"]
assert sent > 0, "no request carried credentials: the check would prove nothing"
print(sent)
PY
[ -z "$(job_tmp "$DR")" ] && ok "no staging or temp files left in the data root" || notok "tmp: $(ls -A "$DR/tmp")"
done_testing

#!/bin/sh
# Signed rules (docs/POLICY.md): a plugin signed in skopeo's format
# (--sign-by-sigstore-private-key with use-sigstore-attachments; Debian's
# skopeo has sigstore signing disabled, so tests/registry/sigattach.py
# writes the same attachment with openssl), installs under a signed rule
# with the right key; a wrong key, no signature, a tampered payload, a
# signature copied from another plugin, one naming another reference and
# a huge or garbage .sig manifest or payload, and a tag moved between
# privileges and install, are each refused with the
# rule and the reason, audited, and nothing stored; pluginctl verify
# names the signer.
. "$(dirname "$0")/../lib.sh"

[ -x /usr/bin/docker-registry ] || { skip "docker-registry not installed"; done_testing; exit 0; }
command -v curl >/dev/null || { skip "curl not installed"; done_testing; exit 0; }
command -v openssl >/dev/null || { skip "openssl not installed"; done_testing; exit 0; }
T=$(mktemp -d /tmp/pdsig.XXXXXX); track_dir "$T"; chmod 755 "$T"
track_runc "$T/b/exec/runc"; track_mounts_under "$T"
P="$T/policy.json"

mkkey() { # mkkey NAME: NAME.pem (private), NAME.pub (PEM public key)
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/$1.pem" 2>/dev/null &&
	    openssl pkey -in "$T/$1.pem" -pubout -out "$T/$1.pub" 2>/dev/null &&
	    chmod 644 "$T/$1.pub"
}
mkkey acme && mkkey other || { notok "keys"; done_testing; exit 1; }

reg_start "$T/reg" anon || { notok "registry"; done_testing; exit 1; }
R="127.0.0.1:$REG_PORT"
cat >"$T/vol.json" <<JSON
{"description": "vol", "entrypoint": ["/plugin"],
 "interface": {"socket": "vol.sock", "types": ["docker.volumedriver/1.0"]},
 "network": {"type": "host"}}
JSON
PUSH="python3 $PD_TOP/tests/registry/push_plugin.py --registry http://$R --plugin-binary $PD_BUILD/fixtures/volplugin --socket vol.sock"
$PUSH --repo acme/vol --tag v1 --config "$T/vol.json" >/dev/null &&
    $PUSH --repo acme/vol --tag v2 --config "$T/vol.json" --seed 2 >/dev/null &&
    $PUSH --repo acme/unsigned --tag latest --config "$T/vol.json" --seed 3 >/dev/null &&
    $PUSH --repo acme/copied --tag latest --config "$T/vol.json" --seed 4 >/dev/null &&
    $PUSH --repo acme/named --tag latest --config "$T/vol.json" --seed 5 >/dev/null ||
    { notok "push plugins"; done_testing; exit 1; }
hex() { curl -sI -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$R/v2/$1/manifests/$2" | tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p'; }
SA="python3 $PD_TOP/tests/registry/sigattach.py $R"
sign() { # sign KEY REPO:TAG [AS-REFERENCE]
	$SA sign "${2%:*}" "$(hex "${2%:*}" "${2##*:}")" "${3:-$R/$2}" "$T/$1.pem"
}
$PUSH --repo acme/vol --tag v3 --config "$T/vol.json" --seed 9 >/dev/null || notok "push v3"
sign acme acme/vol:v1 && sign other acme/vol:v2 && sign acme acme/vol:v3 ||
    { notok "sign"; done_testing; exit 1; }
V1=$(hex acme/vol v1)
curl -sf -o /dev/null -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://$R/v2/acme/vol/manifests/sha256-${V1#sha256:}.sig" && ok "the signature is an attachment: sha256-<hex>.sig" ||
    { notok "no .sig manifest for acme/vol:v1"; done_testing; exit 1; }
# acme/copied: acme/vol:v1's signature put on another plugin's digest.
$SA copy acme/vol "$V1" acme/copied "$(hex acme/copied latest)" || notok "copy a signature"
# acme/named:latest: signed, but as acme/named:other.
sign acme acme/named:latest "$R/acme/named:other" || notok "sign as another reference"
# acme/tampered: signed, then the payload changed by one byte.
$PUSH --repo acme/tampered --tag latest --config "$T/vol.json" --seed 7 >/dev/null &&
    sign acme acme/tampered:latest &&
    $SA tamper acme/tampered "$(hex acme/tampered latest)" || notok "tamper a payload"
for k in many huge liar junk; do
	$PUSH --repo "acme/$k" --tag latest --config "$T/vol.json" --seed 8 >/dev/null &&
	    $SA garbage "acme/$k" "$(hex "acme/$k" latest)" "$k" || notok "garbage attachment $k"
done

B="$T/b"
printf '{"default": {"rule": "reject"}, "scopes": {"%s/acme/": {"rule": "signed", "keys": ["%s"]}}}\n' \
    "$R" "$T/acme.pub" >"$P"; chmod 644 "$P"
echo '{"stop-timeout": 3}' >"$T/conf.json"
start_broker "$B" --config "$T/conf.json" --policy "$P" || { notok "broker starts"; done_testing; exit 1; }
D="$B/data"
W="policy: $R/acme/ requires a signature by $T/acme.pub"

blobs() { ls "$D/storage/blobs/sha256" 2>/dev/null | sort; }
# refused WHAT REF WANT: install refused with WANT, nothing stored, audited.
refused() {
	removals_done "$D"; _before=$(blobs); _pl=$(ls "$D/plugins" 2>/dev/null)
	expect_fail "$1" "$3" ctl install --grant-all-permissions --disable "$2"
	[ "$(blobs)" = "$_before" ] && [ "$(ls "$D/plugins" 2>/dev/null)" = "$_pl" ] &&
	    [ -z "$(job_tmp "$D")" ] && ok "$1: nothing stored" ||
	    notok "$1: something stored: $(ls "$D/plugins"; job_tmp "$D")"
	grep -qF "\"error\":\"$3" "$D/audit.log" && ok "$1: audited" || notok "$1: no audit line"
}

refused "unsigned: none found" "$R/acme/unsigned" "$W: none found"
refused "a signature by another key" "$R/acme/vol:v2" "$W: no signature verifies with $T/acme.pub"
refused "a tampered payload" "$R/acme/tampered" "$W: no signature verifies with $T/acme.pub"
refused "a signature copied from another plugin" "$R/acme/copied" "$W: the signature is for another manifest ($V1)"
refused "a signature naming another reference" "$R/acme/named" "$W: the signature names another reference ($R/acme/named:other)"
refused "17 signatures" "$R/acme/many" "$W: the signatures do not decode: signature manifest: more than 16 signatures"
refused "a 10 MB payload" "$R/acme/huge" "$W: the signatures do not decode: signature manifest: layers[0] has a size that is not 0 to 65536 bytes"
refused "a payload larger than declared" "$R/acme/liar" "$W: blob sha256:"
refused "a junk payload and signature" "$R/acme/junk" "$W: no signature verifies with $T/acme.pub"

# The tag moves between privileges and install (another manifest, pushed
# by someone who cannot sign): install judges the manifest it fetches.
$PUSH --repo acme/moved --tag latest --config "$T/vol.json" --seed 11 >/dev/null &&
    sign acme acme/moved:latest || notok "push and sign acme/moved"
check "privileges of the signed acme/moved" ctl privileges "$R/acme/moved"
$PUSH --repo acme/moved --tag latest --config "$T/vol.json" --seed 12 >/dev/null || notok "move the tag"
refused "the tag moved to an unsigned manifest after privileges" "$R/acme/moved" "$W: none found"

check "signed with the right key: installed" ctl install --grant-all-permissions --alias vol "$R/acme/vol:v1"
[ "$(ctl inspect -f '{{.Enabled}}' vol)" = true ] && ok "the signed plugin is enabled" || notok "not enabled"
grep -q "$R/acme/vol:v1: signed by $T/acme.pub ($V1)" "$B/broker.log" && ok "the signer is logged" || notok "no log line"
out=$(ctl verify "$R/acme/vol:v1" 2>&1)
case "$out" in *"$T/acme.pub"*"$V1"*) ok "verify names the signer and the digest" ;;
*) notok "verify"; diag "$out" ;; esac
expect_fail "verify with another key fails" "no signature verifies with $T/other.pub" \
    ctl verify --key "$T/other.pub" "$R/acme/vol:v1"
out=$(ctl verify --key "$T/other.pub" "$R/acme/vol:v2" 2>&1) && case "$out" in *"$T/other.pub"*) ok "verify --key" ;;
*) notok "verify --key"; diag "$out" ;; esac || { notok "verify --key failed"; diag "$out"; }
expect_fail "verify: unsigned" "$W: none found" ctl verify "$R/acme/unsigned"

# Upgrade: judged as install is, before anything is staged.
ctl disable vol >/dev/null
_before=$(blobs)
expect_fail "upgrade to a version signed by another key" "$W: no signature verifies with $T/acme.pub" \
    ctl upgrade --grant-all-permissions vol "$R/acme/vol:v2"
[ "$(blobs)" = "$_before" ] && [ "$(ctl inspect -f '{{.PluginReference}}' vol)" = "$R/acme/vol:v1" ] &&
    ok "the refused upgrade changed nothing" || notok "the refused upgrade left something"
check "upgrade to a version signed by the key" ctl upgrade --grant-all-permissions vol "$R/acme/vol:v3"
check "the upgraded plugin enables" ctl enable vol
sigrec=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["plugin"]["PluginSignature"])' \
    "$D/plugins/$(ctl inspect -f '{{.Id}}' vol)/config.json" 2>&1)
case "$sigrec" in *"$T/acme.pub"*"$(hex acme/vol v3)"*) ok "the record holds the new signature's key and digest" ;;
*) notok "PluginSignature: $sigrec" ;; esac

# The key is no longer listed: the plugin is disabled at SIGHUP.
printf '{"default": {"rule": "reject"}, "scopes": {"%s/acme/": {"rule": "signed", "keys": ["%s"]}}}\n' \
    "$R" "$T/other.pub" >"$P"
kill -HUP "$BROKER_PID"
i=0; while [ "$(ctl inspect -f '{{.Enabled}}' vol)" = true ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ "$(ctl inspect -f '{{.Enabled}}' vol)" = false ] && ok "another key in the rule: disabled at SIGHUP" ||
    notok "still enabled after the key changed"
expect_fail "enable wants a signer the rule lists" \
    "policy: $R/acme/ requires a signature by $T/other.pub: no signature by it was verified when the plugin was installed" \
    ctl enable vol
ctl rm -f vol >/dev/null 2>&1
stop_broker "$BROKER_PID"; untrack_pid "$BROKER_PID"
done_testing

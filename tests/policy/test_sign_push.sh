#!/bin/sh
# pluginctl push --sign-by (docs/POLICY.md, "Signing on push"): create ->
# push --sign-by -> rm -> install under a signed rule; the attachment is
# skopeo's format, checked here with openssl, not only with plugind's own
# verifier; an encrypted key with --sign-passphrase-file appends a second
# signature; a key that cannot sign (public, another curve, encrypted
# without or with a wrong passphrase, missing, garbage) is a clear error
# with nothing pushed; an attachment holding other layers is never
# rewritten; the 17th signature is refused; the key never reaches the
# broker.  And whether Debian's skopeo can sign, or verify pluginctl's
# signature, at all (it can do neither: sigstore is compiled out).
. "$(dirname "$0")/../lib.sh"

[ -x /usr/bin/docker-registry ] || { skip "docker-registry not installed"; done_testing; exit 0; }
command -v curl >/dev/null || { skip "curl not installed"; done_testing; exit 0; }
command -v openssl >/dev/null || { skip "openssl not installed"; done_testing; exit 0; }
T=$(mktemp -d /tmp/pdsign.XXXXXX); track_dir "$T"; chmod 755 "$T"
P="$T/policy.json"

mkkey() { # mkkey NAME [GENPKEY-ARGS]: NAME.pem (private), NAME.pub
	_k=$1; shift
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 "$@" -out "$T/$_k.pem" 2>/dev/null &&
	    openssl pkey -in "$T/$_k.pem" ${PASSIN:+-passin "$PASSIN"} -pubout -out "$T/$_k.pub" 2>/dev/null &&
	    chmod 644 "$T/$_k.pub"
}
mkkey acme && mkkey other && PASSIN=pass:sesame mkkey enc -aes-256-cbc -pass pass:sesame ||
    { notok "keys"; done_testing; exit 1; }
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$T/p384.pem" 2>/dev/null ||
    notok "P-384 key"
printf 'sesame\n' >"$T/pass"; printf 'wrong\n' >"$T/badpass"
head -c 300 /dev/urandom >"$T/junk.pem"

reg_start "$T/reg" anon || { notok "registry"; done_testing; exit 1; }
R="127.0.0.1:$REG_PORT"
hex() { curl -sI -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$R/v2/$1/manifests/$2" | tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p'; }
sigdoc() { # sigdoc REPO DIGEST: the attachment manifest
	curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
	    "http://$R/v2/$1/manifests/sha256-${2#sha256:}.sig"
}

B="$T/bundle"; mkdir -p "$B/rootfs/bin" "$B/rootfs/run/docker/plugins"
cp /bin/busybox "$B/rootfs/bin/"; ln -s busybox "$B/rootfs/bin/sh"
cat >"$B/config.json" <<'JSON'
{"Description": "signed on push", "Entrypoint": ["/bin/sh", "-c", "sleep 1000"],
 "Interface": {"Socket": "s.sock", "Types": ["docker.volumedriver/1.0"]}}
JSON
printf '{"default": {"rule": "accept"}, "scopes": {"%s/acme/": {"rule": "signed", "keys": ["%s"]}}}\n' \
    "$R" "$T/acme.pub" >"$P"; chmod 644 "$P"
start_broker "$T/b" --policy "$P" || { notok "broker starts"; done_testing; exit 1; }
D="$T/b/data"
W="policy: $R/acme/ requires a signature by $T/acme.pub"

# ---- keys that cannot sign: a clear error, nothing pushed ----
check "create $R/acme/bad" ctl create "$R/acme/bad" "$B"
expect_fail "a public key as --sign-by" "--sign-by $T/acme.pub: a public key; signing needs the private key" \
    ctl push --sign-by "$T/acme.pub" "$R/acme/bad"
expect_fail "a P-384 key" "--sign-by $T/p384.pem: not an ECDSA P-256 key" \
    ctl push --sign-by "$T/p384.pem" "$R/acme/bad"
expect_fail "an encrypted key without a passphrase" "--sign-by $T/enc.pem: an encrypted key that needs --sign-passphrase-file" \
    ctl push --sign-by "$T/enc.pem" "$R/acme/bad"
expect_fail "an encrypted key with the wrong passphrase" "the passphrase does not open" \
    ctl push --sign-by "$T/enc.pem" --sign-passphrase-file "$T/badpass" "$R/acme/bad"
expect_fail "a missing key file" "--sign-by $T/none.pem: No such file" \
    ctl push --sign-by "$T/none.pem" "$R/acme/bad"
expect_fail "a garbage key file" "--sign-by $T/junk.pem: not a PEM private key" \
    ctl push --sign-by "$T/junk.pem" "$R/acme/bad"
expect_fail "a passphrase file without --sign-by" "--sign-passphrase-file needs --sign-by" \
    ctl push --sign-passphrase-file "$T/pass" "$R/acme/bad"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://$R/v2/acme/bad/tags/list")
[ "$code" = 404 ] && ok "nothing was pushed for a key that cannot sign" ||
    { notok "the registry has acme/bad ($code)"; curl -s "http://$R/v2/acme/bad/tags/list" | diag "$(cat)"; }

# ---- create -> push --sign-by -> rm -> install under the signed rule ----
check "create $R/acme/vol" ctl create "$R/acme/vol" "$B"
out=$(ctl push --sign-by "$T/acme.pem" "$R/acme/vol" 2>&1) && ok "push --sign-by" ||
    { notok "push --sign-by"; diag "$out"; }
V=$(hex acme/vol latest)
case "$out" in *"Signed $V as $R/acme/vol:latest with $T/acme.pem (sha256-${V#sha256:}.sig, 1 signatures)"*)
	ok "push --sign-by names the digest, the reference, the key and the attachment" ;;
*) notok "push --sign-by output"; diag "$out" ;; esac
sigdoc acme/vol "$V" >"$T/sig.json" && ok "the attachment sha256-<hex>.sig is in the registry" ||
    notok "no attachment for $V"

# The format, read by openssl and python, not by plugind.
python3 - "$T/sig.json" "$T" <<'PY' >"$T/layer" || notok "the attachment's shape"
import base64, json, sys
m = json.load(open(sys.argv[1]))
assert m["schemaVersion"] == 2 and m["mediaType"] == "application/vnd.oci.image.manifest.v1+json", m
assert m["config"]["mediaType"] == "application/vnd.oci.image.config.v1+json", m
(l,) = m["layers"]
assert l["mediaType"] == "application/vnd.dev.cosign.simplesigning.v1+json", l
open(sys.argv[2] + "/sig.der", "wb").write(base64.b64decode(l["annotations"]["dev.cosignproject.cosign/signature"], validate=True))
print(l["digest"])
PY
curl -sf "http://$R/v2/acme/vol/blobs/$(cat "$T/layer")" >"$T/payload" || notok "fetch the payload"
python3 - "$T/payload" "$V" "$R/acme/vol:latest" <<'PY' && ok "the payload is containers/image's: critical.image/identity/type" || notok "payload"
import json, sys
p = json.load(open(sys.argv[1]))
c = p["critical"]
assert c == {"identity": {"docker-reference": sys.argv[3]}, "image": {"docker-manifest-digest": sys.argv[2]},
             "type": "cosign container image signature"}, c
assert set(p) == {"critical", "optional"}, p
PY
v=$(openssl dgst -sha256 -verify "$T/acme.pub" -signature "$T/sig.der" "$T/payload" 2>&1)
[ "$v" = "Verified OK" ] && ok "openssl verifies the signature over the payload with acme.pub" ||
    { notok "openssl: $v"; }

out=$(ctl push --sign-by "$T/enc.pem" --sign-passphrase-file "$T/pass" "$R/acme/vol" 2>&1)
case "$out" in *"with $T/enc.pem"*"2 signatures)"*) ok "an encrypted key with its passphrase file appends a second signature" ;;
*) notok "encrypted key push"; diag "$out" ;; esac

check "rm the local plugin" ctl rm "$R/acme/vol"
check "install under the signed rule: accepted" ctl install --grant-all-permissions --disable "$R/acme/vol"
grep -q "$R/acme/vol:latest: signed by $T/acme.pub ($V)" "$T/b/broker.log" && ok "the broker logs the signer" ||
    notok "no signer log line"
out=$(ctl verify "$R/acme/vol" 2>&1)
case "$out" in *"signed by $T/acme.pub ($V)"*) ok "verify names acme.pub" ;; *) notok "verify"; diag "$out" ;; esac
out=$(ctl verify --key "$T/enc.pub" "$R/acme/vol" 2>&1)
case "$out" in *"signed by $T/enc.pub"*) ok "verify --key enc.pub: the second signature" ;; *) notok "verify enc"; diag "$out" ;; esac
expect_fail "verify --key other.pub fails" "no signature verifies with $T/other.pub" \
    ctl verify --key "$T/other.pub" "$R/acme/vol"

# Signed by another key: refused under the rule.
check "create $R/acme/theirs" ctl create "$R/acme/theirs" "$B"
check "push --sign-by other.pem" ctl push --sign-by "$T/other.pem" "$R/acme/theirs"
check "rm it" ctl rm "$R/acme/theirs"
expect_fail "a plugin pushed signed by another key is refused" "$W: no signature verifies with $T/acme.pub" \
    ctl install --grant-all-permissions --disable "$R/acme/theirs"

# An attachment holding a layer that is not a signature is not rewritten.
check "create $R/acme/att" ctl create "$R/acme/att" "$B"
check "push --sign-by acme.pem" ctl push --sign-by "$T/acme.pem" "$R/acme/att"
A=$(hex acme/att latest)
python3 "$PD_TOP/tests/registry/sigattach.py" "$R" foreign acme/att "$A" || notok "add a foreign layer"
before=$(sigdoc acme/att "$A" | sha256sum)
expect_fail "an attachment with other layers is refused" "holds 1 layers that are not signatures; plugind does not rewrite it" \
    ctl push --sign-by "$T/other.pem" "$R/acme/att"
[ "$(sigdoc acme/att "$A" | sha256sum)" = "$before" ] && ok "the attachment is unchanged" ||
    notok "the attachment was rewritten"

# At most 16 signatures, as many as a signed rule reads.
check "create $R/acme/many" ctl create "$R/acme/many" "$B"
i=0; while [ $i -lt 16 ]; do
	ctl push -q --sign-by "$T/acme.pem" "$R/acme/many" >/dev/null 2>&1 || break
	i=$((i + 1))
done
[ $i = 16 ] && ok "16 signatures pushed" || notok "only $i signatures pushed"
expect_fail "the 17th signature is refused" "already holds 16 signatures" \
    ctl push --sign-by "$T/acme.pem" "$R/acme/many"

# The private key stays with pluginctl: none of it in the broker's files.
body=$(sed -n 2p "$T/acme.pem")
if grep -rqF "$body" "$T/b" 2>/dev/null; then notok "acme.pem's body is in the broker's files"
else ok "the private key never reached the broker (not in its log, audit or store)"; fi
grep -q '"verb":"sign"' "$D/audit.log" && ok "sign is audited" || notok "no audit line for sign"

# Debian's skopeo: can it sign at all?  (Its sigstore signing is compiled out.)
if command -v skopeo >/dev/null; then
	mkdir -p "$T/rd"
	printf 'docker:\n  %s:\n    use-sigstore-attachments: true\n' "$R" >"$T/rd/default.yaml"
	out=$(skopeo copy --src-tls-verify=false --dest-tls-verify=false --registries.d "$T/rd" \
	    --sign-by-sigstore-private-key "$T/acme.pem" --sign-passphrase-file "$T/pass" \
	    "docker://$R/acme/vol:latest" "docker://$R/acme/skopeo:latest" 2>&1)
	case "$out" in
	*"sigstore disabled"*) skip "skopeo $(skopeo --version | cut -d' ' -f3) cannot sign: $(echo "$out" | grep -o '[A-Za-z-]* change: sigstore disabled' | head -1)" ;;
	*) out2=$(ctl verify "$R/acme/skopeo" 2>&1) && ok "skopeo's signature verifies: $out2" ||
	    { notok "skopeo signed, plugind does not verify it"; diag "$out"; diag "$out2"; } ;;
	esac
	# And can it verify what pluginctl signed?  (A sigstoreSigned policy.)
	printf '{"default": [{"type": "reject"}], "transports": {"docker": {"%s": [{"type": "sigstoreSigned", "keyPath": "%s", "signedIdentity": {"type": "matchRepoDigestOrExact"}}]}}}\n' \
	    "$R" "$T/acme.pub" >"$T/containers-policy.json"
	out=$(skopeo --policy "$T/containers-policy.json" --registries.d "$T/rd" copy --src-tls-verify=false \
	    "docker://$R/acme/vol:latest" "dir:$T/skopeo-out" 2>&1)
	case "$out" in
	*"sigstore disabled"*) skip "skopeo $(skopeo --version | cut -d' ' -f3) cannot verify either: $(echo "$out" | grep -o '[A-Za-z-]* change: sigstore disabled' | head -1)" ;;
	*) [ -f "$T/skopeo-out/manifest.json" ] && ok "skopeo verifies pluginctl's signature" ||
	    { notok "skopeo refuses pluginctl's signature"; diag "$out"; } ;;
	esac
else
	skip "skopeo not installed"
fi
stop_broker "$BROKER_PID"; untrack_pid "$BROKER_PID"
done_testing

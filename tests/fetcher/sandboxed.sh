# Sourced by test_fetch.sh: the real plugind-fetcher, spawned through
# broker/proc/helper.c (exec, SETUP, chroot into fetch-root, privdrop, seccomp,
# outside check) by build/tests/tools/fetch_sandboxed, against a real
# docker-registry and the hostile server.  Needs the _pd_fetch user
# (tests/deps.sh creates it).  Uses $W, $H, $HP, $FS, $REG, $PY and the
# helpers of test_fetch.sh.

if ! getent passwd _pd_fetch >/dev/null; then
	skip "sandboxed fetcher: user _pd_fetch missing (run tests/deps.sh)"
	return 0
fi
SD=$W/sbx/data
mkdir -p "$SD/fetch-root/etc"
for f in resolv.conf hosts nsswitch.conf host.conf gai.conf; do
	[ -f /etc/$f ] && cp /etc/$f "$SD/fetch-root/etc/"
done
grep -q localhost "$SD/fetch-root/etc/hosts" ||
	echo "127.0.0.1 localhost" >>"$SD/fetch-root/etc/hosts"
fsb() { PD_BUILD=$PD_BUILD timeout -k 5 120 "$FS" "$@"; }

if start_registry sbxreg token+tls; then
	P=localhost:$RPORT
	CA=$RDIR/ca.crt
	TL=$RDIR/token.log
	"$PY" "$REG/push_plugin.py" --registry "https://127.0.0.1:$RPORT" \
	    --repo test/plugin --user testuser --pass testpass --ca "$CA" \
	    --layer-size 2000000 --info "$W/sbx.json" >/dev/null 2>&1
	MDIG=$(jq1 "$W/sbx.json" "d['digest']")
	CDIG=$(jq1 "$W/sbx.json" "d['manifests'][0]['config']['digest']")
	CSIZ=$(jq1 "$W/sbx.json" "d['manifests'][0]['config']['size']")
	LDIG=$(jq1 "$W/sbx.json" "d['manifests'][0]['layers'][0]['digest']")
	LSIZ=$(jq1 "$W/sbx.json" "d['manifests'][0]['layers'][0]['size']")
	: >"$TL"
	out=$(fsb --ca "$CA" --user testuser --pass testpass "$SD" \
	    manifest https "$P" test/plugin latest $MAXM "$W/sm" \
	    blob https "$P" test/plugin "$CDIG" "$CSIZ" "$W/sc" \
	    blob https "$P" test/plugin "$LDIG" "$LSIZ" "$W/sl" \
	    manifest https "$P" test/plugin nope $MAXM "$W/sx" \
	    manifest https "$P" test/plugin "$MDIG" $MAXM "$W/sm2" 2>&1)
	rc=$?
	diag "$(echo "$out" | head -n 1)"
	case "$out" in
	*"sandbox: ok: uid "*"capabilities none, seccomp filter"*"no_new_privs, chroot $SD/fetch-root"*)
		ok "sandboxed: fetcher passed the broker's outside check" ;;
	*) notok "sandboxed: outside check"; diag "$out" ;;
	esac
	case "$out" in
	*SIGSYS*|*"killed by"*) notok "sandboxed: not killed by its seccomp policy"; diag "$out" ;;
	*) ok "sandboxed: not killed by its seccomp policy (TLS, token auth, getaddrinfo thread)" ;;
	esac
	echo "$out" | grep -q "^200 [0-9]* application/vnd.docker.distribution.manifest.v2+json $MDIG progress=0\$" &&
	    [ "$(sha "$W/sm")" = "$MDIG" ] &&
	    ok "sandboxed: manifest by tag over https (localhost via /etc/hosts in the chroot)" ||
	    { notok "sandboxed: manifest"; diag "$out"; }
	[ "$(sha "$W/sc")" = "$CDIG" ] && ok "sandboxed: plugin config blob" ||
	    notok "sandboxed: plugin config blob"
	echo "$out" | grep -q "^200 $LSIZ application/octet-stream $LDIG progress=[1-9]" &&
	    [ "$(sha "$W/sl")" = "$LDIG" ] && ok "sandboxed: 2 MB layer, with PROGRESS" ||
	    { notok "sandboxed: layer"; diag "$out"; }
	echo "$out" | grep -q "^error: not found: manifest unknown: $P/test/plugin:nope not found\$" &&
	    ok "sandboxed: 404 is an ERROR, the helper lives on" ||
	    { notok "sandboxed: 404"; diag "$out"; }
	[ "$(sha "$W/sm2")" = "$MDIG" ] && ok "sandboxed: next request after the error" ||
	    notok "sandboxed: next request after the error"
	n=$(grep -c '"path": "/token"' "$TL")
	[ "$n" -eq 1 ] && ok "sandboxed: one token for the whole job (cache)" ||
	    notok "sandboxed: $n token requests"
	[ $rc -eq 1 ] && ok "sandboxed: tool status reflects the failed request" ||
	    notok "sandboxed: tool status $rc"

	: >"$TL"
	out=$(fsb --ca "$CA" --idtoken test-refresh-token "$SD" \
	    blob https "$P" test/plugin "$CDIG" "$CSIZ" "$W/si" 2>&1)
	[ "$(sha "$W/si")" = "$CDIG" ] && grep -q '"method": "POST"' "$TL" &&
	    ok "sandboxed: identity token (OAuth POST)" ||
	    { notok "sandboxed: identity token"; diag "$out"; }
	out=$(fsb --ca "$HCA" "$SD" manifest https "$P" test/plugin latest \
	    $MAXM "$W/sx" 2>&1)
	echo "$out" | grep -q "^error: unavailable: TLS error talking to registry $P: SSL certificate problem" &&
	    ok "sandboxed: wrong CA is a TLS error" ||
	    { notok "sandboxed: wrong CA"; diag "$out"; }
	head -c 1100000 /dev/zero | tr '\0' 'A' >"$W/bigca.pem"
	out=$(fsb --ca "$W/bigca.pem" --ca "$CA" "$SD" manifest https "$P" \
	    test/plugin latest $MAXM "$W/sx" 2>&1)
	echo "$out" | grep -q "^error: limit: TLS material larger than 1048576 bytes" &&
	    ok "sandboxed: oversized FETCH_TLS fails the next FETCH" ||
	    { notok "sandboxed: oversized FETCH_TLS"; diag "$out"; }
	"$REG/registry.sh" stop "$RDIR"
	out=$(fsb --ca "$CA" "$SD" manifest https "127.0.0.1:$RPORT" test/plugin \
	    latest $MAXM "$W/sx" 2>&1)
	echo "$out" | grep -q "^error: unavailable: cannot connect to registry 127.0.0.1:$RPORT: connection refused" &&
	    ok "sandboxed: registry down" || { notok "sandboxed: registry down"; diag "$out"; }
else
	notok "docker-registry (token+tls) for the sandboxed fetcher started"
fi

out=$(fsb "$SD" manifest http nonexistent.invalid:5000 test/plugin latest \
    $MAXM "$W/sx" 2>&1)
echo "$out" | grep -q "^error: unavailable: cannot resolve registry nonexistent.invalid:5000" &&
    ok "sandboxed: DNS lookup through resolv.conf in the chroot (NXDOMAIN)" ||
    { notok "sandboxed: DNS lookup"; diag "$out"; }

# Hostile rows through the sandboxed fetcher.
before=$(hcount attacker /cdn/ Authorization)
out=$(fsb --user testuser --pass testpass "$SD" \
    blob http "$HP" r1-cdn/p "$BD" "$BS" "$W/sr1" \
    blob http "$HP" r2-file/p "$BD" "$BS" "$W/sx" \
    blob http "$HP" r5-imds/p "$BD" "$BS" "$W/sx" \
    blob http "$HP" b4-endless/p "$BD" "$BS" "$W/sx" \
    blob http "$HP" b1-wrong/p "$BD" "$BS" "$W/sx" \
    manifest http "$HP" a7-huge/p latest $MAXM "$W/sx" \
    blob http "$HP" ok/p "$BD" "$BS" "$W/sok" 2>&1)
[ "$(sha "$W/sr1")" = "$BD" ] && [ "$(hcount attacker /cdn/ Authorization)" -eq "$before" ] &&
    ok "sandboxed: R1 CDN redirect followed without credentials" ||
    { notok "sandboxed: R1"; diag "$out"; }
for want in "redirect to a file: URL refused" \
    "resolves to 169.254.169.254, a link-local address" \
    "error: limit: blob $BD is larger than its descriptor ($BS bytes)" \
    "error: digest: digest mismatch: blob $BD" \
    "error: limit: token server $HP: response larger than 262144 bytes"; do
	case "$out" in
	*"$want"*) ok "sandboxed: $want" ;;
	*) notok "sandboxed: $want"; diag "$out" ;;
	esac
done
[ "$(sha "$W/sok")" = "$BD" ] && ok "sandboxed: still serving after five failures" ||
    notok "sandboxed: still serving after five failures"

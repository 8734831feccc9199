#!/bin/sh
# The fetcher's registry client against a real docker-registry (anon,
# Basic, Bearer tokens, TLS) and against tests/registry/hostile.py (every
# pull row of the registry-misbehaviour list; see docs/FETCHER.md for the table
# of rows and outcomes).  Uses build/tests/tools/fetch_tool, which calls
# fetcher/reg_*.c without the sandbox, and, when the fetcher binary
# links, build/tests/tools/fetch_sandboxed, which runs the real sandboxed
# plugind-fetcher.  Everything started is killed by PID on exit.
. "$(dirname "$0")/../lib.sh"

FT=$PD_BUILD/tests/tools/fetch_tool
FS=$PD_BUILD/tests/tools/fetch_sandboxed
REG=$PD_TOP/tests/registry
PY=${PY:-python3}
MAXM=4194304

if [ ! -x "$FT" ]; then
	skip "fetch_tool not built (make tests)"
	done_testing
	exit
fi
W=$(mktemp -d /tmp/pd-fetch.XXXXXX)
track_dir "$W"

sha() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }
jq1() { "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

# fetch_ok DESC DIGEST fetch_tool-args...: succeeds, bytes hash to DIGEST
fetch_ok() {
	_d=$1 _want=$2; shift 2
	if ! _out=$("$FT" "$@" 2>&1); then
		notok "$_d"; diag "$_out"; return 1
	fi
	eval "_f=\${$#}"
	_got=$(sha "$_f")
	if [ "$_got" = "$_want" ]; then ok "$_d"; else
		notok "$_d"; diag "got $_got, want $_want"; diag "$_out"
	fi
	FETCH_OUT=$_out
}

# start_registry NAME MODE: sets RDIR, RPORT, RSCHEME; tracks the PIDs
start_registry() {
	RDIR=$W/$1
	if ! RPORT=$("$REG/registry.sh" start "$RDIR" "$2" 2>"$W/$1.err"); then
		diag "$(cat "$W/$1.err")"
		return 1
	fi
	for f in "$RDIR"/*.pid; do track_pid "$(cat "$f")"; done
	RSCHEME=$(cat "$RDIR/scheme")
}

# hcount LISTENER PATH-SUBSTRING [HEADER]: requests the hostile server
# logged on LISTENER for paths containing the substring (that carried
# HEADER, if given)
hcount() {
	"$PY" - "$H/requests.log" "$@" <<'EOF'
import json, sys
log, lst, sub = sys.argv[1:4]
hdr = sys.argv[4].lower() if len(sys.argv) > 4 else None
n = 0
for line in open(log):
    e = json.loads(line)
    if e["listener"] != lst or sub not in e["path"]:
        continue
    if hdr and hdr not in (k.lower() for k in e["headers"]):
        continue
    n += 1
print(n)
EOF
}

# ---------------------------------------------------------------------
# Hostile server first: its slow cases run in the background meanwhile.
H=$W/hostile
mkdir -p "$H"
"$PY" "$REG/hostile.py" --dir "$H" >"$H/out" 2>&1 &
track_pid $!
i=0
while [ ! -f "$H/info.json" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
if [ ! -f "$H/info.json" ]; then
	notok "hostile server started"; diag "$(cat "$H/out")"
	done_testing; exit 1
fi
eval "$(jq1 "$H/info.json" "'\n'.join('P_%s=%s' % kv for kv in d['ports'].items())")"
BD=$(jq1 "$H/info.json" "d['blob']['digest']")
BS=$(jq1 "$H/info.json" "d['blob']['size']")
MD=$(jq1 "$H/info.json" "d['manifest']['digest']")
ZD=$(jq1 "$H/info.json" "d['zero']['digest']")
ZS=$(jq1 "$H/info.json" "d['zero']['size']")
HCA=$H/ca.crt
HP=127.0.0.1:$P_plain
HT=127.0.0.1:$P_tls
O=$W/out

# B6 with the compiled-in timeouts (30 s under 1 byte/s): in background.
# Each records its own run time (the subshell's PID is tracked; the
# fetch_tool in it ends by its own timeouts within 35 s).
timed() { # timed OUT command...: run, then append "elapsed N" to OUT
	_o=$1; shift
	_s=$(date +%s)
	"$@" >"$_o" 2>&1
	echo "elapsed $(($(date +%s) - _s))" >>"$_o"
}
timed "$W/drip.out" "$FT" blob http "$HP" b6-drip/p "$BD" "$BS" "$W/drip" &
drip_pid=$!
track_pid $drip_pid
timed "$W/stall.out" "$FT" blob http "$HP" b6-stall/p "$BD" "$BS" "$W/stall" &
stall_pid=$!
track_pid $stall_pid

# ---------------------------------------------------------------------
# Real registry, anonymous.
if start_registry anon anon; then
	ok "docker-registry (anon) started on 127.0.0.1:$RPORT"
	P=127.0.0.1:$RPORT
	"$PY" "$REG/push_plugin.py" --registry "http://$P" --repo test/plugin \
	    --layer-size 3000000 --info "$W/anon.json" >"$W/push.out" 2>&1 ||
	    diag "$(cat "$W/push.out")"
	MDIG=$(jq1 "$W/anon.json" "d['digest']")
	CDIG=$(jq1 "$W/anon.json" "d['manifests'][0]['config']['digest']")
	CSIZ=$(jq1 "$W/anon.json" "d['manifests'][0]['config']['size']")
	LDIG=$(jq1 "$W/anon.json" "d['manifests'][0]['layers'][0]['digest']")
	LSIZ=$(jq1 "$W/anon.json" "d['manifests'][0]['layers'][0]['size']")
	fetch_ok "anon: manifest by tag" "$MDIG" manifest http "$P" test/plugin \
	    latest $MAXM "$W/m"
	case "$FETCH_OUT" in
	"200 $(wc -c <"$W/m" | tr -d ' ') application/vnd.docker.distribution.manifest.v2+json $MDIG")
		ok "anon: FETCH_RESULT status, size, media type, Docker-Content-Digest" ;;
	*) notok "anon: FETCH_RESULT fields"; diag "$FETCH_OUT" ;;
	esac
	fetch_ok "anon: manifest by digest" "$MDIG" manifest http "$P" \
	    test/plugin "$MDIG" $MAXM "$W/m2"
	fetch_ok "anon: plugin config blob" "$CDIG" blob http "$P" test/plugin \
	    "$CDIG" "$CSIZ" "$W/c"
	grep -q '"interface"' "$W/c" && ok "anon: config is the plugin config" ||
	    notok "anon: config is the plugin config"
	fetch_ok "anon: layer blob (3 MB)" "$LDIG" --progress blob http "$P" \
	    test/plugin "$LDIG" "$LSIZ" "$W/l"
	sid=$(echo "$LDIG" | cut -c8-19)
	if echo "$FETCH_OUT" | grep -q "^progress $sid Downloading [0-9]*/$LSIZ\$"; then
		ok "anon: blob PROGRESS uses the short digest and the size"
	else
		notok "anon: blob PROGRESS"; diag "$FETCH_OUT"
	fi
	tar tzf "$W/l" | grep -q '^plugin$' && ok "anon: layer is a tar.gz of the rootfs" ||
	    notok "anon: layer is a tar.gz of the rootfs"
	fetch_ok "anon: same client, 3 fetches (connection reuse)" "$LDIG" \
	    --repeat 3 blob http "$P" test/plugin "$LDIG" "$LSIZ" "$W/l3"
	fetch_ok "anon: layer through a pipe" "$LDIG" --pipe blob http "$P" \
	    test/plugin "$LDIG" "$LSIZ" "$W/lp"
	expect_fail "anon: reader closes the pipe early: stops with EPIPE" \
	    "error: io: the broker closed the pipe for the download (EPIPE)" \
	    "$FT" --pipe-limit 1000 blob http "$P" test/plugin "$LDIG" "$LSIZ" "$W/x"

	# Other shapes push_plugin.py makes.
	"$PY" "$REG/push_plugin.py" --registry "http://$P" --repo test/multi \
	    --layers 3 --info "$W/multi.json" >/dev/null 2>&1
	n=0
	for k in 0 1 2; do
		d=$(jq1 "$W/multi.json" "d['manifests'][0]['layers'][$k]['digest']")
		s=$(jq1 "$W/multi.json" "d['manifests'][0]['layers'][$k]['size']")
		"$FT" blob http "$P" test/multi "$d" "$s" "$W/ml$k" >/dev/null 2>&1 &&
		    [ "$(sha "$W/ml$k")" = "$d" ] && n=$((n + 1))
	done
	[ $n -eq 3 ] && ok "anon: 3-layer plugin, every layer" ||
	    notok "anon: 3-layer plugin ($n of 3 layers)"
	"$PY" "$REG/push_plugin.py" --registry "http://$P" --repo test/oci --oci \
	    --info "$W/oci.json" >/dev/null 2>&1
	fetch_ok "anon: OCI manifest" "$(jq1 "$W/oci.json" "d['digest']")" \
	    manifest http "$P" test/oci latest $MAXM "$W/om"
	echo "$FETCH_OUT" | grep -q " application/vnd.oci.image.manifest.v1+json " &&
	    ok "anon: OCI media type reported" || notok "anon: OCI media type reported"
	for kind in list oci; do
		flag=""; mt=application/vnd.docker.distribution.manifest.list.v2+json
		[ $kind = oci ] && { flag=--oci; mt=application/vnd.oci.image.index.v1+json; }
		"$PY" "$REG/push_plugin.py" --registry "http://$P" --repo "test/idx$kind" \
		    --index $flag --info "$W/idx$kind.json" >/dev/null 2>&1
		fetch_ok "anon: index ($kind) by tag" \
		    "$(jq1 "$W/idx$kind.json" "d['digest']")" manifest http "$P" \
		    "test/idx$kind" latest $MAXM "$W/idx$kind"
		echo "$FETCH_OUT" | grep -q " $mt " && ok "anon: index media type $mt" ||
		    notok "anon: index media type $mt"
		for k in 0 1; do
			d=$(jq1 "$W/idx$kind.json" "d['manifests'][$k]['digest']")
			fetch_ok "anon: index ($kind) child $k by digest" "$d" manifest \
			    http "$P" "test/idx$kind" "$d" $MAXM "$W/idx$kind$k"
		done
	done
	"$PY" "$REG/push_plugin.py" --registry "http://$P" --repo test/image \
	    --image --info "$W/img.json" >/dev/null 2>&1
	d=$(jq1 "$W/img.json" "d['manifests'][0]['config']['digest']")
	fetch_ok "anon: non-plugin image config (the fetcher does not judge it)" \
	    "$d" blob http "$P" test/image "$d" \
	    "$(jq1 "$W/img.json" "d['manifests'][0]['config']['size']")" "$W/ic"
	grep -q '"architecture"' "$W/ic" && ok "anon: image config content" ||
	    notok "anon: image config content"

	# Errors from a real registry.
	expect_fail "anon: unknown tag is the registry's 404" \
	    "error: not found: manifest unknown: $P/test/plugin:nope not found" \
	    "$FT" manifest http "$P" test/plugin nope $MAXM "$O"
	expect_fail "anon: unknown repository is the registry's 404" \
	    "error: not found: manifest unknown: $P/no/such:latest not found" \
	    "$FT" manifest http "$P" no/such latest $MAXM "$O"
	expect_fail "anon: unknown blob" "error: not found: blob unknown: $P/test/plugin@sha256:0000" \
	    "$FT" blob http "$P" test/plugin \
	    sha256:0000000000000000000000000000000000000000000000000000000000000000 10 "$O"
	expect_fail "anon: manifest over max_size" \
	    "error: limit: manifest larger than 100 bytes" \
	    "$FT" manifest http "$P" test/plugin latest 100 "$O"
	expect_fail "anon: blob longer than its descriptor" \
	    "error: limit: blob $LDIG is larger than its descriptor" \
	    "$FT" blob http "$P" test/plugin "$LDIG" $((LSIZ - 1)) "$O"
	expect_fail "anon: blob shorter than its descriptor" \
	    "error: digest: blob $LDIG is shorter than its descriptor: got $LSIZ of $((LSIZ + 1)) bytes" \
	    "$FT" blob http "$P" test/plugin "$LDIG" $((LSIZ + 1)) "$O"
	expect_fail "anon: https to a plain-http registry is a TLS error" \
	    "error: unavailable: TLS error talking to registry $P" \
	    "$FT" --ca "$HCA" manifest https "$P" test/plugin latest $MAXM "$O"
	# N3: proxy variables of the invoking environment are never used.
	if http_proxy=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 \
	    https_proxy=http://127.0.0.1:9 ALL_PROXY=http://127.0.0.1:9 \
	    no_proxy= "$FT" manifest http "$P" test/plugin latest $MAXM \
	    "$W/np" >/dev/null 2>&1 && [ "$(sha "$W/np")" = "$MDIG" ]; then
		ok "anon: proxy environment variables ignored (N3)"
	else
		notok "anon: proxy environment variables ignored (N3)"
	fi
	expect_fail "anon: an explicit proxy is used" \
	    "(through the configured proxy): connection refused" \
	    "$FT" --proxy http://127.0.0.1:9 manifest http "$P" test/plugin \
	    latest $MAXM "$O"
	"$REG/registry.sh" stop "$RDIR"
	expect_fail "registry down: connection refused names host:port" \
	    "error: unavailable: cannot connect to registry $P: connection refused" \
	    "$FT" manifest http "$P" test/plugin latest $MAXM "$O"
	out=$("$FT" manifest http "$P" test/plugin latest $MAXM "$O" 2>&1)
	case "$out" in
	*TLS*|*SSL*|*https*) notok "http registry down: no HTTPS error"; diag "$out" ;;
	*) ok "http registry down: no HTTPS error" ;;
	esac
else
	notok "docker-registry (anon) started"
fi

# ---------------------------------------------------------------------
# Basic auth (htpasswd).
if start_registry basic basic; then
	P=127.0.0.1:$RPORT
	"$PY" "$REG/push_plugin.py" --registry "http://$P" --repo test/plugin \
	    --user testuser --pass testpass --info "$W/basic.json" >/dev/null 2>&1
	MDIG=$(jq1 "$W/basic.json" "d['digest']")
	LDIG=$(jq1 "$W/basic.json" "d['manifests'][0]['layers'][0]['digest']")
	LSIZ=$(jq1 "$W/basic.json" "d['manifests'][0]['layers'][0]['size']")
	fetch_ok "basic: manifest with credentials" "$MDIG" --user testuser \
	    --pass testpass manifest http "$P" test/plugin latest $MAXM "$W/bm"
	fetch_ok "basic: layer with credentials, twice" "$LDIG" --repeat 2 \
	    --user testuser --pass testpass blob http "$P" test/plugin "$LDIG" \
	    "$LSIZ" "$W/bl"
	expect_fail "basic: wrong password" \
	    "error: unauthorized: unauthorized: authentication required for $P (credentials were refused)" \
	    "$FT" --user testuser --pass wrong manifest http "$P" test/plugin \
	    latest $MAXM "$O"
	expect_fail "basic: no credentials" \
	    "error: unauthorized: unauthorized: authentication required for $P (no credentials given)" \
	    "$FT" manifest http "$P" test/plugin latest $MAXM "$O"
	check "login (Basic): good password" "$FT" --user testuser --pass testpass \
	    login http "$P" - - 0 "$O"
	expect_fail "login (Basic): wrong password, moby's text" \
	    "error: unauthorized: login attempt to http://$P/v2/ failed with status: 401 Unauthorized" \
	    "$FT" --user testuser --pass wrong login http "$P" - - 0 "$O"
	"$REG/registry.sh" stop "$RDIR"
else
	notok "docker-registry (basic) started"
fi

# ---------------------------------------------------------------------
# Bearer tokens (tokenserver.py).
if start_registry token token; then
	P=127.0.0.1:$RPORT
	TL=$RDIR/token.log
	"$PY" "$REG/push_plugin.py" --registry "http://$P" --repo test/plugin \
	    --user testuser --pass testpass --info "$W/token.json" >/dev/null 2>&1
	MDIG=$(jq1 "$W/token.json" "d['digest']")
	LDIG=$(jq1 "$W/token.json" "d['manifests'][0]['layers'][0]['digest']")
	LSIZ=$(jq1 "$W/token.json" "d['manifests'][0]['layers'][0]['size']")
	: >"$TL"
	fetch_ok "token: manifest with credentials" "$MDIG" --user testuser \
	    --pass testpass manifest http "$P" test/plugin latest $MAXM "$W/tm"
	if grep -q '"scope": \["repository(plugin):test/plugin:pull", "repository:test/plugin:pull"\]' "$TL" &&
	    grep -q '"user": "testuser"' "$TL"; then
		ok "token: both scopes (plugin class first), Basic to the realm"
	else
		notok "token: scopes and credentials"; diag "$(cat "$TL")"
	fi
	: >"$TL"
	fetch_ok "token: 3 fetches in one job" "$LDIG" --repeat 3 --user testuser \
	    --pass testpass blob http "$P" test/plugin "$LDIG" "$LSIZ" "$W/tl"
	n=$(grep -c '"path": "/token"' "$TL")
	[ "$n" -eq 1 ] && ok "token: cached per host and scope (1 token request)" ||
	    notok "token: cached ($n token requests)"
	: >"$TL"
	fetch_ok "token: anonymous pull" "$MDIG" manifest http "$P" test/plugin \
	    latest $MAXM "$W/ta"
	grep -q '"authorization": false' "$TL" &&
	    ok "token: anonymous token request carries no Authorization" ||
	    notok "token: anonymous token request"
	expect_fail "token: wrong password" \
	    "error: unauthorized: unauthorized: authentication required for $P (credentials were refused by the token server)" \
	    "$FT" --user testuser --pass wrong manifest http "$P" test/plugin \
	    latest $MAXM "$O"
	: >"$TL"
	fetch_ok "token: identity token (OAuth2 refresh-token POST)" "$MDIG" \
	    --idtoken test-refresh-token manifest http "$P" test/plugin latest \
	    $MAXM "$W/ti"
	grep -q '"method": "POST".*"grant_type": "refresh_token"' "$TL" &&
	    ok "token: POST form with grant_type=refresh_token" ||
	    notok "token: POST form"
	expect_fail "token: unknown identity token" \
	    "credentials were refused by the token server" \
	    "$FT" --idtoken nope manifest http "$P" test/plugin latest $MAXM "$O"
	: >"$TL"
	if out=$("$FT" --user testuser --pass testpass login http "$P" - - 0 "$W/tlogin" 2>&1) &&
	    [ "$(cat "$W/tlogin")" = test-refresh-token ]; then
		ok "login (token): good password, the refresh token written"
	else
		notok "login (token)"; diag "$out"
	fi
	grep '"path": "/token"' "$TL" | grep -v '"scope"' | grep -q '"account": \["testuser"\]' &&
	    ok "login (token): no scope, account=testuser" || { notok "login token query"; diag "$(cat "$TL")"; }
	expect_fail "login (token): wrong password, the token server's text" \
	    "error: unauthorized: unauthorized: invalid credentials" \
	    "$FT" --user testuser --pass wrong login http "$P" - - 0 "$O"
	check "login (token): identity token" "$FT" --idtoken test-refresh-token \
	    login http "$P" - - 0 "$O"
	"$REG/registry.sh" stop "$RDIR"
else
	notok "docker-registry (token) started"
fi
if TOKEN_ANON=none start_registry tokenpriv token; then
	expect_fail "token (no anonymous pull): no credentials" \
	    "authentication required for 127.0.0.1:$RPORT (no credentials given)" \
	    "$FT" manifest http "127.0.0.1:$RPORT" test/plugin latest $MAXM "$O"
	"$REG/registry.sh" stop "$RDIR"
else
	notok "docker-registry (token, private) started"
fi

# ---------------------------------------------------------------------
# TLS: Basic over https, and tokens over https.
if start_registry basictls basic+tls; then
	P=127.0.0.1:$RPORT
	CA=$RDIR/ca.crt
	"$PY" "$REG/push_plugin.py" --registry "https://$P" --repo test/plugin \
	    --user testuser --pass testpass --ca "$CA" --info "$W/btls.json" \
	    >/dev/null 2>&1
	MDIG=$(jq1 "$W/btls.json" "d['digest']")
	LDIG=$(jq1 "$W/btls.json" "d['manifests'][0]['layers'][0]['digest']")
	LSIZ=$(jq1 "$W/btls.json" "d['manifests'][0]['layers'][0]['size']")
	fetch_ok "tls: manifest, CA passed as PEM for every host" "$MDIG" --ca "$CA" \
	    --user testuser --pass testpass manifest https "$P" test/plugin latest \
	    $MAXM "$W/sm"
	fetch_ok "tls: layer, CA only for $P (certs.d)" "$LDIG" --ca-for "$P" "$CA" \
	    --user testuser --pass testpass blob https "$P" test/plugin "$LDIG" \
	    "$LSIZ" "$W/sl"
	expect_fail "tls: no CA given" \
	    "error: unavailable: no CA certificates were given for registry $P" \
	    "$FT" manifest https "$P" test/plugin latest $MAXM "$O"
	expect_fail "tls: CA of another host does not apply" \
	    "no CA certificates were given for registry $P" \
	    "$FT" --ca-for other.example:443 "$CA" manifest https "$P" test/plugin \
	    latest $MAXM "$O"
	expect_fail "tls: wrong CA" \
	    "error: unavailable: TLS error talking to registry $P: SSL certificate problem" \
	    "$FT" --ca "$HCA" manifest https "$P" test/plugin latest $MAXM "$O"
	out=$("$FT" manifest http "$P" test/plugin latest $MAXM "$O" 2>&1)
	case "$out" in
	*TLS*|*SSL*|*https*) notok "tls registry, http scheme: no HTTPS error"; diag "$out" ;;
	*) ok "tls registry, http scheme: no HTTPS error ($out)" ;;
	esac
	"$REG/registry.sh" stop "$RDIR"
else
	notok "docker-registry (basic+tls) started"
fi
if start_registry tokentls token+tls; then
	P=127.0.0.1:$RPORT
	CA=$RDIR/ca.crt
	"$PY" "$REG/push_plugin.py" --registry "https://$P" --repo test/plugin \
	    --user testuser --pass testpass --ca "$CA" --info "$W/ttls.json" \
	    >/dev/null 2>&1
	LDIG=$(jq1 "$W/ttls.json" "d['manifests'][0]['layers'][0]['digest']")
	LSIZ=$(jq1 "$W/ttls.json" "d['manifests'][0]['layers'][0]['size']")
	fetch_ok "tls: token server over https, layer" "$LDIG" --ca "$CA" \
	    --user testuser --pass testpass blob https "$P" test/plugin "$LDIG" \
	    "$LSIZ" "$W/tsl"
	"$REG/registry.sh" stop "$RDIR"
else
	notok "docker-registry (token+tls) started"
fi

# ---------------------------------------------------------------------
# Hostile registry: one test per row (docs/FETCHER.md lists them).
hf() { # hf DESC WANT kind case [ref size] [tool options before]
	_d=$1 _w=$2 _k=$3 _c=$4; shift 4
	if [ "$_k" = blob ]; then
		expect_fail "$_d" "$_w" "$FT" "$@" blob http "$HP" "$_c/p" "$BD" "$BS" "$O"
	else
		expect_fail "$_d" "$_w" "$FT" "$@" manifest http "$HP" "$_c/p" latest $MAXM "$O"
	fi
}
fetch_ok "hostile baseline: manifest" "$MD" manifest http "$HP" ok/p latest $MAXM "$W/hm"
fetch_ok "hostile baseline: blob" "$BD" blob http "$HP" ok/p "$BD" "$BS" "$W/hb"

# Transport and TLS
expect_fail "T1: https to a plain-http port fails as TLS, no fallback" \
    "error: unavailable: TLS error talking to registry $HP" \
    "$FT" --ca "$HCA" manifest https "$HP" ok/p latest $MAXM "$O"
fetch_ok "T2: good certificate from the test CA" "$MD" --ca "$HCA" manifest \
    https "$HT" ok/p latest $MAXM "$W/t2"
expect_fail "T2: wrong host name" "TLS error talking to registry 127.0.0.1:$P_tls_wrong: SSL: no alternative certificate subject name matches" \
    "$FT" --ca "$HCA" manifest https "127.0.0.1:$P_tls_wrong" ok/p latest $MAXM "$O"
expect_fail "T2: expired certificate" "TLS error talking to registry 127.0.0.1:$P_tls_expired: SSL certificate problem: certificate has expired" \
    "$FT" --ca "$HCA" manifest https "127.0.0.1:$P_tls_expired" ok/p latest $MAXM "$O"
expect_fail "T2: self-signed certificate" "TLS error talking to registry 127.0.0.1:$P_tls_self: SSL certificate problem: self-signed certificate" \
    "$FT" --ca "$HCA" manifest https "127.0.0.1:$P_tls_self" ok/p latest $MAXM "$O"
# TLS 1.3: the client's handshake ends before the server checks the
# certificate, so the refusal may come as a TLS alert or a dropped link.
out=$("$FT" --ca "$HCA" manifest https "127.0.0.1:$P_tls_mtls" ok/p latest $MAXM "$O" 2>&1)
case "$out" in
*"error: unavailable: TLS error talking to registry 127.0.0.1:$P_tls_mtls"*|\
*"error: unavailable: connection to registry 127.0.0.1:$P_tls_mtls failed"*)
	ok "TLS: server wants a client certificate, none given" ;;
*) notok "TLS: server wants a client certificate, none given"; diag "$out" ;;
esac
fetch_ok "TLS: client certificate and key for that host (FETCH_TLS CERT/KEY)" \
    "$MD" --ca "$HCA" --cert-for "127.0.0.1:$P_tls_mtls" "$H/client.crt" \
    --key-for "127.0.0.1:$P_tls_mtls" "$H/client.key" manifest https \
    "127.0.0.1:$P_tls_mtls" ok/p latest $MAXM "$W/mtls"
expect_fail "T4: TLS close without close_notify before Content-Length" \
    "error: unavailable: connection to registry $HT closed before the whole response arrived" \
    "$FT" --ca "$HCA" blob https "$HT" t4-truncate/p "$BD" "$BS" "$O"
hf "T5: two different Content-Length headers" \
    "error: protocol: registry $HP sent conflicting Content-Length headers" manifest t5-dupcl
hf "T5: Transfer-Encoding and Content-Length" \
    "error: protocol: registry $HP sent both Transfer-Encoding and Content-Length" manifest t5-tecl
hf "T6: 2 MiB WWW-Authenticate" "error: limit: registry $HP sent a response libcurl would not buffer" \
    manifest t6-bigauth
hf "T6: 100000 headers" "error: limit: registry $HP sent more than 256 header lines" \
    manifest t6-manyhdrs

# Redirects
fetch_ok "R1: blob 307 to a CDN on another origin is followed" "$BD" \
    --user testuser --pass testpass blob http "$HP" r1-cdn/p "$BD" "$BS" "$W/r1"
[ "$(hcount plain r1-cdn Authorization)" -ge 1 ] && [ "$(hcount attacker /cdn/ )" -ge 1 ] &&
    [ "$(hcount attacker /cdn/ Authorization)" -eq 0 ] &&
    ok "R1: Authorization went to the registry, not to the CDN" ||
    notok "R1: no-creds at the CDN"
for s in file ftp gopher dict ldap smb telnet scp data; do
	r=R3; [ $s = file ] && r=R2
	c=r3-$s; [ $s = file ] && c=r2-file
	hf "$r: redirect to $s: refused" "error: protocol: redirect to a $s: URL refused" blob $c
done
expect_fail "R4: https to http downgrade refused" \
    "error: protocol: redirect refused: registry $HT redirected from https to plain http" \
    "$FT" --ca "$HCA" blob https "$HT" r4-downgrade/p "$BD" "$BS" "$O"
[ "$(hcount plain /v2/ok/p/blobs)" -eq 1 ] && ok "R4: nothing fetched over http" ||
    notok "R4: nothing fetched over http"
hf "R5: redirect to 10.0.0.5 refused before connecting" \
    "redirect refused: redirect target 10.0.0.5:9 resolves to 10.0.0.5, a private address" blob r5-private
hf "R5: redirect to 169.254.169.254 (IMDS) refused" \
    "resolves to 169.254.169.254, a link-local address" blob r5-imds
hf "R5: redirect to http://0/ refused" "resolves to 0.0.0.0, a reserved address" blob r5-zero
hf "R5: redirect to http://167772165/ (10.0.0.5) refused" \
    "resolves to 10.0.0.5, a private address" blob r5-decimal
hf "R5: redirect to [::ffff:10.0.0.5] refused" \
    "resolves to ::ffff:10.0.0.5, a private address" blob r5-mapped
hf "R5: redirect to [fe80::1] refused" "resolves to fe80::1, a link-local address" blob r5-ll6
hf "R6: redirect loop" "error: protocol: too many redirects (more than 5)" blob r6-loop
n=$(hcount plain r6-loop)
[ "$n" -eq 6 ] && ok "R6: stopped after 5 hops (6 requests)" || notok "R6: $n requests"
hf "R6: 50-hop chain" "error: protocol: too many redirects (more than 5)" blob r6-chain
hf "R7: Location with userinfo" "redirect refused: Location carries credentials" blob r7-userinfo
hf "R7: Location with a bare CR" "redirect refused: registry $HP sent a 307 with Location contains CR" blob r7-cr
hf "R7: Location with a fragment" "redirect refused: Location has a fragment" blob r7-fragment
hf "R7: Location over 8 KiB" "Location is longer than 8192 bytes" blob r7-long
[ "$(hcount attacker /cdn/x)" -eq 0 ] && ok "R7: no request reached the Location targets" ||
    notok "R7: no request reached the Location targets"
for c in r8-m301 r8-m308; do
	before=$(hcount attacker /cdn/manifest)
	fetch_ok "R8: $c manifest to another origin, followed" "$MD" --user testuser \
	    --pass testpass manifest http "$HP" $c/p latest $MAXM "$W/$c"
	[ "$(hcount attacker /cdn/manifest)" -eq $((before + 1)) ] &&
	    [ "$(hcount attacker /cdn/manifest Authorization)" -eq 0 ] &&
	    ok "R8: $c: no credentials at the other origin" ||
	    notok "R8: $c: no credentials at the other origin"
done
fetch_ok "redirect within the registry origin keeps Authorization" "$BD" \
    --user testuser --pass testpass blob http "$HP" rs-same/p "$BD" "$BS" "$W/rs"

# Authentication and token service
fetch_ok "A1: realm on another origin: token fetched there (Docker rule)" "$MD" \
    manifest http "$HP" a1-foreign/p latest $MAXM "$W/a1"
[ "$(hcount attacker /token Authorization)" -eq 0 ] &&
    ok "A1: anonymous pull sends no Authorization to the foreign realm" ||
    notok "A1: anonymous pull sends no Authorization to the foreign realm"
hf "A2: realm on 169.254.169.254 refused, no connection" \
    "token realm refused: token server 169.254.169.254:80 resolves to 169.254.169.254, a link-local address" \
    manifest a2-imds
hf "A2: realm on 10.0.0.5 refused" "token realm refused: token server 10.0.0.5:80" manifest a2-private
hf "A3: realm file://" "token realm \"file:///etc/passwd\" of registry $HP is not an absolute http or https URL" manifest a3-file
hf "A3: realm gopher://" "is not an absolute http or https URL" manifest a3-gopher
hf "A3: empty realm" "sent a Bearer challenge without a realm" manifest a3-empty
hf "A3: no realm" "sent a Bearer challenge without a realm" manifest a3-missing
hf "A3: relative realm" "token realm \"/token/a6-loop\" of registry $HP is not an absolute" manifest a3-relative
expect_fail "A4: https registry with an http realm refused" \
    "error: protocol: registry $HT uses https but its token realm http://$HP/token/a6-loop is plain http; refused" \
    "$FT" --ca "$HCA" --user testuser --pass testpass manifest https "$HT" \
    a4-httprealm/p latest $MAXM "$O"
[ "$(hcount plain /token/a6-loop)" -eq 0 ] && ok "A4: no request to the http realm" ||
    notok "A4: no request to the http realm"
hf "A5: Basic challenge over http without credentials" \
    "authentication required for $HP (no credentials given)" manifest a5-basic
before=$(hcount plain a6-loop)
hf "A6: registry 401s after a good token: one re-auth, then fail" \
    "error: unauthorized: unauthorized: authentication required for $HP (no credentials given)" manifest a6-loop
n=$(( $(hcount plain a6-loop) - before ))
[ "$n" -eq 3 ] && ok "A6: bounded (2 registry requests, 1 token request)" ||
    notok "A6: $n requests"
hf "A6: with credentials" "authentication required for $HP (credentials were refused)" \
    manifest a6-loop --user testuser --pass testpass
hf "A7: 5 MiB token response" "error: limit: token server $HP: response larger than 262144 bytes" manifest a7-huge
hf "A7: token response not JSON" "token server response is not valid JSON" manifest a7-notjson
hf "A7: token with CR LF" "token from the token server contains characters a bearer token cannot have" manifest a7-crlf
fetch_ok "A7: token and access_token differ: access_token used" "$MD" \
    manifest http "$HP" a7-both/p latest $MAXM "$W/a7"
fetch_ok "A7: expires_in -1 clamped" "$MD" manifest http "$HP" a7-expneg/p \
    latest $MAXM "$W/a7n"
hf "A7: expires_in 1e308" "expires_in is not an integer" manifest a7-expbig
hf "A7: expires_in \"abc\"" "expires_in is not an integer" manifest a7-expstr
hf "A7: no token" "authorization server did not include a token in the response" manifest a7-notoken
hf "A7: 100 KiB token" "token from the token server is longer than 16384 bytes" manifest a7-bigtoken
hf "A7: trailing data after the JSON" "token server response is not valid JSON" manifest a7-trailing
fetch_ok "A8: challenge scope for another repository" "$MD" manifest http \
    "$HP" a8-scope/p latest $MAXM "$W/a8"
"$PY" - "$H/requests.log" <<'EOF' && ok "A8: only repository(plugin):a8-scope/p:pull and repository:a8-scope/p:pull requested" || notok "A8: scopes requested"
import json, sys, urllib.parse
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["path"].startswith("/token/a8-scope"):
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(e["path"]).query)
        sys.exit(0 if q["scope"] == ["repository(plugin):a8-scope/p:pull",
                                     "repository:a8-scope/p:pull"] else 1)
sys.exit(1)
EOF
before=$(hcount attacker "/token?from=a9")
fetch_ok "A9: token endpoint redirects to another origin" "$MD" --user testuser \
    --pass testpass manifest http "$HP" a9-redirect/p latest $MAXM "$W/a9"
[ "$(hcount plain /token/a9-redirect Authorization)" -ge 1 ] &&
    [ "$(hcount attacker "/token?from=a9")" -eq $((before + 1)) ] &&
    [ "$(hcount attacker "/token?from=a9" Authorization)" -eq 0 ] &&
    ok "A9: credentials went to the realm, not across its redirect" ||
    notok "A9: no-creds across the token redirect"
hf "challenge with an unterminated quote" "malformed WWW-Authenticate header" manifest a-unterminated
hf "challenge that is not a challenge" "malformed WWW-Authenticate header: expected an authentication scheme" manifest a-garbage
hf "401 without a challenge" "answered 401 without an authentication challenge" manifest a-nochallenge
hf "only an unsupported scheme" "asks for an unsupported authentication scheme (Negotiate)" manifest a-negotiate

# Manifests
hf "M1: 50 MiB manifest with Content-Length" "error: limit: manifest larger than $MAXM bytes (Content-Length 52428800)" manifest m1-cl
t1=$(date +%s)
hf "M1: 50 MiB manifest, chunked" "error: limit: manifest larger than $MAXM bytes" manifest m1-chunked
[ $(($(date +%s) - t1)) -le 5 ] && ok "M1: stopped at the limit" || notok "M1: stopped at the limit"
expect_fail "M2: by digest, other bytes" \
    "error: digest: digest mismatch: manifest $MD from $HP has digest" \
    "$FT" manifest http "$HP" m2-wrong/p "$MD" $MAXM "$O"
hf "M3: Docker-Content-Digest disagrees" "error: digest: digest mismatch: registry $HP says Docker-Content-Digest $BD" manifest m3-dcd
hf "M5: Content-Type text/html" "sent a manifest of unsupported media type \"text/html\"" manifest m5-ctype
hf "M5: no Content-Type" "sent the manifest without a Content-Type" manifest m5-noctype
hf "M6: schema 1" "is a schema 1 manifest (application/vnd.docker.distribution.manifest.v1+prettyjws), which is not supported" manifest m6-schema1
for d in "sha256:../../../../tmp/x" "sha256:" \
    "sha256:ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789" \
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde" \
    "md5:0123456789abcdef0123456789abcdef" "sha256:%2e%2e"; do
	expect_fail "M8: digest \"$d\" refused before any request" \
	    "error: invalid: invalid blob digest" "$FT" blob http "$HP" m8/p "$d" 10 "$O"
done
expect_fail "M8: digest with a newline" "error: invalid: invalid blob digest" \
    "$FT" blob http "$HP" m8/p "$BD
" 10 "$O"
expect_fail "N1: repository with .." "error: invalid: invalid repository name" \
    "$FT" manifest http "$HP" "m8/../../v2/_catalog" latest $MAXM "$O"
expect_fail "N1: upper-case repository" "error: invalid: invalid repository name" \
    "$FT" manifest http "$HP" "M8/p" latest $MAXM "$O"
expect_fail "N1: tag with %2f" "error: invalid: invalid tag or digest" \
    "$FT" manifest http "$HP" m8/p "a%2fb" $MAXM "$O"
[ "$(hcount plain /m8/)" -eq 0 ] && ok "M8/N1: no request reached the server" ||
    notok "M8/N1: no request reached the server"

# Blobs
hf "B1: other bytes of the right size" "error: digest: digest mismatch: blob $BD from $HP has digest" blob b1-wrong
expect_fail "B2: Content-Length 1000000, 10 bytes, close" \
    "error: unavailable: connection to registry $HP closed before the whole response arrived" \
    "$FT" blob http "$HP" b2-short/p "$BD" 1000000 "$O"
hf "B3: Content-Length above the descriptor" "error: limit: blob $BD is larger than its descriptor: Content-Length 1125899906842624" blob b3-hugecl
hf "B4: endless chunked body" "error: limit: blob $BD is larger than its descriptor ($BS bytes)" blob b4-endless
fetch_ok "B5: bytes after Content-Length are ignored" "$BD" blob http "$HP" \
    b5-extra/p "$BD" "$BS" "$W/b5"
hf "B5: Content-Length below the descriptor" "blob $BD is shorter than its descriptor: got $((BS - 10)) of $BS bytes" blob b5-shortcl
t1=$(date +%s)
expect_fail "B6: 1 KiB/s passes the low-speed check, not the deadline" \
    "error: unavailable: timeout: the blob download did not finish within 4 s" \
    "$FT" --deadline 4 blob http "$HP" b6-slow/p "$BD" "$BS" "$O"
[ $(($(date +%s) - t1)) -le 8 ] && ok "B6: deadline enforced" || notok "B6: deadline enforced"
expect_fail "B7: unsolicited Content-Encoding: gzip is not decoded" \
    "error: digest: blob $ZD is shorter than its descriptor: got" \
    "$FT" blob http "$HP" b7-gzip/p "$ZD" "$ZS" "$O"
gzip -t <"$O" 2>/dev/null && ok "B7: the raw gzip bytes were passed on" ||
    notok "B7: the raw gzip bytes were passed on"
expect_fail "B7: gzip x1000 encoding chain" "is shorter than its descriptor" \
    "$FT" blob http "$HP" b7-chain/p "$ZD" "$ZS" "$O"
hf "B8: 206 Partial Content" "answered 206 Partial Content instead of the whole blob" blob b8-206
t1=$(date +%s)
hf "B9: 500 with a 50 MiB body" "error: unavailable: registry $HP answered 500 Internal Server Error" blob b9-big500
hf "B9: 404 with a 50 MiB body" "error: not found: blob unknown" blob b9-big404
[ $(($(date +%s) - t1)) -le 4 ] && ok "B9: error bodies are not read to the end" ||
    notok "B9: error bodies are not read to the end"
out=$("$FT" blob http "$HP" b9-ansi/p "$BD" "$BS" "$O" 2>&1)
case "$out" in
*"$(printf '\033')"*|*"$(printf '\007')"*) notok "B9: ANSI escapes stripped from the registry's message" ;;
*"answered 500 Internal Server Error: boom?[31mRED?[0m?line2??bell"*)
	ok "B9: ANSI escapes and newlines replaced in the registry's message" ;;
*) notok "B9: registry message"; diag "$out" ;;
esac
t1=$(date +%s)
before=$(hcount plain b10-429)
hf "B10: 429 with Retry-After 999999999" "error: unavailable: registry $HP answered 429 Too Many Requests: slow down" blob b10-429
n=$(( $(hcount plain b10-429) - before ))
[ "$n" -eq 3 ] && [ $(($(date +%s) - t1)) -le 8 ] &&
    ok "B10: 3 tries, Retry-After capped" || notok "B10: $n tries"
hf "500" "error: unavailable: registry $HP answered 500 Internal Server Error: internal trouble" blob s500
hf "503 (retried, then fails)" "error: unavailable: registry $HP answered 503 Service Unavailable: come back later" blob s503
hf "truncated chunked encoding" "error: unavailable: connection to registry $HP closed before the whole response arrived" blob chunk-trunc

# Login (FETCH kind 3) against the hostile "login" listener: the case is
# the user name the token request carries.
HL=127.0.0.1:$P_login
if out=$("$FT" --user good --pass x login http "$HL" - - 0 "$W/hlogin" 2>&1) &&
    [ "$(cat "$W/hlogin")" = login-refresh ]; then
	ok "login (hostile baseline): success, the refresh token written"
else
	notok "login baseline"; diag "$out"
fi
before=$(hcount login /v2/)
expect_fail "login: a token the registry keeps refusing (401 loop) ends at once" \
    "error: unauthorized: login attempt to http://$HL/v2/ failed with status: 401 Unauthorized" \
    "$FT" --user loop --pass x login http "$HL" - - 0 "$O"
n=$(( $(hcount login /v2/) - before ))
[ "$n" -eq 2 ] && ok "login: 401 loop bounded (2 registry requests)" || notok "login: 401 loop made $n requests"
expect_fail "login: the token server refuses: its text" \
    "error: unauthorized: unauthorized: incorrect username or password" \
    "$FT" --user refuse --pass x login http "$HL" - - 0 "$O"
expect_fail "login: a garbage token answer" \
    "error: protocol: token server response is not valid JSON" \
    "$FT" --user garbage --pass x login http "$HL" - - 0 "$O"
if out=$("$FT" --user badrefresh --pass x login http "$HL" - - 0 "$W/hlogin" 2>&1) &&
    [ ! -s "$W/hlogin" ]; then
	ok "login: a refresh token with CR LF is dropped, the login succeeds"
else
	notok "login badrefresh"; diag "$out $(cat "$W/hlogin")"
fi
expect_fail "login: no credentials" \
    "error: unauthorized: unauthorized: authentication required for $HL (no credentials given)" \
    "$FT" login http "$HL" - - 0 "$O"

# ---------------------------------------------------------------------
# The real plugind-fetcher, sandboxed (needs the sandbox module).
if [ -x "$FS" ] && [ -x "$PD_BUILD/plugind-fetcher" ]; then
	. "$(dirname "$0")/sandboxed.sh"
else
	skip "sandboxed fetcher: build/plugind-fetcher or fetch_sandboxed not built"
fi

# ---------------------------------------------------------------------
# Background results.
for b in drip stall; do
	eval "wait \$${b}_pid"
	t=$(sed -n 's/^elapsed //p' "$W/$b.out")
	if grep -q "error: unavailable: timeout: registry $HP sent less than 1 byte/s for 30 s" "$W/$b.out" &&
	    [ "${t:-0}" -ge 29 ] && [ "${t:-0}" -le 40 ]; then
		ok "B6: $b fails on the 30 s low-speed limit (${t}s)"
	else
		notok "B6: $b"; diag "$(cat "$W/$b.out")"
	fi
done
done_testing

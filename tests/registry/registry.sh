#!/bin/sh
# registry.sh start DIR [MODE] | stop DIR
#
# Starts Debian's docker-registry (CNCF distribution 2.8) on 127.0.0.1 and
# a free port, with a config written here (never Debian's own), storage
# under DIR/data.  MODE is one of anon, basic, token, with "+tls" added
# for HTTPS (e.g. "basic+tls"); "tls" alone is anon+tls; "+mtls" (or
# "mtls" alone) is HTTPS that also requires a client certificate.
#
#   basic  htpasswd (bcrypt) with user testuser / testpass
#   token  Bearer tokens from tests/registry/tokenserver.py on another
#          free port; JWTs signed RS256 with a key made here by openssl,
#          whose certificate is the registry's rootcertbundle.  Users
#          testuser / testpass; identity token "test-refresh-token".
#          Anonymous users get pull access unless TOKEN_ANON=none.
#   tls    a test CA (DIR/ca.crt) and a server certificate for 127.0.0.1
#          and localhost signed by it
#   mtls   tls, and the registry requires a client certificate signed by
#          the test CA: DIR/client.cert and DIR/client.key are one
#
# Files left in DIR: port, registry.pid, [tokenport, token.pid, token.log],
# [ca.crt], [client.cert, client.key], config.yml, registry.log.  Prints the port.  Everything
# started is stopped by PID: by "stop DIR", or right here if start fails.
# The caller should also kill DIR/*.pid on its own exit (tests/lib.sh
# track_pid does).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
PY=${PY:-python3}

free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

stop() {
	d=$1
	for f in "$d"/registry.pid "$d"/token.pid; do
		[ -f "$f" ] || continue
		p=$(cat "$f")
		kill -TERM "$p" 2>/dev/null || true
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1; i=$((i + 1))
		done
		kill -KILL "$p" 2>/dev/null || true
		rm -f "$f"
	done
}

wait_http() { # wait_http URL [CAFILE [CERT KEY]]: until it answers at all (200/401)
	i=0
	while [ $i -lt 100 ]; do
		if [ -n "${3:-}" ]; then
			code=$(curl -s -o /dev/null -w '%{http_code}' --noproxy '*' \
			    --cacert "$2" --cert "$3" --key "$4" "$1" 2>/dev/null || true)
		elif [ -n "${2:-}" ]; then
			code=$(curl -s -o /dev/null -w '%{http_code}' --noproxy '*' \
			    --cacert "$2" "$1" 2>/dev/null || true)
		else
			code=$(curl -s -o /dev/null -w '%{http_code}' --noproxy '*' \
			    "$1" 2>/dev/null || true)
		fi
		case "$code" in 200|401) return 0 ;; esac
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

make_tls() {
	d=$1
	openssl req -x509 -newkey rsa:2048 -nodes -days 3 -subj "/CN=plugind test CA" \
	    -keyout "$d/ca.key" -out "$d/ca.crt" >/dev/null 2>&1
	openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
	    -keyout "$d/server.key" -out "$d/server.csr" >/dev/null 2>&1
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' \
	    >"$d/server.ext"
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" \
	    -CAcreateserial -days 2 -extfile "$d/server.ext" \
	    -out "$d/server.crt" >/dev/null 2>&1
}

make_client_cert() {
	d=$1
	openssl req -newkey rsa:2048 -nodes -subj "/CN=plugind test client" \
	    -keyout "$d/client.key" -out "$d/client.csr" >/dev/null 2>&1
	printf 'extendedKeyUsage=clientAuth\n' >"$d/client.ext"
	openssl x509 -req -in "$d/client.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" \
	    -CAcreateserial -days 2 -extfile "$d/client.ext" \
	    -out "$d/client.cert" >/dev/null 2>&1
}

start() {
	d=$1 mode=${2:-anon}
	mkdir -p "$d/data"
	d=$(cd "$d" && pwd)
	auth=${mode%%+*}
	tls=0 mtls=0
	case "$mode" in
	tls) auth=anon tls=1 ;;
	mtls) auth=anon tls=1 mtls=1 ;;
	*+tls) tls=1 ;;
	*+mtls) tls=1 mtls=1 ;;
	esac
	case "$auth" in anon|basic|token) ;; *)
		echo "registry.sh: unknown mode $mode" >&2; exit 2 ;;
	esac
	trap 'stop "$d"' EXIT
	port=$(free_port)
	scheme=http
	{
		echo "version: 0.1"
		echo "log:"
		echo "  level: warn"
		echo "  accesslog:"
		echo "    disabled: true"
		echo "storage:"
		echo "  filesystem:"
		echo "    rootdirectory: $d/data"
		echo "  delete:"
		echo "    enabled: true"
		echo "http:"
		echo "  addr: 127.0.0.1:$port"
		echo "  secret: plugind-test-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
	} >"$d/config.yml"
	if [ $tls -eq 1 ]; then
		make_tls "$d"
		scheme=https
		{
			echo "  tls:"
			echo "    certificate: $d/server.crt"
			echo "    key: $d/server.key"
		} >>"$d/config.yml"
	fi
	if [ $mtls -eq 1 ]; then
		make_client_cert "$d"
		{
			echo "    clientcas:"
			echo "      - $d/ca.crt"
		} >>"$d/config.yml"
	fi
	case "$auth" in
	basic)
		htpasswd -Bbn testuser testpass >"$d/htpasswd" 2>/dev/null
		{
			echo "auth:"
			echo "  htpasswd:"
			echo "    realm: plugind-test"
			echo "    path: $d/htpasswd"
		} >>"$d/config.yml"
		;;
	token)
		openssl req -x509 -newkey rsa:2048 -nodes -days 3 \
		    -subj "/CN=plugind test token signer" -keyout "$d/token.key" \
		    -out "$d/token.crt" >/dev/null 2>&1
		tport=$(free_port)
		echo "$tport" >"$d/tokenport"
		tlsargs=""
		[ $tls -eq 1 ] && tlsargs="--tls-cert $d/server.crt --tls-key $d/server.key"
		# shellcheck disable=SC2086
		"$PY" "$here/tokenserver.py" --port "$tport" --key "$d/token.key" $tlsargs \
		    --cert "$d/token.crt" --issuer plugind-test-issuer \
		    --service plugind-test-registry --user testuser:testpass \
		    --refresh-token test-refresh-token:testuser \
		    --anon "${TOKEN_ANON:-pull}" --log "$d/token.log" \
		    >"$d/tokenserver.out" 2>&1 &
		echo $! >"$d/token.pid"
		{
			echo "auth:"
			echo "  token:"
			echo "    realm: $scheme://127.0.0.1:$tport/token"
			echo "    service: plugind-test-registry"
			echo "    issuer: plugind-test-issuer"
			echo "    rootcertbundle: $d/token.crt"
		} >>"$d/config.yml"
		if ! wait_http "$scheme://127.0.0.1:$tport/health" \
		    "$([ $tls -eq 1 ] && echo "$d/ca.crt")"; then
			echo "registry.sh: token server did not start:" >&2
			cat "$d/tokenserver.out" >&2
			exit 1
		fi
		;;
	esac
	/usr/bin/docker-registry serve "$d/config.yml" >"$d/registry.log" 2>&1 &
	echo $! >"$d/registry.pid"
	echo "$port" >"$d/port"
	echo "$scheme" >"$d/scheme"
	if [ $mtls -eq 1 ]; then
		set -- "$d/ca.crt" "$d/client.cert" "$d/client.key"
	elif [ $tls -eq 1 ]; then
		set -- "$d/ca.crt"
	else
		set --
	fi
	if ! wait_http "$scheme://127.0.0.1:$port/v2/" "$@"; then
		echo "registry.sh: docker-registry did not start:" >&2
		cat "$d/registry.log" >&2
		exit 1
	fi
	trap - EXIT
	echo "$port"
}

case "${1:-}" in
start) [ $# -ge 2 ] || { echo "usage: $0 start DIR [MODE]" >&2; exit 2; }
	start "$2" "${3:-anon}" ;;
stop) [ $# -eq 2 ] || { echo "usage: $0 stop DIR" >&2; exit 2; }
	stop "$2" ;;
*) echo "usage: $0 start DIR [anon|basic|token][+tls|+mtls] | stop DIR" >&2; exit 2 ;;
esac

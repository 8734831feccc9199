#!/bin/sh
# The real libraries under the real policies (TAP): libcurl + OpenSSL +
# glibc's resolver in the FETCHER sandbox (tests/tools/sbx_fetch), and
# libarchive + fd-relative creation calls in the EXTRACTOR sandbox
# (tests/tools/sbx_untar).  Built normally, a missing syscall kills the
# tool with SIGSYS and the test says so; rebuild the tools with
# -DPD_SANDBOX_DEBUG to see which syscall (docs/SANDBOX.md).
# Loopback only: HTTP, HTTPS and (when 127.0.0.1:53 is free) DNS servers
# from tests/sandbox/loopback.py.
set -u
top=${PD_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${PD_BUILD:-$top/build}
F=$build/tests/tools/sbx_fetch
U=$build/tests/tools/sbx_untar
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
failed=0
notok() { n=$((n + 1)); failed=1; echo "not ok $n - $*"; }
skip() { n=$((n + 1)); echo "ok $n - # SKIP $*"; }
check() { if eval "$1"; then ok "$2"; else notok "$2"; fi; }

if [ "$(id -u)" != 0 ]; then
	skip "needs root (chroot, privdrop)"
	echo "1..$n"
	exit 0
fi
for x in "$F" "$U"; do
	[ -x "$x" ] || { notok "$x not built"; echo "1..$n"; exit 1; }
done

tmp=$(mktemp -d /tmp/pd-libs.XXXXXX)
srv=
cleanup() {
	if [ -n "$srv" ]; then
		kill "$srv" 2>/dev/null
		wait "$srv" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
chmod 0755 "$tmp"

# killed RC: describe an exit status of timeout(1)
killed() {
	[ "$1" -ge 124 ] && [ "$1" -ne 126 ] && [ "$1" -ne 127 ]
}

# --- fetcher ---------------------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$tmp/key.pem" -out "$tmp/cert.pem" -days 1 \
    -subj /CN=registry.test \
    -addext "subjectAltName=DNS:registry.test,DNS:localhost,IP:127.0.0.1" \
    >/dev/null 2>&1
mkdir "$tmp/www"
head -c 2000000 /dev/urandom >"$tmp/www/blob"
echo hello >"$tmp/www/small"
"$PY" "$top/tests/sandbox/loopback.py" "$tmp/www" "$tmp/cert.pem" \
    "$tmp/key.pem" "$tmp/ports" >"$tmp/server.log" 2>&1 &
srv=$!
i=0
while [ ! -f "$tmp/ports" ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
if [ ! -f "$tmp/ports" ]; then
	notok "loopback servers did not start"
	sed 's/^/# /' "$tmp/server.log"
	echo "1..$n"
	exit 1
fi
http=$(awk '$1 == "http" { print $2 }' "$tmp/ports")
https=$(awk '$1 == "https" { print $2 }' "$tmp/ports")
dns=$(awk '$1 == "dns" { print $2 }' "$tmp/ports")

# What the broker puts in fetch-root: the resolver's files and nothing else.
mkdir -p "$tmp/fr/etc"
printf 'hosts: files dns\n' >"$tmp/fr/etc/nsswitch.conf"
printf '127.0.0.1 localhost\n::1 localhost\n' >"$tmp/fr/etc/hosts"
printf 'multi on\n' >"$tmp/fr/etc/host.conf"
printf 'nameserver 127.0.0.1\noptions timeout:2 attempts:2\n' \
    >"$tmp/fr/etc/resolv.conf"

names="-n localhost"
urls="http://127.0.0.1:$http/blob https://localhost:$https/blob"
if [ "$dns" = 1 ]; then
	names="$names -n registry.test -n big.test -n missing.test"
	urls="$urls http://registry.test:$http/small https://registry.test:$https/small"
fi
timeout 120 "$F" -r "$tmp/fr" -c "$tmp/cert.pem" $names $urls \
    >"$tmp/fetch.out" 2>"$tmp/fetch.err"
rc=$?
if killed $rc; then
	notok "fetcher sandbox: sbx_fetch killed or timed out (status $rc)"
else
	ok "fetcher sandbox: sbx_fetch was not killed"
fi
check '[ $rc -eq 0 ]' "fetcher sandbox: every fetch worked"

blob=$(sha256sum "$tmp/www/blob" | cut -d' ' -f1)
small=$(sha256sum "$tmp/www/small" | cut -d' ' -f1)
check 'grep -qx "addr localhost 127.0.0.1" "$tmp/fetch.out"' \
    "getaddrinfo(localhost) from /etc/hosts: 127.0.0.1"
check 'grep -qx "addr localhost ::1" "$tmp/fetch.out"' \
    "getaddrinfo(localhost) from /etc/hosts: ::1 (netlink soft-denied)"
check 'grep -qx "got http://127.0.0.1:$http/blob 200 2000000 $blob" "$tmp/fetch.out"' \
    "HTTP GET of a 2 MB blob, digest matches"
check 'grep -qx "got https://localhost:$https/blob 200 2000000 $blob" "$tmp/fetch.out"' \
    "HTTPS GET with the CA from memory, via localhost (::1 refused, then 127.0.0.1)"
if [ "$dns" = 1 ]; then
	check 'grep -qx "addr registry.test 127.0.0.1" "$tmp/fetch.out"' \
	    "getaddrinfo(registry.test) over UDP DNS"
	check '[ "$(grep -c "^addr big.test 127.0.0" "$tmp/fetch.out")" -eq 40 ]' \
	    "getaddrinfo(big.test): truncated UDP answer, retried over TCP"
	check 'grep -q "^addr missing.test error" "$tmp/fetch.out"' \
	    "getaddrinfo(missing.test) fails cleanly (NXDOMAIN)"
	check 'grep -qx "got http://registry.test:$http/small 200 6 $small" "$tmp/fetch.out"' \
	    "HTTP GET by name through the threaded resolver"
	check 'grep -qx "got https://registry.test:$https/small 200 6 $small" "$tmp/fetch.out"' \
	    "HTTPS GET by name through the threaded resolver"
else
	for what in "UDP DNS" "DNS over TCP" "NXDOMAIN" "HTTP by name" "HTTPS by name"; do
		skip "$what: 127.0.0.1:53 is taken"
	done
fi

# --- extractor -------------------------------------------------------------
"$PY" "$top/tests/sandbox/layers.py" make "$tmp/layers"
mkdir "$tmp/stage"
chmod 0755 "$tmp/stage"
timeout 120 "$U" "$tmp/stage" "$tmp/layers/layer1.tar.gz" \
    "$tmp/layers/layer2.tar.xz" >"$tmp/untar.out" 2>"$tmp/untar.err"
rc=$?
if killed $rc; then
	notok "extractor sandbox: sbx_untar killed or timed out (status $rc)"
else
	ok "extractor sandbox: sbx_untar was not killed"
fi
check '[ $rc -eq 0 ]' "extractor sandbox: both layers extracted"
check 'grep -qx "device dev/null skipped: Operation not permitted" "$tmp/untar.out"' \
    "device node soft-denied with EPERM and skipped"
check 'grep -qx "data/xattr f 0644 0 0 1 xattr user.pd" "$tmp/untar.out"' \
    "in-sandbox listing (getdents64, fstatat, flistxattr) ran"
"$PY" "$top/tests/sandbox/layers.py" check "$tmp/stage" >"$tmp/check.out" 2>&1
while read -r line; do
	case $line in
	"ok - "*)	ok "${line#ok - }" ;;
	"not ok - "*)	notok "${line#not ok - }" ;;
	*)		echo "# $line" ;;
	esac
done <"$tmp/check.out"

# Show what the tools said when something went wrong.
if [ $failed = 1 ]; then
	for f in fetch.out fetch.err untar.out untar.err server.log; do
		[ -s "$tmp/$f" ] && sed "s|^|# $f: |" "$tmp/$f"
	done
fi
echo "1..$n"

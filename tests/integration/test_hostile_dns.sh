#!/bin/sh
# Registry-misbehaviour rows (docs/FETCHER.md) that need names we resolve: T3 and the "name
# that resolves to an internal address" halves of R5 and A2.  The script
# re-runs itself in private mount and network namespaces, adds 10.0.0.5
# to that namespace's loopback, and bind-mounts its own /etc/hosts there
# (the host's files and network are untouched):
#   dual.test     -> 127.0.0.1 and 10.0.0.5
#   internal.test -> 10.0.0.5 (hostile.py's "internal" listener)
# The broker copies /etc/hosts into the fetcher's chroot when it starts,
# so the sandboxed fetcher resolves these names as a real resolver would.
. "$(dirname "$0")/../lib.sh"

if [ -z "${PD_HOSTILE_NS:-}" ]; then
	if ! unshare --mount --net true 2>/dev/null; then
		skip "T3/R5/A2 by name: cannot create mount and network namespaces here"
		done_testing; exit 0
	fi
	trap - EXIT
	PD_HOSTILE_NS=1 exec unshare --mount --net --propagation private sh "$0" "$@"
fi

T=$(mktemp -d /tmp/pd-hdns.XXXXXX); track_dir "$T"; chmod 755 "$T"
ip link set lo up && ip addr add 10.0.0.5/32 dev lo ||
    { notok "namespace loopback with 10.0.0.5"; done_testing; exit 1; }
printf '127.0.0.1 localhost\n127.0.0.1 dual.test\n10.0.0.5 dual.test\n10.0.0.5 internal.test\n' >"$T/hosts"
chmod 644 "$T/hosts"
mount --bind "$T/hosts" /etc/hosts || { notok "private /etc/hosts"; done_testing; exit 1; }
track_mount /etc/hosts

H="$T/h"; mkdir -p "$H"
python3 "$PD_TOP/tests/registry/hostile.py" --dir "$H" --internal 10.0.0.5 >"$H.out" 2>&1 &
track_pid $!
i=0; while [ ! -f "$H/info.json" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
[ -f "$H/info.json" ] || { notok "hostile registry starts"; diag "$(tail -5 "$H.out")"; done_testing; exit 1; }
P=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['ports']['plain'])" "$H/info.json")
echo "{\"insecure-registries\": [\"internal.test:$P\"]}" >"$T/conf.json"
start_broker "$T/b" --config "$T/conf.json" || { notok "broker starts"; done_testing; exit 1; }
# count LISTENER: requests it logged
count() { grep -c "\"listener\": \"$1\"" "$H/requests.log"; }

# The emulation works: both names reach the registry emulation.
python3 -c "import urllib.request as u, sys; u.urlopen('http://internal.test:%s/v2/' % sys.argv[1], timeout=5).read()" "$P" 2>"$T/err" &&
    [ "$(count internal)" = 1 ] && ok "internal.test:$P reaches the internal listener on 10.0.0.5" ||
    { notok "internal listener"; diag "$(cat "$T/err")"; }
check "the registry on 127.0.0.1:$P answers a privileges query over http" ctl privileges "127.0.0.1:$P/ok/p"
n0=$(count plain)

# T3: dual.test resolves to a loopback address (among others); plain http
# must not follow from that: https is chosen from the name, so the plain
# listener sees a TLS handshake and no HTTP request.
expect_fail "T3: dual.test (127.0.0.1 and 10.0.0.5) is not treated as loopback: https, a TLS error" \
    "TLS error talking to registry dual.test:$P" ctl privileges "dual.test:$P/ok/p"
[ "$(count plain)" = "$n0" ] && [ "$(count internal)" = 1 ] &&
    ok "T3: no HTTP request reached either address" || notok "T3: plain $(count plain) (was $n0), internal $(count internal)"

# R5 / A2: a redirect target or token realm whose name resolves to a
# private address is refused on the address connected, before connect().
expect_fail "R5: redirect to internal.test (10.0.0.5) refused on the resolved address" \
    "resolves to 10.0.0.5, a private address, and the registry's address is not" \
    ctl privileges "127.0.0.1:$P/r5-name/p"
expect_fail "A2: token realm on internal.test (10.0.0.5) refused on the resolved address" \
    "resolves to 10.0.0.5, a private address" ctl privileges "127.0.0.1:$P/a2-name/p"
[ "$(count internal)" = 1 ] && ok "R5/A2: the internal listener saw no request from the fetcher" ||
    notok "R5/A2: internal listener got $(count internal) requests"

# The registry itself may be anywhere the operator says: internal.test,
# listed in insecure-registries by exact host:port, is reached over http.
# This needs the sandboxed fetcher to resolve the name from its chroot's
# copy of /etc/hosts (fetch-root was 0700, and _pd_fetch resolved nothing).
check "an insecure-registries name resolving to 10.0.0.5 is used as configured" \
    ctl privileges "internal.test:$P/ok/p"
[ "$(count internal)" -gt 1 ] && ok "the internal listener got those requests" ||
    notok "no request on 10.0.0.5"
done_testing

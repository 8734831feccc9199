#!/bin/sh
# Hostile HTTP on the Docker API socket: bad chunking, oversized headers,
# slow clients, wrong Content-Type, empty bodies (4xx, never 5xx, broker
# unharmed); a non-root peer in group plugind gets 403 on mutating routes
# and nothing changes, one outside the group cannot connect; killing an
# API process drops only its connection.
. "$(dirname "$0")/../lib.sh"

command -v setpriv >/dev/null || { skip "setpriv (util-linux) not installed"; done_testing; exit 0; }
T=$(mktemp -d /tmp/pdhh.XXXXXX); track_dir "$T"; chmod 755 "$T"
A="$T/api.sock"
start_broker "$T/b" --docker-api "unix://$A" || { notok "broker starts"; done_testing; exit 1; }
H="/usr/bin/python3 $PD_TOP/tests/api/hostile_http.py $A"

# A plugin to aim the mutating requests at.
P="$T/p"; mkdir -p "$P/rootfs/run/docker/plugins"
echo '{"Entrypoint":["/x"],"Interface":{"Socket":"x.sock","Types":["docker.volumedriver/1.0"]},
 "Env":[{"Name":"DEBUG","Settable":["value"],"Value":"0"}]}' >"$P/config.json"
ctl create victim "$P" >/dev/null || notok "create victim"

$H cases >"$T/cases" 2>&1 || diag "hostile_http.py cases exited with $?"
while IFS= read -r line; do
	case $line in
	"PASS "*) ok "${line#PASS }" ;;
	"FAIL "*) notok "${line#FAIL }" ;;
	*) diag "$line" ;;
	esac
done <"$T/cases"
kill -0 "$BROKER_PID" && ctl ls >/dev/null && ok "broker alive and serving after the hostile cases" ||
    notok "broker after hostile cases"

# Non-root peers.
GID=$(getent group plugind | cut -d: -f3)
if [ -z "$GID" ]; then
	skip "no group plugind (make deps creates it)"
else
	asgroup() { setpriv --reuid 65534 --regid "$GID" --clear-groups $H req "$@" 2>&1; }
	before=$(ctl inspect victim)
	out=$(asgroup GET /v1.43/plugins)
	case "$out" in "200 "*victim*) ok "group plugind may list" ;; *) notok "group list"; diag "$out" ;; esac
	# plugind as a supplementary group only: the broker reads it with
	# SO_PEERGROUPS at accept, for the API socket as for the control one.
	out=$(setpriv --reuid 65534 --regid 65534 --groups "$GID" $H req GET /v1.43/plugins 2>&1)
	case "$out" in "200 "*victim*) ok "supplementary group plugind may list (SO_PEERGROUPS)" ;;
	*) notok "supplementary group list"; diag "$out" ;; esac
	out=$(setpriv --reuid 65534 --regid 65534 --clear-groups $H req GET /v1.43/plugins 2>&1)
	case "$out" in *PermissionError*|"403 "*) ok "no group plugind: refused" ;; *) notok "no group"; diag "$out" ;; esac
	for r in "POST /v1.43/plugins/victim/enable?timeout=0" "POST /v1.43/plugins/victim/disable" \
	    "DELETE /v1.43/plugins/victim?force=1" "POST /plugins/pull?remote=127.0.0.1:1/a/b" \
	    "POST /plugins/victim/push" "POST /plugins/victim/upgrade?remote=127.0.0.1:1/a/b"; do
		# shellcheck disable=SC2086
		out=$(asgroup $r)
		case "$out" in "403 "*"needs root"*) ok "non-root $r: 403" ;;
		*) notok "non-root $r"; diag "$out" ;; esac
	done
	out=$(asgroup POST /v1.43/plugins/victim/set '["DEBUG=9"]')
	case "$out" in "403 "*) ok "non-root set: 403" ;; *) notok "non-root set"; diag "$out" ;; esac
	out=$(setpriv --reuid 65534 --regid "$GID" --clear-groups sh -c \
	    "tar -C $P -cf - . | curl -s -o /dev/null -w '%{http_code}' --unix-socket $A -X POST \
	    -H 'Content-Type: application/x-tar' --data-binary @- 'http://x/plugins/create?name=intruder'")
	[ "$out" = 403 ] && ok "non-root create: 403" || notok "non-root create: $out"
	[ "$(ctl inspect victim)" = "$before" ] && ok "victim unchanged" || notok "victim changed"
	ctl inspect intruder >/dev/null 2>&1 && notok "intruder was created" || ok "nothing was created"
	# A group member holding every connection it can get: the last API
	# processes stay root's (broker.h PD_API_ROOTCONN).
	mkfifo "$T/flood.in"
	setpriv --reuid 65534 --regid "$GID" --clear-groups $H flood 40 <"$T/flood.in" \
	    >"$T/flood.out" 2>&1 &
	track_pid $!
	exec 8>"$T/flood.in"
	i=0; while ! grep -q ":" "$T/flood.out" && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
	got=$(cat "$T/flood.out")
	served=$(echo "$got" | tr ' ' '\n' | sed -n 's/^200://p')
	[ -n "$served" ] && [ "$served" -le 24 ] && [ "$served" -ge 1 ] &&
	    ok "group member flood: $served of 40 served, the rest refused" ||
	    { notok "group member flood"; diag "$got"; }
	out=$($H req GET /_ping 2>&1)
	case "$out" in "200 "*) ok "root still served during the flood" ;;
	*) notok "root during the flood"; diag "$out" ;; esac
	exec 8>&-
	out=$(setpriv --reuid 65534 --regid 65534 --clear-groups $H req GET /v1.43/plugins 2>&1)
	case "$out" in *PermissionError*|*"Permission denied"*) ok "outside group plugind: cannot connect" ;;
	*) notok "outside the group"; diag "$out" ;; esac
fi

# Root through curl: create streams a tar body; a duplicate is 409.
tar -C "$P" -cf "$T/ctx.tar" .
code=$(curl -s -o "$T/body" -w '%{http_code}' --unix-socket "$A" -X POST -H 'Content-Type: application/x-tar' \
    --data-binary @"$T/ctx.tar" 'http://x/v1.43/plugins/create?name=victim')
[ "$code" = 409 ] && ok "create of a taken name: 409" || { notok "duplicate create: $code"; diag "$(cat "$T/body")"; }
code=$(curl -s -o "$T/body" -w '%{http_code}' --unix-socket "$A" -X POST -H 'Transfer-Encoding: chunked' \
    --data-binary @"$T/ctx.tar" 'http://x/v1.43/plugins/create?name=chunky')
[ "$code" = 204 ] && ctl inspect chunky >/dev/null && ok "create with a chunked tar body: 204" ||
    { notok "chunked create: $code"; diag "$(cat "$T/body")"; }

# Killing the API process of one connection drops that connection only.
api_pids() { job_helpers api; }	# not the idle warm spare
mkfifo "$T/hold.in"
$H hold <"$T/hold.in" >"$T/hold.out" 2>&1 &
HP=$!; track_pid $HP
exec 7>"$T/hold.in"
i=0; while ! grep -q held "$T/hold.out" && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
pids=$(api_pids)
[ -n "$pids" ] && ok "an API process serves the held connection" || notok "no API process found"
grep -q "held 200" "$T/hold.out" && ok "first request on it answered" || notok "held: $(cat "$T/hold.out")"
for p in $pids; do kill -KILL "$p"; done
echo go >&7; exec 7>&-
wait $HP
grep -q EOF "$T/hold.out" && ok "its connection was dropped" || { notok "killed connection"; diag "$(cat "$T/hold.out")"; }
out=$($H req GET /v1.43/plugins)
case "$out" in "200 "*) ok "a new connection works" ;; *) notok "after kill"; diag "$out" ;; esac
kill -0 "$BROKER_PID" && ctl ls >/dev/null && ok "broker alive after the API process was killed" ||
    notok "broker after kill"
sleep 0.3
[ -z "$(api_pids)" ] && ok "no API process outlives its connection" || notok "API processes left: $(api_pids)"

# SIGTERM with an idle keep-alive connection open: the broker ends its
# API process and stops at once, rather than waiting out the drain.
mkfifo "$T/idle.in"
$H hold <"$T/idle.in" >"$T/idle.out" 2>&1 &
IP=$!; track_pid $IP
exec 8>"$T/idle.in"
i=0; while ! grep -q held "$T/idle.out" && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
t0=$(date +%s%N)
stop_broker "$BROKER_PID"; src=$?
dt=$(( ($(date +%s%N) - t0) / 1000000 ))
[ $src -eq 0 ] && [ $dt -lt 5000 ] && ok "SIGTERM with an idle API connection: clean exit in ${dt} ms" ||
    notok "SIGTERM with an idle API connection: status $src after ${dt} ms"
[ ! -e "$A" ] && ok "the API socket is removed at exit" || notok "API socket left behind"
exec 8>&-
wait $IP
done_testing

#!/bin/sh
# The broker and the control socket: start-up, lock, info/ls/inspect,
# permissions, malformed clients, misbehaving helpers, shutdown.
. "$(dirname "$0")/../lib.sh"

T=$(mktemp -d /tmp/pd-broker.XXXXXX); track_dir "$T"
# Non-root peers must be able to reach the socket through these dirs.
chmod 755 "$T"

check "plugind --version" "$PD_BUILD/plugind" --version
mkdir -p "$T/b1" && chmod 755 "$T/b1"
start_broker "$T/b1" || { notok "broker starts"; done_testing; exit 1; }
ok "broker starts and answers"

mode=$(stat -c %a "$SOCK")
[ "$mode" = 660 ] && ok "control socket mode 0660" || notok "control socket mode is $mode"
if getent group plugind >/dev/null; then
	[ "$(stat -c %G "$SOCK")" = plugind ] && ok "control socket group plugind" ||
	    notok "control socket group is $(stat -c %G "$SOCK")"
else
	skip "group plugind does not exist (make deps creates it)"
fi

out=$(ctl info 2>&1)
case "$out" in *"Data Root: $T/b1/data"*) ok "info shows the data root" ;;
*) notok "info shows the data root"; diag "$out" ;; esac
n=$(echo "$out" | grep -c 'sandbox: ok:')
[ "$n" = 4 ] && ok "info: fetcher, extractor, api and logger verified sandboxed" || { notok "info: helpers sandboxed"; diag "$out"; }
case "$out" in *" logger: "*"capabilities none, seccomp filter"*"chroot $T/b1/data/tmp/probe-"*) ok "info: the log writer role is probed" ;;
*) notok "info: logger role"; diag "$out" ;; esac
[ -z "$(job_tmp "$T/b1/data")" ] && ok "info leaves no probe directory" || notok "probe leftovers: $(ls -A "$T/b1/data/tmp")"
case "$out" in *" api: "*"capabilities none, seccomp filter"*) ok "info: the api role is probed" ;;
*) notok "info: api role"; diag "$out" ;; esac

out=$(ctl ls)
# docker's own empty `docker plugin ls`, byte for byte (tabwriter 10/1/3).
[ "$out" = "ID        NAME      DESCRIPTION   ENABLED" ] &&
    ok "ls on an empty store prints the header only, as docker does" || { notok "empty ls"; diag "$out"; }
[ -z "$(ctl ls -q)" ] && ok "ls -q prints nothing" || notok "ls -q"
expect_fail "inspect of a missing plugin" 'pluginctl: error: plugin "nothere" not found' ctl inspect nothere
expect_fail "ls with an unknown filter" "invalid filter 'foo'" ctl ls --filter foo=bar

# A second broker on the same data root must refuse.
out=$("$PD_BUILD/plugind" --data-root "$T/b1/data" --exec-root "$T/b1/exec2" --helper-dir "$PD_BUILD" 2>&1)
rc=$?
case "$rc:$out" in 1:*"already using data root $T/b1/data"*) ok "second broker on one data root refuses" ;;
*) notok "second broker refuses (rc $rc)"; diag "$out" ;; esac
# ...and one on another data root but the same socket too.
out=$("$PD_BUILD/plugind" --data-root "$T/other" -H "unix://$SOCK" --helper-dir "$PD_BUILD" 2>&1)
case "$out" in *"in use by another process"*) ok "second broker on one socket refuses" ;;
*) notok "second broker on one socket"; diag "$out" ;; esac

# Podman's drop-in must be a *.conf file (the only ones Podman reads).
out=$("$PD_BUILD/plugind" --data-root "$T/pc/data" --exec-root "$T/pc/exec" --publish-podman-conf "$T/pc/x.toml" 2>&1); rc=$?
case "$rc:$out" in [1-9]*"--publish-podman-conf needs an absolute path of a *.conf file"*) ok "--publish-podman-conf refuses a non-.conf path" ;;
*) notok "--publish-podman-conf x.toml (rc $rc)"; diag "$out" ;; esac
echo '{"publish-podman-conf": "relative.conf"}' >"$T/pc.json"
out=$("$PD_BUILD/plugind" --data-root "$T/pc/data" --exec-root "$T/pc/exec" --config "$T/pc.json" 2>&1); rc=$?
case "$rc:$out" in [1-9]*'"publish-podman-conf" must be an absolute path or ""'*) ok "config publish-podman-conf: a relative path is refused, naming the key" ;;
*) notok "config publish-podman-conf relative (rc $rc)"; diag "$out" ;; esac

# 20 clients at once.
i=0; pids=""
while [ $i -lt 20 ]; do ctl ls >"$T/par.$i" 2>&1 & pids="$pids $!"; i=$((i + 1)); done
fails=0
for p in $pids; do wait $p || fails=$((fails + 1)); done
[ $fails = 0 ] && ok "20 parallel ls clients succeed" || notok "$fails of 20 parallel ls failed"

# 1000 malformed conversations; the broker must stay up and keep serving.
out=$("$PD_BUILD/tests/tools/ctlfuzz" "$SOCK" 1000 7 2>&1)
case "$out" in "1000 connections done") ok "1000 malformed control conversations sent" ;;
*) notok "ctlfuzz"; diag "$out" ;; esac
kill -0 $BROKER_PID 2>/dev/null && ok "broker alive after malformed clients" || notok "broker died"
check "broker serves after malformed clients" ctl ls

# Peer credentials: non-root users.
if command -v setpriv >/dev/null; then
	expect_fail "nobody without the group cannot connect" "permission denied" \
	    setpriv --reuid 65534 --regid 65534 --clear-groups "$CTL" -H "unix://$SOCK" ls
	if getent group plugind >/dev/null; then
		g=$(getent group plugind | cut -d: -f3)
		check "group plugind may list" setpriv --reuid 65534 --regid 65534 \
		    --groups "$g" "$CTL" -H "unix://$SOCK" ls
		expect_fail "group plugind may not mutate" "needs root" setpriv \
		    --reuid 65534 --regid 65534 --groups "$g" "$CTL" -H "unix://$SOCK" \
		    debug check-helper fetcher
	else
		skip "group plugind does not exist"; skip "group plugind does not exist"
	fi
else
	skip "setpriv missing"
fi

# Client-side connect errors name the socket and the cause.
expect_fail "missing socket is named" "unix://$T/nope.sock: the socket does not exist" \
    "$CTL" -H "unix://$T/nope.sock" ls
python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$T/stale.sock"
expect_fail "stale socket is reported" "connection refused" "$CTL" -H "unix://$T/stale.sock" ls

# SIGTERM: clean exit, socket removed.
stop_broker $BROKER_PID; rc=$?
[ $rc = 0 ] && ok "SIGTERM: exit status 0" || notok "SIGTERM: exit status $rc"
[ ! -e "$SOCK" ] && ok "SIGTERM: socket removed" || notok "socket left behind"

# State: a valid plugin record and a corrupt one, written before start.
ID=a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90
BAD=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
mkdir -p "$T/b2/data/plugins/$ID" "$T/b2/data/plugins/$BAD" "$T/b2/data/plugins/$BAD-removing/x"
cat >"$T/b2/data/plugins/$ID/config.json" <<JSON
{"plugin":{"Config":{"Description":"sshFS plugin for Docker","Interface":{"Socket":"sshfs.sock","Types":["docker.volumedriver/1.0"]},"Entrypoint":["/sshfs"]},"Enabled":false,"Id":"$ID","Name":"vieux/sshfs:latest","PluginReference":"docker.io/vieux/sshfs:latest","Settings":{"Args":[],"Devices":[],"Env":["DEBUG=0"],"Mounts":[]}},"Rootfs":"x","Config":"sha256:$ID","Blobsums":[],"Manifest":"sha256:$ID"}
JSON
echo '{"plugin": {"Id": "trunc' >"$T/b2/data/plugins/$BAD/config.json"
start_broker "$T/b2" && ok "broker starts with a corrupt state file" || notok "broker start with corrupt state"
ls "$T/b2/data/plugins/$BAD/" | grep -q '^config.json.corrupt-' && ok "corrupt state moved aside" ||
    notok "corrupt state not moved aside"
grep -q "state file is corrupt" "$T/b2/broker.log" && ok "corrupt state logged" || notok "corrupt state not logged"
[ ! -e "$T/b2/data/plugins/$BAD-removing" ] && ok "interrupted removal finished at start" ||
    notok "-removing dir left"
out=$(ctl ls)
case "$out" in *"a1b2c3d4e5f6   vieux/sshfs:latest   sshFS plugin for Docker   false") ok "ls shows the plugin, columns as docker's" ;;
*) notok "ls shows the plugin"; diag "$out" ;; esac
[ "$(ctl inspect -f '{{.Id}}' vieux/sshfs)" = "$ID" ] && ok "inspect by familiar name" || notok "inspect by name"
[ "$(ctl inspect -f '{{.Name}}' a1b2c3)" = "vieux/sshfs:latest" ] && ok "inspect by id prefix" || notok "inspect by id prefix"
[ "$(ctl inspect -f '{{.Name}}' docker.io/vieux/sshfs:latest)" = "vieux/sshfs:latest" ] && ok "inspect by full reference" || notok "inspect by full ref"
[ "$(ctl inspect -f '{{json .Settings.Env}}' vieux/sshfs)" = '["DEBUG=0"]' ] && ok "inspect json template" || notok "inspect json template"
expect_fail "a digest reference never resolves" "not found" ctl inspect "vieux/sshfs@sha256:$ID"
ctl inspect vieux/sshfs | python3 -c 'import json,sys; d=json.load(sys.stdin); assert list(d[0].keys())==["Config","Enabled","Id","Name","PluginReference","Settings","InUse"]' &&
    ok "inspect: a JSON array with Docker's key order, plugind's InUse last" || notok "inspect key order"
[ "$(ctl ls --filter capability=volume --format '{{.Name}}')" = "vieux/sshfs:latest" ] && ok "capability filter matches like Docker (regexp)" || notok "capability filter"
[ -z "$(ctl ls --filter capability=network -q)" ] && ok "capability filter excludes" || notok "capability filter excludes"
[ -z "$(ctl ls --filter enabled=true -q)" ] && ok "enabled=true filter" || notok "enabled filter"
[ "$(ctl ls --filter enabled=false -q)" = a1b2c3d4e5f6 ] && ok "enabled=false filter" || notok "enabled=false filter"
expect_fail "bad enabled value" "invalid filter 'enabled=maybe'" ctl ls --filter enabled=maybe
stop_broker $BROKER_PID

# Misbehaving helpers cost their job only.
H="$T/badhelpers"; mkdir -p "$H"
cp "$PD_BUILD/tests/tools/fakehelper" "$H/plugind-fetcher"
cp "$PD_BUILD/plugind-extractor" "$PD_BUILD/plugind-api" "$PD_BUILD/plugind-logger" \
    "$PD_BUILD/plugind-gateway" "$H/"
chmod 755 "$H" "$H/plugind-fetcher"
echo '{"limits": {"helper-timeout": 2}}' >"$T/conf.json"
PD_HELPER_DIR=$H start_broker "$T/b3" --config "$T/conf.json" || notok "broker with bad helpers starts"
for m in "garbage:fetcher helper" "die:exited with status 3" "hang:timed out" \
    "oversize:exceeds" "wrongtype:unexpected message" "unsandboxed:is not sandboxed as required"; do
	echo "${m%%:*}" >"$H/mode"
	expect_fail "helper that misbehaves (${m%%:*}) fails its job clearly" "${m#*:}" ctl debug check-helper fetcher
	kill -0 $BROKER_PID 2>/dev/null && ok "broker alive after ${m%%:*} helper" || notok "broker died (${m%%:*})"
done
echo hang >"$H/mode"
ctl debug check-helper fetcher >/dev/null 2>&1 & hp=$!
sleep 0.3
check "others are served while a helper hangs" ctl ls
wait $hp
check "extractor still verified while the fetcher is broken" ctl debug check-helper extractor
check "api still verified while the fetcher is broken" ctl debug check-helper api
check "logger still verified while the fetcher is broken" ctl debug check-helper logger
expect_fail "an unknown helper is named" 'unknown helper "foo" (fetcher, extractor, api, logger or gateway)' ctl debug check-helper foo
out=$(for h in fetcher extractor api logger gateway; do job_helpers $h; done | wc -l)
[ "$out" -le 0 ] && ok "no helper processes left behind" || { notok "$out helper processes left"; ps --ppid $BROKER_PID; }
grep -q 'fetcher helper' "$T/b3/broker.log" || true
stop_broker $BROKER_PID
done_testing

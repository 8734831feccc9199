#!/bin/sh
# The gateway (docs/CONSUMERS.md): an enabled plugin is published at
# <publish-docker-dir>/<NAME>.sock for container engines, served by a
# sandboxed plugind-gateway that answers /Plugin.Activate, forwards the
# calls and maps volume Mountpoints to host paths; a hostile plugin's
# answers become error responses and hurt nothing else.
. "$(dirname "$0")/../lifecycle/plugins.sh"

LIFE_CONF='{"stop-timeout": 3, "gateway-timeout": 2}'
life_setup
PUB="$T/b/docker-plugins"
# gcall NAME CALL [BODY]: POST /CALL on NAME's published socket.
gcall() { curl -sS --max-time 20 --unix-socket "$PUB/$1.sock" -X POST \
    -H 'Accept: application/vnd.docker.plugins.v1.2+json' \
    "http://plugin/$2" -d "${3:-{\}}"; }
jget() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
gw_pids() { for p in $(pgrep -x plugind-gateway); do
	[ "$(readlink "/proc/$p/root")" = "$E/plugins/$1" ] && echo "$p"; done; }

mkplugin gwvol "$(volcfg)" || notok "create gwvol"
ID=$(pid_of gwvol)
out=$(ctl enable gwvol 2>&1) && ok "enable" || { notok "enable"; diag "$out"; diag "$(tail -5 "$T/b/broker.log")"; }
[ -S "$PUB/gwvol.sock" ] && ok "published at $PUB/gwvol.sock" || notok "no published socket"
G=$(gw_pids "$ID")
[ -n "$G" ] && ok "one gateway chrooted into the socket directory ($G)" || notok "no gateway"
st=/proc/$G/status
[ "$(awk '/^Uid:/ {print $2}' "$st")" = "$(id -u _pd_gw)" ] && ok "gateway runs as _pd_gw" || notok "gateway uid"
[ "$(awk '/^CapEff:/ {print $2}' "$st")" = 0000000000000000 ] && ok "gateway CapEff 0" || notok "CapEff"
[ "$(awk '/^Seccomp:/ {print $2}' "$st")" = 2 ] && ok "gateway Seccomp 2" || notok "Seccomp"
[ "$(awk '/^NoNewPrivs:/ {print $2}' "$st")" = 1 ] && ok "gateway NoNewPrivs 1" || notok "NoNewPrivs"
[ "$(readlink /proc/$G/ns/net)" != "$(readlink /proc/self/ns/net)" ] &&
    ok "gateway has its own network namespace" || notok "network namespace"

r=$(ctl debug check-helper gateway 2>&1)
echo "$r" | grep -q '"Sandbox": "ok: uid' && ok "debug check-helper gateway" ||
    { notok "check-helper gateway"; diag "$r"; }

r=$(gcall gwvol Plugin.Activate)
[ "$(echo "$r" | jget 'd["Implements"]')" = "['VolumeDriver']" ] && ok "Activate: $r" || notok "Activate: $r"
r=$(gcall gwvol VolumeDriver.Create '{"Name":"v1"}')
[ "$(echo "$r" | jget 'd["Err"]')" = "" ] && ok "Create: $r" || notok "Create: $r"
HOSTMP="$D/plugins/$ID/propagated-mount/volumes/v1"
r=$(gcall gwvol VolumeDriver.Mount '{"Name":"v1","ID":"c1"}')
[ "$(echo "$r" | jget 'd["Mountpoint"]')" = "$HOSTMP" ] && ok "Mount: host path $HOSTMP" || notok "Mount: $r"
# The plugin mounted a tmpfs there; a file it sees is seen on the host.
P=$(runc_pid gwvol)
echo hello >"/proc/$P/root/data/volumes/v1/f" 2>/dev/null
[ "$(cat "$HOSTMP/f" 2>/dev/null)" = hello ] && ok "a file in the plugin's volume is at the host path" ||
    notok "file not visible at $HOSTMP"
r=$(gcall gwvol VolumeDriver.Path '{"Name":"v1"}')
[ "$(echo "$r" | jget 'd["Mountpoint"]')" = "$HOSTMP" ] && ok "Path" || notok "Path: $r"
r=$(gcall gwvol VolumeDriver.Get '{"Name":"v1"}')
[ "$(echo "$r" | jget 'd["Volume"]["Mountpoint"]')" = "$HOSTMP" ] && ok "Get" || notok "Get: $r"
r=$(gcall gwvol VolumeDriver.List)
[ "$(echo "$r" | jget 'd["Volumes"][0]["Mountpoint"]')" = "$HOSTMP" ] && ok "List" || notok "List: $r"
r=$(gcall gwvol VolumeDriver.Unmount '{"Name":"v1","ID":"c1"}')
[ "$(echo "$r" | jget 'd["Err"]')" = "" ] && ok "Unmount" || notok "Unmount: $r"
r=$(gcall gwvol VolumeDriver.Remove '{"Name":"v1"}')
[ "$(echo "$r" | jget 'd["Err"]')" = "" ] && ok "Remove" || notok "Remove: $r"
r=$(curl -sS --max-time 5 --unix-socket "$PUB/gwvol.sock" http://plugin/Plugin.Activate)
echo "$r" | grep -q '"Err"' && ok "GET is refused with an error: $r" || notok "GET: $r"

# A volume driver without PropagatedMount: nothing on the host to map a
# Mountpoint to, so any is refused.
mkplugin nopm "$(volcfg | sed 's|"propagatedmount": "/data",||')" || notok "create nopm"
ctl set nopm VOLPLUGIN_TMPFS=0 >/dev/null || notok "set nopm"
ctl enable nopm >/dev/null 2>&1 || notok "enable nopm"
gcall nopm VolumeDriver.Create '{"Name":"v"}' >/dev/null
r=$(gcall nopm VolumeDriver.Mount '{"Name":"v","ID":"c"}')
echo "$r" | grep -q 'no PropagatedMount' && ok "no PropagatedMount: Mount refused ($r)" ||
    notok "no PropagatedMount: $r"
ctl rm -f nopm >/dev/null || notok "rm nopm"

# Hostile answers: each call fails with {"Err":...}; all else survives.
mkplugin bad "$(volcfg)" || notok "create bad"
BID=$(pid_of bad)
for m in mp-dotdot mp-abs mp-rel mp-nul mp-int hugehdr hugebody slowans garbage; do
	ctl set bad VOLPLUGIN_MODE=$m >/dev/null || notok "set $m"
	ctl enable bad >/dev/null 2>&1 || { notok "enable bad ($m)"; continue; }
	for c in Mount Path Get List; do
		[ "$m" = slowans ] && [ "$c" != Mount ] && continue
		r=$(gcall bad VolumeDriver.$c '{"Name":"v"}')
		e=$(echo "$r" | jget 'd["Err"]' 2>/dev/null)
		[ -n "$e" ] && ok "$m $c: error ($e)" || notok "$m $c: $r"
	done
	[ -n "$(gw_pids "$BID")" ] && ok "$m: the gateway survives" || notok "$m: gateway gone"
	r=$(gcall gwvol Plugin.Activate)
	echo "$r" | grep -q VolumeDriver && ok "$m: the other plugin is unaffected" || notok "$m: gwvol: $r"
	ctl disable bad >/dev/null || notok "disable bad ($m)"
done
kill -0 "$BROKER_PID" && ok "the broker survives" || notok "broker died"

# A broker killed outright leaves the plugin and its gateway running; the
# next broker adopts both, or starts a new gateway if the old one is gone.
kill_broker() { kill -KILL "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null; untrack_pid "$BROKER_PID"; }
restart_broker() {
	kill_broker
	start_broker "$T/b" --config "$T/conf.json" || notok "broker restarts"
}
G=$(gw_pids "$ID")
restart_broker
[ "$(gw_pids "$ID")" = "$G" ] && ok "the gateway outlives the broker and is kept" ||
    notok "gateway after restart: $(gw_pids "$ID") (was $G)"
kill_broker
gcall gwvol Plugin.Activate | grep -q VolumeDriver && ok "served while the broker is down" ||
    notok "not served without the broker"
kill -KILL "$G"
start_broker "$T/b" --config "$T/conf.json" || notok "broker restarts"
G2=$(gw_pids "$ID")
[ -n "$G2" ] && [ "$G2" != "$G" ] && ok "a restarted broker starts a new gateway for an adopted plugin" ||
    notok "no new gateway ($G2)"
r=$(gcall gwvol VolumeDriver.Path '{"Name":"v1"}')
echo "$r" | grep -q '"Err"' && ok "served again after the restart" || notok "after restart: $r"

ctl disable gwvol >/dev/null && ok "disable" || notok "disable"
[ ! -e "$PUB/gwvol.sock" ] && ok "disable: the published socket is gone" || notok "socket left after disable"
[ -z "$(gw_pids "$ID")" ] && ok "disable: the gateway is gone" || notok "gateway left"
ctl enable gwvol >/dev/null && [ -S "$PUB/gwvol.sock" ] && ok "enable again: published" || notok "re-enable"
ctl rm -f gwvol >/dev/null && ok "rm -f" || notok "rm -f"
[ ! -e "$PUB/gwvol.sock" ] && [ -z "$(gw_pids "$ID")" ] && ok "rm: socket and gateway gone" || notok "rm left things"
done_testing

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
# off_pids ID: the gateways answering for plugin ID while it is disabled.
off_pids() { for p in $(pgrep -x plugind-gateway); do
	[ "$(readlink "/proc/$p/root")" = "$E/gateways/$1" ] && echo "$p"; done; }
# inuse NAME: "volumes mounts" as inspect shows them.
inuse() { ctl inspect "$1" | jget 'str(d[0]["InUse"]["Volumes"]) + " " + str(d[0]["InUse"]["Mounts"])'; }

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

# Podman's drop-in names the published volume plugin (docs/CONSUMERS.md).
PC="$T/b/containers.conf.d/plugind.conf"
[ "$(grep -v '^#' "$PC" 2>/dev/null)" = "$(printf '[engine.volume_plugins]\n"gwvol" = "%s"' "$PUB/gwvol.sock")" ] &&
    ok "Podman drop-in: [engine.volume_plugins] gwvol = its socket" || { notok "Podman drop-in"; diag "$(cat "$PC" 2>&1)"; }
[ "$(stat -c %a "$PC")" = 644 ] && ok "Podman drop-in: mode 0644" || notok "drop-in mode $(stat -c %a "$PC")"

r=$(ctl debug check-helper gateway 2>&1)
echo "$r" | grep -q '"Sandbox": "ok: uid' && ok "debug check-helper gateway" ||
    { notok "check-helper gateway"; diag "$r"; }

r=$(gcall gwvol Plugin.Activate)
[ "$(echo "$r" | jget 'd["Implements"]')" = "['VolumeDriver']" ] && ok "Activate: $r" || notok "Activate: $r"
r=$(gcall gwvol VolumeDriver.Create '{"Name":"v1"}')
[ "$(echo "$r" | jget 'd["Err"]')" = "" ] && ok "Create: $r" || notok "Create: $r"
HOSTMP="$D/plugins/$ID/propagated-mount/volumes/v1"
[ "$(inuse gwvol)" = "1 0" ] && ok "in use: Create counts the volume" || notok "in use after Create: $(inuse gwvol)"
r=$(gcall gwvol VolumeDriver.Mount '{"Name":"v1","ID":"c1"}')
[ "$(echo "$r" | jget 'd["Mountpoint"]')" = "$HOSTMP" ] && ok "Mount: host path $HOSTMP" || notok "Mount: $r"
[ "$(inuse gwvol)" = "1 1" ] && ok "in use: Mount counts the mount" || notok "in use after Mount: $(inuse gwvol)"
# Names no count could hold are not reported: the count does not move.
gcall gwvol VolumeDriver.Create '{"Name":"a b"}' >/dev/null
gcall gwvol VolumeDriver.Create '{"Name":""}' >/dev/null
gcall gwvol VolumeDriver.Create '{"Name":"v1"}' >/dev/null
[ "$(inuse gwvol)" = "1 1" ] && ok "in use: bad names and a repeated Create change nothing" ||
    notok "in use after bad names: $(inuse gwvol)"
out=$(ctl rm gwvol 2>&1; ctl disable gwvol 2>&1)
[ "$(echo "$out" | grep -c 'plugin gwvol:latest is in use')" = 2 ] && ok "rm and disable refuse: in use" ||
    { notok "rm/disable while in use"; diag "$out"; }
[ -S "$PUB/gwvol.sock" ] && [ -n "$(gw_pids "$ID")" ] && ok "refused disable: still served" || notok "refused disable stopped it"
[ -s "$D/plugins/$ID/inuse.json" ] && ok "the count is on disk (inuse.json)" || notok "no inuse.json"
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
[ "$(inuse gwvol)" = "0 0" ] && ok "in use: Unmount and Remove end it" || notok "in use after Remove: $(inuse gwvol)"
# A call the plugin refuses holds nothing.
r=$(gcall gwvol VolumeDriver.Mount '{"Name":"nosuch","ID":"c9"}')
[ "$(inuse gwvol)" = "0 0" ] && ok "in use: a refused Mount is not counted ($r)" || notok "refused Mount counted: $(inuse gwvol)"
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

# A log driver: the engine's fifo is a host path the plugin cannot open;
# refused plainly (docs/CONSUMERS.md).
mkplugin gwlog "$(volcfg | sed 's|docker.volumedriver/1.0|docker.logdriver/1.0|')" || notok "create gwlog"
ctl enable gwlog >/dev/null 2>&1 || notok "enable gwlog"
r=$(gcall gwlog LogDriver.StartLogging '{"File":"/run/docker/logging/x","Info":{}}')
echo "$r" | grep -q 'log driver plugins are not supported' && ok "log driver: StartLogging refused ($r)" ||
    notok "log driver StartLogging: $r"
grep -q gwlog "$PC" && notok "a log driver is in Podman's volume plugins" || ok "Podman drop-in: volume drivers only"
ctl rm -f gwlog >/dev/null || notok "rm gwlog"

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
	# The hostile plugin did Create v (answers are checked, calls are not).
	ctl disable -f bad >/dev/null || notok "disable bad ($m)"
done
kill -0 "$BROKER_PID" && ok "the broker survives" || notok "broker died"

# A broker killed outright leaves the plugin and its gateway running; the
# next broker adopts both, or starts a new gateway if the old one is gone.
kill_broker() { kill -KILL "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null; untrack_pid "$BROKER_PID"; }
restart_broker() {
	kill_broker
	start_broker "$T/b" --config "$T/conf.json" || notok "broker restarts"
}
gcall gwvol VolumeDriver.Create '{"Name":"kept"}' >/dev/null
G=$(gw_pids "$ID")
restart_broker
G1=$(gw_pids "$ID")
# gone, or a zombie of whoever inherited it from the killed broker
gone() { [ "$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null)" = Z ] || [ ! -e "/proc/$1" ]; }
[ -n "$G1" ] && [ "$G1" != "$G" ] && gone "$G" &&
    ok "a restarted broker replaces the adopted gateway (its channel died)" ||
    { notok "gateway after restart: $G1 (was $G)"; diag "$(grep -s State /proc/$G/status; cat /proc/$G/comm; readlink /proc/$G/root)"; }
[ "$(inuse gwvol)" = "1 0" ] && ok "the in-use count survives a broker restart" || notok "after restart: $(inuse gwvol)"
gcall gwvol VolumeDriver.Create '{"Name":"after"}' >/dev/null
[ "$(inuse gwvol)" = "2 0" ] && ok "the new gateway reports" || notok "no report after restart: $(inuse gwvol)"
kill_broker
gcall gwvol Plugin.Activate | grep -q VolumeDriver && ok "served while the broker is down" ||
    notok "not served without the broker"
r=$(gcall gwvol VolumeDriver.Create '{"Name":"lost"}')
echo "$r" | grep -q 'plugind is restarting' && ok "Create refused while no broker can count it" || notok "Create without broker: $r"
kill -KILL "$G1"
start_broker "$T/b" --config "$T/conf.json" || notok "broker restarts"
G2=$(gw_pids "$ID")
[ -n "$G2" ] && [ "$G2" != "$G1" ] && ok "a restarted broker starts a new gateway for an adopted plugin" ||
    notok "no new gateway ($G2)"
r=$(gcall gwvol VolumeDriver.Path '{"Name":"v1"}')
echo "$r" | grep -q '"Err"' && ok "served again after the restart" || notok "after restart: $r"
[ "$(inuse gwvol)" = "2 0" ] && ok "nothing counted for the refused Create" || notok "count: $(inuse gwvol)"

ctl disable -f gwvol >/dev/null && ok "disable -f while in use" || notok "disable -f"
[ -S "$PUB/gwvol.sock" ] && ok "disable: the name stays published" || notok "socket gone after disable"
[ -z "$(gw_pids "$ID")" ] && [ -n "$(off_pids "$ID")" ] && ok "disable: an off gateway answers instead" ||
    notok "gateways after disable: serving '$(gw_pids "$ID")' off '$(off_pids "$ID")'"
r=$(gcall gwvol Plugin.Activate)
echo "$r" | grep -q VolumeDriver && ok "disabled: Activate still answers, so the engine shows the call's error" || notok "Activate while disabled: $r"
r=$(gcall gwvol VolumeDriver.List)
echo "$r" | grep -q 'plugin gwvol found but disabled' && ok "disabled: List fails, saying so ($r)" || notok "List while disabled: $r"
r=$(gcall gwvol VolumeDriver.Create '{"Name":"v5"}')
echo "$r" | grep -q 'disabled' && ok "disabled: Create fails" || notok "Create while disabled: $r"
O=$(off_pids "$ID")
kill_broker
start_broker "$T/b" --config "$T/conf.json" || notok "broker restarts"
[ "$(off_pids "$ID")" = "$O" ] && ok "the off gateway outlives the broker" || notok "off gateway after restart: $(off_pids "$ID")"
kill -KILL "$O"; kill_broker
start_broker "$T/b" --config "$T/conf.json" || notok "broker restarts"
[ -n "$(off_pids "$ID")" ] && gcall gwvol VolumeDriver.List | grep -q disabled &&
    ok "a restarted broker answers a disabled plugin's name again" || notok "no off gateway after restart"
ctl enable gwvol >/dev/null && [ -S "$PUB/gwvol.sock" ] && ok "enable again: published" || notok "re-enable"
[ -n "$(gw_pids "$ID")" ] && [ -z "$(off_pids "$ID")" ] && [ ! -e "$E/gateways/$ID" ] &&
    ok "enable: the off gateway is gone" || notok "off gateway left after enable"
gcall gwvol Plugin.Activate | grep -q VolumeDriver && ok "enable: served" || notok "not served after enable"
grep -q '"gwvol"' "$PC" && ok "Podman drop-in: kept across disable, restart and enable" || notok "drop-in lost gwvol"
ctl rm -f gwvol >/dev/null && ok "rm -f" || notok "rm -f"
grep -q '"gwvol"' "$PC" && notok "drop-in still names gwvol after rm" || ok "Podman drop-in: rm takes the entry out"
[ ! -e "$PUB/gwvol.sock" ] && [ -z "$(gw_pids "$ID")" ] && [ -z "$(off_pids "$ID")" ] &&
    ok "rm: socket and gateways gone" || notok "rm left things"
mkplugin gwoff "$(volcfg)" || notok "create gwoff"
OID=$(pid_of gwoff)
ctl enable gwoff >/dev/null && ctl disable gwoff >/dev/null && ctl rm gwoff >/dev/null &&
    [ ! -e "$PUB/gwoff.sock" ] && [ -z "$(off_pids "$OID")" ] && ok "rm of a disabled plugin: unpublished" ||
    notok "rm of a disabled plugin left its name"
ctl rm -f bad >/dev/null || notok "rm bad"
[ ! -e "$PC" ] && ok "Podman drop-in: removed with the last volume plugin" || { notok "drop-in left"; diag "$(cat "$PC")"; }
done_testing

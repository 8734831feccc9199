#!/bin/sh
# Restart recovery: kill -9 the broker while plugins run -> the next broker
# adopts them (same PIDs) and still supervises them; enabled plugins that
# died meanwhile start again; leftovers of dead runs are cleaned.  Also
# crash supervision and shutdown with and without live-restore.
. "$(dirname "$0")/plugins.sh"
life_setup
cfg=$(volcfg)

restart_broker() { # kill -9 (or the given signal) the broker, start another
	kill -"${1:-9}" $BROKER_PID; wait $BROKER_PID 2>/dev/null
	start_broker "$T/b" --config "$T/conf.json" || notok "broker restarts"
}
wait_for() { # wait_for SECONDS COMMAND...: poll until the command succeeds
	_end=$(($(now_ms) + $1 * 1000)); shift
	while ! "$@" >/dev/null 2>&1; do
		[ "$(now_ms)" -ge $_end ] && return 1
		sleep 0.05
	done
}
answers() { vcall "$1" VolumeDriver.Capabilities | grep -q Scope; }

mkplugin a "$cfg"; mkplugin b "$cfg"; mkplugin c "$cfg"; mkplugin off "$cfg"
for p in a b c; do ctl enable $p >/dev/null || notok "enable $p"; done
vcall a VolumeDriver.Create '{"Name":"v"}' >/dev/null
vcall a VolumeDriver.Mount '{"Name":"v","ID":"x"}' >/dev/null
PA=$(runc_pid a); PB=$(runc_pid b); PC=$(runc_pid c); CID=$(pid_of c); OFF=$(pid_of off)
[ -n "$PA" ] && [ -n "$PB" ] && ok "plugins run (pids $PA $PB $PC)" || notok "no pids"

# Leftovers the next broker must clean: a stray mount under a disabled
# plugin, a -removing directory with a mount inside, stray exec-root dirs,
# and a container whose plugin vanished from the data root.
kill -9 $BROKER_PID; wait $BROKER_PID 2>/dev/null
alive "$PA" && alive "$PB" && ok "plugins survive kill -9 of the broker" || notok "plugins died with the broker"
mkdir -p "$D/plugins/$OFF/propagated-mount"; mount -t tmpfs stray "$D/plugins/$OFF/propagated-mount"
R=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
mkdir -p "$D/plugins/$R-removing/m"; mount -t tmpfs stray2 "$D/plugins/$R-removing/m"
mkdir -p "$E/plugins/$R" "$E/bundles/$R"; touch "$E/plugins/$R/stale.sock"
mv "$D/plugins/$CID" "$T/c-moved"
start_broker "$T/b" --config "$T/conf.json" || notok "broker restarts"
[ "$(runc_pid a)" = "$PA" ] && [ "$(runc_pid b)" = "$PB" ] && ok "restart adopts running plugins: same PIDs" ||
    notok "pids changed: $(runc_pid a) $(runc_pid b) vs $PA $PB"
grep -q "is still running as pid $PA: adopted" "$T/b/broker.log" && ok "adoption logged" || notok "adoption log"
answers a && answers b && ok "adopted plugins still answer on their sockets" || notok "sockets after adoption"
[ -n "$(mounts_under "$D/plugins/$(pid_of a)/propagated-mount/volumes")" ] && ok "adopted plugin's volume mount kept" || notok "volume mount lost"
[ "$(ctl ls --filter enabled=true -q | wc -l)" = 2 ] && ok "both still enabled" || notok "enabled count"
[ -z "$(mounts_under "$D/plugins/$OFF")" ] && ok "stray mount under a disabled plugin removed" || notok "stray mount kept"
[ ! -e "$D/plugins/$R-removing" ] && [ -z "$(mounts_under "$D/plugins/$R-removing")" ] && ok "interrupted removal with a mount finished" ||
    notok "-removing left"
[ ! -e "$E/plugins/$R" ] && [ ! -e "$E/bundles/$R" ] && ok "stray socket and bundle directories removed" || notok "stray exec dirs"
[ ! -e "$E/runc/$CID" ] && ! alive "$PC" && ok "container of a vanished plugin stopped and deleted" ||
    notok "unknown container kept (pid $PC)"

# The adopted plugin is not our child, but its exit is still noticed.
kill -9 "$PA"
wait_for 10 sh -c "[ -n \"\$(runc --root '$E/runc' state $(pid_of a) 2>/dev/null | grep '\"status\": \"running\"')\" ]" &&
    wait_for 10 answers a && ok "an adopted plugin that dies is restarted" || notok "no restart after adopted exit"
NA=$(runc_pid a)
[ -n "$NA" ] && [ "$NA" != "$PA" ] && ok "restarted with a new pid ($NA)" || notok "pid after restart: $NA"
ctl events --since 1h --until 0s --filter plugin=a | grep -q "plugin exit $(pid_of a) (exitCode=unknown, name=a:latest)" &&
    ok "exit event for the adopted plugin" || notok "exit event"
t0=$(now_ms); ctl disable b >/dev/null; el=$(($(now_ms) - t0))
! alive "$PB" && [ $el -lt 2000 ] && ok "disable of an adopted plugin (${el} ms)" || notok "disable adopted: ${el} ms"

# A plugin started by this broker that crashes: exit status, restart.
PA=$(runc_pid a)
kill -9 "$PA"
wait_for 10 sh -c "ctl() { \"$CTL\" -H unix://$SOCK \"\$@\"; }; ctl events --since 1h --until 0s --filter event=restart | grep -q ." &&
    ok "a crashed plugin is restarted" || notok "no restart"
ctl events --since 1h --until 0s --filter event=exit | grep -q "signal=9" && ok "exit event carries the signal" ||
    { notok "exit signal"; diag "$(ctl events --since 1h --until 0s)"; }
wait_for 10 answers a && ok "restarted plugin answers" || notok "restarted plugin silent"
[ "$(ctl inspect -f '{{.Enabled}}' a)" = true ] && ok "still enabled after the crash" || notok "disabled by crash"

# Dead while the broker was down: started again.
PA=$(runc_pid a)
kill -9 $BROKER_PID; wait $BROKER_PID 2>/dev/null
kill -9 "$PA"; sleep 0.2
start_broker "$T/b" --config "$T/conf.json" || notok "broker restarts"
wait_for 10 answers a && [ "$(runc_pid a)" != "$PA" ] && ok "enabled plugin that died meanwhile starts again" || notok "not restarted"
[ "$(ctl inspect -f '{{.Enabled}}' b)" = false ] && [ -z "$(runc_pid b)" ] && ok "disabled plugin stays stopped" || notok "b runs"

# A runtime process the dead broker left (a holder of the runtime lock
# stands in for a `runc run` in flight) is waited for before any plugin
# directory is touched; the plugins themselves never hold the lock.
PA=$(runc_pid a)
[ -n "$PA" ] && [ -d "/proc/$PA/fd" ] && ! ls -l "/proc/$PA/fd" | grep -q runtime.lock &&
    ok "a plugin does not inherit the runtime lock" || notok "plugin a (pid $PA) holds the runtime lock, or does not run"
! flock -n -x "$D/runtime.lock" true && ok "the broker holds the runtime lock" || notok "runtime lock free while the broker runs"
kill -9 $BROKER_PID; wait $BROKER_PID 2>/dev/null
flock -s "$D/runtime.lock" sleep 1.5 & HOLD=$!; track_pid $HOLD
sleep 0.2
t0=$(now_ms); start_broker "$T/b" --config "$T/conf.json" || notok "broker restarts"
el=$(($(now_ms) - t0))
[ $el -ge 1000 ] && grep -q "waited [0-9]* ms for the runtime processes a previous plugind left running" "$T/b/broker.log" &&
    ok "a starting broker waits for a previous one's runtime processes (${el} ms)" ||
    { notok "no wait for the runtime lock (${el} ms)"; diag "$(tail -n 5 "$T/b/broker.log")"; }
wait $HOLD 2>/dev/null

# Clean shutdown stops plugins; the next start brings enabled ones back.
PA=$(runc_pid a)
kill -TERM $BROKER_PID; wait $BROKER_PID
! alive "$PA" && [ -z "$(ls -A "$E/runc")" ] && ok "SIGTERM: plugins stopped, no runtime state" || notok "plugins after SIGTERM"
[ -z "$(mounts_under "$D")" ] && ok "SIGTERM: no mounts left" || notok "mounts after SIGTERM: $(mounts_under "$D")"
start_broker "$T/b" --config "$T/conf.json" || notok "broker restarts"
wait_for 10 answers a && ok "enabled plugin started with the broker" || notok "a not started"

# live-restore: SIGTERM leaves plugins running for the next broker.
echo '{"stop-timeout": 3, "live-restore": true}' >"$T/conf.json"
restart_broker TERM
wait_for 10 answers a || notok "a not started after restart"
PA=$(runc_pid a)
restart_broker TERM
[ -n "$PA" ] && [ "$(runc_pid a)" = "$PA" ] && answers a && ok "live-restore: plugin kept across a clean broker restart" ||
    notok "live-restore: $PA vs $(runc_pid a)"
ctl disable a >/dev/null
stop_broker $BROKER_PID
[ -z "$(ls -A "$E/runc")" ] && [ -z "$(mounts_under "$D")" ] && ok "nothing running or mounted at the end" || notok "leftovers at end"
done_testing

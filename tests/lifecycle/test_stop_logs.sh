#!/bin/sh
# Stopping: a plugin that ignores SIGTERM as PID 1 is still stopped within
# the timeout.  Logs: --tail, -f, size cap with one rotation.
. "$(dirname "$0")/plugins.sh"
LIFE_CONF='{"stop-timeout": 2, "plugin-log-max-bytes": 4096}'
life_setup

mkplugin ign "$(volcfg)"; ctl set ign VOLPLUGIN_MODE=ignterm VOLPLUGIN_TMPFS=0
ctl enable ign >/dev/null || notok "enable ign"
P=$(runc_pid ign)
t0=$(now_ms); ctl disable ign >/dev/null; el=$(($(now_ms) - t0))
! alive "$P" && [ $el -ge 1900 ] && [ $el -lt 3500 ] && ok "SIGTERM-ignoring plugin stopped by SIGKILL after stop-timeout 2 s (${el} ms)" ||
    notok "ignterm disable: ${el} ms, alive=$(alive "$P" && echo yes)"
ctl enable ign >/dev/null; P=$(runc_pid ign)
t0=$(now_ms); ctl disable --timeout 1 ign >/dev/null; el=$(($(now_ms) - t0))
! alive "$P" && [ $el -ge 900 ] && [ $el -lt 2000 ] && ok "disable --timeout 1 honoured (${el} ms)" || notok "disable --timeout 1: ${el} ms"
grep -q "plugin ign:latest did not stop within 1 s of SIGTERM: SIGKILL" "$T/b/broker.log" && ok "the SIGKILL is logged" || notok "SIGKILL log"

mkplugin vol "$(volcfg)"; ctl set vol VOLPLUGIN_TMPFS=0
ctl enable vol >/dev/null; P=$(runc_pid vol)
t0=$(now_ms); ctl disable vol >/dev/null; el=$(($(now_ms) - t0))
! alive "$P" && [ $el -lt 500 ] && ok "a plugin that exits on SIGTERM stops at once (${el} ms)" || notok "disable took ${el} ms"
ctl logs vol | grep -q 'volplugin: SIGTERM, exiting' && ok "its last words are in the log" || notok "SIGTERM line"

# Logs.
ctl enable vol >/dev/null
for i in 1 2 3; do vcall vol VolumeDriver.Create "{\"Name\":\"t$i\"}" >/dev/null; done
[ "$(ctl logs --tail 2 vol)" = 'volplugin: /VolumeDriver.Create {"Name":"t2"}
volplugin: /VolumeDriver.Create {"Name":"t3"}' ] && ok "logs --tail 2" || { notok "tail"; diag "$(ctl logs --tail 2 vol)"; }
[ -z "$(ctl logs --tail 0 vol)" ] && ok "logs --tail 0" || notok "tail 0"
expect_fail "logs of an unknown plugin" 'plugin "nope" not found' ctl logs nope
expect_fail "bad --tail" 'invalid --tail' ctl logs --tail x vol

ctl logs -f --tail 1 vol >"$T/follow.out" 2>&1 & fp=$!; track_pid $fp
sleep 0.3
vcall vol VolumeDriver.Create '{"Name":"followed"}' >/dev/null
i=0; while [ $i -lt 40 ] && ! grep -q followed "$T/follow.out"; do sleep 0.05; i=$((i + 1)); done
grep -q '"Name":"followed"' "$T/follow.out" && ok "logs -f streams new output" || { notok "follow"; diag "$(cat "$T/follow.out")"; }
[ "$(head -n1 "$T/follow.out")" = 'volplugin: /VolumeDriver.Create {"Name":"t3"}' ] && ok "logs -f --tail 1 starts with the last line" ||
    notok "follow start: $(head -n1 "$T/follow.out")"
kill $fp; wait $fp 2>/dev/null
check "broker serves after a follower left" ctl ls

# Size cap: 4096 bytes, then log -> log.1 (by the log writer, at write time).
ID=$(pid_of vol)
ctl logs -f vol >"$T/follow2.out" 2>&1 & fp=$!; track_pid $fp
i=0; while [ $i -lt 120 ]; do vcall vol VolumeDriver.Create "{\"Name\":\"rot$i\"}" >/dev/null; i=$((i + 1)); done
vcall vol VolumeDriver.Create '{"Name":"after"}' >/dev/null
sleep 0.3
[ -f "$D/plugins/$ID/logs/log.1" ] && ok "log rotated to log.1 past plugin-log-max-bytes" || notok "no log.1"
sz=$(stat -c %s "$D/plugins/$ID/logs/log"); sz1=$(stat -c %s "$D/plugins/$ID/logs/log.1")
[ "$sz" -le 4096 ] && [ "$sz1" -le 4096 ] && ok "log and log.1 are within the cap ($sz, $sz1 bytes)" || notok "log sizes $sz, $sz1"
ctl logs --tail all vol | grep -q '"Name":"rot100"' && ctl logs vol | grep -q '"Name":"after"' &&
    ok "logs reads log.1 and log" || notok "logs across rotation"
sleep 0.3; kill $fp; wait $fp 2>/dev/null
n=$(grep -c '"Name":"rot' "$T/follow2.out")
grep -q '"Name":"after"' "$T/follow2.out" && [ "$n" -ge 110 ] && ok "logs -f follows across a rotation ($n of 120 lines)" ||
    notok "follow across rotation: $n lines"
ctl disable vol >/dev/null

# set is refused while an enable is under way.
mkplugin slow "$(volcfg)"; ctl set slow VOLPLUGIN_MODE=slow=1000 VOLPLUGIN_TMPFS=0
ctl enable slow >/dev/null 2>&1 & ep=$!
sleep 0.3
expect_fail "set during enable" "cannot set on an active plugin" ctl set slow DEBUG=1
wait $ep && ok "the enable completes" || notok "slow enable"
ctl rm -f slow ign vol >/dev/null
[ -z "$(ls -A "$E/runc")" ] && [ -z "$(mounts_under "$D")" ] && ok "nothing left" || notok "leftovers"
stop_broker $BROKER_PID
done_testing

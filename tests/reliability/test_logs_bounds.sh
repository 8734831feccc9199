#!/bin/sh
# Plugin output is bounded (docs/LIFECYCLE.md "Logs"): a plugin that
# writes 300 MiB at start with plugin-log-max-bytes 1 MiB never has more
# than 2 MiB (plus filesystem slack) in its log directory, during the
# write and after; its log writer is sandboxed and small; `logs --tail`
# finds the last lines; 100 slow `logs -f` readers leave the broker's RSS
# near idle and root's `ls` prompt; the writer survives a SIGKILLed
# broker and goes with its plugin.
. "$(dirname "$0")/../lifecycle/plugins.sh"
command -v python3 >/dev/null || { echo "1..0 # SKIP python3 not installed"; exit 0; }
getent passwd _pd_log >/dev/null || { echo "1..0 # SKIP no user _pd_log (tests/deps.sh)"; exit 0; }
# A reader at 16 B/s never frees a whole 16 KiB frame within the default
# send-timeout (10 s), so under load the broker rightly drops it before
# the 10 s sampling window below ends; the window must lie inside it.
LIFE_CONF='{"plugin-log-max-bytes": 1048576, "stop-timeout": 3, "limits": {"send-timeout": 120}}'
life_setup
CONF="$T/conf.json"
# ASan's shadow memory and quarantine make RSS bounds meaningless.
asan=0; grep -qa __asan_init "$PD_BUILD/plugind" && asan=1

mkplugin spew "$(volcfg)"; ctl set spew VOLPLUGIN_MODE=spew=300 VOLPLUGIN_TMPFS=0
ID=$(pid_of spew); L="$D/plugins/$ID/logs"
# logger_pid: the plugind-logger chrooted into this plugin's logs dir.
logger_pid() {
	for _p in /proc/[0-9]*; do
		[ "$(cat "$_p/comm" 2>/dev/null)" = plugind-logger ] &&
		    [ "$(readlink "$_p/root" 2>/dev/null)" = "$L" ] && echo "${_p#/proc/}"
	done
	return 0
}
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null; }

t0=$(now_ms)
ctl enable --timeout 180 spew >"$T/enable.out" 2>&1 & ep=$!
max=0; n=0; lrss=0
while kill -0 $ep 2>/dev/null; do
	if [ -d "$L" ]; then
		k=$(du -sk "$L" | cut -f1); n=$((n + 1))
		[ "$k" -gt "$max" ] && max=$k
		lp=$(logger_pid)
		r=$([ -n "$lp" ] && status_kb "$lp" VmRSS)
		[ -n "$r" ] && [ "$r" -gt "$lrss" ] && lrss=$r
	fi
	sleep 0.05
done
wait $ep && ok "a plugin writing 300 MiB at start becomes ready ($(($(now_ms) - t0)) ms)" ||
    { notok "enable spew"; diag "$(cat "$T/enable.out")"; }
[ $n -ge 3 ] && [ "$max" -le 2100 ] &&
    ok "its log dir stayed within 2 x 1 MiB + slack during the write (max ${max} KiB, $n samples)" ||
    notok "log dir during the write: max ${max} KiB over $n samples"
k=$(du -sk "$L" | cut -f1)
s0=$(stat -c %s "$L/log"); s1=$(stat -c %s "$L/log.1")
[ "$k" -le 2100 ] && [ "$s0" -le 1048576 ] && [ "$s1" -le 1048576 ] &&
    ok "afterwards: ${k} KiB on disk, log ${s0} and log.1 ${s1} bytes" || notok "after: ${k} KiB, log $s0, log.1 $s1"
if [ $asan = 1 ]; then
	skip "log writer RSS bound: ASan build (shadow memory)"
else
	[ "$lrss" -gt 0 ] && [ "$lrss" -lt 8192 ] && ok "the log writer's RSS stayed small during the write (max ${lrss} KiB)" ||
	    notok "log writer RSS ${lrss} KiB"
fi

# The writer: the logger user, no capabilities, seccomp, chrooted in logs/.
LP=$(logger_pid)
uid=$(id -u _pd_log)
[ -n "$LP" ] && [ "$(status_kb "$LP" Uid)" = "$uid" ] && [ "$(status_kb "$LP" CapEff)" = 0000000000000000 ] &&
    [ "$(status_kb "$LP" Seccomp)" = 2 ] && [ "$(status_kb "$LP" NoNewPrivs)" = 1 ] &&
    [ "$(stat -c %U "$L")" = _pd_log ] &&
    ok "one log writer (pid $LP): uid _pd_log, no capabilities, seccomp, chrooted in plugins/<id>/logs" ||
    { notok "log writer sandbox"; diag "pid '$LP'"; [ -n "$LP" ] && diag "$(grep -E 'Uid|Cap|Seccomp|NoNew' "/proc/$LP/status")"; }

# Tail: the last spewed lines, then the plugin's own two lines.
last=$((300 * 1024 * 1024 / 64 - 1))
ctl logs --tail 5 spew >"$T/tail.out"
[ "$(wc -l <"$T/tail.out")" -eq 5 ] && [ "$(sed -n 3p "$T/tail.out")" = "$(printf 'volplugin: spew %012d xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' $last)" ] &&
    grep -q "^volplugin: spewed $((last + 1)) lines" "$T/tail.out" && grep -q '^volplugin: listening on' "$T/tail.out" &&
    ok "logs --tail 5 returns the last five lines" || { notok "logs --tail 5"; diag "$(cat "$T/tail.out")"; }
ctl logs spew >"$T/all.out"
nl=$(wc -l <"$T/all.out"); bad=$(grep -vc '^volplugin: ' "$T/all.out")
[ "$nl" -gt 16000 ] && [ "$bad" -eq 0 ] && [ "$(wc -c <"$T/all.out")" -eq $((s0 + s1)) ] &&
    ok "logs streams log.1 and log whole, rotated at line ends ($nl lines)" || notok "logs: $nl lines, $bad torn"

# 100 slow followers: half read 16 bytes a second, half never read.  A
# connection costs the broker a thread whatever it asks, so the bound is
# against as many connected clients that asked for nothing.
ps_rss() { status_kb "$BROKER_PID" VmRSS; }
idle=$(ps_rss)
python3 "$PD_TOP/tests/reliability/ctlattack.py" "$SOCK" idle 100 >"$T/idle.out" 2>&1 & a0=$!; track_pid $a0
sleep 3; conn=$(ps_rss); kill $a0; wait $a0 2>/dev/null
python3 "$PD_TOP/tests/reliability/ctlattack.py" "$SOCK" logs 50 --plugin spew --read-bps 16 >"$T/slow.out" 2>&1 & a1=$!; track_pid $a1
python3 "$PD_TOP/tests/reliability/ctlattack.py" "$SOCK" logs 50 --plugin spew >"$T/stuck.out" 2>&1 & a2=$!; track_pid $a2
peak=0; worst=0; i=0
while [ $i -lt 20 ]; do
	sleep 0.5
	r=$(ps_rss); [ "$r" -gt "$peak" ] && peak=$r
	t1=$(now_ms); ctl ls >/dev/null 2>&1 || worst=99999; el=$(($(now_ms) - t1))
	[ "$el" -gt "$worst" ] && worst=$el
	i=$((i + 1))
done
open=$(tail -n1 "$T/slow.out" | sed -n 's/.*open=\([0-9]*\).*/\1/p'); open2=$(tail -n1 "$T/stuck.out" | sed -n 's/.*open=\([0-9]*\).*/\1/p')
kill $a1 $a2; wait $a1 $a2 2>/dev/null
[ "${open:-0}" -ge 40 ] && [ "${open2:-0}" -ge 1 ] && ok "the slow readers were connected (open: $open reading, $open2 not)" ||
    { notok "readers: open $open, $open2"; diag "$(tail -n2 "$T/slow.out" "$T/stuck.out")"; }
if [ $asan = 1 ]; then
	skip "broker RSS bound: ASan build (its quarantine holds freed memory)"
else
	[ "$peak" -le $((conn + 4096)) ] && [ "$peak" -le $((idle + 16384)) ] &&
	    ok "broker RSS with 100 slow logs -f readers: ${peak} KiB (idle ${idle}, 100 idle clients ${conn} KiB)" ||
	    notok "broker RSS ${peak} KiB (idle ${idle}, 100 idle clients ${conn} KiB)"
fi
[ "$worst" -lt 3000 ] && ok "root's ls answered meanwhile (slowest ${worst} ms)" || notok "ls took ${worst} ms"

# The writer survives a SIGKILLed broker; the restarted broker adopts the
# plugin and its output still reaches the log.
kill -KILL "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null
alive "$LP" && ok "the log writer outlives a SIGKILLed broker" || notok "writer died with the broker"
start_broker "$T/b" --config "$CONF" || notok "broker restarts"
vcall spew VolumeDriver.Create '{"Name":"afterkill"}' >/dev/null
i=0; while [ $i -lt 40 ] && ! ctl logs --tail 3 spew | grep -q afterkill; do sleep 0.05; i=$((i + 1)); done
ctl logs --tail 3 spew | grep -q '"Name":"afterkill"' && [ "$(logger_pid)" = "$LP" ] &&
    ok "after the restart the plugin's output still reaches its log (same writer)" ||
    { notok "output after restart"; diag "$(ctl logs --tail 3 spew)"; }

# Disable: the writer goes with the plugin; check finds nothing left.
ctl disable spew >/dev/null || notok "disable"
[ -z "$(logger_pid)" ] && ! alive "$LP" && ok "disable: the log writer is gone" || notok "writer $(logger_pid) left after disable"
check "pluginctl check: nothing left of the disabled plugin" ctl check
ctl rm spew >/dev/null
stop_broker $BROKER_PID
done_testing

#!/bin/sh
# Resource bounds on the control socket (issue #7 item 7).  Hostile
# clients (tests/reliability/ctlattack.py, reconnecting whatever the broker
# drops) run while a normal root client's ls, inspect and install must each
# answer within PROBE_MS; the broker's threads stay within the client
# limits and, once the attackers are gone, descriptors and threads are back
# to where they were.  Short timeouts keep it quick: client-timeout 3,
# idle-timeout 5, send-timeout 2 (docs/PRIVSEP.md "Control connections").
#   A  slow loris: 200 connections trickling a HELLO a byte a second, 200
#      silent ones, 10 that say HELLO and go idle
#   B  non-readers: 20 connections pipelining 2000 ls each and never
#      reading, 20 root event followers that never read
#   C  4000 connections from four group-member uids
#   D  400 root connections at once (over max-clients)
#   E  the broker out of descriptors (RLIMIT_NOFILE lowered): no busy loop
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/setup.sh"

PROBE_MS=${PROBE_MS:-2000}
ATTACK="/usr/bin/python3 $PD_TOP/tests/reliability/ctlattack.py"
[ -x /usr/bin/python3 ] || { skip "/usr/bin/python3 missing"; done_testing; exit 0; }

reliability_setup
echo '{"limits": {"client-timeout": 3, "idle-timeout": 5, "send-timeout": 2}}' >"$T/conf.json"
start_broker "$T/b" --config "$T/conf.json" || { notok "broker starts"; done_testing; exit 1; }
P=$BROKER_PID
check "install the plugin inspect targets" \
    ctl install --grant-all-permissions --disable --alias stable "$R/test/sample"

threads() { awk '/^Threads/ { print $2 }' "/proc/$P/status"; }
nfds()    { ls "/proc/$P/fd" | wc -l; }
rss()     { awk '/^VmRSS/ { print $2 }' "/proc/$P/status"; }
ms()      { date +%s%3N; }
# The baseline with the warm spares in place: the install's are replaced
# when it is done with them (docs/PRIVSEP.md, "Warm spares"), and each
# holds a channel (and an extractor's, its root) in the broker.
wait_idle_spares fetcher 1 && wait_idle_spares extractor 2 ||
    diag "spares before the baseline: fetcher $(idle_spares fetcher | wc -l), extractor $(idle_spares extractor | wc -l)"
thr0=$(threads); fds0=$(nfds); rss0=$(rss); peak_thr=$thr0; peak_rss=$rss0
sample()  {
	_t=$(threads); _r=$(rss)
	[ "$_t" -gt "$peak_thr" ] && peak_thr=$_t
	[ "$_r" -gt "$peak_rss" ] && peak_rss=$_r
}
diag "baseline: $fds0 fds, $thr0 threads, rss $rss0 KiB"

# probe PHASE: ls, inspect and an install (then rm) as root, each within
# PROBE_MS; one ok/notok line for the three.
np=0
probe() {
	_bad=""; _slow=0
	for _c in "ls" "inspect stable" \
	    "install --grant-all-permissions --disable --alias probe$np $R/test/sample" \
	    "rm probe$np"; do
		_t0=$(ms)
		# shellcheck disable=SC2086
		_o=$(ctl $_c 2>&1) || _bad="$_bad; $_c: $_o"
		_d=$(($(ms) - _t0)); [ $_d -gt $_slow ] && _slow=$_d
		[ $_d -le "$PROBE_MS" ] || _bad="$_bad; $_c took $_d ms"
	done
	np=$((np + 1)); sample
	[ -z "$_bad" ] && ok "$1: root ls, inspect, install, rm answer (slowest $_slow ms)" ||
	    notok "$1:$_bad"
}

# attack NAME UID MODE COUNT [ARGS]: start an attacker as UID (root, or a
# member of group plugind), output in $T/NAME.out; its pid in $LAST.
attack() {
	_name=$1 _uid=$2; shift 2
	if [ "$_uid" = 0 ]; then
		$ATTACK "$SOCK" "$@" >"$T/$_name.out" 2>&1 &
	else
		setpriv --reuid "$_uid" --regid 65534 --groups "$G" \
		    $ATTACK "$SOCK" "$@" >"$T/$_name.out" 2>&1 &
	fi
	LAST=$!; track_pid $LAST
}
# stat_of NAME KEY: KEY from the attacker's last status line.
stat_of() { tail -n 1 "$T/$1.out" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
stop_attackers() { for _p in "$@"; do kill "$_p" 2>/dev/null; wait "$_p" 2>/dev/null; done; }
# recovered PHASE: within 10 s descriptors and threads are back to baseline.
# One reading decides: a second one could catch a warm spare being
# started (docs/PRIVSEP.md), which holds a descriptor for a moment.
recovered() {
	# Spares back first, so that none missing hides a descriptor leaked.
	wait_idle_spares fetcher 1 && wait_idle_spares extractor 2 || diag "$1: spares not all back"
	_i=0
	while :; do
		_f=$(nfds) _h=$(threads)
		[ "$_f" -le "$fds0" ] && [ "$_h" -le "$thr0" ] && break
		[ $_i -ge 100 ] && break
		sleep 0.1; _i=$((_i + 1))
	done
	[ "$_f" -le "$fds0" ] && [ "$_h" -le "$thr0" ] &&
	    ok "$1: all freed ($_f fds, $_h threads)" ||
	    { notok "$1: $_f fds (was $fds0), $_h threads (was $thr0)"; diag "$(ls -l /proc/$P/fd)"; }
}
# refused_with MSG UID: within 5 tries, a pluginctl ls as UID is turned
# away with MSG (an attacker may have just lost a slot).
refused_with() {
	_i=0 _o=""
	while [ $_i -lt 5 ]; do
		if [ "$2" = 0 ]; then _o=$(ctl ls 2>&1)
		else _o=$(setpriv --reuid "$2" --regid 65534 --groups "$G" "$CTL" -H "unix://$SOCK" ls 2>&1); fi
		case "$_o" in *"$1"*) return 0 ;; esac
		_i=$((_i + 1)); sleep 0.2
	done
	diag "last answer: $_o"; return 1
}

G=$(getent group plugind | cut -d: -f3)
if [ -n "$G" ] && command -v setpriv >/dev/null; then
	# A: slow loris.  Everything admitted must be dropped by client-timeout
	# (3 s) or, after HELLO, idle-timeout (5 s): nothing older survives.
	attack trickle 65534 trickle 200 --deadline 4.5; A1=$LAST
	attack silent 65533 silent 200 --deadline 4.5; A2=$LAST
	attack idle 65532 idle 10 --once --deadline 6.5; A3=$LAST
	sleep 1.5
	probe "A slow loris"
	[ "$(threads)" -le $((thr0 + 64 + 10)) ] && ok "A: two uids hold at most 2 x 32 + 10 threads ($(threads))" ||
	    notok "A: $(threads) threads"
	refused_with "too many connections from this user (limit max-clients-per-uid)" 65534 &&
	    ok "A: an attacking uid is refused with the per-uid limit named" || notok "A: per-uid refusal"
	sleep 5.5; sample
	for a in trickle silent; do
		[ "$(stat_of $a overdue)" = 0 ] && [ "$(stat_of $a closed)" -gt 32 ] &&
		    ok "A: $a connections dropped within client-timeout ($(tail -n 1 "$T/$a.out"))" ||
		    { notok "A: $a"; diag "$(tail -n 1 "$T/$a.out")"; }
	done
	[ "$(stat_of idle open)" = 0 ] && [ "$(stat_of idle closed)" = 10 ] &&
	    ok "A: idle connections dropped after idle-timeout" || { notok "A: idle"; diag "$(tail -n 1 "$T/idle.out")"; }
	probe "A slow loris, later"
	stop_attackers $A1 $A2 $A3
	recovered "A"

	# B: clients that never read.  Each pipelining connection is dropped
	# once its replies fill the socket and send-timeout (2 s) passes.
	attack noread 65534 noread 20 --deadline 10; B1=$LAST
	attack follow 0 follow 20 --once; B2=$LAST
	sleep 1.5
	probe "B non-readers"
	sleep 9; sample
	[ "$(stat_of noread overdue)" = 0 ] && [ "$(stat_of noread closed)" -ge 20 ] &&
	    ok "B: non-reading clients dropped after send-timeout ($(tail -n 1 "$T/noread.out"))" ||
	    { notok "B: noread"; diag "$(tail -n 1 "$T/noread.out")"; }
	probe "B non-readers and event followers, later"
	stop_attackers $B1 $B2
	recovered "B"

	# C: thousands of connections from four uids: each is capped at 32,
	# together at max-clients - reserved-root-clients = 96.
	attack c1 65534 silent 1000; C1=$LAST
	attack c2 65533 silent 1000; C2=$LAST
	attack c3 65532 silent 1000; C3=$LAST
	attack c4 65531 silent 1000; C4=$LAST
	sleep 2
	probe "C 4000 connections"
	[ "$(threads)" -le $((thr0 + 96 + 2)) ] && ok "C: group members hold at most 96 threads ($(threads))" ||
	    notok "C: $(threads) threads"
	refused_with "reserved for root: reserved-root-clients" 65530 &&
	    ok "C: another group member is refused: the rest is reserved for root" || notok "C: reserve refusal"
	sleep 2; probe "C 4000 connections, later"
	diag "C: $(cat "$T"/c[1-4].out | awk '{ n = split($0, f, " "); for (i = 1; i <= n; i++) { split(f[i], kv, "="); if (kv[1] == "connects") c[FILENAME] = kv[2] } } END { s = 0; for (k in c) s += c[k]; print s " connects" }')"
	stop_attackers $C1 $C2 $C3 $C4
	recovered "C"
else
	skip "A-C need group plugind and setpriv (make deps creates the group)"
fi

# D: root over max-clients (128): the rest are refused at once, with a
# message; the admitted ones time out.
attack root 0 silent 400 --once; D1=$LAST
sleep 1; sample
[ "$(threads)" -le $((thr0 + 128)) ] && ok "D: at most max-clients threads ($(threads))" || notok "D: $(threads) threads"
refused_with "too many connections to plugind (limit max-clients)" 0 &&
    ok "D: root over max-clients is refused, the limit named" || notok "D: refusal"
sleep 3.5
[ "$(stat_of root open)" = 0 ] && [ "$(stat_of root refused)" -ge 200 ] &&
    ok "D: refused at once or dropped by client-timeout ($(tail -n 1 "$T/root.out"))" ||
    { notok "D"; diag "$(tail -n 1 "$T/root.out")"; }
stop_attackers $D1
recovered "D"
probe "D after"

# E: out of descriptors.  The broker gets 20 more than it uses; 60 silent
# connections take them, the rest must be accepted and refused (a spare
# descriptor), not left in the backlog to make the accept loop spin.
hard=$(awk '/^Max open files/ { print $5 }' "/proc/$P/limits")
soft=$(awk '/^Max open files/ { print $4 }' "/proc/$P/limits")
if command -v prlimit >/dev/null && prlimit --pid "$P" --nofile="$((fds0 + 20)):$hard"; then
	attack emfile 0 silent 60 --once; E1=$LAST
	sleep 0.5
	cpu() { awk '{ print $14 + $15 }' "/proc/$P/stat"; }
	c0=$(cpu); sleep 2; c1=$(cpu)
	[ $((c1 - c0)) -le 40 ] && ok "E: out of descriptors, no busy loop ($((c1 - c0)) ticks in 2 s)" ||
	    notok "E: the broker used $((c1 - c0)) ticks of CPU in 2 s"
	refused_with "plugind is out of file descriptors" 0 && ok "E: clients are told the broker is out of descriptors" ||
	    notok "E: refusal"
	prlimit --pid "$P" --nofile="$soft:$hard"
	sleep 2
	stop_attackers $E1
	recovered "E"
	n=$(grep -c "out of file descriptors" "$T/b/broker.log")
	[ "$n" -le 6 ] && ok "E: the warning is rate-limited ($n lines)" || notok "E: $n warnings logged"
	probe "E after"
else
	skip "E: prlimit cannot lower the broker's RLIMIT_NOFILE"
fi

# RSS: under ASan the quarantine keeps freed memory, so only plain builds.
if asan_build; then
	skip "RSS bound: ASan build (its quarantine holds freed memory)"
else
	[ "$peak_rss" -le $((rss0 + 24 * 1024)) ] && ok "RSS stayed under baseline + 24 MiB (peak $peak_rss KiB, was $rss0)" ||
	    notok "RSS peaked at $peak_rss KiB (was $rss0)"
fi
diag "peak threads $peak_thr, peak rss $peak_rss KiB"
stop_broker "$P" && ok "broker exits cleanly" || notok "broker exit status"
done_testing

#!/bin/sh
# Hostile helpers: a fake fetcher / extractor (tests/tools/fakehelper.c)
# that sets itself up for real -- privilege drop and seccomp policy, so
# the broker's outside check passes -- and then misbehaves.  Each costs
# its job with a clear error within helper-timeout (extract-timeout for
# the extractor's layer work), the broker serves others meanwhile, and
# a job whose client hangs up is cancelled with its helper killed.
. "$(dirname "$0")/../lib.sh"

T=$(mktemp -d /tmp/pd-hhelper.XXXXXX); track_dir "$T"; chmod 755 "$T"
HT=2 XT=3
RAW="$PD_BUILD/tests/tools/rawctl"
helperdir() { # helperdir DIR ROLE: the real helpers, the fake as ROLE
	mkdir -p "$1"
	for r in fetcher extractor api logger gateway; do cp "$PD_BUILD/plugind-$r" "$1/"; done
	cp "$PD_BUILD/tests/tools/fakehelper" "$1/plugind-$2"
	chmod 755 "$1"
}
helpers_left() { ps -o comm= --ppid $BROKER_PID | grep -c '^plugind-'; }
REF=127.0.0.1:9/hostile/p:latest	# the fake never connects anywhere

# timed DESC WANT LIMIT command...: fails with WANT within LIMIT seconds
timed() {
	_d=$1 _want=$2 _lim=$3; shift 3
	_t0=$(date +%s)
	_out=$("$@" 2>&1) && { notok "$_d (succeeded)"; diag "$_out"; return; }
	_dt=$(( $(date +%s) - _t0 ))
	case "$_out" in
	*"$_want"*) [ $_dt -le $_lim ] && ok "$_d (${_dt} s)" ||
	    notok "$_d: took $_dt s, limit $_lim" ;;
	*) notok "$_d"; diag "got: $_out"; diag "want: $_want" ;;
	esac
}

HF=$T/hf; helperdir "$HF" fetcher
# No warm spares: a fake helper reads its mode when it starts, and no
# helper may be left after a job.
echo "{\"helper-spares\": false, \"limits\": {\"helper-timeout\": $HT, \"extract-timeout\": $XT}}" >"$T/conf.json"
echo ok >"$HF/mode"
PD_HELPER_DIR=$HF start_broker "$T/b" --config "$T/conf.json" || { notok "broker starts"; done_testing; exit 1; }
check "the fake fetcher passes the outside sandbox check" ctl debug check-helper fetcher
lim=$((HT + 6))
inst() { ctl install --grant-all-permissions "$REF"; }
for m in "stall:stalled: nothing for manifest for $REF in $HT s (limits.helper-timeout)" \
    "half:it sent part of a message" \
    "flood:flooded the broker with" \
    "logflood:flooded the broker with" \
    "order:sent an unexpected message: SETUP_DONE" \
    "badid:sent a reply with a wrong id: FETCH_RESULT for request 8, want 1" \
    "foreign:sent an unexpected message: UNTAR_DONE (301), which no fetcher sends" \
    "holdpipe:kept the pipe for manifest for $REF open $HT s after its FETCH_RESULT" \
    "midstream:closed its channel"; do
	echo "${m%%:*}" >"$HF/mode"
	timed "fetcher that misbehaves (${m%%:*}) costs its job" "${m#*:}" $lim inst
	kill -0 $BROKER_PID 2>/dev/null && ok "broker alive after ${m%%:*}" || notok "broker died (${m%%:*})"
	n=$(helpers_left)
	[ "$n" = 0 ] && ok "no helper left after ${m%%:*}" || notok "$n helpers left after ${m%%:*}"
done

# Others are served while a job is stalled.  The raw INSTALL request
# (no privileges round trip first) stalls inside jobs_lock, which check
# takes for writing: check answers once the job's deadline has passed.
echo stall >"$HF/mode"
"$RAW" "$SOCK" 103 0 "$REF" "" "[]" "" >"$T/raw.out" 2>&1 & ip=$!
i=0; while [ $i -lt 50 ] && [ "$(helpers_left)" = 0 ]; do sleep 0.1; i=$((i + 1)); done
t0=$(date +%s)
check "ls answers while an install is stalled" timeout 2 "$CTL" -H "unix://$SOCK" ls
out=$(timeout $lim "$CTL" -H "unix://$SOCK" check 2>&1) &&
    ok "check answers while an install is stalled in jobs_lock (once the job's deadline passed: $(( $(date +%s) - t0 )) s)" ||
    { notok "check while stalled"; diag "$out"; }
wait $ip
grep -q "stalled: nothing for manifest" "$T/raw.out" && ok "the stalled install failed with its stall" ||
    { notok "stalled install"; diag "$(cat "$T/raw.out")"; }
check "the data root is sound after the failed jobs" ctl check
stop_broker $BROKER_PID

# A job whose client hangs up is cancelled: its helper dies at once,
# long before helper-timeout (30 s here).
echo '{"helper-spares": false, "limits": {"helper-timeout": 30}}' >"$T/conf30.json"
PD_HELPER_DIR=$HF start_broker "$T/b2" --config "$T/conf30.json" || notok "broker starts (cancel)"
"$RAW" "$SOCK" 103 0 "$REF" "" "[]" "" >/dev/null 2>&1 & ip=$!
i=0; while [ $i -lt 50 ] && [ "$(helpers_left)" = 0 ]; do sleep 0.1; i=$((i + 1)); done
[ "$(helpers_left)" = 1 ] && ok "the stalled fetcher runs" || notok "no fetcher running"
kill -KILL $ip; wait $ip 2>/dev/null
i=0; while [ $i -lt 50 ] && [ "$(helpers_left)" != 0 ]; do sleep 0.1; i=$((i + 1)); done
[ "$(helpers_left)" = 0 ] && ok "client gone: the job is cancelled, its fetcher killed within $((i / 10)) s" ||
    notok "fetcher still running after its client left"
grep -q "hung up: job cancelled, fetcher\[[0-9]*\] killed" "$T/b2/broker.log" &&
    ok "the broker logs the cancellation" || notok "no cancellation in the log"
check "the broker still serves after a cancelled job" ctl ls
stop_broker $BROKER_PID

# The extractor: pluginctl create hands it a bundle.
HX=$T/hx; helperdir "$HX" extractor
P="$T/plugin"; mkdir -p "$P/rootfs/bin"; cp /bin/busybox "$P/rootfs/bin/"
echo '{"entrypoint": ["/bin/busybox"], "interface": {"socket": "s.sock", "types": ["docker.volumedriver/1.0"]}}' >"$P/config.json"
echo ok >"$HX/mode"
PD_HELPER_DIR=$HX start_broker "$T/b3" --config "$T/conf.json" || notok "broker starts (extractor)"
check "the fake extractor passes the outside sandbox check" ctl debug check-helper extractor
limx=$((XT + 6))
for m in "stall:extractor helper timed out: no answer within $XT s" \
    "half:(it sent part of a message)" \
    "logflood:flooded the broker with" \
    "order:sent an unexpected message: SETUP_DONE"; do
	echo "${m%%:*}" >"$HX/mode"
	timed "extractor that misbehaves (${m%%:*}) costs its job" "${m#*:}" $limx ctl create "h-${m%%:*}" "$P"
	n=$(helpers_left)
	[ "$n" = 0 ] && ok "no helper left after extractor ${m%%:*}" || notok "$n helpers left"
done
[ -z "$(ctl ls -q)" ] && ok "no plugin was created by a hostile extractor" || notok "a plugin was created"
check "the data root is sound after the extractor's failures" ctl check
stop_broker $BROKER_PID
done_testing

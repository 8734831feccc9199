#!/bin/sh
# Crash safety (issue #7 item 1).  For install, create, upgrade (of an
# enabled and of a disabled plugin), set, rm -f and push: SIGKILL the
# broker CRASH_KILLS times (default 50) at delays spread evenly, with
# jitter, over the verb's measured duration (from before the request
# arrives to after it is done).  After every kill: `plugind --check`
# offline reports nothing but what the next start cleans up; the
# restarted broker then shows every invariant (invariants.py) and an
# online `pluginctl check` is clean.  Then SIGKILL of each helper mid-job,
# and the deterministic crash points of a `make CRASHPOINTS=1` build.
# Long run: make crash (CRASH_KILLS=500).  The sanitizer pass
# (make check SANITIZE=1) hunts memory errors, not timing windows, and
# each kill costs several times more there: it defaults to 20 per verb.
. "$(dirname "$0")/../lib.sh"

if [ "${PD_SANITIZE:-0}" = 1 ]; then KILLS=${CRASH_KILLS:-20}; else KILLS=${CRASH_KILLS:-50}; fi
VOLPLUGIN="$PD_BUILD/fixtures/volplugin"
KILLHELPER="$PD_BUILD/tests/tools/killhelper"
INV="/usr/bin/python3 $PD_TOP/tests/reliability/invariants.py"
[ -x /usr/bin/docker-registry ] || { skip "docker-registry not installed"; done_testing; exit 0; }
command -v runc >/dev/null || { skip "runc not installed"; done_testing; exit 0; }
[ -x "$VOLPLUGIN" ] && [ -x "$KILLHELPER" ] || { skip "fixtures not built (make tests)"; done_testing; exit 0; }

T=$(mktemp -d /tmp/pdc.XXXXXX); track_dir "$T"; chmod 755 "$T"
D="$T/b/data"; E="$T/b/exec"
track_runc "$E/runc"; track_mounts_under "$T"
echo '{"stop-timeout": 1}' >"$T/conf.json"
reg_start "$T/reg" anon || { notok "registry"; done_testing; exit 1; }
R="127.0.0.1:$REG_PORT"

cfg() { # cfg DESCRIPTION ENTRYPOINT
	printf '{"description": "%s", "entrypoint": ["%s"],
 "interface": {"socket": "vol.sock", "types": ["docker.volumedriver/1.0"]},
 "env": [{"name": "DEBUG", "settable": ["value"], "value": "0"}],
 "network": {"type": "host"}, "propagatedMount": "/data"}\n' "$1" "$2"
}
cfg "version one" /plugin >"$T/v1.json"; cfg "version two" /plugin >"$T/v2.json"
PUSH="python3 $PD_TOP/tests/registry/push_plugin.py --registry http://$R --plugin-binary $VOLPLUGIN --socket vol.sock"
$PUSH --repo test/crash --tag v1 --config "$T/v1.json" >/dev/null &&
    $PUSH --repo test/crash --tag v2 --config "$T/v2.json" --seed 2 >/dev/null &&
    $PUSH --repo test/big --tag v1 --config "$T/v1.json" --layer-size 8000000 --seed 3 >/dev/null ||
    { notok "push the test plugins"; done_testing; exit 1; }
SRC="$T/src"; mkdir -p "$SRC/rootfs/data" "$SRC/rootfs/run/docker/plugins"
cp "$VOLPLUGIN" "$SRC/rootfs/plugin"; cp "$T/v1.json" "$SRC/config.json"

# A broker of build $PLUGIND_BUILD; the previous one's pid is forgotten
# (it is dead) so cleanup never signals a reused pid.
BROKER_PID=""
broker_up() {
	[ -n "$BROKER_PID" ] && _pids=$(echo " $_pids " | sed "s/ $BROKER_PID / /")
	PD_BUILD=${PLUGIND_BUILD:-$PD_BUILD} start_broker "$T/b" --config "$T/conf.json"
}
broker_kill() { kill -KILL "$BROKER_PID" 2>/dev/null; wait "$BROKER_PID" 2>/dev/null; }
now_ms() { date +%s%3N; }
# A dead child stays a zombie until waited for: that is not alive.
alive() { [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }

# Offline, right after a kill: only what the next start cleans up.
offline_ok() {
	_out=$("$PD_BUILD/plugind" --data-root "$D" --exec-root "$E" --check 2>&1)
	_odd=$(printf '%s\n' "$_out" | grep -v -e '^data root .*: OK (' \
	    -e '^data root .*problems\? found' -e '\[cleaned at start\]$')
	[ -z "$_odd" ] && return 0
	diag "offline check after a kill: $_odd"
	return 1
}

# After a restart: the invariants, then the broker's own online check.
invariants() {
	_ids=$(ctl ls -q --no-trunc 2>&1) && _en=$(ctl ls -q --no-trunc --filter enabled=true 2>&1) ||
	    { diag "ls: $_ids $_en"; return 1; }
	_out=$($INV "$D" "$E" "$T" "$_ids" "$_en" 15) || { diag "$_out"; return 1; }
	_out=$(ctl check 2>&1) || { diag "online check: $_out"; return 1; }
}

exists() { ctl inspect -f '{{.Id}}' "$1" >/dev/null 2>&1; }
enabled() { [ "$(ctl inspect -f '{{.Enabled}}' "$1" 2>/dev/null)" = true ]; }
ref_of() { ctl inspect -f '{{.PluginReference}}' "$1" 2>/dev/null; }

# The operations: prepare the plugin the verb needs, the verb itself, and
# what must hold of that plugin after a kill at any point.
prep_install() { ! exists ins || ctl rm -f ins >/dev/null; }
op_install() { ctl install --grant-all-permissions --alias ins "$R/test/crash:v1"; }
post_install() { ! exists ins || [ "$(ref_of ins)" = "$R/test/crash:v1" ]; }
prep_create() { ! exists cr || ctl rm -f cr >/dev/null; }
op_create() { ctl create cr "$SRC"; }
post_create() { ! exists cr || ! enabled cr; }
prep_upe() {
	exists upe || ctl install --grant-all-permissions --alias upe "$R/test/crash:v1" >/dev/null
	enabled upe || ctl enable upe >/dev/null
	case $(ref_of upe) in *:v1) UP_TO=v2 ;; *) UP_TO=v1 ;; esac
}
op_upe() { ctl upgrade --grant-all-permissions upe "$R/test/crash:$UP_TO"; }
# Enabled before, enabled after: the old version or the new one.
post_upe() {
	enabled upe && case $(ref_of upe) in "$R/test/crash:v1" | "$R/test/crash:v2") ;; *) false ;; esac
}
prep_upd() {
	exists upd || ctl install --disable --grant-all-permissions --alias upd "$R/test/crash:v1" >/dev/null
	case $(ref_of upd) in *:v1) UP_TO=v2 ;; *) UP_TO=v1 ;; esac
}
op_upd() { ctl upgrade --grant-all-permissions upd "$R/test/crash:$UP_TO"; }
post_upd() { exists upd && ! enabled upd; }
SET_N=0
prep_set() {
	exists st || ctl create st "$SRC" >/dev/null
	SET_OLD=$(ctl inspect -f '{{json .Settings.Env}}' st); SET_N=$((SET_N + 1))
}
op_set() { ctl set st "DEBUG=$SET_N"; }
post_set() {
	_env=$(ctl inspect -f '{{json .Settings.Env}}' st)
	[ "$_env" = "$SET_OLD" ] || [ "$_env" = "[\"DEBUG=$SET_N\"]" ] || { diag "env $_env"; false; }
}
prep_rm() {
	exists rmme || ctl create rmme "$SRC" >/dev/null
	enabled rmme || ctl enable rmme >/dev/null
}
op_rm() { ctl rm -f rmme; }
post_rm() { true; }
prep_push() { exists "$R/test/pushed" || ctl create "$R/test/pushed" "$SRC" >/dev/null; }
op_push() { ctl push "$R/test/pushed"; }
post_push() { exists "$R/test/pushed" && ! enabled "$R/test/pushed"; }

# After a failure the next part starts with a running broker again.
ensure_broker() { alive "$BROKER_PID" || broker_up; }

# crash_verb NAME FN: measure one undisturbed run, then KILLS kills.
crash_verb() {
	_name=$1 _fn=$2
	ensure_broker
	"prep_$_fn" || { notok "$_name: prepare"; return; }
	_t0=$(now_ms); _out=$("op_$_fn" 2>&1) || { notok "$_name: an undisturbed run failed"; diag "$_out"; return; }
	_dur=$(($(now_ms) - _t0))
	_k=0 _survived=0 _failed_here=0
	while [ $_k -lt "$KILLS" ]; do
		"prep_$_fn" >/dev/null 2>&1 || { diag "$_name: prepare failed at kill $_k"; _failed_here=1; break; }
		# Evenly spaced over 0 .. 1.25 x the duration, plus jitter of
		# up to one step: the first kills land before the request
		# arrives, the last ones after it is done.
		_step=$((_dur * 125 / 100 / KILLS + 1))
		_delay=$((_k * _step + $(od -An -N2 -tu2 /dev/urandom) % _step))
		"op_$_fn" >/dev/null 2>&1 &
		_op=$!
		sleep "$(printf '%d.%03d' $((_delay / 1000)) $((_delay % 1000)))"
		broker_kill
		wait $_op 2>/dev/null
		_k=$((_k + 1))
		offline_ok || { diag "$_name: kill $_k at ${_delay} ms"; _failed_here=1; break; }
		broker_up || { diag "$_name: no restart after kill $_k"; _failed_here=1; break; }
		if ! invariants || ! "post_$_fn"; then
			diag "$_name: invariants broken after kill $_k at ${_delay} ms of ${_dur}"
			_failed_here=1; break
		fi
		_survived=$((_survived + 1))
	done
	diag "kills survived: $_name: $_survived of $_k (run ${_dur} ms)"
	[ $_failed_here = 0 ] && [ $_survived -ge "$KILLS" ] && ok "$_name: $_survived SIGKILLs of the broker survived" ||
	    notok "$_name: survived $_survived of $_k kills"
}

broker_up || { notok "broker starts"; done_testing; exit 1; }
crash_verb install install
crash_verb create create
crash_verb "upgrade (enabled)" upe
ctl rm -f upe >/dev/null
crash_verb "upgrade (disabled)" upd
ctl rm -f upd >/dev/null
crash_verb set set
ctl rm -f st >/dev/null
crash_verb "rm -f" rm
crash_verb push push
for p in ins cr rmme "$R/test/pushed"; do ! exists "$p" || ctl rm -f "$p" >/dev/null; done

# SIGKILL of a helper mid-job: the job fails and says why, nothing is
# left, the next job works.
# helper_kill LABEL EXE ROOT-SUBSTRING DELAY-MS JOB: run job_JOB three
# times while killhelper SIGKILLs the helper (0, 1x, 2x DELAY-MS after it
# appears); each time the job must fail naming the helper and its death,
# leave nothing (gone_JOB, invariants, online check), and then an
# undisturbed job_JOB must work (undo_JOB cleans up after it).
# A kill that lands after the helper's last reply (the job then succeeds
# and is complete) does not count; up to 6 tries for 3 mid-job kills.
helper_kill() {
	_try=0 _good=0 _bad=0
	ensure_broker
	while [ $_try -lt 6 ] && [ $_good -lt 3 ]; do
		_try=$((_try + 1))
		helper_kill_once "$@"
		case $? in 0) _good=$((_good + 1)) ;; 1) _bad=$((_bad + 1)) ;; esac
		"undo_$5"
	done
	diag "$1 killed mid-job $_good times in $_try tries; last error: $(printf '%s' "$_out" | tail -n 1)"
	[ $_good = 3 ] && [ $_bad = 0 ] && ok "$1 SIGKILLed mid-job ($5): the job fails with a clear error, nothing is left" ||
	    notok "$1 killed ($5): $_good clean, $_bad not"
	"prep_$5" || diag "$1: prepare"
	if _out=$("job_$5" 2>&1); then ok "$1: the next $5 works"; else notok "$1: the next $5 failed"; diag "$_out"; fi
	"undo_$5"
}
helper_kill_once() {
	"prep_$5" || { diag "$1: prepare"; return 1; }
	"$KILLHELPER" "$BROKER_PID" "$2" "$3" 10000 $(($4 * ((_try - 1) % 3))) >"$T/killed" 2>&1 &
	_kh=$!
	_out=$("job_$5" 2>&1); _rc=$?
	wait $_kh || { diag "$1: the helper was not caught: $(cat "$T/killed")"; return 2; }
	if [ $_rc = 0 ]; then
		_ids=$(ctl ls -q --no-trunc); _en=$(ctl ls -q --no-trunc --filter enabled=true)
		_inv=$($INV "$D" "$E" "$T" "$_ids" "$_en" 5) || { diag "$1: killed late: $_inv"; return 1; }
		diag "$1: killed after its last reply (the $5 succeeded and is complete)"; return 2
	fi
	"gone_$5" || { diag "$1: the $5 failed but left its result: $_out"; return 1; }
	# The error names the helper and how it died.
	case "$_out" in
	*"not sandboxed"*) diag "$1: misleading error: $_out"; return 1 ;;
	*"error: "*" helper "*"killed by signal 9"*) ;;
	*) diag "$1: no clear error: $_out"; return 1 ;;
	esac
	_ids=$(ctl ls -q --no-trunc); _en=$(ctl ls -q --no-trunc --filter enabled=true)
	_inv=$($INV "$D" "$E" "$T" "$_ids" "$_en" 5) || { diag "$1: after the kill: $_inv"; return 1; }
	ctl check >/dev/null 2>&1 || { diag "$1: online check: $(ctl check 2>&1)"; return 1; }
}
prep_install() { true; }
job_install() { ctl install --grant-all-permissions --alias big "$R/test/big:v1"; }
gone_install() { ! exists big; }
undo_install() { ! exists big || ctl rm -f big >/dev/null; }
prep_create() { true; }
job_create() { ctl create hk "$SRC"; }
gone_create() { ! exists hk; }
undo_create() { ! exists hk || ctl rm -f hk >/dev/null; }
# Each push goes to a new repository with a 4 MB layer, so the fetcher
# really uploads (an already pushed layer takes it a few ms only).  Push
# changes nothing locally: the plugin stays as it was.
PUSH_N=0
prep_push() {
	PUSH_N=$((PUSH_N + 1)); PUSH_NAME="$R/test/hk$PUSH_N"
	ctl create "$PUSH_NAME" "$BIGSRC" >/dev/null
}
job_push() { ctl push "$PUSH_NAME"; }
gone_push() { exists "$PUSH_NAME"; }
undo_push() { ctl rm -f "$PUSH_NAME" >/dev/null; }
# Delays after the helper appears: 0, 1x, 2x the given milliseconds.
helper_kill fetcher plugind-fetcher "" 5 install
helper_kill "layer extractor" plugind-extractor "/tmp/install-" 5 install
# The parser of an install (its manifest, then its config) is chrooted
# in tmp/parse-*; the idle warm spares killhelper skips (niced).
helper_kill "parse-only extractor" plugind-extractor "/tmp/parse-" 0 install
helper_kill "create's extractor" plugind-extractor "/tmp/create-" 3 create
BIGSRC="$T/bigsrc"; cp -r "$SRC" "$BIGSRC"
head -c 4000000 /dev/urandom >"$BIGSRC/rootfs/data/blob"
helper_kill "push's fetcher" plugind-fetcher "" 5 push

# Deterministic crash points (common/crashpoint.h), in a separate build.
# Its own directory per sanitizer setting: `make check SANITIZE=1` hands
# SANITIZE=1 down in MAKEFLAGS, and objects of both kinds must not mix.
CB="${PD_CRASH_BUILD:-$PD_TOP/build-crash${PD_SANITIZE:+-asan}}"
if ! make -C "$PD_TOP" -s -j2 B="$CB" CRASHPOINTS=1 SANITIZE="${PD_SANITIZE:-0}" \
    >"$T/crashbuild.log" 2>&1; then
	notok "crash-point build"; diag "$(tail -n 5 "$T/crashbuild.log")"
	done_testing; exit 1
fi
# at_point POINT PREP-FN OP-FN CHECK-FN: a broker armed with POINT dies
# there by itself; a normal broker restarts; CHECK-FN says what it found.
at_point() {
	"$2" >/dev/null 2>&1 || { notok "$1: prepare"; return; }
	broker_kill
	PD_CRASHPOINT=$1 PLUGIND_BUILD=$CB broker_up || { notok "$1: armed broker"; return; }
	_out=$("$3" 2>&1)
	# The client sees the socket close while the kernel is still tearing
	# the broker's threads down: give a SIGKILLed broker 5 s to be gone.
	_i=0
	while alive "$BROKER_PID" && [ $_i -lt 50 ]; do sleep 0.1; _i=$((_i + 1)); done
	if alive "$BROKER_PID"; then
		notok "$1: the crash point was not reached"; diag "$_out"; broker_kill
	else
		wait "$BROKER_PID" 2>/dev/null
	fi
	offline_ok || notok "$1: offline check"
	broker_up || { notok "$1: restart"; return; }
	if invariants && "$4"; then ok "crash at $1: recovered"; else notok "crash at $1"; fi
}
is_up() { enabled upe && [ "$(ref_of upe)" = "$R/test/crash:$1" ]; }
up_old() { is_up v1; }
up_new() { is_up v2; }
prep_upe1() { ! exists upe || ctl rm -f upe >/dev/null; prep_upe; }
op_upe2() { ctl upgrade --grant-all-permissions upe "$R/test/crash:v2"; }
for p in upgrade-journal upgrade-rootfs-old upgrade-swapped upgrade-saved upgrade-enabled; do
	at_point $p prep_upe1 op_upe2 up_old
done
at_point upgrade-committed prep_upe1 op_upe2 up_new
ctl rm -f upe >/dev/null
prep_upd1() { ! exists upd || ctl rm -f upd >/dev/null; prep_upd; }
op_upd2() { ctl upgrade --grant-all-permissions upd "$R/test/crash:v2"; }
upd_old() { ! enabled upd && [ "$(ref_of upd)" = "$R/test/crash:v1" ]; }
at_point upgrade-swapped prep_upd1 op_upd2 upd_old
ctl rm -f upd >/dev/null
absent_cr() { ! exists cr; }
present_cr() { exists cr && ! enabled cr; }
at_point commit-staged prep_create op_create absent_cr
at_point commit-renamed prep_create op_create present_cr
prep_set1() { prep_set; ctl set st DEBUG=old >/dev/null; }
op_set1() { ctl set st DEBUG=new; }
env_is() { [ "$(ctl inspect -f '{{json .Settings.Env}}' st)" = "[\"DEBUG=$1\"]" ]; }
set_old() { env_is old; }
set_new() { env_is new; }
at_point atomic-written:config.json prep_set1 op_set1 set_old
at_point atomic-renamed:config.json prep_set1 op_set1 set_new
op_enable_st() { ctl enable st; }
st_off() { exists st && ! enabled st; }
at_point enable-started true op_enable_st st_off
op_rm_st() { ctl rm -f st; }
st_gone() { ! exists st; }
at_point rm-renamed true op_rm_st st_gone
done_testing

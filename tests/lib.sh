# Shared shell helpers for tests/*/test_*.sh: TAP output, a broker on a
# private data root, and cleanup of everything started (by PID) on exit.
set -u
: "${PD_TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${PD_BUILD:=$PD_TOP/build}"
# PD_SANITIZE=1: an ASan/UBSan build (make SANITIZE=1); tests/run.sh sets it.
if [ -z "${PD_SANITIZE:-}" ] && grep -qa __asan_init "$PD_BUILD/plugind" 2>/dev/null; then
	PD_SANITIZE=1
fi
: "${PD_SANITIZE:=}"
CTL="$PD_BUILD/pluginctl"
_n=0 _failed=0
_pids="" _dirs="" _mounts="" _runc="" _mprefix="" _mntns=""

ok()      { _n=$((_n + 1)); echo "ok $_n - $*"; }
notok()   { _n=$((_n + 1)); _failed=$((_failed + 1)); echo "not ok $_n - $*"; }
skip()    { _n=$((_n + 1)); echo "ok $_n - # SKIP $*"; }
diag()    { echo "# $*" | sed '2,$s/^/# /'; }
check()   { # check "description" command...
	_d=$1; shift
	if "$@" >/dev/null 2>&1; then ok "$_d"; else notok "$_d"; fi
}
# expect_fail "description" "expected stderr substring" command...
expect_fail() {
	_d=$1 _want=$2; shift 2
	_out=$("$@" 2>&1) && { notok "$_d (succeeded)"; diag "$_out"; return; }
	case "$_out" in
	*"$_want"*) ok "$_d" ;;
	*) notok "$_d"; diag "got: $_out"; diag "want: $_want" ;;
	esac
}

track_pid()   { _pids="$_pids $1"; }
# untrack_pid PID: a tracked process the test has killed and reaped; its
# pid may be reused by anyone's process by the time cleanup runs.
untrack_pid() { _pids=$(echo " $_pids " | sed "s/ $1 / /g"); }
track_dir()   { _dirs="$_dirs $1"; }
track_mount() { _mounts="$1 $_mounts"; }
# Containers under a runc --root are deleted (killed) at exit; mounts at or
# below a prefix are detached at exit, deepest first (read from mountinfo).
track_runc()  { _runc="$_runc $1"; }
track_mounts_under() { _mprefix="$_mprefix $1"; }
# Every process in a mount namespace (by inode) is killed at exit: an
# engine's containerd, shims and containers (tests/engines/engine.sh).
# Never the test's own namespace (a process not yet unshared reports it).
track_mntns() {
	[ "$1" != "$(stat -L -c %i /proc/$$/ns/mnt)" ] || return 1
	case " $_mntns " in *" $1 "*) ;; *) _mntns="$_mntns $1" ;; esac
}
mntns_pids() { # mntns_pids INODE: processes whose mount namespace it is
	for _p in /proc/[0-9]*; do
		[ "$(stat -L -c %i "$_p/ns/mnt" 2>/dev/null)" = "$1" ] && echo "${_p#/proc/}"
	done
	return 0
}

mounts_under() { # mounts_under PREFIX: mount points at or below PREFIX
	awk -v p="$1" '{ m = $5; gsub(/\\040/, " ", m)
	    if (m == p || index(m, p "/") == 1) print m }' /proc/self/mountinfo
}

# kill_rooted DIR: the helpers that outlive a broker (gateways, log
# writers) found by their root below DIR, as the broker finds them.
kill_rooted() {
	for _p in $(pgrep -x plugind-gateway; pgrep -x plugind-logger); do
		case "$(readlink "/proc/$_p/root" 2>/dev/null)" in
		"$1"/*) kill -KILL "$_p" 2>/dev/null ;;
		esac
	done
}

cleanup() {
	for p in $_pids; do kill -TERM "$p" 2>/dev/null; done
	for n in $_mntns; do
		i=0
		while [ -n "$(mntns_pids "$n")" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		for p in $(mntns_pids "$n"); do kill -KILL "$p" 2>/dev/null; done
	done
	for p in $_pids; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		kill -KILL "$p" 2>/dev/null
	done
	for r in $_runc; do
		[ -d "$r" ] || continue
		for c in $(ls "$r" 2>/dev/null); do
			runc --root "$r" delete -f "$c" >/dev/null 2>&1
		done
	done
	for p in $_mprefix; do
		mounts_under "$p" | sort -r | while read -r m; do
			umount -l "$m" 2>/dev/null
		done
	done
	for m in $_mounts; do umount -l "$m" 2>/dev/null; done
	for d in $_dirs; do kill_rooted "$d"; done
	[ -n "${PD_KEEP:-}" ] && { echo "# kept:$_dirs" >&2; return; }
	for d in $_dirs; do rm -rf "$d"; done
}
trap 'cleanup' EXIT
trap 'exit 1' INT TERM

# removals_done DATA-ROOT: wait (up to 5 s) until the directories rm has
# answered for (<id>-removing, deleted after the reply) are gone.
removals_done() {
	_i=0
	while ls "$1/plugins" 2>/dev/null | grep -q -- '-removing$' && [ $_i -lt 100 ]; do
		sleep 0.05; _i=$((_i + 1))
	done
	! ls "$1/plugins" 2>/dev/null | grep -q -- '-removing$'
}
done_testing() { echo "1..$_n"; [ "$_failed" -eq 0 ]; }

# start_broker DIR [extra plugind args...]: a broker on DIR/data, DIR/exec;
# sets BROKER_PID and SOCK, waits until the socket answers.
start_broker() {
	_bd=$1; shift
	mkdir -p "$_bd"
	SOCK="$_bd/exec/plugind.sock"
	# Engines' sockets (docs/CONSUMERS.md) stay in the test's directory.
	"$PD_BUILD/plugind" --data-root "$_bd/data" --exec-root "$_bd/exec" \
	    --helper-dir "${PD_HELPER_DIR:-$PD_BUILD}" \
	    --policy "${PD_POLICY:-$_bd/policy.json}" \
	    --publish-docker-dir "${PD_PUBLISH_DIR:-$_bd/docker-plugins}" \
	    --publish-podman-conf "${PD_PODMAN_CONF:-$_bd/containers.conf.d/plugind.conf}" \
	    "$@" >>"$_bd/broker.log" 2>&1 &
	BROKER_PID=$!
	track_pid $BROKER_PID
	i=0
	while [ $i -lt 100 ]; do
		if [ -S "$SOCK" ] && "$CTL" -H "unix://$SOCK" ls >/dev/null 2>&1; then
			return 0
		fi
		kill -0 $BROKER_PID 2>/dev/null || break
		sleep 0.05; i=$((i + 1))
	done
	diag "broker did not start:"; diag "$(tail -n 20 "$_bd/broker.log")"
	return 1
}

stop_broker() { # stop_broker PID: SIGTERM, wait, return its exit status
	kill -TERM "$1" 2>/dev/null
	wait "$1"
}

ctl() { "$CTL" -H "unix://$SOCK" "$@"; }

# Warm spares (broker/proc/helper.c) wait niced, in tmp/spare-*:
# job_helpers NAME lists the broker's plugind-NAME children that are not
# idle spares; job_tmp DATA-ROOT lists DATA-ROOT/tmp without the spares'.
job_helpers() {
	for _p in $(pgrep -P "$BROKER_PID" -f "plugind-$1"); do
		[ "$(awk '{ sub(/.*\) /, ""); print $17 }' "/proc/$_p/stat" 2>/dev/null)" = 0 ] &&
		    echo "$_p"
	done
}
job_tmp() { ls -A "$1/tmp" | grep -v '^spare-'; }
# idle_spares NAME: the broker's idle (niced) plugind-NAME spares, sorted;
# wait_idle_spares NAME N: until there are N of them (5 s at most).
idle_spares() {
	for _p in $(pgrep -P "$BROKER_PID" -f "plugind-$1"); do
		[ "$(awk '{ sub(/.*\) /, ""); print $17 }' "/proc/$_p/stat" 2>/dev/null)" -gt 0 ] 2>/dev/null &&
		    echo "$_p"
	done | sort
}
wait_idle_spares() {
	_i=0
	while [ "$(idle_spares "$1" | wc -l)" -ne "$2" ] && [ $_i -lt 100 ]; do sleep 0.05; _i=$((_i + 1)); done
	[ "$(idle_spares "$1" | wc -l)" -eq "$2" ]
}

# reg_start DIR MODE: a docker-registry from tests/registry/registry.sh
# (MODE anon, basic, token, tls...); sets REG_PORT and tracks every pid it
# started so cleanup stops them.  Not for $(...): the tracking must
# happen in the test's own shell.
reg_start() {
	REG_PORT=""
	sh "$PD_TOP/tests/registry/registry.sh" start "$1" "$2" >"$1.out" 2>&1 ||
	    { cat "$1.out" >&2; return 1; }
	for _f in "$1"/*.pid; do [ -f "$_f" ] && track_pid "$(cat "$_f")"; done
	REG_PORT=$(cat "$1/port")
}

# unit_docs_missing UNIT ROOT MANDIR: the Documentation= targets of a
# systemd unit installed below ROOT that are not there (man:NAME(S) as
# ROOT/MANDIR/manS/NAME.S[.gz], file://PATH as ROOT/PATH); empty if all are.
unit_docs_missing() {
	for _d in $(sed -n 's/^Documentation=//p' "$1"); do
		case $_d in
		man:*)	_p=${_d#man:}; _s=${_p#*(}; _s=${_s%)}
			_m="$2$3/man$_s/${_p%%(*}.$_s"
			[ -f "$_m" ] || [ -f "$_m.gz" ] || printf ' %s' "$_d" ;;
		file://*) [ -f "$2${_d#file://}" ] || printf ' %s' "$_d" ;;
		*)	printf ' %s' "$_d" ;;
		esac
	done
}

#!/bin/sh
# Warm spares (broker/proc/helper.c, docs/PRIVSEP.md "Warm spares"): the
# broker keeps a fetcher, two extractors and an API process started,
# sandboxed and checked; a job takes one and a replacement follows; a
# spare killed by SIGKILL is replaced and no job fails; at shutdown none
# is left; with helper-spares false there are none.
. "$(dirname "$0")/../lib.sh"

command -v docker-registry >/dev/null || [ -x /usr/bin/docker-registry ] ||
    { skip "docker-registry not installed (make deps installs it)"; done_testing; exit 0; }
T=$(mktemp -d /tmp/pd-spares.XXXXXX); track_dir "$T"; chmod 755 "$T"
reg_start "$T/reg" anon || { notok "registry starts"; done_testing; exit 1; }
R="127.0.0.1:$REG_PORT"
python3 "$PD_TOP/tests/registry/push_plugin.py" --registry "http://$R" \
    --repo test/sp --layer-size 20000 >/dev/null || notok "push test/sp"
python3 "$PD_TOP/tests/registry/push_plugin.py" --registry "http://$R" \
    --repo test/spbig --layer-size 40000000 >/dev/null || notok "push test/spbig"
D="$T/b/data"
start_broker "$T/b" --docker-api "unix://$T/api.sock" || { done_testing; exit 1; }

field() { awk -v k="$2:" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }' "/proc/$1/status"; }
# spares ROLE: the idle spares of plugind-ROLE (children, niced; lib.sh)
spares() { idle_spares "$1"; }
# wait_spares ROLE N [NOT-PID]: N spares of ROLE, none of them NOT-PID
wait_spares() {
	_i=0
	while [ $_i -lt 100 ]; do
		_s=$(spares "$1")
		if [ "$(echo $_s | wc -w)" = "$2" ]; then
			case " $(echo $_s) " in *" ${3:-x} "*) ;; *) return 0 ;; esac
		fi
		sleep 0.05; _i=$((_i + 1))
	done
	return 1
}
uid_of() { id -u "$1"; }

wait_spares fetcher 1 && ok "a fetcher spare" || notok "a fetcher spare: $(spares fetcher)"
wait_spares extractor 2 && ok "two extractor spares" || notok "extractor spares: $(spares extractor)"
wait_spares api 1 && ok "an API spare" || notok "an API spare: $(spares api)"

# Each spare's sandbox, read from /proc as the outside check does.
for r in fetcher:_pd_fetch extractor:_pd_extract api:_pd_api; do
	role=${r%%:*} user=${r#*:}
	p=$(spares "$role" | head -n 1)
	u=$(uid_of "$user")
	[ -n "$p" ] && [ "$(field "$p" Uid)" = "$u $u $u $u" ] &&
	    [ "$(field "$p" Seccomp)" = 2 ] && [ "$(field "$p" NoNewPrivs)" = 1 ] &&
	    [ -z "$(field "$p" Groups)" ] &&
	    ok "$role spare $p: uid $user, seccomp, no_new_privs, no groups" ||
	    notok "$role spare $p sandbox: $(grep -E '^(Uid|Groups|Seccomp|NoNewPrivs)' /proc/$p/status 2>&1)"
	root=$(readlink "/proc/$p/root")
	case $role:$root in
	fetcher:"$D/fetch-root"|api:"$D/api-root"|extractor:"$D"/tmp/spare-*/rootfs)
		ok "$role spare chrooted in $root" ;;
	*)	notok "$role spare root: $root" ;;
	esac
	# Nothing but fds 0-3 (and a sanitizer's report file): no job's fd.
	n=$(ls "/proc/$p/fd" | awk '$1 > 3' | wc -l)
	[ "$n" -le "${PD_SANITIZE:+1}${PD_SANITIZE:-0}" ] && ok "$role spare holds only its channel" ||
	    notok "$role spare fds: $(ls -l /proc/$p/fd)"
done

# A job takes the spares; replacements follow.
f0=$(spares fetcher) a0=$(spares api)
ctl install --disable --grant-all-permissions --alias sp1 "$R/test/sp:latest" >/dev/null &&
    ok "install with spares" || notok "install with spares"
wait_spares fetcher 1 "$f0" && ok "the fetcher spare was used and replaced" ||
    notok "fetcher spare not replaced: $f0 -> $(spares fetcher)"
kill -0 "$f0" 2>/dev/null && notok "the used fetcher $f0 still runs" || ok "the used fetcher exited"
wait_spares extractor 2 && ok "two extractor spares again" || notok "extractor spares: $(spares extractor)"
out=$(curl -s --unix-socket "$T/api.sock" http://x/_ping)
[ "$out" = OK ] && ok "API request on the spare" || notok "_ping: $out"
wait_spares api 1 "$a0" && ok "the API spare was used and replaced" ||
    notok "api spare not replaced: $a0 -> $(spares api)"
ctl rm sp1 >/dev/null

# An API process lives as long as its connection: its replacement waits
# until that ends, or 250 ms (a keep-alive client), so a docker CLI verb
# never shares the CPUs with the next API process's start.
a0=$(spares api)
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n"); s.recv(4096)
open(sys.argv[2], "w").write("up\n"); time.sleep(5)' "$T/api.sock" "$T/ka.up" & KA=$!; track_pid $KA
_i=0; while [ ! -s "$T/ka.up" ] && [ $_i -lt 100 ]; do sleep 0.02; _i=$((_i + 1)); done
[ -s "$T/ka.up" ] && [ -z "$(spares api)" ] && ok "no API spare starts while a fresh connection runs" ||
    notok "API spares at once: $(spares api) (was $a0)"
wait_spares api 1 "$a0" && kill -0 $KA 2>/dev/null && ok "a keep-alive connection gets its replacement spare after the hold" ||
    notok "no API spare while a keep-alive connection stays: $(spares api)"
kill $KA 2>/dev/null; wait $KA 2>/dev/null

# A fetcher spare is replaced when the job is done with it, not while it
# runs: a replacement would compete with the job for CPU and memory.  So
# the job's fetcher (nice 0) and an idle fetcher spare are never seen at
# once during an install that takes a while (a 40 MB layer).
wait_spares fetcher 1 || notok "no fetcher spare before the big install"
wait_spares extractor 2 || notok "no extractor spares before the big install"
x0=$(spares extractor)
ctl install --disable --grant-all-permissions --alias spbig "$R/test/spbig:latest" >/dev/null 2>&1 &
ip=$!
seen=0 both=0 newx=""
while kill -0 $ip 2>/dev/null; do
	j=$(job_helpers fetcher) s=$(spares fetcher)
	[ -n "$j" ] && seen=$((seen + 1))
	[ -n "$j" ] && [ -n "$s" ] && both=$((both + 1))
	# Nor an extractor spare started after the job began (the parser's
	# replacement waits for the whole job too).
	if [ -n "$j" ]; then
		for x in $(spares extractor); do
			case " $(echo $x0) " in *" $x "*) ;; *) newx="$newx $x" ;; esac
		done
	fi
	sleep 0.02
done
wait $ip && ok "the big install" || notok "the big install failed"
[ $seen -gt 0 ] && [ $both = 0 ] &&
    ok "no fetcher spare while the job's fetcher ran ($seen samples)" ||
    notok "a job fetcher and a fetcher spare at once in $both of $seen samples"
[ $seen -gt 0 ] && [ -z "$newx" ] && ok "no extractor spare started while the job ran" ||
    notok "extractor spares started during the job:$newx"
wait_spares fetcher 1 && ok "the fetcher spare is back after the job" || notok "no fetcher spare after the job"
ctl rm spbig >/dev/null

# SIGKILL to every idle spare: each is replaced, and no job fails.
old=$(spares fetcher; spares extractor; spares api)
kill -KILL $old
for r in fetcher:1 extractor:2 api:1; do
	wait_spares "${r%%:*}" "${r#*:}" && ok "${r%%:*} spares replaced after SIGKILL" ||
	    notok "${r%%:*} spares after SIGKILL: $(spares ${r%%:*})"
done
for p in $old; do
	case " $(echo $(spares fetcher; spares extractor; spares api)) " in
	*" $p "*) notok "killed spare $p still listed" ;;
	esac
done
grep -q "warm spare .*starting another" "$T/b/broker.log" && ok "the broker logged the replacement" ||
    notok "no replacement logged"
# Killed again, right before the job: a dead spare is never handed out.
kill -KILL $(spares fetcher; spares extractor)
out=$(ctl install --disable --grant-all-permissions --alias sp2 "$R/test/sp:latest" 2>&1) &&
    ok "install right after its spares were killed" || { notok "install after kill"; diag "$out"; }
curl -s --unix-socket "$T/api.sock" http://x/_ping >/dev/null; kill -KILL $(spares api)
out=$(curl -s --unix-socket "$T/api.sock" http://x/_ping)
[ "$out" = OK ] && ok "API request right after its spare was killed" || notok "_ping after kill: $out"
ctl rm sp2 >/dev/null
out=$(ctl check 2>&1) && ok "online check: the spares' staging is not a leftover" ||
    { notok "online check"; diag "$out"; }

# Shutdown: no helper left, no spare staging left.
all=$(ps -o pid= --ppid "$BROKER_PID")
stop_broker "$BROKER_PID"
left=""
for p in $all; do kill -0 "$p" 2>/dev/null && left="$left $p"; done
[ -z "$left" ] && ok "no helper outlives the broker" || notok "left running:$left"
ls "$D/tmp" | grep -q . && notok "tmp/ after stop: $(ls "$D/tmp")" || ok "no staging left in tmp/"

# helper-spares false: none kept, jobs still work.
echo '{"helper-spares": false}' >"$T/nospare.json"
start_broker "$T/b" --config "$T/nospare.json" || { done_testing; exit 1; }
sleep 0.5
[ -z "$(ps -o pid= --ppid "$BROKER_PID")" ] && ok "helper-spares false: no spare" ||
    notok "helper-spares false: $(ps -o pid,args --ppid "$BROKER_PID")"
ctl install --disable --grant-all-permissions --alias sp3 "$R/test/sp:latest" >/dev/null &&
    ok "install without spares" || notok "install without spares"
stop_broker "$BROKER_PID"
done_testing

#!/bin/sh
# Helpers and the OCI runtime run as root only from trusted paths: every
# directory from / down root-owned and not writable by others (a sticky
# one such as /tmp excepted), the binary root-owned, not group/world-
# writable, no symbolic link on the way; exec'd by fd (execveat), so the
# file checked is the file run.  The broker checks its helpers at start.
. "$(dirname "$0")/../lib.sh"

T=$(mktemp -d /tmp/pd-texec.XXXXXX); track_dir "$T"; chmod 755 "$T"
helpers() { # helpers DIR: the real helpers, copied
	mkdir -p "$1"
	for r in fetcher extractor api logger gateway; do cp "$PD_BUILD/plugind-$r" "$1/"; done
	chmod 755 "$1"
}
# refuse DESC WANT HELPERDIR: plugind does not start and says WANT
refuse() {
	_out=$("$PD_BUILD/plugind" --data-root "$T/d" --exec-root "$T/e" \
	    --helper-dir "$3" 2>&1) && { notok "$1 (broker started)"; return; }
	case "$_out" in *"$2"*) ok "$1" ;; *) notok "$1"; diag "got: $_out"; diag "want: $2" ;; esac
}

helpers "$T/good"
mkdir -p "$T/user"; helpers "$T/user/helpers"; chown 65534 "$T/user"
refuse "helper dir under a directory a non-root user owns: refused at start" \
    "plugind: helper directory $T/user: owned by uid 65534, not root (--helper-dir / helper-dir)" "$T/user/helpers"
helpers "$T/gw"; chmod 775 "$T/gw"
refuse "a group-writable helper directory: refused" \
    "helper directory $T/gw: writable by group or others (mode 775)" "$T/gw"
helpers "$T/gwbin"; chmod 775 "$T/gwbin/plugind-extractor"
refuse "a group-writable helper binary: refused" \
    "helper $T/gwbin/plugind-extractor: writable by group or others (mode 775) (--helper-dir / helper-dir)" "$T/gwbin"
helpers "$T/ub"; chown 65534 "$T/ub/plugind-api"
refuse "a helper binary a non-root user owns: refused" \
    "helper $T/ub/plugind-api: owned by uid 65534, not root" "$T/ub"
helpers "$T/sl"; rm "$T/sl/plugind-fetcher"; ln -s "$T/good/plugind-fetcher" "$T/sl/plugind-fetcher"
refuse "a symlinked helper (to a good binary): refused" \
    "helper $T/sl/plugind-fetcher: is a symbolic link" "$T/sl"
ln -s "$T/good" "$T/linkdir"
refuse "a symlinked helper directory: refused" \
    "helper directory $T/linkdir: is a symbolic link" "$T/linkdir"
helpers "$T/miss"; rm "$T/miss/plugind-logger"
refuse "a missing helper: refused at start, named" \
    "helper $T/miss/plugind-logger: No such file or directory (--helper-dir / helper-dir)" "$T/miss"
refuse "a missing helper directory: refused at start" \
    "helper directory $T/nonexistent: No such file or directory (--helper-dir / helper-dir)" "$T/nonexistent/x"
if [ ! -e /usr/local/libexec/plugind/plugind-fetcher ]; then
	_out=$("$PD_BUILD/plugind" --data-root "$T/d" --exec-root "$T/e" 2>&1) &&
	    notok "broker without --helper-dir started" ||
	case "$_out" in *"plugind-fetcher: No such file or directory (--helper-dir / helper-dir)"*|*"helper directory /usr/local/libexec"*"(--helper-dir / helper-dir)"*)
		ok "no --helper-dir and no installed helpers: refused at start" ;;
	*) notok "no --helper-dir"; diag "$_out" ;; esac
else
	skip "helpers are installed in /usr/local/libexec/plugind: the default dir is fine"
fi

# The checkout itself (the test's build dir) and a dir under sticky /tmp pass.
PD_HELPER_DIR=$T/good start_broker "$T/b" || notok "broker with helpers under /tmp starts"
check "helpers under sticky /tmp (root-owned below it) run" ctl debug check-helper fetcher
stop_broker $BROKER_PID

# The race: after the broker started, the helper dir is handed to a user
# who swaps the fetcher for a symlink to its own program, in a loop.  No
# exec may ever run it: each job is refused at the directory, by fd.
R="$T/race"; helpers "$R/helpers"
mkdir -p "$T/mark"; chmod 1777 "$T/mark"
PD_HELPER_DIR=$R/helpers start_broker "$T/b2" || notok "broker for the race starts"
printf '#!/bin/sh\ntouch %s/mark/pwned\nexec %s/good/plugind-fetcher\n' "$T" "$T" >"$T/evil"
chmod 755 "$T/evil"
chown -R 65534 "$R"
setpriv --reuid 65534 --regid 65534 --clear-groups sh -c '
	cd "$1" || exit 1
	cp plugind-fetcher good.bin 2>/dev/null
	while :; do
		ln -sf "$2" new && mv -f new plugind-fetcher
		ln -sf good.bin new && mv -f new plugind-fetcher
	done' sh "$R/helpers" "$T/evil" & atk=$!
track_pid $atk
bad=0 refused=0 i=0
while [ $i -lt 30 ]; do
	out=$(ctl debug check-helper fetcher 2>&1)
	case "$out" in *"helper directory $R: owned by uid 65534, not root"*) refused=$((refused + 1)) ;;
	*) bad=$((bad + 1)); diag "$out" ;; esac
	i=$((i + 1))
done
kill $atk 2>/dev/null; wait $atk 2>/dev/null
[ $refused = 30 ] && ok "30 jobs during the swap loop: each refused at the user-owned directory" ||
    notok "$bad of 30 jobs not refused"
[ ! -e "$T/mark/pwned" ] && ok "the attacker's program never ran" || notok "attacker's program ran as root"
stop_broker $BROKER_PID
chown -R 0 "$R"

# strace: the helpers and the runtime are exec'd by fd.
if command -v strace >/dev/null 2>&1; then
	mkdir -p "$T/s"
	# LeakSanitizer cannot run under ptrace: off for this broker only.
	[ -n "$PD_SANITIZE" ] && export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"
	strace -f -qq -s 512 -e trace=execve,execveat -o "$T/strace.out" "$PD_BUILD/plugind" \
	    --data-root "$T/s/data" --exec-root "$T/s/exec" --helper-dir "$T/good" \
	    >"$T/s/broker.log" 2>&1 & spid=$!
	track_pid $spid
	SOCK=$T/s/exec/plugind.sock
	i=0; while [ $i -lt 200 ] && ! ctl ls >/dev/null 2>&1; do sleep 0.1; i=$((i + 1)); done
	check "broker under strace answers" ctl debug check-helper fetcher
	check "extractor check under strace" ctl debug check-helper extractor
	bpid=$(ps -o pid= --ppid $spid | head -1)
	kill -TERM $bpid 2>/dev/null; wait $spid 2>/dev/null
	grep -q 'execveat([0-9]*, "", \["'"$T"'/good/plugind-fetcher"\], .*AT_EMPTY_PATH' "$T/strace.out" &&
	    ok "the fetcher is exec'd with execveat(fd, \"\", ..., AT_EMPTY_PATH)" ||
	    { notok "no execveat of the fetcher"; diag "$(grep exec "$T/strace.out" | head -5)"; }
	grep -q 'execveat(.*plugind-extractor.*AT_EMPTY_PATH' "$T/strace.out" &&
	    ok "the extractor too" || notok "no execveat of the extractor"
	grep -q 'execve("'"$T"'/good/plugind-' "$T/strace.out" &&
	    notok "a helper was exec'd by name" || ok "no helper is exec'd by name (execve)"
else
	skip "strace not installed (tests/deps.sh installs it)"
fi
done_testing

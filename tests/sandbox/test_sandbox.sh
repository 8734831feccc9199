#!/bin/sh
# The seccomp policy seen from outside (TAP).  For every probe of
# build/tests/try_syscall: a baseline without sandbox must run, and each
# role must give exactly the expected result:
#	ok	the call ran (exit 0)
#	soft	soft-denied with the documented errno (exit 2)
#	kill	the process was killed by SIGSYS (signal 31)
# A few probes are repeated after pd_privdrop (--drop) inside a chroot.
# The counts in docs/SANDBOX.md must match the tables.
set -u
top=${PD_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${PD_BUILD:-$top/build}
T=$build/tests/try_syscall
n=0

ok() { n=$((n + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); echo "not ok $n - $*"; }
skip() { n=$((n + 1)); echo "ok $n - # SKIP $*"; }

if [ ! -x "$T" ]; then
	notok "try_syscall not built ($T)"
	echo "1..$n"
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	skip "needs root (privdrop and --drop cases)"
	echo "1..$n"
	exit 0
fi

# result ROLE PROBE [try_syscall options]: prints "exit N" or "signal N"
result() {
	r=$1 p=$2
	shift 2
	# The shell reports a child killed by a signal; keep that quiet.
	out=$( { "$T" "$@" "$r" "$p"; } 2>/dev/null)
	echo "$out" | sed -n "s/^try_syscall $r $p: //p"
}

want_str() {
	case $1 in
	ok)	echo "exit 0" ;;
	soft)	echo "exit 2" ;;
	kill)	echo "signal 31" ;;
	esac
}

# probe		fetcher	extractor	api	logger	gateway
expect='
getpid			ok	ok	ok	ok	ok
mmap-rw			ok	ok	ok	ok	ok
mmap-exec		kill	kill	kill	kill	kill
mprotect-exec		kill	kill	kill	kill	kill
x32-getpid		kill	kill	kill	kill	kill
i386-getpid		kill	kill	kill	kill	kill
recvmsg-channel		ok	ok	ok	ok	ok
recvmsg-other		kill	kill	kill	kill	kill
sendmsg-other		kill	kill	kill	kill	kill
prlimit-get		ok	ok	ok	ok	ok
prlimit-set		soft	soft	soft	soft	soft
ioctl-tcgets		soft	soft	soft	soft	soft
ioctl-fionread		ok	kill	kill	kill	kill
ioctl-other		kill	kill	kill	kill	kill
tgkill-self		ok	ok	ok	ok	ok
tgkill-other		kill	kill	kill	kill	kill
kill			kill	kill	kill	kill	kill
sysinfo			ok	ok	ok	ok	ok
socket-inet		ok	kill	kill	kill	kill
socket-tcp		ok	kill	kill	kill	kill
socket-inet6		ok	kill	kill	kill	kill
socket-udp		ok	kill	kill	kill	kill
socket-udp6		ok	kill	kill	kill	kill
socket-raw		kill	kill	kill	kill	kill
socket-icmp		kill	kill	kill	kill	kill
socket-sctp		kill	kill	kill	kill	kill
socket-unix		soft	kill	kill	kill	ok
socket-unix-dgram	soft	kill	kill	kill	kill
socket-netlink		soft	kill	kill	kill	kill
socket-packet		kill	kill	kill	kill	kill
socket-vsock		kill	kill	kill	kill	kill
socketpair-unix		ok	kill	kill	kill	kill
accept4-fd4		kill	kill	kill	kill	ok
accept4-other		kill	kill	kill	kill	kill
connect			ok	kill	kill	kill	ok
open-rdonly		ok	ok	kill	kill	kill
open-write		kill	ok	kill	ok	kill
open-trunc		kill	ok	kill	kill	kill
open-tmpfile		kill	ok	kill	kill	kill
open-legacy		kill	kill	kill	kill	kill
openat2			kill	ok	kill	kill	kill
mkdirat			kill	ok	kill	kill	kill
mkdir-legacy		kill	kill	kill	kill	kill
symlinkat		kill	ok	kill	kill	kill
linkat			kill	ok	kill	kill	kill
unlinkat		kill	ok	kill	kill	kill
renameat		kill	ok	kill	ok	kill
renameat2		kill	kill	kill	kill	kill
fchownat		kill	ok	kill	kill	kill
fchmodat		kill	ok	kill	kill	kill
chmod-legacy		kill	kill	kill	kill	kill
chown-legacy		kill	kill	kill	kill	kill
utimensat		kill	ok	kill	kill	kill
getdents64		kill	ok	kill	kill	kill
mknod-fifo		kill	ok	kill	kill	kill
mknod-chr		kill	soft	kill	kill	kill
uname			ok	kill	kill	kill	kill
fchdir			kill	kill	kill	kill	kill
chdir			kill	kill	kill	kill	kill
dup			kill	kill	kill	kill	kill
pipe2			kill	kill	kill	kill	kill
pipe2-cloexec		kill	kill	ok	kill	kill
umask			kill	ok	kill	kill	kill
clone-thread		ok	kill	kill	kill	kill
clone3			soft	kill	kill	kill	kill
clone-process		kill	kill	kill	kill	kill
clone-newuser		kill	kill	kill	kill	kill
fork			kill	kill	kill	kill	kill
execve			kill	kill	kill	kill	kill
execveat		kill	kill	kill	kill	kill
wait4			kill	kill	kill	kill	kill
ptrace			kill	kill	kill	kill	kill
process_vm_readv	kill	kill	kill	kill	kill
process_vm_writev	kill	kill	kill	kill	kill
mount			kill	kill	kill	kill	kill
umount2			kill	kill	kill	kill	kill
pivot_root		kill	kill	kill	kill	kill
chroot			kill	kill	kill	kill	kill
unshare			kill	kill	kill	kill	kill
setns			kill	kill	kill	kill	kill
setuid			kill	kill	kill	kill	kill
setgid			kill	kill	kill	kill	kill
setgroups		kill	kill	kill	kill	kill
capset			kill	kill	kill	kill	kill
prctl			kill	kill	kill	kill	kill
seccomp			kill	kill	kill	kill	kill
personality		kill	kill	kill	kill	kill
kexec_load		kill	kill	kill	kill	kill
kexec_file_load		kill	kill	kill	kill	kill
init_module		kill	kill	kill	kill	kill
finit_module		kill	kill	kill	kill	kill
delete_module		kill	kill	kill	kill	kill
bpf			kill	kill	kill	kill	kill
keyctl			kill	kill	kill	kill	kill
add_key			kill	kill	kill	kill	kill
request_key		kill	kill	kill	kill	kill
perf_event_open		kill	kill	kill	kill	kill
io_uring_setup		kill	kill	kill	kill	kill
userfaultfd		kill	kill	kill	kill	kill
memfd_create		kill	kill	kill	kill	kill
reboot			kill	kill	kill	kill	kill
swapon			kill	kill	kill	kill	kill
acct			kill	kill	kill	kill	kill
clock_settime		kill	kill	kill	kill	kill
syslog			kill	kill	kill	kill	kill
open_by_handle_at	kill	kill	kill	kill	kill
name_to_handle_at	kill	kill	kill	kill	kill
fanotify_init		kill	kill	kill	kill	kill
inotify_init1		kill	kill	kill	kill	kill
pidfd_open		kill	kill	kill	kill	kill
pidfd_getfd		kill	kill	kill	kill	kill
fsopen			kill	kill	kill	kill	kill
move_mount		kill	kill	kill	kill	kill
iopl			kill	kill	kill	kill	kill
ioperm			kill	kill	kill	kill	kill
modify_ldt		kill	kill	kill	kill	kill
vmsplice		kill	kill	kill	kill	kill
landlock_create_ruleset	kill	kill	kill	kill	kill
'

# A sanitizer build (SANITIZE=1) soft-denies open(2) (docs/SANDBOX.md).
set -- $("$T" --count fetcher)
if [ "${4:-0}" -gt 0 ]; then
	expect=$(echo "$expect" | sed 's/^open-legacy\t.*/open-legacy\t\tsoft\tsoft\tsoft\tsoft\tsoft/')
fi

# Every probe try_syscall knows has an expectation, and no more.
have=$("$T" --probes | sort)
listed=$(echo "$expect" | awk 'NF { print $1 }' | sort)
if [ "$have" = "$listed" ]; then
	ok "every probe has an expectation"
else
	notok "probes and expectations differ"
	echo "$have" >/tmp/pd-sbx-have.$$
	echo "$listed" | diff /tmp/pd-sbx-have.$$ - | sed 's/^/# /'
	rm -f /tmp/pd-sbx-have.$$
fi

echo "$expect" | while read -r probe wf we wa wl wg; do
	[ -n "$probe" ] || continue
	base=$(result none "$probe")
	if [ "$base" != "exit 0" ]; then
		skip "$probe: does not run here without sandbox ($base)"
		skip "$probe: (fetcher)"
		skip "$probe: (extractor)"
		skip "$probe: (api)"
		skip "$probe: (logger)"
		skip "$probe: (gateway)"
		continue
	fi
	ok "$probe: runs without sandbox"
	for pair in "fetcher $wf" "extractor $we" "api $wa" "logger $wl" \
	    "gateway $wg"; do
		set -- $pair
		got=$(result "$1" "$probe")
		want=$(want_str "$2")
		if [ "$got" = "$want" ]; then
			ok "$1 $probe: $2 ($got)"
		else
			notok "$1 $probe: want $2 ($want), got '$got'"
		fi
	done
done >"${TMPDIR:-/tmp}/pd-sbx-tap.$$"
# The loop ran in a subshell: renumber its lines after ours.
while read -r line; do
	case $line in
	"ok "*)		n=$((n + 1)); echo "ok $n ${line#ok [0-9]* }" ;;
	"not ok "*)	n=$((n + 1)); echo "not ok $n ${line#not ok [0-9]* }" ;;
	*)		echo "$line" ;;
	esac
done <"${TMPDIR:-/tmp}/pd-sbx-tap.$$"
rm -f "${TMPDIR:-/tmp}/pd-sbx-tap.$$"

# After pd_privdrop to 65534 inside an empty chroot.
root=$(mktemp -d /tmp/pd-sbx-root.XXXXXX)
trap 'rm -rf "$root"' EXIT INT TERM
chmod 0755 "$root"
for c in "fetcher getpid ok" "fetcher clone-thread ok" "fetcher socket-inet ok" \
    "fetcher open-rdonly ok" "fetcher socket-unix soft" "fetcher setuid kill" \
    "fetcher chroot kill" "fetcher open-write kill" \
    "extractor mkdirat ok" "extractor openat2 ok" "extractor fchownat ok" \
    "extractor mknod-chr soft" "extractor setuid kill" \
    "extractor clone-thread kill" "extractor fork kill" \
    "extractor socket-inet kill" \
    "api getpid ok" "api pipe2-cloexec ok" "api pipe2 kill" "api open-rdonly kill" \
    "api socket-unix kill" "api setuid kill" "api clone-thread kill" \
    "logger getpid ok" "logger open-write ok" "logger renameat ok" \
    "logger open-rdonly kill" "logger pipe2-cloexec kill" "logger setuid kill" \
    "logger socket-unix kill" "logger fork kill" \
    "gateway getpid ok" "gateway socket-unix ok" "gateway connect ok" \
    "gateway accept4-fd4 ok" "gateway socket-unix-dgram kill" \
    "gateway open-rdonly kill" "gateway open-write kill" "gateway setuid kill" \
    "gateway socket-inet kill" "gateway fork kill"; do
	set -- $c
	got=$(result "$1" "$2" --drop 65534 --root "$root")
	want=$(want_str "$3")
	if [ "$got" = "$want" ]; then
		ok "dropped $1 $2: $3 ($got)"
	else
		notok "dropped $1 $2: want $3 ($want), got '$got'"
	fi
done
[ -z "$(ls -A "$root")" ] && ok "the chroot is still empty" ||
    notok "probes left files in the chroot"

# The documented counts are the real ones.
doc=$top/docs/SANDBOX.md
# A sanitizer build (SANITIZE=1) allows the documented few more.
for r in fetcher extractor api logger gateway; do
	set -- $("$T" --count $r)
	a=$(($1 - $3)) sd=$(($2 - $4))
	if grep -q "^\*\*$r\*\*: $a syscalls allowed, $sd soft-denied" "$doc"; then
		ok "docs/SANDBOX.md counts for $r match ($a allowed, $sd soft-denied)"
	else
		notok "docs/SANDBOX.md counts for $r: tables say $a allowed, $sd soft-denied"
	fi
	if [ "$3" -gt 0 ] || [ "$4" -gt 0 ]; then
		if grep -q "^Sanitizer builds .* $3 more syscalls and soft-deny $4 more" "$doc"; then
			ok "sanitizer build: $r allows $3 and soft-denies $4 more syscalls, as documented"
		else
			notok "sanitizer build: $r allows $3 and soft-denies $4 more syscalls than docs/SANDBOX.md says"
		fi
	fi
done

echo "1..$n"

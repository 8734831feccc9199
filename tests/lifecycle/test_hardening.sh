#!/bin/sh
# The plugin runtime sandbox (docs/SANDBOX.md, "The plugin runtime"):
# no_new_privileges, the seccomp profile widened only by granted
# capabilities, masked and read-only /proc and /sys paths, and the
# per-plugin pids and memory limits, all checked from outside the
# running plugin (/proc/PID/status, its cgroup) and by what the
# tests/fixtures/sysprobe entrypoint could and could not do inside.
. "$(dirname "$0")/plugins.sh"
PROBE="$PD_BUILD/fixtures/sysprobe"
[ -x "$PROBE" ] || { echo "1..0 # SKIP $PROBE not built (make tests)"; exit 0; }
PIDS=200 MEM=268435456
LIFE_CONF="{\"stop-timeout\": 3, \"plugin-pids-limit\": $PIDS, \"plugin-memory-limit\": \"256m\"}"
life_setup

spec() { echo "$E/bundles/$(pid_of "$1")/config.json"; }
# res NAME PROBE: what sysprobe recorded for PROBE in plugin NAME.
res() { awk -v k="$2" '$1 == k { print $2 }' "$E/plugins/$(pid_of "$1")/probe.txt"; }
expect_res() { # expect_res NAME PROBE WANT WHY
	_got=$(res "$1" "$2")
	[ "$_got" = "$3" ] && ok "$1: $2 -> $3 ($4)" || notok "$1: $2 -> '$_got', want $3 ($4)"
}
# probecfg CAPS-JSON [MODE]: sysprobe at /plugin, then volplugin.
probecfg() {
	printf '{"entrypoint": ["/plugin"],
 "interface": {"socket": "vol.sock", "types": ["docker.volumedriver/1.0"]},
 "network": {"type": "host"}, "propagatedmount": "/data",
 "linux": {"capabilities": %s},
 "env": [{"name": "VOLPLUGIN_TMPFS", "value": "1"},
         {"name": "SYSPROBE_MODE", "value": "%s"}]}' "$1" "${2:-}"
}
status_field() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
# capmask N...: the CapEff hex of the listed capability numbers.
capmask() { python3 -c 'import sys; print("%016x" % sum(1 << int(n) for n in sys.argv[1:]))' "$@"; }
# Moby's default set: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID
# SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP.
DEFCAPS="0 1 3 4 5 6 7 8 10 13 18 27 29 31"
# cgfile PID CONTROLLER FILE-v1 FILE-v2: the path of a cgroup file of PID.
cgfile() {
	_l=$(grep -E "^[0-9]+:([^:]*,)?$2(,[^:]*)?:" "/proc/$1/cgroup" | head -n 1)
	if [ -n "$_l" ]; then echo "/sys/fs/cgroup/$2${_l##*:}/$3"
	else _l=$(grep '^0::' "/proc/$1/cgroup"); echo "/sys/fs/cgroup${_l#0::}/$4"; fi
}

mkplugin plain "$(probecfg '[]')" "$PROBE" || notok "create plain"
mkplugin admin "$(probecfg '["CAP_SYS_ADMIN"]')" "$PROBE" || notok "create admin"
mkplugin tracer "$(probecfg '["CAP_SYS_PTRACE"]')" "$PROBE" || notok "create tracer"
for p in plain admin tracer; do
	out=$(ctl enable $p 2>&1) && ok "enable $p" || { notok "enable $p"; diag "$out"; }
done

# ---- from outside: /proc/PID/status ----
P=$(runc_pid plain) A=$(runc_pid admin) R=$(runc_pid tracer)
for x in "plain $P" "admin $A" "tracer $R"; do
	set -- $x
	[ "$(status_field "$2" NoNewPrivs)" = 1 ] && [ "$(status_field "$2" Seccomp)" = 2 ] &&
	    ok "$1: NoNewPrivs 1, Seccomp 2 (filter mode) in /proc/$2/status" ||
	    notok "$1: NoNewPrivs $(status_field "$2" NoNewPrivs), Seccomp $(status_field "$2" Seccomp)"
done
check_caps() { # check_caps NAME PID CAPNUMS...
	_cn=$1 _p=$2; shift 2
	_want=$(capmask "$@")
	[ "$(status_field "$_p" CapEff)" = "$_want" ] && [ "$(status_field "$_p" CapPrm)" = "$_want" ] &&
	    [ "$(status_field "$_p" CapBnd)" = "$_want" ] && [ "$(status_field "$_p" CapInh)" = 0000000000000000 ] &&
	    [ "$(status_field "$_p" CapAmb)" = 0000000000000000 ] &&
	    ok "$_cn: CapEff = CapPrm = CapBnd = exactly the granted set ($_want), no inheritable or ambient" ||
	    notok "$_cn: caps $(grep ^Cap "/proc/$_p/status" | tr '\n\t' '  '), want $_want"
}
check_caps plain "$P" $DEFCAPS
check_caps admin "$A" $DEFCAPS 21
check_caps tracer "$R" $DEFCAPS 19

# ---- the bundle ----
python3 - "$(spec plain)" "$(spec admin)" <<'PY' && ok "bundle: noNewPrivileges, masked and read-only paths, seccomp profile widened by CAP_SYS_ADMIN only" || notok "bundle"
import json, sys
p, a = (json.load(open(f)) for f in sys.argv[1:3])
for s in (p, a):
    assert s["process"]["noNewPrivileges"] is True
    m = set(s["linux"]["maskedPaths"])
    assert {"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
            "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
            "/sys/firmware", "/sys/devices/virtual/powercap", "/proc/interrupts"} <= m, m
    assert set(s["linux"]["readonlyPaths"]) == {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                                "/proc/sysrq-trigger"}
    sc = s["linux"]["seccomp"]
    assert sc["defaultAction"] == "SCMP_ACT_ERRNO" and sc["defaultErrnoRet"] == 1, sc["defaultAction"]
def allowed(s, name):   # rules that allow name: [args or None]
    return [r.get("args") for r in s["linux"]["seccomp"]["syscalls"]
            if name in r["names"] and r["action"] == "SCMP_ACT_ALLOW"]
for n in ("mount", "umount2", "unshare", "setns", "keyctl", "ptrace", "io_uring_setup", "bpf"):
    assert allowed(p, n) == [], n
assert allowed(p, "clone") == [[{"index": 0, "value": 0x7e020000, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]]
assert [r["errnoRet"] for r in p["linux"]["seccomp"]["syscalls"] if r["names"] == ["clone3"]] == [38]
assert allowed(p, "socket") == [[{"index": 0, "value": 40, "valueTwo": 0, "op": "SCMP_CMP_NE"}]]
assert len(allowed(p, "personality")) == 5 and all(x[0]["op"] == "SCMP_CMP_EQ" for x in allowed(p, "personality"))
for n in ("mount", "umount2", "unshare", "setns", "clone", "clone3"):
    assert allowed(a, n) == [None], n
for n in ("keyctl", "ptrace", "io_uring_setup", "init_module"):
    assert allowed(a, n) == [], n
assert not any(r["names"] == ["clone3"] and r["action"] != "SCMP_ACT_ALLOW" for r in a["linux"]["seccomp"]["syscalls"])
PY

# ---- from inside: what the filter and the mounts let through ----
[ -s "$E/plugins/$(pid_of plain)/probe.txt" ] && ok "the probe plugin wrote its report" ||
    notok "no probe report"
diag "plain: $(tr '\n' ' ' <"$E/plugins/$(pid_of plain)/probe.txt" 2>/dev/null)"
expect_res plain unshare0 EPERM "unshare is CAP_SYS_ADMIN's; the kernel alone would allow flags 0"
expect_res plain clone_newuser EPERM "clone with CLONE_NEWUSER needs no capability, the filter stops it"
expect_res plain clone3 ENOSYS "so that libc falls back to clone"
expect_res plain keyctl EPERM "no capability unlocks the keyring calls"
expect_res plain ptrace EPERM "the kernel would answer ESRCH"
expect_res plain mount EPERM "no CAP_SYS_ADMIN"
expect_res plain vsock EPERM "AF_VSOCK refused; the kernel would answer EAFNOSUPPORT or succeed"
expect_res plain unix ok "other socket families work"
expect_res plain personality_bsd EPERM "only the Linux personalities"
expect_res plain personality_query ok "querying the personality works"
expect_res plain io_uring EPERM "io_uring is not in the allowlist"
expect_res plain proc_sys_write EROFS "/proc/sys is read-only"
expect_res plain ro_proc_sys ro "read-only mount"
expect_res plain ro_proc_irq ro "read-only mount"
[ -e /proc/sysrq-trigger ] && expect_res plain ro_sysrq ro "read-only mount" ||
    skip "/proc/sysrq-trigger: the host has none"
for f in kcore keys timer_list; do
	[ -e "/proc/$f" ] || { skip "/proc/$f: the host has none"; continue; }
	expect_res plain $f chr:1:3 "/proc/$f masked by /dev/null"
done
[ -e /sys/firmware ] && expect_res plain sys_firmware dir:0 "/sys/firmware masked by an empty tmpfs" ||
    skip "/sys/firmware: the host has none"

diag "admin: $(tr '\n' ' ' <"$E/plugins/$(pid_of admin)/probe.txt" 2>/dev/null)"
expect_res admin unshare0 ok "CAP_SYS_ADMIN adds unshare"
expect_res admin unshare_ns ok "and the kernel allows a new mount namespace"
expect_res admin clone_newuser ok "clone with namespace flags"
expect_res admin clone3 ok "clone3"
expect_res admin mount ok "mount and umount2"
expect_res admin keyctl EPERM "still no keyring calls"
expect_res admin ptrace EPERM "still no ptrace"
expect_res admin proc_sys_write EROFS "/proc/sys stays read-only"
vcall admin VolumeDriver.Create '{"Name":"v1"}' >/dev/null
r=$(vcall admin VolumeDriver.Mount '{"Name":"v1","ID":"c1"}')
HM="$D/plugins/$(pid_of admin)/propagated-mount/volumes/v1"
[ "$r" = '{"Mountpoint":"/data/volumes/v1","Err":""}' ] && mounts_under "$HM" | grep -qx "$HM" &&
    ok "admin: the volume plugin still mounts, and the mount propagates to the host" ||
    { notok "admin: VolumeDriver.Mount"; diag "$r"; }
vcall admin VolumeDriver.Unmount '{"Name":"v1","ID":"c1"}' >/dev/null
expect_res tracer ptrace ESRCH "CAP_SYS_PTRACE adds ptrace: the kernel answers"
expect_res tracer unshare0 EPERM "but not CAP_SYS_ADMIN's calls"

# ---- cgroup limits ----
PM=$(cgfile "$P" pids pids.max pids.max) MM=$(cgfile "$P" memory memory.limit_in_bytes memory.max)
diag "cgroup files: $PM $MM"
[ "$(cat "$PM" 2>/dev/null)" = $PIDS ] && ok "pids limit in the plugin's cgroup ($PM = $PIDS)" ||
    notok "pids.max: $(cat "$PM" 2>&1)"
[ "$(cat "$MM" 2>/dev/null)" = $MEM ] && ok "memory limit in the plugin's cgroup ($MM = $MEM)" ||
    notok "memory limit: $(cat "$MM" 2>&1)"
case "$PM" in *"/plugind/$(pid_of plain)/pids.max") ok "the cgroup is /plugind/<id>" ;; *) notok "cgroup path $PM" ;; esac
python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["linux"]["resources"]; assert r["pids"]=={"limit":int(sys.argv[2])} and r["memory"]=={"limit":int(sys.argv[3])}, r' \
    "$(spec plain)" $PIDS $MEM && ok "bundle: linux.resources.pids and memory" || notok "bundle resources"
ctl disable plain >/dev/null
[ ! -e "${PM%/pids.max}" ] && [ ! -e "${MM%/*}" ] && ok "disable removes the plugin's cgroups" ||
    notok "cgroups left: $(ls -d "${PM%/pids.max}" "${MM%/*}" 2>&1)"
ctl disable admin >/dev/null; ctl disable tracer >/dev/null

# ---- a fork bomb stops at the pids limit ----
mkplugin bomb "$(probecfg '[]' forkbomb)" "$PROBE" || notok "create bomb"
t0=$(now_ms)
out=$(ctl enable bomb 2>&1) && ok "a fork bomb plugin starts ($(($(now_ms) - t0)) ms)" || { notok "enable bomb"; diag "$out"; }
B=$(runc_pid bomb)
case "$(res bomb forkbomb)" in EAGAIN) ok "its fork fails with EAGAIN at the limit" ;; *) notok "forkbomb: $(res bomb forkbomb)" ;; esac
BC=$(cgfile "$B" pids pids.current pids.current)
n=$(cat "$BC" 2>/dev/null || echo 0)
[ "$n" -le $PIDS ] && [ "$n" -ge $((PIDS / 2)) ] && [ "$(plugin_procs "$(pid_of bomb)" | wc -l)" -le $PIDS ] &&
    ok "it holds $n processes, not more than the limit $PIDS" || notok "pids.current $n, processes $(plugin_procs "$(pid_of bomb)" | wc -l)"
check "the broker still answers" ctl ls
t0=$(now_ms)
check "disable stops the fork bomb" ctl disable bomb
diag "disable took $(($(now_ms) - t0)) ms"
[ -z "$(plugin_procs "$(pid_of bomb)")" ] && [ ! -e "${BC%/*}" ] && ok "no process and no cgroup of it left" ||
    notok "left: $(plugin_procs "$(pid_of bomb)" | wc -l) processes"

# ---- memory: the OOM killer acts inside the plugin's cgroup ----
if [ -n "$(sed 1d /proc/swaps)" ]; then
	skip "memory hog: the host has swap, the hog would swap instead of being killed"
else
	mkplugin hog "$(probecfg '[]' memhog=1024)" "$PROBE" || notok "create hog"
	check "enable a plugin whose child touches 1 GiB" ctl enable hog
	expect_res hog memhog signal:9 "killed by the OOM killer at the 256 MiB limit"
	ctl disable hog >/dev/null
fi

# ---- the knobs are validated ----
badconf() { # badconf JSON WANT
	echo "$1" >"$T/bad.json"
	out=$("$PD_BUILD/plugind" --data-root "$T/bad/data" --exec-root "$T/bad/exec" \
	    --helper-dir "$PD_BUILD" --config "$T/bad.json" 2>&1) &&
	    { notok "plugind starts with $1"; return; }
	case "$out" in *"$2"*) ok "plugind refuses $1: $2" ;; *) notok "plugind with $1"; diag "$out" ;; esac
}
badconf '{"plugin-pids-limit": "lots"}' '"plugin-pids-limit" must be a positive integer'
badconf '{"plugin-pids-limit": 2.5}' '"plugin-pids-limit" must be a positive integer'
badconf '{"plugin-pids-limit": -2}' '"plugin-pids-limit" must be'
badconf '{"plugin-memory-limit": "12q"}' '"plugin-memory-limit" must be a number of bytes'
badconf '{"plugin-memory-limit": "5m"}' '"plugin-memory-limit" is 5242880, below the minimum 6291456'
badconf '{"plugin-memory-limit": "99999999999t"}' '"plugin-memory-limit" is too large'
badconf '{"plugin-log-max-bytes": 4095}' '"plugin-log-max-bytes" is 4095, below the minimum 4096'

ctl rm -f plain admin tracer bomb hog >/dev/null 2>&1
stop_broker $BROKER_PID

# ---- 0 and -1: no limit ----
echo '{"stop-timeout": 3, "plugin-pids-limit": 0, "plugin-memory-limit": -1}' >"$T/conf.json"
start_broker "$T/b" --config "$T/conf.json" || notok "broker with no limits starts"
mkplugin free "$(probecfg '[]')" "$PROBE" >/dev/null
check "enable with no limits" ctl enable free
F=$(runc_pid free)
python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["linux"]["resources"]; assert "pids" not in r and "memory" not in r, r' \
    "$(spec free)" && [ "$(cat "$(cgfile "$F" pids pids.max pids.max)")" = max ] &&
    ok "0 / -1: no pids or memory limit in the bundle, pids.max is max" || notok "unlimited"
ctl rm -f free >/dev/null
stop_broker $BROKER_PID
done_testing

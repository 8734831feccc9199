#!/bin/sh
# What is granted is what runs (docs/GRANTS.md): hostile plugin configs
# pushed to a loopback registry, installed, enabled, upgraded and set for
# real; the outcome is read from outside (error text, the privileges
# shown, the bundle's config.json, the running plugin's mountinfo and
# /proc/PID/root).
. "$(dirname "$0")/../lifecycle/plugins.sh"

[ -x /usr/bin/docker-registry ] || { skip "docker-registry not installed (make deps)"; done_testing; exit 0; }
life_setup
reg_start "$T/reg" anon || { notok "registry starts"; done_testing; exit 1; }
R="127.0.0.1:$REG_PORT"
PUSH="python3 $PD_TOP/tests/registry/push_plugin.py --registry http://$R --plugin-binary $VOLPLUGIN --socket vol.sock"
RAW="$PD_BUILD/tests/tools/rawctl"
spec() { echo "$E/bundles/$(pid_of "$1")/config.json"; }
# push NAME[:TAG] EXTRA-JSON: test/NAME, a runnable volume plugin plus
# EXTRA members.
n=0
push() {
	n=$((n + 1))
	printf '{"description": "%s", "entrypoint": ["/plugin"],
 "interface": {"socket": "vol.sock", "types": ["docker.volumedriver/1.0"]}%s}\n' \
	    "$1" "${2:+, $2}" >"$T/$1.json"
	_tag=latest; case "$1" in *:*) _tag=${1#*:} ;; esac
	$PUSH --repo "test/${1%%:*}" --tag "$_tag" --config "$T/$1.json" --seed "$n" >/dev/null 2>"$T/push.err" ||
	    { notok "push test/$1"; diag "$(cat "$T/push.err")"; }
}
inst() { ctl install --grant-all-permissions --alias "$1" "$R/test/$1"; }
nothing_installed() { [ -z "$(ctl ls -q)" ]; }
# mnt_opts PID DEST: the per-mount and superblock options of DEST in the
# plugin's mount namespace, as the kernel reports them.
mnt_opts() { awk -v d="$2" '$5 == d { for (i = 7; $i != "-"; i++); print $6 " " $(i + 1) " " $(i + 3) }' "/proc/$1/mountinfo"; }

# 1. Every filesystem type but bind and tmpfs is refused, naming the
# mount and its type, at privileges and at install; nothing is left.
for t in proc sysfs devtmpfs cgroup cgroup2 overlay debugfs mqueue securityfs plugindfs; do
	push "k$t" "\"mounts\": [{\"name\": \"hp\", \"type\": \"$t\", \"source\": \"\", \"destination\": \"/hp\"}]"
	want="mount \"hp\" (Mounts[0]): type \"$t\" is not allowed: a plugin may have bind and tmpfs mounts only"
	expect_fail "privileges: a $t mount is refused, named with its type" "$want" ctl privileges "$R/test/k$t"
	expect_fail "install: a $t mount is refused, named with its type" "$want" inst "k$t"
done
nothing_installed && ok "no plugin left by the refused installs" || notok "left: $(ctl ls)"

# 2. Widening options; every path field clean and out of /proc, /sys, /dev.
bad() { # bad NAME EXTRA-JSON WANT
	push "$1" "$2"
	expect_fail "install refuses $1" "$3" inst "$1"
}
bad bsuid '"mounts": [{"name": "b", "type": "bind", "source": "/tmp", "destination": "/b", "options": ["rbind", "suid"]}]' \
    'mount "b" (Mounts[0]): bind mount option "suid" would honour set-user-ID'
bad bdev '"mounts": [{"name": "b", "type": "bind", "source": "/tmp", "destination": "/b", "options": ["dev"]}]' \
    'bind mount option "dev" would let the plugin open device nodes'
bad bshared '"mounts": [{"name": "b", "type": "bind", "source": "/tmp", "destination": "/b", "options": ["rbind", "rshared"]}]' \
    'bind mount option "rshared" would propagate'
bad tbind '"mounts": [{"name": "t", "type": "tmpfs", "source": "/", "destination": "/t", "options": ["rbind"]}]' \
    'tmpfs mount option "rbind" would turn the tmpfs into a bind mount'
bad tsize0 '"mounts": [{"name": "t", "type": "tmpfs", "destination": "/t", "options": ["size=0"]}]' \
    'tmpfs mount option "size=0" must be a size above 0'
bad bproc '"mounts": [{"name": "b", "type": "bind", "source": "/proc", "destination": "/b", "options": ["rbind"]}]' \
    'mount "b" (Mounts[0]): Source "/proc": must not be under /proc'
bad drel '"mounts": [{"name": "b", "type": "bind", "source": "/tmp", "destination": "b", "options": ["rbind"]}]' \
    'mount "b" (Mounts[0]): Destination "b": must be an absolute path'
bad ddots '"mounts": [{"name": "b", "type": "bind", "source": "/tmp", "destination": "/x/../../b", "options": ["rbind"]}]' \
    'Destination "/x/../../b": must be a clean path'
bad dproc '"mounts": [{"name": "b", "type": "bind", "source": "/tmp", "destination": "/proc/sys/kernel", "options": ["rbind"]}]' \
    'Destination "/proc/sys/kernel": must not be under /proc'
bad dsys '"mounts": [{"name": "b", "type": "tmpfs", "destination": "/sys"}]' \
    'Destination "/sys": must not be under /sys'
bad ddev '"mounts": [{"name": "b", "type": "bind", "source": "/tmp", "destination": "/dev/x", "options": ["rbind"]}]' \
    'Destination "/dev/x": must not be under /dev'
bad workdir '"workdir": "/proc/self/fd/3"' 'config: WorkDir "/proc/self/fd/3": must not be under /proc'
bad workdot '"workdir": "/data/../proc"' 'WorkDir "/data/../proc": must be a clean path'
push entry '"mounts": []'
sed -i 's|"/plugin"|"/proc/self/exe"|' "$T/entry.json"
$PUSH --repo test/entry --config "$T/entry.json" --seed 99 >/dev/null 2>&1 || notok "push entry"
expect_fail "install refuses Entrypoint[0] under /proc" 'Entrypoint[0] "/proc/self/exe": must not be under /proc' inst entry
bad pmsys '"propagatedmount": "/sys/fs"' 'PropagatedMount "/sys/fs": must not be under /sys'
bad pmrel '"propagatedmount": "data"' 'PropagatedMount "data": must be an absolute path'

# 3. Devices and bind sources are granted by their real path: a symbolic
# link, or a path through one, is refused (it would grant its target).
mkdir -p "$T/devs"; mknod "$T/devs/zero2" c 1 5; mknod "$T/devs/null2" c 1 3
ln -s /dev/null "$T/devs/link"; ln -s devs "$T/lnk"
DLINK="/dev/pdtest-link-$$"; ln -s null "$DLINK"; trap 'rm -f "$DLINK"; cleanup' EXIT
bad devlink "\"linux\": {\"devices\": [{\"name\": \"d\", \"path\": \"$DLINK\"}]}" \
    "device \"d\" (Linux.Devices[0]): Path \"$DLINK\" is or goes through a symbolic link (it resolves to /dev/null)"
expect_fail "privileges refuses the symlinked device too" "is or goes through a symbolic link" ctl privileges "$R/test/devlink"
bad devlnk "\"linux\": {\"devices\": [{\"name\": \"d\", \"path\": \"$T/lnk/zero2\"}]}" \
    "Path \"$T/lnk/zero2\" is or goes through a symbolic link (it resolves to $T/devs/zero2)"
bad srclnk "\"mounts\": [{\"name\": \"b\", \"type\": \"bind\", \"source\": \"$T/lnk\", \"destination\": \"/b\"}]" \
    "mount \"b\" (Mounts[0]): Source \"$T/lnk\" is or goes through a symbolic link"
mkdir -p "$T/hostproc"; mount -t proc proc "$T/hostproc" && track_mount "$T/hostproc"
bad srcfs "\"mounts\": [{\"name\": \"b\", \"type\": \"bind\", \"source\": \"$T/hostproc\", \"destination\": \"/b\"}]" \
    "Source \"$T/hostproc\" is a kernel filesystem"
nothing_installed && ok "no plugin left by the refused configs" || notok "left: $(ctl ls)"

# 4. Allowed mounts run exactly as shown: the privilege text, the bundle
# and the kernel's view agree, nosuid,nodev and the tmpfs size forced.
mkdir -p "$T/share"
push okm "\"mounts\": [{\"name\": \"b\", \"type\": \"bind\", \"source\": \"$T/share\", \"destination\": \"/b\", \"options\": [\"rbind\", \"exec\"], \"settable\": [\"source\"]},
 {\"name\": \"t\", \"type\": \"tmpfs\", \"destination\": \"/t\", \"settable\": [\"source\"]}],
 \"linux\": {\"devices\": [{\"name\": \"z\", \"path\": \"$T/devs/zero2\", \"settable\": [\"path\"]}]}"
out=$(ctl privileges "$R/test/okm" 2>&1)
case "$out" in *" - mount: [\"type=bind\" \"source=$T/share\" \"destination=/b\" \"options=rbind,exec,nosuid,nodev\"]"*" - mount: [\"type=tmpfs\" \"source=tmpfs\" \"destination=/t\" \"options=size=65536k,nosuid,nodev\"]"*" - device: [\"$T/devs/zero2\"]"*)
	ok "privileges show each mount whole: type, source, destination, options (forced ones too)" ;;
*) notok "privileges text"; diag "$out" ;; esac
check "install the allowed mounts (enabled)" inst okm
P=$(runc_pid okm)
python3 - "$(spec okm)" "$T" <<'PY' && ok "bundle: bind rbind,exec,nosuid,nodev; tmpfs size=65536k,nosuid,nodev; the device" || notok "bundle mounts"
import json, sys
s, t = json.load(open(sys.argv[1])), sys.argv[2]
m = {x["destination"]: x for x in s["mounts"]}
assert m["/b"] == {"destination": "/b", "type": "bind", "source": t + "/share", "options": ["rbind", "exec", "nosuid", "nodev"]}, m["/b"]
assert m["/t"] == {"destination": "/t", "type": "tmpfs", "source": "tmpfs", "options": ["size=65536k", "nosuid", "nodev"]}, m["/t"]
assert [d["path"] for d in s["linux"]["devices"]] == [t + "/devs/zero2"], s["linux"]["devices"]
PY
b=$(mnt_opts "$P" /b); tm=$(mnt_opts "$P" /t)
case "$b" in *nosuid*nodev*|*nodev*nosuid*) ok "mountinfo: the bind is nosuid,nodev ($b)" ;; *) notok "bind in mountinfo: '$b'" ;; esac
case "$tm" in *nosuid*nodev*" tmpfs "*size=65536k*) ok "mountinfo: the tmpfs is nosuid,nodev, 64 MiB ($tm)" ;; *) notok "tmpfs in mountinfo: '$tm'" ;; esac
grep -qE ' - (proc|sysfs) ' "/proc/$P/mountinfo" && [ -z "$(awk '$5 == "/hp"' "/proc/$P/mountinfo")" ] &&
    ok "only the default /proc and /sys (no plugin kernel mounts)" || notok "mountinfo kernel mounts"
[ -c "/proc/$P/root$T/devs/zero2" ] && ok "the granted device is in the plugin" || notok "device missing in the plugin"

# 5. set cannot smuggle: no type field, no symlinked device, no kernel
# path, nothing applied when refused.
ctl disable okm >/dev/null
before=$(ctl inspect -f '{{json .Config.Mounts}} {{json .Settings}}' okm)
expect_fail "set cannot change a mount's type" '"b.type" is not settable' ctl set okm b.type=proc
expect_fail "set cannot point a device at a symlink" "Path \"$DLINK\" is or goes through a symbolic link" ctl set okm z.path="$DLINK"
expect_fail "set cannot point a device through a symlinked dir" "is or goes through a symbolic link" ctl set okm z.path="$T/lnk/null2"
expect_fail "set cannot bind /proc" 'Source "/proc/1": must not be under /proc' ctl set okm b.source=/proc/1
expect_fail "set cannot bind a relative path" 'Source "tmp": must be an absolute path' ctl set okm b.source=tmp
expect_fail "set cannot bind a procfs mounted elsewhere" "is a kernel filesystem" ctl set okm b.source="$T/hostproc"
expect_fail "a tmpfs has no source to set" 'mount "t" is a tmpfs' ctl set okm t.source=/etc
[ "$(ctl inspect -f '{{json .Config.Mounts}} {{json .Settings}}' okm)" = "$before" ] &&
    ok "nothing changed by the refused sets" || notok "state changed"
check "set a real device path" ctl set okm z.path="$T/devs/null2"
out=$(ctl inspect -f '{{json .Config.Linux.Devices}} {{json .Settings.Devices}}' okm)
case "$out" in *"$T/devs/null2"*" "*"$T/devs/null2"*) ok "set changes Config and Settings alike" ;; *) notok "set device: $out" ;; esac

# 6. The broker compares structures: a mount privilege joined into one
# string, or with a field changed, is not the grant.
req=$("$RAW" "$SOCK" 111 0 "$R/test/okm" "")
joined=$(echo "$req" | python3 -c 'import json,sys; l=json.load(sys.stdin)
for p in l:
    if p["Name"] == "mount": p["Value"] = [" ".join(p["Value"])]
print(json.dumps(l))')
expect_fail "a mount privilege joined into one string is not the grant" "incorrect privileges" \
    "$RAW" "$SOCK" 103 0 "$R/test/okm" okm2 "$joined" ""
other=$(echo "$req" | python3 -c 'import json,sys; l=json.load(sys.stdin)
for p in l:
    if p["Name"] == "mount": p["Value"] = [v.replace("nodev", "dev") for v in p["Value"]]
print(json.dumps(l))')
expect_fail "a mount privilege with other options is not the grant" "incorrect privileges" \
    "$RAW" "$SOCK" 103 0 "$R/test/okm" okm2 "$other" ""
reordered=$(echo "$req" | python3 -c 'import json,sys; l=json.load(sys.stdin); l.reverse(); print(json.dumps(l))')
"$RAW" "$SOCK" 103 4 "$R/test/okm" okm2 "$reordered" "" >/dev/null 2>&1 &&
    ok "the same privileges in another order are the grant" || notok "reordered grant refused"
ctl rm -f okm2 >/dev/null 2>&1

# 7. Upgrade rebuilds Settings from the new version: a device, a mount and
# a capability removed are gone from the bundle and the running plugin;
# added ones appear; the user's settable values carry by name.
push up:v1 "\"mounts\": [{\"name\": \"old\", \"type\": \"bind\", \"source\": \"$T/share\", \"destination\": \"/old\", \"options\": [\"rbind\"]},
 {\"name\": \"keep\", \"type\": \"bind\", \"source\": \"/tmp\", \"destination\": \"/keep\", \"options\": [\"rbind\"], \"settable\": [\"source\"]}],
 \"env\": [{\"name\": \"DEBUG\", \"settable\": [\"value\"], \"value\": \"0\"}, {\"name\": \"GONE\", \"settable\": [\"value\"], \"value\": \"a\"}],
 \"linux\": {\"capabilities\": [\"CAP_NET_ADMIN\"], \"devices\": [{\"name\": \"z\", \"path\": \"$T/devs/zero2\"}]}"
push up:v2 "\"mounts\": [{\"name\": \"keep\", \"type\": \"bind\", \"source\": \"/tmp\", \"destination\": \"/keep\", \"options\": [\"rbind\"], \"settable\": [\"source\"]},
 {\"name\": \"new\", \"type\": \"tmpfs\", \"destination\": \"/new\", \"options\": [\"size=1m\"]}],
 \"env\": [{\"name\": \"DEBUG\", \"settable\": [\"value\"], \"value\": \"1\"}, {\"name\": \"NEW\", \"value\": \"n\"}],
 \"linux\": {\"capabilities\": [\"CAP_SYS_ADMIN\"]}"
check "install up:v1 with a device, two mounts, CAP_NET_ADMIN" ctl install --grant-all-permissions --alias up1 "$R/test/up:v1"
ctl disable up1 >/dev/null; check "set a mount source and an env value" ctl set up1 keep.source="$T/share" DEBUG=7
ctl enable up1 >/dev/null
P=$(runc_pid up1)
[ -c "/proc/$P/root$T/devs/zero2" ] && [ -n "$(mnt_opts "$P" /old)" ] && ok "v1 runs with its device and mount" || notok "v1 view"
out=$(ctl upgrade --grant-all-permissions up1 "$R/test/up:v2" 2>&1) && ok "upgrade to a version with no device" ||
    { notok "upgrade"; diag "$out"; }
P=$(runc_pid up1)
python3 - "$(spec up1)" "$T" <<'PY' && ok "bundle after upgrade: no device, /old gone, /new there, CAP_SYS_ADMIN not CAP_NET_ADMIN" || notok "bundle after upgrade"
import json, sys
s, t = json.load(open(sys.argv[1])), sys.argv[2]
assert s["linux"]["devices"] == [], s["linux"]["devices"]
assert not any(r.get("major") == 1 and r.get("minor") == 5 and r["allow"] and r.get("type") == "c" and "path" in r for r in s["linux"]["resources"]["devices"])
m = {x["destination"]: x for x in s["mounts"]}
assert "/old" not in m and m["/new"]["options"] == ["size=1m", "nosuid", "nodev"], m
assert m["/keep"]["source"] == t + "/share", m["/keep"]
caps = s["process"]["capabilities"]["bounding"]
assert "CAP_SYS_ADMIN" in caps and "CAP_NET_ADMIN" not in caps, caps
assert "DEBUG=7" in s["process"]["env"] and "NEW=n" in s["process"]["env"] and not any(e.startswith("GONE=") for e in s["process"]["env"]), s["process"]["env"]
PY
[ -n "$P" ] && [ ! -e "/proc/$P/root$T/devs/zero2" ] && ok "the running plugin has no such device (/proc/PID/root)" || notok "device still in the plugin"
[ -n "$P" ] && [ -z "$(mnt_opts "$P" /old)" ] && [ -n "$(mnt_opts "$P" /new)" ] &&
    ok "mountinfo: the removed mount is gone, the added one is there" || notok "mountinfo after upgrade"
grep -q "CapEff:.*" "/proc/$P/status" && [ $(( 0x$(awk '/CapEff/ {print $2}' "/proc/$P/status") >> 12 & 1 )) -eq 0 ] &&
    [ $(( 0x$(awk '/CapEff/ {print $2}' "/proc/$P/status") >> 21 & 1 )) -eq 1 ] &&
    ok "/proc/PID/status: CAP_NET_ADMIN dropped, CAP_SYS_ADMIN added" || notok "caps after upgrade: $(grep CapEff "/proc/$P/status")"
[ "$(ctl inspect -f '{{json .Settings.Devices}}' up1)" = "[]" ] && ok "Settings.Devices rebuilt (empty)" || notok "settings devices: $(ctl inspect -f '{{json .Settings.Devices}}' up1)"
out=$(ctl upgrade --grant-all-permissions up1 "$R/test/up:v1" 2>&1) && ok "upgrade back to a version with the device" ||
    { notok "upgrade back"; diag "$out"; }
P=$(runc_pid up1)
[ -n "$P" ] && [ -c "/proc/$P/root$T/devs/zero2" ] && [ -n "$(mnt_opts "$P" /old)" ] && [ -z "$(mnt_opts "$P" /new)" ] &&
    ok "the added device and mount are applied, the removed tmpfs is gone" || notok "after upgrade back"
ctl inspect -f '{{json .Settings.Env}}' up1 | grep -q '"GONE=a"' && ok "a new version's env default comes back" || notok "env after upgrade back"

# 8. Enable checks again what a state file says (defence in depth): a
# proc mount or a device the config does not name is refused.
ctl disable up1 >/dev/null
ID=$(pid_of up1)
stop_broker "$BROKER_PID"
python3 - "$D/plugins/$ID/config.json" "$T" <<'PY'
import json, sys
st = json.load(open(sys.argv[1]))
p = st["plugin"]
p["Settings"]["Devices"].append({"Name": "sda", "Path": sys.argv[2] + "/devs/null2"})
json.dump(st, open(sys.argv[1], "w"))
PY
start_broker "$T/b" --config "$T/conf.json" || { notok "broker restarts"; done_testing; exit 1; }
expect_fail "enable refuses a device the config does not name" 'device "sda" ('"$T"'/devs/null2) is not in the plugin'"'"'s config' ctl enable up1
stop_broker "$BROKER_PID"
python3 - "$D/plugins/$ID/config.json" <<'PY'
import json, sys
st = json.load(open(sys.argv[1]))
p = st["plugin"]
p["Settings"]["Devices"].pop()
p["Config"]["Mounts"][0].update(Type="proc", Source="proc", Options=[])
json.dump(st, open(sys.argv[1], "w"))
PY
start_broker "$T/b" --config "$T/conf.json" || { notok "broker restarts"; done_testing; exit 1; }
expect_fail "enable refuses a proc mount written into the state" 'type "proc" is not allowed' ctl enable up1
[ -z "$(runc_pid up1)" ] && ok "nothing runs after the refused enables" || notok "a refused plugin runs"
ctl rm -f okm up1 >/dev/null 2>&1
stop_broker "$BROKER_PID"
done_testing

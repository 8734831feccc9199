#!/bin/sh
# The main path: create -> enable -> use the volume driver over its socket
# (mount propagation reaches the host) -> disable -> set -> enable again
# -> rm.  Also Docker's rm/enable/disable 409 conflicts, events and the audit log.
. "$(dirname "$0")/plugins.sh"
life_setup

mkplugin vol "$(volcfg)" || notok "create"
ID=$(pid_of vol)
t0=$(now_ms)
out=$(ctl enable vol 2>&1) && [ "$out" = vol ] && ok "enable prints the name" || { notok "enable"; diag "$out"; }
t1=$(now_ms)
diag "enable took $((t1 - t0)) ms"
[ "$(ctl inspect -f '{{.Enabled}}' vol)" = true ] && ok "enabled in inspect" || notok "Enabled"
[ "$(plugin_procs)" = "$(runc_pid vol)" ] && ok "one process in the plugin's cgroup, the one runc records" ||
    notok "processes: $(plugin_procs) vs $(runc_pid vol)"
[ "$(awk '/^PPid/ { print $2 }' "/proc/$(runc_pid vol)/status")" = "$BROKER_PID" ] &&
    ok "the plugin is the broker's child (subreaper), no shim" || notok "parent of the plugin"
[ -S "$E/plugins/$ID/vol.sock" ] && ok "socket at <exec-root>/plugins/<id>/<Socket>" || notok "socket path"
# 0710 root:_pd_gw once published: the gateway may reach the socket (docs/CONSUMERS.md).
[ "$(stat -c %a:%U:%G "$E/plugins/$ID")" = 710:root:_pd_gw ] && ok "socket directory is 0710 root:_pd_gw" || notok "socket dir mode"
[ -f "$E/bundles/$ID/config.json" ] && ok "bundle written under the exec root" || notok "bundle"
[ ! -e "$E/plugins/$ID/bundle" ] && ok "bundle is not inside the directory the plugin sees" || notok "bundle in socket dir"
[ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["process"]["terminal"])' "$E/bundles/$ID/config.json")" = False ] &&
    ok "spec: terminal false" || notok "terminal"
python3 - "$E/bundles/$ID/config.json" "$D/plugins/$ID" "$E/plugins/$ID" <<'PY' && ok "spec: mounts, namespaces, capabilities, propagation" || notok "spec shape"
import json, sys
s = json.load(open(sys.argv[1]))
m = {x["destination"]: x for x in s["mounts"]}
for d in ["/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue", "/dev/shm"]:
    assert d in m, d
assert m["/data"]["source"] == sys.argv[2] + "/propagated-mount", m["/data"]
assert m["/data"]["options"] == ["rbind", "rw", "rshared"]
assert m["/run/docker/plugins"]["source"] == sys.argv[3]
assert m["/etc/hosts"]["options"] == ["rbind", "ro"] and "/etc/resolv.conf" in m
assert s["linux"]["rootfsPropagation"] == "rshared"
ns = [n["type"] for n in s["linux"]["namespaces"]]
assert "network" not in ns and {"mount", "uts", "pid", "ipc"} <= set(ns), ns
caps = s["process"]["capabilities"]
assert "CAP_SYS_ADMIN" in caps["effective"] and len(caps["bounding"]) == 15, caps
assert caps["inheritable"] == [] and caps["ambient"] == []
assert s["process"]["args"] == ["/volplugin"] and s["process"]["cwd"] == "/"
assert s["process"]["env"][0].startswith("PATH=") and "DEBUG=0" in s["process"]["env"]
assert "/proc/kcore" in s["linux"]["maskedPaths"] and "/proc/sys" in s["linux"]["readonlyPaths"]
assert s["linux"]["resources"]["devices"][0] == {"allow": False, "access": "rwm"}
assert s["root"]["path"] == sys.argv[2] + "/rootfs"
PY

r=$(vcall vol VolumeDriver.Create '{"Name":"v1"}')
[ "$r" = '{"Err":""}' ] && ok "VolumeDriver.Create over the plugin socket" || { notok "Create"; diag "$r"; }
r=$(vcall vol VolumeDriver.Mount '{"Name":"v1","ID":"c1"}')
[ "$r" = '{"Mountpoint":"/data/volumes/v1","Err":""}' ] && ok "VolumeDriver.Mount returns the mountpoint" || { notok "Mount"; diag "$r"; }
HM="$D/plugins/$ID/propagated-mount/volumes/v1"
[ -d "$HM" ] && ok "mountpoint exists on the host under propagated-mount" || notok "host mountpoint"
mounts_under "$D/plugins/$ID/propagated-mount" | grep -qx "$HM" &&
    ok "the plugin's tmpfs mount propagated to the host (rshared)" || { notok "propagation"; diag "$(mounts_under "$T")"; }
r=$(vcall vol VolumeDriver.List)
case "$r" in *'"Name":"v1"'*) ok "VolumeDriver.List" ;; *) notok "List"; diag "$r" ;; esac
r=$(vcall vol VolumeDriver.Get '{"Name":"v1"}')
case "$r" in *'"Mountpoint":"/data/volumes/v1"'*) ok "VolumeDriver.Get" ;; *) notok "Get"; diag "$r" ;; esac
r=$(vcall vol VolumeDriver.Capabilities)
[ "$r" = '{"Capabilities":{"Scope":"local"}}' ] && ok "VolumeDriver.Capabilities" || notok "Capabilities"
r=$(vcall vol Plugin.Env)
case "$r" in *'"DEBUG=0"'*'"Pid":1}') ok "plugin sees its Settings.Env and is PID 1 of its namespace" ;; *) notok "env"; diag "$r" ;; esac
r=$(vcall vol VolumeDriver.Unmount '{"Name":"v1","ID":"c1"}')
[ "$r" = '{"Err":""}' ] && [ -z "$(mounts_under "$HM")" ] && ok "Unmount undoes the host mount" || notok "Unmount"
vcall vol VolumeDriver.Mount '{"Name":"v1","ID":"c2"}' >/dev/null
ctl logs vol | grep -q 'volplugin: /VolumeDriver.Create {"Name":"v1"}' && ok "logs show the plugin's output" || notok "logs"

expect_fail "enable of an enabled plugin (SPEC 3.6)" "plugin already enabled: plugin vol:latest is enabled" ctl enable vol
expect_fail "set on an enabled plugin" "cannot set on an active plugin, disable plugin before setting" ctl set vol DEBUG=1
expect_fail "rm of an enabled plugin (SPEC 3.5)" "plugin vol:latest is enabled" ctl rm vol

t0=$(now_ms)
out=$(ctl disable vol 2>&1) && [ "$out" = vol ] && ok "disable prints the name" || { notok "disable"; diag "$out"; }
diag "disable took $(($(now_ms) - t0)) ms"
[ "$(ctl inspect -f '{{.Enabled}}' vol)" = false ] && ok "disabled in inspect" || notok "Enabled false"
[ -z "$(mounts_under "$D/plugins/$ID")" ] && ok "disable: no mounts left (volume and propagated mount)" ||
    { notok "mounts after disable"; diag "$(mounts_under "$T")"; }
[ ! -e "$E/plugins/$ID" ] && [ ! -e "$E/bundles/$ID" ] && ok "disable: socket dir and bundle removed" || notok "dirs after disable"
[ -z "$(ls "$E/runc")" ] && ok "disable: no runtime state left" || notok "runc state: $(ls "$E/runc")"
[ -d "$D/plugins/$ID/propagated-mount/volumes/v1" ] && ok "propagated-mount data kept across disable" || notok "propagated data"
expect_fail "disable of a disabled plugin (SPEC 3.7)" "plugin is already disabled: plugin vol:latest found but disabled" ctl disable vol

check "set env while disabled" ctl set vol DEBUG=7 VOLPLUGIN_TMPFS=0
check "enable after set" ctl enable vol
r=$(vcall vol Plugin.Env)
case "$r" in *'"DEBUG=7"'*) ok "the new env reaches the plugin" ;; *) notok "env after set"; diag "$r" ;; esac
[ "$(pid_of vol)" = "$ID" ] && ok "same id and socket path across disable/enable" || notok "id changed"

# rm -f of an enabled plugin with a mounted volume: nothing is left.
ctl disable vol >/dev/null; ctl set vol VOLPLUGIN_TMPFS=1; ctl enable vol >/dev/null
vcall vol VolumeDriver.Mount '{"Name":"v1","ID":"c3"}' >/dev/null
[ -n "$(mounts_under "$D/plugins/$ID/propagated-mount/volumes")" ] && ok "volume mounted before rm -f" || notok "volume mount"
out=$(ctl rm -f vol 2>&1) && [ "$out" = vol ] && ok "rm -f removes an enabled plugin" || { notok "rm -f"; diag "$out"; }
[ -z "$(mounts_under "$D")" ] && ok "rm: no mounts left under the data root" || { notok "mounts after rm"; diag "$(mounts_under "$D")"; }
[ ! -e "$D/plugins/$ID" ] && removals_done "$D" && ok "rm: plugin directory gone (its deletion after the reply done)" || notok "plugin dir left"
[ -z "$(ls "$D/storage/blobs/sha256")" ] && ok "rm: no blob is left that nothing references" || notok "blobs left: $(ls "$D/storage/blobs/sha256")"
[ -z "$(ls -A "$E/runc")$(ls -A "$E/plugins")$(ls -A "$E/bundles")" ] && ok "rm: no runtime leftovers" || notok "exec root leftovers"
[ -z "$(plugin_procs "$ID")" ] && ok "rm: no plugin process left" || notok "processes left: $(plugin_procs "$ID")"
expect_fail "rm of a removed plugin" 'plugin "vol" not found' ctl rm vol

# rm of several plugins, one missing: the others go, the exit status says so.
mkplugin a1 "$(volcfg)"; mkplugin a2 "$(volcfg)"
out=$(ctl rm a1 nothere a2 2>&1); rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -qx a1 && echo "$out" | grep -qx a2 &&
    echo "$out" | grep -q 'plugin "nothere" not found' && ok "rm NAME... removes each and reports the missing one" ||
    { notok "rm several"; diag "$out"; }

# Events and the audit log.
ev=$(ctl events --since 1h --until 0s --filter plugin=vol)
for a in create enable disable set remove; do
	echo "$ev" | grep -q "plugin $a $ID (name=vol:latest)" && ok "event: $a" || { notok "event $a"; diag "$ev"; }
done
ev=$(ctl events --since 1h --until 0s --filter event=create --format json | head -n1)
python3 -c 'import json,sys; e=json.loads(sys.argv[1]); assert e["Type"]=="plugin" and e["Action"]=="create" and e["Actor"]["Attributes"]["name"] and e["timeNano"]' "$ev" &&
    ok "events --format json: Docker's event shape" || { notok "json event"; diag "$ev"; }
[ "$(ctl events --since 1h --until 0s --format '{{.Action}}' --filter event=remove | sort -u)" = remove ] &&
    ok "events --format template and event filter" || notok "event template"
ctl events --filter plugin=live >"$T/ev.out" 2>&1 & evp=$!; track_pid $evp
sleep 0.3; mkplugin live "$(volcfg)"; ctl enable live >/dev/null; ctl rm -f live >/dev/null
i=0; while [ $i -lt 40 ] && [ "$(wc -l <"$T/ev.out")" -lt 4 ]; do sleep 0.05; i=$((i + 1)); done
kill $evp 2>/dev/null; wait $evp 2>/dev/null
[ "$(awk '{print $3}' "$T/ev.out" | tr '\n' ' ')" = "create enable disable remove " ] &&
    ok "events streams new events live" || { notok "live events"; diag "$(cat "$T/ev.out")"; }
A="$D/audit.log"
[ -f "$A" ] && [ "$(stat -c %a "$A")" = 600 ] && ok "audit log exists, mode 0600" || notok "audit log"
python3 - "$A" <<'PY' && ok "audit: every mutating request with peer credentials and result" || notok "audit content"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
verbs = [(r["verb"], r["target"], r["result"]) for r in recs]
assert ("enable", "vol", "ok") in verbs, verbs
assert ("enable", "vol", "error") in verbs
assert ("rm", "vol", "error") in verbs and ("rm", "vol", "ok") in verbs
assert ("set", "vol", "ok") in verbs and ("create", "vol", "ok") in verbs
for r in recs:
    assert r["uid"] == 0 and r["pid"] > 0 and r["time"].endswith("Z"), r
    assert set(r) <= {"time", "uid", "gid", "pid", "verb", "target", "result", "keys", "error"}, r
    assert ("keys" in r) == (r["verb"] in ("set", "install")), r
e = [r for r in recs if r["verb"] == "enable" and r["result"] == "error"][0]
assert "already enabled" in e["error"]
PY
grep -q 'DEBUG=7' "$A" && notok "audit log holds setting values" || ok "audit log holds no setting values"
[ -z "$(ctl events --since 1h --until 0s --filter event=ls)" ] && ok "read-only verbs are not events" || notok "ls event"

stop_broker $BROKER_PID
done_testing

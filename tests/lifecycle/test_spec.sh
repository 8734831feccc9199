#!/bin/sh
# The OCI spec derived from a plugin config (moby's InitSpec), for the cases the
# main test does not cover: host namespaces, devices, a mount replacing a
# default /dev mount, args, workdir, no network type; each plugin runs.
. "$(dirname "$0")/plugins.sh"
life_setup
spec() { echo "$E/bundles/$(pid_of "$1")/config.json"; }

mkdir -p "$T/devs/sub"; mknod "$T/devs/sub/null2" c 1 3; mknod "$T/devs/zero2" c 1 5
mkplugin full "{\"entrypoint\": [\"/volplugin\", \"-x\"], \"workdir\": \"/data\",
 \"interface\": {\"socket\": \"vol.sock\", \"types\": [\"docker.volumedriver/1.0\"]},
 \"ipchost\": true, \"pidhost\": true, \"network\": {\"type\": \"none\"},
 \"args\": {\"name\": \"args\", \"settable\": [\"value\"], \"value\": [\"--a\", \"b\"]},
 \"mounts\": [{\"name\": \"shm\", \"source\": \"tmpfs\", \"destination\": \"/dev/shm\", \"type\": \"tmpfs\", \"options\": [\"size=1m\"]},
             {\"name\": \"src\", \"source\": \"$T/devs\", \"destination\": \"/host\", \"type\": \"bind\", \"options\": [\"rbind\", \"ro\"], \"settable\": [\"source\"]}],
 \"linux\": {\"capabilities\": [\"sys_admin\", \"CAP_NET_ADMIN\"],
            \"devices\": [{\"name\": \"z\", \"path\": \"$T/devs/zero2\"}, {\"name\": \"d\", \"path\": \"$T/devs/sub\"}]}}"
check "enable a plugin with host ipc/pid, devices and a /dev/shm mount" ctl enable full
python3 - "$(spec full)" "$T/devs" <<'PY' && ok "spec: host namespaces, devices, /dev/shm replaced, args, workdir, caps" || notok "spec"
import json, sys
s, devs = json.load(open(sys.argv[1])), sys.argv[2]
ns = [n["type"] for n in s["linux"]["namespaces"]]
assert sorted(ns) == ["mount", "network", "uts"], ns          # ipc/pid host, netns kept for "none"
shm = [m for m in s["mounts"] if m["destination"] == "/dev/shm"]
assert len(shm) == 1 and shm[0]["options"] == ["size=1m", "nosuid", "nodev"], shm  # the plugin's replaces the default, nosuid,nodev forced
assert any(m["destination"] == "/etc/hosts" for m in s["mounts"])  # any Network.Type
assert s["process"]["args"] == ["/volplugin", "-x", "--a", "b"], s["process"]["args"]
assert s["process"]["cwd"] == "/data"
caps = s["process"]["capabilities"]["effective"]
assert "CAP_SYS_ADMIN" in caps and "CAP_NET_ADMIN" in caps and len(caps) == 16, caps
d = {x["path"]: x for x in s["linux"]["devices"]}
assert set(d) == {devs + "/zero2", devs + "/sub/null2"}, d
assert d[devs + "/zero2"]["type"] == "c" and (d[devs + "/zero2"]["major"], d[devs + "/zero2"]["minor"]) == (1, 5)
rules = s["linux"]["resources"]["devices"]
assert {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rwm"} in rules
assert {"allow": False, "type": "c", "major": 10, "minor": 229, "access": "rwm"} in rules
PY
r=$(vcall full Plugin.Env)
case "$r" in *'"Args":["/volplugin","-x","--a","b"]'*) ok "the plugin runs with Entrypoint + Settings.Args" ;; *) notok "args"; diag "$r" ;; esac
case "$r" in *'"Pid":1}'*) notok "pid namespace despite PidHost" ;; *) ok "PidHost: the plugin sees host pids" ;; esac
ctl disable full >/dev/null
check "set args and a mount source" ctl set full "args=--c" src.source="$T/devs/sub"
ctl enable full >/dev/null
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); m=[x for x in s["mounts"] if x["destination"]=="/host"][0]; assert m["source"]==sys.argv[2], m; assert s["process"]["args"][-1]=="--c"' "$(spec full)" "$T/devs/sub" &&
    ok "set values reach the spec" || notok "set values"
ctl disable full >/dev/null

mkplugin alldev "{\"entrypoint\": [\"/volplugin\"], \"interface\": {\"socket\": \"vol.sock\", \"types\": [\"docker.volumedriver/1.0\"]},
 \"linux\": {\"allowalldevices\": true}}"
check "enable with AllowAllDevices" ctl enable alldev
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert s["linux"]["resources"]["devices"]==[{"allow":True,"access":"rwm"}]; assert "rootfsPropagation" not in s["linux"]; assert "/etc/hosts" not in [m["destination"] for m in s["mounts"]]' "$(spec alldev)" &&
    ok "AllowAllDevices: one allow-rwm rule; no PropagatedMount, no network type: no extra mounts" || notok "alldev spec"
ctl disable alldev >/dev/null
mkplugin badnet "{\"entrypoint\": [\"/volplugin\"], \"interface\": {\"socket\": \"vol.sock\", \"types\": [\"docker.volumedriver/1.0\"]},
 \"linux\": {\"devices\": [{\"name\": \"x\", \"path\": \"$T/conf.json\"}]}}"
expect_fail "a device path that is a plain file" "is neither a device node nor a directory" ctl enable badnet
ctl rm -f full alldev badnet >/dev/null
stop_broker $BROKER_PID
done_testing

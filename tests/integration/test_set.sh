#!/bin/sh
# pluginctl set: Docker's grammar and rules (moby's plugin/v2/settable.go), all-or-nothing,
# persisted across restarts, one value reported for mounts and devices.
. "$(dirname "$0")/../lib.sh"

T=$(mktemp -d /tmp/pd-set.XXXXXX); track_dir "$T"; chmod 755 "$T"
P="$T/plugin"; mkdir -p "$P/rootfs/bin"; cp /bin/busybox "$P/rootfs/bin/"
cat >"$P/config.json" <<'JSON'
{"Entrypoint": ["/bin/busybox", "sleep", "1000"],
 "Interface": {"Socket": "s.sock", "Types": ["docker.volumedriver/1.0"]},
 "Env": [{"Name": "DEBUG", "Settable": ["value"], "Value": "0"},
         {"Name": "FIXED", "Value": "1"},
         {"Name": "a.b", "Settable": ["value"], "Value": "x"},
         {"Name": "UNSET", "Settable": ["value"], "Value": null}],
 "Mounts": [{"Name": "data", "Source": "/tmp", "Destination": "/data", "Type": "bind",
             "Settable": ["source"]},
            {"Name": "nosrc", "Source": null, "Destination": "/n", "Type": "bind",
             "Settable": ["source"]},
            {"Name": "multi", "Source": "/a", "Destination": "/m", "Type": "bind",
             "Settable": ["source", "destination"]}],
 "Linux": {"Devices": [{"Name": "dev", "Path": "/dev/null", "Settable": ["path"]}]},
 "Args": {"Name": "args", "Settable": ["value"], "Value": ["-v"]}}
JSON
start_broker "$T/b" || { notok "broker starts"; done_testing; exit 1; }
ctl create p "$P" >/dev/null || notok "create"

check "set an env value" ctl set p DEBUG=1
[ "$(ctl inspect -f '{{json .Settings.Env}}' p)" = '["DEBUG=1","FIXED=1","a.b=x"]' ] &&
    ok "env replaced in place" || notok "env: $(ctl inspect -f '{{json .Settings.Env}}' p)"
check "set a previously unset env" ctl set p UNSET=y
ctl inspect -f '{{json .Settings.Env}}' p | grep -q '"UNSET=y"' && ok "unset env appended" || notok "env append"
check "env with a dot needs .value" ctl set p a.b.value=z
ctl inspect -f '{{json .Settings.Env}}' p | grep -q '"a.b=z"' && ok "a.b.value sets a.b" || notok "a.b"
check "set a mount source" ctl set p data.source=/srv
[ "$(ctl inspect -f '{{json .Config.Mounts}}' p | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Source"])')" = /srv ] &&
    ok "mount source in Config" || notok "mount source Config"
[ "$(ctl inspect -f '{{json .Settings.Mounts}}' p | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Source"])')" = /srv ] &&
    ok "mount source in Settings too (Docker shows a stale one)" || notok "mount source Settings"
check "set a device path" ctl set p dev=/dev/zero
[ "$(ctl inspect -f '{{json .Settings.Devices}}' p | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Path"])')" = /dev/zero ] &&
    ok "device path in Settings (what the runtime reads)" || notok "device Settings"
check "set args" ctl set p "args=-a  -b"
[ "$(ctl inspect -f '{{json .Settings.Args}}' p)" = '["-a","","-b"]' ] && ok "args split on single spaces" ||
    notok "args: $(ctl inspect -f '{{json .Settings.Args}}' p)"

expect_fail "unknown setting" 'setting "nope" not found in the plugin configuration' ctl set p nope=1
expect_fail "not settable" '"FIXED" is not settable' ctl set p FIXED=2
expect_fail "wrong field" '"DEBUG.source" is not settable' ctl set p DEBUG.source=2
expect_fail "multiple settable fields" "multiple fields are settable, one must be specified" ctl set p multi=/b
expect_fail "leading =" "invalid format, must be <name>[.<field>][=<value>]" ctl set p =x
expect_fail "null mount source" "plugin config has no mount source" ctl set p nosrc=/x
expect_fail "unknown plugin" 'plugin "nothere" not found' ctl set nothere DEBUG=1
before=$(ctl inspect -f '{{json .Settings}}' p)
expect_fail "one bad argument stops the call" "not found" ctl set p DEBUG=7 nope=1
[ "$(ctl inspect -f '{{json .Settings}}' p)" = "$before" ] && ok "nothing applied when one argument fails" || notok "partial set applied"
stop_broker $BROKER_PID
start_broker "$T/b" || notok "restart"
ctl inspect -f '{{json .Settings.Env}}' p | grep -q '"DEBUG=1"' && ok "settings persist across restarts" || notok "persist"
done_testing

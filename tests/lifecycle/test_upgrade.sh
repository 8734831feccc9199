#!/bin/sh
# pluginctl upgrade from a local registry: same id and settings, an
# enabled plugin is stopped, swapped and started; a version that does not
# become ready is rolled back and the old one serves again.
. "$(dirname "$0")/../lib.sh"

[ -x /usr/bin/docker-registry ] || { skip "docker-registry not installed"; done_testing; exit 0; }
command -v runc >/dev/null || { skip "runc not installed"; done_testing; exit 0; }
T=$(mktemp -d /tmp/pdup.XXXXXX); track_dir "$T"; chmod 755 "$T"
sh "$PD_TOP/tests/registry/registry.sh" start "$T/reg" anon >/dev/null 2>"$T/reg.err" ||
    { notok "registry"; diag "$(cat "$T/reg.err")"; done_testing; exit 1; }
for f in "$T/reg"/*.pid; do track_pid "$(cat "$f")"; done
R="127.0.0.1:$(cat "$T/reg/port")"
cfg() { # cfg FILE DESCRIPTION ENTRYPOINT
	cat >"$1" <<JSON
{"description": "$2", "entrypoint": ["$3"],
 "interface": {"socket": "vol.sock", "types": ["docker.volumedriver/1.0"]},
 "env": [{"name": "DEBUG", "settable": ["value"], "value": "0"}],
 "network": {"type": "host"}, "propagatedMount": "/data"}
JSON
}
cfg "$T/v1.json" "version one" /plugin
cfg "$T/v2.json" "version two" /plugin
cfg "$T/bad.json" "broken version" /nonexistent
PUSH="python3 $PD_TOP/tests/registry/push_plugin.py --registry http://$R --repo test/up --plugin-binary $PD_BUILD/fixtures/volplugin --socket vol.sock"
$PUSH --tag v1 --config "$T/v1.json" >/dev/null && $PUSH --tag v2 --config "$T/v2.json" --seed 2 >/dev/null &&
    $PUSH --tag bad --config "$T/bad.json" --seed 3 >/dev/null || { notok "push versions"; done_testing; exit 1; }

start_broker "$T/b" || { notok "broker"; done_testing; exit 1; }
check "install v1 (enabled)" ctl install --grant-all-permissions --alias up "$R/test/up:v1"
ID=$(ctl inspect -f '{{.Id}}' up)
sock="$T/b/exec/plugins/$ID/vol.sock"
call() { curl -s --max-time 5 --unix-socket "$sock" -X POST http://p/VolumeDriver.List -d '{}'; }
# What an engine uses: the published name, through the gateway.
PUB="$T/b/docker-plugins/up.sock"
gcall() { curl -s --max-time 5 --unix-socket "$PUB" -X POST "http://p/$1" -d '{}'; }
ctl disable up >/dev/null && ctl set up DEBUG=7 && ctl enable up >/dev/null || notok "set DEBUG on v1"
call | grep -q Volumes && ok "v1 serves" || notok "v1 does not serve"
echo hello >"$T/b/data/plugins/$ID/propagated-mount/keep"

out=$(ctl upgrade --grant-all-permissions up "$R/test/up:v2" 2>&1)
case "$out" in *"Upgraded plugin up:latest to $R/test/up:v2"*) ok "upgrade an enabled plugin (Docker refuses)" ;;
*) notok "upgrade to v2"; diag "$out" ;; esac
[ "$(ctl inspect -f '{{.Id}} {{.Enabled}} {{.Config.Description}}' up)" = "$ID true version two" ] &&
    ok "same id, enabled again, new config" || notok "after upgrade: $(ctl inspect -f '{{.Id}} {{.Enabled}} {{.Config.Description}}' up)"
ctl inspect -f '{{json .Settings.Env}}' up | grep -q '"DEBUG=7"' && ok "settings kept across the upgrade" || notok "settings lost"
[ "$(cat "$T/b/data/plugins/$ID/propagated-mount/keep" 2>/dev/null)" = hello ] && ok "propagated mount kept" || notok "propagated mount lost"
[ "$(ctl inspect -f '{{.PluginReference}}' up)" = "$R/test/up:v2" ] && ok "reference updated" || notok "reference"
call | grep -q Volumes && ok "v2 serves" || notok "v2 does not serve"
gcall VolumeDriver.List | grep -q Volumes && ok "upgrade: engines reach v2 by the same name" ||
    notok "published name after upgrade: $(gcall VolumeDriver.List)"
[ ! -e "$T/b/data/plugins/$ID/rootfs-old" ] && ok "old rootfs removed" || notok "rootfs-old left"

out=$(ctl upgrade --grant-all-permissions --timeout 5 up "$R/test/up:bad" 2>&1); rc=$?
[ $rc != 0 ] && ok "upgrade to a broken version fails" || notok "broken upgrade succeeded"
case "$out" in *"previous version was restored"*) ok "failure says the previous version was restored" ;;
*) notok "rollback message"; diag "$out" ;; esac
[ "$(ctl inspect -f '{{.Enabled}} {{.Config.Description}} {{.PluginReference}}' up)" = "true version two $R/test/up:v2" ] &&
    ok "old version back: config, reference, enabled" || notok "after rollback: $(ctl inspect -f '{{.Enabled}} {{.Config.Description}} {{.PluginReference}}' up)"
call | grep -q Volumes && ok "the old version serves again" || notok "old version not serving"
gcall VolumeDriver.List | grep -q Volumes && ok "rollback: engines reach the old version by its name" ||
    notok "published name after rollback: $(gcall VolumeDriver.List)"
ls "$T/b/data/plugins/$ID" | grep -q 'rootfs-' && notok "rootfs-* left after rollback" || ok "no rootfs-* left after rollback"
[ -z "$(job_tmp "$T/b/data")" ] && ok "no staging left" || notok "staging left"

expect_fail "another repository needs --skip-remote-check" "--skip-remote-check" ctl upgrade --grant-all-permissions up "$R/test/other:v1"
ctl disable up >/dev/null
check "upgrade of a disabled plugin leaves it disabled" ctl upgrade --grant-all-permissions up "$R/test/up:v1"
[ "$(ctl inspect -f '{{.Enabled}} {{.Config.Description}}' up)" = "false version one" ] && ok "disabled, v1 config" || notok "disabled upgrade"
gcall VolumeDriver.List | grep -q 'found but disabled' && ok "disabled across the upgrade: the name says so" ||
    notok "published name while disabled: $(gcall VolumeDriver.List)"
ctl enable up >/dev/null && gcall VolumeDriver.List | grep -q Volumes && ok "enabled after the upgrade: served by name" ||
    notok "published name after enable: $(gcall VolumeDriver.List)"
ctl rm -f up >/dev/null
[ ! -e "$PUB" ] && ok "rm: the name is gone" || notok "name left after rm"
check "reinstall under the same name" ctl install --grant-all-permissions --alias up "$R/test/up:v1"
ID2=$(ctl inspect -f '{{.Id}}' up)
gcall VolumeDriver.List | grep -q Volumes && ok "reinstall: the same name reaches the new plugin (${ID2%"${ID2#????????????}"})" ||
    notok "published name after reinstall: $(gcall VolumeDriver.List)"
ctl rm -f up >/dev/null
done_testing

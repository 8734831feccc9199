#!/bin/sh
# The trust policy (docs/POLICY.md): every key and error of the file,
# reject/accept/signed rules by registry, repository prefix and
# repository with the most specific scope winning, ceilings against
# privileges, install (Engine API), upgrade, set and enable, nothing
# stored after a refusal, SIGHUP (tightening disables, a bad file keeps
# the old policy), a bad file at start, a restart, and pluginctl info.
. "$(dirname "$0")/../lib.sh"

[ -x /usr/bin/docker-registry ] || { skip "docker-registry not installed"; done_testing; exit 0; }
command -v runc >/dev/null || { skip "runc not installed"; done_testing; exit 0; }
command -v curl >/dev/null || { skip "curl not installed"; done_testing; exit 0; }
T=$(mktemp -d /tmp/pdpol.XXXXXX); track_dir "$T"; chmod 755 "$T"
track_runc "$T/b/exec/runc"; track_mounts_under "$T"
P="$T/policy.json"

# ---- the file, at start: every error names the file and where ----

# refuses WHAT JSON WANT: a broker with this policy does not start, saying WANT.
refuses() {
	printf '%s\n' "$2" >"$T/bad.json"; chmod 644 "$T/bad.json"
	_out=$("$PD_BUILD/plugind" --data-root "$T/pb/data" --exec-root "$T/pb/exec" \
	    --helper-dir "$PD_BUILD" --policy "$T/bad.json" 2>&1) &&
	    { notok "$1: the broker started"; return; }
	case "$_out" in
	*"policy $T/bad.json: $3"*) ok "$1" ;;
	*) notok "$1"; diag "got: $_out"; diag "want: policy $T/bad.json: $3" ;;
	esac
}
A='{"rule": "accept"}'
refuses "a syntax error names the line and column" "{\"default\": $A,
 \"scopes\": {,}}" "line 2 column 13: "
refuses "a duplicate key is refused, with its line" "{\"default\": $A,
 \"default\": $A}" "line 2 column"
refuses "not an object" '[]' "not a JSON object"
refuses "an unknown top-level key" "{\"default\": $A, \"scope\": {}}" 'unknown key "scope"'
refuses "default is required" '{"scopes": {}}' 'default: missing'
refuses "default must be an object" '{"default": "accept"}' 'default: must be an object'
refuses "scopes must be an object" "{\"default\": $A, \"scopes\": []}" 'scopes: must be an object'
refuses "a rule needs rule" '{"default": {}}' 'default.rule: missing: reject, accept or signed'
refuses "an unknown rule" '{"default": {"rule": "allow"}}' 'default.rule: must be "reject", "accept" or "signed"'
refuses "rule must be a string" '{"default": {"rule": 1}}' 'default.rule: must be "reject", "accept" or "signed"'
refuses "an unknown key in a rule" '{"default": {"rule": "accept", "ceilling": {}}}' 'default: unknown key "ceilling"'
refuses "signed needs keys" '{"default": {"rule": "signed"}}' 'default.keys: missing: a signed rule needs'
refuses "keys only with signed" '{"default": {"rule": "accept", "keys": ["/k.pem"]}}' 'default.keys: only a signed rule has keys'
refuses "keys must not be empty" '{"default": {"rule": "signed", "keys": []}}' 'default.keys: must be a non-empty array of absolute paths'
refuses "a key is an absolute path" '{"default": {"rule": "signed", "keys": ["k.pem"]}}' 'default.keys[0]: "k.pem" must be a clean absolute path'
refuses "a key is a string" '{"default": {"rule": "signed", "keys": ["/k", 2]}}' 'default.keys[1]: must be a string'
S='{"default": {"rule": "accept"}, "scopes": {"127.0.0.1:5000": {"rule": "accept", "ceiling": '
SP='scopes["127.0.0.1:5000"].'
refuses "ceiling must be an object" "$S []}}}" 'scopes["127.0.0.1:5000"].ceiling: must be an object'
refuses "an unknown ceiling key" "$S {\"caps\": []}}}}" 'scopes["127.0.0.1:5000"].ceiling: unknown key "caps"'
refuses "capabilities must be an array" "$S {\"capabilities\": \"CAP_SYS_ADMIN\"}}}}" \
    'scopes["127.0.0.1:5000"].ceiling.capabilities: must be an array of capability names'
refuses "a bad capability name names its index" "$S {\"capabilities\": [\"CAP_SYS_ADMIN\", \"CAP_NET_RAW\", \"CAP_FOO\"]}}}}" \
    'scopes["127.0.0.1:5000"].ceiling.capabilities[2]: unknown capability "CAP_FOO"'
refuses "a capability is a string" "$S {\"capabilities\": [21]}}}}" "$SP"'ceiling.capabilities[0]: must be a string'
refuses "mounts must be an array" "$S {\"mounts\": {}}}}}" "$SP"'ceiling.mounts: must be an array'
refuses "a mount is an object" "$S {\"mounts\": [\"/srv\"]}}}}" "$SP"'ceiling.mounts[0]: must be an object'
refuses "an unknown mount key" "$S {\"mounts\": [{\"source\": \"/srv\", \"ro\": true}]}}}}" "$SP"'ceiling.mounts[0]: unknown key "ro"'
refuses "a mount needs a source" "$S {\"mounts\": [{\"rw\": true}]}}}}" "$SP"'ceiling.mounts[0]: "source" must be an absolute path'
refuses "a mount source is clean" "$S {\"mounts\": [{\"source\": \"/srv/../etc\"}]}}}}" \
    "$SP"'ceiling.mounts[0]: "source" "/srv/../etc" must be a clean absolute path'
refuses "rw is a boolean" "$S {\"mounts\": [{\"source\": \"/srv\", \"rw\": 1}]}}}}" "$SP"'ceiling.mounts[0]: "rw" must be true or false'
refuses "a device prefix is clean" "$S {\"devices\": [\"/dev/\"]}}}}" "$SP"'ceiling.devices[0]: "/dev/" must be a clean absolute path'
refuses "a network type is not empty" "$S {\"network\": [\"\"]}}}}" "$SP"'ceiling.network[0]: must be a network type name'
for k in allowAllDevices hostPid hostIpc propagatedMount; do
	refuses "$k is a boolean" "$S {\"$k\": \"yes\"}}}}" "${SP}ceiling: \"$k\" must be true or false"
done
sc() { printf '{"default": {"rule": "accept"}, "scopes": {"%s": {"rule": "accept"}}}' "$1"; }
refuses "a scope that is no registry" "$(sc busybox)" 'scopes["busybox"]: not a registry host'
refuses "a scope not written in full" "$(sc acme/vol)" 'scopes["acme/vol"]: not a normalized repository name: write "docker.io/acme/vol"'
refuses "a prefix not written in full" "$(sc acme/tools/)" 'scopes["acme/tools/"]: not a normalized repository name: write "docker.io/acme/tools/"'
refuses "a scope names no tag" "$(sc 127.0.0.1:5000/acme/vol:v1)" 'scopes["127.0.0.1:5000/acme/vol:v1"]: not a repository name'
refuses "an empty scope" "$(sc '')" 'scopes[""]: a scope is a registry, a repository prefix'
refuses "h and h/ are the same scope" '{"default": {"rule": "accept"}, "scopes": {"h.io": {"rule": "accept"}, "h.io/": {"rule": "reject"}}}' \
    'scopes["h.io"]: the same scope as scopes["h.io/"]'
printf '' >"$T/bad.json"
out=$("$PD_BUILD/plugind" --data-root "$T/pb/data" --exec-root "$T/pb/exec" --helper-dir "$PD_BUILD" --policy "$T/bad.json" 2>&1)
case "$out" in *"policy $T/bad.json: empty file"*) ok "an empty file is refused" ;; *) notok "empty file"; diag "$out" ;; esac
refuses_file() { # refuses_file WHAT: bad.json as it is now
	_out=$("$PD_BUILD/plugind" --data-root "$T/pb/data" --exec-root "$T/pb/exec" \
	    --helper-dir "$PD_BUILD" --policy "$T/bad.json" 2>&1) && { notok "$1: started"; return; }
	case "$_out" in *"policy $T/bad.json: must be a regular file owned by root and writable by no one else"*) ok "$1" ;;
	*) notok "$1"; diag "$_out" ;; esac
}
echo '{"default": {"rule": "accept"}}' >"$T/bad.json"
chmod 664 "$T/bad.json"; refuses_file "a group-writable policy is refused"
chmod 646 "$T/bad.json"; refuses_file "a world-writable policy is refused"
chmod 644 "$T/bad.json"; chown nobody "$T/bad.json"; refuses_file "a policy not owned by root is refused"
rm -f "$T/bad.json"; mkdir "$T/bad.json"; refuses_file "a directory is refused"
rmdir "$T/bad.json"

# ---- a registry with plugins, a broker with the Engine API ----

reg_start "$T/reg" anon || { notok "registry"; done_testing; exit 1; }
R="127.0.0.1:$REG_PORT"
mkdir -p "$T/srv/a" "$T/srv/b"
cfg() { # cfg FILE DESCRIPTION EXTRA-JSON
	cat >"$1" <<JSON
{"description": "$2", "entrypoint": ["/plugin"],
 "interface": {"socket": "vol.sock", "types": ["docker.volumedriver/1.0"]},
 "network": {"type": "host"}$3}
JSON
}
cfg "$T/vol1.json" "vol one" ""
cfg "$T/vol2.json" "vol two" ', "linux": {"capabilities": ["CAP_NET_ADMIN"]}'
cfg "$T/all.json" "every privilege" ", \"pidhost\": true, \"ipchost\": true, \"propagatedmount\": \"/data\",
 \"linux\": {\"capabilities\": [\"CAP_SYS_ADMIN\", \"CAP_NET_ADMIN\"], \"allowAllDevices\": true,
   \"devices\": [{\"name\": \"fuse\", \"path\": \"/dev/fuse\"}]},
 \"mounts\": [{\"name\": \"data\", \"source\": \"$T/srv/a\", \"destination\": \"/srv\", \"type\": \"bind\",
   \"options\": [\"rbind\"], \"settable\": [\"source\"]}]"
PUSH="python3 $PD_TOP/tests/registry/push_plugin.py --registry http://$R --plugin-binary $PD_BUILD/fixtures/volplugin --socket vol.sock"
$PUSH --repo acme/vol --tag v1 --config "$T/vol1.json" >/dev/null &&
    $PUSH --repo acme/vol --tag v2 --config "$T/vol2.json" --seed 2 >/dev/null &&
    $PUSH --repo acme/all --tag v1 --config "$T/all.json" --seed 3 >/dev/null &&
    $PUSH --repo other/vol --tag v1 --config "$T/vol1.json" >/dev/null &&
    $PUSH --repo sig/x --tag latest --config "$T/vol1.json" >/dev/null || { notok "push plugins"; done_testing; exit 1; }

B="$T/b"; API="$T/api.sock"
echo '{"stop-timeout": 3}' >"$T/conf.json"
echo '{"default": {"rule": "accept"}}' >"$P"; chmod 644 "$P"
start_broker "$B" --config "$T/conf.json" --docker-api "unix://$API" --policy "$P" ||
    { notok "broker starts"; done_testing; exit 1; }
D="$B/data"

# reload JSON: the policy file becomes JSON, SIGHUP, wait until it is read.
reload() {
	printf '%s\n' "$1" >"$P"; chmod 644 "$P"
	_c=$(grep -c -e 'SIGHUP: policy .* loaded' -e 'the policy in force stays' "$B/broker.log")
	kill -HUP "$BROKER_PID"
	_i=0
	while [ "$(grep -c -e 'SIGHUP: policy .* loaded' -e 'the policy in force stays' "$B/broker.log")" -le "$_c" ] &&
	    [ $_i -lt 100 ]; do sleep 0.05; _i=$((_i + 1)); done
}
api() { # api METHOD PATH [curl args]: sets code, body in $T/body
	_m=$1 _p=$2; shift 2
	code=$(curl -s -o "$T/body" -w '%{http_code}' --unix-socket "$API" -X "$_m" "$@" "http://x$_p")
}

# Privileges bodies while everything is accepted, for the API pulls below.
api GET "/v1.51/plugins/privileges?remote=$R/acme/all:v1"; cp "$T/body" "$T/all.priv"
[ "$code" = 200 ] && ok "no scope: everything accepted" || { notok "privileges: $code"; diag "$(cat "$T/body")"; }
out=$(ctl info)
case "$out" in *"Policy: $P"*" default: accept"*) ok "info shows the file and the default rule" ;;
*) notok "info"; diag "$out" ;; esac

# ---- rules: most specific wins ----

reload "{\"default\": {\"rule\": \"reject\"}, \"scopes\": {
 \"$R\": {\"rule\": \"accept\"},
 \"$R/acme/\": {\"rule\": \"reject\"},
 \"$R/acme/vol\": {\"rule\": \"accept\"},
 \"$R/sig/\": {\"rule\": \"signed\", \"keys\": [\"/etc/plugind/k1.pem\", \"/etc/plugind/k2.pem\"]},
 \"docker.io\": {\"rule\": \"reject\"},
 \"docker.io/library/\": {\"rule\": \"reject\"}}}"
check "a repository scope beats the prefix that rejects" ctl privileges "$R/acme/vol:v1"
expect_fail "a prefix rejects" "policy: $R/acme/ rejects $R/acme/all:v1" ctl privileges "$R/acme/all:v1"
check "the registry scope accepts" ctl privileges "$R/other/vol:v1"
expect_fail "a signed rule refuses an unsigned plugin, naming its keys" \
    "policy: $R/sig/ requires a signature by /etc/plugind/k1.pem or /etc/plugind/k2.pem: none found" \
    ctl privileges "$R/sig/x"
expect_fail "no scope: the default rejects" "policy: default rejects 127.0.0.2:5/x:latest" ctl privileges 127.0.0.2:5/x
expect_fail "a Docker Hub name is normalized (docker.io scope)" "policy: docker.io rejects docker.io/vieux/sshfs:latest" ctl privileges vieux/sshfs
expect_fail "an official image falls under docker.io/library/" "policy: docker.io/library/ rejects docker.io/library/busybox:latest" ctl privileges busybox
expect_fail "install is refused before the registry is asked" "policy: $R/acme/ rejects $R/acme/all:v1" \
    ctl install --grant-all-permissions --disable "$R/acme/all:v1"
grep -q "\"verb\":\"privileges\".*\"error\":\"policy: $R/acme/ rejects" "$D/audit.log" &&
    ok "the refusal is audited" || notok "no audit line for the refusal"
api POST "/v1.51/plugins/pull?remote=$R/acme/all:v1&name=all" -H 'Content-Type: application/json' --data-binary @"$T/all.priv"
[ "$code" = 403 ] && grep -qF "policy: $R/acme/ rejects $R/acme/all:v1" "$T/body" &&
    ok "Engine API pull: 403 with the same text" || { notok "API pull: $code"; diag "$(cat "$T/body")"; }
api GET "/v1.51/plugins/privileges?remote=$R/sig/x"
[ "$code" = 403 ] && grep -qF "policy: $R/sig/ requires a signature by /etc/plugind/k1.pem or /etc/plugind/k2.pem: none found" "$T/body" &&
    ok "Engine API privileges: 403" || { notok "API privileges: $code"; diag "$(cat "$T/body")"; }
grep -q "\"verb\":\"install\".*\"error\":\"policy: $R/acme/ rejects" "$D/audit.log" &&
    ok "the API install refusal is audited" || notok "no audit line for the API install"
out=$(ctl info)
case "$out" in *" $R/acme/: reject"*" $R/sig/: signed by /etc/plugind/k1.pem, /etc/plugind/k2.pem"*) ok "info lists the scopes and rules" ;;
*) notok "info scopes"; diag "$out" ;; esac
reload "{\"default\": {\"rule\": \"reject\"}, \"scopes\": {\"$R/\": {\"rule\": \"accept\"}}}"
check "a registry written host/ is the registry's prefix" ctl privileges "$R/acme/all:v1"

# ---- ceilings: each privilege in turn ----

# ceil CEILING-MEMBERS: acme/all accepted with this ceiling.
ceil() { reload "{\"default\": {\"rule\": \"accept\"}, \"scopes\": {\"$R/acme/all\": {\"rule\": \"accept\", \"ceiling\": {$1}}}}"; }
exceeds() { # exceeds WHAT CEILING-MEMBERS
	ceil "$2"
	expect_fail "ceiling: $1" "policy: $1 exceeds the ceiling for $R/acme/all" ctl privileges "$R/acme/all:v1"
}
C='"capabilities": ["CAP_SYS_ADMIN", "CAP_NET_ADMIN"]'
exceeds "capability CAP_SYS_ADMIN" ''
exceeds "capability CAP_NET_ADMIN" '"capabilities": ["sys_admin"]'
exceeds "allow-all-devices" "$C"
C="$C, \"allowAllDevices\": true"
exceeds "device /dev/fuse" "$C, \"devices\": [\"/dev/fuse2\"]"
C="$C, \"devices\": [\"/dev\"]"
exceeds "network host" "$C, \"network\": [\"none\"]"
C="$C, \"network\": [\"none\", \"host\"]"
exceeds "host pid namespace" "$C"
C="$C, \"hostPid\": true"
exceeds "host ipc namespace" "$C"
C="$C, \"hostIpc\": true"
exceeds "propagated mount /data" "$C"
C="$C, \"propagatedMount\": true"
exceeds "read-write mount source $T/srv/a" "$C, \"mounts\": [{\"source\": \"$T/srv\"}]"
exceeds "read-write mount source $T/srv/a" "$C, \"mounts\": [{\"source\": \"$T/srvx\", \"rw\": true}]"
find "$D/storage" -type f | sort >"$T/store.before"
api POST "/v1.51/plugins/pull?remote=$R/acme/all:v1&name=all" -H 'Content-Type: application/json' --data-binary @"$T/all.priv"
# Refused once the config is known: the stream has begun, so the error
# is its last message (Docker's errorDetail), with the same text.
[ "$code" = 200 ] && grep -qF "\"errorDetail\":{\"message\":\"policy: read-write mount source $T/srv/a exceeds the ceiling for $R/acme/all\"}" "$T/body" &&
    ok "install past the privileges check: refused by the ceiling (errorDetail)" || { notok "API pull over the ceiling: $code"; diag "$(cat "$T/body")"; }
find "$D/storage" -type f | sort >"$T/store.after"
cmp -s "$T/store.before" "$T/store.after" && ok "nothing stored after the refusal" ||
    { notok "the store changed"; diag "$(diff "$T/store.before" "$T/store.after")"; }
[ -z "$(ctl ls -q)" ] && removals_done "$D" && [ -z "$(ls "$D/plugins")" ] && [ -z "$(job_tmp "$D")" ] &&
    ok "no plugin, no staging after the refusal" || notok "plugin or staging left: $(ctl ls -q; ls "$D/plugins"; job_tmp "$D")"
C="$C, \"mounts\": [{\"source\": \"$T/srv\", \"rw\": true}]"
ceil "$C"
check "within the whole ceiling: install" ctl install --grant-all-permissions --disable --alias all "$R/acme/all:v1"
expect_fail "set: a source outside the ceiling" "policy: read-write mount source /var exceeds the ceiling for $R/acme/all" \
    ctl set all data.source=/var
[ "$(ctl inspect -f '{{json .Settings.Mounts}}' all)" = "[{\"Name\":\"data\",\"Source\":\"$T/srv/a\",\"Destination\":\"/srv\",\"Type\":\"bind\",\"Options\":[\"rbind\"]}]" ] ||
    ctl inspect -f '{{json .Settings.Mounts}}' all | grep -q "\"Source\":\"$T/srv/a\"" &&
    ok "the refused set changed nothing" || notok "set changed: $(ctl inspect -f '{{json .Settings.Mounts}}' all)"
check "set: a source within the ceiling" ctl set all "data.source=$T/srv/b"
grep -q "\"verb\":\"set\".*\"error\":\"policy: read-write mount source /var" "$D/audit.log" &&
    ok "the set refusal is audited" || notok "set refusal not audited"
ceil "$(echo "$C" | sed 's/"hostIpc": true/"hostIpc": false/')"
expect_fail "enable: the ceiling is checked again" "policy: host ipc namespace exceeds the ceiling for $R/acme/all" ctl enable all
ctl rm all >/dev/null

# ---- upgrade, enable, SIGHUP tightening ----

V="\"$R/acme/vol\": {\"rule\": \"accept\", \"ceiling\": {\"network\": [\"host\"]}}"
reload "{\"default\": {\"rule\": \"accept\"}, \"scopes\": {$V}}"
check "install vol:v1 (enabled), within its ceiling" ctl install --grant-all-permissions --alias vol "$R/acme/vol:v1"
expect_fail "upgrade: the new version's privileges exceed the ceiling" \
    "policy: capability CAP_NET_ADMIN exceeds the ceiling for $R/acme/vol" ctl upgrade --grant-all-permissions vol "$R/acme/vol:v2"
[ "$(ctl inspect -f '{{.Enabled}} {{.Config.Description}}' vol)" = "true vol one" ] &&
    ok "after the refused upgrade: v1, still enabled" || notok "after upgrade: $(ctl inspect -f '{{.Enabled}} {{.Config.Description}}' vol)"
ctl disable vol >/dev/null
reload "{\"default\": {\"rule\": \"accept\"}, \"scopes\": {\"$R/acme/vol\": {\"rule\": \"accept\", \"ceiling\": {}}}}"
expect_fail "enable: refused by a tightened ceiling" "policy: network host exceeds the ceiling for $R/acme/vol" ctl enable vol
api POST "/v1.51/plugins/vol/enable?timeout=0"
[ "$code" = 403 ] && grep -qF "policy: network host exceeds the ceiling for $R/acme/vol" "$T/body" &&
    ok "Engine API enable: 403, same text" || { notok "API enable: $code"; diag "$(cat "$T/body")"; }
reload "{\"default\": {\"rule\": \"accept\"}, \"scopes\": {$V}}"
check "enable within the ceiling" ctl enable vol
reload "{\"default\": {\"rule\": \"accept\"}, \"scopes\": {\"$R/acme/\": {\"rule\": \"reject\"}}}"
i=0; while [ "$(ctl inspect -f '{{.Enabled}}' vol)" != false ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ "$(ctl inspect -f '{{.Enabled}}' vol)" = false ] && ok "SIGHUP: a plugin outside the new policy is disabled" ||
    notok "still enabled after SIGHUP"
ev=$(ctl events --since 1h --until 0s --filter event=policy --format '{{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.reason}}')
case "$ev" in *"policy vol:latest policy: $R/acme/ rejects $R/acme/vol:v1"*) ok "a policy event names the rule" ;;
*) notok "policy event"; diag "$ev" ;; esac
grep -q "SIGHUP: plugin vol:latest (.*) is outside the policy, disabling it: policy: $R/acme/ rejects" "$B/broker.log" &&
    ok "the log names the plugin and the rule" || notok "no log line"
grep -q "\"verb\":\"policy-disable\",\"target\":\"vol:latest\".*\"error\":\"policy: $R/acme/ rejects" "$D/audit.log" &&
    ok "the disable is audited" || notok "not audited"
reload '{"default": {"rule": "accept"}, "scopes": {"nohost": {"rule": "accept"}}}'
grep -q "SIGHUP: policy $P: scopes\[\"nohost\"\]: not a registry host.*; the policy in force stays" "$B/broker.log" &&
    ok "SIGHUP with a bad file: logged" || notok "no log line for the bad file"
expect_fail "SIGHUP with a bad file: the old policy stays" "policy: $R/acme/ rejects" ctl enable vol
case "$(ctl info)" in *" $R/acme/: reject"*) ok "info still shows the old policy" ;; *) notok "info after a bad reload" ;; esac
chmod 666 "$P"; kill -HUP "$BROKER_PID"; sleep 0.5
grep -q "SIGHUP: policy $P: must be a regular file owned by root.*the policy in force stays" "$B/broker.log" &&
    ok "SIGHUP with a writable file: the old policy stays" || notok "writable file on SIGHUP"

# ---- restart: a plugin enabled on disk is judged before it runs ----

reload "{\"default\": {\"rule\": \"accept\"}}"
check "enable again" ctl enable vol
stop_broker "$BROKER_PID"
printf '%s\n' "{\"default\": {\"rule\": \"accept\"}, \"scopes\": {\"$R/acme/vol\": {\"rule\": \"reject\"}}}" >"$P"
start_broker "$B" --config "$T/conf.json" --policy "$P" || { notok "restart"; done_testing; exit 1; }
i=0; while [ "$(ctl inspect -f '{{.Enabled}}' vol)" != false ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ "$(ctl inspect -f '{{.Enabled}}' vol)" = false ] && ok "restart: the plugin the policy rejects is disabled" ||
    notok "restart: still enabled"
grep -q "start: plugin vol:latest (.*) is outside the policy, disabling it: policy: $R/acme/vol rejects" "$B/broker.log" &&
    ok "restart: logged with the rule" || notok "restart: no log line"
rm -f "$P"; kill -HUP "$BROKER_PID"; sleep 0.5
case "$(ctl info)" in *"Policy: $P (no file: every plugin is accepted, no ceiling)"*) ok "file removed: no policy" ;;
*) notok "info without a file"; diag "$(ctl info)" ;; esac
check "without a policy: enable" ctl enable vol
ctl rm -f vol >/dev/null
done_testing

#!/bin/sh
# The docker CLI against plugind's Docker Engine API socket, with a real
# registry on loopback: install (--grant-all-permissions, --alias,
# --disable, settings), ls (--filter, --format), inspect, enable, a
# volume call on the plugin socket, set, disable, upgrade, push, rm (-f),
# create; error texts and exit codes as Docker's.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/setup.sh"

DOCKER=${DOCKER:-$(command -v docker || echo /usr/local/bin/docker)}
[ -x "$DOCKER" ] || { skip "no docker CLI (looked for docker in PATH and /usr/local/bin)"; done_testing; exit 0; }
[ -x /usr/bin/docker-registry ] || { skip "docker-registry not installed (make deps)"; done_testing; exit 0; }
command -v runc >/dev/null || { skip "runc not installed"; done_testing; exit 0; }
[ -x "$PD_BUILD/fixtures/volplugin" ] || { skip "volplugin fixture not built (make tests)"; done_testing; exit 0; }

T=$(mktemp -d /tmp/pdapi.XXXXXX); track_dir "$T"; chmod 755 "$T"
track_runc "$T/b/exec/runc"; track_mounts_under "$T"
reg_start "$T/reg" anon || { notok "registry starts"; done_testing; exit 1; }
R="127.0.0.1:$REG_PORT"
push_vol_plugins "$T" || { notok "push test plugins"; done_testing; exit 1; }

A="$T/api.sock"
start_broker "$T/b" --docker-api "unix://$A" || { notok "broker starts"; done_testing; exit 1; }
export DOCKER_CONFIG="$T/dockercfg"; mkdir -p "$DOCKER_CONFIG"
d() { "$DOCKER" -H "unix://$A" "$@"; }
# run CMD...: sets out (stdout+stderr) and rc
run() { out=$("$@" 2>&1 </dev/null); rc=$?; }
is() { # is DESC WANT-RC WANT-SUBSTRING
	if [ "$rc" -eq "$2" ] && case "$out" in *"$3"*) true ;; *) false ;; esac; then ok "$1"
	else notok "$1"; diag "rc=$rc, want $2 and \"$3\" in:"; diag "$out"; fi
}

[ "$(stat -c '%a %U' "$A")" = "660 root" ] && ok "API socket is 0660 root" || notok "API socket mode $(stat -c '%a %U:%G' "$A")"
run d version --format '{{.Server.APIVersion}}'
is "docker version talks to the API socket" 0 "1.51"

run d plugin install --grant-all-permissions --alias vol "$R/test/vol:v1" DEBUG=3
is "install --grant-all-permissions --alias, with a setting" 0 "Installed plugin $R/test/vol:v1"
run d plugin ls --format '{{.Name}} {{.Enabled}} {{.Description}}'
is "ls --format" 0 "vol:latest true version one"
run d plugin ls --filter enabled=true --filter capability=volumedriver --format '{{.Name}}'
is "ls --filter enabled=true --filter capability=volumedriver" 0 "vol:latest"
run d plugin ls --filter enabled=false -q
[ "$rc" -eq 0 ] && [ -z "$out" ] && ok "ls --filter enabled=false is empty" || { notok "ls enabled=false"; diag "$out"; }
run d plugin ls --filter bogus=1
is "ls with an unknown filter fails like Docker" 1 "invalid filter 'bogus'"
run d plugin inspect --format '{{.Settings.Env}} {{.PluginReference}} {{.Enabled}}' vol
is "inspect --format: settings from install, reference, enabled" 0 "[DEBUG=3] $R/test/vol:v1 true"
ID=$(d plugin inspect --format '{{.Id}}' vol)
sock="$T/b/exec/plugins/$ID/vol.sock"
vcall() { curl -sS --max-time 5 --unix-socket "$sock" -X POST "http://p/VolumeDriver.$1" -d "$2"; }
v=$(vcall Create '{"Name":"v1"}'; vcall List '{}')
case "$v" in *'"Name":"v1"'*) ok "volume driver answers on the plugin socket" ;; *) notok "volume call"; diag "$v" ;; esac

run d plugin inspect nope
is "inspect of a missing plugin" 1 'plugin "nope" not found'
run d plugin enable vol
is "enable an enabled plugin" 1 "already enabled"
run d plugin set vol DEBUG=4
is "set on an enabled plugin" 1 "cannot set on an active plugin"
run d plugin rm vol
is "rm of an enabled plugin without -f" 1 "is enabled"
run d plugin upgrade --grant-all-permissions --skip-remote-check vol "$R/test/vol:v2"
is "upgrade of an enabled plugin is refused like Docker" 1 "plugin must be disabled before upgrading"
run d plugin disable vol
is "disable" 0 "vol"
run d plugin set vol DEBUG=4
is "set on a disabled plugin" 0 ""
run d plugin set vol NOPE=1
is "set of an unknown key" 1 "NOPE"
run d plugin upgrade --grant-all-permissions --skip-remote-check vol "$R/test/vol:v2"
is "upgrade" 0 "Upgraded plugin vol:latest to $R/test/vol:v2"
run d plugin inspect --format '{{.Config.Description}} {{.Settings.Env}} {{.Id}}' vol
is "upgrade keeps id and settings, new config" 0 "version two [DEBUG=4] $ID"
run d plugin enable vol
is "enable" 0 "vol"
v=$(vcall List '{}')
case "$v" in *Volumes*) ok "upgraded plugin serves" ;; *) notok "upgraded plugin serves"; diag "$v" ;; esac
run d plugin disable -f vol
is "disable -f" 0 "vol"

run d plugin install --grant-all-permissions --disable --alias vol2 "$R/test/vol:v1"
is "install --disable" 0 "Installed plugin"
run d plugin inspect --format '{{.Enabled}}' vol2
is "--disable leaves it disabled" 0 "false"
run d plugin install --grant-all-permissions --alias vol2 "$R/test/vol:v1"
is "install under a taken name" 1 "already exists"
run sh -c "echo n | $DOCKER -H unix://$A plugin install --alias vol3 $R/test/vol:v1"
is "install without granting the privileges" 1 "permission denied while installing plugin"
run d plugin install --grant-all-permissions "$R/test/nope:v1"
is "install of a missing remote" 1 "not found"
run d plugin ls -q
[ "$(echo "$out" | wc -l)" -eq 2 ] && ok "failed installs left nothing" || { notok "plugins after failures"; diag "$out"; }

# create from a directory, push it, remove it, install it back.
P="$T/ctx"; mkdir -p "$P/rootfs/run/docker/plugins" "$P/rootfs/data"
cp "$PD_BUILD/fixtures/volplugin" "$P/rootfs/plugin"
cfg "$P/config.json" "created here"
run d plugin create "$R/test/made" "$P"
is "create from a directory" 0 "$R/test/made"
run d plugin create "$R/test/made" "$P"
is "create under a taken name" 1 "already exists"
run d plugin push "$R/test/made"
is "push to the registry" 0 "latest: digest: sha256:"
curl -fs --noproxy '*' -o /dev/null -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$R/v2/test/made/manifests/latest" && ok "registry has the pushed manifest" || notok "registry has the manifest"
run d plugin rm "$R/test/made"
is "rm" 0 "$R/test/made"
run d plugin install --grant-all-permissions --disable "$R/test/made"
is "install what was pushed" 0 "Installed plugin"
run d plugin inspect --format '{{.Config.Description}}' "$R/test/made"
is "pushed plugin came back" 0 "created here"
run d plugin push "127.0.0.1:1/none/such"
is "push of an unknown plugin" 1 "not found"

run d plugin enable vol
run d plugin rm -f vol
is "rm -f of an enabled plugin" 0 "vol"
run d plugin rm vol2 "$R/test/made"
is "rm of two plugins" 0 "vol2"
run d plugin ls -q
[ "$rc" -eq 0 ] && [ -z "$out" ] && ok "nothing left" || { notok "plugins left"; diag "$out"; }
# X-Registry-Auth: a registry with Basic auth; the CLI sends what
# config.json holds (docker login itself needs the daemon's /auth).
reg_start "$T/regb" basic || { notok "basic registry starts"; done_testing; exit 1; }
RB="127.0.0.1:$REG_PORT"
python3 "$PD_TOP/tests/registry/push_plugin.py" --registry "http://$RB" --repo test/auth \
    --user testuser --pass testpass --plugin-binary "$PD_BUILD/fixtures/volplugin" \
    --socket vol.sock --config "$T/v1.json" >/dev/null || notok "push to the basic registry"
# Unauthorized, the CLI would ask for a login (and wait for a terminal,
# as with Docker), so ask the socket directly: 401, which triggers it.
code=$(curl -s -o "$T/body" -w '%{http_code}' --unix-socket "$A" \
    "http://x/v1.51/plugins/privileges?remote=$RB/test/auth:latest")
[ "$code" = 401 ] && ok "privileges without credentials: 401" ||
    { notok "privileges without credentials: $code"; diag "$(cat "$T/body")"; }
bad=$(printf '{"username":"testuser","password":"nope"}' | base64 | tr '+/' '-_')
code=$(curl -s -o "$T/body" -w '%{http_code}' --unix-socket "$A" -H "X-Registry-Auth: $bad" \
    "http://x/v1.51/plugins/privileges?remote=$RB/test/auth:latest")
[ "$code" = 401 ] && ok "privileges with a wrong password: 401" ||
    { notok "wrong password: $code"; diag "$(cat "$T/body")"; }
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$RB" "$(printf testuser:testpass | base64)" >"$DOCKER_CONFIG/config.json"
run d plugin install --grant-all-permissions --disable "$RB/test/auth:latest"
is "install with credentials from config.json (X-Registry-Auth)" 0 "Installed plugin"
run d plugin rm "$RB/test/auth:latest"
is "rm it" 0 ""

kill -0 "$BROKER_PID" && ok "broker alive" || notok "broker alive"
done_testing

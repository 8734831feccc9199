#!/bin/sh
# Debian's python3-docker against plugind's Docker Engine API socket,
# with a real registry on loopback (tests/api/sdk_flow.py does the calls).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/setup.sh"

/usr/bin/python3 -c 'import docker' 2>/dev/null ||
    { skip "python3-docker not installed (make deps installs it)"; done_testing; exit 0; }
[ -x /usr/bin/docker-registry ] || { skip "docker-registry not installed (make deps)"; done_testing; exit 0; }
command -v runc >/dev/null || { skip "runc not installed"; done_testing; exit 0; }
[ -x "$PD_BUILD/fixtures/volplugin" ] || { skip "volplugin fixture not built (make tests)"; done_testing; exit 0; }

T=$(mktemp -d /tmp/pdsdk.XXXXXX); track_dir "$T"; chmod 755 "$T"
track_runc "$T/b/exec/runc"; track_mounts_under "$T"
reg_start "$T/reg" anon || { notok "registry starts"; done_testing; exit 1; }
R="127.0.0.1:$REG_PORT"
push_vol_plugins "$T" || { notok "push test plugins"; done_testing; exit 1; }
P="$T/ctx"; mkdir -p "$P/rootfs/run/docker/plugins" "$P/rootfs/data"
cp "$PD_BUILD/fixtures/volplugin" "$P/rootfs/plugin"
cfg "$P/config.json" "created here"

A="$T/api.sock"
# This one turns the API on from the config file.
echo "{\"docker-api\": \"unix://$A\"}" >"$T/conf.json"
start_broker "$T/b" --config "$T/conf.json" || { notok "broker starts"; done_testing; exit 1; }
export DOCKER_CONFIG="$T/dockercfg"; mkdir -p "$DOCKER_CONFIG"
/usr/bin/python3 "$PD_TOP/tests/api/sdk_flow.py" "$A" "$R" "$P" "$T/b/exec" >"$T/out" 2>&1
rc=$?
while IFS= read -r line; do
	case $line in
	"PASS "*) ok "${line#PASS }" ;;
	"FAIL "*) notok "${line#FAIL }" ;;
	*) diag "$line" ;;
	esac
done <"$T/out"
[ $rc -eq 0 ] && ok "sdk_flow.py ran to the end" || notok "sdk_flow.py exited with $rc"
kill -0 "$BROKER_PID" && ok "broker alive" || notok "broker alive"
done_testing

# Helpers for tests/lifecycle/test_*.sh: a broker with short paths (unix
# socket paths are limited to 108 bytes), sample plugins built around
# build/fixtures/volplugin, and calls to a plugin's socket with curl.
. "$(dirname "$0")/../lib.sh"

VOLPLUGIN="$PD_BUILD/fixtures/volplugin"
[ -x "$VOLPLUGIN" ] || { echo "1..0 # SKIP $VOLPLUGIN not built (make tests)"; exit 0; }
command -v runc >/dev/null || { echo "1..0 # SKIP runc not installed"; exit 0; }
command -v curl >/dev/null || { echo "1..0 # SKIP curl not installed"; exit 0; }

# life_setup: T (short temp dir), a broker on $T/b with a config file,
# every container and mount it makes tracked for cleanup.
life_setup() {
	T=$(mktemp -d /tmp/pdl.XXXXXX); track_dir "$T"; chmod 755 "$T"
	track_runc "$T/b/exec/runc"
	track_mounts_under "$T"
	_conf='{"stop-timeout": 3}'
	echo "${LIFE_CONF:-$_conf}" >"$T/conf.json"
	start_broker "$T/b" --config "$T/conf.json" || { notok "broker starts"; done_testing; exit 1; }
	D="$T/b/data"; E="$T/b/exec"
}

# mkplugin NAME CONFIG-JSON [FILE]: a plugin dir with the fixture at
# /volplugin (and FILE at /plugin), created as NAME.
mkplugin() {
	_p="$T/src/$1"; mkdir -p "$_p/rootfs/run/docker/plugins" "$_p/rootfs/data"
	cp "$VOLPLUGIN" "$_p/rootfs/volplugin"
	[ -n "${3:-}" ] && cp "$3" "$_p/rootfs/plugin"
	printf '%s\n' "$2" >"$_p/config.json"
	ctl create "$1" "$_p" >/dev/null
}

# The usual config: a volume driver with PropagatedMount /data.
volcfg() { # volcfg [extra top-level JSON members]
	printf '{"description": "test volume plugin", "entrypoint": ["/volplugin"],
 "interface": {"socket": "vol.sock", "types": ["docker.volumedriver/1.0"]},
 "network": {"type": "host"}, "propagatedmount": "/data",
 "linux": {"capabilities": ["CAP_SYS_ADMIN"]},
 "env": [{"name": "DEBUG", "settable": ["value"], "value": "0"},
         {"name": "VOLPLUGIN_TMPFS", "settable": ["value"], "value": "1"},
         {"name": "VOLPLUGIN_MODE", "settable": ["value"], "value": ""}]%s}' "${1:+, $1}"
}

pid_of()  { ctl inspect -f '{{.Id}}' "$1"; }
sock_of() { echo "$E/plugins/$(pid_of "$1")/${2:-vol.sock}"; }
# vcall NAME CALL [BODY]: POST /CALL to the plugin, print the reply body.
vcall() { curl -sS --max-time 5 --unix-socket "$(sock_of "$1")" -X POST "http://plugin/$2" -d "${3:-{\}}"; }
# The pid runc records for the plugin's container (empty if none).
runc_pid() {
	runc --root "$E/runc" state "$(pid_of "$1")" 2>/dev/null |
	    sed -n 's/^ *"pid": *\([0-9]*\),*/\1/p'
}
now_ms() { date +%s%3N; }
# alive PID: the process exists and is not a zombie (exited plugins that
# were reparented to PID 1 may stay zombies for a while).
alive() { [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
# plugin_procs [ID...]: pids of processes in the cgroup of the given
# plugins, or of every plugin of this broker (runc puts each plugin in
# the cgroup /plugind/<id>).
plugin_procs() {
	if [ $# -gt 0 ]; then _ids=$(echo "$@" | tr ' ' '|')'|'
	else _ids=$(ctl ls -q --no-trunc | tr '\n' '|'); fi
	[ -n "$_ids" ] || return 0
	grep -lE ":/plugind/(${_ids%|})\$" /proc/[0-9]*/cgroup 2>/dev/null |
	    sed 's|/proc/\([0-9]*\)/cgroup|\1|' | sort -un
}

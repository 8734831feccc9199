#!/bin/sh
# Terminal-safe output: a plugin config whose every string holds ESC, CR,
# BEL, BS, DEL, C1 and bidi bytes, pushed to a real registry; privileges,
# install, ls, inspect (JSON and -f), ls --format, events and errors must
# print no raw control byte (common/termsafe.c).  The y/N prompt runs in a
# real terminal (tmux): every privilege line, the read-write bind of / to
# /host among them, is still on screen after the hostile capability name.
. "$(dirname "$0")/../lib.sh"

command -v docker-registry >/dev/null || [ -x /usr/bin/docker-registry ] ||
    { skip "docker-registry not installed (make deps installs it)"; done_testing; exit 0; }
T=$(mktemp -d /tmp/pd-termsafe.XXXXXX); track_dir "$T"; chmod 755 "$T"
track_runc "$T/b/exec/runc"; track_mounts_under "$T"
REG="$PD_TOP/tests/registry"
PUSH="python3 $REG/push_plugin.py"

# rawcheck NAME: stdin must hold no byte a terminal interprets: C0 but
# \n and \t, DEL, C1 (U+0080-U+009F), bidi overrides, invalid UTF-8.
cat >"$T/raw.py" <<'PY'
import sys
b = sys.stdin.buffer.read()
bad = [c for c in b if (c < 0x20 and c not in (9, 10)) or c == 0x7f]
try:
    s = b.decode("utf-8")
except UnicodeDecodeError as e:
    print("invalid UTF-8 at %d" % e.start); sys.exit(1)
bad += [c for c in s if 0x80 <= ord(c) <= 0x9f or 0x202a <= ord(c) <= 0x202e
        or 0x2066 <= ord(c) <= 0x2069]
if bad:
    print("raw bytes: %r" % bad[:8]); sys.exit(1)
if len(sys.argv) > 1 and sys.argv[1] not in s:
    print("no %r in the output" % sys.argv[1]); sys.exit(1)
PY
# rawcheck "description" WANT command...: output (stdout and stderr) is
# clean and shows WANT (the visible escape of ESC, usually).
rawcheck() {
	_d=$1 _w=$2; shift 2
	"$@" >"$T/out" 2>&1
	if _r=$(python3 "$T/raw.py" "$_w" <"$T/out"); then ok "$_d"
	else notok "$_d: $_r"; diag "$(head -c 600 "$T/out" | od -c | head -n 8)"; fi
}

reg_start "$T/reg" anon || { notok "registry starts"; done_testing; exit 1; }
R="127.0.0.1:$REG_PORT"
P="$T/p"; mkdir -p "$P/rootfs/bin" "$P/rootfs/run/docker/plugins"
cp /bin/busybox "$P/rootfs/bin/"; ln -s busybox "$P/rootfs/bin/sh"
# H: what a hostile registry puts into strings (JSON escapes).
python3 - "$T" <<'PY'
import json, sys
H = "\u001b[31m\r\u001b[2K\u0007\u0008\u007f\u009b2J\u202etxt\u2066"
ERASE = "\r\u001b[2K\u001b[1A\u001b[2K\u001b[1A\u001b[2K"
cfg = {
    "Description": "desc" + H, "Documentation": "https://doc/" + H,
    "Entrypoint": ["/bin/sh", "-c", "arg" + H],
    "Interface": {"Socket": "s" + H + ".sock", "Types": ["docker.volumedriver/1.0"]},
    "Network": {"Type": "host" + H},
    "Mounts": [
        {"Name": "root", "Source": "/", "Destination": "/host", "Type": "bind",
         "Options": ["rbind", "rw"]},
        {"Name": "m" + H, "Description": "md" + H,
         "Destination": "/t", "Type": "tmpfs"}],
    "Env": [{"Name": "E" + H, "Description": "ed" + H, "Value": "v" + H,
             "Settable": ["value"]}],
    "Args": {"Name": "args" + H, "Description": "ad" + H, "Value": ["a" + H],
             "Settable": ["value"]},
    "Linux": {"Capabilities": ["CAP_SYS_ADMIN", "CAP_" + ERASE + H],
              "Devices": [{"Name": "d" + H, "Path": "/dev/null"}]},
}
json.dump(cfg, open(sys.argv[1] + "/cfg-hostile.json", "w"))
# C0 in a path is refused before anything else is said of it; C1 and
# bidi are not C0, so this one reaches the path rules and is echoed.
bad = dict(cfg, Mounts=[{"Name": "x", "Destination": "/../\u009b2J\u202etxt\u2066", "Type": "tmpfs"}])
json.dump(bad, open(sys.argv[1] + "/cfg-baddst.json", "w"))
# Paths holding control bytes are refused by the privilege model
# (docs/GRANTS.md); the refusal itself must print escaped.
badsrc = dict(cfg, Mounts=[{"Name": "t", "Source": ERASE + "/tmp", "Destination": "/t",
                            "Type": "bind", "Options": ["rbind"]}])
json.dump(badsrc, open(sys.argv[1] + "/cfg-badsrc.json", "w"))
open(sys.argv[1] + "/desc", "w", newline="").write(cfg["Description"])
PY
$PUSH --registry "http://$R" --repo test/hostile --rootfs "$P/rootfs" --config "$T/cfg-hostile.json" >/dev/null ||
    notok "push test/hostile"
$PUSH --registry "http://$R" --repo test/baddst --rootfs "$P/rootfs" --config "$T/cfg-baddst.json" >/dev/null ||
    notok "push test/baddst"
$PUSH --registry "http://$R" --repo test/badsrc --rootfs "$P/rootfs" --config "$T/cfg-badsrc.json" >/dev/null ||
    notok "push test/badsrc"
start_broker "$T/b" || { notok "broker starts"; done_testing; exit 1; }
REF="$R/test/hostile"

rawcheck "privileges: no raw control byte" '\x1b[2K' ctl privileges "$REF"
grep -qF ' - mount: ["type=bind" "source=/" "destination=/host"' "$T/out" && ok 'privileges: the bind of / is listed whole, quoted' ||
    { notok "privileges: mount / line"; diag "$(cat "$T/out")"; }
grep -qF '"CAP_\r\x1b[2K\x1b[1A\x1b[2K\x1b[1A\x1b[2K' "$T/out" &&
    ok "privileges: the hostile capability name is shown escaped and quoted" ||
    { notok "privileges: escaped capability"; diag "$(cat "$T/out")"; }
grep -qF '\u009b2J\u202etxt\u2066' "$T/out" && ok "privileges: C1 and bidi as \\uXXXX" ||
    notok "privileges: C1/bidi escapes"
rawcheck "privileges: a control byte in a mount source is refused, the error escaped" \
    'must not contain control characters' ctl privileges "$R/test/badsrc"
rawcheck "install: progress and result lines clean" 'Installed plugin' \
    ctl install --disable --grant-all-permissions "$REF"
rawcheck "ls: table clean" 'desc\x1b[31m' ctl ls
rawcheck "ls --no-trunc: clean" '\u202etxt' ctl ls --no-trunc
rawcheck "ls --format template: clean" '\x7f' ctl ls --format '{{.Name}} {{.Description}}'
rawcheck "ls --format json: clean" '\u009b' ctl ls --format json
rawcheck "inspect: clean" '\u001B[31m' ctl inspect "$REF"
# The JSON is still JSON, and decodes to the very bytes the registry sent.
ctl inspect "$REF" >"$T/insp.json" 2>&1
python3 - "$T/insp.json" "$T/desc" <<'PY' && ok "inspect JSON decodes to the original strings" || notok "inspect JSON not faithful"
import json, sys
j = json.load(open(sys.argv[1]))
got, want = j[0]["Config"]["Description"], open(sys.argv[2], newline="").read()
assert got == want, (got, want)
PY
for f in '{{.Config.Description}}' '{{.Config.Documentation}}' '{{json .Config.Entrypoint}}' \
    '{{.Config.Interface.Socket}}' '{{json .Config.Mounts}}' '{{json .Config.Env}}' \
    '{{json .Config.Args}}' '{{json .Config.Linux}}' '{{.Config.Network.Type}}' \
    '{{json .Settings}}' '{{json .}}'; do
	rawcheck "inspect -f '$f': clean" '[31m' ctl inspect -f "$f" "$REF"
done
rawcheck "events: clean" 'install' ctl events --since 1h --until 0s
rawcheck "events --format json: clean" 'install' ctl events --since 1h --until 0s --format json
rawcheck "errors: a hostile config's error is escaped" 'must be a clean path' \
    ctl install --disable --grant-all-permissions "$R/test/baddst"
grep -qF '\u009b2J\u202etxt' "$T/out" && ok "errors: C1 and bidi in the hostile destination are escaped" ||
    { notok "errors: escape"; diag "$(cat "$T/out")"; }
rawcheck "errors: a hostile name in 'not found' is escaped" 'not found' \
    ctl inspect "$(printf 'x\033[2J\r')"
rawcheck "check: report clean" '' ctl check

# logs: a running plugin (the volplugin fixture) prints what a client
# sent it.  Into a file the bytes stay raw; on a terminal they are escaped.
cat >"$T/cfg-vol.json" <<'JSON'
{"Description": "vol", "Entrypoint": ["/plugin"],
 "Interface": {"Socket": "vol.sock", "Types": ["docker.volumedriver/1.0"]}}
JSON
if [ ! -x "$PD_BUILD/fixtures/volplugin" ] || ! command -v curl >/dev/null; then
	skip "logs: build/fixtures/volplugin (make tests) and curl needed"
elif ! $PUSH --registry "http://$R" --repo test/vol --plugin-binary "$PD_BUILD/fixtures/volplugin" \
    --socket vol.sock --config "$T/cfg-vol.json" >/dev/null; then
	notok "push test/vol"
elif ! ctl install --grant-all-permissions --alias vol "$R/test/vol" >/dev/null 2>&1; then
	notok "install and enable the volplugin"
else
	ID=$(ctl inspect -f '{{.Id}}' vol)
	printf 'x\033]0;pwned\007\r\033[2K\302\233' >"$T/body"
	ln -s "$T/b/exec/plugins/$ID" "$T/s"	# the full path is too long for sun_path
	curl -sS --max-time 5 --unix-socket "$T/s/vol.sock" -X POST \
	    "http://p/VolumeDriver.Get" --data-binary @"$T/body" >"$T/curl.out" 2>&1 || diag "curl: $(cat "$T/curl.out")"
	sleep 0.5
	ctl logs vol >"$T/logs.raw" 2>&1
	grep -q "$(printf '\033]0;pwned')" "$T/logs.raw" && ok "logs into a file: the plugin's bytes unchanged" ||
	    { notok "logs raw"; diag "$(od -c "$T/logs.raw" | head -5)"; }
	LOGTTY=1
fi
# screen_wait SESSION TEXT: the pane's screen into $T/screen until it
# shows TEXT (at most 10 s).
screen_wait() {
	i=0
	while [ $i -lt 100 ]; do
		tmux -L "$TS" capture-pane -p -t "$1" >"$T/screen" 2>/dev/null
		grep -qF -- "$2" "$T/screen" && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

# The prompt in a real terminal.
if ! command -v tmux >/dev/null; then
	skip "tmux not installed (make deps installs it)"
else
	TS="pd-termsafe-$$"
	# A private server (-L), 200x50, running the install; answered "n".
	tmux -L "$TS" new-session -d -x 200 -y 50 -s prompt \
	    "$CTL -H unix://$SOCK install --alias prompted $REF; sleep 30"
	track_pid "$(tmux -L "$TS" display-message -p '#{pid}')"
	if screen_wait prompt 'Do you grant'; then
		ok "tmux: the y/N prompt appears"
	else
		notok "tmux: no prompt"; diag "$(cat "$T/screen")"
	fi
	for want in 'is requesting the following privileges:' ' - network: ["host' \
	    ' - mount: ["type=bind" "source=/" "destination=/host"' ' - mount: ["type=tmpfs"' \
	    ' - device: ["/dev/null' ' - capabilities: ["CAP_SYS_ADMIN" "CAP_\r\x1b[2K\x1b[1A'; do
		_l=$(printf '%s' "$want" | tr -d '\\')
		grep -qF -- "$want" "$T/screen" && ok "tmux: still on screen: $_l" ||
		    { notok "tmux: missing: $_l"; diag "$(cat "$T/screen")"; }
	done
	tmux -L "$TS" send-keys -t prompt n Enter
	screen_wait prompt 'were not granted' && ok "tmux: answering n refuses the install" ||
	    { notok "tmux: refusal"; diag "$(cat "$T/screen")"; }
	expect_fail "tmux: nothing was installed" "not found" ctl inspect prompted
	if [ -n "${LOGTTY:-}" ]; then
		tmux -L "$TS" new-session -d -x 200 -y 20 -s logs \
		    "$CTL -H unix://$SOCK logs vol; sleep 30"
		screen_wait logs 'VolumeDriver.Get'
		grep -qF 'x\x1b]0;pwned\a\r\x1b[2K\u009b' "$T/screen" &&
		    ok "logs on a terminal: the plugin's control bytes escaped" ||
		    { notok "logs on a terminal"; diag "$(cat "$T/screen")"; }
	else
		skip "logs on a terminal: no running plugin"
	fi
	tmux -L "$TS" kill-server 2>/dev/null
fi
done_testing

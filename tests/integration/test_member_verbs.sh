#!/bin/sh
# What members of group plugind may do, and what stays with root.
#  - Every verb of the verb table (PD_VERBS, common/proto.h) is run as a member
#    (uid 65534 with group plugind as a supplementary group): the verbs
#    docs/PRIVSEP.md lists for members succeed, every other one is refused
#    with "needs root".  A verb the walk does not know fails the test.
#  - Values root set (install KEY=VALUE, set, args) are hidden from
#    members in inspect, ls, events and the Engine API; root sees them.
#  - broker.log and audit.log name the keys, never the values (set,
#    install KEY=VALUE, push --password-stdin).
. "$(dirname "$0")/../lib.sh"

command -v setpriv >/dev/null || { skip "setpriv (util-linux) not installed"; done_testing; exit 0; }
G=$(getent group plugind | cut -d: -f3)
[ -n "$G" ] || { skip "no group plugind (make deps creates it)"; done_testing; exit 0; }
command -v docker-registry >/dev/null || [ -x /usr/bin/docker-registry ] ||
    { skip "docker-registry not installed (make deps installs it)"; done_testing; exit 0; }
T=$(mktemp -d /tmp/pd-member.XXXXXX); track_dir "$T"; chmod 755 "$T"
RAW="$PD_BUILD/tests/tools/rawctl"
member() { setpriv --reuid 65534 --regid 65534 --groups "$G" "$@"; }
mctl() { member "$CTL" -H "unix://$SOCK" "$@"; }
S1=s3cr3t-install-4711 S2=s3cr3t-set-4712 S3=s3cr3t-arg-4713 S4=s3cr3t-pass-4714

reg_start "$T/reg" anon || { notok "registry starts"; done_testing; exit 1; }
R="127.0.0.1:$REG_PORT"
P="$T/p"; mkdir -p "$P/rootfs/bin" "$P/rootfs/run/docker/plugins"
cp /bin/busybox "$P/rootfs/bin/"
cat >"$P/config.json" <<'JSON'
{"Description": "secrets", "Entrypoint": ["/bin/busybox", "sleep", "1000"],
 "Interface": {"Socket": "t.sock", "Types": ["docker.volumedriver/1.0"]},
 "Env": [{"Name": "TOKEN", "Settable": ["value"], "Value": "none"},
         {"Name": "PASSWORD", "Settable": ["value"], "Value": ""}],
 "Args": {"Name": "args", "Settable": ["value"], "Value": ["--verbose"]}}
JSON
python3 "$PD_TOP/tests/registry/push_plugin.py" --registry "http://$R" --repo test/sec \
    --rootfs "$P/rootfs" --config "$P/config.json" >/dev/null || notok "push test/sec"
start_broker "$T/b" --docker-api "unix://$T/api.sock" || { notok "broker starts"; done_testing; exit 1; }
chmod 755 "$T/b" "$T/b/exec"
REF="$R/test/sec:latest"

ctl install --disable --grant-all-permissions "$REF" "TOKEN=$S1" >/dev/null 2>&1 ||
    notok "root installs with TOKEN=..."
ctl set "$REF" "TOKEN=$S2" "PASSWORD=$S2" "args=--token $S3" || notok "root sets TOKEN, PASSWORD, args"
out=$(ctl inspect -f '{{json .Settings.Env}} {{json .Settings.Args}}' "$REF")
case "$out" in *"TOKEN=$S2"*"$S3"*) ok "root sees the values it set" ;; *) notok "root inspect"; diag "$out" ;; esac

# -- The verb walk.  The member set is read from docs/PRIVSEP.md.
doc=$(grep '^| member of group' "$PD_TOP/docs/PRIVSEP.md" | cut -d'|' -f3 |
    grep -o '`[a-z-]*`' | tr -d '`' | tr '\n' ' ')
[ -n "$doc" ] && ok "docs/PRIVSEP.md lists the member verbs: $doc" || notok "no member row in docs/PRIVSEP.md"
verbs=$(sed -n 's/^	V([A-Z]*,[	 ]*[a-z_]*,[	 ]*"\([a-z-]*\)".*/\1/p' "$PD_TOP/common/proto.h")
[ "$(echo "$verbs" | wc -w)" -ge 16 ] && ok "verb table read: $(echo $verbs)" || notok "verb table: $verbs"
C="$T/ctx"; mkdir -p "$C/rootfs"; cp "$P/config.json" "$C/"; chmod -R a+rX "$C"
export DOCKER_CONFIG="$T/mcfg"; mkdir -p "$DOCKER_CONFIG"; chown 65534:65534 "$DOCKER_CONFIG"	# login saves here
for v in $verbs; do
	case $v in
	info) set -- info ;;
	ls) set -- ls ;;
	inspect) set -- inspect "$REF" ;;
	install) set -- install --disable --grant-all-permissions --alias m1 "$REF" ;;
	enable) set -- enable "$REF" ;;
	disable) set -- disable "$REF" ;;
	rm) set -- rm "$REF" ;;
	set) set -- set "$REF" TOKEN=x ;;
	push) set -- push "$REF" ;;
	create) set -- create m2 "$C" ;;
	upgrade) set -- upgrade --grant-all-permissions "$REF" ;;
	privileges) set -- privileges "$REF" ;;
	helper-check) set -- debug check-helper fetcher ;;
	logs) set -- logs "$REF" ;;
	events) set -- events --since 1h --until 0s ;;
	check) set -- check ;;
	login) set -- login -u member -p x "$R" ;;	# anonymous registry: /v2/ is 200
	verify) set -- verify --key /etc/hostname "$REF" ;;	# root only: the broker reads the key
	# sign: push --sign-by's second request; pluginctl would stop at push.
	sign) set -- RAW 118 0 "$REF" "" "sha256:$(printf '%064d' 0)" '{}' AAAA ;;
	*) notok "verb $v: the walk does not know it (add it here and to docs/PRIVSEP.md)"; continue ;;
	esac
	if [ "$1" = RAW ]; then
		shift; out=$(member "$RAW" "$SOCK" "$@" </dev/null 2>&1); rc=$?
	else
		out=$(mctl "$@" </dev/null 2>&1); rc=$?
	fi
	case " $doc " in
	*" $v "*)
		[ $rc -eq 0 ] && ok "member may: $v" || { notok "member may: $v (exit $rc)"; diag "$out"; } ;;
	*)
		case "$out" in *"needs root"*) [ $rc -ne 0 ] && ok "member refused: $v" ||
		    notok "member refused: $v (exit 0)" ;;
		*) notok "member refused: $v"; diag "$out" ;; esac ;;
	esac
done
expect_fail "member: check --repair stays root's" "needs root" mctl check --repair
grep -q '"uid":65534,.*"verb":"logs".*"permission denied"' "$T/b/data/audit.log" &&
    ok "a refused root-only verb (logs) is audited" || notok "logs refusal not audited"
[ "$(ctl inspect -f '{{.Name}}' "$REF")" = "$REF" ] && ! ctl inspect m1 >/dev/null 2>&1 &&
    ok "the refused verbs changed nothing" || notok "a refused verb had an effect"

# -- Secrets: nothing root set reaches a member.
nosecret() { # nosecret "description" command...: no value in the output
	_d=$1; shift
	_o=$("$@" 2>&1)
	case "$_o" in
	*"$S1"*|*"$S2"*|*"$S3"*|*"$S4"*) notok "$_d: a value leaked"; diag "$_o" ;;
	*"TOKEN=<redacted>"*|*'"<redacted>"'*|*"<redacted>"*) ok "$_d" ;;
	*) notok "$_d: no redacted key shown"; diag "$_o" ;;
	esac
}
nosecret "member inspect: TOKEN=<redacted>" mctl inspect "$REF"
nosecret "member inspect -f Settings" mctl inspect -f '{{json .Settings}}' "$REF"
nosecret "member inspect -f Settings.Args" mctl inspect -f '{{json .Settings.Args}}' "$REF"
nosecret "member ls reply (raw protocol)" member "$RAW" "$SOCK" 101 0
nosecret "member inspect reply (raw protocol)" member "$RAW" "$SOCK" 102 0 "$REF"
out=$(mctl events --since 1h --until 0s --format json 2>&1)
case "$out" in *"$S1"*|*"$S2"*|*"$S3"*) notok "member events: a value leaked"; diag "$out" ;;
*'"Action":"set"'*) ok "member events: the set is there, no value" ;; *) notok "member events"; diag "$out" ;; esac
if command -v curl >/dev/null; then
	api() { curl -sS --max-time 10 --unix-socket "$T/api.sock" "http://d/v1.43$1"; }
	nosecret "member Engine API GET /plugins" member sh -c "curl -sS --max-time 10 --unix-socket $T/api.sock http://d/v1.43/plugins"
	nosecret "member Engine API GET /plugins/NAME/json" member sh -c "curl -sS --max-time 10 --unix-socket $T/api.sock http://d/v1.43/plugins/$REF/json"
	out=$(api /plugins)
	case "$out" in *"TOKEN=$S2"*) ok "root Engine API still sees the value" ;; *) notok "root API"; diag "$out" ;; esac
else
	skip "curl missing"; skip "curl missing"; skip "curl missing"
fi

# -- The logs name keys, never values.
echo "$S4" | ctl push --username someone --password-stdin "$REF" >/dev/null 2>&1 || true
for f in "$T/b/broker.log" "$T/b/data/audit.log"; do
	n=$(basename "$f")
	if grep -qE "$S1|$S2|$S3|$S4" "$f"; then
		notok "$n holds a value"; diag "$(grep -E "$S1|$S2|$S3|$S4" "$f" | head -3)"
	else
		ok "$n holds no value (install, set, args, push password)"
	fi
done
grep -q 'set \["TOKEN","PASSWORD","args"\] on plugin' "$T/b/broker.log" &&
    ok "broker.log names the keys set" || { notok "broker.log set line"; diag "$(grep 'set ' "$T/b/broker.log")"; }
grep -q '"verb":"set".*"keys":\["TOKEN","PASSWORD","args"\]' "$T/b/data/audit.log" &&
    ok "audit.log names the keys set" || { notok "audit set keys"; diag "$(cat "$T/b/data/audit.log")"; }
grep -q '"verb":"install".*"keys":\["TOKEN"\]' "$T/b/data/audit.log" &&
    ok "audit.log names the key given at install" || { notok "audit install keys"; diag "$(cat "$T/b/data/audit.log")"; }
done_testing

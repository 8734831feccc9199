#!/bin/sh
# The socket directory against a hostile plugin (docs/LIFECYCLE.md): a
# plugin with CAP_SYS_ADMIN mounts a tmpfs below /run/docker/plugins.  On
# a host whose exec root is on its own shared mount (systemd's /run,
# reproduced here by making the exec root an rshared bind mount of
# itself, apart from the data root's mount, which runc makes private), an
# rshared socket-dir bind would carry that mount to the host; bound
# rprivate it stays in the plugin's namespace.  A mount that reached the host anyway
# is detached by disable, and disable + enable keeps working.
. "$(dirname "$0")/plugins.sh"

T=$(mktemp -d /tmp/pdl.XXXXXX); track_dir "$T"; chmod 755 "$T"
track_mounts_under "$T"
# Safety: a bind of the test's own temp dir onto itself, detached at exit.
mkdir -p "$T/b/exec"
mount --bind "$T/b/exec" "$T/b/exec" && mount --make-rshared "$T/b/exec" ||
    { notok "make the exec root an rshared mount"; done_testing; exit 1; }
track_runc "$T/b/exec/runc"
echo '{"stop-timeout": 3}' >"$T/conf.json"
start_broker "$T/b" --config "$T/conf.json" || { notok "broker starts"; done_testing; exit 1; }
D="$T/b/data"; E="$T/b/exec"
awk -v p="$E" '$5 == p { print $0 }' /proc/self/mountinfo | grep -q 'shared:' &&
    ok "the exec root lies on a shared mount (as on a systemd host)" || notok "shared mount"

mkplugin evil "$(volcfg)" || notok "create"
ctl set evil VOLPLUGIN_MODE=mountsock || notok "set mode"
ID=$(pid_of evil)
out=$(ctl enable evil 2>&1) || { notok "enable"; diag "$out"; }
P=$(runc_pid evil)
grep -q ' /run/docker/plugins/evil ' "/proc/$P/mountinfo" 2>/dev/null &&
    ok "the plugin mounted a tmpfs below its socket directory (seen in its namespace)" ||
    { notok "plugin mount"; diag "$(ctl logs evil)"; }
python3 - "$E/bundles/$ID/config.json" <<'PY' && ok "spec: socket dir bound rbind,rprivate,nosuid,nodev,noexec" || notok "socket dir options"
import json, sys
s = json.load(open(sys.argv[1]))
m = {x["destination"]: x for x in s["mounts"]}
assert m["/run/docker/plugins"]["options"] == ["rbind", "rprivate", "nosuid", "nodev", "noexec"], m["/run/docker/plugins"]
PY
n=$(mounts_under "$E/plugins/$ID" | wc -l)
[ "$n" = 0 ] && ok "the plugin's mount did not reach the host's mountinfo" ||
    { notok "host sees $n mounts below the socket dir"; diag "$(mounts_under "$E")"; }
[ -S "$E/plugins/$ID/vol.sock" ] &&
    ok "the plugin's socket is still visible on the host" || notok "socket on the host"
mounts=$(awk '$5 == "/run/docker/plugins" { print $6 }' "/proc/$P/mountinfo")
case ",$mounts," in *,nosuid,*) case ",$mounts," in *,nodev,*) case ",$mounts," in *,noexec,*)
	ok "inside the plugin /run/docker/plugins is nosuid,nodev,noexec ($mounts)" ;;
	*) notok "noexec: $mounts" ;; esac ;; *) notok "nodev: $mounts" ;; esac ;; *) notok "nosuid: $mounts" ;; esac

# An outside mount on the host below the socket directory (as an rshared
# bind left it): disable must detach it, or the removal stops there.
mkdir "$E/plugins/$ID/stray" && mount -t tmpfs stray "$E/plugins/$ID/stray" || notok "stray mount"
out=$(ctl disable evil 2>&1) && ok "disable with a mount below the socket dir" || { notok "disable"; diag "$out"; }
[ -z "$(mounts_under "$E/plugins")" ] && ok "disable detached every mount below the socket dir" ||
    { notok "mounts left"; diag "$(mounts_under "$E")"; }
[ ! -e "$E/plugins/$ID" ] && ok "disable removed the socket dir" || notok "socket dir left"
out=$(ctl enable evil 2>&1) && ok "enable after disable works" || { notok "re-enable"; diag "$out"; }
[ "$(ctl inspect -f '{{.Enabled}}' evil)" = true ] && [ -S "$E/plugins/$ID/vol.sock" ] &&
    ok "the plugin runs again and listens" || notok "second run"
[ -z "$(mounts_under "$E/plugins")" ] && ok "second run: nothing mounted below the socket dir on the host" ||
    notok "second run host mounts"
out=$(ctl disable evil 2>&1) || { notok "second disable"; diag "$out"; }
ctl rm evil >/dev/null || notok "rm"
done_testing

#!/bin/sh
# Enable failures say why (USERS item 1), and leave nothing behind: the
# plugin stays disabled, with no runtime state, mounts or directories.
. "$(dirname "$0")/plugins.sh"
life_setup

base='"interface": {"socket": "vol.sock", "types": ["docker.volumedriver/1.0"]}'
nothing_left() { # nothing_left NAME: disabled, no traces of a run
	_id=$(pid_of "$1")
	[ "$(ctl inspect -f '{{.Enabled}}' "$1")" = false ] && [ ! -e "$E/plugins/$_id" ] &&
	    [ ! -e "$E/bundles/$_id" ] && [ ! -e "$E/runc/$_id" ] && [ -z "$(mounts_under "$D/plugins/$_id")" ]
}

mkplugin crash "{\"entrypoint\": [\"/volplugin\"], $base, \"propagatedmount\": \"/data\",
  \"env\": [{\"name\": \"VOLPLUGIN_MODE\", \"value\": \"crash\"}]}"
out=$(ctl enable crash 2>&1)
case "$out" in *"plugin crash:latest exited with status 3 before it listened on /run/docker/plugins/vol.sock"*)
	ok "a crash at start names the exit status" ;; *) notok "crash status"; diag "$out" ;; esac
case "$out" in *"| volplugin: fatal: cannot reach the storage backend"*) ok "... and shows the last lines of its stderr" ;;
*) notok "crash stderr"; diag "$out" ;; esac
nothing_left crash && ok "crashed plugin left disabled, nothing left (runc state, mounts, dirs)" || notok "crash leftovers"
ctl logs crash | grep -q 'cannot reach the storage backend' && ok "logs keep the failed run's output" || notok "logs of crash"

# An aarch64 ELF header as entrypoint.
printf '\177ELF\002\001\001\000\000\000\000\000\000\000\000\000\002\000\267\000\001\000\000\000' >"$T/arm"
head -c 40 /dev/zero >>"$T/arm"; chmod 755 "$T/arm"
mkplugin arm "{\"entrypoint\": [\"/plugin\"], $base}" "$T/arm"
expect_fail "foreign-architecture entrypoint" "is built for another architecture (aarch64" ctl enable arm
nothing_left arm && ok "nothing left after the architecture failure" || notok "arm leftovers"

# Never binds: the timeout, with the plugin's output.
mkplugin never "{\"entrypoint\": [\"/volplugin\"], $base, \"env\": [{\"name\": \"VOLPLUGIN_MODE\", \"value\": \"never\"}]}"
t0=$(now_ms)
out=$(ctl enable --timeout 2 never 2>&1)
el=$(($(now_ms) - t0))
case "$out" in *"did not listen on /run/docker/plugins/vol.sock within 2 s (timeout"*'mode "never"'*)
	ok "a plugin that never binds: timeout message with its output" ;; *) notok "timeout"; diag "$out" ;; esac
[ $el -ge 1900 ] && [ $el -lt 4500 ] && ok "--timeout 2 is honoured (${el} ms)" || notok "timeout took $el ms"
nothing_left never && ok "nothing left after the timeout (the process is killed)" || notok "never leftovers"
[ -z "$(plugin_procs)" ] && ok "no plugin process survives a failed enable" || notok "survivors: $(plugin_procs)"

# Slow start: readiness by connect(), no fixed sleeps.
mkplugin slow "{\"entrypoint\": [\"/volplugin\"], $base, \"env\": [{\"name\": \"VOLPLUGIN_MODE\", \"value\": \"slow=1200\"}]}"
t0=$(now_ms); ctl enable slow >/dev/null; rc=$?; el=$(($(now_ms) - t0))
[ $rc = 0 ] && [ $el -ge 1200 ] && [ $el -lt 2500 ] && ok "a slow plugin is ready as soon as it listens (${el} ms for a 1200 ms start)" ||
    notok "slow start rc=$rc ${el} ms"
ctl disable slow >/dev/null

mkplugin nosrc "{\"entrypoint\": [\"/volplugin\"], $base,
  \"mounts\": [{\"name\": \"state\", \"source\": \"$T/does-not-exist\", \"destination\": \"/state\", \"type\": \"bind\", \"options\": [\"rbind\"]}]}"
expect_fail "missing bind-mount source is named" "mount \"state\": source path $T/does-not-exist does not exist" ctl enable nosrc
nothing_left nosrc && ok "nothing left after the mount failure" || notok "nosrc leftovers"
mkplugin nullsrc "{\"entrypoint\": [\"/volplugin\"], $base,
  \"mounts\": [{\"name\": \"scratch\", \"source\": null, \"destination\": \"/scratch\", \"type\": \"bind\", \"settable\": [\"source\"]}]}"
expect_fail "null mount source (SPEC 1), naming the mount" 'mount source is not specified (mount "scratch" at /scratch' ctl enable nullsrc
nothing_left nullsrc && ok "nothing left after the null source" || notok "nullsrc leftovers"

mkplugin noent "{\"entrypoint\": [\"/bin/missing\"], $base}"
expect_fail "missing entrypoint" "entrypoint /bin/missing does not exist in the plugin rootfs" ctl enable noent
cp /bin/true "$T/dyn"
mkplugin dyn "{\"entrypoint\": [\"/plugin\"], $base}" "$T/dyn"
expect_fail "dynamic entrypoint without its loader" "is dynamically linked and cannot start: dynamic loader" ctl enable dyn
printf '#!/bin/sh\nexec /volplugin\n' >"$T/script"; chmod 755 "$T/script"
mkplugin script "{\"entrypoint\": [\"/plugin\"], $base}" "$T/script"
expect_fail "script whose interpreter is missing" "interpreter /bin/sh does not exist in the plugin rootfs" ctl enable script
printf 'not a program\n' >"$T/text"; chmod 755 "$T/text"
mkplugin text "{\"entrypoint\": [\"/plugin\"], $base}" "$T/text"
expect_fail "entrypoint that is not a program" "exec format error: entrypoint /plugin is neither an ELF binary nor a #! script" ctl enable text
# A bare entrypoint is looked up in the plugin's PATH, as runc does.
mkplugin baretext "{\"entrypoint\": [\"plugin\"], $base,
  \"env\": [{\"name\": \"PATH\", \"value\": \"/nowhere:/\"}]}" "$T/text"
expect_fail "the first PATH directory that has it decides, runnable or not" "entrypoint //plugin is neither an ELF binary" ctl enable baretext
cp "$VOLPLUGIN" "$T/noexecbit"; chmod 644 "$T/noexecbit"
mkplugin modes "{\"entrypoint\": [\"/plugin\"], $base}" "$T/noexecbit"
expect_fail "entrypoint without execute permission" "entrypoint /plugin is not executable (mode 0644)" ctl enable modes
mkplugin badcap "{\"entrypoint\": [\"/volplugin\"], $base, \"linux\": {\"capabilities\": [\"CAP_FLY\"]}}"
expect_fail "unknown capability" 'unknown capability "CAP_FLY"' ctl enable badcap
mkplugin nodev "{\"entrypoint\": [\"/volplugin\"], $base, \"linux\": {\"devices\": [{\"name\": \"fuse\", \"path\": null}]}}"
expect_fail "null device path (SPEC 1: Docker dereferences nil)" 'device path is not specified (device "fuse")' ctl enable nodev
mkplugin bare "{\"entrypoint\": [\"volplugin\"], $base}"
expect_fail "bare entrypoint name looked up in PATH" "entrypoint volplugin is not found in the plugin's PATH" ctl enable bare

# A rootfs that plants symlinks where the runtime mounts: replaced, the
# host is untouched (initlayer, fd-relative).
mkdir -p "$T/victim"; echo keep >"$T/victim/hosts"
P="$T/src/evil"; mkdir -p "$P/rootfs/etc" "$P/rootfs/run/docker/plugins"; cp "$VOLPLUGIN" "$P/rootfs/volplugin"
ln -s "$T/victim/hosts" "$P/rootfs/etc/hosts"; ln -s "$T/victim" "$P/rootfs/proc"
printf '%s\n' "{\"entrypoint\": [\"/volplugin\"], $base, \"network\": {\"type\": \"host\"}}" >"$P/config.json"
ctl create evil "$P" >/dev/null
check "plugin with symlinks at mount points enables" ctl enable evil
EID=$(pid_of evil)
[ "$(cat "$T/victim/hosts")" = keep ] && [ "$(ls "$T/victim")" = hosts ] && ok "host files behind rootfs symlinks untouched" || notok "victim changed"
[ ! -L "$D/plugins/$EID/rootfs/etc/hosts" ] && [ ! -L "$D/plugins/$EID/rootfs/proc" ] && ok "rootfs symlinks replaced by plain entries" || notok "symlinks kept"
ctl rm -f evil >/dev/null

[ "$(ctl ls --filter enabled=true -q)" = "" ] && ok "no failed plugin is listed as enabled" || notok "enabled: $(ctl ls --filter enabled=true)"
[ -z "$(ls -A "$E/runc")$(ls -A "$E/plugins")$(ls -A "$E/bundles")" ] && ok "no runtime leftovers after all failures" ||
    { notok "exec leftovers"; diag "$(ls -R "$E")"; }
[ -z "$(mounts_under "$D")" ] && ok "no mounts left after all failures" || notok "mounts: $(mounts_under "$D")"
kill -0 $BROKER_PID && ok "broker alive" || notok "broker died"
stop_broker $BROKER_PID

# A data root on a noexec filesystem.
mkdir -p "$T/nx"; mount -t tmpfs -o noexec,size=64m tmpfs "$T/nx" && track_mount "$T/nx" || { notok "mount tmpfs"; done_testing; exit 1; }
start_broker "$T/nx/b" --config "$T/conf.json" || notok "broker on noexec data root"
E="$T/nx/b/exec"; D="$T/nx/b/data"; track_runc "$E/runc"
mkplugin nx "{\"entrypoint\": [\"/volplugin\"], $base}"
expect_fail "data root mounted noexec is named" "is on a filesystem mounted noexec (the data root $D must allow execution" ctl enable nx
nothing_left nx && ok "nothing left after the noexec failure" || notok "nx leftovers"
stop_broker $BROKER_PID
done_testing

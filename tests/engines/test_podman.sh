#!/bin/sh
# Debian's podman uses a plugind-managed volume plugin with no manual
# step: plugind's drop-in (publish-podman-conf) names it in
# [engine.volume_plugins]; a container (podman run --rootfs, no registry
# image) writes into the volume, the file is on the host under the
# plugin's propagated mount and in the plugin; the in-use count refuses
# rm/disable while podman holds the volume; a disabled plugin is an error
# to podman, never a local volume.  Each podman command runs in a mount
# namespace of its own on the test's storage (tests/engines/engine.sh).
. "$(dirname "$0")/engine.sh"
engine_plugin podman
CONFD="$T/b/containers.conf.d"
grep -q '^"vol" = ' "$CONFD/plugind.conf" 2>/dev/null && ok "plugind's drop-in names vol" ||
    notok "no drop-in entry: $(cat "$CONFD/plugind.conf" 2>&1)"
podman_setup "$T/pm" "$CONFD"

out=$(podman_run volume create --driver vol v1 2>&1) && ok "podman volume create --driver vol v1" ||
    { notok "volume create"; diag "$out"; }
podman_run volume ls --format '{{.Driver}} {{.Name}}' 2>/dev/null | grep -qx 'vol v1' && ok "podman volume ls: vol v1" ||
    notok "volume ls: $(podman_run volume ls 2>&1)"
[ "$(inuse vol)" = "1 0" ] && ok "in use: podman's volume is counted" || notok "in use after create: $(inuse vol)"

engine_rootfs "$T/rootfs"
# The plugin's volume is a tmpfs it mounts at Mount and unmounts at
# Unmount: the container checks what it wrote while it is mounted.
HOSTF="$D/plugins/$ID/propagated-mount/volumes/v1/f"
P=$(runc_pid vol)
podman_run run --rm --network none -v v1:/data --rootfs "$T/rootfs" \
    /bin/sh -c "echo from-podman >/data/f && i=0; while [ ! -e /data/seen ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i+1)); done; cat /data/seen" \
    >"$T/run.out" 2>&1 &
RUNPID=$!
i=0; while [ ! -s "$HOSTF" ] && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
[ "$(cat "$HOSTF" 2>/dev/null)" = from-podman ] && ok "a container's file is on the host under the propagated mount" ||
    notok "not at $HOSTF"
[ "$(cat "/proc/$P/root/data/volumes/v1/f" 2>/dev/null)" = from-podman ] && ok "the plugin sees the file" ||
    notok "the plugin does not see it"
[ "$(inuse vol)" = "1 1" ] && ok "in use: the container's mount is counted" || notok "in use while running: $(inuse vol)"
echo host-wrote >"$D/plugins/$ID/propagated-mount/volumes/v1/seen"
wait $RUNPID && [ "$(tail -n 1 "$T/run.out")" = host-wrote ] && ok "the container ran and saw the host's file" ||
    { notok "podman run failed"; diag "$(tail -n 5 "$T/run.out")"; }
# Podman 4.3 keeps a plugin volume mounted after the container is gone
# (its own mount count; the Unmount comes with volume rm): the count
# shows what the engine really holds.
case "$(inuse vol)" in "1 0"|"1 1") ok "in use after the run: $(inuse vol) (volume, and podman's mount if it keeps it)" ;;
*) notok "in use after run: $(inuse vol)" ;; esac

out=$(ctl rm vol 2>&1; ctl disable vol 2>&1)
[ "$(echo "$out" | grep -c 'plugin vol:latest is in use')" = 2 ] && ok "rm and disable refuse while podman holds v1" ||
    { notok "rm/disable while in use"; diag "$out"; }
out=$(podman_run volume rm v1 2>&1) && ok "podman volume rm v1" || { notok "volume rm"; diag "$out"; }
[ "$(inuse vol)" = "0 0" ] && ok "in use: 0 after volume rm" || notok "in use after rm: $(inuse vol)"

# Disabled: podman gets the error, never a local volume of that name.
ctl disable vol >/dev/null && ok "disable" || notok "disable"
grep -q '^"vol" = ' "$CONFD/plugind.conf" 2>/dev/null && ok "disabled: the drop-in still names vol" ||
    notok "drop-in lost vol at disable"
out=$(podman_run volume create --driver vol v3 2>&1) && notok "volume create on a disabled plugin succeeded" ||
    { echo "$out" | grep -q 'disabled' && ok "disabled: podman volume create fails, saying so" ||
      { notok "disabled create error"; diag "$out"; }; }
podman_run volume ls --format '{{.Name}}' 2>/dev/null | grep -qx v3 && notok "a v3 volume exists" ||
    ok "disabled: no volume v3 of any driver"
ctl enable vol >/dev/null || notok "enable again"
out=$(podman_run volume create --driver vol v3 2>&1) && ok "enabled again: volume create works" || { notok "create after enable"; diag "$out"; }
podman_run volume rm v3 >/dev/null 2>&1 || notok "volume rm v3"
ctl rm -f vol >/dev/null || notok "rm vol"
[ ! -e "$CONFD/plugind.conf" ] && ok "rm: the drop-in is gone" || notok "drop-in left after rm"
done_testing

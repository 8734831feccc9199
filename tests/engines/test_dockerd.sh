#!/bin/sh
# Debian's dockerd (docker.io) uses a plugind-managed volume plugin with no
# manual step: it finds the published socket (docs/CONSUMERS.md), a real
# container writes into the volume, the file is on the host under the
# plugin's propagated mount and in the plugin; the in-use count refuses
# rm/disable while dockerd holds the volume; a disabled plugin is an error
# to dockerd, never a local volume of the same name.  dockerd runs in a
# mount namespace of its own with its own roots (tests/engines/engine.sh).
. "$(dirname "$0")/engine.sh"
engine_plugin dockerd
PUB="$T/b/docker-plugins"
dockerd_start "$T/dk" "$PUB" || { notok "dockerd starts"; done_testing; exit 1; }
ok "dockerd starts in its own mount namespace"

out=$($DOCKER volume create -d vol v1 2>&1) && ok "docker volume create -d vol v1" ||
    { notok "volume create"; diag "$out"; diag "$(tail -5 "$T/dk/dockerd.log")"; }
$DOCKER volume ls --format '{{.Driver}} {{.Name}}' | grep -qx 'vol v1' && ok "docker volume ls: vol v1" ||
    notok "volume ls: $($DOCKER volume ls 2>&1)"
[ "$(inuse vol)" = "1 0" ] && ok "in use: dockerd's volume is counted" || notok "in use after create: $(inuse vol)"

engine_rootfs "$T/rootfs"
tar -C "$T/rootfs" -c . | $DOCKER import - pdtest/busybox >/dev/null && ok "docker import a busybox rootfs" ||
    notok "docker import"
# The plugin's volume is a tmpfs it mounts at Mount and unmounts at
# Unmount: look while the container runs.
out=$($DOCKER run -d --name c1 --network none -v v1:/data pdtest/busybox \
    /bin/sh -c 'echo from-docker >/data/f; exec sleep 300' 2>&1) &&
    ok "a container with the volume runs" || { notok "docker run"; diag "$out"; diag "$(tail -5 "$T/dk/dockerd.log")"; }
HOSTF="$D/plugins/$ID/propagated-mount/volumes/v1/f"
i=0; while [ ! -s "$HOSTF" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ "$(cat "$HOSTF" 2>/dev/null)" = from-docker ] && ok "its file is on the host under the propagated mount" ||
    notok "not at $HOSTF"
P=$(runc_pid vol)
[ "$(cat "/proc/$P/root/data/volumes/v1/f" 2>/dev/null)" = from-docker ] && ok "the plugin sees the file" ||
    notok "the plugin does not see it"
[ "$(inuse vol)" = "1 1" ] && ok "in use: the container's mount is counted" || notok "in use while running: $(inuse vol)"
out=$(ctl disable vol 2>&1) && notok "disable while a container uses the volume" ||
    { echo "$out" | grep -q 'is in use' && ok "disable refused while the container runs" || notok "disable: $out"; }
$DOCKER rm -f c1 >/dev/null || notok "docker rm -f c1"
[ "$(inuse vol)" = "1 0" ] && ok "in use: the mount ended with the container" || notok "in use after rm: $(inuse vol)"

out=$(ctl rm vol 2>&1; ctl disable vol 2>&1)
[ "$(echo "$out" | grep -c 'plugin vol:latest is in use')" = 2 ] && ok "rm and disable refuse while dockerd holds v1" ||
    { notok "rm/disable while in use"; diag "$out"; }
$DOCKER volume rm v1 >/dev/null && ok "docker volume rm v1" || notok "volume rm"
[ "$(inuse vol)" = "0 0" ] && ok "in use: 0 after volume rm" || notok "in use after rm: $(inuse vol)"

# Disabled: dockerd gets the error, never a local volume of that name.
$DOCKER volume create -d vol v2 >/dev/null || notok "volume create v2"
ctl disable -f vol >/dev/null && ok "disable -f while in use" || notok "disable -f"
out=$($DOCKER volume create -d vol v3 2>&1) && notok "volume create on a disabled plugin succeeded" ||
    { echo "$out" | grep -q 'disabled' && ok "disabled: docker volume create fails, saying so" ||
      { notok "disabled create error"; diag "$out"; }; }
$DOCKER volume ls --format '{{.Driver}} {{.Name}}' | grep -q ' v3$' && notok "a v3 volume exists" ||
    ok "disabled: no volume v3 of any driver"
ctl enable vol >/dev/null || notok "enable again"
out=$($DOCKER volume create -d vol v3 2>&1) && ok "enabled again: volume create works" || { notok "create after enable"; diag "$out"; }
$DOCKER volume rm v2 v3 >/dev/null && ok "docker volume rm v2 v3" || notok "volume rm v2 v3"
[ "$(inuse vol)" = "0 0" ] && ok "in use: 0 at the end" || notok "in use at the end: $(inuse vol)"
ctl rm -f vol >/dev/null || notok "rm vol"
done_testing

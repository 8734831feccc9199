# Helpers for tests/engines/test_*.sh: Debian's dockerd and podman, each in
# a mount namespace of its own, on data dirs of the test, so the host is
# never changed.  In that namespace /run and /etc/docker are empty tmpfs
# (dockerd's socket, containerd's state, podman's runroot are the test's),
# the directory dockerd scans for plugin sockets is the broker's
# --publish-docker-dir, and /etc/containers/containers.conf.d is the
# broker's publish-podman-conf directory.  Propagation is "slave": mounts
# a plugin makes on the host (its propagated mount) reach the engine,
# nothing the engine mounts reaches the host.  Every process of such a
# namespace is killed at exit (track_mntns in tests/lib.sh).
. "$(dirname "$0")/../lifecycle/plugins.sh"
command -v unshare >/dev/null || { echo "1..0 # SKIP unshare not installed"; exit 0; }

# engine_rootfs DIR: a busybox rootfs (no registry image needed).
engine_rootfs() {
	mkdir -p "$1/bin" "$1/data" "$1/proc" "$1/sys" "$1/dev" "$1/etc" "$1/tmp"
	cp "$(command -v busybox)" "$1/bin/busybox"
	for _c in sh echo cat ls sleep test; do ln -sf busybox "$1/bin/$_c"; done
	echo 'root:x:0:0:root:/:/bin/sh' >"$1/etc/passwd"
}

# _engine_track PID: the mount namespace of PID, once it has its own, tracked.
_engine_track() {
	_ns=$(stat -L -c %i "/proc/$1/ns/mnt" 2>/dev/null) && track_mntns "$_ns"
}

# dockerd_start DIR PUBDIR: a dockerd with its own data/exec roots, no
# bridge, no iptables, its own containerd namespace, vfs storage; sets
# DOCKER (a docker command line for it) and DOCKERD_PID.
dockerd_start() {
	_d=$1; mkdir -p "$_d"
	cat >"$_d/ns.sh" <<EOS
set -e
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/docker/plugins
mount --bind '$2' /run/docker/plugins
mount -t tmpfs -o mode=0755 tmpfs /etc/docker 2>/dev/null || true
[ ! -d /usr/lib/docker ] || mount -t tmpfs -o mode=0755 tmpfs /usr/lib/docker
exec dockerd --data-root '$_d/data' --exec-root '$_d/exec' \
    --pidfile '$_d/docker.pid' -H 'unix://$_d/docker.sock' \
    --bridge none --iptables=false --ip6tables=false --ip-masq=false \
    --containerd-namespace pdtest --containerd-plugins-namespace pdtest-plugins \
    --storage-driver vfs --log-level warn
EOS
	unshare -m --propagation slave sh "$_d/ns.sh" >"$_d/dockerd.log" 2>&1 &
	DOCKERD_PID=$!; track_pid $DOCKERD_PID
	DOCKER="docker -H unix://$_d/docker.sock"
	_i=0
	while [ $_i -lt 200 ]; do
		_engine_track $DOCKERD_PID
		$DOCKER version >/dev/null 2>&1 && return 0
		kill -0 $DOCKERD_PID 2>/dev/null || break
		sleep 0.1; _i=$((_i + 1))
	done
	diag "dockerd did not start:"; diag "$(tail -n 20 "$_d/dockerd.log")"
	return 1
}

# podman_setup DIR CONFD: podman's containers.conf for the test (cgroupfs,
# file events, runc, the sandbox's rlimits) and its storage under DIR;
# CONFD (the broker's publish-podman-conf directory) is bind-mounted on
# /etc/containers/containers.conf.d, where podman reads drop-ins.  Run it
# with podman_run ARGS...
podman_setup() {
	PODMAN_DIR=$1; mkdir -p "$1/tmp"
	cat >"$1/containers.conf" <<EOS
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
tmp_dir = "$1/tmp"
EOS
	cat >"$1/ns.sh" <<EOS
mount -t tmpfs -o mode=0755 tmpfs /run || exit 125
mount -t tmpfs -o mode=0755 tmpfs /etc/containers || exit 125
cp -a /usr/share/containers/seccomp.json /etc/containers/ 2>/dev/null
printf '{"default":[{"type":"insecureAcceptAnything"}]}\n' >/etc/containers/policy.json
mkdir -p /etc/containers/containers.conf.d
mount --bind '$2' /etc/containers/containers.conf.d || exit 125
cp '$1/containers.conf' /etc/containers/containers.conf
exec podman --root '$1/root' --runroot '$1/runroot' --storage-driver vfs "\$@"
EOS
}
podman_run() { unshare -m --propagation slave sh "$PODMAN_DIR/ns.sh" "$@"; }

# engine_plugin ENGINE: skip without ENGINE or busybox; else a broker
# (life_setup) with the sample volume plugin "vol" created and enabled;
# sets ID.
engine_plugin() {
	command -v "$1" >/dev/null || { echo "1..0 # SKIP $1 not installed"; exit 0; }
	command -v busybox >/dev/null || { echo "1..0 # SKIP busybox not installed"; exit 0; }
	LIFE_CONF='{"stop-timeout": 3}'
	life_setup
	mkplugin vol "$(volcfg)" || notok "create vol"
	ID=$(pid_of vol)
	ctl enable vol >/dev/null && ok "enable vol" || notok "enable vol"
}
# inuse NAME: "VOLUMES MOUNTS" as inspect shows plugind's in-use count.
inuse() { ctl inspect -f '{{.InUse.Volumes}} {{.InUse.Mounts}}' "$1"; }

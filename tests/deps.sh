#!/bin/sh
# Installs every Debian package the build, the tests and the demo need,
# and the system users/group plugind uses.  Idempotent; runs apt-get
# update only when a package is missing.  libclang-rt-14-dev: libFuzzer and
# clang's sanitizer runtimes for tests/fuzz (only recommended by clang, and
# recommends are not installed); make SANITIZE=1 uses gcc's libasan8 and
# libubsan1, which build-essential brings.  debhelper, dpkg-dev, lintian,
# fakeroot: `make deb` and tests/integration/test_deb.sh; man-db and
# groff-base: the manual pages' checks (test_man.sh).  docker.io and
# podman: the engines of tests/engines/, each run by the test itself in a
# mount namespace of its own (no service is started here).
set -eu
PKGS="build-essential pkg-config libcurl4-openssl-dev libjansson-dev
libarchive-dev zlib1g-dev libssl-dev libseccomp-dev libcap-ng-dev
python3 util-linux procps iproute2 curl ca-certificates openssl
docker-registry runc skopeo busybox-static apache2-utils clang
libclang-rt-14-dev libarchive-tools bc python3-docker tmux strace ansible
debhelper dpkg-dev lintian fakeroot man-db groff-base
golang-docker-credential-helpers pass gnupg docker.io podman"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
	    missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
# Debian's docker-registry package starts its own service on :5000; the
# tests start registries with their own configs, so stop it if it runs.
if command -v systemctl >/dev/null && systemctl is-active -q docker-registry 2>/dev/null; then
	systemctl stop docker-registry || true
fi
getent group plugind >/dev/null || groupadd --system plugind
for u in _pd_fetch _pd_extract _pd_api _pd_log _pd_gw; do
	getent passwd "$u" >/dev/null || useradd --system --no-create-home \
	    --home-dir /nonexistent --shell /usr/sbin/nologin --user-group "$u"
done
echo "deps: ok"

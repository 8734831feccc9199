#!/bin/sh
# The Debian package (debian/, `make deb`): it builds with
# dpkg-buildpackage, lintian finds no error, `dpkg -i` installs it; the
# installed unit's ExecStart line (with a private data root, exec root
# and socket, never through systemctl) runs a broker with which the
# installed pluginctl installs, enables, disables and removes a plugin
# from a loopback registry; `dpkg --purge` leaves none of its files.
# Users that existed before the package (tests/deps.sh made them) stay:
# postrm removes only the ones its postinst created (debian/plugind.postrm).
. "$(dirname "$0")/../lib.sh"

if [ -n "$PD_SANITIZE" ]; then
	skip "sanitizer pass: the package is built without sanitizers, tested in the normal pass"
	done_testing; exit 0
fi
for c in dpkg-buildpackage dh lintian fakeroot; do
	command -v $c >/dev/null || { skip "$c missing (tests/deps.sh installs debhelper dpkg-dev lintian fakeroot)"
		done_testing; exit 0; }
done
if dpkg-query -W -f='${Status}' plugind 2>/dev/null | grep -q "install ok"; then
	skip "a plugind package is installed here already; not replacing it"; done_testing; exit 0
fi
for f in /usr/sbin/plugind /usr/bin/pluginctl /usr/libexec/plugind; do
	[ -e "$f" ] && { skip "$f exists (not from a package); not overwriting it"; done_testing; exit 0; }
done
# T, a registry on loopback with $R/test/sample (the volplugin fixture),
# runc and mounts below $T/b/exec tracked; skips without docker-registry.
. "$PD_TOP/tests/reliability/setup.sh"
reliability_setup
ok "registry on $R with test/sample"
installed=""
# Purge even when a step fails, before lib.sh's cleanup removes $T.
purge() {
	[ -n "$installed" ] && dpkg --purge plugind >"$T/purge.log" 2>&1
	installed=""
	cleanup
}
trap 'purge' EXIT

# find -newer: what the build wrote into the tree's debian/ (none).
touch "$T/stamp"
t0=$(date +%s)
if make -s -C "$PD_TOP" deb B="$T/build" >"$T/build.log" 2>&1; then
	ok "make deb: dpkg-buildpackage -us -uc -b ($(($(date +%s) - t0)) s)"
else
	notok "make deb"; diag "$(tail -n 30 "$T/build.log")"; done_testing; exit 1
fi
DEB=$(ls "$T"/build/deb/plugind_*.deb | head -n 1)
[ -f "$DEB" ] && ok "built $(basename "$DEB")" || { notok "no .deb"; done_testing; exit 1; }
[ -z "$(find "$PD_TOP/debian" -newer "$T/stamp")" ] &&
    ok "the tree's debian/ is untouched (built in a copy)" || notok "make deb wrote into debian/"

lintian "$T"/build/deb/plugind_*.changes >"$T/lintian.log" 2>&1
if grep -q '^E:' "$T/lintian.log"; then
	notok "lintian: errors"; diag "$(grep '^E:' "$T/lintian.log")"
else
	ok "lintian: no errors ($(grep -c '^W:' "$T/lintian.log") warnings)"
	grep '^W:' "$T/lintian.log" | while read -r l; do diag "$l"; done
fi

getent passwd _pd_fetch >/dev/null && users_before=1 || users_before=""
installed=1
if dpkg -i "$DEB" >"$T/dpkg.log" 2>&1; then
	ok "dpkg -i"
else
	notok "dpkg -i"; diag "$(cat "$T/dpkg.log")"; done_testing; exit 1
fi
dpkg -L plugind >"$T/files"
U=/lib/systemd/system/plugind.service
for f in /usr/sbin/plugind /usr/bin/pluginctl /usr/libexec/plugind/plugind-fetcher \
    /usr/libexec/plugind/plugind-extractor /usr/libexec/plugind/plugind-api \
    /usr/libexec/plugind/plugind-logger /usr/libexec/plugind/plugind-gateway $U /etc/default/plugind \
    /usr/share/man/man1/pluginctl.1.gz /usr/share/man/man5/plugind.json.5.gz \
    /usr/share/man/man8/plugind.8.gz /usr/share/bash-completion/completions/pluginctl \
    /usr/share/doc/plugind/README.md /usr/share/doc/plugind/examples/plugind.json; do
	[ -e "$f" ] && grep -qx "$f" "$T/files" || echo "$f" >>"$T/missing"
done
[ ! -s "$T/missing" ] && ok "every file installed where expected" ||
    { notok "missing: $(cat "$T/missing")"; }
for u in _pd_fetch _pd_extract _pd_api _pd_log _pd_gw; do
	getent passwd $u >/dev/null || echo $u >>"$T/nouser"
done
getent group plugind >/dev/null || echo plugind >>"$T/nouser"
[ ! -s "$T/nouser" ] && ok "helper users and group plugind exist" || notok "missing users: $(cat "$T/nouser")"
man -w plugind >/dev/null 2>&1 && man -w plugind.json >/dev/null 2>&1 && man -w pluginctl >/dev/null 2>&1 &&
    ok "man finds plugind(8), plugind.json(5), pluginctl(1)" || notok "man -w"
bad=$(unit_docs_missing "$U" "" /usr/share/man)
[ -z "$bad" ] && ok "the unit's Documentation= targets are installed" || notok "Documentation= missing:$bad"
grep -q '^EnvironmentFile=-/etc/default/plugind$' "$U" && ok "the unit reads /etc/default/plugind" ||
    notok "EnvironmentFile"
grep -qE '^(PrivateTmp|ProtectHome|ProtectSystem|PrivateDevices|PrivateMounts|NoNewPrivileges)=' "$U" &&
    notok "the unit sets a mount namespace or no_new_privs" || ok "the unit gives plugind no mount namespace"
/usr/sbin/plugind --config /usr/share/doc/plugind/examples/plugind.json --print-config |
    cmp -s - /usr/share/doc/plugind/examples/plugind.json && ok "the sample config loads back unchanged" ||
    notok "sample config"

# The unit's command line, as systemd would run it, with private roots.
exec_line=$(sed -n 's/^ExecStart=//p' "$U")
case $exec_line in
'/usr/sbin/plugind $PLUGIND_OPTS') ok "ExecStart: $exec_line" ;;
*) notok "ExecStart: $exec_line" ;;
esac
PLUGIND_OPTS=""
. /etc/default/plugind
SOCK="$T/b/exec/plugind.sock"
eval "set -- $exec_line"
# Engines' sockets in the test's directory, not the host's /run/docker/plugins.
"$@" --data-root "$T/b/data" --exec-root "$T/b/exec" -H "unix://$SOCK" \
    --publish-docker-dir "$T/b/docker-plugins" --publish-podman-conf "$T/b/podman/plugind.conf" \
    >"$T/broker.log" 2>&1 &
BROKER_PID=$!; track_pid $BROKER_PID
CTL=/usr/bin/pluginctl
i=0
until [ -S "$SOCK" ] && ctl ls >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -gt 100 ] || ! kill -0 $BROKER_PID 2>/dev/null && break; sleep 0.1
done
ctl ls >/dev/null 2>&1 && ok "the installed broker runs (its helpers from /usr/libexec/plugind)" ||
    { notok "installed broker"; diag "$(tail -n 20 "$T/broker.log")"; }

out=$(ctl install --grant-all-permissions --alias vol "$R/test/sample" </dev/null 2>&1)
case $out in *"Installed plugin"*) ok "installed pluginctl: install (enables)" ;;
*) notok "install"; diag "$out"; diag "$(tail -n 20 "$T/broker.log")" ;; esac
[ "$(ctl inspect -f '{{.Enabled}}' vol 2>&1)" = true ] && ok "the plugin is enabled" ||
    notok "enabled: $(ctl inspect -f '{{.Enabled}}' vol 2>&1)"
[ -S "$T/b/docker-plugins/vol.sock" ] && pgrep -u _pd_gw -f plugind-gateway >/dev/null &&
    ok "the installed gateway publishes vol.sock as _pd_gw" || notok "no published socket or gateway"
check "disable" ctl disable vol
check "rm" ctl rm vol
[ -z "$(ctl ls -q 2>&1)" ] && ok "no plugin left" || notok "ls: $(ctl ls 2>&1)"
stop_broker $BROKER_PID && ok "the broker stops cleanly on SIGTERM" || notok "broker exit status"

dpkg --purge plugind >"$T/purge.log" 2>&1 && ok "dpkg --purge" || { notok "purge"; diag "$(cat "$T/purge.log")"; }
installed=""
left=""
while read -r f; do
	[ -d "$f" ] && continue
	[ -e "$f" ] || [ -L "$f" ] && left="$left $f"
done <"$T/files"
for f in /etc/default/plugind /usr/libexec/plugind /usr/share/doc/plugind /var/lib/plugind; do
	[ -e "$f" ] && left="$left $f"
done
[ -z "$left" ] && ok "purge leaves none of the package's files" || notok "left after purge:$left"
dpkg-query -W plugind >/dev/null 2>&1 && notok "dpkg still knows plugind" || ok "dpkg forgot plugind"
if [ -n "$users_before" ]; then
	getent passwd _pd_fetch >/dev/null && ok "users made before the package are kept" ||
	    notok "purge removed users it did not create"
else
	getent passwd _pd_fetch >/dev/null && notok "purge left the users its postinst made" ||
	    ok "purge removed the users its postinst made"
fi
done_testing

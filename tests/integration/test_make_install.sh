#!/bin/sh
# make install: binaries, helpers under libexec, the manual pages, the
# bash completion, the docs and the sample config, the systemd unit in
# UNITDIR (default PREFIX/lib/systemd/system) with its paths substituted
# and every Documentation= target installed, /etc/default/plugind; a
# broker built for that prefix finds its helpers there.
. "$(dirname "$0")/../lib.sh"
T=$(mktemp -d /tmp/pd-install.XXXXXX); track_dir "$T"
if make -s -C "$PD_TOP" install DESTDIR="$T/root" PREFIX=/opt/pd B="$T/build" >"$T/log" 2>&1; then
	ok "make install DESTDIR=... PREFIX=/opt/pd"
else
	notok "make install"; diag "$(tail -n 20 "$T/log")"
fi
R="$T/root"
for f in sbin/plugind bin/pluginctl libexec/plugind/plugind-fetcher libexec/plugind/plugind-extractor \
    libexec/plugind/plugind-api libexec/plugind/plugind-logger libexec/plugind/plugind-gateway; do
	[ -x "$R/opt/pd/$f" ] && ok "installed $f" || notok "missing $f"
done
for f in share/man/man1/pluginctl.1 share/man/man5/plugind.json.5 share/man/man8/plugind.8 \
    share/bash-completion/completions/pluginctl share/doc/plugind/README.md \
    share/doc/plugind/docs/ARCHITECTURE.md share/doc/plugind/examples/plugind.json; do
	[ -f "$R/opt/pd/$f" ] && ok "installed $f" || notok "missing $f"
done
n=$(ls "$PD_TOP"/docs/*.md | wc -l)
[ "$(ls "$R"/opt/pd/share/doc/plugind/docs/*.md | wc -l)" -eq "$n" ] && ok "all $n docs/*.md installed" ||
    notok "docs/*.md not all installed"
grep -q '"helper-dir": "/opt/pd/libexec/plugind"' "$R/opt/pd/share/doc/plugind/examples/plugind.json" &&
    ok "the sample config has the prefix's helper dir" || notok "sample config helper-dir"
[ -f "$R/etc/default/plugind" ] && grep -q '^PLUGIND_OPTS=' "$R/etc/default/plugind" &&
    ok "installed /etc/default/plugind" || notok "missing /etc/default/plugind"
[ ! -e "$R/etc/systemd/system/plugind.service" ] && ok "nothing written to /etc/systemd/system" ||
    notok "unit in /etc/systemd/system despite PREFIX"
u="$R/opt/pd/lib/systemd/system/plugind.service"
grep -q '^ExecStart=/opt/pd/sbin/plugind \$PLUGIND_OPTS$' "$u" 2>/dev/null &&
    ok "systemd unit in PREFIX/lib/systemd/system points at the installed broker" || notok "systemd unit"
grep -q '@[A-Z]*@' "$u" && notok "unsubstituted @VAR@ in the unit" || ok "every @VAR@ of the unit substituted"
bad=$(unit_docs_missing "$u" "$R" /opt/pd/share/man)
[ -z "$bad" ] && ok "every Documentation= target is installed" || notok "Documentation= not installed:$bad"
grep -q '^EnvironmentFile=-/etc/default/plugind$' "$u" && ok "the unit reads /etc/default/plugind" ||
    notok "EnvironmentFile"
grep -qE '^(PrivateTmp|ProtectHome|ProtectSystem|PrivateDevices|PrivateMounts|NoNewPrivileges)=' "$u" &&
    notok "the unit gives plugind a mount namespace or no_new_privs" || ok "the unit gives plugind no mount namespace"
if command -v systemd-analyze >/dev/null; then
	out=$(cd "$R/opt/pd/lib/systemd/system" && systemd-analyze verify --man=no ./plugind.service 2>&1 |
	    grep -v -e 'Command /opt/pd/sbin/plugind' -e 'is not executable' -e 'Failed to prepare')
	[ -z "$out" ] && ok "systemd-analyze verify" || { notok "systemd-analyze verify"; diag "$out"; }
fi
# UNITDIR and the other directories are honoured.
if make -s -C "$PD_TOP" install DESTDIR="$T/root2" PREFIX=/usr UNITDIR=/etc/systemd/system \
    MANDIR=/usr/man B="$T/build2" >"$T/log2" 2>&1; then
	[ -f "$T/root2/etc/systemd/system/plugind.service" ] && [ -f "$T/root2/usr/man/man8/plugind.8" ] &&
	    ok "UNITDIR= and MANDIR= are honoured" || notok "UNITDIR/MANDIR ignored"
	grep -q '^Documentation=file:///usr/share/doc/plugind/README.md$' "$T/root2/etc/systemd/system/plugind.service" &&
	    ok "PREFIX=/usr: Documentation=file:///usr/share/doc/plugind/README.md" || notok "PREFIX=/usr doc path"
else
	notok "make install PREFIX=/usr UNITDIR=..."; diag "$(tail -n 20 "$T/log2")"
fi
# An existing /etc/default/plugind is the operator's.
echo 'PLUGIND_OPTS="--debug"' >"$R/etc/default/plugind"
make -s -C "$PD_TOP" install DESTDIR="$R" PREFIX=/opt/pd B="$T/build" >"$T/log3" 2>&1
grep -q -- '--debug' "$R/etc/default/plugind" && ok "an existing /etc/default/plugind is kept" ||
    notok "make install replaced /etc/default/plugind"
strings "$R/opt/pd/sbin/plugind" | grep -qx '/opt/pd/libexec/plugind' &&
    ok "broker compiled with the prefix's libexec dir" || notok "libexec dir not compiled in"
getent passwd _pd_fetch >/dev/null && getent passwd _pd_extract >/dev/null &&
    getent group plugind >/dev/null && ok "helper users and group exist" || notok "users/group missing"
done_testing

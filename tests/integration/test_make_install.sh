#!/bin/sh
# make install: binaries, helpers under libexec, the systemd unit, and a
# broker built for that prefix finds its helpers there.
. "$(dirname "$0")/../lib.sh"
T=$(mktemp -d /tmp/pd-install.XXXXXX); track_dir "$T"
if make -s -C "$PD_TOP" install DESTDIR="$T/root" PREFIX=/opt/pd B="$T/build" >"$T/log" 2>&1; then
	ok "make install DESTDIR=... PREFIX=/opt/pd"
else
	notok "make install"; diag "$(tail -n 20 "$T/log")"
fi
for f in sbin/plugind bin/pluginctl libexec/plugind/plugind-fetcher libexec/plugind/plugind-extractor; do
	[ -x "$T/root/opt/pd/$f" ] && ok "installed $f" || notok "missing $f"
done
u="$T/root/etc/systemd/system/plugind.service"
grep -q '^ExecStart=/opt/pd/sbin/plugind$' "$u" 2>/dev/null && ok "systemd unit points at the installed broker" ||
    notok "systemd unit"
strings "$T/root/opt/pd/sbin/plugind" | grep -qx '/opt/pd/libexec/plugind' &&
    ok "broker compiled with the prefix's libexec dir" || notok "libexec dir not compiled in"
getent passwd _pd_fetch >/dev/null && getent passwd _pd_extract >/dev/null &&
    getent group plugind >/dev/null && ok "helper users and group exist" || notok "users/group missing"
done_testing

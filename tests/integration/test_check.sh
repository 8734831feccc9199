#!/bin/sh
# plugind --check [--repair]: offline verification of a data root.
. "$(dirname "$0")/../lib.sh"

T=$(mktemp -d /tmp/pd-check.XXXXXX); track_dir "$T"; chmod 755 "$T"
P="$T/p"; mkdir -p "$P/rootfs/bin"; cp /bin/busybox "$P/rootfs/bin/"
echo '{"Entrypoint": ["/bin/busybox"], "Interface": {"Socket": "s.sock", "Types": ["docker.volumedriver/1.0"]}}' >"$P/config.json"
start_broker "$T/b" || { notok "broker"; done_testing; exit 1; }
ctl create one "$P" >/dev/null && ctl create two "$P" >/dev/null || notok "create"
ID1=$(ctl inspect -f '{{.Id}}' one); ID2=$(ctl inspect -f '{{.Id}}' two)
out=$("$PD_BUILD/plugind" --data-root "$T/b/data" --check 2>&1)
case "$out" in *"another plugind"*) ok "--check refuses a data root a broker is using" ;;
*) notok "--check on a live root"; diag "$out" ;; esac
stop_broker $BROKER_PID
D="$T/b/data"
out=$("$PD_BUILD/plugind" --data-root "$D" --check 2>&1); rc=$?
case "$rc:$out" in 0:*"OK (2 plugins, 3 blobs verified)"*) ok "a sound data root checks OK" ;;
*) notok "sound root (rc $rc)"; diag "$out" ;; esac

# Break things: corrupt a layer, drop a rootfs, an orphan, a leftover.
L=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['Blobsums'][0].split(':')[1])" "$D/plugins/$ID1/config.json")
printf 'X' | dd of="$D/storage/blobs/sha256/$L" bs=1 seek=100 conv=notrunc 2>/dev/null
mv "$D/plugins/$ID2/rootfs" "$T/rootfs-two"
printf orphan >"$T/o"; O=$(sha256sum "$T/o" | cut -d' ' -f1); cp "$T/o" "$D/storage/blobs/sha256/$O"
mkdir -p "$D/tmp/install-abc123/rootfs"
out=$("$PD_BUILD/plugind" --data-root "$D" --check 2>&1); rc=$?
[ $rc = 1 ] && ok "--check exits 1 on problems" || notok "--check rc $rc"
case "$out" in *"blob sha256:$L: content hashes to"*) ok "corrupt blob named" ;; *) notok "corrupt blob"; diag "$out" ;; esac
case "$out" in *"plugin two:latest ($ID2): rootfs"*"is missing"*) ok "missing rootfs named" ;; *) notok "missing rootfs"; diag "$out" ;; esac
case "$out" in *"blob sha256:$O: referenced by no plugin"*) ok "orphan blob named" ;; *) notok "orphan"; diag "$out" ;; esac
case "$out" in *"tmp/install-abc123: left by an interrupted job"*) ok "leftover staging named" ;; *) notok "leftover"; diag "$out" ;; esac
case "$out" in *"4 problems found"*) ok "problem count" ;; *) notok "count"; diag "$out" ;; esac
[ -f "$D/storage/blobs/sha256/$O" ] && [ -d "$D/plugins/$ID2" ] && ok "--check alone changes nothing" || notok "--check modified the root"

out=$("$PD_BUILD/plugind" --data-root "$D" --check --repair 2>&1)
n=$(find "$D/lost+found" -mindepth 2 -maxdepth 2 | wc -l)
# The two plugins share their blobs: the corrupt layer breaks both, and
# their config and manifest then belong to nobody.
[ "$n" = 7 ] && ok "--repair moved 7 pieces aside (blob, 2 plugins, 3 orphans, tmp)" || { notok "--repair moved $n"; diag "$out"; }
[ -f "$(find "$D/lost+found" -name "orphan-blob-$O")" ] && ok "nothing deleted: the orphan is in lost+found" || notok "orphan not kept"
out=$("$PD_BUILD/plugind" --data-root "$D" --check 2>&1); rc=$?
case "$rc:$out" in 0:*"OK (0 plugins, 0 blobs verified)"*) ok "after --repair the root checks OK" ;;
*) notok "after repair (rc $rc)"; diag "$out" ;; esac
start_broker "$T/b" && ok "broker starts on the repaired root" || notok "broker after repair"

# Online: pluginctl check [--repair] through the running broker.
track_mounts_under "$T"
ctl create three "$P" >/dev/null && ctl create four "$P" >/dev/null || notok "create three, four"
ID3=$(ctl inspect -f '{{.Id}}' three); ID4=$(ctl inspect -f '{{.Id}}' four)
out=$(ctl check 2>&1); rc=$?
case "$rc:$out" in 0:*"OK (2 plugins, 3 blobs verified)"*) ok "online check of a sound root: OK, exit 0" ;;
*) notok "online check (rc $rc)"; diag "$out" ;; esac
L=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['Blobsums'][0].split(':')[1])" "$D/plugins/$ID3/config.json")
printf 'X' | dd of="$D/storage/blobs/sha256/$L" bs=1 seek=100 conv=notrunc 2>/dev/null
mv "$D/plugins/$ID4/rootfs" "$T/rootfs-four"
cp "$T/o" "$D/storage/blobs/sha256/$O"
E="$T/b/exec"; R=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
mkdir -p "$E/bundles/$R"
mkdir -p "$D/plugins/$ID3/propagated-mount"; mount -t tmpfs stray "$D/plugins/$ID3/propagated-mount"
out=$(ctl check 2>"$T/err"); rc=$?
[ $rc = 1 ] && ok "online check exits 1 on problems" || notok "online check rc $rc"
grep -q "problems found in the data root" "$T/err" && ok "and says so on stderr" || { notok "stderr"; diag "$(cat "$T/err")"; }
case "$out" in *"blob sha256:$L: content hashes to"*) ok "online: corrupt blob named" ;; *) notok "online corrupt blob"; diag "$out" ;; esac
case "$out" in *"plugin four:latest ($ID4): rootfs"*"is missing"*) ok "online: missing rootfs named" ;; *) notok "online missing rootfs"; diag "$out" ;; esac
case "$out" in *"blob sha256:$O: referenced by no plugin"*) ok "online: orphan blob named" ;; *) notok "online orphan"; diag "$out" ;; esac
case "$out" in *"bundles/$R: bundle of no known plugin"*) ok "online: stray runtime state named" ;; *) notok "online stray bundle"; diag "$out" ;; esac
case "$out" in *"plugin three:latest ($ID3): disabled but 1 mount below"*) ok "online: mount under a disabled plugin named" ;;
*) notok "online stray mount"; diag "$out" ;; esac
case "$out" in *"[cleaned at start]"*) notok "online output marks start-up cleaning"; diag "$out" ;; *) ok "online output has no start-up marks" ;; esac
umount "$D/plugins/$ID3/propagated-mount"; rmdir "$E/bundles/$R"
if command -v setpriv >/dev/null && getent group plugind >/dev/null; then
	g=$(getent group plugind | cut -d: -f3)
	out=$(setpriv --reuid 65534 --regid 65534 --groups "$g" "$CTL" -H "unix://$SOCK" check 2>&1)
	case "$out" in *"blob sha256:$L: content hashes to"*) ok "group plugind may check" ;; *) notok "group check"; diag "$out" ;; esac
	expect_fail "group plugind may not repair" "check --repair needs root" setpriv --reuid 65534 \
	    --regid 65534 --groups "$g" "$CTL" -H "unix://$SOCK" check --repair
else
	skip "setpriv or group plugind missing"; skip "setpriv or group plugind missing"
fi
[ -f "$D/storage/blobs/sha256/$O" ] && [ -f "$D/storage/blobs/sha256/$L" ] && ok "online check alone changes nothing" ||
    notok "online check modified the root"
lf0=$(find "$D/lost+found" -mindepth 2 -maxdepth 2 | wc -l)
out=$(ctl check --repair 2>&1)
n=$(($(find "$D/lost+found" -mindepth 2 -maxdepth 2 | wc -l) - lf0))
[ "$n" = 6 ] && ok "online --repair moved 6 pieces aside (blob, 2 plugins, 3 orphans)" || { notok "online --repair moved $n"; diag "$out"; }
[ -n "$(find "$D/lost+found" -name "corrupt-blob-$L")" ] && [ -n "$(find "$D/lost+found" -name "plugin-$ID4")" ] &&
    ok "the corrupt blob and the broken plugin are in lost+found" || notok "lost+found contents"
[ -z "$(ctl ls -q)" ] && ok "plugins moved aside are gone from the broker's list" || notok "still listed: $(ctl ls -q)"
out=$(ctl check 2>&1); rc=$?
case "$rc:$out" in 0:*"OK (0 plugins, 0 blobs verified)"*) ok "after online --repair the check is clean" ;;
*) notok "after online repair (rc $rc)"; diag "$out" ;; esac
tail -n 1 "$D/audit.log" | grep -q '"verb":"check --repair"' && ok "online repair is audited" || notok "audit of repair"
expect_fail "check takes no arguments" "accepts no arguments" ctl check extra
done_testing

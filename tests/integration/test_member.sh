#!/bin/sh
# Group members (plugind) against the broker (docs/PRIVSEP.md, "What
# members cost"): looping `check`s do not slow root's jobs down and are
# rate-limited; `info` in a loop starts no helpers; `privileges` never
# presents certs.d's client certificate; membership is decided from the
# socket's credentials at connect (SO_PEERGROUPS), not from /proc later.
. "$(dirname "$0")/../lib.sh"
RAW="$PD_BUILD/tests/tools/rawctl"
command -v setpriv >/dev/null || { echo "1..0 # SKIP setpriv missing"; exit 0; }
getent group plugind >/dev/null || { echo "1..0 # SKIP group plugind missing (make deps creates it)"; exit 0; }
G=$(getent group plugind | cut -d: -f3)
# member CMD...: CMD as uid/gid 65534 with plugind as supplementary group.
member() { setpriv --reuid 65534 --regid 65534 --groups "$G" "$@"; }
now_ms() { date +%s%3N; }

T=$(mktemp -d /tmp/pd-member.XXXXXX); track_dir "$T"; chmod 755 "$T"

# Config validation of the new limits.
echo '{"limits": {"max-jobs-per-uid": 0}}' >"$T/bad.json"
out=$("$PD_BUILD/plugind" --data-root "$T/x/data" --exec-root "$T/x/exec" --config "$T/bad.json" 2>&1)
case "$out" in *'"max-jobs-per-uid" must be a positive integer'*) ok "max-jobs-per-uid 0 is refused, naming the key" ;;
*) notok "max-jobs-per-uid 0"; diag "$out" ;; esac
echo '{"limits": {"member-check-interval": 100000}}' >"$T/bad.json"
out=$("$PD_BUILD/plugind" --data-root "$T/x/data" --exec-root "$T/x/exec" --config "$T/bad.json" 2>&1)
case "$out" in *'"member-check-interval" is at most 86400'*) ok "member-check-interval too large is refused" ;;
*) notok "member-check-interval bound"; diag "$out" ;; esac

# A registry that requires a client certificate, and certs.d holding one.
reg_start "$T/reg" mtls || { notok "mtls registry"; done_testing; exit 1; }
S="127.0.0.1:$REG_PORT"
python3 "$PD_TOP/tests/registry/push_plugin.py" --registry "https://$S" --ca "$T/reg/ca.crt" \
    --cert "$T/reg/client.cert" --key "$T/reg/client.key" --repo test/mtls >/dev/null ||
    notok "push to the mtls registry"
mkdir -p "$T/certs.d/$S"
cp "$T/reg/ca.crt" "$T/reg/client.cert" "$T/reg/client.key" "$T/certs.d/$S/"
printf '{"certs-dir": "%s", "debug": true, "limits": {"max-compressed": 268435456, "member-check-interval": 60}}\n' \
    "$T/certs.d" >"$T/conf.json"
start_broker "$T/b" --config "$T/conf.json" || { notok "broker"; done_testing; exit 1; }
LOG="$T/b/broker.log"

# privileges: root presents the client certificate, a member does not.
out=$("$RAW" "$SOCK" 111 0 "$S/test/mtls:latest" "" 2>&1) && case "$out" in \[*) true ;; *) false ;; esac &&
    ok "root's privileges reach the mtls registry (client certificate presented)" || { notok "root privileges"; diag "$out"; }
before=$(grep -c "client didn't provide a certificate" "$T/reg/registry.log")
out=$(member "$RAW" "$SOCK" 111 0 "$S/test/mtls:latest" "" 2>&1); rc=$?
after=$(grep -c "client didn't provide a certificate" "$T/reg/registry.log")
[ $rc -ne 0 ] && ok "a member's privileges fail at the mtls registry ($(echo "$out" | head -c 160))" ||
    { notok "member privileges succeeded"; diag "$out"; }
[ "$after" -gt "$before" ] && ok "the registry saw the member's fetcher present no client certificate" ||
    { notok "registry log ($before -> $after)"; diag "$(tail -n 5 "$T/reg/registry.log")"; }

# info: a member in a loop starts no helper processes each time.
spawns() { grep -cE '(fetcher|extractor|api|logger)\[[0-9]+\] ready' "$LOG"; }
ctl info >/dev/null || notok "root info"
n0=$(spawns)
i=0; fails=0
while [ $i -lt 10 ]; do member "$CTL" -H "unix://$SOCK" info >"$T/info.out" 2>&1 || fails=$((fails + 1)); i=$((i + 1)); done
n1=$(spawns)
[ $fails = 0 ] && grep -q 'sandbox: ' "$T/info.out" && ok "10 member infos answered, helpers reported" ||
    { notok "member info"; diag "$(cat "$T/info.out")"; }
[ $((n1 - n0)) = 0 ] && ok "10 member infos started no helper (cached probe; spawns $n0 -> $n1)" ||
    notok "member infos started $((n1 - n0)) helpers"
ctl info >/dev/null
n2=$(spawns)
[ $((n2 - n1)) = 4 ] && ok "root's info probes afresh: 4 helpers started (fetcher, extractor, api, logger)" || notok "root info spawned $((n2 - n1))"

# check: 20 looping members while root creates.  A 96 MiB layer makes
# every check hash something.  Each loop pauses 1 s between tries: a
# refusal is instant, and 20 loops spawning pluginctl without a pause
# would measure this 2-core machine's process creation, not the broker.
# member-check-interval is 60 s here (config above).
P="$T/p"; mkdir -p "$P/rootfs/bin"; cp /bin/busybox "$P/rootfs/bin/"
echo '{"Entrypoint": ["/bin/busybox"], "Interface": {"Socket": "s.sock", "Types": ["docker.volumedriver/1.0"]}}' >"$P/config.json"
cp -r "$P" "$T/big"; head -c 100663296 /dev/urandom >"$T/big/rootfs/bulk"
ctl create big "$T/big" >/dev/null || notok "create big"
t0=$(now_ms); ctl check >/dev/null; tcheck=$(($(now_ms) - t0))
diag "one check of the store takes $tcheck ms"
base=0; k=0
while [ $k -lt 3 ]; do
	t0=$(now_ms); ctl create "base$k" "$P" >/dev/null || notok "create base$k"
	d=$(($(now_ms) - t0)); [ $d -gt $base ] && base=$d; k=$((k + 1))
done
mkdir "$T/mo"; chown 65534:65534 "$T/mo"
k=0; loops=""
while [ $k -lt 20 ]; do
	member sh -c 'while [ ! -e "$1/stop" ]; do "$2" -H "unix://$3" check >>"$1/mo/m.$4" 2>&1; sleep 1; done' sh \
	    "$T" "$CTL" "$SOCK" $k &
	track_pid $!; loops="$loops $!"
	k=$((k + 1))
done
tstart=$(now_ms)
sleep 2
loaded=0; k=0
while [ $k -lt 3 ]; do
	t0=$(now_ms); ctl create "load$k" "$P" >/dev/null || notok "create load$k"
	d=$(($(now_ms) - t0)); [ $d -gt $loaded ] && loaded=$d; k=$((k + 1))
done
touch "$T/stop"
for p in $loops; do wait "$p"; done
tsecs=$(( ($(now_ms) - tstart + 999) / 1000 ))
diag "root create: unloaded max $base ms, with 20 looping member checks max $loaded ms"
# The one member check that may run competes with root's create for the
# CPU for at most its own length (tcheck: slow under ASan or a busy
# machine); 20 unlimited checks would cost 20 times that.
[ $loaded -le $((3 * base + tcheck + 1000)) ] &&
    ok "root's create under member check load stays within 3x+1s of unloaded plus one check ($tcheck ms)" ||
    notok "root create $loaded ms vs baseline $base ms (one check $tcheck ms)"
cat "$T"/mo/m.* >"$T/m.all"
nlim=$(grep -c 'check: rate limited, try again in [0-9]*s' "$T/m.all")
njobs=$(grep -c 'too many jobs running for this user (limit max-jobs-per-uid 2)' "$T/m.all")
nran=$(grep -c '^data root' "$T/m.all")
diag "member checks in $tsecs s: $nran ran, $nlim rate limited, $njobs over max-jobs-per-uid"
[ "$nlim" -gt 0 ] && ok "members get 'check: rate limited, try again in Ns'" || { notok "no rate limit"; diag "$(head -n 5 "$T/m.all")"; }
[ "$nran" = 1 ] && ok "one member check per member-check-interval (60 s) ran ($nran in $tsecs s)" ||
    notok "$nran member checks ran in $tsecs s"
out=$(ctl check 2>&1) && out2=$(ctl check 2>&1) && ok "root's checks back to back are not rate-limited" ||
    { notok "root check"; diag "$out $out2"; }
case "$(member "$CTL" -H "unix://$SOCK" check 2>&1)" in *"rate limited, try again in "*s*) ok "a member's next check within the interval is refused" ;;
*) notok "member check after the loop" ;; esac

# SO_PEERGROUPS: connect as a member, then drop the group and send.
V=$(sed -n 's/^#define PD_PROTO_VERSION[	 ]*\([0-9]*\).*/\1/p' "$PD_TOP/common/proto.h")
python3 - "$SOCK" "$G" "$V" >"$T/drop.out" 2>&1 <<'PY'
import os, socket, struct, sys
path, g, version = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.setgroups([g]); os.setresgid(65534, 65534, 65534)
os.setresuid(65534, 65534, 0)          # euid 65534, saved uid 0
s = socket.socket(socket.AF_UNIX); s.connect(path)
os.seteuid(0); os.setgroups([]); os.setresuid(65534, 65534, 65534)
st = dict(l.split(":", 1) for l in open("/proc/self/status"))
print("uid=%s groups=[%s]" % (st["Uid"].split()[0], " ".join(st["Groups"].split())))
def frame(t, mid, p): return struct.pack("=IIII", t, len(p), mid, 0) + p
def s32(x): b = x.encode(); return struct.pack("=I", len(b)) + b
s.sendall(frame(1, 1, struct.pack("=I", version) + s32("peerdrop")))
s.sendall(frame(101, 2, struct.pack("=III", 0, 0, 0)))
buf = b""
while True:
    d = s.recv(65536)
    if not d: print("closed"); break
    buf += d
    while len(buf) >= 16:
        t, n, mid, _ = struct.unpack("=IIII", buf[:16])
        if len(buf) < 16 + n: break
        body, buf = buf[16:16 + n], buf[16 + n:]
        if mid == 2 and t in (151, 152):
            print("OK" if t == 151 else "FAIL " + body.decode("utf-8", "replace"))
            sys.exit(0)
PY
grep -qx 'uid=65534 groups=\[\]' "$T/drop.out" &&
    ok "the peer has uid 65534 and no groups when it sends the request" || { notok "peer creds"; diag "$(cat "$T/drop.out")"; }
grep -qx OK "$T/drop.out" && ok "it counts as a member: in group plugind when it connected (SO_PEERGROUPS)" ||
    { notok "dropped-group peer"; diag "$(cat "$T/drop.out")"; }
expect_fail "a peer never in the group is refused" "permission denied" \
    setpriv --reuid 65534 --regid 65534 --clear-groups "$CTL" -H "unix://$SOCK" ls
done_testing

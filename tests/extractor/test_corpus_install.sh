#!/bin/sh
# Row B11 (docs/FETCHER.md), the public layer corpus through `pluginctl install`: every case is
# pushed to a local docker-registry as a plugin and installed; the
# outcome must be expected.json's (reject: install fails and leaves no
# plugin, no staging dir, no new blob; extract: installed, and the case's
# checks hold in the plugin's rootfs).  Host canaries must stay intact.
. "$(dirname "$0")/../lib.sh"

[ -x /usr/bin/docker-registry ] || { skip "docker-registry not installed"; done_testing; exit 0; }
T=$(mktemp -d /tmp/pd-cinst.XXXXXX); track_dir "$T"; chmod 755 "$T"
python3 "$PD_TOP/../shared/corpus/make_corpus.py" "$T/corpus" --bomb-mib 64 >"$T/gen.log" 2>&1 ||
    { notok "corpus generated"; done_testing; exit 1; }
sh "$PD_TOP/tests/registry/registry.sh" start "$T/reg" anon >/dev/null 2>"$T/reg.err" ||
    { notok "registry"; diag "$(cat "$T/reg.err")"; done_testing; exit 1; }
for f in "$T/reg"/*.pid; do track_pid "$(cat "$f")"; done
R="127.0.0.1:$(cat "$T/reg/port")"
python3 "$PD_TOP/tests/extractor/push_corpus.py" "$R" "$T/corpus" "$T/refs.json" 2>"$T/push.err" ||
    { notok "corpus pushed"; diag "$(tail -3 "$T/push.err")"; done_testing; exit 1; }
ok "corpus pushed to $R"
echo "host-canary" >/tmp/mkcorpus-host-canary; chmod 0400 /tmp/mkcorpus-host-canary
rm -f /tmp/mkcorpus-breakout
start_broker "$T/b" || { notok "broker"; done_testing; exit 1; }
D="$T/b/data"
python3 - "$T/corpus/expected.json" "$T/refs.json" >"$T/cases" <<'PY'
import json, sys
exp = json.load(open(sys.argv[1])); refs = json.load(open(sys.argv[2]))
for c in exp["cases"]:
    if c["name"] in refs:
        alts = c.get("also_acceptable", [])
        print(c["name"], refs[c["name"]], c["outcome"], ",".join(alts) or "-")
PY
nb0=$(ls "$D/storage/blobs/sha256" | wc -l)
while read -r name ref outcome alts; do
	before=$(ls "$D/storage/blobs/sha256" | wc -l)
	if out=$(ctl install --disable -q --alias "c-$name" "$ref" 2>&1); then got=extract; else got=reject; fi
	case "$outcome:$got" in
	reject:reject|extract:extract|reject_or_contain:*) v=ok ;;
	*) case ",$alts," in *",$got,"*) v=ok ;; *) v=bad ;; esac ;;
	esac
	if [ $v = ok ] && [ $got = reject ]; then
		if ctl inspect "c-$name" >/dev/null 2>&1 || [ -n "$(job_tmp "$D")" ] ||
		    [ "$(ls "$D/storage/blobs/sha256" | wc -l)" != "$before" ]; then
			v=bad; out="rejected but left state behind: $out"
		fi
	fi
	if [ $v = ok ] && [ $got = extract ]; then
		id=$(ctl inspect -f '{{.Id}}' "c-$name")
		if ! res=$(python3 - "$T/corpus/expected.json" "$name" "$D/plugins/$id/rootfs" <<'PY' 2>&1
import hashlib, json, os, stat, sys
exp = json.load(open(sys.argv[1])); root = sys.argv[3]
case = [c for c in exp["cases"] if c["name"] == sys.argv[2]][0]
checks = case.get("checks", []) + case.get("checks_if_extracted", [])
for ch in checks:
    p = os.path.join(root, ch["path"]) if "path" in ch else None
    if "path_bytes_hex" in ch:
        p = os.path.join(root.encode(), bytes.fromhex(ch["path_bytes_hex"]))
    t = ch.get("type")
    st = os.lstat(p) if p is not None and os.path.lexists(p) else None
    if t == "absent":
        assert st is None, "%s exists" % ch
        continue
    if t:
        assert st is not None, "%s missing" % ch
        want = {"file": stat.S_ISREG, "dir": stat.S_ISDIR, "symlink": stat.S_ISLNK}[t]
        assert want(st.st_mode), "%s wrong type" % ch
    if "content" in ch:
        assert open(p, "rb").read() == ch["content"].encode(), "%s content" % ch
    if "content_sha256" in ch:
        assert hashlib.sha256(open(p, "rb").read()).hexdigest() == ch["content_sha256"], ch
    if "size" in ch:
        assert st.st_size == ch["size"], ch
    if "target" in ch:
        assert os.readlink(p) == ch["target"], ch
    if "mode_excludes" in ch:
        assert st.st_mode & int(str(ch["mode_excludes"]), 8) == 0, ch
PY
); then v=bad; out="$res"; fi
	fi
	if [ $v = ok ]; then ok "B11 install corpus/$name: $got (expected $outcome)"
	else notok "B11 install corpus/$name: $got (expected $outcome)"; diag "$(echo "$out" | tail -n 2)"; fi
done <"$T/cases"
[ "$(cat /tmp/mkcorpus-host-canary)" = host-canary ] && [ ! -e /tmp/mkcorpus-breakout ] &&
    ok "host canary intact, no breakout file" || notok "host canary touched"
n=$(find "$D/plugins" -type c -o -type b -o -type p -o -type s 2>/dev/null | wc -l)
[ "$n" = 0 ] && ok "no device nodes, FIFOs or sockets in any installed rootfs" || notok "$n special files"
n=$(find "$D/plugins" -type f -perm /6000 2>/dev/null | wc -l)
[ "$n" = 0 ] && ok "no setuid/setgid files in any installed rootfs" || notok "$n setid files"
n=$(find "$D/plugins" -name '.wh.*' 2>/dev/null | wc -l)
[ "$n" = 0 ] && ok "no whiteout file materialised" || notok "$n whiteouts materialised"
rm -f /tmp/mkcorpus-host-canary
done_testing

#!/bin/sh
# Run the hostile-layer corpus (../shared/corpus) against untar_tool with
# the reference harness and report one TAP line per case and run, plus the
# reason class of every rejected case and the diff_id of every accepted
# layer.  Needs root (the harness drops to uid 65534 with setpriv).
# The harness works in /tmp; when possible it runs in a private mount
# namespace with a tmpfs on /tmp (ext4 without a journal makes the 200k
# file case several times slower).  PD_SLOW=0 skips the optional
# 200k-file / 70k-hardlink cases (~10 s on tmpfs).
set -u
top=${PD_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${PD_BUILD:-$top/build}
corpus=$top/../shared/corpus
tool=$build/tests/tools/untar_tool
n=0

ok() { n=$((n + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); echo "not ok $n - $*"; }
skip() { n=$((n + 1)); echo "ok $n - # SKIP $*"; }
finish() { echo "1..$n"; exit 0; }

if [ ! -f "$corpus/make_corpus.py" ] || [ ! -f "$corpus/run_corpus.py" ]; then
	skip "corpus not found at $corpus"
	finish
fi
if [ ! -x "$tool" ]; then
	notok "untar_tool not built ($tool)"
	finish
fi
if [ "$(id -u)" -ne 0 ]; then
	skip "the corpus harness needs root"
	finish
fi

tmp=$(mktemp -d /dev/shm/pd-corpus.XXXXXX 2>/dev/null) ||
    tmp=$(mktemp -d /tmp/pd-corpus.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
chmod 755 "$tmp"

# Emit TAP lines for one harness run.  Reason classes are compared for
# rejected cases when $4 is "classes".  A documented divergence is listed
# in DIVERGE below and reported as ok with a note.
tap() {
	python3 - "$1" "$2" "$3" "$4" "$n" <<'EOF'
import json, sys
exp_path, res_path, label, mode, n = sys.argv[1:6]
n = int(n)
exp = {c["name"]: c for c in json.load(open(exp_path))["cases"]}
res = json.load(open(res_path))
# Known, deliberate differences in the reported class (not the outcome).
DIVERGE = {
    "size_declared_huge_truncated": ("limit_exceeded",
        "the declared 8 GiB size is checked against max_file before any "
        "data is read, so the limit fires before the truncation is seen"),
}
for r in res:
    n += 1
    ok = r["verdict"].startswith("PASS")
    extra = "" if ok else " (%s)" % "; ".join(
        r["invariant_violations"] + r["check_failures"] + [r["stderr"]])[:200]
    print("%s %d - %s case %s: %s (%s)%s" % ("ok" if ok else "not ok", n, label,
          r["name"], r["verdict"], r["got"], extra))
    if mode != "classes" or r["got"] != "rejected":
        continue
    c = exp[r["name"]]
    got = r["stderr"].split(":", 1)[0]
    want = [c.get("reason_class")] + c.get("also_acceptable", [])
    n += 1
    if got in want:
        print("ok %d - %s class %s: %s" % (n, label, r["name"], got))
    elif DIVERGE.get(r["name"], ("",))[0] == got:
        print("ok %d - %s class %s: %s (corpus says %s; %s)" % (n, label,
              r["name"], got, want[0], DIVERGE[r["name"]][1]))
    else:
        print("not ok %d - %s class %s: got %r, want %s" % (n, label,
              r["name"], r["stderr"], " or ".join(map(str, want))))
open(res_path + ".n", "w").write(str(n))
EOF
	n=$(cat "$2.n")
}

# Run a command with a private tmpfs on /tmp if we can, else as is.  What
# the run needs from under the real /tmp (a checkout there, its corpus or
# build) is bound back over the tmpfs first, so the suite runs from any
# checkout location.
phys() { (cd "$1" 2>/dev/null && pwd -P) || echo "$1"; }
top=$(phys "$top") corpus=$(phys "$corpus") build=$(phys "$build")
tool=$build/tests/tools/untar_tool
keep=""
for _p in "$top" "$corpus" "$build"; do
	case $_p in /tmp/*) keep="$keep $_p" ;; esac
done
privns() { # privns CMD...: CMD with a tmpfs on /tmp and $keep bound back
	unshare --mount --propagation private sh -c '
	    keep=$1; stash=$2; shift 2; i=0
	    for k in $keep; do i=$((i + 1)); mkdir -p "$stash/$i" &&
		mount --rbind "$k" "$stash/$i" || exit 97; done
	    mount -t tmpfs -o mode=1777,size=4g pd-corpus-tmp /tmp || exit 97
	    i=0
	    for k in $keep; do i=$((i + 1)); mkdir -p "$k" &&
		mount --move "$stash/$i" "$k" || exit 97; done
	    exec "$@"' sh "$keep" "$tmp/keep" "$@"
}
privtmp=0
case $tmp in
/dev/shm/*) privns true 2>/dev/null && privtmp=1 ;;
esac
intmp() {
	if [ "$privtmp" -eq 1 ]; then
		(cd / && privns sh -c 'cd "$1" && shift && exec "$@"' sh "$PWD" "$@")
	else
		"$@"
	fi
}

# run LABEL CORPUS_DIR JSON CLASSMODE [harness options]
run() {
	label=$1 dir=$2 json=$3 mode=$4
	shift 4
	if [ -n "${PD_SANITIZE:-}" ]; then
		skip "$label: run_corpus.py caps RLIMIT_AS at 1 GiB and ASan needs" \
		    "terabytes of shadow address space (sanitizer build; the" \
		    "diff_id pass below still extracts every layer under ASan)"
		return
	fi
	intmp python3 "$corpus/run_corpus.py" "$dir" \
	    --extractor "$tool {layer} {rootfs}" --json "$json" "$@" \
	    >"$json.log" 2>&1
	rc=$?
	if [ ! -s "$json" ]; then
		notok "$label: harness produced no results (exit $rc)"
		sed 's/^/# /' "$json.log" | tail -n 20
		return
	fi
	tap "$dir/expected.json" "$json" "$label" "$mode"
	summary=$(tail -n 1 "$json.log")
	if [ "$rc" -eq 0 ]; then
		ok "$label: harness: $summary"
	else
		notok "$label: harness exit $rc: $summary"
	fi
}

if ! python3 "$corpus/make_corpus.py" "$tmp/c" --bomb-mib 64 \
    >"$tmp/gen.log" 2>&1; then
	notok "make_corpus.py failed"
	sed 's/^/# /' "$tmp/gen.log" | tail -n 20
	finish
fi
chmod -R a+rX "$tmp/c"
[ "$privtmp" -eq 1 ] && echo "# harness runs with a private tmpfs on /tmp"
run nobody "$tmp/c" "$tmp/r1.json" classes
run root "$tmp/c" "$tmp/r2.json" verdicts --user -1 --check-owner

# diff_id printed by untar_tool against the corpus for accepted layers.
python3 - "$tmp/c" "$tool" "$tmp/d" "$n" <<'EOF'
import json, os, shutil, subprocess, sys
cdir, tool, work, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
checked, bad = 0, []
for c in json.load(open(os.path.join(cdir, "expected.json")))["cases"]:
    os.makedirs(work)
    for layer in c["layers"]:
        p = subprocess.run([tool, os.path.join(cdir, layer["file"]), work],
                           capture_output=True, text=True)
        if p.returncode != 0:
            break
        if layer["diff_id"] is not None:
            checked += 1
            got = p.stdout.split()[0]
            if got != layer["diff_id"]:
                bad.append("%s: %s != %s" % (layer["file"], got, layer["diff_id"]))
    shutil.rmtree(work)
n += 1
print("%s %d - diff_id of %d accepted layers matches expected.json%s" % (
      "not ok" if bad else "ok", n, checked, "" if not bad else " (%s)" % bad[:3]))
open(work + ".n", "w").write(str(n))
EOF
n=$(cat "$tmp/d.n")

if [ "${PD_SLOW:-1}" = 0 ]; then
	skip "optional many-files cases (PD_SLOW=0)"
	finish
fi
start=$(date +%s)
if python3 "$corpus/make_corpus.py" "$tmp/m" --only \
    many_files_200k,many_hardlinks_70k >"$tmp/genm.log" 2>&1; then
	chmod -R a+rX "$tmp/m"
	run many "$tmp/m" "$tmp/r3.json" classes --include-optional
	echo "# many-files cases took $(($(date +%s) - start)) s"
else
	notok "make_corpus.py --only many_files_200k,many_hardlinks_70k failed"
fi
finish

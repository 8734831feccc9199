#!/bin/sh
# The public layer corpus through the production path: every layer goes
# through broker/proc/helper.c into the real plugind-extractor (chrooted,
# seccomp-filtered, unprivileged), exactly as an install applies it.
. "$(dirname "$0")/../lib.sh"

if [ -n "$PD_SANITIZE" ]; then
	skip "run_corpus.py caps RLIMIT_AS at 1 GiB and ASan needs terabytes of" \
	    "shadow address space (sanitizer build; test_corpus_install.sh takes" \
	    "the corpus through the sandboxed extractor under ASan)"
	done_testing; exit 0
fi

C=$(mktemp -d /tmp/pd-corpus.XXXXXX); track_dir "$C"
if ! python3 "$PD_TOP/../shared/corpus/make_corpus.py" "$C/corpus" --bomb-mib 64 >"$C/gen.log" 2>&1; then
	notok "corpus generated"; diag "$(tail -5 "$C/gen.log")"; done_testing; exit 1
fi
PD_BUILD=$PD_BUILD timeout 900 python3 "$PD_TOP/../shared/corpus/run_corpus.py" "$C/corpus" \
    --user -1 --json "$C/r.json" \
    --extractor "$PD_BUILD/tests/tools/extract_tool {layer} {rootfs}" >"$C/run.log" 2>&1
python3 - "$C/r.json" "$C/corpus/expected.json" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))
exp = {c["name"]: c for c in json.load(open(sys.argv[2]))["cases"]}
rows = res if isinstance(res, list) else res.get("cases", res.get("results", []))
for r in rows:
    name = r.get("name") or r.get("case")
    verdict = r.get("verdict", "")
    ok = verdict in ("PASS", "PASS(alt)")
    print(("ok" if ok else "not ok") + " - sandboxed extractor: %s: %s (%s)" % (name, verdict, exp.get(name, {}).get("outcome", "?")))
    if not ok:
        print("# " + str(r.get("detail", ""))[:300])
PY
tail -n 1 "$C/run.log" | sed 's/^/# /'
n=$(grep -c . "$C/r.json" 2>/dev/null || echo 0)
[ "$n" -gt 0 ] || notok "corpus harness produced results"
# Keep our own TAP count in step with the python lines above.
_n=$(python3 -c "import json,sys; r=json.load(open('$C/r.json')); r=r if isinstance(r,list) else r.get('cases',r.get('results',[])); print(len(r))")
grep -q ' 0 FAIL' "$C/run.log" && ok "no invariant violated (run_corpus: $(tail -n1 "$C/run.log"))" || notok "invariants: $(tail -n1 "$C/run.log")"
done_testing

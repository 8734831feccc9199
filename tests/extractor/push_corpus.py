#!/usr/bin/env python3
"""push_corpus.py REGISTRY CORPUS_DIR OUT_JSON: push every corpus case as a
plugin (repository corpus/<name>, layers = the case's layer files in
order, a minimal plugin config whose rootfs.diff_ids name each layer by
its uncompressed digest, or by the compressed digest where the corpus has
none).  Writes {case: reference} to OUT_JSON.  Stdlib only."""
import json, os, re, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "registry"))
import push_plugin as pp

reg, corpus, out = sys.argv[1], sys.argv[2], sys.argv[3]
exp = json.load(open(os.path.join(corpus, "expected.json")))
refs = {}
for case in exp["cases"]:
    name = case["name"]
    if case.get("optional") and not all(
            os.path.exists(os.path.join(corpus, l["file"])) for l in case["layers"]):
        continue
    repo = "corpus/" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    c = pp.Client("http://" + reg, repo, None, None, None)
    layers, diffs = [], []
    for l in case["layers"]:
        data = open(os.path.join(corpus, l["file"]), "rb").read()
        d = c.blob(data)
        layers.append({"mediaType": pp.MT_LAYER, "size": len(data), "digest": d})
        diffs.append(l.get("diff_id") or d)
    cfg = json.dumps({"Description": "corpus " + name, "Entrypoint": ["/x"],
                      "Interface": {"Socket": "c.sock",
                                    "Types": ["docker.volumedriver/1.0"]},
                      "rootfs": {"type": "layers", "diff_ids": diffs}}).encode()
    cd = c.blob(cfg)
    man = json.dumps({"schemaVersion": 2, "mediaType": pp.MT_SCHEMA2,
                      "config": {"mediaType": pp.MT_PLUGIN, "size": len(cfg), "digest": cd},
                      "layers": layers}).encode()
    c.manifest("latest", man, pp.MT_SCHEMA2)
    refs[name] = reg + "/" + repo + ":latest"
json.dump(refs, open(out, "w"))

#!/usr/bin/env python3
"""Write and rewrite sigstore signature attachments in a loopback
registry, for tests/policy/test_signed.sh.  Stdlib and openssl(1), no
auth.  Debian's skopeo 1.9.3 refuses --sign-by-sigstore-private-key
("Debian-local change: sigstore disabled"), so `sign` writes what
upstream skopeo writes with use-sigstore-attachments: the payload
containers/image signs, an ECDSA P-256 signature by openssl over it,
appended as a layer to the OCI manifest sha256-<hex>.sig.

  sigattach.py REGISTRY sign REPO DIGEST DOCKER-REFERENCE KEY.pem
      add a signature of DIGEST as DOCKER-REFERENCE by KEY
  sigattach.py REGISTRY copy SRC-REPO SRC-DIGEST DST-REPO DST-DIGEST
      put SRC's sha256-<hex>.sig (and its blobs) as DST's
  sigattach.py REGISTRY tamper REPO DIGEST
      change one byte of the first payload, keep its signature
  sigattach.py REGISTRY foreign REPO DIGEST
      add a layer that is not a signature to DIGEST's attachment
  sigattach.py REGISTRY garbage REPO DIGEST KIND
      replace the attachment: KIND is many (17 signatures), huge (a
      payload layer declaring 10 MB), liar (a payload blob larger than
      its declared size), junk (a payload that is not JSON, signature
      of random bytes), notoci (layers is not a list)
"""
import base64
import hashlib
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

OCI = "application/vnd.oci.image.manifest.v1+json"
SIG = "application/vnd.dev.cosign.simplesigning.v1+json"
ANN = "dev.cosignproject.cosign/signature"
REG = "http://" + sys.argv[1]


def req(method, path, data=None, headers=None):
    r = urllib.request.Request(REG + path, data=data, method=method,
                               headers=headers or {})
    return urllib.request.urlopen(r)


def get_manifest(repo, ref):
    return req("GET", "/v2/%s/manifests/%s" % (repo, ref),
               headers={"Accept": OCI}).read()


def put_manifest(repo, ref, body):
    req("PUT", "/v2/%s/manifests/%s" % (repo, ref), data=body,
        headers={"Content-Type": OCI}).read()


def get_blob(repo, digest):
    return req("GET", "/v2/%s/blobs/%s" % (repo, digest)).read()


def put_blob(repo, data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    r = req("POST", "/v2/%s/blobs/uploads/" % repo)
    loc = r.headers["Location"]
    if not loc.startswith("http"):
        loc = REG + loc
    loc += ("&" if "?" in loc else "?") + "digest=" + d
    urllib.request.urlopen(urllib.request.Request(
        loc, data=data, method="PUT",
        headers={"Content-Type": "application/octet-stream"})).read()
    return d


def tag(digest):
    return "sha256-" + digest.split(":", 1)[1] + ".sig"


def copy(src, sdig, dst, ddig):
    body = get_manifest(src, tag(sdig))
    m = json.loads(body)
    for d in [m["config"]] + m["layers"]:
        put_blob(dst, get_blob(src, d["digest"]))
    put_manifest(dst, tag(ddig), body)


def sign(repo, digest, ref, key):
    payload = json.dumps({
        "critical": {"identity": {"docker-reference": ref},
                     "image": {"docker-manifest-digest": digest},
                     "type": "cosign container image signature"},
        "optional": {"creator": "containers/image", "timestamp": 1700000000},
    }, separators=(",", ":")).encode()
    der = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key],
                         input=payload, stdout=subprocess.PIPE,
                         check=True).stdout
    try:
        m = json.loads(get_manifest(repo, tag(digest)))
    except urllib.error.HTTPError:
        m = {"schemaVersion": 2, "mediaType": OCI, "layers": []}
    pd = put_blob(repo, payload)
    m["layers"].append({"mediaType": SIG, "digest": pd,
                        "size": len(payload),
                        "annotations": {ANN: base64.b64encode(der).decode()}})
    cfg = json.dumps({
        "architecture": "", "created": "0001-01-01T00:00:00Z", "os": "",
        "rootfs": {"type": "layers",
                   "diff_ids": [l["digest"] for l in m["layers"]]},
        "config": {}}).encode()
    m["config"] = {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": put_blob(repo, cfg), "size": len(cfg)}
    put_manifest(repo, tag(digest), json.dumps(m).encode())


def tamper(repo, digest):
    m = json.loads(get_manifest(repo, tag(digest)))
    l = m["layers"][0]
    p = get_blob(repo, l["digest"])
    p = p.replace(b'"critical"', b'"critical" ', 1)
    l["digest"] = put_blob(repo, p)
    l["size"] = len(p)
    put_manifest(repo, tag(digest), json.dumps(m).encode())


def foreign(repo, digest):
    m = json.loads(get_manifest(repo, tag(digest)))
    data = b"an attestation, say"
    m["layers"].append({"mediaType": "application/vnd.example.other",
                        "digest": put_blob(repo, data), "size": len(data)})
    put_manifest(repo, tag(digest), json.dumps(m).encode())


def garbage(repo, digest, kind):
    cfg = b"{}"
    cd = put_blob(repo, cfg)
    junk = os.urandom(64)
    jd = put_blob(repo, junk)
    sig = base64.b64encode(os.urandom(70)).decode()
    layer = {"mediaType": SIG, "digest": jd, "size": len(junk),
             "annotations": {ANN: sig}}
    m = {"schemaVersion": 2, "mediaType": OCI,
         "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": cd, "size": len(cfg)},
         "layers": [layer]}
    if kind == "many":
        m["layers"] = [layer] * 17
    elif kind == "huge":
        big = b"x" * (10 * 1024 * 1024)
        layer["digest"] = put_blob(repo, big)
        layer["size"] = len(big)
    elif kind == "liar":
        big = b"{" * 200000
        layer["digest"] = put_blob(repo, big)
        layer["size"] = 100
    elif kind == "notoci":
        m["layers"] = {"0": layer}
    put_manifest(repo, tag(digest), json.dumps(m).encode())


op = sys.argv[2]
if op == "sign":
    sign(*sys.argv[3:7])
elif op == "copy":
    copy(*sys.argv[3:7])
elif op == "tamper":
    tamper(*sys.argv[3:5])
elif op == "foreign":
    foreign(*sys.argv[3:5])
elif op == "garbage":
    garbage(*sys.argv[3:6])
else:
    sys.exit("unknown operation " + op)

#!/usr/bin/env python3
"""A hostile registry for the fetcher tests (rows of docs/FETCHER.md's coverage table).

Stdlib only (certificates are made with the openssl command).  The
listeners are on 127.0.0.1 (and one on --internal ADDR):

  plain        http registry emulation
  tls          https, certificate for 127.0.0.1 from the test CA
  tls_wrong    https, certificate for wrong.example only (T2)
  tls_expired  https, expired certificate from the test CA (T2)
  tls_self     https, self-signed certificate not from the CA (T2)
  tls_mtls     https, requires a client certificate from the test CA
  attacker     http, another origin: a CDN / attacker / foreign token
               server; it serves the good blob and manifest under /cdn/
               and tokens under /token, and logs every header it gets
  internal     with --internal ADDR: http on ADDR, the plain port, the
               same registry emulation; the DNS test resolves
               internal.test to it (a stand-in for IMDS / docker.sock)

The behaviour is chosen by the first component of the repository name:
GET /v2/<case>/p/manifests/<ref> and /v2/<case>/p/blobs/<digest>.  CASES
below maps each case to the coverage-table row it emulates;
DOC_CASES are whole plugins for the document rows (M4-M15, A10).

  hostile.py --dir DIR     writes DIR/info.json (ports, CA path, digests
                           and sizes of the good content, case list) and
                           logs every request as a JSON line to
                           DIR/requests.log: listener, method, path,
                           headers.
"""
import argparse
import base64
import gzip
import hashlib
import io
import json
import os
import random
import socket
import ssl
import subprocess
import sys
import tarfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MT_SCHEMA2 = "application/vnd.docker.distribution.manifest.v2+json"
MT_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+prettyjws"
MT_PLUGIN = "application/vnd.docker.plugin.v1+json"
MT_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
USER, PASS = "testuser", "testpass"
BASIC = "Basic dGVzdHVzZXI6dGVzdHBhc3M="        # testuser:testpass


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


BLOB = random.Random(1).randbytes(200 * 1024)
BLOB_D = sha(BLOB)
ZERO = bytes(200 * 1024)
ZERO_D = sha(ZERO)
CONFIG = json.dumps({"description": "hostile test plugin",
                     "entrypoint": ["/plugin"],
                     "interface": {"socket": "x.sock",
                                   "types": ["docker.volumedriver/1.0"]},
                     "rootfs": {"type": "layers", "diff_ids": [BLOB_D]}}).encode()
CONFIG_D = sha(CONFIG)
MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": MT_SCHEMA2,
                       "config": {"mediaType": MT_PLUGIN, "digest": CONFIG_D,
                                  "size": len(CONFIG)},
                       "layers": [{"mediaType": MT_LAYER, "digest": BLOB_D,
                                   "size": len(BLOB)}]}, indent=3).encode()
MANIFEST_D = sha(MANIFEST)

# case -> (row, description).  The test script iterates over nothing here;
# it names the cases itself, so this table is the documentation.
CASES = {
    "ok": ("-", "well-behaved registry (baseline; used for T1, T2, N3)"),
    "okbasic": ("-", "well-behaved, Basic auth required"),
    "t4-truncate": ("T4", "TLS: Content-Length N, 1000 bytes, TCP close "
                    "without close_notify"),
    "t5-dupcl": ("T5", "two different Content-Length headers"),
    "t5-tecl": ("T5", "Transfer-Encoding: chunked and Content-Length"),
    "t6-bigauth": ("T6", "401 with a 2 MiB WWW-Authenticate"),
    "t6-manyhdrs": ("T6", "100000 small response headers"),
    "r1-cdn": ("R1", "Basic auth; blob 307 to the attacker origin (CDN)"),
    "r2-file": ("R2", "307 to file:///etc/shadow"),
    "r3-ftp": ("R3", "307 to ftp://"), "r3-gopher": ("R3", "gopher://"),
    "r3-dict": ("R3", "dict://"), "r3-ldap": ("R3", "ldap://"),
    "r3-smb": ("R3", "smb://"), "r3-telnet": ("R3", "telnet://"),
    "r3-scp": ("R3", "scp://"), "r3-data": ("R3", "data:"),
    "r4-downgrade": ("R4", "https blob 307 to http://"),
    "r5-private": ("R5", "307 to http://10.0.0.5/"),
    "r5-imds": ("R5", "307 to http://169.254.169.254/latest/meta-data/"),
    "r5-zero": ("R5", "307 to http://0/"),
    "r5-decimal": ("R5", "307 to http://167772165/ (10.0.0.5)"),
    "r5-mapped": ("R5", "307 to http://[::ffff:10.0.0.5]/"),
    "r5-ll6": ("R5", "307 to http://[fe80::1]/"),
    "r5-name": ("R5", "307 to http://internal.test:P/ (a name that the "
                "DNS test resolves to the --internal address)"),
    "r6-loop": ("R6", "redirect to itself forever"),
    "r6-chain": ("R6", "a 50-hop chain"),
    "r7-userinfo": ("R7", "Location with user:pw@"),
    "r7-cr": ("R7", "Location with a bare CR"),
    "r7-fragment": ("R7", "Location with a #fragment"),
    "r7-long": ("R7", "Location of 9000 bytes"),
    "r8-m301": ("R8", "Basic auth; manifest 301 to the attacker origin"),
    "r8-m308": ("R8", "Basic auth; manifest 308 to the attacker origin"),
    "rs-same": ("-", "Basic auth; 307 within the same origin keeps auth"),
    "a1-foreign": ("A1", "Bearer realm on the attacker origin"),
    "a2-imds": ("A2", "realm http://169.254.169.254/token"),
    "a2-private": ("A2", "realm http://10.0.0.5/token"),
    "a2-name": ("A2", "realm http://internal.test:P/token (see r5-name)"),
    "a3-file": ("A3", "realm file:///etc/passwd"),
    "a3-gopher": ("A3", "realm gopher://"),
    "a3-empty": ("A3", "realm \"\""), "a3-missing": ("A3", "no realm"),
    "a3-relative": ("A3", "realm \"/token\""),
    "a4-httprealm": ("A4", "https registry, realm on plain http"),
    "a5-basic": ("A5", "Basic challenge over plain http"),
    "a6-loop": ("A6", "token fine, registry 401s forever"),
    "a7-huge": ("A7", "5 MiB token response"),
    "a7-notjson": ("A7", "token response not JSON"),
    "a7-crlf": ("A7", "token \"a\\r\\nX-Evil: 1\""),
    "a7-both": ("A7", "token and access_token differ (access_token wins)"),
    "a7-expneg": ("A7", "expires_in -1 (clamped, works)"),
    "a7-expbig": ("A7", "expires_in 1e308"),
    "a7-expstr": ("A7", "expires_in \"abc\""),
    "a7-notoken": ("A7", "no token at all"),
    "a7-bigtoken": ("A7", "a 100 KiB token"),
    "a7-trailing": ("A7", "JSON with trailing garbage"),
    "a8-scope": ("A8", "challenge scope for another repository"),
    "a9-redirect": ("A9", "token endpoint 302 to the attacker origin"),
    "a-unterminated": ("-", "WWW-Authenticate with an unterminated quote"),
    "a-garbage": ("-", "WWW-Authenticate that is not a challenge"),
    "a-nochallenge": ("-", "401 without WWW-Authenticate"),
    "a-negotiate": ("-", "only an unsupported scheme"),
    "m1-cl": ("M1", "50 MiB manifest with Content-Length"),
    "m1-chunked": ("M1", "50 MiB manifest, chunked"),
    "m2-wrong": ("M2", "by digest, other bytes"),
    "m3-dcd": ("M3", "Docker-Content-Digest disagrees with the body"),
    "m5-ctype": ("M5", "manifest with Content-Type text/html"),
    "m5-noctype": ("M5", "manifest without Content-Type"),
    "m6-schema1": ("M6", "schema 1 media type"),
    "m8": ("M8", "bad digest strings: no request may arrive"),
    "b1-wrong": ("B1", "right size, other bytes"),
    "b2-short": ("B2", "Content-Length 1000000, 10 bytes, close"),
    "b3-hugecl": ("B3", "Content-Length 1 PB"),
    "b4-endless": ("B4", "chunked, endless zeros"),
    "b5-extra": ("B5", "more bytes than Content-Length"),
    "b5-shortcl": ("B5", "Content-Length below the descriptor size"),
    "b6-drip": ("B6", "1 byte every 10 s"),
    "b6-stall": ("B6", "headers, then nothing"),
    "b6-slow": ("B6", "1 KiB/s: passes the low-speed check, not the deadline"),
    "b7-gzip": ("B7", "unsolicited Content-Encoding: gzip"),
    "b7-chain": ("B7", "Content-Encoding: gzip x1000"),
    "b8-206": ("B8", "206 Partial Content"),
    "b9-big500": ("B9", "500 with a 50 MiB chunked body"),
    "b9-big404": ("B9", "404 with a 50 MiB body and Content-Length"),
    "b9-ansi": ("B9", "500 whose JSON message has ANSI escapes"),
    "b10-429": ("B10", "429 Retry-After: 999999999 forever"),
    "s500": ("-", "500 Internal Server Error"),
    "s503": ("-", "503 forever (retried, then fails)"),
    "chunk-trunc": ("-", "chunked body cut off without the last chunk"),
}


# ---- document cases (M4-M15, A10): whole plugins for `pluginctl install`.
#
# Each is data: the manifest bytes served for any tag, its Content-Type,
# the documents served by digest, and the blobs.  All require Basic auth
# (testuser:testpass), so the test can assert that the credentials went
# to the registry origin only.

MT_OCI = "application/vnd.oci.image.manifest.v1+json"
MT_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MT_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MT_FOREIGN = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
MT_IMAGE_CONFIG = "application/vnd.docker.container.image.v1+json"


def layer_tar(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in files:
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode, ti.mtime = len(data), 0o755, 0
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


TAR = layer_tar([("plugin", b"#!/bin/sh\nexit 0\n")])
DIFF_D = sha(TAR)
LAYER = gzip.compress(TAR, mtime=0)
LAYER_D = sha(LAYER)
LAYER2 = gzip.compress(TAR, mtime=1)     # same tar, same size, other bytes
assert len(LAYER2) == len(LAYER) and LAYER2 != LAYER


def pconfig(**over):
    c = {"Description": "hostile document case", "Entrypoint": ["/plugin"],
         "Interface": {"Socket": "p.sock",
                       "Types": ["docker.volumedriver/1.0"]},
         "rootfs": {"type": "layers", "diff_ids": [DIFF_D]}}
    c.update(over)
    return json.dumps(c).encode()


def desc(mt, data=None, digest=None, size=None, **extra):
    d = {"mediaType": mt, "digest": digest or sha(data),
         "size": len(data) if size is None else size}
    d.update(extra)
    return d


def manifest(cfg, layers=None, mt=MT_SCHEMA2, cfg_desc=None, **extra):
    m = {"schemaVersion": 2, "mediaType": mt,
         "config": cfg_desc or desc(MT_PLUGIN, cfg),
         "layers": [desc(MT_LAYER, LAYER)] if layers is None else layers}
    m.update(extra)
    return json.dumps(m).encode()


def doc(man, cfg=None, ctype=MT_SCHEMA2, blobs=None, by_digest=None,
        serve=None, then=None, head=None):
    """A document case: `serve` maps digest -> bytes sent instead of the
    real blob; `then` is the manifest sent on every GET after the first
    (per tag); `head` the manifest whose headers a HEAD gets."""
    b = {LAYER_D: LAYER}
    if cfg is not None:
        b[sha(cfg)] = cfg
    b.update(blobs or {})
    b.update(serve or {})
    return {"manifest": man, "ctype": ctype, "blobs": b,
            "by_digest": by_digest or {}, "then": then, "head": head}


def raw_manifest(text):
    """Manifest text with the good config and layer digests filled in."""
    return (text.replace("@CFG@", sha(GOOD_CFG)).replace("@CFGSIZE@", str(
        len(GOOD_CFG))).replace("@LAYER@", LAYER_D).replace(
        "@LSIZE@", str(len(LAYER)))).encode()


GOOD_CFG = pconfig()
GOOD_MAN = manifest(GOOD_CFG)
PRIV_CFG = pconfig(Linux={"Capabilities": ["CAP_SYS_ADMIN"],
                          "AllowAllDevices": True},
                   Network={"Type": "host"},
                   Mounts=[{"Name": "root", "Source": "/",
                            "Destination": "/host", "Type": "bind",
                            "Options": ["rbind"]}])
PRIV_MAN = manifest(PRIV_CFG)
CAP_CFG = pconfig(Linux={"Capabilities": ["CAP_SYS_ADMIN"]})
CAP_MAN = manifest(CAP_CFG)
M_TEXT = ('{"schemaVersion": 2, "mediaType": "' + MT_SCHEMA2 + '", '
          '"config": {"mediaType": "' + MT_PLUGIN + '", "digest": "@CFG@", '
          '"size": @CFGSIZE@}, "layers": [{"mediaType": "' + MT_LAYER +
          '", "digest": "@LAYER@", "size": %s}]%s}')
HEX = hashlib.sha256(b"x").hexdigest()


def bad_layer_digest(d):
    return doc(manifest(GOOD_CFG, [desc(MT_LAYER, digest=d, size=len(LAYER))]),
               GOOD_CFG)


def plat(m, arch="amd64"):
    return desc(MT_SCHEMA2, m, platform={"os": "linux", "architecture": arch})


def index(entries, mt=MT_LIST, **extra):
    i = {"schemaVersion": 2, "mediaType": mt, "manifests": entries}
    i.update(extra)
    return json.dumps(i).encode()


def host_arch():
    m = os.uname().machine
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(m, m)


def build_docs():
    a = host_arch()
    d = {}
    nested = index([plat(GOOD_MAN, a)])
    d["m4-toctou"] = doc(GOOD_MAN, GOOD_CFG, blobs={sha(CAP_CFG): CAP_CFG},
                         then=CAP_MAN, head=CAP_MAN)
    d["m5-both"] = doc(manifest(GOOD_CFG, manifests=[plat(GOOD_MAN, a)]),
                       GOOD_CFG)
    d["m5-mtflip"] = doc(GOOD_MAN, GOOD_CFG, ctype=MT_OCI)
    d["m5-idxconfig"] = doc(index([plat(GOOD_MAN, a)],
                                  config=desc(MT_PLUGIN, GOOD_CFG)),
                            GOOD_CFG, ctype=MT_LIST,
                            by_digest={sha(GOOD_MAN): (GOOD_MAN, MT_SCHEMA2)})
    d["m6-encrypted"] = doc(manifest(GOOD_CFG, [desc(
        MT_LAYER.replace("tar.gzip", "tar+gzip+encrypted"), LAYER)]), GOOD_CFG)
    d["m6-imgconfig"] = doc(manifest(GOOD_CFG, cfg_desc=desc(MT_IMAGE_CONFIG,
                                                             GOOD_CFG)),
                            GOOD_CFG)
    d["m7-trailing"] = doc(GOOD_MAN + b" garbage", GOOD_CFG)
    d["m7-dupkeys"] = doc(raw_manifest(M_TEXT % ("@LSIZE@", ', "layers": []')),
                          GOOD_CFG)
    d["m7-nested"] = doc(b"[" * 100000, GOOD_CFG)
    d["m7-bom"] = doc(b"\xef\xbb\xbf" + GOOD_MAN, GOOD_CFG)
    d["m7-nul"] = doc(b"{\x00" + GOOD_MAN[1:], GOOD_CFG)
    d["m7-utf8"] = doc(b'{"x": "\xff\xfe", ' + GOOD_MAN[1:], GOOD_CFG)
    d["m7-comment"] = doc(b"/* c */ " + GOOD_MAN, GOOD_CFG)
    d["m7-1e400"] = doc(raw_manifest(M_TEXT % ("1e400", "")), GOOD_CFG)
    d["m7-neg"] = doc(raw_manifest(M_TEXT % ("-1", "")), GOOD_CFG)
    d["m7-2p64"] = doc(raw_manifest(M_TEXT % (str(1 << 64), "")), GOOD_CFG)
    bad = GOOD_CFG + b" {}"
    d["m7-cfgtrailing"] = doc(manifest(bad), bad)
    bad = GOOD_CFG[:-1] + b', "Entrypoint": ["/x"]}'
    d["m7-cfgdup"] = doc(manifest(bad), bad)
    for name, dg in (("dotdot", "sha256:../../../../tmp/x"),
                     ("empty", "sha256:"), ("upper", "sha256:" + HEX.upper()),
                     ("short", "sha256:" + HEX[:63]),
                     ("long", "sha256:" + HEX + "0"),
                     ("md5", "md5:" + HEX[:32]),
                     ("newline", "sha256:" + HEX + "\n"),
                     ("pct", "sha256:%2e%2e" + HEX[6:])):
        d["m8-" + name] = bad_layer_digest(dg)
    d["m8-config"] = doc(manifest(GOOD_CFG, cfg_desc=desc(
        MT_PLUGIN, digest="sha256:../" + HEX[3:], size=len(GOOD_CFG))))
    d["m9-2p63"] = doc(raw_manifest(M_TEXT % (str(1 << 63), "")), GOOD_CFG)
    d["m9-huge"] = doc(manifest(GOOD_CFG, [desc(MT_LAYER, LAYER,
                                                size=1 << 40)]), GOOD_CFG)
    d["m9-small"] = doc(manifest(GOOD_CFG, [desc(MT_LAYER, LAYER,
                                                 size=len(LAYER) - 10)]),
                        GOOD_CFG)
    d["m9-big"] = doc(manifest(GOOD_CFG, [desc(MT_LAYER, LAYER,
                                               size=len(LAYER) + 10)]),
                      GOOD_CFG)
    d["m10-many"] = doc(manifest(GOOD_CFG, [desc(MT_LAYER, LAYER)] * 10000),
                        GOOD_CFG)
    cfg2 = pconfig(rootfs={"type": "layers", "diff_ids": [DIFF_D, DIFF_D]})
    d["m10-diffids"] = doc(manifest(cfg2), cfg2)
    idx = index([desc(MT_LIST, nested, platform={"os": "linux",
                                                 "architecture": a})])
    d["m11-nested"] = doc(idx, GOOD_CFG, ctype=MT_LIST,
                          by_digest={sha(nested): (nested, MT_LIST)})
    selfref = index([desc(MT_LIST, digest="sha256:" + HEX, size=100,
                          platform={"os": "linux", "architecture": a})])
    d["m11-self"] = doc(selfref, ctype=MT_LIST,
                        by_digest={"sha256:" + HEX: (selfref, MT_LIST)})
    d["m11-wide"] = doc(index([plat(GOOD_MAN, "s390x")] * 100000),
                        ctype=MT_LIST)
    d["m11-many"] = doc(index([plat(GOOD_MAN, "s390x")] * 1000 +
                              [plat(GOOD_MAN, a)]), GOOD_CFG, ctype=MT_LIST,
                        by_digest={sha(GOOD_MAN): (GOOD_MAN, MT_SCHEMA2)})
    d["m11-noplat"] = doc(index([plat(GOOD_MAN, "s390x")]), ctype=MT_LIST)
    d["m12-cfgdigest"] = doc(GOOD_MAN, GOOD_CFG,
                             serve={sha(GOOD_CFG): pconfig(Description="x" *
                                                           len("hostile "
                                                               "document "
                                                               "case"))})
    big = pconfig(Description="x" * (2 << 20))
    d["m12-cfgbig"] = doc(manifest(big), big)
    d["m13-priv"] = doc(PRIV_MAN, PRIV_CFG)
    d["m13-single"] = doc(CAP_MAN, CAP_CFG)
    for name, cfg in (
            ("socket", pconfig(Interface={"Socket": "../../../run/docker.sock",
                                          "Types": ["docker.volumedriver/1.0"]
                                          })),
            ("entrypoint", pconfig(Entrypoint=["/plugin\u0000x"])),
            ("propagated", pconfig(PropagatedMount="/")),
            ("propdotdot", pconfig(PropagatedMount="/data/../../etc")),
            ("mountdst", pconfig(Mounts=[{"Name": "m", "Source": "/tmp",
                                          "Destination": "/",
                                          "Type": "bind"}])),
            ("mountrel", pconfig(Mounts=[{"Name": "m", "Source": "/tmp",
                                          "Destination": "../../etc",
                                          "Type": "bind"}]))):
        d["m13-" + name] = doc(manifest(cfg), cfg)
    d["m14-regzip"] = doc(GOOD_MAN, GOOD_CFG, serve={LAYER_D: LAYER2})
    cfg3 = pconfig(rootfs={"type": "layers", "diff_ids": ["sha256:" + HEX]})
    d["m15-diffid"] = doc(manifest(cfg3), cfg3)
    return d


# case -> (row, description) for the document cases.
DOC_CASES = {
    "m4-toctou": ("M4", "HEAD and later GETs return another manifest (one "
                  "that needs CAP_SYS_ADMIN) than the first GET"),
    "m5-both": ("M5", "schema2 manifest that also has \"manifests\""),
    "m5-mtflip": ("M5", "Content-Type OCI manifest, body mediaType schema2"),
    "m5-idxconfig": ("M5", "manifest list that also has \"config\""),
    "m6-encrypted": ("M6", "layer media type tar+gzip+encrypted"),
    "m6-imgconfig": ("M6", "config media type of an image, not a plugin"),
    "m7-trailing": ("M7", "manifest with trailing garbage"),
    "m7-dupkeys": ("M7", "manifest with two \"layers\" keys"),
    "m7-nested": ("M7", "100000 nested ["),
    "m7-bom": ("M7", "manifest starting with a UTF-8 BOM"),
    "m7-nul": ("M7", "manifest with a NUL byte"),
    "m7-utf8": ("M7", "manifest with invalid UTF-8"),
    "m7-comment": ("M7", "manifest with a /* comment */"),
    "m7-1e400": ("M7", "layer size 1e400"),
    "m7-neg": ("M7", "layer size -1"),
    "m7-2p64": ("M7", "layer size 2^64"),
    "m7-cfgtrailing": ("M7", "plugin config with trailing data"),
    "m7-cfgdup": ("M7", "plugin config with a duplicate key"),
    "m8-dotdot": ("M8", "layer digest sha256:../../../../tmp/x"),
    "m8-empty": ("M8", "layer digest sha256:"),
    "m8-upper": ("M8", "layer digest in upper case"),
    "m8-short": ("M8", "layer digest of 63 hex digits"),
    "m8-long": ("M8", "layer digest of 65 hex digits"),
    "m8-md5": ("M8", "layer digest md5:..."),
    "m8-newline": ("M8", "layer digest with a trailing newline"),
    "m8-pct": ("M8", "layer digest with %2e%2e"),
    "m8-config": ("M8", "config digest sha256:../..."),
    "m9-2p63": ("M9", "layer size 2^63"),
    "m9-huge": ("M9", "layer size 1 TiB, above the layer limit"),
    "m9-small": ("M9", "layer size 10 bytes below the real blob"),
    "m9-big": ("M9", "layer size 10 bytes above the real blob"),
    "m10-many": ("M10", "10000 layers"),
    "m10-diffids": ("M10", "two diff_ids for one layer"),
    "m11-nested": ("M11", "index whose entry is another index"),
    "m11-self": ("M11", "index whose entry is served as the index itself"),
    "m11-wide": ("M11", "index with 100000 entries (larger than the "
                 "manifest limit)"),
    "m11-many": ("M11", "index with 1001 entries (more than the entry limit)"),
    "m11-noplat": ("M11", "index without an entry for this platform"),
    "m12-cfgdigest": ("M12", "config bytes differ from the config digest"),
    "m12-cfgbig": ("M12", "config of 2 MiB"),
    "m13-priv": ("M13", "config asking for CAP_SYS_ADMIN, all devices, host "
                 "network, / mounted at /host"),
    "m13-single": ("M13", "config asking for exactly one privilege"),
    "m13-socket": ("M13", "Interface.Socket ../../../run/docker.sock"),
    "m13-entrypoint": ("M13", "Entrypoint with a NUL"),
    "m13-propagated": ("M13", "PropagatedMount /"),
    "m13-propdotdot": ("M13", "PropagatedMount with .."),
    "m13-mountdst": ("M13", "a mount with Destination /"),
    "m13-mountrel": ("M13", "a mount with a relative Destination"),
    "m14-regzip": ("M14", "layer re-gzipped (same tar, same size, other "
                   "bytes)"),
    "m15-diffid": ("M15", "config diff_id is not the layer's tar digest"),
    "a10-foreign": ("A10", "foreign layer (media type and urls) on the "
                    "attacker origin, which answers 401 Bearer"),
    "a10-urls": ("A10", "ordinary layer with urls on the attacker origin"),
}
DOCS = build_docs()
DOCS["a10-foreign"] = None      # filled in main(): needs the attacker port
DOCS["a10-urls"] = None
assert set(DOCS) == set(DOC_CASES) and not set(DOCS) & set(CASES)


def openssl(*args, stdin=None):
    subprocess.run(["openssl", *args], check=True, input=stdin,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_certs(d):
    ca, cak = f"{d}/ca.crt", f"{d}/ca.key"
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3",
            "-subj", "/CN=hostile test CA", "-keyout", cak, "-out", ca)

    def leaf(name, ext, subj, expired=False):
        key, csr, crt = f"{d}/{name}.key", f"{d}/{name}.csr", f"{d}/{name}.crt"
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", subj,
                "-keyout", key, "-out", csr)
        with open(f"{d}/{name}.ext", "w") as f:
            f.write(ext)
        if not expired:
            openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", cak,
                    "-CAcreateserial", "-days", "2", "-extfile",
                    f"{d}/{name}.ext", "-out", crt)
            return
        # openssl ca can set dates in the past.
        os.makedirs(f"{d}/cadb", exist_ok=True)
        open(f"{d}/cadb/index.txt", "w").close()
        with open(f"{d}/cadb/serial", "w") as f:
            f.write("1000\n")
        with open(f"{d}/cadb/ca.cnf", "w") as f:
            f.write(f"""[ca]
default_ca = c
[c]
database = {d}/cadb/index.txt
serial = {d}/cadb/serial
new_certs_dir = {d}/cadb
default_md = sha256
policy = p
copy_extensions = none
[p]
commonName = supplied
""")
        openssl("ca", "-batch", "-config", f"{d}/cadb/ca.cnf", "-cert", ca,
                "-keyfile", cak, "-in", csr, "-out", crt, "-startdate",
                "20200101000000Z", "-enddate", "20200102000000Z",
                "-extfile", f"{d}/{name}.ext", "-notext")

    san = "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
    leaf("server", san + "extendedKeyUsage=serverAuth\n", "/CN=127.0.0.1")
    leaf("wrong", "subjectAltName=DNS:wrong.example\n", "/CN=wrong.example")
    leaf("expired", san, "/CN=127.0.0.1", expired=True)
    leaf("client", "extendedKeyUsage=clientAuth\n", "/CN=plugind client")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=127.0.0.1", "-addext",
            "subjectAltName=IP:127.0.0.1", "-keyout", f"{d}/self.key",
            "-out", f"{d}/self.crt")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hostile-registry"
    sys_version = ""

    def log_message(self, fmt, *args):
        pass

    # ---- plumbing ----

    def record(self):
        e = {"listener": self.server.name, "method": self.command,
             "path": self.path, "headers": dict(self.headers.items()),
             "time": time.time()}
        with self.server.st.lock:
            with open(self.server.st.log, "a") as f:
                f.write(json.dumps(e) + "\n")

    def raw(self, data):
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:
            pass

    def send(self, code, body=b"", headers=(), ctype="application/json",
             close=False):
        self.send_response(code)
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.raw(body)

    def err(self, code, ecode, msg, headers=()):
        b = json.dumps({"errors": [{"code": ecode, "message": msg}]}).encode()
        self.send(code, b, headers)

    def redirect(self, loc, code=307):
        self.send_response(code)
        self.send_header("Location", loc)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def chunked(self, chunks, final=True):
        """Send a chunked body from an iterator of byte strings."""
        try:
            for c in chunks:
                if c:
                    self.wfile.write(b"%x\r\n" % len(c) + c + b"\r\n")
            if final:
                self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:
            pass

    def hard_close(self):
        """Close the TCP connection (no TLS close_notify)."""
        self.close_connection = True
        try:
            self.wfile.flush()
        except OSError:
            pass
        try:
            socket.socket.shutdown(self.connection, socket.SHUT_RDWR)
        except OSError:
            pass

    def url(self, listener, path):
        st = self.server.st
        scheme = "http" if listener in ("plain", "attacker", "login") else "https"
        return f"{scheme}://127.0.0.1:{st.ports[listener]}{path}"

    def auth_basic(self, realm="hostile"):
        if self.headers.get("Authorization") == BASIC:
            return True
        self.err(401, "UNAUTHORIZED", "authentication required",
                 [("WWW-Authenticate", f'Basic realm="{realm}"')])
        return False

    def auth_bearer(self, case, realm, want, extra=""):
        if self.headers.get("Authorization") == "Bearer " + want:
            return True
        chal = f'Bearer realm="{realm}",service="hostile"{extra}'
        self.err(401, "UNAUTHORIZED", "authentication required",
                 [("WWW-Authenticate", chal)])
        return False

    def good(self, kind, ref):
        if kind == "manifests":
            self.send(200, MANIFEST, [("Docker-Content-Digest", MANIFEST_D)],
                      ctype=MT_SCHEMA2)
        elif ref == BLOB_D:
            self.send(200, BLOB, [("Docker-Content-Digest", BLOB_D)],
                      ctype="application/octet-stream")
        elif ref == CONFIG_D:
            self.send(200, CONFIG, [("Docker-Content-Digest", CONFIG_D)],
                      ctype="application/octet-stream")
        elif ref == ZERO_D:
            self.send(200, ZERO, ctype="application/octet-stream")
        else:
            self.err(404, "BLOB_UNKNOWN", "blob unknown to registry")

    # ---- dispatch ----

    def do_HEAD(self):
        self.do_GET()

    def do_POST(self):
        self.do_GET()

    def do_GET(self):
        self.record()
        u = urllib.parse.urlsplit(self.path)
        p = u.path
        if self.server.name == "attacker":
            return self.attacker(p, u.query)
        if self.server.name == "login":
            return self.login(p)
        if p.startswith("/token/"):
            return self.token(p[7:], u.query)
        if p.startswith("/same/"):
            if self.auth_basic():
                self.good("blobs", p[6:])
            return
        parts = p.split("/")
        # /v2/<case>/p/{manifests,blobs}/<ref>
        if len(parts) != 6 or parts[1] != "v2" or parts[4] not in (
                "manifests", "blobs"):
            if p == "/v2/" or p == "/v2":
                return self.send(200, b"{}")
            return self.err(404, "NAME_UNKNOWN", "repository name not known "
                            "to registry")
        case, kind, ref = parts[2], parts[4], parts[5]
        if case in DOCS:
            return self.doc_case(DOCS[case], case, kind, ref)
        fn = getattr(self, "case_" + case.replace("-", "_"), None)
        if case not in CASES or fn is None:
            return self.err(404, "NAME_UNKNOWN", "unknown case " + case)
        try:
            fn(kind, ref)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True

    def doc_case(self, d, case, kind, ref):
        """Serve a document case (DOCS); Basic auth required."""
        if not self.auth_basic():
            return
        if kind == "blobs":
            if ref in d["blobs"]:
                return self.send(200, d["blobs"][ref],
                                 ctype="application/octet-stream")
            return self.err(404, "BLOB_UNKNOWN", "blob unknown to registry")
        if ref in d["by_digest"]:
            body, ct = d["by_digest"][ref]
            return self.send(200, body, ctype=ct)
        if ref.startswith("sha256:"):
            return self.err(404, "MANIFEST_UNKNOWN", "manifest unknown")
        body = d["manifest"]
        if self.command == "HEAD" and d["head"] is not None:
            body = d["head"]
        elif self.command == "GET" and d["then"] is not None:
            st = self.server.st
            with st.lock:
                n = st.gets.get((case, ref), 0)
                st.gets[(case, ref)] = n + 1
            if n > 0:
                body = d["then"]
        self.send(200, body, [("Docker-Content-Digest", sha(body))],
                  ctype=d["ctype"])

    def attacker(self, p, query):
        if p.startswith("/a10/"):
            chal = f'Bearer realm="{self.url("attacker", "/token")}"'
            return self.err(401, "UNAUTHORIZED", "authentication required",
                            [("WWW-Authenticate", chal)])
        if p.startswith("/cdn/manifest"):
            return self.good("manifests", "")
        if p.startswith("/cdn/"):
            return self.good("blobs", p[5:])
        if p.startswith("/token"):
            tok = "attacker-token"
            return self.send(200, json.dumps({"token": tok}).encode())
        return self.err(404, "NOT_FOUND", "nothing here")

    def login(self, p):
        """The "login" listener: docker login's GET /v2/ and its token
        server.  The case is the Basic user name the token request
        carries: good, loop (a valid token the registry then refuses),
        refuse, garbage (not JSON), badrefresh (a refresh token with a
        CR LF, which must be dropped)."""
        if p.startswith("/token"):
            user = ""
            h = self.headers.get("Authorization", "")
            if h.startswith("Basic "):
                user = base64.b64decode(h[6:]).decode().partition(":")[0]
            body = {
                "good": {"token": "login-good", "refresh_token": "login-refresh"},
                "loop": {"token": "login-loop"},
                "badrefresh": {"token": "login-good",
                               "refresh_token": "a\r\nX-Evil: 1"},
            }
            if user == "garbage":
                return self.send(200, b"<html>not json</html>",
                                 ctype="text/html")
            if user in body:
                return self.send(200, json.dumps(body[user]).encode())
            return self.send(401, json.dumps(
                {"details": "incorrect username or password"}).encode())
        if p in ("/v2/", "/v2"):
            if self.headers.get("Authorization") == "Bearer login-good":
                return self.send(200, b"{}")
            chal = f'Bearer realm="{self.url("login", "/token")}",service="hostile"'
            return self.err(401, "UNAUTHORIZED", "authentication required",
                            [("WWW-Authenticate", chal)])
        return self.err(404, "NOT_FOUND", "nothing here")

    def token(self, case, query):
        """Token endpoints of the bearer cases, on the registry origin."""
        body = {
            "a6-loop": {"token": "a6-token"},
            "a7-crlf": {"token": "a\r\nX-Evil: 1"},
            "a7-both": {"token": "tok-token", "access_token": "tok-access"},
            "a7-expneg": {"token": "tok-exp", "expires_in": -1},
            "a7-expstr": {"token": "tok-exp", "expires_in": "abc"},
            "a7-notoken": {"expires_in": 60},
            "a7-bigtoken": {"token": "A" * (100 * 1024)},
            "a8-scope": {"token": "a8-token"},
            "a1-foreign": {"token": "attacker-token"},
        }
        if case == "a9-redirect":
            return self.redirect(self.url("attacker", "/token?from=a9"), 302)
        if case == "a7-huge":
            return self.send(200, b'{"token":"' + b"A" * (5 << 20) + b'"}')
        if case == "a7-notjson":
            return self.send(200, b"<html>not json</html>", ctype="text/html")
        if case == "a7-expbig":
            return self.send(200, b'{"token":"tok-exp","expires_in":1e308}')
        if case == "a7-trailing":
            return self.send(200, b'{"token":"tok-x"} {"token":"tok-y"}')
        if case in body:
            return self.send(200, json.dumps(body[case]).encode())
        return self.err(404, "NOT_FOUND", "no token endpoint")

    # ---- cases ----

    def case_ok(self, kind, ref):
        self.good(kind, ref)

    def case_okbasic(self, kind, ref):
        if self.auth_basic():
            self.good(kind, ref)

    def case_t4_truncate(self, kind, ref):
        self.send_response(200)
        self.send_header("Content-Length", str(len(BLOB)))
        self.end_headers()
        self.raw(BLOB[:1000])
        self.hard_close()

    def case_t5_dupcl(self, kind, ref):
        self.raw(b"HTTP/1.1 200 OK\r\nContent-Type: " + MT_SCHEMA2.encode() +
                 b"\r\nContent-Length: %d\r\nContent-Length: %d\r\n\r\n" %
                 (len(MANIFEST), len(MANIFEST) - 10) + MANIFEST)
        self.close_connection = True

    def case_t5_tecl(self, kind, ref):
        self.raw(b"HTTP/1.1 200 OK\r\nContent-Type: " + MT_SCHEMA2.encode() +
                 b"\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n")
        self.chunked([MANIFEST])
        self.close_connection = True

    def case_t6_bigauth(self, kind, ref):
        self.raw(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n"
                 b'WWW-Authenticate: Bearer realm="http://127.0.0.1/' +
                 b"a" * (2 << 20) + b'"\r\n\r\n')
        self.close_connection = True

    def case_t6_manyhdrs(self, kind, ref):
        self.raw(b"HTTP/1.1 200 OK\r\nContent-Type: " + MT_SCHEMA2.encode() +
                 b"\r\n" + b"".join(b"X-Pad-%d: x\r\n" % i
                                    for i in range(100000)) +
                 b"Content-Length: %d\r\n\r\n" % len(MANIFEST) + MANIFEST)
        self.close_connection = True

    def case_r1_cdn(self, kind, ref):
        if not self.auth_basic():
            return
        if kind == "blobs":
            return self.redirect(self.url("attacker", f"/cdn/{ref}?sig=abc"))
        self.good(kind, ref)

    def case_r2_file(self, kind, ref):
        self.redirect("file:///etc/shadow")

    def _r3(self, loc):
        self.redirect(loc)

    def case_r3_ftp(self, kind, ref):
        self._r3("ftp://127.0.0.1/blob")

    def case_r3_gopher(self, kind, ref):
        self._r3("gopher://127.0.0.1:70/_GET")

    def case_r3_dict(self, kind, ref):
        self._r3("dict://127.0.0.1:11211/stat")

    def case_r3_ldap(self, kind, ref):
        self._r3("ldap://127.0.0.1/dc=example")

    def case_r3_smb(self, kind, ref):
        self._r3("smb://127.0.0.1/share/file")

    def case_r3_telnet(self, kind, ref):
        self._r3("telnet://127.0.0.1:23")

    def case_r3_scp(self, kind, ref):
        self._r3("scp://127.0.0.1/etc/passwd")

    def case_r3_data(self, kind, ref):
        self._r3("data:text/plain;base64,aGVsbG8=")

    def case_r4_downgrade(self, kind, ref):
        self.redirect(self.url("plain", f"/v2/ok/p/{kind}/{ref}"))

    def case_r5_private(self, kind, ref):
        self.redirect("http://10.0.0.5:9/blob")

    def case_r5_imds(self, kind, ref):
        self.redirect("http://169.254.169.254/latest/meta-data/")

    def case_r5_zero(self, kind, ref):
        self.redirect("http://0/blob")

    def case_r5_decimal(self, kind, ref):
        self.redirect("http://167772165:9/blob")

    def case_r5_mapped(self, kind, ref):
        self.redirect("http://[::ffff:10.0.0.5]:9/blob")

    def case_r5_ll6(self, kind, ref):
        self.redirect("http://[fe80::1]:9/blob")

    def internal_url(self, path):
        port = self.server.st.ports.get("internal", 9)
        return f"http://internal.test:{port}{path}"

    def case_r5_name(self, kind, ref):
        self.redirect(self.internal_url("/latest/meta-data/"))

    def case_a2_name(self, kind, ref):
        self.auth_bearer("a2", self.internal_url("/token"), "x")

    def case_r6_loop(self, kind, ref):
        self.redirect(self.path, 302)

    def case_r6_chain(self, kind, ref):
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        n = int(q.get("n", ["0"])[0])
        if n >= 50:
            return self.good(kind, ref)
        self.redirect(f"/v2/r6-chain/p/{kind}/{ref}?n={n + 1}", 302)

    def case_r7_userinfo(self, kind, ref):
        self.redirect(self.url("attacker", "/cdn/x").replace(
            "://", "://user:pw@"))

    def case_r7_cr(self, kind, ref):
        self.raw(b"HTTP/1.1 307 Temporary Redirect\r\nContent-Length: 0\r\n"
                 b"Location: " + self.url("attacker", "/cdn/").encode() +
                 ref.encode() + b"\rX-Evil: 1\r\n\r\n")

    def case_r7_fragment(self, kind, ref):
        self.redirect(self.url("attacker", f"/cdn/{ref}#frag"))

    def case_r7_long(self, kind, ref):
        self.redirect(self.url("attacker", f"/cdn/{ref}?") + "a" * 9000)

    def case_r8_m301(self, kind, ref):
        if self.auth_basic():
            self.redirect(self.url("attacker", "/cdn/manifest"), 301)

    def case_r8_m308(self, kind, ref):
        if self.auth_basic():
            self.redirect(self.url("attacker", "/cdn/manifest"), 308)

    def case_rs_same(self, kind, ref):
        if self.auth_basic():
            self.redirect(f"/same/{ref}")

    def case_a1_foreign(self, kind, ref):
        if self.auth_bearer("a1", self.url("attacker", "/token"),
                            "attacker-token"):
            self.good(kind, ref)

    def case_a2_imds(self, kind, ref):
        self.auth_bearer("a2", "http://169.254.169.254/token", "x")

    def case_a2_private(self, kind, ref):
        self.auth_bearer("a2", "http://10.0.0.5/token", "x")

    def case_a3_file(self, kind, ref):
        self.auth_bearer("a3", "file:///etc/passwd", "x")

    def case_a3_gopher(self, kind, ref):
        self.auth_bearer("a3", "gopher://127.0.0.1:70/_x", "x")

    def case_a3_empty(self, kind, ref):
        self.auth_bearer("a3", "", "x")

    def case_a3_missing(self, kind, ref):
        self.err(401, "UNAUTHORIZED", "x", [("WWW-Authenticate",
                                             'Bearer service="hostile"')])

    def case_a3_relative(self, kind, ref):
        self.auth_bearer("a3", "/token/a6-loop", "x")

    def case_a4_httprealm(self, kind, ref):
        self.auth_bearer("a4", self.url("plain", "/token/a6-loop"), "x")

    def case_a5_basic(self, kind, ref):
        if self.auth_basic():
            self.good(kind, ref)

    def case_a6_loop(self, kind, ref):
        self.auth_bearer("a6", self.url(self.server.name, "/token/a6-loop"),
                         "never-accepted")

    def _a7(self, case, want="tok-x"):
        if self.auth_bearer(case, self.url(self.server.name, "/token/" + case),
                            want):
            self.good(self._kind, self._ref)

    def case_a7_huge(self, kind, ref):
        self._kind, self._ref = kind, ref
        self._a7("a7-huge")

    def case_a7_notjson(self, kind, ref):
        self._kind, self._ref = kind, ref
        self._a7("a7-notjson")

    def case_a7_crlf(self, kind, ref):
        self._kind, self._ref = kind, ref
        self._a7("a7-crlf")

    def case_a7_both(self, kind, ref):
        self._kind, self._ref = kind, ref
        self._a7("a7-both", "tok-access")

    def case_a7_expneg(self, kind, ref):
        self._kind, self._ref = kind, ref
        self._a7("a7-expneg", "tok-exp")

    def case_a7_expbig(self, kind, ref):
        self._kind, self._ref = kind, ref
        self._a7("a7-expbig", "tok-exp")

    def case_a7_expstr(self, kind, ref):
        self._kind, self._ref = kind, ref
        self._a7("a7-expstr", "tok-exp")

    def case_a7_notoken(self, kind, ref):
        self._kind, self._ref = kind, ref
        self._a7("a7-notoken")

    def case_a7_bigtoken(self, kind, ref):
        self._kind, self._ref = kind, ref
        self._a7("a7-bigtoken")

    def case_a7_trailing(self, kind, ref):
        self._kind, self._ref = kind, ref
        self._a7("a7-trailing")

    def case_a8_scope(self, kind, ref):
        if self.auth_bearer("a8", self.url(self.server.name, "/token/a8-scope"),
                            "a8-token", ',scope="repository:other/repo:push,'
                            'pull registry:catalog:*"'):
            self.good(kind, ref)

    def case_a9_redirect(self, kind, ref):
        if self.auth_bearer("a9", self.url(self.server.name,
                                           "/token/a9-redirect"),
                            "attacker-token"):
            self.good(kind, ref)

    def _chal(self, value):
        self.err(401, "UNAUTHORIZED", "x", [("WWW-Authenticate", value)]
                 if value is not None else [])

    def case_a_unterminated(self, kind, ref):
        self._chal('Bearer realm="http://127.0.0.1/token,service="x')

    def case_a_garbage(self, kind, ref):
        self._chal('=== "not a challenge"')

    def case_a_nochallenge(self, kind, ref):
        self._chal(None)

    def case_a_negotiate(self, kind, ref):
        self._chal("Negotiate abcdef==")

    def case_m1_cl(self, kind, ref):
        self.send_response(200)
        self.send_header("Content-Type", MT_SCHEMA2)
        self.send_header("Content-Length", str(50 << 20))
        self.end_headers()
        for _ in range(50):
            self.raw(b" " * (1 << 20))

    def case_m1_chunked(self, kind, ref):
        self.send_response(200)
        self.send_header("Content-Type", MT_SCHEMA2)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.chunked(b" " * (1 << 20) for _ in range(50))

    def case_m2_wrong(self, kind, ref):
        self.send(200, MANIFEST.replace(b"hostile", b"h0stile") + b"\n",
                  ctype=MT_SCHEMA2)

    def case_m3_dcd(self, kind, ref):
        self.send(200, MANIFEST, [("Docker-Content-Digest", BLOB_D)],
                  ctype=MT_SCHEMA2)

    def case_m5_ctype(self, kind, ref):
        self.send(200, MANIFEST, ctype="text/html")

    def case_m5_noctype(self, kind, ref):
        self.send(200, MANIFEST, ctype=None)

    def case_m6_schema1(self, kind, ref):
        self.send(200, MANIFEST, ctype=MT_SCHEMA1)

    def case_m8(self, kind, ref):
        self.good(kind, ref)

    def case_b1_wrong(self, kind, ref):
        self.send(200, bytes(reversed(BLOB)), ctype="application/octet-stream")

    def case_b2_short(self, kind, ref):
        self.send_response(200)
        self.send_header("Content-Length", "1000000")
        self.end_headers()
        self.raw(BLOB[:10])
        self.hard_close()

    def case_b3_hugecl(self, kind, ref):
        self.send_response(200)
        self.send_header("Content-Length", str(1 << 50))
        self.end_headers()
        self.raw(BLOB)
        self.hard_close()

    def case_b4_endless(self, kind, ref):
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.chunked(bytes(65536) for _ in range(100000))

    def case_b5_extra(self, kind, ref):
        self.send_response(200)
        self.send_header("Content-Length", str(len(BLOB)))
        self.end_headers()
        self.raw(BLOB + b"EXTRA" * 200)
        self.hard_close()

    def case_b5_shortcl(self, kind, ref):
        self.send_response(200)
        self.send_header("Content-Length", str(len(BLOB) - 10))
        self.end_headers()
        self.raw(BLOB[:-10])

    def _drip(self, step, gap, total):
        self.send_response(200)
        self.send_header("Content-Length", str(len(BLOB)))
        self.end_headers()
        self.raw(b"")
        end = time.time() + total
        off = 0
        while time.time() < end and off < len(BLOB):
            if step:
                self.wfile.write(BLOB[off:off + step])
                self.wfile.flush()
                off += step
            time.sleep(gap)
        self.hard_close()

    def case_b6_drip(self, kind, ref):
        self._drip(1, 10, 60)

    def case_b6_stall(self, kind, ref):
        self._drip(0, 1, 60)

    def case_b6_slow(self, kind, ref):
        self._drip(1024, 1, 60)

    def case_b7_gzip(self, kind, ref):
        self.send(200, gzip.compress(ZERO), [("Content-Encoding", "gzip")],
                  ctype="application/octet-stream")

    def case_b7_chain(self, kind, ref):
        self.send(200, gzip.compress(ZERO), [("Content-Encoding",
                                              ", ".join(["gzip"] * 1000))],
                  ctype="application/octet-stream")

    def case_b8_206(self, kind, ref):
        self.send(206, BLOB[:1000], [("Content-Range",
                                      f"bytes 0-999/{len(BLOB)}")],
                  ctype="application/octet-stream")

    def case_b9_big500(self, kind, ref):
        self.send_response(500)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.chunked(b"E" * (1 << 20) for _ in range(50))

    def case_b9_big404(self, kind, ref):
        self.send_response(404)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(50 << 20))
        self.end_headers()
        for _ in range(50):
            self.raw(b"E" * (1 << 20))

    def case_b9_ansi(self, kind, ref):
        self.err(500, "UNKNOWN", "boom\x1b[31mRED\x1b[0m\nline2\r\x07bell")

    def case_b10_429(self, kind, ref):
        self.err(429, "TOOMANYREQUESTS", "slow down",
                 [("Retry-After", "999999999")])

    def case_s500(self, kind, ref):
        self.err(500, "UNKNOWN", "internal trouble")

    def case_s503(self, kind, ref):
        self.err(503, "UNAVAILABLE", "come back later")

    def case_chunk_trunc(self, kind, ref):
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.chunked([BLOB[:5000]], final=False)
        self.hard_close()


class State:
    pass


def serve(st, name, ctx, addr="127.0.0.1", port=0):
    srv = ThreadingHTTPServer((addr, port), Handler)
    srv.daemon_threads = True
    srv.name = name
    srv.st = st
    if ctx is not None:
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True,
                                     do_handshake_on_connect=False)
    st.ports[name] = srv.server_address[1]
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def tls_ctx(d, name, client_ca=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(f"{d}/{name}.crt", f"{d}/{name}.key")
    if client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(client_ca)
    return ctx


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--internal", metavar="ADDR",
                    help="also listen on ADDR, same port as plain, as the "
                    "\"internal\" listener (IMDS / docker.sock stand-in)")
    args = ap.parse_args()
    d = os.path.abspath(args.dir)
    os.makedirs(d, exist_ok=True)
    make_certs(d)
    st = State()
    st.lock = threading.Lock()
    st.log = f"{d}/requests.log"
    st.ports = {}
    st.gets = {}
    open(st.log, "w").close()
    servers = [
        serve(st, "plain", None),
        serve(st, "attacker", None),
        serve(st, "login", None),
        serve(st, "tls", tls_ctx(d, "server")),
        serve(st, "tls_wrong", tls_ctx(d, "wrong")),
        serve(st, "tls_expired", tls_ctx(d, "expired")),
        serve(st, "tls_self", tls_ctx(d, "self")),
        serve(st, "tls_mtls", tls_ctx(d, "server", f"{d}/ca.crt")),
    ]
    if args.internal:
        servers.append(serve(st, "internal", None, args.internal,
                             st.ports["plain"]))
    foreign = f"http://127.0.0.1:{st.ports['attacker']}/a10/{LAYER_D}"
    DOCS["a10-foreign"] = doc(manifest(GOOD_CFG, [desc(
        MT_FOREIGN, LAYER, urls=[foreign])]), GOOD_CFG)
    DOCS["a10-urls"] = doc(manifest(GOOD_CFG, [desc(
        MT_LAYER, LAYER, urls=[foreign])]), GOOD_CFG)
    info = {"ports": st.ports, "ca": f"{d}/ca.crt",
            "client_cert": f"{d}/client.crt", "client_key": f"{d}/client.key",
            "blob": {"digest": BLOB_D, "size": len(BLOB)},
            "zero": {"digest": ZERO_D, "size": len(ZERO)},
            "config": {"digest": CONFIG_D, "size": len(CONFIG)},
            "manifest": {"digest": MANIFEST_D, "size": len(MANIFEST)},
            "cases": {k: v[0] for k, v in CASES.items()},
            "doc_cases": {k: v[0] for k, v in DOC_CASES.items()},
            "docs": {k: {"manifest": sha(v["manifest"]),
                         "then": sha(v["then"]) if v["then"] else None}
                     for k, v in DOCS.items()},
            "layer": {"digest": LAYER_D, "size": len(LAYER),
                      "diff_id": DIFF_D}}
    with open(f"{d}/info.json.tmp", "w") as f:
        json.dump(info, f, indent=1)
    os.rename(f"{d}/info.json.tmp", f"{d}/info.json")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    for s in servers:
        s.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Push a Docker managed plugin (or an image, for negative tests) to a
registry over the distribution API: monolithic blob uploads (POST, then
PUT ?digest=), then the manifest PUT.  Stdlib only.

  push_plugin.py --registry http://127.0.0.1:PORT --repo test/plugin \
      [--tag latest] [--rootfs DIR | --layer-size BYTES] [--config FILE] \
      [--layers N] [--oci] [--index] [--image] \
      [--user U --pass P] [--ca FILE [--cert FILE --key FILE]] [--info FILE]

Default content: a generated rootfs (/plugin, a shell script that cannot
run without a shell, or the static --plugin-binary; /run/docker/plugins;
--layer-size pseudo-random bytes in /data) and a plugin config
(application/vnd.docker.plugin.v1+json, interface socket --socket,
default test.sock) with matching rootfs.diff_ids.  --rootfs DIR keeps
directories, symlinks and modes; owners become 0:0 and mtimes 0.

  --layers N  split the rootfs over N layers
  --oci       OCI manifest and layer media types
  --index     push two manifests (linux/amd64, linux/arm64) and an index
              (a docker manifest list, or an OCI index with --oci)
  --image     a non-plugin image config (container.image.v1+json)
  --info F    write a JSON description of everything pushed: the
              manifest/index digest, each manifest, config and layer
              digest and size

Prints the digest the tag points to.  Auth: handles 401 with Basic or
Bearer (token realm GET with Basic credentials, scope pull,push).
"""
import argparse
import base64
import gzip
import hashlib
import io
import json
import os
import random
import re
import ssl
import sys
import tarfile
import urllib.error
import urllib.parse
import urllib.request

MT_SCHEMA2 = "application/vnd.docker.distribution.manifest.v2+json"
MT_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MT_OCI = "application/vnd.oci.image.manifest.v1+json"
MT_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MT_PLUGIN = "application/vnd.docker.plugin.v1+json"
MT_IMAGE = "application/vnd.docker.container.image.v1+json"
MT_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
MT_OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


class Client:
    def __init__(self, base, repo, user, pw, ca, cert=None, key=None):
        self.base = base.rstrip("/")
        self.repo = repo
        self.user, self.pw = user, pw
        self.auth = None
        ctx = ssl.create_default_context(cafile=ca) if ca else None
        if ctx is not None and cert:
            ctx.load_cert_chain(cert, key)
        handlers = [NoRedirect(), urllib.request.ProxyHandler({})]
        if ctx:
            handlers.append(urllib.request.HTTPSHandler(context=ctx))
        self.opener = urllib.request.build_opener(*handlers)

    def _challenge(self, hdr):
        scheme, _, rest = hdr.partition(" ")
        params = dict(re.findall(r'(\w+)="([^"]*)"', rest))
        if scheme.lower() == "basic":
            if not self.user:
                raise SystemExit("push: registry wants credentials")
            cred = base64.b64encode(f"{self.user}:{self.pw}".encode()).decode()
            self.auth = "Basic " + cred
            return
        q = {"service": params.get("service", ""),
             "scope": f"repository:{self.repo}:pull,push"}
        url = params["realm"] + "?" + urllib.parse.urlencode(q)
        req = urllib.request.Request(url)
        if self.user:
            cred = base64.b64encode(f"{self.user}:{self.pw}".encode()).decode()
            req.add_header("Authorization", "Basic " + cred)
        with self.opener.open(req) as r:
            j = json.load(r)
        self.auth = "Bearer " + (j.get("access_token") or j["token"])

    def call(self, method, url, body=None, headers=None, retry=True):
        if not url.startswith("http"):
            url = self.base + url
        req = urllib.request.Request(url, data=body, method=method)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        if self.auth:
            req.add_header("Authorization", self.auth)
        try:
            with self.opener.open(req) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            if e.code == 401 and retry:
                self._challenge(e.headers.get("WWW-Authenticate", ""))
                return self.call(method, url, body, headers, retry=False)
            return e.code, dict(e.headers), e.read()

    def blob(self, data):
        d = sha(data)
        st, _, _ = self.call("HEAD", f"/v2/{self.repo}/blobs/{d}")
        if st == 200:
            return d
        st, h, b = self.call("POST", f"/v2/{self.repo}/blobs/uploads/", b"")
        if st != 202:
            raise SystemExit(f"push: upload start: {st} {b[:200]!r}")
        loc = h["Location"]
        if loc.startswith("/"):
            loc = self.base + loc
        loc += ("&" if "?" in loc else "?") + "digest=" + urllib.parse.quote(d)
        st, _, b = self.call("PUT", loc, data, {
            "Content-Type": "application/octet-stream",
            "Content-Length": str(len(data))})
        if st not in (200, 201, 204):
            raise SystemExit(f"push: upload {d}: {st} {b[:200]!r}")
        return d

    def manifest(self, ref, data, mt):
        st, h, b = self.call("PUT", f"/v2/{self.repo}/manifests/{ref}", data,
                             {"Content-Type": mt})
        if st != 201:
            raise SystemExit(f"push: manifest {ref}: {st} {b[:300]!r}")
        return sha(data)


def make_rootfs_files(args, salt):
    """[(path, bytes|None, mode)] of the generated rootfs (None: a dir)."""
    rnd = random.Random(f"plugind-{salt}-{args.seed}")
    if args.plugin_binary:
        with open(args.plugin_binary, "rb") as f:
            plugin = f.read()
    else:
        plugin = b"#!/bin/sh\necho plugind test plugin\n"
    files = [("run/docker/plugins", None, 0o755), ("plugin", plugin, 0o755)]
    if args.layer_size:
        files.append(("data/blob.bin", rnd.randbytes(args.layer_size), 0o644))
    files.append(("etc/arch", salt.encode() + b"\n", 0o644))
    return files


def tar_layer(entries):
    """entries: [(path, bytes|None, mode, linkname|None)] -> (tar, gz).

    Directories (data None, no link), symlinks (linkname) and regular
    files; owner 0:0, mtime 0, so the same input gives the same digest.
    Parent directories missing from a layer are added as 0755.
    """
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        dirs = set()

        def add_dir(d, mode=0o755):
            if d in dirs:
                return
            dirs.add(d)
            ti = tarfile.TarInfo(d)
            ti.type = tarfile.DIRTYPE
            ti.mode = mode
            t.addfile(ti)

        for path, data, mode, link in entries:
            parts = path.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                add_dir("/".join(parts[:i]))
            if data is None and link is None:
                add_dir(path, mode)
                continue
            ti = tarfile.TarInfo(path)
            ti.mode = mode
            if link is not None:
                ti.type = tarfile.SYMTYPE
                ti.linkname = link
                t.addfile(ti)
            else:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
    tb = raw.getvalue()
    return tb, gzip.compress(tb, mtime=0)


def rootfs_entries(args, salt):
    if args.rootfs:
        out = []
        for root, dirs, files in os.walk(args.rootfs):
            dirs.sort()
            rel = os.path.relpath(root, args.rootfs)
            if rel != ".":
                out.append((rel, None, os.lstat(root).st_mode & 0o7777, None))
            for f in sorted(files + [d for d in dirs
                                     if os.path.islink(os.path.join(root, d))]):
                p = os.path.join(root, f)
                r = os.path.relpath(p, args.rootfs)
                st = os.lstat(p)
                if os.path.islink(p):
                    out.append((r, None, 0o777, os.readlink(p)))
                elif os.path.isfile(p):
                    with open(p, "rb") as fh:
                        out.append((r, fh.read(), st.st_mode & 0o7777, None))
        return out
    return [(p, d, m, None) for p, d, m in make_rootfs_files(args, salt)]


def default_config(image, socket):
    if image:
        return {"architecture": "amd64", "os": "linux",
                "config": {"Cmd": ["/plugin"]}}
    return {"description": "plugind test plugin", "documentation": "",
            "entrypoint": ["/plugin"],
            "interface": {"socket": socket,
                          "types": ["docker.volumedriver/1.0"]},
            "linux": {"capabilities": None, "allowAllDevices": False,
                      "devices": None},
            "mounts": None, "network": {"type": ""}, "propagatedMount": "",
            "user": {}, "workdir": "", "env": None,
            "args": {"name": "", "description": "", "settable": None,
                     "value": None}}


def push_one(c, args, salt, info):
    entries = rootfs_entries(args, salt)
    n = max(1, args.layers)
    chunks = [entries[i::n] for i in range(n)]
    layers, diff_ids = [], []
    for ch in chunks:
        tb, gz = tar_layer(ch)
        diff_ids.append(sha(tb))
        d = c.blob(gz)
        layers.append({"mediaType": MT_OCI_LAYER if args.oci else MT_LAYER,
                       "digest": d, "size": len(gz)})
    if args.config:
        with open(args.config) as f:
            cfg = json.load(f)
    else:
        cfg = default_config(args.image, args.socket)
        if args.index:
            cfg["description"] += " " + salt
    cfg["rootfs"] = {"type": "layers", "diff_ids": diff_ids}
    cb = json.dumps(cfg, separators=(",", ":")).encode()
    cd = c.blob(cb)
    cmt = MT_IMAGE if args.image else MT_PLUGIN
    m = {"schemaVersion": 2,
         "mediaType": MT_OCI if args.oci else MT_SCHEMA2,
         "config": {"mediaType": cmt, "digest": cd, "size": len(cb)},
         "layers": layers}
    mb = json.dumps(m, indent=3).encode()
    info["manifests"].append({"digest": sha(mb), "size": len(mb),
                              "mediaType": m["mediaType"], "platform": salt,
                              "config": {"digest": cd, "size": len(cb),
                                         "mediaType": cmt},
                              "layers": layers, "diff_ids": diff_ids})
    return mb, m["mediaType"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--registry", required=True)
    ap.add_argument("--repo", required=True)
    ap.add_argument("--tag", default="latest")
    ap.add_argument("--rootfs")
    ap.add_argument("--config")
    ap.add_argument("--layer-size", type=int, default=256 * 1024)
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--seed", default="0")
    ap.add_argument("--plugin-binary")
    ap.add_argument("--socket", default="test.sock")
    ap.add_argument("--oci", action="store_true")
    ap.add_argument("--index", action="store_true")
    ap.add_argument("--image", action="store_true")
    ap.add_argument("--user")
    ap.add_argument("--pass", dest="pw")
    ap.add_argument("--ca")
    ap.add_argument("--cert", help="client certificate (mTLS registries)")
    ap.add_argument("--key", help="its key")
    ap.add_argument("--info")
    args = ap.parse_args()
    c = Client(args.registry, args.repo, args.user, args.pw, args.ca,
               args.cert, args.key)
    info = {"repo": args.repo, "tag": args.tag, "manifests": []}
    if not args.index:
        mb, mt = push_one(c, args, "linux/amd64", info)
        top = c.manifest(args.tag, mb, mt)
        info.update(digest=top, size=len(mb), mediaType=mt)
    else:
        entries = []
        for plat in ("linux/amd64", "linux/arm64"):
            mb, mt = push_one(c, args, plat, info)
            d = c.manifest(sha(mb), mb, mt)
            os_, arch = plat.split("/")
            entries.append({"mediaType": mt, "digest": d, "size": len(mb),
                            "platform": {"architecture": arch, "os": os_}})
        imt = MT_OCI_INDEX if args.oci else MT_LIST
        idx = {"schemaVersion": 2, "mediaType": imt, "manifests": entries}
        ib = json.dumps(idx, indent=3).encode()
        top = c.manifest(args.tag, ib, imt)
        info.update(digest=top, size=len(ib), mediaType=imt)
    if args.info:
        with open(args.info, "w") as f:
            json.dump(info, f, indent=1)
    print(top)
    return 0


if __name__ == "__main__":
    sys.exit(main())

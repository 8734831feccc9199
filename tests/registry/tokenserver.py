#!/usr/bin/env python3
"""Token server for docker-registry's "token" auth (distribution auth/token.md).

Stdlib only; JWTs are signed RS256 by `openssl dgst -sha256 -sign` and carry
the signing certificate in "x5c", which the registry checks against its
rootcertbundle.  Listens on 127.0.0.1 only.

  GET  /token?service=S&scope=A&scope=B   Basic credentials optional
  POST /token  (OAuth2 form: grant_type=password|refresh_token)
  GET  /health

With --tls-cert/--tls-key it serves HTTPS.

Every request is logged as one JSON line to --log (method, path, query,
form fields other than secrets, the user it authenticated as, granted
access), so tests can check what the client asked for.
"""
import argparse
import base64
import json
import os
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def parse_scope(s):
    """'repository(plugin):a/b:pull,push' -> (type, class, name, [actions])."""
    head, sep, actions = s.rpartition(":")
    if not sep:
        return None
    rtype, sep, name = head.partition(":")
    if not sep or not name:
        return None
    rclass = None
    if rtype.endswith(")") and "(" in rtype:
        rtype, rclass = rtype[:-1].split("(", 1)
    return rtype, rclass, name, [a for a in actions.split(",") if a]


class Signer:
    def __init__(self, key, cert, issuer):
        self.key = key
        self.issuer = issuer
        der = subprocess.run(["openssl", "x509", "-in", cert, "-outform", "DER"],
                             check=True, capture_output=True).stdout
        self.x5c = base64.b64encode(der).decode()
        self.lock = threading.Lock()

    def sign(self, sub, aud, access, ttl):
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.x5c]}
        claims = {"iss": self.issuer, "sub": sub or "", "aud": aud,
                  "exp": now + ttl, "nbf": now - 10, "iat": now,
                  "jti": b64url(os.urandom(12)), "access": access}
        signing = (b64url(json.dumps(header, separators=(",", ":")).encode())
                   + "." +
                   b64url(json.dumps(claims, separators=(",", ":")).encode()))
        with self.lock:
            sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign",
                                  self.key], input=signing.encode(),
                                 check=True, capture_output=True).stdout
        return signing + "." + b64url(sig)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "plugind-test-tokenserver"

    def log_message(self, fmt, *args):
        pass

    def record(self, entry):
        with self.server.log_lock:
            with open(self.server.args.log, "a") as f:
                f.write(json.dumps(entry) + "\n")

    def reply(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def basic_user(self):
        h = self.headers.get("Authorization")
        if h is None:
            return None, False
        if not h.startswith("Basic "):
            return None, True
        try:
            user, _, pw = base64.b64decode(h[6:]).decode().partition(":")
        except Exception:
            return None, True
        if self.server.users.get(user) == pw:
            return user, False
        return None, True

    def grant(self, user, scopes):
        access = []
        for s in scopes:
            p = parse_scope(s)
            if p is None:
                continue
            rtype, rclass, name, actions = p
            if rtype != "repository":
                continue
            allowed = {"pull", "push"} if user else set(self.server.anon)
            acts = [a for a in actions if a in allowed]
            if not acts:
                continue
            e = {"type": rtype, "name": name, "actions": acts}
            if rclass:
                e["class"] = rclass
            access.append(e)
        return access

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        if u.path == "/health":
            self.reply(200, {"ok": True})
            return
        q = urllib.parse.parse_qs(u.query)
        user, bad = self.basic_user()
        scopes = []
        for s in q.get("scope", []):
            scopes.extend(s.split(" "))
        entry = {"method": "GET", "path": u.path, "query": q,
                 "authorization": "Authorization" in self.headers,
                 "user": user, "bad_credentials": bad}
        if u.path != "/token":
            self.record(entry)
            self.reply(404, {"errors": [{"code": "NOT_FOUND"}]})
            return
        if bad:
            self.record(entry)
            self.reply(401, {"details": "invalid credentials"})
            return
        access = self.grant(user, scopes)
        entry["access"] = access
        self.record(entry)
        tok = self.server.signer.sign(user, q.get("service", [""])[0], access,
                                      self.server.args.ttl)
        body = {"token": tok, "access_token": tok,
                "expires_in": self.server.args.ttl,
                "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        # docker login asks for offline access: a refresh token for the user.
        if q.get("offline_token", [""])[0] == "true" and user:
            for rt, ru in self.server.refresh.items():
                if ru == user:
                    body["refresh_token"] = rt
                    break
        self.reply(200, body)

    def do_POST(self):
        u = urllib.parse.urlsplit(self.path)
        n = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(min(n, 65536)).decode())
        f = {k: v[0] for k, v in form.items()}
        entry = {"method": "POST", "path": u.path,
                 "form": {k: v for k, v in f.items()
                          if k not in ("password", "refresh_token")},
                 "authorization": "Authorization" in self.headers}
        user = None
        if f.get("grant_type") == "password":
            if self.server.users.get(f.get("username")) == f.get("password"):
                user = f.get("username")
        elif f.get("grant_type") == "refresh_token":
            user = self.server.refresh.get(f.get("refresh_token"))
        entry["user"] = user
        if u.path != "/token" or user is None:
            self.record(entry)
            self.reply(401, {"error": "invalid_grant"})
            return
        access = self.grant(user, f.get("scope", "").split(" "))
        entry["access"] = access
        self.record(entry)
        tok = self.server.signer.sign(user, f.get("service", ""), access,
                                      self.server.args.ttl)
        self.reply(200, {"access_token": tok, "expires_in": self.server.args.ttl,
                         "scope": f.get("scope", "")})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--issuer", required=True)
    ap.add_argument("--service", required=True)
    ap.add_argument("--user", action="append", default=[])
    ap.add_argument("--refresh-token", action="append", default=[])
    ap.add_argument("--anon", default="pull", help="'pull' or 'none'")
    ap.add_argument("--ttl", type=int, default=300)
    ap.add_argument("--log", required=True)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    args = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.daemon_threads = True
    srv.args = args
    srv.log_lock = threading.Lock()
    srv.users = dict(u.split(":", 1) for u in args.user)
    srv.refresh = dict(r.split(":", 1) for r in args.refresh_token)
    srv.anon = [] if args.anon == "none" else ["pull"]
    srv.signer = Signer(args.key, args.cert, args.issuer)
    open(args.log, "a").close()
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

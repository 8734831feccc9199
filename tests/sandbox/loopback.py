#!/usr/bin/env python3
"""Loopback servers for tests/sandbox/test_libs.sh.

    loopback.py DIR CERT KEY PORTFILE

HTTP and HTTPS on 127.0.0.1 (ports picked by the kernel) serve DIR.  When
127.0.0.1:53 is free (glibc's resolver only talks to port 53) a DNS
responder answers there over UDP and TCP:
    registry.test  A 127.0.0.1
    big.test       40 A records; over UDP only a truncated (TC) reply,
                   so glibc retries over TCP
    anything else  NXDOMAIN
PORTFILE gets "http N", "https N", "dns 0|1" once everything listens.
Runs until killed.  Standard library only; nothing leaves the machine.
"""
import functools
import http.server
import os
import socket
import socketserver
import ssl
import struct
import sys
import threading


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def parse_query(q):
    i, labels = 12, []
    while q[i]:
        labels.append(q[i + 1:i + 1 + q[i]].decode("ascii", "replace"))
        i += q[i] + 1
    qtype = struct.unpack(">H", q[i + 1:i + 3])[0]
    return ".".join(labels).lower(), qtype, q[12:i + 5]


def answer(q, tcp):
    tid, _ = struct.unpack(">HH", q[:4])
    name, qtype, question = parse_query(q)
    addrs, flags = [], 0x8180
    if name == "registry.test" and qtype == 1:
        addrs = ["127.0.0.1"]
    elif name == "big.test" and qtype == 1:
        if tcp:
            addrs = ["127.0.0.%d" % (i + 1) for i in range(40)]
        else:
            flags |= 0x0200                     # TC: ask again over TCP
    elif name not in ("registry.test", "big.test"):
        flags |= 3                              # NXDOMAIN
    rrs = b"".join(b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) +
                   socket.inet_aton(a) for a in addrs)
    return struct.pack(">HHHHHH", tid, flags, 1, len(addrs), 0, 0) + \
        question + rrs


def dns_udp(sock):
    while True:
        q, peer = sock.recvfrom(512)
        try:
            sock.sendto(answer(q, False), peer)
        except Exception:
            pass


class DnsTcp(socketserver.BaseRequestHandler):
    def handle(self):
        f = self.request.makefile("rb")
        while True:
            hdr = f.read(2)
            if len(hdr) < 2:
                return
            q = f.read(struct.unpack(">H", hdr)[0])
            a = answer(q, True)
            self.request.sendall(struct.pack(">H", len(a)) + a)


def serve(srv):
    threading.Thread(target=srv.serve_forever, daemon=True).start()


def main():
    root, cert, key, portfile = sys.argv[1:5]
    handler = functools.partial(Quiet, directory=root)
    plain = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    tls = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
    serve(plain)
    serve(tls)
    dns = 0
    try:
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(("127.0.0.1", 53))
        socketserver.ThreadingTCPServer.allow_reuse_address = True
        tcp = socketserver.ThreadingTCPServer(("127.0.0.1", 53), DnsTcp)
        threading.Thread(target=dns_udp, args=(udp,), daemon=True).start()
        serve(tcp)
        dns = 1
    except OSError:
        pass
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("http %d\nhttps %d\ndns %d\n" % (plain.server_address[1],
                                                 tls.server_address[1], dns))
    os.rename(tmp, portfile)
    threading.Event().wait()


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Raw, malformed and slow HTTP against plugind's Docker API socket.

  hostile_http.py SOCK cases       every malformed case; PASS/FAIL lines
  hostile_http.py SOCK req METHOD PATH [BODY]
                                   one request; prints "STATUS BODY"
  hostile_http.py SOCK hold        a keep-alive connection: one ping, then
                                   "held", waits for a line on stdin, then
                                   tries a second ping and prints "EOF" if
                                   the connection was dropped
"""
import socket
import sys
import time

SOCK = sys.argv[1]


def conn():
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(25)
    s.connect(SOCK)
    return s


class Reader:
    """Buffered reads from a socket, so pipelined answers stay apart."""

    def __init__(self, s):
        self.s, self.buf, self.head = s, b"", False

    def more(self):
        b = self.s.recv(65536)
        if not b:
            raise ConnectionError("EOF")
        self.buf += b

    def until(self, sep):
        while sep not in self.buf:
            self.more()
        out, self.buf = self.buf.split(sep, 1)
        return out

    def take(self, n):
        while len(self.buf) < n:
            self.more()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out


def read_response(s):
    """One response: (status, headers dict, body bytes); status 0 on EOF."""
    rd = s if isinstance(s, Reader) else Reader(s)
    try:
        return parse_response(rd)
    except ConnectionError:
        return 0, {}, rd.buf


def parse_response(rd):
    head = rd.until(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for l in lines[1:]:
        k, v = l.split(":", 1)
        hdrs[k.strip().lower()] = v.strip()
    if rd.head:
        return status, hdrs, b""
    if "content-length" in hdrs:
        return status, hdrs, rd.take(int(hdrs["content-length"]))
    if hdrs.get("transfer-encoding") == "chunked":
        body = b""
        while True:
            size = int(rd.until(b"\r\n"), 16)
            body += rd.take(size + 2)[:size]
            if size == 0:
                return status, hdrs, body
    return status, hdrs, b""


def raw(data, pause=0.0, parts=None, eof=False):
    """Send, then read one answer (also when the server stopped reading)."""
    s = conn()
    try:
        try:
            for p in (parts or [data]):
                s.sendall(p)
                time.sleep(pause)
            if eof:
                s.shutdown(socket.SHUT_WR)
        except BrokenPipeError:
            pass
        return read_response(s)
    except (ConnectionError, socket.timeout) as e:
        return 0, {}, str(e).encode()
    finally:
        s.close()


def req(method, path, body=b"", ctype=None, extra=""):
    h = "%s %s HTTP/1.1\r\nHost: x\r\n" % (method, path)
    if ctype:
        h += "Content-Type: %s\r\n" % ctype
    h += "Content-Length: %d\r\n%s\r\n" % (len(body), extra)
    return h.encode() + body


def chunked(method, path, chunks, ctype="application/json"):
    return ("%s %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\n"
            "Transfer-Encoding: chunked\r\n\r\n" % (method, path, ctype)).encode() + chunks


def case(what, data, want, want_msg=None, **kw):
    st, h, body = raw(data, **kw)
    good = st == want and (want_msg is None or want_msg.encode() in body)
    print(("PASS %s (%d)" % (what, st)) if good else
          "FAIL %s: got %d %r, want %d %r" % (what, st, body[:200], want, want_msg), flush=True)
    if 500 <= st < 600:
        print("FAIL %s answered with a 5xx" % what, flush=True)


def cases():
    P = "/v1.43/plugins"
    case("bad chunk size", chunked("POST", P + "/x/set", b"zz\r\n[]\r\n0\r\n\r\n"), 400,
         "chunk")
    case("chunk size overflow", chunked("POST", P + "/x/set",
         b"ffffffffffffffffff\r\n[]\r\n0\r\n\r\n"), 400, "chunk")
    case("chunk data without CRLF", chunked("POST", P + "/x/set", b"2\r\n[]XX0\r\n\r\n"), 400,
         "chunk")
    case("chunked body ending early", chunked("POST", P + "/x/set", b"10\r\n[]"), 400,
         eof=True)
    case("Content-Length body ending early", req("POST", P + "/x/set", b"[]",
         "application/json")[:-1], 400, eof=True)
    case("empty chunked JSON body", chunked("POST", P + "/x/set", b"0\r\n\r\n"), 400,
         "invalid JSON: got EOF while reading request body")
    case("Content-Length and Transfer-Encoding", req("POST", P + "/x/set", b"[]",
         "application/json", "Transfer-Encoding: chunked\r\n"), 400)
    case("unsupported Transfer-Encoding", req("POST", P + "/x/set", b"[]",
         "application/json", "Transfer-Encoding: gzip\r\n"), 400)
    case("oversized header block", ("GET /_ping HTTP/1.1\r\nX-Big: %s\r\n\r\n"
         % ("a" * 20000)).encode(), 431)
    case("too many header lines", ("GET /_ping HTTP/1.1\r\n" +
         "".join("X-%d: y\r\n" % i for i in range(100)) + "\r\n").encode(), 431)
    case("NUL in a header", b"GET /_ping HTTP/1.1\r\nX: a\x00b\r\n\r\n", 400)
    case("folded header", b"GET /_ping HTTP/1.1\r\nX: a\r\n b\r\n\r\n", 400)
    case("garbage request line", b"HELLO\r\n\r\n", 400)
    case("HTTP/2.0", b"GET /_ping HTTP/2.0\r\n\r\n", 400, "HTTP version")
    case("relative target", b"GET _ping HTTP/1.1\r\n\r\n", 400)
    case("bad Content-Length", b"POST /plugins/x/set HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
         400)
    case("JSON body over 1 MiB", req("POST", P + "/x/set", b"[" + b" " * (2 << 20) + b"]",
         "application/json"), 413)
    case("wrong Content-Type on set", req("POST", P + "/x/set", b'["A=1"]', "text/plain"),
         400, "unsupported Content-Type header (text/plain): must be 'application/json'")
    case("wrong Content-Type on pull", req("POST", P + "/pull?remote=127.0.0.1:1/a/b",
         b"[]", "application/x-www-form-urlencoded"), 400, "unsupported Content-Type")
    case("malformed JSON", req("POST", P + "/x/set", b"[1,", "application/json"), 400,
         "invalid JSON")
    case("set with a non-array body", req("POST", P + "/x/set", b'{"a":1}',
         "application/json"), 400)
    case("set with an empty body, unknown plugin", req("POST", P + "/nope/set"), 404,
         'not found')
    case("set with an empty array", req("POST", P + "/victim/set", b"[]",
         "application/json"), 204)
    case("set with a 5000-byte value", req("POST", P + "/victim/set",
         b'["DEBUG=' + b"x" * 5000 + b'"]', "application/json"), 400, "too long")
    case("pull with an empty body and no remote", req("POST", P + "/pull"), 400, "remote")
    case("pull of a bad reference", req("POST", P + "/pull?remote=%3A%3Abad"), 400)
    case("enable without timeout", req("POST", P + "/x/enable"), 400, "strconv.Atoi")
    case("create without a name", req("POST", P + "/create", b"x" * 100,
         "application/x-tar"), 400, "name")
    case("create with a body that is not a tar", req("POST", P + "/create?name=junk",
         b"x" * 3000, "application/x-tar"), 400)
    case("create with an empty body", req("POST", P + "/create?name=junk"), 400)
    case("unknown path", req("GET", "/v1.43/containers/json"), 404, "page not found")
    case("unknown method on a route", req("PUT", P), 404, "page not found")
    case("API version too new", req("GET", "/v1.99/plugins"), 400, "too new")
    case("bad escape in the path", req("GET", "/plugins/%zz/json"), 400)
    case("escaped NUL in the path", req("GET", "/plugins/a%00b/json"), 400)
    case("privileges without remote", req("GET", P + "/privileges"), 400, "remote")
    case("bad filters", req("GET", P + "?filters=%7Bnot-json"), 400, "invalid filter")
    case("300 filter keys", req("GET", P + "?filters={" + ",".join(
         '"k%d":1' % i for i in range(300)) + "}"), 400, "invalid filter")
    case("unknown filter key", req("GET", P + '?filters=%7B%22enable%22%3A%7B%22true%22%3Atrue%7D%7D'),
         400, "invalid filter 'enable'")
    # A slow client: half a header, then nothing; the API process gives up.
    t0 = time.time()
    st, h, body = raw(None, pause=0, parts=[b"GET /_ping HTTP/1.1\r\nX-Slow: "])
    dt = time.time() - t0
    print(("PASS slow header dropped after %.1fs (%d)" % (dt, st)) if st in (0, 408) and dt < 19
          else "FAIL slow header: %d after %.1fs" % (st, dt), flush=True)
    # A slow body: the header, then a body that never comes.
    t0 = time.time()
    st, h, body = raw(None, parts=[b"POST /plugins/x/set HTTP/1.1\r\nContent-Type: "
                                   b"application/json\r\nContent-Length: 10\r\n\r\n["])
    dt = time.time() - t0
    print(("PASS slow body dropped (%d after %.1fs)" % (st, dt)) if st in (0, 408) and 12 < dt < 24
          else "FAIL slow body: %d after %.1fs" % (st, dt), flush=True)
    # Keep-alive and pipelining: two requests in one write, two answers.
    s = conn()
    s.sendall(req("GET", "/_ping") + req("GET", P))
    rd = Reader(s)
    a = read_response(rd)
    b = read_response(rd)
    s.close()
    print("PASS pipelined requests" if a[0] == 200 and b[0] == 200 and b[2].startswith(b"[")
          else "FAIL pipelined: %r %r" % (a[:1], b[:1]), flush=True)
    # HEAD /_ping: headers Docker's CLI reads, no body.
    s = conn()
    s.sendall(b"HEAD /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
    rd = Reader(s)
    rd.head = True
    st, h, body = read_response(rd)
    s.close()
    print("PASS HEAD /_ping headers" if st == 200 and h.get("api-version") and
          h.get("ostype") == "linux" and "docker-experimental" in h
          else "FAIL HEAD /_ping: %d %r" % (st, h), flush=True)


def one(method, path, body=""):
    b = body.encode()
    st, h, out = raw(req(method, path, b, "application/json" if b else None))
    print(st, out.decode(errors="replace").strip())


def hold():
    s = conn()
    s.sendall(req("GET", "/_ping"))
    print("held", read_response(s)[0], flush=True)
    sys.stdin.readline()
    try:
        s.sendall(req("GET", "/_ping"))
        st = read_response(s)[0]
    except (ConnectionError, socket.timeout):
        st = 0
    print("EOF" if st == 0 else "still %d" % st, flush=True)


def flood(n):
    """Open n keep-alive connections, one answered request each; hold them."""
    held, got = [], {}
    for _ in range(int(n)):
        try:
            s = conn()
            s.sendall(req("GET", "/_ping"))
            st = read_response(s)[0]
        except (ConnectionError, socket.timeout):
            st = 0
        got[st] = got.get(st, 0) + 1
        held.append(s)
    print(" ".join("%d:%d" % kv for kv in sorted(got.items())), flush=True)
    sys.stdin.readline()


if sys.argv[2] == "cases":
    cases()
elif sys.argv[2] == "req":
    one(*sys.argv[3:])
elif sys.argv[2] == "flood":
    flood(sys.argv[3])
elif sys.argv[2] == "hold":
    hold()

#!/usr/bin/python3
"""Hostile clients for plugind's control socket (tests/reliability).

  ctlattack.py SOCKET MODE COUNT [--deadline S] [--once] [--plugin NAME]
              [--read-bps N]

Keeps COUNT connections to SOCKET, all in one process, and reconnects
every connection the broker closes (unless --once), so the pressure
never lets up.  MODE:

  silent   connect and send nothing
  trickle  send a HELLO one byte per connection per second
  idle     send a HELLO, then nothing (never reads the answer)
  noread   HELLO, then 2000 pipelined LIST requests; never reads
  follow   HELLO, then EVENTS with no end; never reads
  logs     HELLO, then `logs -f --tail all` of --plugin NAME; reads N bytes
           a second per connection with --read-bps N (default: never)

Every second prints one line (flushed):

  open=N connects=N closed=N refused=N overdue=N

closed counts connections the broker ended (seen as POLLRDHUP/POLLHUP,
without reading, so unread replies stay unread); refused those ended
within 0.5 s of connecting (the broker's prompt CTL_FAIL); overdue the
open ones older than --deadline seconds (0: not checked), i.e. ones the
broker should have dropped by now.  Frames are host-order, as common/msg.h
describes; payloads as common/proto.c encodes them.
"""
import os
import re
import errno
import resource
import select
import socket
import struct
import sys
import time

# PD_PROTO_VERSION, read from the header so a bump cannot leave this behind.
PROTO = int(re.search(r"#define PD_PROTO_VERSION\s+(\d+)", open(os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "../../common/proto.h")).read()).group(1))
HELLO, LIST, LOGS, EVENTS = 1, 101, 113, 114
FOLLOW = 0x20


def frame(mtype, mid, payload):
    return struct.pack("=IIII", mtype, len(payload), mid, 0) + payload


def s32(s):
    b = s.encode()
    return struct.pack("=I", len(b)) + b


def ctlreq(mtype, mid, args, flags=0):
    p = struct.pack("=III", flags, 0, len(args)) + b"".join(s32(a) for a in args)
    return frame(mtype, mid, p)


HELLO_FRAME = frame(HELLO, 1, struct.pack("=I", PROTO) + s32("ctlattack"))


def payload(mode, plugin=""):
    if mode == "logs":
        return HELLO_FRAME + ctlreq(LOGS, 2, [plugin, "tail=all"], FOLLOW)
    if mode == "noread":
        return HELLO_FRAME + b"".join(ctlreq(LIST, i + 2, []) for i in range(2000))
    if mode == "follow":
        return HELLO_FRAME + ctlreq(EVENTS, 2, [])
    if mode == "idle":
        return HELLO_FRAME
    return b""


class Conn:
    def __init__(self, path, mode, plugin=""):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.setblocking(False)
        self.s.connect(path)        # EAGAIN when the backlog is full
        self.t0 = time.monotonic()
        self.out = payload(mode, plugin)
        self.hello_left = HELLO_FRAME if mode == "trickle" else b""
        self.flush()

    def flush(self):
        while self.out:
            try:
                n = self.s.send(self.out)
            except OSError:
                return
            self.out = self.out[n:]

    def read_some(self, n):
        try:
            self.s.recv(n)
        except OSError:
            pass

    def trickle(self):
        if self.hello_left:
            try:
                self.s.send(self.hello_left[:1])
                self.hello_left = self.hello_left[1:]
            except OSError:
                pass


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    path, mode, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    deadline = 0.0
    once = "--once" in sys.argv
    if "--deadline" in sys.argv:
        deadline = float(sys.argv[sys.argv.index("--deadline") + 1])
    plugin = ""
    if "--plugin" in sys.argv:
        plugin = sys.argv[sys.argv.index("--plugin") + 1]
    bps = 0
    if "--read-bps" in sys.argv:
        bps = int(sys.argv[sys.argv.index("--read-bps") + 1])
    if mode not in ("silent", "trickle", "idle", "noread", "follow", "logs"):
        sys.exit("unknown mode " + mode)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = count + 64
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    conns = {}
    pl = select.poll()
    stats = dict(connects=0, closed=0, refused=0)
    last_print = last_trickle = last_read = 0.0
    while True:
        while len(conns) < count and not (once and stats["connects"] >= count):
            try:
                c = Conn(path, mode, plugin)
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.ECONNREFUSED, errno.EMFILE):
                    raise
                break
            conns[c.s.fileno()] = c
            pl.register(c.s, select.POLLRDHUP)
            stats["connects"] += 1
        now = time.monotonic()
        for fd, ev in pl.poll(100):
            c = conns.pop(fd)
            pl.unregister(fd)
            stats["closed"] += 1
            if now - c.t0 < 0.5:
                stats["refused"] += 1
            c.s.close()
        now = time.monotonic()
        if mode == "trickle" and now - last_trickle >= 1.0:
            last_trickle = now
            for c in conns.values():
                c.trickle()
        if bps and now - last_read >= 1.0:
            last_read = now
            for c in conns.values():
                c.read_some(bps)
        for c in conns.values():
            c.flush()
        if now - last_print >= 1.0:
            last_print = now
            overdue = sum(1 for c in conns.values()
                          if deadline and now - c.t0 > deadline)
            print("open=%d connects=%d closed=%d refused=%d overdue=%d" % (
                len(conns), stats["connects"], stats["closed"],
                stats["refused"], overdue), flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Test layers for sbx_untar (tests/sandbox/test_libs.sh).

    layers.py make DIR     write DIR/layer1.tar.gz and DIR/layer2.tar.xz
    layers.py check ROOT   check the tree sbx_untar made; prints
                           "ok - ..." / "not ok - ..." lines

Layer 1 has what a plugin rootfs can hold: numeric owners, set-id bits,
read-only and sticky directories, a private home, a big file, a PAX xattr,
a UTF-8 name, symlink, hard link, FIFO and a device node (which must be
refused).  Layer 2 whites out a file and a directory's old contents and
replaces files, one of them owned by someone else in the sticky directory.
"""
import hashlib
import io
import os
import stat
import sys
import tarfile

MTIME = 1700000000


def big():
    return bytes((i * 7919) % 251 for i in range(3_000_000))


def add(t, name, typ=tarfile.REGTYPE, data=b"", mode=0o644, uid=0, gid=0,
        link="", pax=None, dev=(0, 0)):
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.uid, ti.gid = typ, mode, uid, gid
    ti.mtime, ti.linkname = MTIME, link
    ti.devmajor, ti.devminor = dev
    if pax:
        ti.pax_headers = pax
    if typ == tarfile.REGTYPE:
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    else:
        t.addfile(ti)


def make(d):
    os.makedirs(d, exist_ok=True)
    D, L, F = tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.FIFOTYPE
    with tarfile.open(os.path.join(d, "layer1.tar.gz"), "w:gz",
                      format=tarfile.PAX_FORMAT) as t:
        add(t, "./", D, mode=0o755)
        add(t, "bin/", D, mode=0o755)
        add(t, "bin/tool", data=b"#!/bin/sh\necho hi\n", mode=0o755)
        add(t, "bin/su", data=b"suid", mode=0o4755)
        add(t, "bin/wall", data=b"sgid", mode=0o2755, gid=5)
        add(t, "home/", D, mode=0o755)
        add(t, "home/user/", D, mode=0o700, uid=1000, gid=1000)
        add(t, "home/user/notes", data=b"mine\n", mode=0o600, uid=1000,
            gid=1000)
        add(t, "proc/", D, mode=0o555)
        add(t, "ro/", D, mode=0o555)
        add(t, "ro/inner", data=b"in a read-only dir\n", mode=0o444)
        add(t, "tmp/", D, mode=0o1777)
        add(t, "tmp/other", data=b"x", mode=0o600, uid=1234, gid=1234)
        add(t, "data/", D, mode=0o755)
        add(t, "data/big", data=big())
        add(t, "data/xattr", data=b"x", pax={"SCHILY.xattr.user.pd": "hello"})
        add(t, "data/caf\u00e9", data=b"utf8 name\n")
        add(t, "data/link", L, link="../bin/tool", uid=1000, gid=1000)
        add(t, "data/hard", tarfile.LNKTYPE, link="bin/tool")
        add(t, "data/fifo", F, mode=0o640)
        add(t, "dev/", D, mode=0o755)
        add(t, "dev/null", tarfile.CHRTYPE, mode=0o666, dev=(1, 3))
        add(t, "old/", D, mode=0o755)
        add(t, "old/a", data=b"a")
        add(t, "old/sub/", D, mode=0o755)
        add(t, "old/sub/b", data=b"b")
        add(t, "gone", data=b"to be whited out")
        add(t, "replace", data=b"v1")
    with tarfile.open(os.path.join(d, "layer2.tar.xz"), "w:xz",
                      format=tarfile.PAX_FORMAT) as t:
        add(t, ".wh.gone")
        add(t, "old/", D, mode=0o755)
        add(t, "old/.wh..wh..opq")
        add(t, "old/new", data=b"new")
        add(t, "replace", data=b"version 2")
        add(t, "tmp/other", data=b"replaced in sticky dir", mode=0o600,
            uid=1234, gid=1234)


def check(root):
    def p(name):
        return os.path.join(root, name)

    def lst(name):
        try:
            return os.lstat(p(name))
        except OSError:
            return None

    def content(name):
        try:
            with open(p(name), "rb") as f:
                return f.read()
        except OSError:
            return None

    def is_(name, kind, mode, uid=0, gid=0):
        st = lst(name)
        return (st is not None and kind(st.st_mode) and
                stat.S_IMODE(st.st_mode) == mode and
                st.st_uid == uid and st.st_gid == gid)

    def xattr(name):
        try:
            return os.getxattr(p(name), "user.pd")
        except OSError:
            return None

    tool, hard = lst("bin/tool"), lst("data/hard")
    D, R = stat.S_ISDIR, stat.S_ISREG
    checks = [
        ("set-uid file kept 4755 root", is_("bin/su", R, 0o4755)),
        ("set-gid file of a foreign group kept 2755 gid 5 (CAP_FSETID)",
         is_("bin/wall", R, 0o2755, 0, 5)),
        ("private dir 0700 1000:1000", is_("home/user", D, 0o700, 1000, 1000)),
        ("file inside it 0600 1000:1000 (CAP_DAC_OVERRIDE)",
         is_("home/user/notes", R, 0o600, 1000, 1000) and
         content("home/user/notes") == b"mine\n"),
        ("read-only dir 0555 with its file", is_("ro", D, 0o555) and
         is_("ro/inner", R, 0o444)),
        ("0555 proc directory", is_("proc", D, 0o555)),
        ("sticky tmp 1777", is_("tmp", D, 0o1777)),
        ("foreign file in sticky dir replaced (CAP_FOWNER)",
         is_("tmp/other", R, 0o600, 1234, 1234) and
         content("tmp/other") == b"replaced in sticky dir"),
        ("3 MB file intact", hashlib.sha256(content("data/big") or b"")
         .digest() == hashlib.sha256(big()).digest()),
        ("PAX xattr user.pd set", xattr("data/xattr") == b"hello"),
        ("UTF-8 name", content("data/caf\u00e9") == b"utf8 name\n"),
        ("symlink target and owner", lst("data/link") is not None and
         stat.S_ISLNK(lst("data/link").st_mode) and
         os.readlink(p("data/link")) == "../bin/tool" and
         lst("data/link").st_uid == 1000),
        ("hard link shares the inode", tool is not None and hard is not None
         and tool.st_ino == hard.st_ino),
        ("FIFO 0640", is_("data/fifo", stat.S_ISFIFO, 0o640)),
        ("device node refused", lst("dev/null") is None and
         is_("dev", D, 0o755)),
        ("whiteout removed a file", lst("gone") is None),
        ("opaque whiteout emptied old/", sorted(os.listdir(p("old"))) ==
         ["new"] if lst("old") else False),
        ("replaced file has the new content", content("replace") ==
         b"version 2"),
        ("file mtime restored", tool is not None and
         int(tool.st_mtime) == MTIME),
        ("directory mtime restored", lst("bin") is not None and
         int(lst("bin").st_mtime) == MTIME),
        ("no temporary files left", not any(
            f.startswith(".pdtmp.") for _, _, fs in os.walk(root)
            for f in fs)),
    ]
    for what, good in checks:
        print("%s - extracted tree: %s" % ("ok" if good else "not ok", what))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "make":
        make(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "check":
        check(sys.argv[2])
    else:
        sys.exit("usage: layers.py make DIR | check ROOT")

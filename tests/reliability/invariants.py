#!/usr/bin/python3
"""Crash-safety invariants of a data root and exec root with a running
broker (tests/reliability/test_crash.sh).  Stdlib only.

  invariants.py DATA EXEC TOP "IDS" "ENABLED-IDS" [WAIT-SECONDS]

IDS / ENABLED-IDS: what the broker lists (pluginctl ls -q --no-trunc).
Checks: the broker lists exactly the plugin directories on disk; every
plugin is complete (state, rootfs, every blob it names); no leftovers
(tmp/, -removing, rootfs-old, upgrade journal, temporary files); every
blob hashes to its name and is referenced; no mounts below TOP except
under an enabled plugin's propagated-mount; exec-root state only for
enabled plugins, whose containers run (waited for up to WAIT-SECONDS:
the broker restarts them asynchronously) in the plugin's current rootfs,
each with its log writer, and no log writer of a plugin that is not
enabled.  Prints one line per
violation; exit 1 if there is any.
"""
import hashlib
import json
import os
import re
import subprocess
import sys
import time

HEX = re.compile(r"^[0-9a-f]{64}$")
PLUGIN_FILES = {"config.json", "rootfs", "propagated-mount", "logs"}


def loggers(pdir):
    """Plugin id -> pids of its log writers (plugind-logger chrooted into
    plugins/<id>/logs; zombies have no root and are not counted)."""
    out = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/comm" % p) as f:
                if f.read() != "plugind-logger\n":
                    continue
            root = os.readlink("/proc/%s/root" % p)
        except OSError:
            continue
        if os.path.dirname(root) and os.path.basename(root) == "logs" and \
                os.path.dirname(os.path.dirname(root)) == pdir:
            out.setdefault(os.path.basename(os.path.dirname(root)), []).append(p)
    return out


def main():
    data, exe, top, ids, enabled = sys.argv[1:6]
    wait = float(sys.argv[6]) if len(sys.argv) > 6 else 15
    ids, enabled = set(ids.split()), set(enabled.split())
    bad = []
    pdir = os.path.join(data, "plugins")
    on_disk = set()
    used = set()
    for name in os.listdir(pdir):
        if not HEX.match(name):
            bad.append("plugins/%s: not a plugin directory (leftover)" % name)
            continue
        on_disk.add(name)
        d = os.path.join(pdir, name)
        try:
            st = json.load(open(os.path.join(d, "config.json")))
        except Exception as e:  # noqa: BLE001
            bad.append("plugin %s: state: %s" % (name, e))
            continue
        if st.get("plugin", {}).get("Id") != name:
            bad.append("plugin %s: state names another id" % name)
        if not os.path.isdir(os.path.join(d, "rootfs")) or \
                os.path.islink(os.path.join(d, "rootfs")):
            bad.append("plugin %s: rootfs missing" % name)
        refs = [st.get("Config"), st.get("Manifest")] + (st.get("Blobsums") or [])
        for ref in refs:
            if not ref:
                continue
            used.add(ref)
            if not os.path.isfile(os.path.join(data, "storage/blobs/sha256",
                                               ref.split(":", 1)[1])):
                bad.append("plugin %s: blob %s missing" % (name, ref))
        for f in os.listdir(d):
            if f not in PLUGIN_FILES:
                bad.append("plugin %s: leftover %s" % (name, f))
        want_enabled = bool(st.get("plugin", {}).get("Enabled"))
        if want_enabled != (name in enabled):
            bad.append("plugin %s: Enabled on disk %s, broker says %s" %
                       (name, want_enabled, name in enabled))
    if on_disk != ids:
        bad.append("broker lists %s, disk has %s" % (sorted(ids), sorted(on_disk)))
    bdir = os.path.join(data, "storage/blobs/sha256")
    for b in os.listdir(bdir):
        with open(os.path.join(bdir, b), "rb") as f:
            h = hashlib.sha256(f.read()).hexdigest()
        if h != b:
            bad.append("blob %s: content hashes to %s" % (b, h))
        if "sha256:" + b not in used:
            bad.append("blob %s: referenced by no plugin" % b)
    for f in os.listdir(os.path.join(data, "tmp")):
        # a running broker's warm spares wait in staging of their own
        if not f.startswith("spare-"):
            bad.append("tmp/%s: leftover" % f)
    allowed = [os.path.join(pdir, i, "propagated-mount") for i in enabled]
    with open("/proc/self/mountinfo") as f:
        for line in f:
            m = line.split()[4].replace("\\040", " ")
            if m == top or m.startswith(top + "/"):
                if not any(m == a or m.startswith(a + "/") for a in allowed):
                    bad.append("stray mount %s" % m)
    for sub in ("plugins", "bundles", "runc"):
        d = os.path.join(exe, sub)
        for f in os.listdir(d) if os.path.isdir(d) else []:
            if f not in enabled:
                bad.append("exec-root %s/%s: runtime state of a plugin that is "
                           "not enabled" % (sub, f))
    end = time.time() + wait
    running = set()
    for i in sorted(enabled):
        while True:
            r = subprocess.run(["runc", "--root", os.path.join(exe, "runc"),
                                "state", i], capture_output=True, text=True)
            state = json.loads(r.stdout) if r.returncode == 0 else {}
            status = state.get("status", "none")
            if status == "running" or time.time() > end:
                break
            time.sleep(0.05)
        if status != "running":
            bad.append("plugin %s: enabled but its container is %s" % (i, status))
            continue
        running.add(i)
        # It runs this rootfs, not one a roll-back or upgrade replaced:
        # its root directory is the same inode.
        want = os.stat(os.path.join(pdir, i, "rootfs"))
        try:
            root = os.stat("/proc/%d/root" % state["pid"])
        except OSError:
            root = None
        if root is None or (root.st_dev, root.st_ino) != (want.st_dev, want.st_ino):
            bad.append("plugin %s: its container does not run in plugins/%s/rootfs" % (i, i))
    # Log writers: one for each running plugin (it survived the broker),
    # none for a plugin that is not enabled (it exits with its plugin).
    while True:
        lw = loggers(os.path.realpath(pdir))
        stray = [i for i in lw if i not in enabled]
        if not stray or time.time() > end:
            break
        time.sleep(0.05)
    for i in stray:
        bad.append("plugin %s: not enabled, but its log writer runs (pid %s)" %
                   (i, " ".join(lw[i])))
    for i in sorted(running):
        if i not in lw:
            bad.append("plugin %s: enabled, but no log writer runs" % i)
    for b in bad:
        print(b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

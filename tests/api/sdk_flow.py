#!/usr/bin/python3
"""Debian's python3-docker (the Docker SDK for Python) driving plugind's
Docker Engine API socket: install, list, configure, enable, disable,
upgrade, create, push, remove, and the errors the SDK maps to its
exception types.  Prints "PASS <what>" or "FAIL <what>: <detail>" lines
for tests/api/test_python_sdk.sh.

  sdk_flow.py SOCKET REGISTRY(host:port) PLUGIN-DIR
"""
import json
import socket
import sys

import docker
import docker.errors

sock, reg, ctxdir = sys.argv[1:4]
client = docker.DockerClient(base_url="unix://" + sock)


def check(what, cond, detail=""):
    print(("PASS %s" if cond else "FAIL %s: " + str(detail)) % what, flush=True)
    return cond


def raises(what, exc, fn):
    try:
        fn()
    except exc as e:
        return check(what, True), e
    except Exception as e:  # noqa: BLE001 - report any other type
        return check(what, False, "raised %r" % e), e
    return check(what, False, "no exception"), None


def vcall(pid, call):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect("%s/plugins/%s/vol.sock" % (sys.argv[4], pid))
    s.sendall(b"POST /VolumeDriver.%s HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}" % call.encode())
    out = b""
    while True:
        b = s.recv(4096)
        if not b:
            break
        out += b
    return out.decode(errors="replace")


check("ping", client.ping() is True)
p = client.plugins.install("%s/test/vol:v1" % reg, "sdkvol")
check("install returns the plugin", p.name == "sdkvol:latest", p.name)
check("installed disabled (pull only)", p.enabled is False, p.attrs.get("Enabled"))
# A grant other than what the plugin asks: the pull stream ends in the
# broker's error (Docker streams errors too, once progress has started).
try:
    out = list(client.api.pull_plugin(
        "%s/test/vol:v1" % reg,
        [{"Name": "network", "Description": "", "Value": ["host"]}],
        "sdkwrong"))
    errs = [x.get("error", "") for x in out if isinstance(x, dict) and "error" in x]
except docker.errors.APIError as e:  # an error before the stream started
    errs = [str(e)] if e.status_code == 400 else ["status %d" % e.status_code]
check("a pull with privileges the plugin does not ask fails with the broker's reason",
      any("incorrect privileges" in x for x in errs), errs)
names = [x.name for x in client.plugins.list()]
check("the refused pull left no plugin", "sdkwrong:latest" not in names, names)

check("list", "sdkvol:latest" in names, names)
p.configure({"DEBUG": "5"})
p.reload()
check("configure", "DEBUG=5" in p.settings["Env"], p.settings)
p.enable(timeout=0)
check("enable", p.enabled is True)
check("volume driver answers", "Volumes" in vcall(p.id, "List"))
ok, e = raises("configure an enabled plugin raises APIError", docker.errors.APIError,
               lambda: p.configure({"DEBUG": "6"}))
ok, e = raises("remove an enabled plugin raises APIError", docker.errors.APIError,
               lambda: p.remove())
check("... with Docker's status 409", e is not None and e.status_code == 409,
      e and e.status_code)
p.disable()
check("disable", p.enabled is False)
log = list(p.upgrade("%s/test/vol:v2" % reg))
check("upgrade streams progress",
      any("status" in x for x in log) and not any("error" in x for x in log), log[-3:])
check("upgrade: new config, same settings",
      p.attrs["Config"]["Description"] == "version two" and "DEBUG=5" in p.settings["Env"],
      (p.attrs["Config"]["Description"], p.settings))

made = client.plugins.create("%s/test/sdkmade" % reg, ctxdir)
check("create", made.name == "%s/test/sdkmade:latest" % reg, made.name)
# docker-py's push_plugin() posts to /plugins/{name}/pull without
# stream=True, so the body is consumed before its stream helper reads it
# and the iterator is empty; the install below proves what was pushed.
log = list(made.push())
check("push", not any("error" in x for x in log), log[-3:])
made.remove()
check("remove", "%s/test/sdkmade:latest" % reg not in [x.name for x in client.plugins.list()])
back = client.plugins.install("%s/test/sdkmade" % reg)
check("install what the SDK pushed",
      back.attrs["Config"]["Description"] == "created here", back.attrs["Config"])
back.remove()

raises("get of a missing plugin raises NotFound", docker.errors.NotFound,
       lambda: client.plugins.get("nope"))
raises("install of a missing remote raises NotFound", docker.errors.NotFound,
       lambda: client.plugins.install("%s/test/nope:v1" % reg))
p.enable(timeout=0)
p.remove(force=True)
check("remove(force=True)", client.plugins.list() == [], client.plugins.list())

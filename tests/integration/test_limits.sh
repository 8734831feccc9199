#!/bin/sh
# The default limits take real plugins (issue: a 100 MB layer was refused
# by a 64 MiB default) while the bomb defences stay; every limit error
# names its config key and value.
. "$(dirname "$0")/../lib.sh"

command -v docker-registry >/dev/null || [ -x /usr/bin/docker-registry ] ||
    { skip "docker-registry not installed (make deps installs it)"; done_testing; exit 0; }
T=$(mktemp -d /tmp/pd-limits.XXXXXX); track_dir "$T"; chmod 755 "$T"
PUSH="python3 $PD_TOP/tests/registry/push_plugin.py"

reg_start "$T/reg" anon || { notok "registry starts"; done_testing; exit 1; }
R="127.0.0.1:$REG_PORT"

# 100 MiB of pseudo-random bytes: a compressed layer of about 100 MiB.
$PUSH --registry "http://$R" --repo test/big --layer-size $((100 << 20)) >/dev/null ||
    notok "push a 100 MiB layer"
# 300 MiB of zeros: a layer that compresses 1000:1.
mkdir -p "$T/bomb/rootfs"
head -c $((300 << 20)) /dev/zero >"$T/bomb/rootfs/zeros"
cat >"$T/bomb/config.json" <<'JSON'
{"Description": "zeros", "Entrypoint": ["/zeros"],
 "Interface": {"Socket": "t.sock", "Types": ["docker.volumedriver/1.0"]}}
JSON
$PUSH --registry "http://$R" --repo test/zeros --rootfs "$T/bomb/rootfs" \
    --config "$T/bomb/config.json" >/dev/null || notok "push the zeros layer"
rm -rf "$T/bomb"

start_broker "$T/b" --debug || { notok "broker starts"; done_testing; exit 1; }
check "a 100 MiB layer installs with the default limits" \
    ctl install --disable --grant-all-permissions --alias big "$R/test/big"
[ "$(ctl inspect -f '{{.Enabled}}' big 2>/dev/null)" = false ] &&
    ok "... and is there, disabled" || notok "big is not installed"
# --debug says where the time of an install went, phase by phase.
grep -Eq "install $R/test/big:latest: fetcher [0-9]+ ms, resolve [0-9]+ ms, extractor [0-9]+ ms, layers [0-9]+ ms, store [0-9]+ ms, commit [0-9]+ ms, enable [0-9]+ ms; total [0-9]+ ms" "$T/b/broker.log" &&
    ok "--debug logs the install's phases" || { notok "no phase line"; diag "$(grep 'test/big' "$T/b/broker.log" | tail -3)"; }
expect_fail "a layer that compresses 1000:1 is still refused, naming the key" \
    "limits.max-ratio (100)" ctl install --disable --grant-all-permissions --alias zeros "$R/test/zeros"
ctl inspect zeros >/dev/null 2>&1 && notok "the refused plugin was kept" || ok "nothing kept of the refused one"
stop_broker "$BROKER_PID"

# Lowered by the config: refused before the download, naming key and value.
echo '{"limits": {"max-compressed": 67108864}}' >"$T/small.json"
start_broker "$T/b2" --config "$T/small.json" || { notok "broker with max-compressed 64 MiB starts"; done_testing; exit 1; }
expect_fail "max-compressed 64 MiB refuses the 100 MiB layer, naming key and value" \
    "more than limits.max-compressed (67108864)" ctl install --disable --grant-all-permissions "$R/test/big"
stop_broker "$BROKER_PID"
echo '{"limits": {"max-layer-bytes": 52428800}}' >"$T/unc.json"
start_broker "$T/b3" --config "$T/unc.json" || { notok "broker with max-layer-bytes 50 MiB starts"; done_testing; exit 1; }
expect_fail "max-layer-bytes 50 MiB refuses it in the extractor, naming the key" \
    "limits.max-layer-bytes (52428800 bytes)" ctl install --disable --grant-all-permissions "$R/test/big"
stop_broker "$BROKER_PID"
done_testing

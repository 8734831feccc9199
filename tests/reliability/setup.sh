# Sourced by tests/reliability/test_*.sh after lib.sh.
#
# reliability_setup: T, a short temp dir (unix socket paths are limited to
# 108 bytes) whose containers, mounts and files are cleaned up on exit, and
# a registry on loopback holding $R/test/sample: a small volume plugin
# (the volplugin fixture at /plugin).  Exits the test on failure.
reliability_setup() {
	[ -x /usr/bin/docker-registry ] || { skip "docker-registry not installed"; done_testing; exit 0; }
	[ -x "$PD_BUILD/fixtures/volplugin" ] || { skip "fixtures not built (make tests)"; done_testing; exit 0; }
	T=$(mktemp -d /tmp/pdrl.XXXXXX); track_dir "$T"; chmod 755 "$T"
	track_runc "$T/b/exec/runc"
	track_mounts_under "$T"
	reg_start "$T/reg" anon || { notok "registry starts"; done_testing; exit 1; }
	R="127.0.0.1:$REG_PORT"
	cat >"$T/cfg.json" <<'JSON'
{"description": "sample plugin", "entrypoint": ["/plugin"],
 "interface": {"socket": "vol.sock", "types": ["docker.volumedriver/1.0"]},
 "network": {"type": "host"}, "propagatedMount": "/data"}
JSON
	python3 "$PD_TOP/tests/registry/push_plugin.py" --registry "http://$R" \
	    --repo test/sample --config "$T/cfg.json" --socket vol.sock \
	    --plugin-binary "$PD_BUILD/fixtures/volplugin" >/dev/null ||
	    { notok "push the sample plugin"; done_testing; exit 1; }
}

# asan_build: plugind is built with AddressSanitizer, whose quarantine
# keeps freed memory (RSS bounds mean nothing there).
asan_build() { nm -D "$PD_BUILD/plugind" 2>/dev/null | grep -q __asan_init; }

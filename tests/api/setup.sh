# Sourced by tests/api/test_*.sh after lib.sh.
#
# cfg FILE DESCRIPTION: a volume-driver plugin config for the volplugin
# fixture, with a settable DEBUG and a propagated mount.
cfg() {
	cat >"$1" <<JSON
{"description": "$2", "entrypoint": ["/plugin"],
 "interface": {"socket": "vol.sock", "types": ["docker.volumedriver/1.0"]},
 "env": [{"name": "DEBUG", "settable": ["value"], "value": "0"}],
 "network": {"type": "host"}, "propagatedMount": "/data"}
JSON
}

# push_vol_plugins DIR: test/vol:v1 and :v2 (different layers) into the
# registry at $R; their configs land in DIR/v1.json and DIR/v2.json.
push_vol_plugins() {
	cfg "$1/v1.json" "version one"; cfg "$1/v2.json" "version two"
	PUSH="python3 $PD_TOP/tests/registry/push_plugin.py --registry http://$R --repo test/vol --plugin-binary $PD_BUILD/fixtures/volplugin --socket vol.sock"
	$PUSH --tag v1 --config "$1/v1.json" >/dev/null &&
	    $PUSH --tag v2 --config "$1/v2.json" --seed 2 >/dev/null
}

#!/bin/sh
# Ansible's community.docker (Debian's `ansible`) against plugind's Docker
# Engine API socket, with registries on loopback: docker_host_info, and
# docker_plugin present/enable/disable/absent with an alias and
# plugin_options, idempotent on a second run and in check mode; then a
# registry with Basic auth whose credentials come from a credsStore
# helper, so the module sends X-Registry-Auth with capitalised keys.
# Before Ansible, the same decoding through curl (mixed-case
# X-Registry-Auth and privileges bodies, GET /info), which runs without
# Ansible too.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/setup.sh"

[ -x /usr/bin/docker-registry ] || { skip "docker-registry not installed (make deps)"; done_testing; exit 0; }
command -v runc >/dev/null || { skip "runc not installed"; done_testing; exit 0; }
[ -x "$PD_BUILD/fixtures/volplugin" ] || { skip "volplugin fixture not built (make tests)"; done_testing; exit 0; }

T=$(mktemp -d /tmp/pdans.XXXXXX); track_dir "$T"; chmod 755 "$T"
track_runc "$T/b/exec/runc"; track_mounts_under "$T"
reg_start "$T/reg" anon || { notok "registry starts"; done_testing; exit 1; }
R="127.0.0.1:$REG_PORT"
push_vol_plugins "$T" || { notok "push test plugins"; done_testing; exit 1; }
reg_start "$T/regb" basic || { notok "basic registry starts"; done_testing; exit 1; }
RB="127.0.0.1:$REG_PORT"
python3 "$PD_TOP/tests/registry/push_plugin.py" --registry "http://$RB" --repo test/auth \
    --user testuser --pass testpass --plugin-binary "$PD_BUILD/fixtures/volplugin" \
    --socket vol.sock --config "$T/v1.json" >/dev/null || notok "push to the basic registry"
A="$T/api.sock"
start_broker "$T/b" --docker-api "unix://$A" || { notok "broker starts"; done_testing; exit 1; }

# api GET|POST PATH [curl args...]: sets code and body ($T/body)
api() {
	_m=$1 _p=$2; shift 2
	code=$(curl -s -o "$T/body" -w '%{http_code}' --unix-socket "$A" -X "$_m" "$@" "http://x$_p")
}
hdr() { printf '%s' "$1" | base64 -w0 | tr '+/' '-_'; }
pyj() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$T/body"; }

# GET /info, with and without a version prefix
api GET /v1.41/info
[ "$code" = 200 ] && [ "$(pyj 'd["OSType"], d["DockerRootDir"], d["Containers"], d["Swarm"]["LocalNodeState"]')" = \
    "linux $T/b/data 0 inactive" ] && ok "GET /v1.41/info: OSType, DockerRootDir, zero containers, no swarm" ||
    { notok "GET /v1.41/info: $code"; diag "$(cat "$T/body")"; }
api GET /info
[ "$code" = 200 ] && [ "$(pyj 'd["Name"], d["Architecture"], d["KernelVersion"], d["NCPU"] > 0, d["MemTotal"] > 0')" = \
    "$(uname -n) $(uname -m) $(uname -r) True True" ] && ok "GET /info: the host's name, machine, kernel, CPUs, memory" ||
    { notok "GET /info: $code"; diag "$(cat "$T/body")"; }
ID1=$(pyj 'd["ID"]')
api GET /info
[ "$(pyj 'd["ID"]')" = "$ID1" ] && [ ${#ID1} -eq 36 ] && ok "GET /info: a stable ID" || notok "ID $ID1 / $(pyj 'd["ID"]')"
api POST /info
[ "$code" = 404 ] && ok "POST /info: 404" || notok "POST /info: $code"

# X-Registry-Auth keys in any case, as Docker (Go) decodes them
api GET "/v1.51/plugins/privileges?remote=$RB/test/auth:latest"
[ "$code" = 401 ] && ok "privileges without credentials: 401" || { notok "no credentials: $code"; diag "$(cat "$T/body")"; }
for j in '{"username":"testuser","password":"testpass"}' \
    '{"ServerAddress":"'"$RB"'","Username":"testuser","Password":"testpass"}' \
    '{"USERNAME":"testuser","PassWord":"testpass","Email":""}'; do
	api GET "/v1.51/plugins/privileges?remote=$RB/test/auth:latest" -H "X-Registry-Auth: $(hdr "$j")"
	[ "$code" = 200 ] && ok "X-Registry-Auth $j: 200" || { notok "X-Registry-Auth $j: $code"; diag "$(cat "$T/body")"; }
done
# moby's plugin code uses Username/Password/IdentityToken only, never "auth"
api GET "/v1.51/plugins/privileges?remote=$RB/test/auth:latest" \
    -H "X-Registry-Auth: $(hdr "{\"auth\":\"$(printf testuser:testpass | base64)\"}")"
[ "$code" = 401 ] && ok "X-Registry-Auth with only auth: anonymous, as Docker" || notok "auth only: $code"
# A privileges body with lower-case keys is the same grant
api GET "/v1.51/plugins/privileges?remote=$R/test/vol:v1"
python3 -c 'import json,sys; print(json.dumps([{k.lower(): v for k, v in p.items()} for p in json.load(open(sys.argv[1]))]))' \
    "$T/body" >"$T/priv.json"
api POST "/v1.51/plugins/pull?remote=$R/test/vol:v1&name=lc" -H 'Content-Type: application/json' --data-binary @"$T/priv.json"
[ "$code" = 200 ] && ! grep -q errorDetail "$T/body" && [ "$(ctl inspect -f '{{.Name}}' lc)" = "lc:latest" ] &&
    ok "pull with a privileges body in lower case: $(cat "$T/priv.json")" || { notok "lower-case privileges: $code"; diag "$(cat "$T/body")"; }
ctl rm lc >/dev/null 2>&1

# Ansible
if ! command -v ansible-playbook >/dev/null; then
	skip "ansible-playbook not installed (Debian's ansible package; make deps installs it)"
	done_testing; exit $?
fi
# ansible-playbook runs Debian's python3, whatever python3 is on PATH
if ! /usr/bin/python3 -c 'import ansible_collections.community.docker' 2>/dev/null; then
	skip "the community.docker collection is missing (Debian's ansible package ships it)"
	done_testing; exit $?
fi
mkdir -p "$T/ans/tmp" "$T/bin" "$T/dc-none" "$T/dc-store"
export ANSIBLE_HOME="$T/ans" ANSIBLE_LOCAL_TEMP="$T/ans/tmp" ANSIBLE_REMOTE_TEMP="$T/ans/tmp" \
    ANSIBLE_CONFIG="$T/ans/ansible.cfg" ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 \
    ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3 ANSIBLE_LOCALHOST_WARNING=0 \
    ANSIBLE_INVENTORY_UNPARSED_WARNING=0 DOCKER_HOST="unix://$A" DOCKER_CONFIG="$T/dc-none"
: >"$ANSIBLE_CONFIG"
# A credential helper: the module runs `docker-credential-fake get`.
cat >"$T/bin/docker-credential-fake" <<EOF
#!/bin/sh
read -r url
echo "\$1 \$url" >>"$T/helper.log"
[ "\$1" = get ] || exit 0
printf '{"ServerURL":"%s","Username":"testuser","Secret":"testpass"}\n' "\$url"
EOF
chmod 755 "$T/bin/docker-credential-fake"
printf '{"credsStore":"fake"}\n' >"$T/dc-store/config.json"
# play NAME: runs $T/NAME.yml; output in $T/NAME.out, rc in prc
play() {
	PATH="$T/bin:$PATH" ansible-playbook -i localhost, -c local -e "ctl=$CTL sock=$SOCK api=$A reg=$R regb=$RB root=$T/b/data" \
	    "$T/$1.yml" >"$T/$1.out" 2>&1
	prc=$?
}
recap() { sed -n 's/.*ok=\([0-9]*\) *changed=\([0-9]*\) .*failed=\([0-9]*\) .*/ok=\1 changed=\2 failed=\3/p' "$T/$1.out"; }
played() { # played NAME DESC: ok when the play ran without failure
	if [ "$prc" -eq 0 ]; then ok "$2 ($(recap "$1"))"
	else notok "$2 (rc $prc)"; diag "$(grep -E 'fatal|FAILED|msg|ERROR' "$T/$1.out" | head -20)"; fi
}

cat >"$T/pre.yml" <<'EOF'
- hosts: localhost
  gather_facts: false
  tasks:
    - name: docker_host_info
      community.docker.docker_host_info:
      register: hi
    - assert:
        that:
          - hi.host_info.OSType == 'linux'
          - hi.host_info.DockerRootDir == root
          - hi.host_info.ServerVersion | length > 0
          - hi.host_info.ID | length == 36
          - hi.host_info.NCPU > 0
          - hi.host_info.MemTotal > 0
          - hi.host_info.Containers == 0
          - hi.host_info.Plugins.Volume == []
    - name: present in check mode
      community.docker.docker_plugin:
        plugin_name: "{{ reg }}/test/vol:v1"
        alias: vol
        plugin_options: { DEBUG: "3" }
      check_mode: true
      register: cm
    - { command: "{{ ctl }} -H unix://{{ sock }} ls -q", register: ls, changed_when: false }
    - { assert: { that: [cm.changed, "ls.stdout == ''"] } }
EOF
cat >"$T/converge.yml" <<'EOF'
- hosts: localhost
  gather_facts: false
  tasks:
    - name: present with an alias and options
      community.docker.docker_plugin:
        plugin_name: "{{ reg }}/test/vol:v1"
        alias: vol
        plugin_options: { DEBUG: "3" }
    - name: enable
      community.docker.docker_plugin:
        plugin_name: "{{ reg }}/test/vol:v1"
        alias: vol
        state: enable
EOF
cat >"$T/post.yml" <<'EOF'
- hosts: localhost
  gather_facts: false
  tasks:
    - community.docker.docker_host_info:
      register: hi
    - community.docker.docker_plugin:
        plugin_name: "{{ reg }}/test/vol:v1"
        alias: vol
        plugin_options: { DEBUG: "3" }
      register: same
    - assert:
        that:
          - hi.host_info.Plugins.Volume == ['vol:latest']
          - not same.changed
          - same.plugin.Enabled
          - "'DEBUG=3' in same.plugin.Settings.Env"
    - name: disable in check mode
      community.docker.docker_plugin: { plugin_name: vol, state: disable }
      check_mode: true
      register: cd
    - name: still enabled
      command: "{{ ctl }} -H unix://{{ sock }} inspect -f '{{ '{{' }}.Enabled{{ '}}' }}' vol"
      register: en
      changed_when: false
      failed_when: en.stdout != 'true'
    - { assert: { that: [cd.changed] } }
    - community.docker.docker_plugin: { plugin_name: vol, state: disable }
      register: d1
    - community.docker.docker_plugin: { plugin_name: vol, state: disable }
      register: d2
    - name: new options on a disabled plugin
      community.docker.docker_plugin:
        plugin_name: "{{ reg }}/test/vol:v1"
        alias: vol
        plugin_options: { DEBUG: "5" }
      register: o5
    - community.docker.docker_plugin: { plugin_name: vol, state: absent }
      check_mode: true
      register: ca
    - community.docker.docker_plugin: { plugin_name: vol, state: absent }
      register: a1
    - community.docker.docker_plugin: { plugin_name: vol, state: absent }
      register: a2
    - assert:
        that:
          - d1.changed and not d2.changed
          - o5.changed and "'DEBUG=5' in o5.plugin.Settings.Env"
          - ca.changed and a1.changed and not a2.changed
EOF
cat >"$T/auth.yml" <<'EOF'
- hosts: localhost
  gather_facts: false
  tasks:
    - name: no credentials
      community.docker.docker_plugin: { plugin_name: "{{ regb }}/test/auth:latest", alias: authvol }
      register: nocred
      ignore_errors: true
    - name: credentials from the credsStore helper
      community.docker.docker_plugin: { plugin_name: "{{ regb }}/test/auth:latest", alias: authvol }
      environment: { DOCKER_CONFIG: "{{ api | dirname }}/dc-store" }
      register: cred
    - community.docker.docker_plugin: { plugin_name: authvol, state: absent }
    - assert:
        that:
          - nocred.failed
          - "'no credentials given' in nocred.msg"
          - cred.changed and cred.plugin.Name == 'authvol:latest'
EOF

play pre; played pre "docker_host_info fields; docker_plugin present in check mode changes nothing"
play converge; played converge "present (alias, plugin_options) and enable"
grep -q 'changed=2 ' "$T/converge.out" && ok "first run changed both" || notok "first run: $(recap converge)"
[ "$(ctl inspect -f '{{.Name}} {{.Enabled}} {{.Settings.Env}}' vol 2>&1)" = "vol:latest true [\"DEBUG=3\"]" ] &&
    ok "pluginctl sees vol:latest enabled with DEBUG=3" || notok "state: $(ctl inspect -f '{{.Name}} {{.Enabled}} {{.Settings.Env}}' vol 2>&1)"
play converge; played converge "the same again"
grep -q 'changed=0 ' "$T/converge.out" && ok "second run: changed=0 (idempotent)" || notok "second run: $(recap converge)"
play post; played post "idempotent present; disable, options, absent, each twice and in check mode"
[ -z "$(ctl ls -q)" ] && ok "nothing left" || notok "left: $(ctl ls -q)"
play auth; played auth "Basic-auth registry: 401 without credentials, install with the credsStore helper's"
grep -q "^get $RB" "$T/helper.log" 2>/dev/null && ok "the module asked docker-credential-fake for $RB" ||
    { notok "credential helper not asked"; diag "$(cat "$T/helper.log" 2>&1)"; }
kill -0 "$BROKER_PID" && ok "broker alive" || notok "broker alive"
done_testing

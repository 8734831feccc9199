#!/bin/sh
# docker login / logout (issue 18): the login verb checks credentials with
# the registry and stores nothing; pluginctl saves them where docker does.
#  - pluginctl login against a Basic (htpasswd) and a token registry: good
#    and bad passwords, config.json written 0600 with every other key
#    kept, the saved credentials used by install, logout.
#  - Credential helpers (a fake docker-credential-* on PATH that logs its
#    calls): credsStore and credHelpers[host] for store, get and erase; a
#    missing and a failing helper's errors.
#  - A member of group plugind may log in.
#  - POST /auth on the Engine API socket (curl), and `docker login`
#    through it when the docker CLI is installed.
. "$(dirname "$0")/../lib.sh"

command -v docker-registry >/dev/null || [ -x /usr/bin/docker-registry ] ||
    { skip "docker-registry not installed (make deps installs it)"; done_testing; exit 0; }
command -v htpasswd >/dev/null || { skip "htpasswd not installed"; done_testing; exit 0; }
T=$(mktemp -d /tmp/pd-login.XXXXXX); track_dir "$T"; chmod 755 "$T"
PUSH="python3 $PD_TOP/tests/registry/push_plugin.py"
c() { "$CTL" -H "unix://$SOCK" "$@"; }
json() { # json FILE PYTHON-EXPR: the expression over the loaded file `j`
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2" 2>&1
}

reg_start "$T/regb" basic || { notok "basic registry starts"; done_testing; exit 1; }
B="127.0.0.1:$REG_PORT"
$PUSH --registry "http://$B" --repo test/auth --user testuser --pass testpass >/dev/null ||
    notok "push to the basic registry"
reg_start "$T/regt" token || { notok "token registry starts"; done_testing; exit 1; }
TK="127.0.0.1:$REG_PORT"
start_broker "$T/b" --docker-api "unix://$T/api.sock" || { notok "broker starts"; done_testing; exit 1; }

export DOCKER_CONFIG="$T/cfg"
CFG="$DOCKER_CONFIG/config.json"
mkdir -p "$DOCKER_CONFIG"
printf '{"psFormat": "table {{.ID}}", "auths": {"other.example:5000": {"auth": "eDp5"}}, "HttpHeaders": {"X-Keep": "1"}}\n' >"$CFG"
chmod 644 "$CFG"

# -- Basic registry, the file store.
out=$(echo testpass | c login -u testuser --password-stdin "$B" 2>&1)
[ "$out" = "Login Succeeded" ] && ok "login (Basic): Login Succeeded" || { notok "login (Basic)"; diag "$out"; }
[ "$(stat -c %a "$CFG")" = 600 ] && ok "config.json is 0600 after the save" || notok "config.json mode $(stat -c %a "$CFG")"
[ "$(json "$CFG" "j['auths']['$B']['auth']")" = "$(printf testuser:testpass | base64)" ] &&
    ok "auths[$B].auth = base64(user:pass)" || { notok "auths entry"; diag "$(cat "$CFG")"; }
[ "$(json "$CFG" "(j['psFormat'], j['HttpHeaders']['X-Keep'], j['auths']['other.example:5000']['auth'])")" = "('table {{.ID}}', '1', 'eDp5')" ] &&
    ok "every other key of config.json is kept" || { notok "other keys lost"; diag "$(cat "$CFG")"; }
ls "$DOCKER_CONFIG" | grep -v '^config.json$' | grep -q . && notok "a temporary file was left: $(ls "$DOCKER_CONFIG")" ||
    ok "no temporary file left"
cp "$CFG" "$T/cfg.saved"
expect_fail "login, wrong password: Docker's text" "login attempt to http://$B/v2/ failed with status: 401 Unauthorized" \
    sh -c "echo wrong | $CTL -H unix://$SOCK login -u testuser --password-stdin $B"
cmp -s "$CFG" "$T/cfg.saved" && ok "a failed login changes nothing" || notok "a failed login changed config.json"
expect_fail "--password-stdin needs -u" "Must provide --username with --password-stdin" \
    sh -c "echo x | $CTL -H unix://$SOCK login --password-stdin $B"
expect_fail "no TTY, no credentials: no prompt" "Cannot perform an interactive login from a non TTY device" \
    sh -c "$CTL -H unix://$SOCK login 127.0.0.1:1 </dev/null"
out=$(c login -u testuser -p testpass "http://$B/" 2>&1)
case "$out" in *"WARNING! Using --password via the CLI is insecure"*"Login Succeeded"*) ok "login -p (a URL as the server) warns and succeeds" ;;
*) notok "login -p URL"; diag "$out" ;; esac
out=$(c login "$B" </dev/null 2>&1)
case "$out" in "Authenticating with existing credentials..."*"Login Succeeded") ok "login without -u uses the saved credentials" ;;
*) notok "login with saved credentials"; diag "$out" ;; esac
check "install with the saved credentials" c install --disable --grant-all-permissions --alias a1 "$B/test/auth"
out=$(c logout "$B")
[ "$out" = "Removing login credentials for $B" ] && ok "logout: Removing login credentials for $B" || { notok "logout"; diag "$out"; }
[ "$(json "$CFG" "('$B' in j['auths'], j['psFormat'], 'other.example:5000' in j['auths'])")" = "(False, 'table {{.ID}}', True)" ] &&
    ok "logout removes the entry, keeps the rest" || { notok "logout entry"; diag "$(cat "$CFG")"; }
out=$(c logout "$B")
[ "$out" = "Not logged in to $B" ] && ok "logout again: Not logged in" || { notok "logout again"; diag "$out"; }
expect_fail "after logout install has no credentials" "no credentials given" \
    c install --disable --grant-all-permissions --alias a2 "$B/test/auth"

# -- Token registry: no scope, account=user, the refresh token saved.
out=$(echo testpass | c login -u testuser --password-stdin "$TK" 2>&1)
[ "$out" = "Login Succeeded" ] && ok "login (Bearer): Login Succeeded" || { notok "login (Bearer)"; diag "$out"; }
tail -n 1 "$T/regt/token.log" | python3 -c 'import json,sys; e=json.loads(sys.stdin.read()); q=e["query"]; sys.exit(0 if "scope" not in q and q.get("account")==["testuser"] and q.get("offline_token")==["true"] and e["user"]=="testuser" else 1)' &&
    ok "the token request has no scope, account=testuser, offline_token=true" || { notok "token request"; diag "$(tail -n 2 "$T/regt/token.log")"; }
[ "$(json "$CFG" "j['auths']['$TK'].get('identitytoken')")" = "test-refresh-token" ] &&
    ok "the identity token the token server issued is saved" || { notok "identitytoken"; diag "$(cat "$CFG")"; }
expect_fail "login (Bearer), wrong password: the token server's text" "unauthorized: invalid credentials" \
    sh -c "echo wrong | $CTL -H unix://$SOCK login -u testuser --password-stdin $TK"
out=$(c login "$TK" </dev/null 2>&1)
case "$out" in *"Login Succeeded") ok "login with the saved identity token (refresh-token grant)" ;;
*) notok "login with the identity token"; diag "$out" ;; esac
c logout "$TK" >/dev/null

# -- Credential helpers.
mkdir -p "$T/bin"
cat >"$T/bin/docker-credential-fake" <<EOF
#!/bin/sh
# A credential helper for the test: logs its calls, keeps one secret.
verb=\$1; in=\$(cat); me=\$(basename "\$0")
echo "\$me \$verb \$in" >>"$T/helper.log"
[ -n "\$FAKE_FAIL" ] && { echo "fake helper exploded"; exit 1; }
case \$verb in
get) [ -f "$T/store.\$me" ] || { echo "credentials not found in native keychain"; exit 1; }
     cat "$T/store.\$me" ;;
store) printf '%s' "\$in" >"$T/store.\$me" ;;
erase) rm -f "$T/store.\$me" ;;
*) echo "unknown verb"; exit 1 ;;
esac
EOF
chmod 755 "$T/bin/docker-credential-fake"
ln -s docker-credential-fake "$T/bin/docker-credential-fake2"
chmod 755 "$T/bin"
OPATH=$PATH; export PATH="$T/bin:$PATH"
printf '{"credsStore": "fake", "keep": [1, 2]}\n' >"$CFG"
: >"$T/helper.log"
out=$(echo testpass | c login -u testuser --password-stdin "$B" 2>&1)
[ "$out" = "Login Succeeded" ] && ok "login with credsStore" || { notok "login credsStore"; diag "$out"; }
grep -qx "docker-credential-fake store {\"ServerURL\":\"$B\",\"Username\":\"testuser\",\"Secret\":\"testpass\"}" "$T/helper.log" &&
    ok "credsStore: store got {ServerURL, Username, Secret}" || { notok "helper store"; diag "$(cat "$T/helper.log")"; }
[ "$(json "$CFG" "(j['auths']['$B'], j['keep'], j['credsStore'])")" = "({}, [1, 2], 'fake')" ] &&
    ok "credsStore: config.json gets an empty auths entry, as docker's" || { notok "credsStore config"; diag "$(cat "$CFG")"; }
grep -q testpass "$CFG" && notok "the password is in config.json" || ok "no password in config.json"
check "install with credentials from credsStore" c install --disable --grant-all-permissions --alias h1 "$B/test/auth"
grep -qx "docker-credential-fake get $B" "$T/helper.log" && ok "credsStore: get with the server address" ||
    { notok "helper get"; diag "$(cat "$T/helper.log")"; }
expect_fail "a failing helper: its message" "error getting credentials with docker-credential-fake - err: exit status 1, out: \`fake helper exploded\`" \
    env FAKE_FAIL=1 "$CTL" -H "unix://$SOCK" install --disable --grant-all-permissions --alias h2 "$B/test/auth"
out=$(c logout "$B")
[ "$out" = "Removing login credentials for $B" ] && grep -qx "docker-credential-fake erase $B" "$T/helper.log" &&
    [ ! -f "$T/store.docker-credential-fake" ] && ok "credsStore: logout erases through the helper" ||
    { notok "helper erase"; diag "$out $(cat "$T/helper.log")"; }
[ "$(json "$CFG" "'$B' in j.get('auths', {})")" = False ] && ok "credsStore: logout drops the auths entry" ||
    { notok "logout entry (helper)"; diag "$(cat "$CFG")"; }
printf '{"auths": {}, "credsStore": "missing", "credHelpers": {"%s": "fake2"}}\n' "$B" >"$CFG"
: >"$T/helper.log"
out=$(echo testpass | c login -u testuser --password-stdin "$B" 2>&1)
[ "$out" = "Login Succeeded" ] && grep -q "^docker-credential-fake2 store " "$T/helper.log" &&
    ok "credHelpers[host] wins over credsStore" || { notok "credHelpers"; diag "$out $(cat "$T/helper.log")"; }
check "install with credentials from credHelpers[host]" c install --disable --grant-all-permissions --alias h3 "$B/test/auth"
grep -qx "docker-credential-fake2 get $B" "$T/helper.log" && ok "credHelpers: get" || { notok "credHelpers get"; diag "$(cat "$T/helper.log")"; }
expect_fail "a missing helper: named, with where it is configured" \
    "docker-credential-missing not found in PATH (credsStore in $CFG)" \
    sh -c "echo testpass | $CTL -H unix://$SOCK login -u testuser --password-stdin $TK"
printf '{"credsStore": "fake"}\n' >"$CFG"
out=$(FAKE_FAIL=1 c logout "$B" 2>&1)
case "$out" in *"Not logged in to $B"*) ok "logout without an auths entry: Not logged in (docker's check)" ;;
*) notok "logout, no entry"; diag "$out" ;; esac
export PATH="$OPATH"

# -- A member may log in (its own config; no client certificate).
G=$(getent group plugind | cut -d: -f3)
if command -v setpriv >/dev/null && [ -n "$G" ]; then
	chmod 755 "$T/b" "$T/b/exec"
	mkdir -p "$T/mcfg"; chown 65534:65534 "$T/mcfg"
	out=$(echo testpass | DOCKER_CONFIG="$T/mcfg" setpriv --reuid 65534 --regid 65534 --groups "$G" \
	    "$CTL" -H "unix://$SOCK" login -u testuser --password-stdin "$B" 2>&1)
	[ "$out" = "Login Succeeded" ] && [ "$(stat -c %u "$T/mcfg/config.json")" = 65534 ] &&
	    ok "a member logs in; its config.json is its own" || { notok "member login"; diag "$out"; }
else
	skip "setpriv or group plugind missing"
fi

# -- A real helper: Debian's docker-credential-pass, with a throw-away gpg
# key and password store (golang-docker-credential-helpers, pass).
if command -v docker-credential-pass >/dev/null && command -v pass >/dev/null &&
    command -v gpg >/dev/null; then
	export GNUPGHOME="$T/gnupg" PASSWORD_STORE_DIR="$T/pass"
	mkdir -m 700 "$GNUPGHOME"
	if gpg --batch --passphrase '' --quick-gen-key pd-test@plugind.invalid \
	    default default never >/dev/null 2>&1 &&
	    pass init pd-test@plugind.invalid >/dev/null 2>&1; then
		printf '{"credsStore": "pass"}\n' >"$CFG"
		out=$(echo testpass | c login -u testuser --password-stdin "$B" 2>&1)
		[ "$out" = "Login Succeeded" ] && ok "docker-credential-pass: login stores through pass" ||
		    { notok "pass login"; diag "$out"; }
		grep -q testpass "$CFG" && notok "the password is in config.json (pass)" ||
		    ok "docker-credential-pass: no password in config.json"
		check "docker-credential-pass: install with the stored credentials" \
		    c install --disable --grant-all-permissions --alias pass1 "$B/test/auth"
		out=$(c logout "$B")
		[ "$out" = "Removing login credentials for $B" ] &&
		    ! docker-credential-pass list 2>/dev/null | grep -q "$B" &&
		    ok "docker-credential-pass: logout erases" || { notok "pass logout"; diag "$out"; }
		gpgconf --kill gpg-agent 2>/dev/null
	else
		skip "could not make a gpg key and a password store for docker-credential-pass"
	fi
	unset GNUPGHOME PASSWORD_STORE_DIR
else
	skip "docker-credential-pass, pass or gpg not installed (tests/deps.sh installs them)"
fi

# -- POST /auth on the Engine API socket.
if command -v curl >/dev/null; then
	auth() { curl -sS --max-time 30 --unix-socket "$T/api.sock" -o "$T/body" -w '%{http_code}' \
	    -H 'Content-Type: application/json' -d "$2" "http://d$1"; }
	st=$(auth /v1.43/auth "{\"username\":\"testuser\",\"password\":\"testpass\",\"serveraddress\":\"$B\"}")
	[ "$st" = 200 ] && [ "$(json "$T/body" "(j['Status'], j['IdentityToken'])")" = "('Login Succeeded', '')" ] &&
	    ok "POST /v1.43/auth: 200 Login Succeeded" || { notok "POST /auth good ($st)"; diag "$(cat "$T/body")"; }
	st=$(auth /auth "{\"username\":\"testuser\",\"password\":\"wrong\",\"serveraddress\":\"http://$B/\"}")
	[ "$st" = 401 ] && [ "$(json "$T/body" "j['message']")" = "login attempt to http://$B/v2/ failed with status: 401 Unauthorized" ] &&
	    ok "POST /auth, wrong password: 401 with Docker's message" || { notok "POST /auth bad ($st)"; diag "$(cat "$T/body")"; }
	st=$(auth /auth "{\"username\":\"testuser\",\"password\":\"testpass\",\"serveraddress\":\"$TK\"}")
	[ "$st" = 200 ] && [ "$(json "$T/body" "j['IdentityToken']")" = test-refresh-token ] &&
	    ok "POST /auth (Bearer): the IdentityToken" || { notok "POST /auth token ($st)"; diag "$(cat "$T/body")"; }
	st=$(auth /auth "{\"Username\":\"testuser\",\"PASSWORD\":\"testpass\",\"ServerAddress\":\"$B\"}")
	[ "$st" = 200 ] && ok "POST /auth with Go-cased keys (Username, PASSWORD, ServerAddress): 200" ||
	    { notok "POST /auth mixed case ($st)"; diag "$(cat "$T/body")"; }
	st=$(auth /auth '[1]')
	[ "$st" = 400 ] && ok "POST /auth with a non-object body: 400" || { notok "POST /auth [1] ($st)"; diag "$(cat "$T/body")"; }
	[ "$(ls "$T/b/data/plugins" | wc -l)" = "$(c ls -q | wc -l)" ] && ok "the broker stored nothing for the logins" ||
	    notok "plugins dir changed"
else
	skip "curl missing"
fi
if command -v docker >/dev/null; then
	mkdir -p "$T/dcfg"
	# The docker CLI picks docker-credential-pass by itself when it is on
	# PATH and config.json names no store: keep this one to the file.
	DOCKER=$(command -v docker)
	docker() { env PATH=/nonexistent "$DOCKER" "$@"; }
	out=$(echo testpass | DOCKER_HOST="unix://$T/api.sock" DOCKER_CONFIG="$T/dcfg" \
	    docker login -u testuser --password-stdin "$B" 2>&1)
	case "$out" in *"Login Succeeded"*) ok "docker login through the API socket" ;;
	*) notok "docker login"; diag "$out" ;; esac
	out=$(echo wrong | DOCKER_HOST="unix://$T/api.sock" DOCKER_CONFIG="$T/dcfg" \
	    docker login -u testuser --password-stdin "$B" 2>&1)
	case "$out" in *"401 Unauthorized"*) ok "docker login, wrong password: refused" ;;
	*) notok "docker login wrong password"; diag "$out" ;; esac
else
	skip "docker CLI not installed"
fi
done_testing

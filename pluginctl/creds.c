/*
 * pluginctl's credential store, as the docker CLI resolves it
 * (cli/config/configfile/file.go, cli/config/credentials/): the helper
 * credHelpers[host], else the helper credsStore, else auths[host] in
 * ~/.docker/config.json ($DOCKER_CONFIG/config.json).  A helper is the
 * program docker-credential-<name> on PATH, run here as the invoking
 * user (the broker never runs one): `get` and `erase` read the server
 * address on stdin, `store` reads {"ServerURL","Username","Secret"};
 * a Username of "<token>" means Secret is an identity token.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <pwd.h>

#include "pluginctl.h"
#include "ref.h"
#include "util.h"

#define HELPER_PREFIX	"docker-credential-"
#define HELPER_OUT_MAX	(64 * 1024)
#define TOKEN_USER	"<token>"
#define NOT_FOUND	"credentials not found in native keychain"

/* The helper a host uses, and where it was configured, for messages. */
struct helper {
	char	 name[256];
	char	 why[600];	/* "credsStore in /home/u/.docker/config.json" */
};

static void
config_path(char *path, size_t len)
{
	const char *home, *dc = getenv("DOCKER_CONFIG");
	struct passwd *pw;

	if (dc != NULL && dc[0] != '\0') {
		snprintf(path, len, "%s/config.json", dc);
		return;
	}
	home = (pw = getpwuid(getuid())) != NULL ? pw->pw_dir : getenv("HOME");
	snprintf(path, len, "%s/.docker/config.json", home ? home : "/");
}

/*
 * The configuration: an empty object if there is none; NULL if it does
 * not parse (strict: to be rewritten it must load, or it would be lost).
 */
static json_t *
config_load(const char *path, int strict)
{
	json_error_t je;
	json_t *j;

	if (access(path, F_OK) == -1 && errno == ENOENT)
		return json_object();
	j = json_load_file(path, 0, &je);
	if (j != NULL && json_is_object(j))
		return j;
	json_decref(j);
	if (strict)
		die("loading config file %s: %s", path, j == NULL ? je.text :
		    "not a JSON object");
	return NULL;
}

/* Docker's ConvertToHostname: "https://host:5000/v2/" -> "host:5000". */
static void
hostname_of(const char *s, char *out, size_t len)
{
	const char *p = strstr(s, "://");
	size_t n;

	if (p != NULL)
		s = p + 3;
	n = strcspn(s, "/");
	snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), s);
}

/* The key of a registry in config.json: Docker Hub keeps its v1 URL. */
void
cred_server_key(const char *server, char *out, size_t len)
{
	char h[512];

	hostname_of(server ? server : "", h, sizeof(h));
	if (h[0] == '\0' || strcmp(h, "docker.io") == 0 ||
	    strcmp(h, "index.docker.io") == 0 ||
	    strcmp(h, "registry-1.docker.io") == 0)
		snprintf(out, len, "%s", CRED_HUB_KEY);
	else
		snprintf(out, len, "%s", h);
}

/* The registry a reference names, as Docker keys it in config.json. */
void
registry_key(const char *remote, char *out, size_t len)
{
	struct pd_ref ref;
	struct pd_err e;

	out[0] = '\0';
	if (pd_ref_parse(remote, &ref, &e) == -1)
		return;
	if (strcmp(ref.domain, "docker.io") == 0)
		snprintf(out, len, "%s", CRED_HUB_KEY);
	else
		snprintf(out, len, "%s", ref.domain);
}

/* getConfiguredCredentialStore: credHelpers[key], else credsStore. */
static int
helper_for(const json_t *cfg, const char *path, const char *key,
    struct helper *h)
{
	const char *n;

	n = json_string_value(json_object_get(json_object_get(cfg,
	    "credHelpers"), key));
	if (n != NULL)
		snprintf(h->why, sizeof(h->why), "credHelpers[\"%s\"] in %s", key,
		    path);
	else {
		n = json_string_value(json_object_get(cfg, "credsStore"));
		snprintf(h->why, sizeof(h->why), "credsStore in %s", path);
	}
	if (n == NULL || n[0] == '\0')
		return 0;
	if (strchr(n, '/') != NULL || strlen(n) >= sizeof(h->name))
		die("invalid credential helper name \"%s\" (%s)", n, h->why);
	snprintf(h->name, sizeof(h->name), "%s", n);
	return 1;
}

/* The helper program on PATH, as exec.LookPath finds it. */
static void
helper_path(const struct helper *h, char *out, size_t len)
{
	const char *path = getenv("PATH"), *p, *end;
	struct stat st;
	size_t n;

	if (path == NULL)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; ; p = end + 1) {
		end = strchr(p, ':');
		n = end ? (size_t)(end - p) : strlen(p);
		snprintf(out, len, "%.*s/" HELPER_PREFIX "%s", (int)n,
		    n ? p : ".", h->name);
		if (stat(out, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(out, X_OK) == 0)
			return;
		if (end == NULL)
			break;
	}
	die(HELPER_PREFIX "%s not found in PATH (%s)", h->name, h->why);
}

static void
write_all(int fd, const char *s)
{
	size_t n = strlen(s);
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, s, n)) == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return;	/* the helper did not read: its exit says why */
		s += w;
		n -= (size_t)w;
	}
}

/*
 * Run the helper with `verb`, `in` on its stdin; its stdout (trailing
 * white space cut) in *out.  stderr stays the user's.  Returns the exit
 * status (-1: killed).
 */
static int
helper_run(const struct helper *h, const char *verb, const char *in,
    char **out)
{
	char prog[PATH_MAX], *buf;
	int ip[2], op[2], status;
	void (*osig)(int);
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	helper_path(h, prog, sizeof(prog));
	if (pipe2(ip, O_CLOEXEC) == -1 || pipe2(op, O_CLOEXEC) == -1)
		die("pipe: %s", strerror(errno));
	fflush(stdout);
	if ((pid = fork()) == -1)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		if (dup2(ip[0], 0) == -1 || dup2(op[1], 1) == -1)
			_exit(127);
		execl(prog, prog, verb, (char *)NULL);
		fprintf(stderr, "pluginctl: cannot run %s: %s\n", prog,
		    strerror(errno));
		_exit(127);
	}
	close(ip[0]);
	close(op[1]);
	osig = signal(SIGPIPE, SIG_IGN);
	write_all(ip[1], in);
	close(ip[1]);
	signal(SIGPIPE, osig);
	buf = xmalloc(HELPER_OUT_MAX + 1);
	while (len < HELPER_OUT_MAX && ((n = read(op[0], buf + len,
	    HELPER_OUT_MAX - len)) > 0 || (n == -1 && errno == EINTR)))
		if (n > 0)
			len += (size_t)n;
	close(op[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	while (len > 0 && strchr(" \t\r\n", buf[len - 1]) != NULL)
		len--;
	buf[len] = '\0';
	*out = buf;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void __dead
helper_failed(const struct helper *h, const char *what, int st, char *out)
{
	die("error %s credentials with " HELPER_PREFIX "%s - err: %s %d, out: "
	    "`%s`", what, h->name, st == -1 ? "killed, status" : "exit status",
	    st, out);
}

/* `get`: NULL if the helper has none for key. */
static json_t *
helper_get(const struct helper *h, const char *key)
{
	const char *u, *s;
	json_t *j, *res = NULL;
	char *out;
	int st;

	if ((st = helper_run(h, "get", key, &out)) != 0) {
		if (strcmp(out, NOT_FOUND) == 0) {
			free(out);
			return NULL;
		}
		helper_failed(h, "getting", st, out);
	}
	j = json_loads(out, 0, NULL);
	explicit_bzero(out, strlen(out));
	free(out);
	u = json_string_value(json_object_get(j, "Username"));
	s = json_string_value(json_object_get(j, "Secret"));
	if (!json_is_object(j) || s == NULL)
		die(HELPER_PREFIX "%s get: the answer is not "
		    "{\"Username\", \"Secret\"} JSON", h->name);
	if (u != NULL && strcmp(u, TOKEN_USER) == 0)
		res = json_pack("{s:s}", "identitytoken", s);
	else
		res = json_pack("{s:s, s:s}", "username", u ? u : "",
		    "password", s);
	json_decref(j);
	return res;
}

/* Does the auths key k name the registry `want` (a config.json key)? */
static int
same_registry(const char *k, const char *want)
{
	char a[512], b[512];

	if (strcmp(k, want) == 0)
		return 1;
	hostname_of(k, a, sizeof(a));
	hostname_of(want, b, sizeof(b));
	return strcmp(a, b) == 0;
}

/* The file store's entry: identity token, "auth", or username/password. */
static json_t *
auths_get(const json_t *cfg, const char *key)
{
	const char *k, *b64;
	json_t *a, *v, *out = NULL;
	char *dec, *colon;
	size_t n;

	json_object_foreach(json_object_get(cfg, "auths"), k, a) {
		if (!same_registry(k, key))
			continue;
		if (json_is_string(v = json_object_get(a, "identitytoken")) &&
		    json_string_length(v) > 0)
			return json_pack("{s:O}", "identitytoken", v);
		if ((b64 = json_string_value(json_object_get(a, "auth"))) != NULL &&
		    b64[0] != '\0') {
			n = strlen(b64);
			dec = xcalloc(1, n + 4);
			if (EVP_DecodeBlock((unsigned char *)dec,
			    (const unsigned char *)b64, (int)n) > 0 &&
			    (colon = strchr(dec, ':')) != NULL) {
				*colon = '\0';
				out = json_pack("{s:s, s:s}", "username", dec,
				    "password", colon + 1);
			}
			explicit_bzero(dec, n + 4);
			free(dec);
			return out;
		}
		if (json_is_string(json_object_get(a, "username")))
			return json_pack("{s:O, s:O}", "username",
			    json_object_get(a, "username"), "password",
			    json_object_get(a, "password") ? json_object_get(a,
			    "password") : json_string(""));
		return NULL;
	}
	return NULL;
}

/*
 * The stored credentials for a config.json key, as the control verbs
 * take them ({"username","password"} or {"identitytoken"}), or NULL.
 * An unreadable configuration means none; a failing helper is fatal.
 */
json_t *
cred_lookup(const char *key)
{
	struct helper h;
	char path[4096];
	json_t *cfg, *out;

	config_path(path, sizeof(path));
	if ((cfg = config_load(path, 0)) == NULL)
		return NULL;
	if (helper_for(cfg, path, key, &h))
		out = helper_get(&h, key);
	else
		out = auths_get(cfg, key);
	json_decref(cfg);
	return out;
}

/*
 * Write the configuration back as docker does: a temporary file next to
 * it (through a symlink, to its target), mode 0600, fsync, rename.
 */
static void
config_save(const char *path, json_t *cfg)
{
	char real[PATH_MAX], tmp[PATH_MAX + 16], dir[PATH_MAX], buf[PATH_MAX];
	char *s;
	int fd;

	if (realpath(path, real) == NULL)
		snprintf(real, sizeof(real), "%s", path);
	snprintf(buf, sizeof(buf), "%s", real);
	snprintf(dir, sizeof(dir), "%s", dirname(buf));
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		die("cannot create %s: %s", dir, strerror(errno));
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", real);
	if ((fd = mkstemp(tmp)) == -1)
		die("cannot save %s: %s", real, strerror(errno));
	s = json_dumps(cfg, JSON_INDENT(8) | JSON_PRESERVE_ORDER);
	if (s == NULL || fchmod(fd, 0600) == -1 ||
	    pd_write_full(fd, s, strlen(s)) == -1 ||
	    pd_write_full(fd, "\n", 1) == -1 || fsync(fd) == -1 ||
	    close(fd) == -1 || rename(tmp, real) == -1) {
		(void)unlink(tmp);
		die("cannot save %s: %s", real, strerror(errno));
	}
	if (s != NULL)
		explicit_bzero(s, strlen(s));
	free(s);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(fd);
		close(fd);
	}
}

static json_t *
auths_of(json_t *cfg)
{
	json_t *a = json_object_get(cfg, "auths");

	if (!json_is_object(a)) {
		a = json_object();
		json_object_set_new(cfg, "auths", a);
	}
	return a;
}

static char *
b64_pair(const char *user, const char *pass)
{
	size_t n = strlen(user) + 1 + strlen(pass);
	char *raw = xmalloc(n + 1), *b64 = xmalloc(4 * ((n + 2) / 3) + 1);

	snprintf(raw, n + 1, "%s:%s", user, pass);
	EVP_EncodeBlock((unsigned char *)b64, (unsigned char *)raw, (int)n);
	explicit_bzero(raw, n);
	free(raw);
	return b64;
}

/*
 * Save what `docker login` saves: through the configured helper (`store`,
 * then an empty auths[key] entry, as docker's native store keeps one),
 * else auths[key].auth = base64(user:pass), plus the identity token the
 * registry issued, which then replaces the password.
 */
void
cred_save(const char *key, const char *user, const char *pass,
    const char *idtoken)
{
	char path[4096], *in, *out, *b64;
	json_t *cfg, *entry, *c;
	struct helper h;
	int st;

	config_path(path, sizeof(path));
	cfg = config_load(path, 1);
	entry = json_object();
	if (helper_for(cfg, path, key, &h)) {
		c = json_pack("{s:s, s:s, s:s}", "ServerURL", key, "Username",
		    idtoken[0] ? TOKEN_USER : user, "Secret", idtoken[0] ?
		    idtoken : pass);
		if (c == NULL || (in = json_dumps(c, JSON_COMPACT)) == NULL)
			die("credentials are not valid UTF-8");
		json_decref(c);
		st = helper_run(&h, "store", in, &out);
		explicit_bzero(in, strlen(in));
		free(in);
		if (st != 0)
			helper_failed(&h, "storing", st, out);
		free(out);
	} else {
		b64 = b64_pair(user, idtoken[0] ? "" : pass);
		json_object_set_new(entry, "auth", json_string(b64));
		explicit_bzero(b64, strlen(b64));
		free(b64);
		if (idtoken[0])
			json_object_set_new(entry, "identitytoken",
			    json_string(idtoken));
	}
	json_object_set_new(auths_of(cfg), key, entry);
	config_save(path, cfg);
	json_decref(cfg);
}

/*
 * `docker logout`: "Not logged in" without an auths entry (its check
 * too); else erase through the helper and drop the entries under the
 * key's old spellings.  Returns 1 if not logged in.
 */
int
cred_erase(const char *key)
{
	char path[4096], alt[3][600], *out;
	json_t *cfg, *a;
	struct helper h;
	int i, found = 0, st;

	config_path(path, sizeof(path));
	cfg = config_load(path, 1);
	a = json_object_get(cfg, "auths");
	snprintf(alt[0], sizeof(alt[0]), "%s", key);
	snprintf(alt[1], sizeof(alt[1]), "http://%s", key);
	snprintf(alt[2], sizeof(alt[2]), "https://%s", key);
	for (i = 0; i < 3; i++)
		found |= json_object_get(a, alt[i]) != NULL;
	if (!found) {
		json_decref(cfg);
		return 1;
	}
	if (helper_for(cfg, path, key, &h)) {
		if ((st = helper_run(&h, "erase", key, &out)) != 0)
			fprintf(stderr, "WARNING: could not erase credentials:\n"
			    "%s: error erasing credentials with " HELPER_PREFIX
			    "%s - err: exit status %d, out: `%s`\n", tsafe(key),
			    tsafe(h.name), st, tsafe(out));
		free(out);
	}
	for (i = 0; i < 3; i++)
		json_object_del(a, alt[i]);
	config_save(path, cfg);
	json_decref(cfg);
	return 0;
}

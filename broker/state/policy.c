/*
 * The trust policy (docs/POLICY.md).  An administrator's file names, per
 * scope (a registry, a repository prefix ending in "/", or a repository),
 * a rule (reject, accept, signed) and an optional ceiling: the most a
 * plugin of that scope may be granted.  The most specific scope wins, as
 * in containers-policy.json(5); nothing is merged from a wider one.
 *
 * The file is root's configuration, not a peer's bytes, so the broker
 * decodes it itself (as conf.c does), but strictly: an unknown key, a
 * wrong type or a scope that is not a normalized name is an error that
 * names the file and the JSON path.  Only the validated document is
 * kept; the checks read it.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "state/state.h"
#include "caps.h"
#include "plugincfg.h"
#include "ref.h"
#include "util.h"

/* ---- the decoder ---- */

struct dec {
	const char	*file;
	struct pd_err	*e;
};

/* "policy FILE: PATH: message"; PATH "" for the top level. */
static int __attribute__((format(printf, 3, 4)))
dec_err(const struct dec *d, const char *jpath, const char *fmt, ...)
{
	char msg[PD_ERR_MSGLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return pd_errf(d->e, PD_E_INVAL, "policy %s: %s%s%s", d->file, jpath,
	    jpath[0] ? ": " : "", msg);
}

/* s for a message: at most 200 bytes, control bytes and '"' as '?'. */
static void
shown(const char *s, char *out, size_t len)
{
	size_t i;

	snprintf(out, len < 201 ? len : 201, "%s", s);
	for (i = 0; out[i] != '\0'; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f ||
		    out[i] == '"')
			out[i] = '?';
}

/*
 * A clean absolute path, as docs/GRANTS.md "Paths" has them: no "." or
 * ".." component, no "//", no trailing "/" (but "/" itself).
 */
static int
clean_path(const char *s)
{
	size_t n = strlen(s);
	const char *p;

	if (s[0] != '/' || n > 4096)
		return 0;
	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return 0;
	if (n == 1)
		return 1;
	if (s[n - 1] == '/' || strstr(s, "//") != NULL ||
	    strstr(s, "/./") != NULL || strstr(s, "/../") != NULL)
		return 0;
	return !(n >= 2 && strcmp(s + n - 2, "/.") == 0) &&
	    !(n >= 3 && strcmp(s + n - 3, "/..") == 0);
}

/* Keys of obj outside known[] (NULL-terminated) are errors. */
static int
dec_keys(const struct dec *d, const json_t *obj, const char *jpath,
    const char *const *known)
{
	const char *k;
	char name[201];
	json_t *v;
	size_t i;

	json_object_foreach((json_t *)(uintptr_t)obj, k, v) {
		for (i = 0; known[i] != NULL; i++)
			if (strcmp(k, known[i]) == 0)
				break;
		if (known[i] == NULL) {
			shown(k, name, sizeof(name));
			return dec_err(d, jpath, "unknown key \"%s\"", name);
		}
	}
	return 0;
}

static int
dec_bool(const struct dec *d, const json_t *obj, const char *key,
    const char *jpath)
{
	const json_t *v = json_object_get(obj, key);

	if (v != NULL && !json_is_boolean(v))
		return dec_err(d, jpath, "\"%s\" must be true or false", key);
	return 0;
}

enum strkind { S_CAP, S_PATH, S_NAME };

/* An array of strings, each a capability, a clean path or a name. */
static int
dec_strs(const struct dec *d, const json_t *obj, const char *key,
    const char *jpath, enum strkind kind, int nonempty)
{
	const json_t *a = json_object_get(obj, key), *v;
	char at[600], s[201];
	size_t i;

	if (a == NULL)
		return 0;
	snprintf(at, sizeof(at), "%.400s%s%s", jpath, jpath[0] ? "." : "", key);
	if (!json_is_array(a) || (nonempty && json_array_size(a) == 0))
		return dec_err(d, at, "must be %sarray of %s", nonempty ?
		    "a non-empty " : "an ", kind == S_CAP ? "capability names" :
		    kind == S_PATH ? "absolute paths" : "strings");
	json_array_foreach(a, i, v) {
		snprintf(at, sizeof(at), "%.400s%s%s[%zu]", jpath, jpath[0] ? "." : "",
		    key, i);
		if (!json_is_string(v))
			return dec_err(d, at, "must be a string");
		shown(json_string_value(v), s, sizeof(s));
		if (kind == S_CAP && pd_cap_number(json_string_value(v)) < 0)
			return dec_err(d, at, "unknown capability \"%s\"", s);
		if (kind == S_PATH && !clean_path(json_string_value(v)))
			return dec_err(d, at, "\"%s\" must be a clean absolute path "
			    "(no \".\" or \"..\" component, no \"//\", no trailing "
			    "\"/\")", s);
		if (kind == S_NAME && (json_string_length(v) == 0 ||
		    json_string_length(v) > 64 || strcmp(s, json_string_value(v))))
			return dec_err(d, at, "must be a network type name (1 to 64 "
			    "bytes, no control characters)");
	}
	return 0;
}

static int
dec_mounts(const struct dec *d, const json_t *ceil, const char *jpath)
{
	static const char *const known[] = { "source", "rw", NULL };
	const json_t *a = json_object_get(ceil, "mounts"), *m;
	char at[600], s[201];
	size_t i;

	if (a == NULL)
		return 0;
	snprintf(at, sizeof(at), "%.400s.mounts", jpath);
	if (!json_is_array(a))
		return dec_err(d, at, "must be an array of {\"source\": PATH, "
		    "\"rw\": BOOL}");
	json_array_foreach(a, i, m) {
		snprintf(at, sizeof(at), "%.400s.mounts[%zu]", jpath, i);
		if (!json_is_object(m))
			return dec_err(d, at, "must be an object {\"source\": PATH, "
			    "\"rw\": BOOL}");
		if (dec_keys(d, m, at, known) == -1 || dec_bool(d, m, "rw", at) == -1)
			return -1;
		if (!json_is_string(json_object_get(m, "source")))
			return dec_err(d, at, "\"source\" must be an absolute path");
		shown(json_string_value(json_object_get(m, "source")), s, sizeof(s));
		if (!clean_path(json_string_value(json_object_get(m, "source"))))
			return dec_err(d, at, "\"source\" \"%s\" must be a clean "
			    "absolute path (no \".\" or \"..\" component, no \"//\", no "
			    "trailing \"/\")", s);
	}
	return 0;
}

static int
dec_ceiling(const struct dec *d, const json_t *ceil, const char *jpath)
{
	static const char *const known[] = { "capabilities", "mounts",
	    "devices", "allowAllDevices", "network", "hostPid", "hostIpc",
	    "propagatedMount", NULL };
	static const char *const bools[] = { "allowAllDevices", "hostPid",
	    "hostIpc", "propagatedMount", NULL };
	size_t i;

	if (!json_is_object(ceil))
		return dec_err(d, jpath, "must be an object");
	if (dec_keys(d, ceil, jpath, known) == -1)
		return -1;
	for (i = 0; bools[i] != NULL; i++)
		if (dec_bool(d, ceil, bools[i], jpath) == -1)
			return -1;
	if (dec_strs(d, ceil, "capabilities", jpath, S_CAP, 0) == -1 ||
	    dec_strs(d, ceil, "devices", jpath, S_PATH, 0) == -1 ||
	    dec_strs(d, ceil, "network", jpath, S_NAME, 0) == -1)
		return -1;
	return dec_mounts(d, ceil, jpath);
}

/* {"rule": reject|accept|signed, "keys": [...], "ceiling": {...}} */
static int
dec_rule(const struct dec *d, const json_t *r, const char *jpath)
{
	static const char *const known[] = { "rule", "keys", "ceiling", NULL };
	const char *rule;
	char at[600];
	int signed_;

	if (!json_is_object(r))
		return dec_err(d, jpath, "must be an object {\"rule\": ...}");
	if (dec_keys(d, r, jpath, known) == -1)
		return -1;
	snprintf(at, sizeof(at), "%.400s.rule", jpath);
	rule = json_string_value(json_object_get(r, "rule"));
	if (json_object_get(r, "rule") == NULL)
		return dec_err(d, at, "missing: reject, accept or signed");
	if (rule == NULL || (strcmp(rule, "reject") != 0 &&
	    strcmp(rule, "accept") != 0 && strcmp(rule, "signed") != 0))
		return dec_err(d, at, "must be \"reject\", \"accept\" or \"signed\"");
	signed_ = strcmp(rule, "signed") == 0;
	snprintf(at, sizeof(at), "%.400s.keys", jpath);
	if (signed_ && json_object_get(r, "keys") == NULL)
		return dec_err(d, at, "missing: a signed rule needs the public key "
		    "files (PEM) that may sign");
	if (!signed_ && json_object_get(r, "keys") != NULL)
		return dec_err(d, at, "only a signed rule has keys");
	if (dec_strs(d, r, "keys", jpath, S_PATH, 1) == -1)
		return -1;
	snprintf(at, sizeof(at), "%.400s.ceiling", jpath);
	return json_object_get(r, "ceiling") == NULL ? 0 :
	    dec_ceiling(d, json_object_get(r, "ceiling"), at);
}

/* A registry host as written, the domain a reference to it parses to. */
static int
is_registry(const char *host)
{
	char ref[600];
	struct pd_ref r;
	struct pd_err ie;

	if (snprintf(ref, sizeof(ref), "%s/a/x", host) >= (int)sizeof(ref) ||
	    pd_ref_parse(ref, &r, &ie) == -1)
		return 0;
	return strcmp(r.domain, host) == 0 && strcmp(r.path, "a/x") == 0;
}

/*
 * A repository as written: 1 if it is a normalized name without tag or
 * digest; 0 if not, with norm the name it normalizes to ("" if it does
 * not parse or has a tag or digest).
 */
static int
is_repository(const char *repo, char *norm, size_t len)
{
	struct pd_ref r;
	struct pd_err ie;

	norm[0] = '\0';
	if (pd_ref_parse(repo, &r, &ie) == -1 || r.tag[0] != '\0' ||
	    r.digest[0] != '\0')
		return 0;
	snprintf(norm, len, "%s/%s", r.domain, r.path);
	return strcmp(norm, repo) == 0;
}

/*
 * A scope: "host[:port]" (a registry), "host[:port]/" (the same),
 * "host/a/b/" (a repository prefix) or "host/a/b" (a repository), each
 * in the normalized form a reference takes (docker.io/library/x, not x).
 */
static int
dec_scope(const struct dec *d, const char *scope, const char *jpath)
{
	char body[600], norm[700], s[201];
	size_t n = strlen(scope);
	int prefix;

	if (n == 0 || n >= sizeof(body))
		return dec_err(d, jpath, "a scope is a registry, a repository "
		    "prefix ending in \"/\" or a repository");
	prefix = scope[n - 1] == '/';
	snprintf(body, sizeof(body), "%.*s", (int)(prefix ? n - 1 : n), scope);
	if (strchr(body, '/') == NULL) {
		if (!is_registry(body))
			return dec_err(d, jpath, "not a registry host (one with a "
			    "\".\" or a \":\" in its name, or localhost); a "
			    "repository is written in full, e.g. "
			    "\"docker.io/library/busybox\"");
		return 0;
	}
	/* A prefix is judged with a last component after it: docker.io/library/ */
	if (prefix)
		snprintf(body, sizeof(body), "%.*sx", (int)n, scope);
	if (is_repository(body, norm, sizeof(norm)))
		return 0;
	if (norm[0] != '\0') {
		if (prefix)
			norm[strlen(norm) - 1] = '\0';
		shown(norm, s, sizeof(s));
		return dec_err(d, jpath, "not a normalized repository name: "
		    "write \"%s\"", s);
	}
	return dec_err(d, jpath, "not a repository name (a scope names no tag "
	    "or digest, and is written in full, e.g. "
	    "\"docker.io/library/busybox\")");
}

/* "h" and "h/" are one scope. */
static int
dec_scopes(const struct dec *d, const json_t *scopes)
{
	char at[700], s[201], twin[600];
	const char *k;
	json_t *v;

	if (!json_is_object(scopes))
		return dec_err(d, "scopes", "must be an object of scope: rule");
	json_object_foreach((json_t *)(uintptr_t)scopes, k, v) {
		shown(k, s, sizeof(s));
		snprintf(at, sizeof(at), "scopes[\"%s\"]", s);
		if (dec_scope(d, k, at) == -1 || dec_rule(d, v, at) == -1)
			return -1;
		if (strchr(k, '/') == NULL && snprintf(twin, sizeof(twin), "%s/",
		    k) < (int)sizeof(twin) && json_object_get(scopes, twin) != NULL)
			return dec_err(d, at, "the same scope as scopes[\"%s/\"]", s);
	}
	return 0;
}

/*
 * Decode and check a policy document; file names it in errors.  The
 * result is the document itself, every key known and every value of
 * its type; NULL with e set.
 */
json_t *
policy_decode(const char *buf, size_t len, const char *file, struct pd_err *e)
{
	static const char *const known[] = { "default", "scopes", NULL };
	struct dec d = { file, e };
	json_error_t jerr;
	json_t *doc;

	if (len > PD_POLICY_MAX) {
		pd_errf(e, PD_E_INVAL, "policy %s: larger than %d bytes", file,
		    PD_POLICY_MAX);
		return NULL;
	}
	if ((doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		pd_errf(e, PD_E_INVAL, "policy %s: line %d column %d: %s", file,
		    jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(doc))
		dec_err(&d, "", "not a JSON object");
	else if (dec_keys(&d, doc, "", known) == 0) {
		if (json_object_get(doc, "default") == NULL)
			dec_err(&d, "default", "missing: the rule for a reference no "
			    "scope matches, e.g. {\"rule\": \"accept\"}");
		else if (dec_rule(&d, json_object_get(doc, "default"),
		    "default") == 0 && (json_object_get(doc, "scopes") == NULL ||
		    dec_scopes(&d, json_object_get(doc, "scopes")) == 0))
			return doc;
	}
	json_decref(doc);
	return NULL;
}

/* ---- the checks ---- */

/*
 * How specifically scope matches repository repo of registry domain: a
 * repository scope beats every prefix, a longer prefix a shorter one,
 * and a registry counts as the prefix "host/".  -1: no match.
 */
static long
scope_weight(const char *scope, const char *domain, const char *repo)
{
	size_t n = strlen(scope);

	if (strchr(scope, '/') == NULL)
		return strcmp(scope, domain) == 0 ? (long)n + 1 : -1;
	if (scope[n - 1] == '/')
		return strncmp(repo, scope, n) == 0 ? (long)n : -1;
	return strcmp(scope, repo) == 0 ? 1L << 30 : -1;
}

/* The rule for repo: the most specific scope's, else the default. */
static const json_t *
rule_for(const json_t *pol, const char *domain, const char *repo,
    const char **name)
{
	const json_t *best = json_object_get(pol, "default"), *v;
	long w, bw = -1;
	const char *k;

	*name = "default";
	json_object_foreach((json_t *)(uintptr_t)json_object_get(pol, "scopes"),
	    k, v)
		if ((w = scope_weight(k, domain, repo)) > bw) {
			bw = w;
			best = v;
			*name = k;
		}
	return best;
}

static int
has_cap(const json_t *caps, int n)
{
	const json_t *v;
	size_t i;

	json_array_foreach(caps, i, v)
		if (pd_cap_number(json_string_value(v)) == n)
			return 1;
	return 0;
}

/* path is prefix or below it ("/" covers every path). */
static int
under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	if (strcmp(prefix, "/") == 0)
		return path[0] == '/';
	return strncmp(path, prefix, n) == 0 && (path[n] == '\0' ||
	    path[n] == '/');
}

static int
has_str(const json_t *a, const char *s)
{
	const json_t *v;
	size_t i;

	json_array_foreach(a, i, v)
		if (strcmp(json_string_value(v), s) == 0)
			return 1;
	return 0;
}

static int __attribute__((format(printf, 3, 4)))
ceil_err(struct pd_err *e, const char *scope, const char *fmt, ...)
{
	char what[PD_ERR_MSGLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return pd_errf(e, PD_E_POLICY, "policy: %s exceeds the ceiling for %s",
	    what, scope);
}

/* A bind mount's source within the ceiling's mounts, rw only if allowed. */
static int
ceil_mounts(const json_t *ceil, const json_t *cfg, const char *scope,
    struct pd_err *e)
{
	const json_t *m, *c, *opts;
	json_t *eff;
	const char *src;
	char what[300];
	size_t i, j;
	int rw, fits;

	json_array_foreach(json_object_get(cfg, "Mounts"), i, m) {
		snprintf(what, sizeof(what), "mount (Mounts[%zu])", i);
		if ((eff = pd_mount_effective(m, json_object_get(m, "Source"), what,
		    e)) == NULL)
			return -1;
		src = json_string_value(json_object_get(m, "Source"));
		opts = json_object_get(eff, "options");
		rw = !(has_str(opts, "ro") && !has_str(opts, "rw"));
		fits = src == NULL || strcmp(json_string_value(json_object_get(eff,
		    "type")), "bind") != 0;
		json_array_foreach(json_object_get(ceil, "mounts"), j, c)
			if (!fits && under(src, json_string_value(json_object_get(c,
			    "source"))) && (!rw || json_is_true(json_object_get(c,
			    "rw"))))
				fits = 1;
		json_decref(eff);
		if (!fits)
			return ceil_err(e, scope, "%smount source %.200s", rw ?
			    "read-write " : "", src);
	}
	return 0;
}

/* Every privilege of cfg within ceil (docs/POLICY.md, "Ceilings"). */
static int
ceil_check(const json_t *ceil, const json_t *cfg, const char *scope,
    struct pd_err *e)
{
	const json_t *lin = json_object_get(cfg, "Linux"), *v, *dv;
	const char *s;
	size_t i, j;
	int n, fits;

	json_array_foreach(json_object_get(lin, "Capabilities"), i, v) {
		n = pd_cap_number(json_string_value(v) ? json_string_value(v) : "");
		if (n < 0 || !has_cap(json_object_get(ceil, "capabilities"), n))
			return ceil_err(e, scope, "capability CAP_%.60s", n < 0 ?
			    "(unknown)" : pd_cap_name(n));
	}
	if (json_is_true(json_object_get(lin, "AllowAllDevices")) &&
	    !json_is_true(json_object_get(ceil, "allowAllDevices")))
		return ceil_err(e, scope, "allow-all-devices");
	json_array_foreach(json_object_get(lin, "Devices"), i, v) {
		if ((s = json_string_value(json_object_get(v, "Path"))) == NULL)
			continue;
		fits = 0;
		json_array_foreach(json_object_get(ceil, "devices"), j, dv)
			fits |= under(s, json_string_value(dv));
		if (!fits)
			return ceil_err(e, scope, "device %.200s", s);
	}
	s = json_string_value(json_object_get(json_object_get(cfg, "Network"),
	    "Type"));
	if (s != NULL && s[0] != '\0' && strcmp(s, "bridge") != 0 &&
	    !has_str(json_object_get(ceil, "network"), s))
		return ceil_err(e, scope, "network %.64s", s);
	if (json_is_true(json_object_get(cfg, "PidHost")) &&
	    !json_is_true(json_object_get(ceil, "hostPid")))
		return ceil_err(e, scope, "host pid namespace");
	if (json_is_true(json_object_get(cfg, "IpcHost")) &&
	    !json_is_true(json_object_get(ceil, "hostIpc")))
		return ceil_err(e, scope, "host ipc namespace");
	s = json_string_value(json_object_get(cfg, "PropagatedMount"));
	if (s != NULL && s[0] != '\0' &&
	    !json_is_true(json_object_get(ceil, "propagatedMount")))
		return ceil_err(e, scope, "propagated mount %.200s", s);
	return ceil_mounts(ceil, cfg, scope, e);
}

/* "policy: S requires a signature by K1 [or K2...]" */
static void
signed_what(const json_t *rule, const char *scope, char *out, size_t len)
{
	const json_t *k;
	size_t i, n;

	snprintf(out, len, "policy: %s requires a signature by ", scope);
	json_array_foreach(json_object_get(rule, "keys"), i, k) {
		n = strlen(out);
		snprintf(out + n, len - n, "%s%s", i ? " or " : "",
		    json_string_value(k));
	}
}

/*
 * A signed rule's check: sig "" passes (the caller verifies before
 * anything is stored), a key path passes if the rule lists it.
 */
static int
signed_check(const json_t *rule, const char *scope, const char *sig,
    struct pd_err *e)
{
	char what[PD_ERR_MSGLEN];

	if (sig != NULL && (sig[0] == '\0' ||
	    has_str(json_object_get(rule, "keys"), sig)))
		return 0;
	signed_what(rule, scope, what, sizeof(what) - 100);
	return pd_errf(e, PD_E_POLICY, "%s: no signature by it was verified "
	    "when the plugin was installed", what);
}

/*
 * Whether policy pol (NULL: none, everything passes) accepts reference
 * ref and, with cfg (NULL: the rule only), the plugin config cfg within
 * the ceiling.  sig is what a signed rule needs: NULL, no signature was
 * verified; "", the caller verifies it (policy_signed) before anything
 * is stored; else the key file a verified signature is by.  0, or -1
 * with e set (PD_E_POLICY) naming the scope.
 */
int
policy_judge(const json_t *pol, const char *ref, const json_t *cfg,
    const char *sig, struct pd_err *e)
{
	char repo[600], full[700], scope[201];
	const json_t *rule, *ceil;
	const char *name, *kind;
	struct pd_ref r;
	struct pd_err ie;

	if (pol == NULL)
		return 0;
	if (ref == NULL || pd_ref_parse(ref, &r, &ie) == -1)
		return pd_errf(e, PD_E_POLICY, "policy: the reference \"%.200s\" "
		    "does not parse, so no scope can be matched: %s", ref ? ref : "",
		    ref ? ie.msg : "none");
	pd_ref_tag_default(&r);
	snprintf(repo, sizeof(repo), "%s/%s", r.domain, r.path);
	if (pd_ref_full(&r, full, sizeof(full)) == -1)
		snprintf(full, sizeof(full), "%s", repo);
	rule = rule_for(pol, r.domain, repo, &name);
	shown(name, scope, sizeof(scope));
	kind = json_string_value(json_object_get(rule, "rule"));
	if (strcmp(kind, "reject") == 0)
		return pd_errf(e, PD_E_POLICY, "policy: %s rejects %s", scope, full);
	if (strcmp(kind, "signed") == 0 && signed_check(rule, scope, sig,
	    e) == -1)
		return -1;
	if (cfg == NULL || (ceil = json_object_get(rule, "ceiling")) == NULL)
		return 0;
	return ceil_check(ceil, cfg, scope, e);
}

/* ---- the policy in force ---- */

static pthread_mutex_t	 pol_mtx = PTHREAD_MUTEX_INITIALIZER;
static json_t		*pol_doc;	/* NULL: no file, accept all */
static char		*pol_file;

/*
 * The file's bytes, if root owns it and no one else may write it (it
 * decides what plugins may do as root).  *buf NULL: there is no file.
 */
static int
policy_read(const char *path, char **buf, size_t *len, struct pd_err *e)
{
	struct stat st;
	ssize_t n;
	int fd;

	*buf = NULL;
	*len = 0;
	/* Safety: read-only open of root's configuration file. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		return errno == ENOENT ? 0 : pd_errno(e, PD_E_INVAL, "policy %s",
		    path);
	if (fstat(fd, &st) == -1) {
		close(fd);
		return pd_errno(e, PD_E_INVAL, "policy %s", path);
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022)) {
		close(fd);
		return pd_errf(e, PD_E_INVAL, "policy %s: must be a regular file "
		    "owned by root and writable by no one else (it is %s, uid %u, "
		    "mode %04o)", path, S_ISREG(st.st_mode) ? "a file" :
		    "not a regular file", (unsigned)st.st_uid,
		    (unsigned)(st.st_mode & 07777));
	}
	if (st.st_size > PD_POLICY_MAX) {
		close(fd);
		return pd_errf(e, PD_E_INVAL, "policy %s: larger than %d bytes",
		    path, PD_POLICY_MAX);
	}
	*buf = xmalloc((size_t)st.st_size + 1);
	n = pd_read_full(fd, *buf, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		free(*buf);
		*buf = NULL;
		return pd_errf(e, PD_E_INVAL, "policy %s: short read", path);
	}
	*len = (size_t)n;
	if (n == 0) {
		free(*buf);
		*buf = NULL;
		return pd_errf(e, PD_E_INVAL, "policy %s: empty file (remove it "
		    "to accept every plugin)", path);
	}
	return 0;
}

/*
 * Load path as the policy in force (at start, and again on SIGHUP).  A
 * missing file means no policy.  On error the policy in force stays.
 */
int
policy_load(const char *path, struct pd_err *e)
{
	json_t *doc = NULL, *old;
	char *buf, *oldfile;
	size_t len;

	if (policy_read(path, &buf, &len, e) == -1)
		return -1;
	if (buf != NULL) {
		doc = policy_decode(buf, len, path, e);
		free(buf);
		if (doc == NULL)
			return -1;
	}
	pthread_mutex_lock(&pol_mtx);
	old = pol_doc;
	oldfile = pol_file;
	pol_doc = doc;
	pol_file = xstrdup(path);
	pthread_mutex_unlock(&pol_mtx);
	json_decref(old);
	free(oldfile);
	return 0;
}

/* For `info`: {File, Present, Default, Scopes}. */
json_t *
policy_info(void)
{
	json_t *j;

	pthread_mutex_lock(&pol_mtx);
	j = json_pack("{s:s?, s:b}", "File", pol_file, "Present",
	    pol_doc != NULL);
	if (pol_doc != NULL) {
		json_object_set_new(j, "Default", json_deep_copy(json_object_get(
		    pol_doc, "default")));
		json_object_set_new(j, "Scopes", json_object_get(pol_doc, "scopes") ?
		    json_deep_copy(json_object_get(pol_doc, "scopes")) :
		    json_object());
	}
	pthread_mutex_unlock(&pol_mtx);
	return j;
}

static json_t *
policy_doc(void)
{
	json_t *pol;

	pthread_mutex_lock(&pol_mtx);
	pol = json_incref(pol_doc);
	pthread_mutex_unlock(&pol_mtx);
	return pol;
}

/*
 * policy_judge against the policy in force, a signed rule's signature
 * being the caller's to verify next (policy_signed).
 */
int
policy_check(const char *ref, const json_t *cfg, struct pd_err *e)
{
	json_t *pol = policy_doc();
	int rc;

	rc = policy_judge(pol, ref, cfg, "", e);
	json_decref(pol);
	return rc;
}

/*
 * A plugin object ({PluginReference, Config, PluginSignature, ...})
 * against the policy: a signed rule wants the key that verified its
 * signature at install or upgrade (PluginSignature.Key) among its keys.
 */
int
policy_check_plugin(const json_t *pobj, struct pd_err *e)
{
	json_t *pol = policy_doc();
	int rc;

	rc = policy_judge(pol, json_string_value(json_object_get(pobj,
	    "PluginReference")), json_object_get(pobj, "Config"),
	    json_string_value(json_object_get(json_object_get(pobj,
	    "PluginSignature"), "Key")), e);
	json_decref(pol);
	return rc;
}

/*
 * Whether ref's rule in force is signed: 1 with *keys (the rule's key
 * files, the caller's to decref) and what ("policy: S requires a
 * signature by K", the start of every refusal); else 0.
 */
int
policy_signed(const char *ref, json_t **keys, char *what, size_t len)
{
	char repo[600], scope[201];
	const json_t *rule;
	const char *name;
	struct pd_ref r;
	struct pd_err ie;
	json_t *pol = policy_doc();
	int rc = 0;

	*keys = NULL;
	if (pol != NULL && ref != NULL && pd_ref_parse(ref, &r, &ie) == 0) {
		snprintf(repo, sizeof(repo), "%s/%s", r.domain, r.path);
		rule = rule_for(pol, r.domain, repo, &name);
		shown(name, scope, sizeof(scope));
		if (strcmp(json_string_value(json_object_get(rule, "rule")),
		    "signed") == 0) {
			*keys = json_deep_copy(json_object_get(rule, "keys"));
			signed_what(rule, scope, what, len);
			rc = 1;
		}
	}
	json_decref(pol);
	return rc;
}

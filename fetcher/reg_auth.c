/*
 * Registry client: authentication.  The token cache, the Bearer token
 * request (docs/FETCHER.md, "Authentication") and Basic credentials.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "digest.h"
#include "error.h"
#include "http_status.h"
#include "log.h"
#include "proto.h"
#include "registry.h"
#include "reg_impl.h"
#include "util.h"
#include "wwwauth.h"

void
reg_token_free(struct token *t)
{
	free(t->key);
	if (t->value != NULL)
		explicit_bzero(t->value, strlen(t->value));
	free(t->value);
	free(t);
}

static struct token *
reg_token_lookup(struct reg_client *c, const char *key)
{
	struct token *t, **tp;
	uint64_t now = pd_now_ms();

	for (tp = &c->tokens; (t = *tp) != NULL; ) {
		if (t->expires <= now) {
			*tp = t->next;
			reg_token_free(t);
			continue;
		}
		if (strcmp(t->key, key) == 0)
			return t;
		tp = &t->next;
	}
	return NULL;
}

static void
reg_token_drop(struct reg_client *c, const char *key)
{
	struct token *t, **tp;

	for (tp = &c->tokens; (t = *tp) != NULL; tp = &t->next)
		if (strcmp(t->key, key) == 0) {
			*tp = t->next;
			reg_token_free(t);
			return;
		}
}

static void
token_store(struct reg_client *c, const char *key, const char *value, long ttl)
{
	struct token *t;

	reg_token_drop(c, key);
	t = xcalloc(1, sizeof(*t));
	t->key = xstrdup(key);
	t->value = xstrdup(value);
	/* Renew a little early so a token never expires in flight. */
	t->expires = pd_now_ms() + (uint64_t)(ttl > 10 ? ttl - 5 : ttl) * 1000;
	t->next = c->tokens;
	c->tokens = t;
}

static int
reg_basic_known(struct reg_client *c, const char *origin)
{
	size_t i;

	for (i = 0; i < c->nbasic; i++)
		if (strcmp(c->basic[i], origin) == 0)
			return 1;
	return 0;
}

static void
basic_remember(struct reg_client *c, const char *origin)
{
	if (reg_basic_known(c, origin) || c->nbasic == sizeof(c->basic) /
	    sizeof(c->basic[0]))
		return;
	snprintf(c->basic[c->nbasic++], ORIGIN_MAX, "%s", origin);
}

static int
valid_b64token(const char *s)
{
	size_t i = 0;

	while (isalnum((unsigned char)s[i]) || (s[i] != '\0' &&
	    strchr("-._~+/", s[i]) != NULL))
		i++;
	if (i == 0)
		return 0;
	while (s[i] == '=')
		i++;
	return s[i] == '\0';
}

/*
 * Parse a token server's JSON answer: `access_token` wins over `token`
 * (containerd's order), the token must be an RFC 6750 b64token of at most
 * REG_TOKEN_MAX bytes, `expires_in` (an integer if present) is clamped to
 * [REG_TOKEN_TTL_MIN, REG_TOKEN_TTL_MAX] seconds.
 */
int
reg_parse_token(const char *buf, size_t len, char **tok, long *ttl,
    struct pd_err *e)
{
	json_error_t je;
	json_t *j, *at, *t, *ex;
	const char *s;
	json_int_t v;

	*tok = NULL;
	if (len > REG_TOKEN_BODY_MAX)
		return pd_errf(e, PD_E_LIMIT, "token server response larger than %d "
		    "bytes", REG_TOKEN_BODY_MAX);
	if ((j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je)) == NULL) {
		reg_sanitize(je.text, 120);
		return pd_errf(e, PD_E_PROTO, "token server response is not valid "
		    "JSON: %s", je.text);
	}
	if (!json_is_object(j)) {
		json_decref(j);
		return pd_errf(e, PD_E_PROTO, "token server response is not a JSON "
		    "object");
	}
	at = json_object_get(j, "access_token");
	t = json_object_get(j, "token");
	if ((at != NULL && !json_is_string(at)) || (t != NULL &&
	    !json_is_string(t))) {
		json_decref(j);
		return pd_errf(e, PD_E_PROTO, "token server response: token is not "
		    "a string");
	}
	if (at != NULL && json_string_length(at) > 0)
		s = json_string_value(at);
	else if (t != NULL && json_string_length(t) > 0)
		s = json_string_value(t);
	else {
		json_decref(j);
		return pd_errf(e, PD_E_PROTO, "authorization server did not include "
		    "a token in the response");
	}
	if (strlen(s) > REG_TOKEN_MAX) {
		json_decref(j);
		return pd_errf(e, PD_E_LIMIT, "token from the token server is longer "
		    "than %d bytes", REG_TOKEN_MAX);
	}
	if (!valid_b64token(s) || strlen(s) != json_string_length(at != NULL &&
	    json_string_length(at) > 0 ? at : t)) {
		json_decref(j);
		return pd_errf(e, PD_E_PROTO, "token from the token server contains "
		    "characters a bearer token cannot have");
	}
	*ttl = REG_TOKEN_TTL_MIN;
	if ((ex = json_object_get(j, "expires_in")) != NULL) {
		if (!json_is_integer(ex)) {
			json_decref(j);
			return pd_errf(e, PD_E_PROTO, "token server response: "
			    "expires_in is not an integer");
		}
		v = json_integer_value(ex);
		*ttl = v < REG_TOKEN_TTL_MIN ? REG_TOKEN_TTL_MIN :
		    v > REG_TOKEN_TTL_MAX ? REG_TOKEN_TTL_MAX : (long)v;
	}
	*tok = xstrdup(s);
	json_decref(j);
	return 0;
}

static int
url_escape_append(char *buf, size_t len, const char *pre, const char *v)
{
	char *esc;
	size_t n = strlen(buf);
	int w;

	if ((esc = curl_easy_escape(NULL, v, 0)) == NULL)
		return -1;
	w = snprintf(buf + n, len - n, "%s%s", pre, esc);
	curl_free(esc);
	return w < 0 || (size_t)w >= len - n ? -1 : 0;
}

char *
reg_basic_header(const char *user, const char *pass)
{
	size_t n = strlen(user) + 1 + strlen(pass);
	unsigned char *raw, *b64;
	char *h;

	raw = xmalloc(n + 1);
	snprintf((char *)raw, n + 1, "%s:%s", user, pass);
	b64 = xmalloc(4 * ((n + 2) / 3) + 1);
	EVP_EncodeBlock(b64, raw, (int)n);
	h = xasprintf("Authorization: Basic %s", (char *)b64);
	explicit_bzero(raw, n);
	explicit_bzero(b64, strlen((char *)b64));
	free(raw);
	free(b64);
	return h;
}

void
reg_free_secret(char **s)
{
	if (*s != NULL) {
		explicit_bzero(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

int
reg_has_creds(const struct reg_req *r)
{
	return r->secret != NULL && r->secret[0] != '\0' &&
	    (r->idtoken || (r->username != NULL && r->username[0] != '\0'));
}

static int
push_kind(const struct reg_req *r)
{
	return r->kind == REG_PUSH_BLOB || r->kind == REG_PUSH_MANIFEST;
}

static void
reg_token_key(const struct fetch *f, char *buf, size_t len)
{
	const char *act = push_kind(f->r) ? "pull,push" : "pull";

	if (f->r->kind == REG_LOGIN) {
		snprintf(buf, len, "%s://%s %s (login: no scope)", f->reg.scheme,
		    f->reg.key, reg_has_creds(f->r) ? f->r->username : "");
		return;
	}
	snprintf(buf, len, "%s://%s %s repository(plugin):%s:%s "
	    "repository:%s:%s", f->reg.scheme, f->reg.key,
	    reg_has_creds(f->r) ? f->r->username : "", f->r->repo, act, f->r->repo,
	    act);
}

/*
 * The realm must be an absolute http(s) URL without credentials or a
 * fragment; no downgrade to http from an https registry; credentials go
 * to the realm only over https, or over http to the registry's own
 * (insecure, broker-chosen) host.  rs is the realm, sanitized, for
 * messages.
 */
static int
check_realm(struct fetch *f, const char *realm, const char *rs,
    const char *service, struct origin *ro, struct pd_err *e)
{
	if (strncasecmp(realm, "https://", 8) != 0 &&
	    strncasecmp(realm, "http://", 7) != 0)
		return pd_errf(e, PD_E_PROTO, "token realm \"%s\" of registry %s "
		    "is not an absolute http or https URL", rs, f->name);
	if (strlen(realm) > 2048 || reg_url_origin(realm, ro) == -1 ||
	    ro->host[0] == '\0')
		return pd_errf(e, PD_E_PROTO, "token realm \"%s\" of registry %s "
		    "is not a valid URL", rs, f->name);
	if (strchr(realm, '#') != NULL || strchr(realm, '@') != NULL)
		return pd_errf(e, PD_E_PROTO, "token realm \"%s\" of registry %s "
		    "has credentials or a fragment; refused", rs, f->name);
	if (strcmp(f->reg.scheme, "https") == 0 &&
	    strcmp(ro->scheme, "http") == 0)
		return pd_errf(e, PD_E_PROTO, "registry %s uses https but its "
		    "token realm %s is plain http; refused", f->name, rs);
	if (reg_has_creds(f->r) && strcmp(ro->scheme, "http") == 0 &&
	    strcmp(ro->host, f->reg.host) != 0)
		return pd_errf(e, PD_E_AUTH, "refusing to send credentials for %s "
		    "over plain http to token server %s", f->name, ro->key);
	if (service != NULL && strlen(service) > 512)
		return pd_errf(e, PD_E_PROTO, "registry %s sent a service name "
		    "longer than 512 bytes", f->name);
	return 0;
}

/*
 * A login's token request, as docker login's (distribution's token
 * handler with offline access): no scope; a GET with account=<user>,
 * offline_token=true and client_id, Basic credentials; or, with an
 * identity token, the refresh-token grant without a scope.
 */
static int
login_query(struct fetch *f, const char *realm, const char *service,
    char *url, size_t ulen, char **post, char **cred, struct pd_err *e)
{
	const struct reg_req *r = f->r;
	size_t plen;

	if (reg_has_creds(r) && r->idtoken) {
		plen = 8192 + strlen(r->secret) * 3;
		*post = xmalloc(plen);
		(*post)[0] = '\0';
		if (url_escape_append(*post, plen, "grant_type=refresh_token&"
		    "client_id=plugind&refresh_token=", r->secret) == -1 ||
		    (service != NULL && url_escape_append(*post, plen,
		    "&service=", service) == -1))
			return pd_errf(e, PD_E_INTERNAL, "cannot build the token "
			    "request");
		return 0;
	}
	if ((service != NULL && url_escape_append(url, ulen,
	    strchr(realm, '?') ? "&service=" : "?service=", service) == -1) ||
	    (reg_has_creds(r) && url_escape_append(url, ulen, strchr(url, '?') ?
	    "&account=" : "?account=", r->username) == -1) ||
	    url_escape_append(url, ulen, strchr(url, '?') ? "&offline_token=" :
	    "?offline_token=", "true") == -1 ||
	    url_escape_append(url, ulen, "&client_id=", "plugind") == -1)
		return pd_errf(e, PD_E_INTERNAL, "cannot build the token request");
	if (reg_has_creds(r))
		*cred = reg_basic_header(r->username, r->secret);
	return 0;
}

/*
 * The refresh token of a login's token answer (docker login returns it
 * as IdentityToken): kept only if it is a printable string that fits a
 * secret; anything else is ignored, as the login itself succeeded.
 */
static void
login_refresh(struct fetch *f, const struct xfer *x)
{
	const char *s;
	json_t *j, *v;
	size_t i, n;

	if ((j = json_loadb(x->buf, x->len, JSON_REJECT_DUPLICATES,
	    NULL)) == NULL)
		return;
	if (json_is_string(v = json_object_get(j, "refresh_token")) &&
	    (n = json_string_length(v)) > 0 && n < PD_STR_SECRET) {
		s = json_string_value(v);
		for (i = 0; i < n && s[i] > ' ' && s[i] < 0x7f; i++)
			;
		if (i == n) {
			reg_free_secret(&f->refresh);
			f->refresh = xstrdup(s);
		}
	}
	json_decref(j);
}

/*
 * The token server refused a login's credentials: Docker reports the
 * server's own text ("unauthorized: incorrect username or password" from
 * Docker Hub); without one, that text.
 */
static int
login_refused(struct fetch *f, struct xfer *x, struct pd_err *e)
{
	char code[64], msg[256];
	const char *d;
	json_t *j;

	reg_error_detail(x, code, sizeof(code), msg, sizeof(msg));
	if (msg[0] == '\0' && x->len > 0 &&
	    (j = json_loadb(x->buf, x->len, 0, NULL)) != NULL) {
		/* Docker Hub's token server: {"details": "..."} */
		if ((d = json_string_value(json_object_get(j, "details"))) != NULL)
			snprintf(msg, sizeof(msg), "%s", d);
		reg_sanitize(msg, 200);
		json_decref(j);
	}
	if (!reg_has_creds(f->r))
		return pd_errf(e, PD_E_AUTH, "unauthorized: authentication "
		    "required for %s (no credentials given)", f->name);
	return pd_errf(e, PD_E_AUTH, "unauthorized: %s", msg[0] ? msg :
	    "incorrect username or password");
}

/*
 * The token request: with an identity token, an OAuth2 refresh-token
 * grant (a form body in *post); otherwise a GET whose query names the
 * service and scopes, with Basic credentials in *cred if we have them.
 */
static int
token_query(struct fetch *f, const char *realm, const char *service,
    char **url, char **post, char **cred, struct pd_err *e)
{
	const struct reg_req *r = f->r;
	char s1[PD_STR_SHORT + 32], s2[PD_STR_SHORT + 32], both[1024];
	size_t ulen, plen;

	snprintf(s1, sizeof(s1), "repository(plugin):%s:%s", r->repo,
	    push_kind(r) ? "pull,push" : "pull");
	snprintf(s2, sizeof(s2), "repository:%s:%s", r->repo,
	    push_kind(r) ? "pull,push" : "pull");
	ulen = strlen(realm) + 4096;
	*url = xmalloc(ulen);
	snprintf(*url, ulen, "%s", realm);
	if (r->kind == REG_LOGIN)
		return login_query(f, realm, service, *url, ulen, post, cred, e);
	if (reg_has_creds(r) && r->idtoken) {
		plen = 8192 + strlen(r->secret) * 3;
		*post = xmalloc(plen);
		(*post)[0] = '\0';
		snprintf(both, sizeof(both), "%s %s", s1, s2);
		if (url_escape_append(*post, plen, "grant_type=refresh_token&"
		    "client_id=plugind&refresh_token=", r->secret) == -1 ||
		    (service != NULL && url_escape_append(*post, plen,
		    "&service=", service) == -1) ||
		    url_escape_append(*post, plen, "&scope=", both) == -1)
			return pd_errf(e, PD_E_INTERNAL, "cannot build the token "
			    "request");
		return 0;
	}
	if ((service != NULL && url_escape_append(*url, ulen,
	    strchr(realm, '?') ? "&service=" : "?service=", service) == -1) ||
	    url_escape_append(*url, ulen, strchr(*url, '?') ? "&scope=" :
	    "?scope=", s1) == -1 ||
	    url_escape_append(*url, ulen, "&scope=", s2) == -1)
		return pd_errf(e, PD_E_INTERNAL, "cannot build the token request");
	if (reg_has_creds(r))
		*cred = reg_basic_header(r->username, r->secret);
	return 0;
}

/* The token server's answer: a token we keep for the job, or an error. */
static int
token_answer(struct fetch *f, struct xfer *x, char **authz, int *kind,
    struct pd_err *e)
{
	char key[1024], code[64], msg[256], *tok = NULL;
	int creds = reg_has_creds(f->r);
	long ttl;

	if ((x->status == 401 || x->status == 403) && f->r->kind == REG_LOGIN)
		return login_refused(f, x, e);
	if (x->status == 401 || x->status == 403)
		return pd_errf(e, PD_E_AUTH, "unauthorized: authentication "
		    "required for %s (%s)", f->name, creds ? "credentials were "
		    "refused by the token server" : "no credentials given");
	if (x->status != 200) {
		reg_error_detail(x, code, sizeof(code), msg, sizeof(msg));
		return pd_errf(e, PD_E_UNAVAIL, "token server %s answered %ld "
		    "%s%s%s", x->o.key, x->status, reg_status_text(x->status),
		    msg[0] ? ": " : "", msg);
	}
	if (reg_parse_token(x->buf, x->len, &tok, &ttl, e) == -1)
		return -1;
	if (f->r->kind == REG_LOGIN)
		login_refresh(f, x);
	*authz = xasprintf("Authorization: Bearer %s", tok);
	*kind = creds ? AUTH_BEARER_CREDS : AUTH_BEARER_ANON;
	reg_token_key(f, key, sizeof(key));
	token_store(f->c, key, *authz, ttl);
	reg_free_secret(&tok);
	return 0;
}

/*
 * Get a token for the Bearer challenge (check_realm has the rules).
 * Docker sends credentials to whatever realm the registry names; so do
 * we (docs/FETCHER.md, "Authentication").
 */
static int
get_token(struct fetch *f, const struct wwwauth_chal *ch, char **authz,
    int *kind, struct pd_err *e)
{
	const char *realm, *service;
	struct origin ro;
	struct xfer *x = NULL;
	char *url = NULL, *post = NULL, *cred = NULL, *rs;
	int rc = -1;

	realm = wwwauth_param(ch, "realm");
	service = wwwauth_param(ch, "service");
	if (realm == NULL || realm[0] == '\0')
		return pd_errf(e, PD_E_PROTO, "registry %s sent a Bearer challenge "
		    "without a realm", f->name);
	rs = xstrdup(realm);
	reg_sanitize(rs, 120);
	if (check_realm(f, realm, rs, service, &ro, e) == 0 &&
	    token_query(f, realm, service, &url, &post, &cred, e) == 0 &&
	    reg_request(f, url, ROLE_TOKEN, cred, &ro, 0, REG_TOKEN_BODY_MAX,
	    post, &x, e) == 0)
		rc = token_answer(f, x, authz, kind, e);
	free(rs);
	free(url);
	reg_free_secret(&post);
	reg_free_secret(&cred);
	reg_xfer_free(x);
	return rc;
}

/* 401 from the registry: pick a challenge and get an Authorization. */
int
reg_answer_challenge(struct fetch *f, struct xfer *x, char **authz, int *kind,
    struct pd_err *e)
{
	const struct reg_req *r = f->r;
	const struct wwwauth_chal *ch;
	char schemes[128];
	size_t i;

	if (x->wa_bad) {
		reg_sanitize(x->wa_err.msg, 200);
		return pd_errf(e, PD_E_PROTO, "registry %s: %s", f->name,
		    x->wa_err.msg);
	}
	if (!x->wa_seen || x->wa.nchal == 0)
		return pd_errf(e, PD_E_AUTH, "unauthorized: registry %s answered 401 "
		    "without an authentication challenge", f->name);
	if ((ch = wwwauth_find(&x->wa, WWWAUTH_BEARER)) != NULL)
		return get_token(f, ch, authz, kind, e);
	if (wwwauth_find(&x->wa, WWWAUTH_BASIC) != NULL) {
		if (!reg_has_creds(r))
			return pd_errf(e, PD_E_AUTH, "unauthorized: authentication "
			    "required for %s (no credentials given)", f->name);
		if (r->idtoken)
			return pd_errf(e, PD_E_AUTH, "registry %s asks for Basic "
			    "authentication, which an identity token cannot do",
			    f->name);
		*authz = reg_basic_header(r->username, r->secret);
		*kind = AUTH_BASIC;
		basic_remember(f->c, f->reg.key);
		return 0;
	}
	schemes[0] = '\0';
	for (i = 0; i < x->wa.nchal; i++) {
		if (i > 0)
			strncat(schemes, ", ", sizeof(schemes) - strlen(schemes) - 1);
		strncat(schemes, x->wa.chal[i].scheme_name, sizeof(schemes) -
		    strlen(schemes) - 1);
	}
	reg_sanitize(schemes, 100);
	return pd_errf(e, PD_E_AUTH, "registry %s asks for an unsupported "
	    "authentication scheme (%s)", f->name, schemes);
}

/* Start with what earlier requests of this job learned. */
void
reg_auth_start(struct fetch *f, struct auth *a)
{
	const struct reg_req *r = f->r;
	struct token *t;

	a->authz = NULL;
	a->kind = AUTH_NONE;
	reg_token_key(f, a->key, sizeof(a->key));
	if ((t = reg_token_lookup(f->c, a->key)) != NULL) {
		a->authz = xstrdup(t->value);
		a->kind = AUTH_BEARER_CACHED;
	} else if (reg_basic_known(f->c, f->reg.key) && reg_has_creds(r) &&
	    !r->idtoken) {
		a->authz = reg_basic_header(r->username, r->secret);
		a->kind = AUTH_BASIC_CACHED;
	}
}

/* The pause before retrying x's 408/429/502/503/504. */
static void
retry_wait(struct fetch *f, const struct xfer *x)
{
	uint64_t wait;

	wait = (uint64_t)(x->retry_after >= 0 ? x->retry_after : 1) * 1000;
	if (wait > REG_RETRY_WAIT_MAX * 1000)
		wait = REG_RETRY_WAIT_MAX * 1000;
	if (pd_now_ms() + wait >= f->deadline)
		wait = 0;
	log_debug("%s answered %ld; retrying in %llu ms", f->name, x->status,
	    (unsigned long long)wait);
	reg_sleep_ms(wait);
}

/*
 * One registry request, GET or push, with the job's authentication.
 * Answer a challenge when we sent nothing, or only what an earlier
 * request of the job learned; at most twice.  Retry 408/429/502/503/504
 * REG_RETRIES times.  Any other final status is returned in *out for the
 * caller to judge.
 */
int
reg_call(struct fetch *f, const char *url, int to_fd, struct auth *a,
    struct xfer **out, struct pd_err *e)
{
	struct xfer *x = NULL;
	int rounds = 0, retries = 0, rc;

	*out = NULL;
	for (;;) {
		if (reg_request(f, url, ROLE_REGISTRY, a->authz, &f->reg, to_fd,
		    REG_ERRBODY_MAX, NULL, &x, e) == -1)
			return -1;
		if (x->status == 401 && x->is_registry && rounds < 2 &&
		    (a->kind == AUTH_NONE || a->kind == AUTH_BEARER_CACHED ||
		    a->kind == AUTH_BASIC_CACHED)) {
			if (a->kind == AUTH_BEARER_CACHED)
				reg_token_drop(f->c, a->key);
			reg_free_secret(&a->authz);
			a->kind = AUTH_NONE;
			rounds++;
			rc = reg_answer_challenge(f, x, &a->authz, &a->kind, e);
			reg_xfer_free(x);
			if (rc == -1)
				return -1;
			continue;
		}
		if (reg_retryable(x->status) && retries < REG_RETRIES) {
			retries++;
			retry_wait(f, x);
			reg_xfer_free(x);
			continue;
		}
		*out = x;
		return 0;
	}
}

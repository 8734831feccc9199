/*
 * Registry client: pushes (docs/FETCHER.md, "Push"): a manifest PUT, or
 * a blob by HEAD, cross-repository mount, or POST then PATCH/PUT.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "digest.h"
#include "error.h"
#include "http_status.h"
#include "log.h"
#include "proto.h"
#include "registry.h"
#include "reg_impl.h"
#include "util.h"
#include "wwwauth.h"

/*
 * One registry request of a push with the job's authentication: answer
 * a challenge (at most twice), retry 408/429/502/503/504.  Any other
 * final status is returned in *out for the caller to judge.
 */
static int
push_call(struct fetch *f, const char *url, char **authz, int *kind,
    char *key, struct xfer **out, struct pd_err *e)
{
	struct xfer *x = NULL;
	int rounds = 0, retries = 0;
	uint64_t wait;

	*out = NULL;
	for (;;) {
		if (reg_request(f, url, ROLE_REGISTRY, *authz, &f->reg, 0,
		    REG_ERRBODY_MAX, NULL, &x, e) == -1)
			return -1;
		if (x->status == 401 && x->is_registry && rounds < 2 &&
		    (*kind == AUTH_NONE || *kind == AUTH_BEARER_CACHED ||
		    *kind == AUTH_BASIC_CACHED)) {
			if (*kind == AUTH_BEARER_CACHED)
				reg_token_drop(f->c, key);
			reg_free_secret(authz);
			*kind = AUTH_NONE;
			rounds++;
			if (reg_answer_challenge(f, x, authz, kind, e) == -1) {
				reg_xfer_free(x);
				return -1;
			}
			reg_xfer_free(x);
			continue;
		}
		if (reg_retryable(x->status) && retries < REG_RETRIES) {
			retries++;
			wait = (uint64_t)(x->retry_after >= 0 ? x->retry_after : 1) *
			    1000;
			if (wait > REG_RETRY_WAIT_MAX * 1000)
				wait = REG_RETRY_WAIT_MAX * 1000;
			if (pd_now_ms() + wait >= f->deadline)
				wait = 0;
			reg_sleep_ms(wait);
			reg_xfer_free(x);
			continue;
		}
		*out = x;
		return 0;
	}
}

static int
push_fail(struct fetch *f, struct xfer *x, int kind, const char *what,
    struct pd_err *e)
{
	char code[64], msg[256];

	if (x->status == 401 || x->status == 403)
		return reg_fail_status(f, x, kind, e);
	reg_error_detail(x, code, sizeof(code), msg, sizeof(msg));
	if (strcmp(code, "DIGEST_INVALID") == 0)
		return pd_errf(e, PD_E_DIGEST, "digest mismatch: registry %s "
		    "rejected %s: %s", f->name, what, msg[0] ? msg :
		    "digest invalid");
	return pd_errf(e, x->status >= 500 ? PD_E_UNAVAIL : PD_E_PROTO,
	    "%s %s answered %ld %s to the %s of %s%s%s%s%s", reg_who(x),
	    x->is_registry ? f->name : x->o.key, x->status,
	    reg_status_text(x->status), f->method ? f->method : "GET", what,
	    code[0] ? ": " : "", code, msg[0] ? ": " : "", msg);
}

/*
 * The upload URL from a Location: resolved against the request's URL;
 * only the registry's own origin (credentials go there) and http(s).
 */
static int
upload_url(struct fetch *f, struct xfer *x, char **out, struct pd_err *e)
{
	struct origin o;

	*out = NULL;
	if (x->location_err != NULL || x->location == NULL)
		return pd_errf(e, PD_E_PROTO, "registry %s answered %ld without a "
		    "usable Location (%s)", f->name, x->status, x->location_err ?
		    x->location_err : "none");
	if (reg_resolve_location(x->url, x->location, out, e) == -1)
		return -1;
	if (reg_url_origin(*out, &o) == -1 || !reg_same_origin(&o, &f->reg)) {
		free(*out);
		*out = NULL;
		return pd_errf(e, PD_E_PROTO, "registry %s sent an upload Location "
		    "on another origin (%s); refused, credentials are not sent "
		    "there", f->name, o.key[0] ? o.key : "unparsable");
	}
	return 0;
}

static char *
with_digest(const char *url, const char *digest)
{
	return xasprintf("%s%sdigest=%s", url, strchr(url, '?') ? "&" : "?",
	    digest);
}

int
reg_push(struct reg_client *c, const struct reg_req *r, struct reg_res *res,
    struct pd_err *e)
{
	struct fetch f;
	struct xfer *x = NULL;
	struct token *t;
	char *url = NULL, *loc = NULL, *authz = NULL, key[1024];
	char acc[PD_STR_SHORT + 16], range[64], what[PD_STR_SHORT + 16];
	uint64_t off, n;
	int kind = AUTH_NONE, rc = -1;

	memset(res, 0, sizeof(*res));
	if (r->kind != REG_PUSH_BLOB && r->kind != REG_PUSH_MANIFEST)
		return pd_errf(e, PD_E_INVAL, "unknown push kind %d", r->kind);
	if (r->scheme == NULL || (strcmp(r->scheme, "https") != 0 &&
	    strcmp(r->scheme, "http") != 0))
		return pd_errf(e, PD_E_INVAL, "scheme must be http or https");
	if (r->host == NULL || !reg_valid_host(r->host))
		return pd_errf(e, PD_E_INVAL, "invalid registry host");
	if (r->repo == NULL || !reg_valid_repo(r->repo))
		return pd_errf(e, PD_E_INVAL, "invalid repository name");
	if (r->reference == NULL || (r->kind == REG_PUSH_BLOB ?
	    !pd_digest_valid(r->reference) : !reg_valid_tag(r->reference)))
		return pd_errf(e, PD_E_INVAL, "invalid %s", r->kind ==
		    REG_PUSH_BLOB ? "blob digest" : "tag");
	if (r->mount_from != NULL && r->mount_from[0] != '\0' &&
	    !reg_valid_repo(r->mount_from))
		return pd_errf(e, PD_E_INVAL, "invalid mount source repository");
	if (r->media_type == NULL || r->media_type[0] == '\0' ||
	    strlen(r->media_type) > PD_STR_SHORT ||
	    strpbrk(r->media_type, "\r\n") != NULL)
		return pd_errf(e, PD_E_INVAL, "invalid media type");
	if (r->infd < 0)
		return pd_errf(e, PD_E_INVAL, "no input file descriptor");
	reg_fetch_init(&f, c, r);
	f.maxreq = REG_MAX_REQUESTS + (unsigned)(r->max_size / REG_PUSH_CHUNK);
	snprintf(f.progress_id, sizeof(f.progress_id), "%s",
	    r->kind == REG_PUSH_BLOB ? pd_digest_hex(r->reference) : "");
	snprintf(what, sizeof(what), "%s %s", r->kind == REG_PUSH_BLOB ? "blob" :
	    "manifest", r->reference);
	url = xasprintf("%s://%s/v2/%s/%s", r->scheme, r->host, r->repo,
	    r->kind == REG_PUSH_BLOB ? "blobs/" : "manifests/");
	if (reg_url_origin(url, &f.reg) == -1) {
		pd_errf(e, PD_E_INVAL, "cannot build a URL for %s", r->host);
		goto out;
	}
	reg_token_key(&f, key, sizeof(key));
	if ((t = reg_token_lookup(c, key)) != NULL) {
		authz = xstrdup(t->value);
		kind = AUTH_BEARER_CACHED;
	} else if (reg_basic_known(c, f.reg.key) && reg_has_creds(r) && !r->idtoken) {
		authz = reg_basic_header(r->username, r->secret);
		kind = AUTH_BASIC_CACHED;
	}

	if (r->kind == REG_PUSH_MANIFEST) {
		free(url);
		url = xasprintf("%s://%s/v2/%s/manifests/%s", r->scheme, r->host,
		    r->repo, r->reference);
		f.method = "PUT";
		f.upload = 1;
		f.ctype = r->media_type;
		f.up_off = 0;
		f.up_len = r->max_size;
		if (push_call(&f, url, &authz, &kind, key, &x, e) == -1)
			goto out;
		if (x->status != 201 && x->status != 200) {
			push_fail(&f, x, kind, what, e);
			goto out;
		}
		res->outcome = PD_PUSHED_UPLOADED;
		res->size = r->max_size;
		goto done;
	}

	/* 1. Is it there already? */
	free(url);
	url = xasprintf("%s://%s/v2/%s/blobs/%s", r->scheme, r->host, r->repo,
	    r->reference);
	snprintf(acc, sizeof(acc), "Accept: %s, */*", r->media_type);
	f.method = "HEAD";
	f.accept = acc;
	if (push_call(&f, url, &authz, &kind, key, &x, e) == -1)
		goto out;
	f.accept = NULL;
	if (x->status == 200) {
		res->outcome = PD_PUSHED_EXISTS;
		goto done;
	}
	if (x->status != 404) {
		push_fail(&f, x, kind, what, e);
		goto out;
	}
	reg_xfer_free(x);
	x = NULL;

	/* 2. Mount from another repository, or start an upload. */
	free(url);
	url = xasprintf("%s://%s/v2/%s/blobs/uploads/", r->scheme, r->host,
	    r->repo);
	if (r->mount_from != NULL && r->mount_from[0] != '\0') {
		free(url);
		url = xasprintf("%s://%s/v2/%s/blobs/uploads/?mount=%s&from=%s",
		    r->scheme, r->host, r->repo, r->reference, r->mount_from);
	}
	f.method = "POST";
	if (push_call(&f, url, &authz, &kind, key, &x, e) == -1)
		goto out;
	if (x->status == 201) {
		res->outcome = r->mount_from != NULL && r->mount_from[0] != '\0' ?
		    PD_PUSHED_MOUNTED : PD_PUSHED_EXISTS;
		goto done;
	}
	if (x->status != 202) {
		push_fail(&f, x, kind, what, e);
		goto out;
	}
	if (upload_url(&f, x, &loc, e) == -1)
		goto out;

	/* 3. Chunks for large blobs, then the final PUT with the digest. */
	f.method = "PATCH";
	f.upload = 1;
	f.ctype = "application/octet-stream";
	off = 0;
	while (r->max_size > REG_PUSH_MONOLITHIC_MAX && off < r->max_size) {
		n = r->max_size - off;
		if (n > REG_PUSH_CHUNK)
			n = REG_PUSH_CHUNK;
		f.up_off = off;
		f.up_len = n;
		snprintf(range, sizeof(range), "Content-Range: %llu-%llu",
		    (unsigned long long)off, (unsigned long long)(off + n - 1));
		f.range = range;
		reg_xfer_free(x);
		x = NULL;
		if (push_call(&f, loc, &authz, &kind, key, &x, e) == -1)
			goto out;
		if (x->status != 202 && x->status != 204) {
			push_fail(&f, x, kind, what, e);
			goto out;
		}
		off += n;
		if (x->location != NULL) {
			free(loc);
			if (upload_url(&f, x, &loc, e) == -1)
				goto out;
		}
	}
	f.range = NULL;
	f.method = "PUT";
	f.up_off = off;
	f.up_len = r->max_size - off;
	f.upload = f.up_len > 0;
	free(url);
	url = with_digest(loc, r->reference);
	reg_xfer_free(x);
	x = NULL;
	if (push_call(&f, url, &authz, &kind, key, &x, e) == -1)
		goto out;
	if (x->status != 201 && x->status != 200 && x->status != 204) {
		push_fail(&f, x, kind, what, e);
		goto out;
	}
	res->outcome = PD_PUSHED_UPLOADED;
	res->size = r->max_size;
done:
	if (pd_digest_valid(x->dcd) && r->kind == REG_PUSH_BLOB &&
	    strcmp(x->dcd, r->reference) != 0) {
		pd_errf(e, PD_E_DIGEST, "digest mismatch: registry %s stored blob "
		    "%s as %s", f.name, r->reference, x->dcd);
		goto out;
	}
	res->http_status = x->status;
	if (pd_digest_valid(x->dcd))
		snprintf(res->digest, sizeof(res->digest), "%s", x->dcd);
	rc = 0;
out:
	if (rc == -1)
		reg_sanitize(e->msg, sizeof(e->msg) - 1);
	reg_xfer_free(x);
	free(url);
	free(loc);
	reg_free_secret(&authz);
	return rc;
}

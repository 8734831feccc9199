/*
 * Registry client: one reg_fetch() is one logical GET of a manifest or a
 * blob.  It may take several HTTP requests: an anonymous try, a token
 * request, the authorized retry, redirect hops and bounded retries on
 * 408/429/5xx.  An Authorization header is built per request, only for
 * the origin it belongs to.
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

static void
what_ref(const struct reg_req *r, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s%s%s", r->host, r->repo,
	    pd_digest_valid(r->reference) ? "@" : ":", r->reference);
}

/* Scheme, host and repository of a fetch or push request. */
int
reg_check_target(const struct reg_req *r, struct pd_err *e)
{
	if (r->scheme == NULL || (strcmp(r->scheme, "https") != 0 &&
	    strcmp(r->scheme, "http") != 0))
		return pd_errf(e, PD_E_INVAL, "scheme must be http or https");
	if (r->host == NULL || !reg_valid_host(r->host))
		return pd_errf(e, PD_E_INVAL, "invalid registry host");
	if (r->repo == NULL || !reg_valid_repo(r->repo))
		return pd_errf(e, PD_E_INVAL, "invalid repository name");
	return 0;
}

static int
check_request(const struct reg_req *r, struct pd_err *e)
{
	if (r->kind != REG_MANIFEST && r->kind != REG_BLOB)
		return pd_errf(e, PD_E_INVAL, "unknown fetch kind %d", r->kind);
	if (reg_check_target(r, e) == -1)
		return -1;
	if (r->reference == NULL)
		return pd_errf(e, PD_E_INVAL, "no reference");
	if (r->kind == REG_BLOB && !pd_digest_valid(r->reference))
		return pd_errf(e, PD_E_INVAL, "invalid blob digest (want "
		    "sha256:<64 lowercase hex>)");
	if (r->kind == REG_MANIFEST && !pd_digest_valid(r->reference) &&
	    !reg_valid_tag(r->reference))
		return pd_errf(e, PD_E_INVAL, "invalid tag or digest");
	if (r->kind == REG_MANIFEST && r->max_size == 0)
		return pd_errf(e, PD_E_INVAL, "manifest size limit is 0");
	if (r->outfd < 0)
		return pd_errf(e, PD_E_INVAL, "no output file descriptor");
	return 0;
}

static int
finish(struct fetch *f, struct xfer *x, struct reg_res *res, struct pd_err *e)
{
	const struct reg_req *r = f->r;
	char got[PD_DIGEST_BUFLEN], dcd[PD_STR_SHORT];

	pd_sha256_final(f->sha, got);
	if (r->kind == REG_BLOB && f->received != r->max_size)
		return pd_errf(e, PD_E_DIGEST, "blob %s is shorter than its "
		    "descriptor: got %llu of %llu bytes", r->reference,
		    (unsigned long long)f->received, (unsigned long long)r->max_size);
	if (pd_digest_valid(r->reference) && strcmp(got, r->reference) != 0)
		return pd_errf(e, PD_E_DIGEST, "digest mismatch: %s %s from %s has "
		    "digest %s", r->kind == REG_BLOB ? "blob" : "manifest",
		    r->reference, f->name, got[0] ? got : "(none)");
	snprintf(dcd, sizeof(dcd), "%s", x->dcd);
	if (pd_digest_valid(dcd)) {
		if (strcmp(dcd, got) != 0)
			return pd_errf(e, PD_E_DIGEST, "digest mismatch: registry %s "
			    "says Docker-Content-Digest %s but the %s it sent has "
			    "digest %s", f->name, dcd, r->kind == REG_BLOB ? "blob" :
			    "manifest", got);
	} else {
		if (dcd[0] != '\0')
			log_debug("ignoring Docker-Content-Digest that is not a "
			    "sha256 digest");
		dcd[0] = '\0';
	}
	res->http_status = x->status;
	res->size = f->received;
	snprintf(res->media_type, sizeof(res->media_type), "%s", x->ctype);
	reg_sanitize(res->media_type, sizeof(res->media_type) - 1);
	snprintf(res->digest, sizeof(res->digest), "%s", dcd);
	return 0;
}

int
reg_fail_status(struct fetch *f, struct xfer *x, int kind, struct pd_err *e)
{
	const struct reg_req *r = f->r;
	char what[PD_STR_SHORT * 3 + 8], code[64], msg[256];

	what_ref(r, what, sizeof(what));
	reg_error_detail(x, code, sizeof(code), msg, sizeof(msg));
	if (x->status == 401) {
		if (!x->is_registry)
			return pd_errf(e, PD_E_AUTH, "unauthorized: %s %s asked for "
			    "authentication; registry credentials are never sent to "
			    "another origin", reg_who(x), x->o.key);
		return pd_errf(e, PD_E_AUTH, "unauthorized: authentication required "
		    "for %s (%s)", f->name, kind == AUTH_BASIC ||
		    kind == AUTH_BASIC_CACHED || kind == AUTH_BEARER_CREDS ||
		    (kind == AUTH_BEARER_CACHED && reg_has_creds(r)) ?
		    "credentials were refused" :
		    "no credentials given");
	}
	if (x->status == 404) {
		if (r->kind == REG_MANIFEST)
			return pd_errf(e, PD_E_NOTFOUND, "manifest unknown: %s not "
			    "found%s", what, strcmp(code, "NAME_UNKNOWN") == 0 ?
			    " (repository not known to the registry)" : "");
		return pd_errf(e, PD_E_NOTFOUND, "blob unknown: %s not found",
		    what);
	}
	if (x->status == 403)
		return pd_errf(e, PD_E_AUTH, "denied: %s refused access to %s (403 "
		    "Forbidden)%s%s", f->name, what, msg[0] ? ": " : "", msg);
	if (x->status == 200 || x->status == 206 || x->status == 204)
		return pd_errf(e, PD_E_PROTO, "%s %s answered %ld %s instead of the "
		    "whole %s", reg_who(x), x->o.key, x->status,
		    reg_status_text(x->status), r->kind == REG_BLOB ? "blob" : "manifest");
	if (x->status >= 500 || reg_retryable(x->status))
		return pd_errf(e, PD_E_UNAVAIL, "%s %s answered %ld %s%s%s",
		    reg_who(x), x->is_registry ? f->name : x->o.key, x->status,
		    reg_status_text(x->status), msg[0] ? ": " : "", msg);
	return pd_errf(e, PD_E_PROTO, "%s %s answered unexpected status %ld "
	    "%s%s%s", reg_who(x), x->is_registry ? f->name : x->o.key, x->status,
	    reg_status_text(x->status), msg[0] ? ": " : "", msg);
}

/*
 * One transfer's state, fetch or push: the client's default timeouts
 * filled in, and an overall deadline that grows with the size allowed.
 */
void
reg_fetch_init(struct fetch *f, struct reg_client *c, const struct reg_req *r)
{
	if (c->to.connect <= 0)
		c->to.connect = REG_CONNECT_TIMEOUT;
	if (c->to.low_speed_time <= 0)
		c->to.low_speed_time = REG_LOW_SPEED_TIME;
	memset(f, 0, sizeof(*f));
	f->c = c;
	f->r = r;
	snprintf(f->name, sizeof(f->name), "%s", r->host);
	f->deadline_s = c->to.deadline > 0 ? c->to.deadline : (long)(
	    REG_DEADLINE_BASE + r->max_size / REG_DEADLINE_RATE);
	if (f->deadline_s > REG_DEADLINE_MAX)
		f->deadline_s = REG_DEADLINE_MAX;
	f->deadline = pd_now_ms() + (uint64_t)f->deadline_s * 1000;
}

/*
 * A GET of url on the job's registry (its origin is url's) with the
 * job's authentication; the final answer, whatever its status, in *x.
 */
int
reg_get(struct fetch *f, const char *url, int to_fd, struct auth *a,
    struct xfer **x, struct pd_err *e)
{
	if (reg_url_origin(url, &f->reg) == -1)
		return pd_errf(e, PD_E_INVAL, "cannot build a URL for %s",
		    f->r->host);
	reg_auth_start(f, a);
	return reg_call(f, url, to_fd, a, x, e);
}

int
reg_fetch(struct reg_client *c, const struct reg_req *r, struct reg_res *res,
    struct pd_err *e)
{
	struct fetch f;
	struct auth a;
	struct xfer *x = NULL;
	char *url = NULL;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	if (check_request(r, e) == -1)
		return -1;
	reg_fetch_init(&f, c, r);
	if (r->kind == REG_BLOB)
		snprintf(f.progress_id, sizeof(f.progress_id), "%s",
		    pd_digest_hex(r->reference));
	if ((f.sha = pd_sha256_new()) == NULL)
		return pd_errf(e, PD_E_INTERNAL, "cannot start SHA-256");
	a.authz = NULL;
	url = xasprintf("%s://%s/v2/%s/%s/%s", r->scheme, r->host, r->repo,
	    r->kind == REG_MANIFEST ? "manifests" : "blobs", r->reference);
	if (reg_get(&f, url, 1, &a, &x, e) == -1)
		goto out;
	if (x->status == 200)
		rc = finish(&f, x, res, e);
	else
		reg_fail_status(&f, x, a.kind, e);
out:
	if (rc == -1)
		reg_sanitize(e->msg, sizeof(e->msg) - 1);
	reg_xfer_free(x);
	free(url);
	reg_free_secret(&a.authz);
	pd_sha256_free(f.sha);
	return rc;
}

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

/* One push: the transfer, its authentication and the last response. */
struct push {
	struct fetch	 f;
	struct auth	 a;
	struct reg_res	*res;
	struct xfer	*x;		/* the last response, or NULL */
	char		*loc;		/* blob upload URL */
	char		 what[PD_STR_SHORT + 16];	/* "blob sha256:..." */
};

/* One request of the push; its response replaces p->x. */
static int
push_call(struct push *p, const char *url, struct pd_err *e)
{
	reg_xfer_free(p->x);
	p->x = NULL;
	return reg_call(&p->f, url, 0, &p->a, &p->x, e);
}

static int
push_fail(struct push *p, struct pd_err *e)
{
	struct fetch *f = &p->f;
	struct xfer *x = p->x;
	char code[64], msg[256];

	if (x->status == 401 || x->status == 403)
		return reg_fail_status(f, x, p->a.kind, e);
	reg_error_detail(x, code, sizeof(code), msg, sizeof(msg));
	if (strcmp(code, "DIGEST_INVALID") == 0)
		return pd_errf(e, PD_E_DIGEST, "digest mismatch: registry %s "
		    "rejected %s: %s", f->name, p->what, msg[0] ? msg :
		    "digest invalid");
	return pd_errf(e, x->status >= 500 ? PD_E_UNAVAIL : PD_E_PROTO,
	    "%s %s answered %ld %s to the %s of %s%s%s%s%s", reg_who(x),
	    x->is_registry ? f->name : x->o.key, x->status,
	    reg_status_text(x->status), f->method ? f->method : "GET", p->what,
	    code[0] ? ": " : "", code, msg[0] ? ": " : "", msg);
}

/* The call's status is one of the two given, or the push fails. */
static int
push_expect(struct push *p, const char *url, long s1, long s2,
    struct pd_err *e)
{
	if (push_call(p, url, e) == -1)
		return -1;
	if (p->x->status != s1 && p->x->status != s2)
		return push_fail(p, e);
	return 0;
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

static int
check_push(const struct reg_req *r, struct pd_err *e)
{
	if (r->kind != REG_PUSH_BLOB && r->kind != REG_PUSH_MANIFEST)
		return pd_errf(e, PD_E_INVAL, "unknown push kind %d", r->kind);
	if (reg_check_target(r, e) == -1)
		return -1;
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
	return 0;
}

/* The PUT that ends a push: 201 or 200 (or 204 if ok204) stores it. */
static int
push_put(struct push *p, const char *url, int ok204, struct pd_err *e)
{
	long s;

	if (push_call(p, url, e) == -1)
		return -1;
	s = p->x->status;
	if (s != 201 && s != 200 && (!ok204 || s != 204))
		return push_fail(p, e);
	p->res->outcome = PD_PUSHED_UPLOADED;
	p->res->size = p->f.r->max_size;
	return 0;
}

/* A manifest: one PUT of the whole document. */
static int
push_manifest(struct push *p, struct pd_err *e)
{
	const struct reg_req *r = p->f.r;
	char *url;
	int rc;

	url = xasprintf("%s://%s/v2/%s/manifests/%s", r->scheme, r->host,
	    r->repo, r->reference);
	p->f.method = "PUT";
	p->f.upload = 1;
	p->f.ctype = r->media_type;
	p->f.up_off = 0;
	p->f.up_len = r->max_size;
	rc = push_put(p, url, 0, e);
	free(url);
	return rc;
}

/* Blob, step 1: 1 if the registry has it already (HEAD), else 0. */
static int
blob_exists(struct push *p, struct pd_err *e)
{
	const struct reg_req *r = p->f.r;
	char acc[PD_STR_SHORT + 16], *url;
	int rc;

	url = xasprintf("%s://%s/v2/%s/blobs/%s", r->scheme, r->host, r->repo,
	    r->reference);
	snprintf(acc, sizeof(acc), "Accept: %s, */*", r->media_type);
	p->f.method = "HEAD";
	p->f.accept = acc;
	rc = push_call(p, url, e);
	p->f.accept = NULL;
	free(url);
	if (rc == -1)
		return -1;
	if (p->x->status == 200) {
		p->res->outcome = PD_PUSHED_EXISTS;
		return 1;
	}
	if (p->x->status != 404)
		return push_fail(p, e);
	return 0;
}

/*
 * Blob, step 2: mount it from another repository, or start an upload.
 * 1 if the blob is there now, 0 with p->loc the upload URL.
 */
static int
blob_start(struct push *p, struct pd_err *e)
{
	const struct reg_req *r = p->f.r;
	int mount = r->mount_from != NULL && r->mount_from[0] != '\0';
	char *url;
	int rc;

	if (mount)
		url = xasprintf("%s://%s/v2/%s/blobs/uploads/?mount=%s&from=%s",
		    r->scheme, r->host, r->repo, r->reference, r->mount_from);
	else
		url = xasprintf("%s://%s/v2/%s/blobs/uploads/", r->scheme,
		    r->host, r->repo);
	p->f.method = "POST";
	rc = push_call(p, url, e);
	free(url);
	if (rc == -1)
		return -1;
	if (p->x->status == 201) {
		p->res->outcome = mount ? PD_PUSHED_MOUNTED : PD_PUSHED_EXISTS;
		return 1;
	}
	if (p->x->status != 202)
		return push_fail(p, e);
	return upload_url(&p->f, p->x, &p->loc, e);
}

/* Blob, step 3: a large blob goes in PATCHes; returns the bytes sent. */
static int
blob_chunks(struct push *p, uint64_t *sent, struct pd_err *e)
{
	struct fetch *f = &p->f;
	const struct reg_req *r = f->r;
	char range[64];
	uint64_t off = 0, n;
	int rc = 0;

	f->method = "PATCH";
	f->upload = 1;
	f->ctype = "application/octet-stream";
	while (rc == 0 && r->max_size > REG_PUSH_MONOLITHIC_MAX &&
	    off < r->max_size) {
		n = r->max_size - off;
		if (n > REG_PUSH_CHUNK)
			n = REG_PUSH_CHUNK;
		f->up_off = off;
		f->up_len = n;
		snprintf(range, sizeof(range), "Content-Range: %llu-%llu",
		    (unsigned long long)off, (unsigned long long)(off + n - 1));
		f->range = range;
		if ((rc = push_expect(p, p->loc, 202, 204, e)) == -1)
			break;
		off += n;
		if (p->x->location != NULL) {
			free(p->loc);
			rc = upload_url(f, p->x, &p->loc, e);
		}
	}
	f->range = NULL;
	*sent = off;
	return rc;
}

/* Blob, step 4: the final PUT with the digest and what is left. */
static int
blob_put(struct push *p, uint64_t off, struct pd_err *e)
{
	struct fetch *f = &p->f;
	const struct reg_req *r = f->r;
	char *url;
	int rc;

	f->method = "PUT";
	f->up_off = off;
	f->up_len = r->max_size - off;
	f->upload = f->up_len > 0;
	url = with_digest(p->loc, r->reference);
	rc = push_put(p, url, 1, e);
	free(url);
	return rc;
}

static int
push_blob(struct push *p, struct pd_err *e)
{
	uint64_t off;
	int rc;

	if ((rc = blob_exists(p, e)) == 0 && (rc = blob_start(p, e)) == 0 &&
	    (rc = blob_chunks(p, &off, e)) == 0)
		rc = blob_put(p, off, e);
	return rc == 1 ? 0 : rc;
}

/* What the registry says it stored must be what we pushed. */
static int
push_done(struct push *p, struct pd_err *e)
{
	const struct reg_req *r = p->f.r;
	const struct xfer *x = p->x;

	if (pd_digest_valid(x->dcd) && r->kind == REG_PUSH_BLOB &&
	    strcmp(x->dcd, r->reference) != 0)
		return pd_errf(e, PD_E_DIGEST, "digest mismatch: registry %s "
		    "stored blob %s as %s", p->f.name, r->reference, x->dcd);
	p->res->http_status = x->status;
	if (pd_digest_valid(x->dcd))
		snprintf(p->res->digest, sizeof(p->res->digest), "%s", x->dcd);
	return 0;
}

int
reg_push(struct reg_client *c, const struct reg_req *r, struct reg_res *res,
    struct pd_err *e)
{
	struct push p;
	char *url;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	if (check_push(r, e) == -1)
		return -1;
	memset(&p, 0, sizeof(p));
	p.res = res;
	reg_fetch_init(&p.f, c, r);
	p.f.maxreq = REG_MAX_REQUESTS + (unsigned)(r->max_size / REG_PUSH_CHUNK);
	snprintf(p.f.progress_id, sizeof(p.f.progress_id), "%s",
	    r->kind == REG_PUSH_BLOB ? pd_digest_hex(r->reference) : "");
	snprintf(p.what, sizeof(p.what), "%s %s", r->kind == REG_PUSH_BLOB ?
	    "blob" : "manifest", r->reference);
	url = xasprintf("%s://%s/v2/%s/%s", r->scheme, r->host, r->repo,
	    r->kind == REG_PUSH_BLOB ? "blobs/" : "manifests/");
	if (reg_url_origin(url, &p.f.reg) == -1)
		pd_errf(e, PD_E_INVAL, "cannot build a URL for %s", r->host);
	else {
		reg_auth_start(&p.f, &p.a);
		if ((r->kind == REG_PUSH_MANIFEST ? push_manifest(&p, e) :
		    push_blob(&p, e)) == 0)
			rc = push_done(&p, e);
	}
	if (rc == -1)
		reg_sanitize(e->msg, sizeof(e->msg) - 1);
	reg_xfer_free(p.x);
	free(url);
	free(p.loc);
	reg_free_secret(&p.a.authz);
	return rc;
}

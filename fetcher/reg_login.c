/*
 * Registry client: what `docker login` does (moby's registry/auth.go,
 * loginV2): GET /v2/ with the job's credentials.  A Bearer challenge is
 * answered with a token asked for without any scope (reg_auth.c,
 * login_query); Basic with the credentials.  200 is success; the token
 * server's refresh token, if any, is the body written to the fd (the
 * broker returns it as IdentityToken).  Nothing else is written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "http_status.h"
#include "proto.h"
#include "registry.h"
#include "reg_impl.h"
#include "util.h"

static int
check_login(const struct reg_req *r, struct pd_err *e)
{
	if (r->kind != REG_LOGIN)
		return pd_errf(e, PD_E_INVAL, "not a login request");
	if (r->scheme == NULL || (strcmp(r->scheme, "https") != 0 &&
	    strcmp(r->scheme, "http") != 0))
		return pd_errf(e, PD_E_INVAL, "scheme must be http or https");
	if (r->host == NULL || !reg_valid_host(r->host))
		return pd_errf(e, PD_E_INVAL, "invalid registry host");
	if (r->outfd < 0)
		return pd_errf(e, PD_E_INVAL, "no output file descriptor");
	return 0;
}

/* The final answer was not 200: Docker's text, our error class. */
static int
login_failed(struct fetch *f, struct xfer *x, int kind, const char *url,
    struct pd_err *e)
{
	char code[64], msg[256];

	if (!x->is_registry)
		return reg_fail_status(f, x, kind, e);
	if (x->status < 500 && !reg_retryable(x->status))
		return pd_errf(e, PD_E_AUTH, "login attempt to %s failed with "
		    "status: %ld %s", url, x->status, reg_status_text(x->status));
	reg_error_detail(x, code, sizeof(code), msg, sizeof(msg));
	return pd_errf(e, PD_E_UNAVAIL, "login attempt to %s failed with "
	    "status: %ld %s%s%s", url, x->status, reg_status_text(x->status),
	    msg[0] ? ": " : "", msg);
}

int
reg_login(struct reg_client *c, const struct reg_req *r, struct reg_res *res,
    struct pd_err *e)
{
	struct fetch f;
	struct auth a;
	struct xfer *x = NULL;
	char *url;
	size_t n;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	if (check_login(r, e) == -1)
		return -1;
	reg_fetch_init(&f, c, r);
	a.authz = NULL;
	url = xasprintf("%s://%s/v2/", r->scheme, r->host);
	if (reg_get(&f, url, 0, &a, &x, e) == -1)
		goto out;
	if (x->status != 200) {
		login_failed(&f, x, a.kind, url, e);
		goto out;
	}
	n = f.refresh != NULL ? strlen(f.refresh) : 0;
	if (n > 0 && pd_write_full(r->outfd, f.refresh, n) == -1) {
		pd_errno(e, PD_E_IO, "passing the identity token to the broker");
		goto out;
	}
	res->http_status = 200;
	res->size = n;
	rc = 0;
out:
	if (rc == -1)
		reg_sanitize(e->msg, sizeof(e->msg) - 1);
	reg_xfer_free(x);
	free(url);
	reg_free_secret(&a.authz);
	reg_free_secret(&f.refresh);
	return rc;
}

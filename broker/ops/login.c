/*
 * login (PD_CTL_LOGIN; Engine API POST /auth, pluginctl login): check a
 * user's registry credentials as `docker login` does.  The fetcher does
 * the talking; the broker only names the registry and relays the
 * outcome.  Nothing is stored: pluginctl saves the credentials itself,
 * as the user, in the user's own ~/.docker/config.json or helper.
 */
#include <stdio.h>
#include <string.h>

#include "ops/ops.h"
#include "ref.h"
#include "util.h"

/*
 * The registry of a login's server address, as Docker accepts it:
 * "host[:port]", or a URL ("https://host[:port]/...").  Docker Hub's
 * names (and "") are docker.io.  The scheme is ignored: the broker
 * picks it (fetcher_open).
 */
static int
login_ref(const char *server, struct pd_ref *ref, struct pd_err *e)
{
	char host[PD_STR_SHORT], probe[PD_STR_SHORT + 16];
	const char *p = server;
	struct pd_err ie;
	size_t n;

	if (strncmp(p, "https://", 8) == 0)
		p += 8;
	else if (strncmp(p, "http://", 7) == 0)
		p += 7;
	n = strcspn(p, "/");
	if (n >= sizeof(host))
		return pd_errf(e, PD_E_INVAL, "registry address too long");
	memcpy(host, p, n);
	host[n] = '\0';
	if (host[0] == '\0' || strcmp(host, "index.docker.io") == 0 ||
	    strcmp(host, "registry-1.docker.io") == 0)
		snprintf(host, sizeof(host), "%s", PD_REF_DEFAULT_DOMAIN);
	/* A reference names the host only if it has a "." or ":" (Docker). */
	snprintf(probe, sizeof(probe), "%s/login", host);
	if (pd_ref_parse(probe, ref, &ie) == -1 ||
	    strcmp(ref->domain, host) != 0)
		return pd_errf(e, PD_E_INVAL, "invalid registry address \"%s\": "
		    "want host[:port] or https://host[:port]/", server);
	return 0;
}

/*
 * Members may log in: the credentials are theirs, the check stores
 * nothing, and, as for privileges, a member's fetcher gets certs.d's CA
 * certificates but never the client certificate (docs/PRIVSEP.md).
 */
int
op_login(struct ctl_client *c, struct pd_ctlreq *q, int reqfd,
    struct pd_err *e)
{
	char tok[PD_STR_SECRET];
	struct fetcher f;
	struct pd_ref ref;
	int rc = -1;

	(void)reqfd;
	if (login_ref(q->args[0], &ref, e) == -1)
		return -1;
	if (fetcher_open(&f, &ref, q->args[1], c->uid == 0, e) == -1)
		return -1;
	if (fetch_login(&f, tok, sizeof(tok), e) == 0)
		rc = ctl_reply_json(c, json_pack("{s:s, s:s}", "Status",
		    "Login Succeeded", "IdentityToken", tok)) == -1 ?
		    pd_errf(e, PD_E_IO, "reply") : 0;
	explicit_bzero(tok, sizeof(tok));
	fetcher_close(&f);
	return rc;
}

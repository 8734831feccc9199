/*
 * Registry client: the per-job client and the TLS material the broker
 * passes (FETCH_TLS).  Nothing here reads a file or the environment.
 */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

struct reg_client *
reg_client_new(void)
{
	struct reg_client *c;

	c = xcalloc(1, sizeof(*c));
	if ((c->curl = curl_easy_init()) == NULL) {
		free(c);
		return NULL;
	}
	c->cls = -1;
	return c;
}

void
reg_client_free(struct reg_client *c)
{
	struct tlsmat *m;
	struct token *t;

	if (c == NULL)
		return;
	while ((m = c->tls) != NULL) {
		c->tls = m->next;
		explicit_bzero(m->pem, m->len);
		free(m->pem);
		free(m);
	}
	while ((t = c->tokens) != NULL) {
		c->tokens = t->next;
		reg_token_free(t);
	}
	curl_easy_cleanup(c->curl);
	free(c);
}

void
reg_client_timeouts(struct reg_client *c, const struct reg_timeouts *to)
{
	c->to = *to;
}

/* Read PEM data the broker passed as an fd: at most REG_PEM_MAX bytes. */
int
reg_read_pem(int fd, char **out, size_t *outlen, struct pd_err *e)
{
	struct pollfd pfd;
	size_t len = 0, cap = 64 * 1024;
	char *buf;
	ssize_t n;
	int r;

	buf = xmalloc(cap + 1);
	for (;;) {
		if (len == cap) {
			if (cap > REG_PEM_MAX) {
				explicit_bzero(buf, len);
				free(buf);
				return pd_errf(e, PD_E_LIMIT, "TLS material larger than "
				    "%d bytes", REG_PEM_MAX);
			}
			cap *= 2;
			buf = realloc(buf, cap + 1);
			if (buf == NULL)
				return pd_errf(e, PD_E_INTERNAL, "out of memory");
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		if ((r = poll(&pfd, 1, 10000)) == 0) {
			free(buf);
			return pd_errf(e, PD_E_IO, "timed out reading TLS material");
		}
		if (r == -1 && errno == EINTR)
			continue;
		n = r == -1 ? -1 : read(fd, buf + len, cap - len);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == -1) {
			free(buf);
			return pd_errno(e, PD_E_IO, "read TLS material");
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > REG_PEM_MAX) {
		explicit_bzero(buf, len);
		free(buf);
		return pd_errf(e, PD_E_LIMIT, "TLS material larger than %d bytes",
		    REG_PEM_MAX);
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
}

/*
 * Keep TLS material for `host` ("host:port"; "" means every host, CA
 * only).  Takes ownership of pem.  CA documents for the same host add up.
 */
int
reg_client_add_tls(struct reg_client *c, int kind, const char *host, char *pem,
    size_t len, struct pd_err *e)
{
	struct tlsmat *m;
	char origin[ORIGIN_MAX];

	if (reg_tls_origin(host, origin, sizeof(origin)) == -1) {
		free(pem);
		return pd_errf(e, PD_E_INVAL, "bad host for TLS material: \"%.64s\"",
		    host);
	}
	if (kind != PD_TLS_CA && kind != PD_TLS_CERT && kind != PD_TLS_KEY) {
		free(pem);
		return pd_errf(e, PD_E_INVAL, "unknown TLS material kind %d", kind);
	}
	if (kind != PD_TLS_CA && origin[0] == '\0') {
		free(pem);
		return pd_errf(e, PD_E_INVAL, "a client certificate or key needs a "
		    "host");
	}
	if (len > REG_PEM_MAX || c->tlstotal + len > REG_PEM_TOTAL_MAX) {
		free(pem);
		return pd_errf(e, PD_E_LIMIT, "TLS material larger than %d bytes in "
		    "total", REG_PEM_TOTAL_MAX);
	}
	if (kind != PD_TLS_CA)
		for (m = c->tls; m != NULL; m = m->next)
			if (m->kind == kind && strcmp(m->origin, origin) == 0) {
				free(pem);
				return pd_errf(e, PD_E_INVAL, "second client %s for %s",
				    kind == PD_TLS_CERT ? "certificate" : "key", origin);
			}
	m = xcalloc(1, sizeof(*m));
	m->kind = kind;
	snprintf(m->origin, sizeof(m->origin), "%s", origin);
	m->pem = pem;
	m->len = len;
	m->next = c->tls;
	c->tls = m;
	c->tlstotal += len;
	return 0;
}

/* CA bundle for an origin: every "" CA document plus those for it. */
char *
reg_ca_for(struct reg_client *c, const char *origin, size_t *len)
{
	struct tlsmat *m;
	size_t n = 0;
	char *buf, *p;

	for (m = c->tls; m != NULL; m = m->next)
		if (m->kind == PD_TLS_CA && (m->origin[0] == '\0' ||
		    strcmp(m->origin, origin) == 0))
			n += m->len + 1;
	*len = n;
	if (n == 0)
		return NULL;
	p = buf = xmalloc(n);
	for (m = c->tls; m != NULL; m = m->next)
		if (m->kind == PD_TLS_CA && (m->origin[0] == '\0' ||
		    strcmp(m->origin, origin) == 0)) {
			memcpy(p, m->pem, m->len);
			p += m->len;
			*p++ = '\n';
		}
	return buf;
}

const struct tlsmat *
reg_tls_find(struct reg_client *c, int kind, const char *origin)
{
	struct tlsmat *m;

	for (m = c->tls; m != NULL; m = m->next)
		if (m->kind == kind && strcmp(m->origin, origin) == 0)
			return m;
	return NULL;
}

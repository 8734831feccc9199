/*
 * Registry client (docs/FETCHER.md has the rules this file implements).
 *
 * One reg_fetch() is one logical GET.  It may take several HTTP requests:
 * an anonymous try, a token request, the authorized retry, redirect hops
 * and bounded retries on 408/429/5xx.  libcurl never follows a redirect
 * itself (CURLOPT_FOLLOWLOCATION is off): every Location is checked here,
 * and an Authorization header is built per request, only for the origin
 * it belongs to.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "digest.h"
#include "error.h"
#include "http_status.h"
#include "log.h"
#include "proto.h"
#include "registry.h"
#include "util.h"
#include "wwwauth.h"

#define ORIGIN_MAX	300

struct tlsmat {
	struct tlsmat	*next;
	int		 kind;			/* PD_TLS_* */
	char		 origin[ORIGIN_MAX];	/* "host:port", "" for any */
	char		*pem;
	size_t		 len;
};

struct token {
	struct token	*next;
	char		*key;			/* origin, user, scopes */
	char		*value;
	uint64_t	 expires;		/* monotonic ms */
};

struct reg_client {
	CURL			*curl;
	struct tlsmat		*tls;
	size_t			 tlstotal;
	struct token		*tokens;
	char			 basic[8][ORIGIN_MAX];	/* asked for Basic */
	size_t			 nbasic;
	char			 cls_origin[ORIGIN_MAX];
	int			 cls;		/* address class of it */
	struct reg_timeouts	 to;
	char			 errbuf[CURL_ERROR_SIZE];
};

struct origin {
	char	 scheme[8];
	char	 host[256];	/* lower case, IPv6 in brackets */
	long	 port;
	char	 key[ORIGIN_MAX];	/* "host:port" */
};

struct fetch {
	struct reg_client	*c;
	const struct reg_req	*r;
	struct origin		 reg;
	char			 name[PD_STR_SHORT * 2 + 8];	/* for messages */
	uint64_t		 deadline;	/* monotonic ms */
	long			 deadline_s;
	unsigned		 nreq;
	struct pd_sha256	*sha;
	uint64_t		 received;
	uint64_t		 last_progress;
	int			 progress_sent;
	char			 progress_id[13];
	/* Pushes: the current request's method and upload body. */
	const char		*method;	/* NULL: GET (or the token POST) */
	const char		*accept;	/* "Accept: ..." or NULL */
	const char		*ctype;		/* upload Content-Type */
	const char		*range;		/* "Content-Range: ..." or NULL */
	int			 upload;	/* PUT/PATCH with a body */
	uint64_t		 up_off, up_len, up_sent;
	unsigned		 maxreq;
};

enum role {
	ROLE_REGISTRY,
	ROLE_TOKEN
};

/* One HTTP request and what came back. */
struct xfer {
	struct fetch	*f;
	char		*url;
	struct origin	 o;
	int		 role;
	int		 is_registry;	/* o is the registry's origin */
	int		 to_fd;		/* a 200 body goes to r->outfd */
	uint64_t	 body_max;
	long		 status;
	int		 hdr_done;
	size_t		 hdrbytes;
	unsigned	 nhdr;
	char		*location;
	const char	*location_err;
	struct wwwauth	 wa;
	int		 wa_seen;
	int		 wa_bad;
	struct pd_err	 wa_err;
	char		 ctype[256];
	char		 dcd[256];
	int		 ncl;
	uint64_t	 cl;
	int		 cl_conflict;
	int		 cl_bad;
	int		 te;
	long		 retry_after;
	char		*buf;
	size_t		 len;
	size_t		 bufmax;
	int		 capped;
	int		 aborted;
	struct pd_err	 abort_err;
	int		 addr_refused;
	int		 addr_cls;
	char		 addr_ip[INET6_ADDRSTRLEN];
};

enum authkind {
	AUTH_NONE,
	AUTH_BASIC,		/* user credentials, sent to the registry */
	AUTH_BEARER_ANON,	/* token got without credentials */
	AUTH_BEARER_CREDS,	/* token got with credentials */
	AUTH_BEARER_CACHED,	/* token from an earlier request */
	AUTH_BASIC_CACHED	/* Basic sent because the host asked before */
};

/* Reason phrase for messages; "" for a code without one. */
static const char *
status_text(long s)
{
	return pd_http_reason(s, "");
}

/*
 * Make a server-supplied string printable: C0/C1 controls, DEL and every
 * non-ASCII byte become '?', and it is cut to `max` bytes.
 */
void
reg_sanitize(char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i == max) {
			s[i] = '\0';
			break;
		}
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			s[i] = '?';
	}
}

/* ---- grammar checks ---- */

static int
is_lower_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* distribution's name grammar (SPEC §8.5), at most 255 bytes */
int
reg_valid_repo(const char *s)
{
	size_t n = strlen(s), i = 0;

	if (n == 0 || n > 255)
		return 0;
	for (;;) {
		/* one component: alnum+ ( sep alnum+ )* */
		if (!is_lower_alnum((unsigned char)s[i]))
			return 0;
		while (is_lower_alnum((unsigned char)s[i]))
			i++;
		if (s[i] == '\0')
			return 1;
		if (s[i] == '/') {
			i++;
			continue;
		}
		if (s[i] == '.')
			i++;
		else if (s[i] == '_')
			i += s[i + 1] == '_' ? 2 : 1;
		else if (s[i] == '-')
			while (s[i] == '-')
				i++;
		else
			return 0;
		if (!is_lower_alnum((unsigned char)s[i]))
			return 0;
	}
}

int
reg_valid_tag(const char *s)
{
	size_t i;

	if (!(isalnum((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	for (i = 1; s[i] != '\0'; i++)
		if (i > 127 || !(isalnum((unsigned char)s[i]) || s[i] == '_' ||
		    s[i] == '.' || s[i] == '-'))
			return 0;
	return 1;
}

/* "host[:port]": a DNS name or IPv4 literal, or "[IPv6]"; port 1-65535 */
int
reg_valid_host(const char *s)
{
	struct in6_addr a6;
	const char *p, *end;
	char buf[64];
	unsigned long port;
	char *ep;

	if (s[0] == '\0' || strlen(s) > 255)
		return 0;
	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL || (size_t)(end - s - 1) >=
		    sizeof(buf))
			return 0;
		memcpy(buf, s + 1, (size_t)(end - s - 1));
		buf[end - s - 1] = '\0';
		if (inet_pton(AF_INET6, buf, &a6) != 1)
			return 0;
		p = end + 1;
	} else {
		for (p = s; *p != '\0' && *p != ':'; p++)
			if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '-'))
				return 0;
		if (p == s || s[0] == '.' || s[0] == '-' || p[-1] == '-')
			return 0;
	}
	if (*p == '\0')
		return 1;
	if (*p != ':' || !isdigit((unsigned char)p[1]))
		return 0;
	errno = 0;
	port = strtoul(p + 1, &ep, 10);
	return errno == 0 && *ep == '\0' && port >= 1 && port <= 65535;
}

/* ---- addresses ---- */

static int
v4_class(uint32_t a)
{
	if ((a >> 24) == 0)
		return REG_ADDR_RESERVED;		/* 0.0.0.0/8 */
	if ((a >> 24) == 127)
		return REG_ADDR_LOOPBACK;
	if ((a >> 24) == 10 || (a >> 20) == (172u << 4 | 1) ||
	    (a >> 16) == (192u << 8 | 168) || (a >> 22) == (100u << 2 | 1))
		return REG_ADDR_PRIVATE;	/* RFC 1918, 100.64/10 */
	if ((a >> 16) == (169u << 8 | 254))
		return REG_ADDR_LINKLOCAL;
	if ((a >> 28) >= 14)
		return REG_ADDR_RESERVED;		/* multicast, 240/4 */
	return REG_ADDR_PUBLIC;
}

int
reg_addr_class(const struct sockaddr *sa)
{
	const struct sockaddr_in *s4;
	const struct sockaddr_in6 *s6;
	const uint8_t *b;
	uint32_t a;
	static const uint8_t nat64[12] = { 0, 0x64, 0xff, 0x9b };

	if (sa->sa_family == AF_INET) {
		s4 = (const struct sockaddr_in *)(const void *)sa;
		return v4_class(ntohl(s4->sin_addr.s_addr));
	}
	if (sa->sa_family != AF_INET6)
		return REG_ADDR_RESERVED;
	s6 = (const struct sockaddr_in6 *)(const void *)sa;
	b = s6->sin6_addr.s6_addr;
	a = (uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 |
	    (uint32_t)b[14] << 8 | b[15];
	if (IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr))
		return REG_ADDR_RESERVED;
	if (IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr))
		return REG_ADDR_LOOPBACK;
	if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) ||
	    memcmp(b, nat64, sizeof(nat64)) == 0)
		return v4_class(a);
	if (IN6_IS_ADDR_V4COMPAT(&s6->sin6_addr))
		return REG_ADDR_RESERVED;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
		return REG_ADDR_LINKLOCAL;		/* fe80::/10 */
	if ((b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0))
		return REG_ADDR_PRIVATE;		/* fc00::/7, fec0::/10 */
	if (b[0] == 0xff)
		return REG_ADDR_RESERVED;		/* multicast */
	return REG_ADDR_PUBLIC;
}

const char *
reg_addr_class_name(int cls)
{
	switch (cls) {
	case REG_ADDR_PUBLIC: return "public";
	case REG_ADDR_LOOPBACK: return "loopback";
	case REG_ADDR_PRIVATE: return "private";
	case REG_ADDR_LINKLOCAL: return "link-local";
	default: return "reserved";
	}
}

/* ---- URLs and origins ---- */

static int
url_origin(const char *url, struct origin *o)
{
	CURLU *u;
	char *s = NULL, *h = NULL, *p = NULL;
	int rc = -1;
	size_t i;

	memset(o, 0, sizeof(*o));
	if ((u = curl_url()) == NULL)
		return -1;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &s, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) != CURLUE_OK)
		goto out;
	if (strlen(s) >= sizeof(o->scheme) || strlen(h) >= sizeof(o->host))
		goto out;
	for (i = 0; s[i] != '\0'; i++)
		o->scheme[i] = (char)tolower((unsigned char)s[i]);
	for (i = 0; h[i] != '\0'; i++)
		o->host[i] = (char)tolower((unsigned char)h[i]);
	o->port = strtol(p, NULL, 10);
	snprintf(o->key, sizeof(o->key), "%s:%ld", o->host, o->port);
	rc = 0;
out:
	curl_free(s);
	curl_free(h);
	curl_free(p);
	curl_url_cleanup(u);
	return rc;
}

static int
same_origin(const struct origin *a, const struct origin *b)
{
	return strcmp(a->scheme, b->scheme) == 0 && strcmp(a->key, b->key) == 0;
}

/* Canonical "host:port" of a FETCH_TLS host field; "" stays "". */
static int
tls_origin(const char *in, char *out, size_t len)
{
	const char *colon;
	size_t i;

	if (in[0] == '\0') {
		out[0] = '\0';
		return 0;
	}
	if (!reg_valid_host(in) || strlen(in) + 5 >= len)
		return -1;
	for (i = 0; in[i] != '\0'; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	out[i] = '\0';
	colon = strrchr(in, ':');
	if (colon == NULL || (in[0] == '[' && colon < strchr(in, ']')))
		strcat(out, ":443");
	return 0;
}

/*
 * Resolve a Location header against the request URL and apply the
 * redirect rules that do not depend on the request: at most
 * REG_LOCATION_MAX printable ASCII bytes, http or https only, no
 * userinfo, no fragment.
 */
int
reg_resolve_location(const char *base, const char *loc, char **out,
    struct pd_err *e)
{
	char scheme[16], *v = NULL;
	const char *p;
	CURLU *u;
	size_t i, j;
	int rc = -1;

	*out = NULL;
	if (strlen(loc) > REG_LOCATION_MAX)
		return pd_errf(e, PD_E_PROTO, "redirect refused: Location is longer "
		    "than %d bytes", REG_LOCATION_MAX);
	if (loc[0] == '\0')
		return pd_errf(e, PD_E_PROTO, "redirect refused: empty Location");
	for (p = loc; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return pd_errf(e, PD_E_PROTO, "redirect refused: Location "
			    "contains a control character, a space or a non-ASCII "
			    "byte");
	/* An explicit scheme (RFC 3986 §3.1) must be http or https. */
	if (isalpha((unsigned char)loc[0])) {
		for (i = 1; isalnum((unsigned char)loc[i]) || loc[i] == '+' ||
		    loc[i] == '-' || loc[i] == '.'; i++)
			;
		if (loc[i] == ':') {
			if (i >= sizeof(scheme))
				i = sizeof(scheme) - 1;
			for (j = 0; j < i; j++)
				scheme[j] = (char)tolower((unsigned char)loc[j]);
			scheme[i] = '\0';
			if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
				return pd_errf(e, PD_E_PROTO, "redirect to a %s: URL "
				    "refused (only http and https are followed)", scheme);
		}
	}
	if ((u = curl_url()) == NULL)
		return pd_errf(e, PD_E_INTERNAL, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_URL, loc, 0) != CURLUE_OK) {
		pd_errf(e, PD_E_PROTO, "redirect refused: Location is not a valid "
		    "URL");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_USER, &v, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PASSWORD, &v, 0) == CURLUE_OK) {
		pd_errf(e, PD_E_PROTO, "redirect refused: Location carries "
		    "credentials (user@host)");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_FRAGMENT, &v, 0) == CURLUE_OK) {
		pd_errf(e, PD_E_PROTO, "redirect refused: Location has a fragment");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_SCHEME, &v, 0) != CURLUE_OK ||
	    (strcmp(v, "http") != 0 && strcmp(v, "https") != 0)) {
		pd_errf(e, PD_E_PROTO, "redirect refused: only http and https are "
		    "followed");
		goto out;
	}
	curl_free(v);
	v = NULL;
	if (curl_url_get(u, CURLUPART_URL, out, 0) != CURLUE_OK) {
		pd_errf(e, PD_E_PROTO, "redirect refused: Location is not a valid "
		    "URL");
		goto out;
	}
	rc = 0;
out:
	curl_free(v);
	curl_url_cleanup(u);
	return rc;
}

/* ---- client ---- */

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

static void
token_free(struct token *t)
{
	free(t->key);
	if (t->value != NULL)
		explicit_bzero(t->value, strlen(t->value));
	free(t->value);
	free(t);
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
		token_free(t);
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

	if (tls_origin(host, origin, sizeof(origin)) == -1) {
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
static char *
ca_for(struct reg_client *c, const char *origin, size_t *len)
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

static const struct tlsmat *
tls_find(struct reg_client *c, int kind, const char *origin)
{
	struct tlsmat *m;

	for (m = c->tls; m != NULL; m = m->next)
		if (m->kind == kind && strcmp(m->origin, origin) == 0)
			return m;
	return NULL;
}

/* ---- token cache ---- */

static struct token *
token_lookup(struct reg_client *c, const char *key)
{
	struct token *t, **tp;
	uint64_t now = pd_now_ms();

	for (tp = &c->tokens; (t = *tp) != NULL; ) {
		if (t->expires <= now) {
			*tp = t->next;
			token_free(t);
			continue;
		}
		if (strcmp(t->key, key) == 0)
			return t;
		tp = &t->next;
	}
	return NULL;
}

static void
token_drop(struct reg_client *c, const char *key)
{
	struct token *t, **tp;

	for (tp = &c->tokens; (t = *tp) != NULL; tp = &t->next)
		if (strcmp(t->key, key) == 0) {
			*tp = t->next;
			token_free(t);
			return;
		}
}

static void
token_store(struct reg_client *c, const char *key, const char *value, long ttl)
{
	struct token *t;

	token_drop(c, key);
	t = xcalloc(1, sizeof(*t));
	t->key = xstrdup(key);
	t->value = xstrdup(value);
	/* Renew a little early so a token never expires in flight. */
	t->expires = pd_now_ms() + (uint64_t)(ttl > 10 ? ttl - 5 : ttl) * 1000;
	t->next = c->tokens;
	c->tokens = t;
}

static int
basic_known(struct reg_client *c, const char *origin)
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
	if (basic_known(c, origin) || c->nbasic == sizeof(c->basic) /
	    sizeof(c->basic[0]))
		return;
	snprintf(c->basic[c->nbasic++], ORIGIN_MAX, "%s", origin);
}

/* ---- token response ---- */

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

/* ---- one HTTP request ---- */

static void
xfer_free(struct xfer *x)
{
	if (x == NULL)
		return;
	free(x->url);
	free(x->location);
	if (x->buf != NULL)
		explicit_bzero(x->buf, x->len);
	free(x->buf);
	free(x);
}

static void
xfer_reset_headers(struct xfer *x)
{
	x->status = 0;
	x->hdr_done = 0;
	free(x->location);
	x->location = NULL;
	x->location_err = NULL;
	wwwauth_init(&x->wa);
	x->wa_seen = x->wa_bad = 0;
	x->ctype[0] = x->dcd[0] = '\0';
	x->ncl = x->cl_conflict = x->cl_bad = x->te = 0;
	x->cl = 0;
	x->retry_after = -1;
}

static size_t
xfer_abort(struct xfer *x, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static size_t
xfer_abort(struct xfer *x, int code, const char *fmt, ...)
{
	va_list ap;

	if (!x->aborted) {
		x->aborted = 1;
		x->abort_err.code = code;
		va_start(ap, fmt);
		vsnprintf(x->abort_err.msg, sizeof(x->abort_err.msg), fmt, ap);
		va_end(ap);
	}
	return 0;
}

static const char *
who(const struct xfer *x)
{
	if (x->role == ROLE_TOKEN)
		return "token server";
	return x->is_registry ? "registry" : "redirect target";
}

static int
manifest_type_ok(const char *ct)
{
	static const char *ok[] = { REG_MT_SCHEMA2, REG_MT_LIST, REG_MT_OCI,
	    REG_MT_OCIINDEX };
	size_t i, n;

	n = strcspn(ct, "; \t");
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strlen(ok[i]) == n && strncasecmp(ct, ok[i], n) == 0)
			return 1;
	return 0;
}

/* The header block of the final response is complete. */
static int
headers_done(struct xfer *x)
{
	const struct reg_req *r = x->f->r;
	char ct[64];
	long code = 0;

	curl_easy_getinfo(x->f->c->curl, CURLINFO_RESPONSE_CODE, &code);
	if (code >= 100 && code < 200) {
		xfer_reset_headers(x);
		return 1;
	}
	x->status = code;
	x->hdr_done = 1;
	if (x->cl_conflict)
		return (int)xfer_abort(x, PD_E_PROTO, "%s %s sent conflicting "
		    "Content-Length headers", who(x), x->o.key);
	if (x->cl_bad)
		return (int)xfer_abort(x, PD_E_PROTO, "%s %s sent an invalid "
		    "Content-Length header", who(x), x->o.key);
	if (x->te && x->ncl > 0)
		return (int)xfer_abort(x, PD_E_PROTO, "%s %s sent both "
		    "Transfer-Encoding and Content-Length", who(x), x->o.key);
	if (code != 200)
		return 1;
	if (x->to_fd && r->kind == REG_MANIFEST) {
		if (x->ctype[0] == '\0')
			return (int)xfer_abort(x, PD_E_PROTO, "%s %s sent the manifest "
			    "without a Content-Type", who(x), x->o.key);
		if (!manifest_type_ok(x->ctype)) {
			snprintf(ct, sizeof(ct), "%.60s", x->ctype);
			reg_sanitize(ct, 60);
			if (strncasecmp(x->ctype, REG_MT_SCHEMA1,
			    strlen(REG_MT_SCHEMA1)) == 0)
				return (int)xfer_abort(x, PD_E_PROTO, "%s/%s:%s is a "
				    "schema 1 manifest (%s), which is not supported",
				    x->f->r->host, r->repo, r->reference, ct);
			return (int)xfer_abort(x, PD_E_PROTO, "%s %s sent a manifest "
			    "of unsupported media type \"%s\"", who(x), x->o.key, ct);
		}
	}
	if (x->to_fd && x->ncl > 0 && x->cl > x->body_max) {
		if (r->kind == REG_MANIFEST)
			return (int)xfer_abort(x, PD_E_LIMIT, "manifest larger than "
			    "%llu bytes (Content-Length %llu)",
			    (unsigned long long)x->body_max,
			    (unsigned long long)x->cl);
		return (int)xfer_abort(x, PD_E_LIMIT, "blob %s is larger than its "
		    "descriptor: Content-Length %llu, expected %llu bytes",
		    r->reference, (unsigned long long)x->cl,
		    (unsigned long long)x->body_max);
	}
	if (!x->to_fd && x->ncl > 0 && x->cl > x->bufmax && (x->f->method == NULL ||
	    strcmp(x->f->method, "HEAD") != 0))
		return (int)xfer_abort(x, PD_E_LIMIT, "%s %s: response larger than "
		    "%zu bytes (Content-Length %llu)", who(x), x->o.key, x->bufmax,
		    (unsigned long long)x->cl);
	return 1;
}

static void
copy_value(char *dst, size_t dlen, const char *v, size_t vlen)
{
	if (vlen >= dlen)
		vlen = dlen - 1;
	memcpy(dst, v, vlen);
	dst[vlen] = '\0';
}

static size_t
header_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * nmemb, nlen, vlen;
	const char *colon, *v;
	char num[24];
	uint64_t cl;

	if (x->aborted)
		return 0;
	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		xfer_reset_headers(x);
		x->hdrbytes += len;
		return len;
	}
	x->hdrbytes += len;
	if (++x->nhdr > REG_HEADERS_COUNT || x->hdrbytes > REG_HEADERS_MAX)
		return xfer_abort(x, PD_E_LIMIT, "%s %s sent more than %d header "
		    "lines or %d bytes of headers", who(x), x->o.key,
		    REG_HEADERS_COUNT, REG_HEADERS_MAX);
	if (x->hdr_done)
		return len;			/* trailers: ignored */
	if ((len == 2 && p[0] == '\r' && p[1] == '\n') || (len == 1 &&
	    p[0] == '\n'))
		return headers_done(x) ? len : 0;
	/* Strip the line end; a CR left inside is a bare CR. */
	vlen = len;
	if (vlen > 0 && p[vlen - 1] == '\n')
		vlen--;
	if (vlen > 0 && p[vlen - 1] == '\r')
		vlen--;
	if ((colon = memchr(p, ':', vlen)) == NULL)
		return len;
	nlen = (size_t)(colon - p);
	v = colon + 1;
	vlen -= nlen + 1;
	while (vlen > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
#define IS(name) (nlen == sizeof(name) - 1 && strncasecmp(p, name, nlen) == 0)
	if (IS("Location")) {
		if (x->location != NULL)
			x->location_err = "more than one Location header";
		else if (vlen > REG_LOCATION_MAX)
			x->location_err = "Location is longer than 8192 bytes";
		else if (memchr(v, '\r', vlen) != NULL ||
		    memchr(v, '\0', vlen) != NULL)
			x->location_err = "Location contains CR or NUL";
		else {
			x->location = xmalloc(vlen + 1);
			copy_value(x->location, vlen + 1, v, vlen);
		}
	} else if (IS("WWW-Authenticate")) {
		x->wa_seen = 1;
		if (!x->wa_bad && wwwauth_parse(&x->wa, v, vlen, &x->wa_err) == -1)
			x->wa_bad = 1;
	} else if (IS("Content-Type"))
		copy_value(x->ctype, sizeof(x->ctype), v, vlen);
	else if (IS("Docker-Content-Digest"))
		copy_value(x->dcd, sizeof(x->dcd), v, vlen);
	else if (IS("Content-Length")) {
		if (vlen == 0 || vlen >= sizeof(num))
			x->cl_bad = 1;
		else {
			copy_value(num, sizeof(num), v, vlen);
			if (pd_parse_u64(num, &cl) == -1)
				x->cl_bad = 1;
			else if (x->ncl > 0 && cl != x->cl)
				x->cl_conflict = 1;
			x->cl = cl;
		}
		x->ncl++;
	} else if (IS("Transfer-Encoding"))
		x->te = 1;
	else if (IS("Retry-After")) {
		copy_value(num, sizeof(num), v, vlen);
		if (pd_parse_u64(num, &cl) == 0)
			x->retry_after = cl > 3600 ? 3600 : (long)cl;
	}
#undef IS
	return len;
}

static int
write_out(struct fetch *f, const char *p, size_t len, struct pd_err *e)
{
	struct pollfd pfd;
	int64_t left;
	ssize_t n;

	while (len > 0) {
		n = write(f->r->outfd, p, len);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			left = (int64_t)(f->deadline - pd_now_ms());
			pfd.fd = f->r->outfd;
			pfd.events = POLLOUT;
			if (left <= 0 || poll(&pfd, 1, left > 30000 ? 30000 :
			    (int)left) == 0)
				return pd_errf(e, PD_E_IO, "the broker stopped reading "
				    "the download");
			continue;
		}
		if (n == -1 && errno == EPIPE)
			return pd_errf(e, PD_E_IO, "the broker closed the pipe for "
			    "the download (EPIPE); stopped");
		return pd_errno(e, PD_E_IO, "write to the broker's pipe");
	}
	return 0;
}

static size_t
body_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	struct fetch *f = x->f;
	const struct reg_req *r = f->r;
	size_t len = size * nmemb, room;
	struct pd_err we;
	uint64_t now;

	if (x->aborted)
		return 0;
	if (!x->hdr_done)
		return xfer_abort(x, PD_E_PROTO, "%s %s: body before headers",
		    who(x), x->o.key);
	if (x->status == 200 && x->to_fd) {
		if (len > x->body_max - f->received) {
			if (r->kind == REG_MANIFEST)
				return xfer_abort(x, PD_E_LIMIT, "manifest larger than "
				    "%llu bytes", (unsigned long long)x->body_max);
			return xfer_abort(x, PD_E_LIMIT, "blob %s is larger than its "
			    "descriptor (%llu bytes)", r->reference,
			    (unsigned long long)x->body_max);
		}
		pd_sha256_update(f->sha, p, len);
		if (write_out(f, p, len, &we) == -1)
			return xfer_abort(x, we.code, "%s", we.msg);
		f->received += len;
		/* Not for the last chunk: FETCH_RESULT says that much. */
		if (r->kind == REG_BLOB && r->progress != NULL &&
		    f->received < r->max_size) {
			now = pd_now_ms();
			if (!f->progress_sent || now - f->last_progress >=
			    REG_PROGRESS_MS) {
				f->progress_sent = 1;
				f->last_progress = now;
				r->progress(r->progress_arg, f->progress_id,
				    f->received, r->max_size);
			}
		}
		return len;
	}
	room = x->bufmax - x->len;
	if (len > room) {
		if (x->status == 200)
			return xfer_abort(x, PD_E_LIMIT, "%s %s: response larger "
			    "than %zu bytes", who(x), x->o.key, x->bufmax);
		/* An error or redirect body: what we have is enough. */
		memcpy(x->buf + x->len, p, room);
		x->len += room;
		x->buf[x->len] = '\0';
		x->capped = 1;
		return 0;
	}
	memcpy(x->buf + x->len, p, len);
	x->len += len;
	x->buf[x->len] = '\0';
	return len;
}

static curl_socket_t
opensocket_cb(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct xfer *x = arg;
	struct reg_client *c = x->f->c;
	const void *ap;
	int cls;

	if (purpose == CURLSOCKTYPE_IPCXN && (x->f->r->proxy == NULL ||
	    x->f->r->proxy[0] == '\0')) {
		cls = reg_addr_class(&a->addr);
		if (x->is_registry) {
			snprintf(c->cls_origin, sizeof(c->cls_origin), "%s",
			    x->o.key);
			c->cls = cls;
		} else if (cls != REG_ADDR_PUBLIC && (cls == REG_ADDR_RESERVED ||
		    strcmp(c->cls_origin, x->f->reg.key) != 0 || cls != c->cls)) {
			x->addr_refused = 1;
			x->addr_cls = cls;
			ap = a->family == AF_INET6 ?
			    (const void *)&((struct sockaddr_in6 *)(void *)
			    &a->addr)->sin6_addr :
			    (const void *)&((struct sockaddr_in *)(void *)
			    &a->addr)->sin_addr;
			if (inet_ntop(a->family, ap, x->addr_ip,
			    sizeof(x->addr_ip)) == NULL)
				snprintf(x->addr_ip, sizeof(x->addr_ip), "?");
			return CURL_SOCKET_BAD;
		}
	}
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static void
lower_first(char *s)
{
	if (s[0] != '\0' && isupper((unsigned char)s[0]) &&
	    !isupper((unsigned char)s[1]))
		s[0] = (char)tolower((unsigned char)s[0]);
}

/* Turn a failed curl_easy_perform into an error that names the peer. */
static int
curl_fail(struct fetch *f, struct xfer *x, CURLcode rc, struct pd_err *e)
{
	struct reg_client *c = f->c;
	char eb[CURL_ERROR_SIZE], peer[640], oe[CURL_ERROR_SIZE];
	curl_off_t conn = 0;
	long oserr = 0;

	snprintf(eb, sizeof(eb), "%s", c->errbuf[0] != '\0' ? c->errbuf :
	    curl_easy_strerror(rc));
	eb[strcspn(eb, "\r\n")] = '\0';
	reg_sanitize(eb, 200);
	if (strncmp(eb, "OpenSSL", 7) != 0)
		lower_first(eb);
	snprintf(peer, sizeof(peer), "%s %s%s", who(x), x->is_registry &&
	    x->role != ROLE_TOKEN ? f->name : x->o.key, f->r->proxy != NULL &&
	    f->r->proxy[0] != '\0' ? " (through the configured proxy)" : "");
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
		return pd_errf(e, PD_E_UNAVAIL, "cannot resolve %s: %s", peer, eb);
	case CURLE_COULDNT_RESOLVE_PROXY:
		return pd_errf(e, PD_E_UNAVAIL, "cannot resolve the proxy: %s", eb);
	case CURLE_COULDNT_CONNECT:
		if (x->addr_refused)
			return pd_errf(e, PD_E_PROTO, "%s refused: %s %s resolves to "
			    "%s, a %s address, and the registry's address is not",
			    x->role == ROLE_TOKEN ? "token realm" : "redirect", who(x),
			    x->o.key, x->addr_ip, reg_addr_class_name(x->addr_cls));
		curl_easy_getinfo(c->curl, CURLINFO_OS_ERRNO, &oserr);
		if (oserr == ECONNREFUSED)
			snprintf(oe, sizeof(oe), "connection refused");
		else if (oserr != 0) {
			snprintf(oe, sizeof(oe), "%s", strerror((int)oserr));
			lower_first(oe);
		} else
			snprintf(oe, sizeof(oe), "%s", eb);
		return pd_errf(e, PD_E_UNAVAIL, "cannot connect to %s: %s", peer, oe);
	case CURLE_OPERATION_TIMEDOUT:
		curl_easy_getinfo(c->curl, CURLINFO_CONNECT_TIME_T, &conn);
		if (conn == 0 && strstr(eb, "onnection timed out") != NULL)
			return pd_errf(e, PD_E_UNAVAIL, "cannot connect to %s: timed "
			    "out after %ld s", peer, c->to.connect);
		if (strstr(eb, "too slow") != NULL)
			return pd_errf(e, PD_E_UNAVAIL, "timeout: %s sent less than "
			    "%d byte/s for %ld s", peer, REG_LOW_SPEED_LIMIT,
			    c->to.low_speed_time);
		return pd_errf(e, PD_E_UNAVAIL, "timeout: the %s download did not "
		    "finish within %ld s (%s)", f->r->kind == REG_BLOB ? "blob" :
		    "manifest", f->deadline_s, peer);
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_CLIENTCERT:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_USE_SSL_FAILED:
		return pd_errf(e, PD_E_UNAVAIL, "TLS error talking to %s: %s", peer,
		    eb);
	case CURLE_PARTIAL_FILE:
		return pd_errf(e, PD_E_UNAVAIL, "connection to %s closed before the "
		    "whole response arrived: %s", peer, eb);
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
		/* Over https, a failure before the handshake ended is TLS's. */
		curl_easy_getinfo(c->curl, CURLINFO_APPCONNECT_TIME_T, &conn);
		if (strcmp(x->o.scheme, "https") == 0 && (conn == 0 ||
		    strstr(eb, "SSL") != NULL))
			return pd_errf(e, PD_E_UNAVAIL, "TLS error talking to %s: %s",
			    peer, eb);
		return pd_errf(e, PD_E_UNAVAIL, "connection to %s failed: %s", peer,
		    eb);
	case CURLE_OUT_OF_MEMORY:
		return pd_errf(e, PD_E_LIMIT, "%s sent a response libcurl would not "
		    "buffer (a header line over 100 KiB?): %s", peer, eb);
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_BAD_CONTENT_ENCODING:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_TOO_MANY_REDIRECTS:
	case CURLE_FILESIZE_EXCEEDED:
		return pd_errf(e, PD_E_PROTO, "%s sent a response we refuse: %s",
		    peer, eb);
	default:
		return pd_errf(e, PD_E_UNAVAIL, "request to %s failed: %s", peer,
		    eb);
	}
}

/* Upload body: pread from the broker's fd, never buffered whole. */
static size_t
read_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	struct fetch *f = x->f;
	const struct reg_req *r = f->r;
	size_t want = size * nmemb;
	uint64_t left, now, done;
	ssize_t n;

	if (x->aborted)
		return CURL_READFUNC_ABORT;
	if (!f->upload)
		return 0;
	left = f->up_len - f->up_sent;
	if (want > left)
		want = (size_t)left;
	if (want == 0)
		return 0;
	do
		n = pread(r->infd, p, want, (off_t)(f->up_off + f->up_sent));
	while (n == -1 && errno == EINTR);
	if (n <= 0) {
		(void)xfer_abort(x, PD_E_IO, "reading the %s to push: %s",
		    r->kind == REG_PUSH_BLOB ? "blob" : "manifest", n == 0 ?
		    "unexpected end of file" : strerror(errno));
		return CURL_READFUNC_ABORT;
	}
	f->up_sent += (uint64_t)n;
	done = f->up_off + f->up_sent;
	if (r->kind == REG_PUSH_BLOB && r->progress != NULL &&
	    done < r->max_size) {
		now = pd_now_ms();
		if (!f->progress_sent || now - f->last_progress >=
		    REG_PROGRESS_MS) {
			f->progress_sent = 1;
			f->last_progress = now;
			r->progress(r->progress_arg, f->progress_id, done,
			    r->max_size);
		}
	}
	return (size_t)n;
}

static void
log_url(const char *method, const char *url, long status)
{
	char buf[512];

	/* No query: a CDN URL carries signatures there. */
	snprintf(buf, sizeof(buf), "%s", url);
	buf[strcspn(buf, "?#")] = '\0';
	reg_sanitize(buf, 300);
	log_debug("%s %s -> %ld", method, buf, status);
}

/* Run one HTTP request for x; the response is in x afterwards. */
static int
xfer_run(struct fetch *f, struct xfer *x, const char *authz,
    const char *post, struct pd_err *e)
{
	struct reg_client *c = f->c;
	CURL *h = c->curl;
	struct curl_slist *hdrs = NULL, *t;
	struct curl_blob ca, cert, key;
	const struct tlsmat *m;
	char *cabuf = NULL;
	uint64_t now = pd_now_ms();
	char ctline[PD_STR_SHORT + 32];
	CURLcode rc;
	int ret = -1;

	if (++f->nreq > (f->maxreq > 0 ? f->maxreq : REG_MAX_REQUESTS))
		return pd_errf(e, PD_E_PROTO, "gave up after %u HTTP requests for "
		    "one %s %s", f->maxreq > 0 ? f->maxreq : REG_MAX_REQUESTS,
		    f->maxreq > 0 ? "upload to" : "download from", f->name);
	if (now >= f->deadline)
		return pd_errf(e, PD_E_UNAVAIL, "timeout: the %s download did not "
		    "finish within %ld s", f->r->kind == REG_BLOB ? "blob" :
		    "manifest", f->deadline_s);
	curl_easy_reset(h);
	c->errbuf[0] = '\0';
	x->buf = xmalloc(x->bufmax + 1);
	x->buf[0] = '\0';
	xfer_reset_headers(x);

	if (f->r->kind == REG_MANIFEST && x->role == ROLE_REGISTRY)
		hdrs = curl_slist_append(hdrs, "Accept: " REG_MT_SCHEMA2 ", "
		    REG_MT_LIST ", " REG_MT_OCI ", " REG_MT_OCIINDEX);
	if (authz != NULL && (t = curl_slist_append(hdrs, authz)) != NULL)
		hdrs = t;
	if (x->role == ROLE_REGISTRY && f->accept != NULL &&
	    (t = curl_slist_append(hdrs, f->accept)) != NULL)
		hdrs = t;
	if (x->role == ROLE_REGISTRY && f->range != NULL &&
	    (t = curl_slist_append(hdrs, f->range)) != NULL)
		hdrs = t;
	if (x->role == ROLE_REGISTRY && f->upload && f->ctype != NULL) {
		snprintf(ctline, sizeof(ctline), "Content-Type: %s", f->ctype);
		if ((t = curl_slist_append(hdrs, ctline)) != NULL)
			hdrs = t;
	}
	if (post != NULL && (t = curl_slist_append(hdrs, "Content-Type: "
	    "application/x-www-form-urlencoded; charset=utf-8")) != NULL)
		hdrs = t;
	/* Never "Expect: 100-continue", never a Proxy-Authorization leak. */
	if ((t = curl_slist_append(hdrs, "Expect:")) != NULL)
		hdrs = t;

	curl_easy_setopt(h, CURLOPT_URL, x->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 0L);
	curl_easy_setopt(h, CURLOPT_UNRESTRICTED_AUTH, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
	curl_easy_setopt(h, CURLOPT_USERAGENT, REG_USER_AGENT);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_PROXY, f->r->proxy != NULL ? f->r->proxy : "");
	curl_easy_setopt(h, CURLOPT_NOPROXY, "");
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, c->to.connect);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, (long)REG_LOW_SPEED_LIMIT);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, c->to.low_speed_time);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(f->deadline - now));
	curl_easy_setopt(h, CURLOPT_HTTP_CONTENT_DECODING, 0L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, opensocket_cb);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, x);
	if (post != NULL) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(post));
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, post);
	} else if (x->role == ROLE_REGISTRY && f->method != NULL &&
	    strcmp(f->method, "HEAD") == 0)
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	else if (x->role == ROLE_REGISTRY && f->method != NULL &&
	    strcmp(f->method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
	} else if (x->role == ROLE_REGISTRY && f->method != NULL) {
		/* PUT or PATCH, the body streamed from the broker's fd. */
		f->up_sent = 0;
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
		curl_easy_setopt(h, CURLOPT_READDATA, x);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
		    (curl_off_t)(f->upload ? f->up_len : 0));
		if (strcmp(f->method, "PUT") != 0)
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, f->method);
	} else
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	/* Trust only what the broker sent: no compiled-in CA file or dir. */
	curl_easy_setopt(h, CURLOPT_CAINFO, NULL);
	curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	/* Debian's openssl.cnf level, which is unreachable in the chroot. */
	curl_easy_setopt(h, CURLOPT_SSL_CIPHER_LIST, "DEFAULT:@SECLEVEL=2");
	if (strcmp(x->o.scheme, "https") == 0) {
		if ((cabuf = ca_for(c, x->o.key, &ca.len)) == NULL) {
			pd_errf(e, PD_E_UNAVAIL, "no CA certificates were given for "
			    "%s %s: cannot verify its TLS certificate", who(x),
			    x->o.key);
			goto out;
		}
		ca.data = cabuf;
		ca.flags = CURL_BLOB_COPY;
		curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &ca);
		if ((m = tls_find(c, PD_TLS_CERT, x->o.key)) != NULL) {
			cert.data = m->pem;
			cert.len = m->len;
			cert.flags = CURL_BLOB_COPY;
			curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
			curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cert);
		}
		if ((m = tls_find(c, PD_TLS_KEY, x->o.key)) != NULL) {
			key.data = m->pem;
			key.len = m->len;
			key.flags = CURL_BLOB_COPY;
			curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
			curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &key);
		}
	}

	rc = curl_easy_perform(h);
	if (x->aborted) {
		*e = x->abort_err;
		goto out;
	}
	if (rc == CURLE_WRITE_ERROR && x->capped)
		rc = CURLE_OK;
	if (rc != CURLE_OK) {
		curl_fail(f, x, rc, e);
		goto out;
	}
	if (!x->hdr_done) {
		pd_errf(e, PD_E_PROTO, "%s %s sent no complete response", who(x),
		    x->o.key);
		goto out;
	}
	log_url(post != NULL ? "POST" : x->role == ROLE_REGISTRY &&
	    f->method != NULL ? f->method : "GET", x->url, x->status);
	ret = 0;
out:
	/* The handle keeps no pointer into our buffers past this point. */
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
	curl_slist_free_all(hdrs);
	if (cabuf != NULL)
		free(cabuf);
	return ret;
}

static int
is_redirect(long s)
{
	return s == 301 || s == 302 || s == 303 || s == 307 || s == 308;
}

/*
 * Issue a request and follow redirects by hand.  `authz` (a complete
 * header line) is attached only to requests whose origin is `authz_o`;
 * a POST body (it may hold a refresh token) only ever goes to the first
 * URL's origin.  Returns the final response in *out.
 */
static int
request(struct fetch *f, const char *url0, int role, const char *authz,
    const struct origin *authz_o, int to_fd, size_t bufmax, const char *post,
    struct xfer **out, struct pd_err *e)
{
	struct origin first;
	struct xfer *x;
	char *url, *next;
	int hops;

	*out = NULL;
	memset(&first, 0, sizeof(first));
	url = xstrdup(url0);
	for (hops = 0;; hops++) {
		x = xcalloc(1, sizeof(*x));
		x->f = f;
		x->url = url;
		x->role = role;
		x->to_fd = to_fd;
		x->body_max = f->r->max_size;
		x->bufmax = bufmax;
		if (url_origin(url, &x->o) == -1) {
			xfer_free(x);
			return pd_errf(e, PD_E_PROTO, "cannot parse URL");
		}
		if (hops == 0)
			first = x->o;
		x->is_registry = same_origin(&x->o, &f->reg);
		if (post != NULL && !same_origin(&x->o, &first)) {
			xfer_free(x);
			return pd_errf(e, PD_E_PROTO, "token server redirected a POST "
			    "carrying credentials to another origin; refused");
		}
		if (xfer_run(f, x, authz != NULL && same_origin(&x->o, authz_o) ?
		    authz : NULL, post, e) == -1) {
			xfer_free(x);
			return -1;
		}
		if (!is_redirect(x->status)) {
			*out = x;
			return 0;
		}
		if (post != NULL && x->status != 307 && x->status != 308) {
			pd_errf(e, PD_E_PROTO, "token server answered the POST with a "
			    "%ld redirect; refused", x->status);
			xfer_free(x);
			return -1;
		}
		if (hops == REG_MAX_REDIRECTS) {
			xfer_free(x);
			return pd_errf(e, PD_E_PROTO, "too many redirects (more than "
			    "%d) fetching from %s", REG_MAX_REDIRECTS, f->name);
		}
		if (x->location_err != NULL || x->location == NULL) {
			pd_errf(e, PD_E_PROTO, "redirect refused: %s %s sent a %ld "
			    "with %s", who(x), x->o.key, x->status,
			    x->location_err ? x->location_err : "no Location header");
			xfer_free(x);
			return -1;
		}
		if (reg_resolve_location(url, x->location, &next, e) == -1) {
			xfer_free(x);
			return -1;
		}
		if (strcmp(x->o.scheme, "https") == 0 &&
		    strncmp(next, "http:", 5) == 0) {
			pd_errf(e, PD_E_PROTO, "redirect refused: %s %s redirected "
			    "from https to plain http", who(x), x->o.key);
			xfer_free(x);
			free(next);
			return -1;
		}
		xfer_free(x);		/* frees url */
		url = next;
	}
}

/* errors[0].code/message of a registry error body, sanitized */
static void
error_detail(const struct xfer *x, char *code, size_t clen, char *msg,
    size_t mlen)
{
	json_t *j, *e0;
	const char *s;

	code[0] = msg[0] = '\0';
	if (x->len == 0 || (j = json_loadb(x->buf, x->len, 0, NULL)) == NULL)
		return;
	e0 = json_array_get(json_object_get(j, "errors"), 0);
	if ((s = json_string_value(json_object_get(e0, "code"))) != NULL)
		snprintf(code, clen, "%s", s);
	if ((s = json_string_value(json_object_get(e0, "message"))) != NULL)
		snprintf(msg, mlen, "%s", s);
	reg_sanitize(code, 40);
	reg_sanitize(msg, 200);
	json_decref(j);
}

static void
what_ref(const struct reg_req *r, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s%s%s", r->host, r->repo,
	    pd_digest_valid(r->reference) ? "@" : ":", r->reference);
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

static char *
basic_header(const char *user, const char *pass)
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

static void
free_secret(char **s)
{
	if (*s != NULL) {
		explicit_bzero(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

static int
has_creds(const struct reg_req *r)
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
token_key(const struct fetch *f, char *buf, size_t len)
{
	const char *act = push_kind(f->r) ? "pull,push" : "pull";

	snprintf(buf, len, "%s://%s %s repository(plugin):%s:%s "
	    "repository:%s:%s", f->reg.scheme, f->reg.key,
	    has_creds(f->r) ? f->r->username : "", f->r->repo, act, f->r->repo,
	    act);
}

/*
 * Get a token for the Bearer challenge.  The realm must be an absolute
 * http(s) URL; no downgrade to http from an https registry; credentials
 * go to the realm only over https, or over http to the registry's own
 * (insecure, broker-chosen) host.  Docker sends credentials to whatever
 * realm the registry names; so do we (docs/FETCHER.md, "Authentication").
 */
static int
get_token(struct fetch *f, const struct wwwauth_chal *ch, char **authz,
    int *kind, struct pd_err *e)
{
	const struct reg_req *r = f->r;
	const char *realm, *service;
	struct origin ro;
	struct xfer *x = NULL;
	char *url = NULL, *post = NULL, *cred = NULL, *tok = NULL, *rs;
	char key[1024], s1[PD_STR_SHORT + 32], s2[PD_STR_SHORT + 32];
	char code[64], msg[256];
	size_t ulen;
	long ttl;
	int creds = has_creds(r), rc = -1;

	realm = wwwauth_param(ch, "realm");
	service = wwwauth_param(ch, "service");
	if (realm == NULL || realm[0] == '\0')
		return pd_errf(e, PD_E_PROTO, "registry %s sent a Bearer challenge "
		    "without a realm", f->name);
	rs = xstrdup(realm);
	reg_sanitize(rs, 120);
	if (strncasecmp(realm, "https://", 8) != 0 &&
	    strncasecmp(realm, "http://", 7) != 0) {
		pd_errf(e, PD_E_PROTO, "token realm \"%s\" of registry %s is not an "
		    "absolute http or https URL", rs, f->name);
		goto out;
	}
	if (strlen(realm) > 2048 || url_origin(realm, &ro) == -1 ||
	    ro.host[0] == '\0') {
		pd_errf(e, PD_E_PROTO, "token realm \"%s\" of registry %s is not a "
		    "valid URL", rs, f->name);
		goto out;
	}
	if (strchr(realm, '#') != NULL || strchr(realm, '@') != NULL) {
		pd_errf(e, PD_E_PROTO, "token realm \"%s\" of registry %s has "
		    "credentials or a fragment; refused", rs, f->name);
		goto out;
	}
	if (strcmp(f->reg.scheme, "https") == 0 && strcmp(ro.scheme, "http") == 0) {
		pd_errf(e, PD_E_PROTO, "registry %s uses https but its token realm "
		    "%s is plain http; refused", f->name, rs);
		goto out;
	}
	if (creds && strcmp(ro.scheme, "http") == 0 &&
	    strcmp(ro.host, f->reg.host) != 0) {
		pd_errf(e, PD_E_AUTH, "refusing to send credentials for %s over "
		    "plain http to token server %s", f->name, ro.key);
		goto out;
	}
	if (service != NULL && strlen(service) > 512) {
		pd_errf(e, PD_E_PROTO, "registry %s sent a service name longer than "
		    "512 bytes", f->name);
		goto out;
	}
	snprintf(s1, sizeof(s1), "repository(plugin):%s:%s", r->repo,
	    push_kind(r) ? "pull,push" : "pull");
	snprintf(s2, sizeof(s2), "repository:%s:%s", r->repo,
	    push_kind(r) ? "pull,push" : "pull");
	ulen = strlen(realm) + 4096;
	url = xmalloc(ulen);
	snprintf(url, ulen, "%s", realm);
	if (creds && r->idtoken) {
		/* OAuth2 refresh-token grant (SPEC §8.6), form body. */
		post = xmalloc(8192 + strlen(r->secret) * 3);
		post[0] = '\0';
		if (url_escape_append(post, 8192 + strlen(r->secret) * 3,
		    "grant_type=refresh_token&client_id=plugind&refresh_token=",
		    r->secret) == -1 || (service != NULL && url_escape_append(post,
		    8192 + strlen(r->secret) * 3, "&service=", service) == -1)) {
			pd_errf(e, PD_E_INTERNAL, "cannot build the token request");
			goto out;
		}
		snprintf(key, sizeof(key), "%s %s", s1, s2);
		if (url_escape_append(post, 8192 + strlen(r->secret) * 3,
		    "&scope=", key) == -1) {
			pd_errf(e, PD_E_INTERNAL, "cannot build the token request");
			goto out;
		}
	} else {
		if ((service != NULL && url_escape_append(url, ulen,
		    strchr(realm, '?') ? "&service=" : "?service=", service) ==
		    -1) || url_escape_append(url, ulen, strchr(url, '?') ?
		    "&scope=" : "?scope=", s1) == -1 ||
		    url_escape_append(url, ulen, "&scope=", s2) == -1) {
			pd_errf(e, PD_E_INTERNAL, "cannot build the token request");
			goto out;
		}
		if (creds)
			cred = basic_header(r->username, r->secret);
	}
	if (request(f, url, ROLE_TOKEN, cred, &ro, 0, REG_TOKEN_BODY_MAX, post,
	    &x, e) == -1)
		goto out;
	if (x->status == 401 || x->status == 403) {
		pd_errf(e, PD_E_AUTH, "unauthorized: authentication required for "
		    "%s (%s)", f->name, creds ? "credentials were refused by the "
		    "token server" : "no credentials given");
		goto out;
	}
	if (x->status != 200) {
		error_detail(x, code, sizeof(code), msg, sizeof(msg));
		pd_errf(e, PD_E_UNAVAIL, "token server %s answered %ld %s%s%s",
		    x->o.key, x->status, status_text(x->status), msg[0] ? ": " : "",
		    msg);
		goto out;
	}
	if (reg_parse_token(x->buf, x->len, &tok, &ttl, e) == -1)
		goto out;
	*authz = xasprintf("Authorization: Bearer %s", tok);
	*kind = creds ? AUTH_BEARER_CREDS : AUTH_BEARER_ANON;
	token_key(f, key, sizeof(key));
	token_store(f->c, key, *authz, ttl);
	rc = 0;
out:
	free(rs);
	free(url);
	free_secret(&post);
	free_secret(&cred);
	free_secret(&tok);
	xfer_free(x);
	return rc;
}

/* 401 from the registry: pick a challenge and get an Authorization. */
static int
answer_challenge(struct fetch *f, struct xfer *x, char **authz, int *kind,
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
		if (!has_creds(r))
			return pd_errf(e, PD_E_AUTH, "unauthorized: authentication "
			    "required for %s (no credentials given)", f->name);
		if (r->idtoken)
			return pd_errf(e, PD_E_AUTH, "registry %s asks for Basic "
			    "authentication, which an identity token cannot do",
			    f->name);
		*authz = basic_header(r->username, r->secret);
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

static int
check_request(const struct reg_req *r, struct pd_err *e)
{
	if (r->kind != REG_MANIFEST && r->kind != REG_BLOB)
		return pd_errf(e, PD_E_INVAL, "unknown fetch kind %d", r->kind);
	if (r->scheme == NULL || (strcmp(r->scheme, "https") != 0 &&
	    strcmp(r->scheme, "http") != 0))
		return pd_errf(e, PD_E_INVAL, "scheme must be http or https");
	if (r->host == NULL || !reg_valid_host(r->host))
		return pd_errf(e, PD_E_INVAL, "invalid registry host");
	if (r->repo == NULL || !reg_valid_repo(r->repo))
		return pd_errf(e, PD_E_INVAL, "invalid repository name");
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
retryable(long s)
{
	return s == 408 || s == 429 || s == 502 || s == 503 || s == 504;
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

static void
sleep_ms(uint64_t ms)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int
fail_status(struct fetch *f, struct xfer *x, int kind, struct pd_err *e)
{
	const struct reg_req *r = f->r;
	char what[PD_STR_SHORT * 3 + 8], code[64], msg[256];

	what_ref(r, what, sizeof(what));
	error_detail(x, code, sizeof(code), msg, sizeof(msg));
	if (x->status == 401) {
		if (!x->is_registry)
			return pd_errf(e, PD_E_AUTH, "unauthorized: %s %s asked for "
			    "authentication; registry credentials are never sent to "
			    "another origin", who(x), x->o.key);
		return pd_errf(e, PD_E_AUTH, "unauthorized: authentication required "
		    "for %s (%s)", f->name, kind == AUTH_BASIC ||
		    kind == AUTH_BASIC_CACHED || kind == AUTH_BEARER_CREDS ||
		    (kind == AUTH_BEARER_CACHED && has_creds(r)) ?
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
		    "whole %s", who(x), x->o.key, x->status, status_text(x->status),
		    r->kind == REG_BLOB ? "blob" : "manifest");
	if (x->status >= 500 || retryable(x->status))
		return pd_errf(e, PD_E_UNAVAIL, "%s %s answered %ld %s%s%s",
		    who(x), x->is_registry ? f->name : x->o.key, x->status,
		    status_text(x->status), msg[0] ? ": " : "", msg);
	return pd_errf(e, PD_E_PROTO, "%s %s answered unexpected status %ld "
	    "%s%s%s", who(x), x->is_registry ? f->name : x->o.key, x->status,
	    status_text(x->status), msg[0] ? ": " : "", msg);
}

/*
 * One transfer's state, fetch or push: the client's default timeouts
 * filled in, and an overall deadline that grows with the size allowed.
 */
static void
fetch_init(struct fetch *f, struct reg_client *c, const struct reg_req *r)
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

int
reg_fetch(struct reg_client *c, const struct reg_req *r, struct reg_res *res,
    struct pd_err *e)
{
	struct fetch f;
	struct xfer *x = NULL;
	struct token *t;
	char *url = NULL, *authz = NULL, key[1024];
	int kind = AUTH_NONE, rounds = 0, retries = 0, rc = -1;
	uint64_t wait;

	memset(res, 0, sizeof(*res));
	if (check_request(r, e) == -1)
		return -1;
	fetch_init(&f, c, r);
	if (r->kind == REG_BLOB)
		snprintf(f.progress_id, sizeof(f.progress_id), "%s",
		    pd_digest_hex(r->reference));
	if ((f.sha = pd_sha256_new()) == NULL)
		return pd_errf(e, PD_E_INTERNAL, "cannot start SHA-256");
	url = xasprintf("%s://%s/v2/%s/%s/%s", r->scheme, r->host, r->repo,
	    r->kind == REG_MANIFEST ? "manifests" : "blobs", r->reference);
	if (url_origin(url, &f.reg) == -1) {
		pd_errf(e, PD_E_INVAL, "cannot build a URL for %s", r->host);
		goto out;
	}

	/* Start with what earlier requests of this job learned. */
	token_key(&f, key, sizeof(key));
	if ((t = token_lookup(c, key)) != NULL) {
		authz = xstrdup(t->value);
		kind = AUTH_BEARER_CACHED;
	} else if (basic_known(c, f.reg.key) && has_creds(r) && !r->idtoken) {
		authz = basic_header(r->username, r->secret);
		kind = AUTH_BASIC_CACHED;
	}

	for (;;) {
		if (request(&f, url, ROLE_REGISTRY, authz, &f.reg, 1,
		    REG_ERRBODY_MAX, NULL, &x, e) == -1)
			goto out;
		if (x->status == 200 && x->to_fd)
			break;
		/*
		 * Answer a challenge when we sent nothing, or only what an
		 * earlier request of the job learned; at most twice.
		 */
		if (x->status == 401 && x->is_registry && rounds < 2 &&
		    (kind == AUTH_NONE || kind == AUTH_BEARER_CACHED ||
		    kind == AUTH_BASIC_CACHED)) {
			if (kind == AUTH_BEARER_CACHED)
				token_drop(c, key);
			free_secret(&authz);
			kind = AUTH_NONE;
			rounds++;
			if (answer_challenge(&f, x, &authz, &kind, e) == -1)
				goto out;
			xfer_free(x);
			x = NULL;
			continue;
		}
		if (retryable(x->status) && retries < REG_RETRIES) {
			retries++;
			wait = (uint64_t)(x->retry_after >= 0 ? x->retry_after : 1) *
			    1000;
			if (wait > REG_RETRY_WAIT_MAX * 1000)
				wait = REG_RETRY_WAIT_MAX * 1000;
			if (pd_now_ms() + wait >= f.deadline)
				wait = 0;
			log_debug("%s answered %ld; retrying in %llu ms", f.name,
			    x->status, (unsigned long long)wait);
			sleep_ms(wait);
			xfer_free(x);
			x = NULL;
			continue;
		}
		fail_status(&f, x, kind, e);
		goto out;
	}
	rc = finish(&f, x, res, e);
out:
	if (rc == -1)
		reg_sanitize(e->msg, sizeof(e->msg) - 1);
	xfer_free(x);
	free(url);
	free_secret(&authz);
	pd_sha256_free(f.sha);
	return rc;
}

/* ---- pushes (docs/FETCHER.md, "Push") ---- */

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
		if (request(f, url, ROLE_REGISTRY, *authz, &f->reg, 0,
		    REG_ERRBODY_MAX, NULL, &x, e) == -1)
			return -1;
		if (x->status == 401 && x->is_registry && rounds < 2 &&
		    (*kind == AUTH_NONE || *kind == AUTH_BEARER_CACHED ||
		    *kind == AUTH_BASIC_CACHED)) {
			if (*kind == AUTH_BEARER_CACHED)
				token_drop(f->c, key);
			free_secret(authz);
			*kind = AUTH_NONE;
			rounds++;
			if (answer_challenge(f, x, authz, kind, e) == -1) {
				xfer_free(x);
				return -1;
			}
			xfer_free(x);
			continue;
		}
		if (retryable(x->status) && retries < REG_RETRIES) {
			retries++;
			wait = (uint64_t)(x->retry_after >= 0 ? x->retry_after : 1) *
			    1000;
			if (wait > REG_RETRY_WAIT_MAX * 1000)
				wait = REG_RETRY_WAIT_MAX * 1000;
			if (pd_now_ms() + wait >= f->deadline)
				wait = 0;
			sleep_ms(wait);
			xfer_free(x);
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
		return fail_status(f, x, kind, e);
	error_detail(x, code, sizeof(code), msg, sizeof(msg));
	if (strcmp(code, "DIGEST_INVALID") == 0)
		return pd_errf(e, PD_E_DIGEST, "digest mismatch: registry %s "
		    "rejected %s: %s", f->name, what, msg[0] ? msg :
		    "digest invalid");
	return pd_errf(e, x->status >= 500 ? PD_E_UNAVAIL : PD_E_PROTO,
	    "%s %s answered %ld %s to the %s of %s%s%s%s%s", who(x),
	    x->is_registry ? f->name : x->o.key, x->status,
	    status_text(x->status), f->method ? f->method : "GET", what,
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
	if (url_origin(*out, &o) == -1 || !same_origin(&o, &f->reg)) {
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
	fetch_init(&f, c, r);
	f.maxreq = REG_MAX_REQUESTS + (unsigned)(r->max_size / REG_PUSH_CHUNK);
	snprintf(f.progress_id, sizeof(f.progress_id), "%s",
	    r->kind == REG_PUSH_BLOB ? pd_digest_hex(r->reference) : "");
	snprintf(what, sizeof(what), "%s %s", r->kind == REG_PUSH_BLOB ? "blob" :
	    "manifest", r->reference);
	url = xasprintf("%s://%s/v2/%s/%s", r->scheme, r->host, r->repo,
	    r->kind == REG_PUSH_BLOB ? "blobs/" : "manifests/");
	if (url_origin(url, &f.reg) == -1) {
		pd_errf(e, PD_E_INVAL, "cannot build a URL for %s", r->host);
		goto out;
	}
	token_key(&f, key, sizeof(key));
	if ((t = token_lookup(c, key)) != NULL) {
		authz = xstrdup(t->value);
		kind = AUTH_BEARER_CACHED;
	} else if (basic_known(c, f.reg.key) && has_creds(r) && !r->idtoken) {
		authz = basic_header(r->username, r->secret);
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
	xfer_free(x);
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
		xfer_free(x);
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
	xfer_free(x);
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
	xfer_free(x);
	free(url);
	free(loc);
	free_secret(&authz);
	return rc;
}

#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"
#include "ref.h"
#include "util.h"

#define ERR_FORMAT	"invalid reference format"
#define PD_REF_INPUT_MAX	(1024 * 1024)

struct span {
	const char	*p;
	size_t		 n;
};

struct ref_parts {
	struct span	domain;
	struct span	path;
	struct span	tag;
	struct span	digest;
};

static int
is_lower_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_alnum(int c)
{
	return is_alpha(c) || (c >= '0' && c <= '9');
}

static int
is_hex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

static int
is_lower_hex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static int
has_upper(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			return 1;
	return 0;
}

/* [a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)* */
static int
match_component(const char *s, size_t n)
{
	size_t i = 0;

	for (;;) {
		if (i == n || !is_lower_alnum(s[i]))
			return 0;
		while (i < n && is_lower_alnum(s[i]))
			i++;
		if (i == n)
			return 1;
		if (s[i] == '.')
			i++;
		else if (s[i] == '_') {
			i++;
			if (i < n && s[i] == '_')
				i++;
		} else if (s[i] == '-') {
			while (i < n && s[i] == '-')
				i++;
		} else
			return 0;
	}
}

static int
match_path(const char *s, size_t n)
{
	const char *slash;
	size_t len;

	for (;;) {
		slash = memchr(s, '/', n);
		len = slash == NULL ? n : (size_t)(slash - s);
		if (!match_component(s, len))
			return 0;
		if (slash == NULL)
			return 1;
		s += len + 1;
		n -= len + 1;
	}
}

/* (?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]) joined by "." */
static int
match_hostname(const char *s, size_t n)
{
	size_t i = 0, start;

	for (;;) {
		start = i;
		while (i < n && s[i] != '.') {
			if (!is_alnum(s[i]) && s[i] != '-')
				return 0;
			i++;
		}
		if (i == start || s[start] == '-' || s[i - 1] == '-')
			return 0;
		if (i == n)
			return 1;
		i++;
	}
}

static int
match_port(const char *s, size_t n)
{
	unsigned long v = 0;
	size_t i;

	if (n == 0 || n > 5)
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

/* host[:port]; host is a DNS-style name or a bracketed IPv6 address. */
static int
match_domain(const char *s, size_t n)
{
	struct in6_addr a6;
	char buf[INET6_ADDRSTRLEN];
	const char *end, *colon;
	size_t hlen, i;

	if (n == 0)
		return 0;
	if (s[0] == '[') {
		if ((end = memchr(s, ']', n)) == NULL)
			return 0;
		hlen = (size_t)(end - s) - 1;
		if (hlen == 0 || hlen >= sizeof(buf))
			return 0;
		for (i = 1; i <= hlen; i++)
			if (!is_hex(s[i]) && s[i] != ':')
				return 0;
		memcpy(buf, s + 1, hlen);
		buf[hlen] = '\0';
		if (inet_pton(AF_INET6, buf, &a6) != 1)
			return 0;
		hlen += 2;
	} else {
		colon = memchr(s, ':', n);
		hlen = colon == NULL ? n : (size_t)(colon - s);
		if (!match_hostname(s, hlen))
			return 0;
	}
	if (hlen == n)
		return 1;
	return s[hlen] == ':' && match_port(s + hlen + 1, n - hlen - 1);
}

/* [\w][\w.-]{0,127} */
static int
match_tag(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > PD_REF_TAG_MAX)
		return 0;
	if (!is_alnum(s[0]) && s[0] != '_')
		return 0;
	for (i = 1; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '_' && s[i] != '.' &&
		    s[i] != '-')
			return 0;
	return 1;
}

/* [A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,} */
static int
match_digest(const char *s, size_t n)
{
	size_t i = 0, h;

	for (;;) {
		if (i == n || !is_alpha(s[i]))
			return 0;
		i++;
		while (i < n && is_alnum(s[i]))
			i++;
		if (i < n && (s[i] == '-' || s[i] == '_' || s[i] == '+' ||
		    s[i] == '.')) {
			i++;
			continue;
		}
		break;
	}
	if (i == n || s[i] != ':')
		return 0;
	for (h = ++i; i < n; i++)
		if (!is_hex(s[i]))
			return 0;
	return n - h >= 32;
}

/*
 * The anchored reference grammar.  No part of a name or tag may hold "@",
 * and only a tag may follow the last "/" after a ":", so the separators
 * are found by position; the domain, when the first component is one, is
 * preferred over reading the whole name as a path (RE2 leftmost-first).
 */
static int
ref_match(const char *s, size_t n, struct ref_parts *rp)
{
	const char *at, *colon, *slash, *p;
	size_t nlen, i;

	memset(rp, 0, sizeof(*rp));
	nlen = n;
	if ((at = memchr(s, '@', n)) != NULL) {
		nlen = (size_t)(at - s);
		rp->digest.p = at + 1;
		rp->digest.n = n - nlen - 1;
		if (!match_digest(rp->digest.p, rp->digest.n))
			return 0;
	}
	colon = slash = NULL;
	for (p = s; p < s + nlen; p++) {
		if (*p == ':')
			colon = p;
		else if (*p == '/')
			slash = p;
	}
	if (colon != NULL && (slash == NULL || colon > slash)) {
		rp->tag.p = colon + 1;
		rp->tag.n = nlen - (size_t)(colon - s) - 1;
		if (!match_tag(rp->tag.p, rp->tag.n))
			return 0;
		nlen = (size_t)(colon - s);
	}
	if ((slash = memchr(s, '/', nlen)) != NULL) {
		i = (size_t)(slash - s);
		if (match_domain(s, i) && match_path(slash + 1, nlen - i - 1)) {
			rp->domain.p = s;
			rp->domain.n = i;
			rp->path.p = slash + 1;
			rp->path.n = nlen - i - 1;
			return 1;
		}
	}
	if (!match_path(s, nlen))
		return 0;
	rp->path.p = s;
	rp->path.n = nlen;
	return 1;
}

static int
is_hex64(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!is_lower_hex(s[i]))
			return 0;
	return s[i] == '\0';
}

/* Copy for an error message: no control or non-ASCII bytes. */
static void
printable(char *dst, size_t len, const char *s, size_t n)
{
	size_t i;

	if (n >= len)
		n = len - 1;
	for (i = 0; i < n; i++)
		dst[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	dst[n] = '\0';
}

static int
check_digest(struct span d, struct pd_err *e)
{
	const char *colon;
	size_t alen, i;
	char alg[64];

	colon = memchr(d.p, ':', d.n);
	alen = (size_t)(colon - d.p);
	if (alen == 6 && memcmp(d.p, "sha256", 6) == 0) {
		if (d.n - alen - 1 != 64)
			return pd_errf(e, PD_E_INVAL,
			    "invalid checksum digest length");
		for (i = alen + 1; i < d.n; i++)
			if (!is_lower_hex(d.p[i]))
				return pd_errf(e, PD_E_INVAL,
				    "invalid checksum digest format");
		return 0;
	}
	for (i = 0; i < alen; i++)
		if (d.p[i] >= 'A' && d.p[i] <= 'Z')
			return pd_errf(e, PD_E_INVAL,
			    "invalid checksum digest format");
	printable(alg, sizeof(alg), d.p, alen);
	return pd_errf(e, PD_E_INVAL,
	    "unsupported digest algorithm: %s (only sha256 is supported)", alg);
}

static int
parse_full(const char *full, struct pd_ref *out, struct pd_err *e)
{
	struct ref_parts rp;
	char *low;
	size_t n, i;
	int ok;

	n = strlen(full);
	if (!ref_match(full, n, &rp)) {
		low = xstrdup(full);
		for (i = 0; i < n; i++)
			if (low[i] >= 'A' && low[i] <= 'Z')
				low[i] += 'a' - 'A';
		ok = ref_match(low, n, &rp);
		free(low);
		if (ok)
			return pd_errf(e, PD_E_INVAL,
			    "repository name must be lowercase");
		return pd_errf(e, PD_E_INVAL, ERR_FORMAT);
	}
	if (rp.domain.n == 0)
		return pd_errf(e, PD_E_INVAL, ERR_FORMAT);
	if (rp.path.n > PD_REF_PATH_MAX)
		return pd_errf(e, PD_E_INVAL,
		    "repository name must not be more than %d characters",
		    PD_REF_PATH_MAX);
	if (rp.digest.p != NULL && check_digest(rp.digest, e) == -1)
		return -1;
	if (rp.domain.n >= sizeof(out->domain))
		return pd_errf(e, PD_E_INVAL,
		    ERR_FORMAT ": domain name too long");
	memcpy(out->domain, rp.domain.p, rp.domain.n);
	memcpy(out->path, rp.path.p, rp.path.n);
	if (rp.tag.p != NULL)
		memcpy(out->tag, rp.tag.p, rp.tag.n);
	if (rp.digest.p != NULL)
		memcpy(out->digest, rp.digest.p, rp.digest.n);
	return 0;
}

int
pd_ref_parse(const char *s, struct pd_ref *out, struct pd_err *e)
{
	struct pd_ref r;
	const char *dom = PD_REF_DEFAULT_DOMAIN, *rest, *slash, *prefix = "";
	char remote[600], *full;
	size_t domlen, rlen, plen, n;
	int rc;

	memset(out, 0, sizeof(*out));
	if (s == NULL || strlen(s) > PD_REF_INPUT_MAX)
		return pd_errf(e, PD_E_INVAL, ERR_FORMAT);
	if (is_hex64(s))
		return pd_errf(e, PD_E_INVAL, "invalid repository name (%s), "
		    "cannot specify 64-byte hexadecimal strings", s);

	domlen = strlen(dom);
	rest = s;
	if ((slash = strchr(s, '/')) != NULL) {
		n = (size_t)(slash - s);
		if (n == 15 && memcmp(s, "index.docker.io", n) == 0)
			rest = slash + 1;
		else if ((n == 9 && memcmp(s, "localhost", n) == 0) ||
		    memchr(s, '.', n) != NULL || memchr(s, ':', n) != NULL ||
		    has_upper(s, n)) {
			dom = s;
			domlen = n;
			rest = slash + 1;
		}
	}
	rlen = strlen(rest);
	if (domlen == strlen(PD_REF_DEFAULT_DOMAIN) &&
	    memcmp(dom, PD_REF_DEFAULT_DOMAIN, domlen) == 0 &&
	    strchr(rest, '/') == NULL)
		prefix = "library/";

	n = strcspn(rest, ":");
	if (has_upper(rest, n)) {
		plen = strlen(prefix);
		memcpy(remote, prefix, plen);
		printable(remote + plen, sizeof(remote) - plen, rest, n);
		return pd_errf(e, PD_E_INVAL, ERR_FORMAT ": repository name "
		    "(%s) must be lowercase", remote);
	}

	full = xasprintf("%.*s/%s%.*s", (int)domlen, dom, prefix, (int)rlen,
	    rest);
	memset(&r, 0, sizeof(r));
	rc = parse_full(full, &r, e);
	free(full);
	if (rc == 0)
		*out = r;
	return rc;
}

void
pd_ref_tag_default(struct pd_ref *r)
{
	if (r->tag[0] == '\0' && r->digest[0] == '\0')
		snprintf(r->tag, sizeof(r->tag), "%s", PD_REF_DEFAULT_TAG);
}

static int
ref_format(const char *domain, const char *path, const struct pd_ref *r,
    char *buf, size_t len)
{
	int n;

	n = snprintf(buf, len, "%s%s%s%s%s%s%s", domain, domain[0] ? "/" : "",
	    path, r->tag[0] ? ":" : "", r->tag, r->digest[0] ? "@" : "",
	    r->digest);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
pd_ref_full(const struct pd_ref *r, char *buf, size_t len)
{
	return ref_format(r->domain, r->path, r, buf, len);
}

int
pd_ref_familiar(const struct pd_ref *r, char *buf, size_t len)
{
	const char *path = r->path;

	if (strcmp(r->domain, PD_REF_DEFAULT_DOMAIN) != 0)
		return ref_format(r->domain, path, r, buf, len);
	if (strncmp(path, "library/", 8) == 0 && strchr(path + 8, '/') == NULL)
		path += 8;
	return ref_format("", path, r, buf, len);
}

int
pd_ref_repo_url_host(const struct pd_ref *r, char *buf, size_t len)
{
	const char *host = r->domain;
	int n;

	if (strcmp(host, PD_REF_DEFAULT_DOMAIN) == 0)
		host = "registry-1.docker.io";
	if (!match_domain(host, strlen(host)))
		return -1;
	n = snprintf(buf, len, "%s", host);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
pd_ref_is_loopback(const struct pd_ref *r)
{
	struct in6_addr a6;
	struct in_addr a4;
	char host[256];
	const char *d = r->domain, *end;
	size_t n;

	if (!match_domain(d, strlen(d)))
		return 0;
	if (d[0] == '[') {
		end = strchr(d, ']');
		n = (size_t)(end - d) - 1;
		memcpy(host, d + 1, n);
		host[n] = '\0';
		if (inet_pton(AF_INET6, host, &a6) != 1)
			return 0;
		if (IN6_IS_ADDR_LOOPBACK(&a6))
			return 1;
		return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
	}
	n = strcspn(d, ":");
	if (n >= sizeof(host))
		return 0;
	memcpy(host, d, n);
	host[n] = '\0';
	if (strcasecmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) != 1)
		return 0;
	return (ntohl(a4.s_addr) >> 24) == 127;
}

int
pd_valid_plugin_id(const char *s)
{
	return s != NULL && is_hex64(s);
}

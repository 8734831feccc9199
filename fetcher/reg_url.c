/*
 * Registry client: names, addresses and URLs.  The grammar checks for
 * repository, tag and host, the address classes the redirect rules use,
 * origins and Location resolution (docs/FETCHER.md, "Redirects").
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
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

static int
is_lower_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* distribution's name grammar (the distribution spec), at most 255 bytes */
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

int
reg_url_origin(const char *url, struct origin *o)
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

int
reg_same_origin(const struct origin *a, const struct origin *b)
{
	return strcmp(a->scheme, b->scheme) == 0 && strcmp(a->key, b->key) == 0;
}

/* Canonical "host:port" of a FETCH_TLS host field; "" stays "". */
int
reg_tls_origin(const char *in, char *out, size_t len)
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

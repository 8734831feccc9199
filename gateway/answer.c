/*
 * The plugin's HTTP answer, strictly: a status line "HTTP/1.x NNN",
 * headers within GW_HDR_MAX, and a body framed by Content-Length,
 * chunked coding or the end of the connection, within GW_BODY_MAX.
 * Anything else is refused; nothing here trusts a length it has not
 * bounded.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "util.h"

/* Room for the headers, the body and the framing of 4 KiB chunks. */
#define GW_BUF_MAX	(GW_HDR_MAX + GW_BODY_MAX + GW_BODY_MAX / 256 + 64)

void
gw_answer_init(struct gw_answer *a)
{
	if (a->buf == NULL)
		a->buf = xmalloc(GW_BUF_MAX);
	if (a->dec == NULL)
		a->dec = xmalloc(GW_BODY_MAX + 1);
	a->cap = GW_BUF_MAX;
	a->len = 0;
	a->eof = 0;
	a->status = 0;
	a->hlen = 0;
	a->clen = -1;
	a->chunked = 0;
	a->body = NULL;
	a->blen = 0;
}

void
gw_answer_free(struct gw_answer *a)
{
	a->len = 0;
}

static int
refuse(char *err, size_t len, const char *why)
{
	snprintf(err, len, "refused the plugin's answer: %s", why);
	return -1;
}

/* The value of header `name` in the header block h (NUL-free), or NULL. */
static const char *
header(const char *h, size_t hlen, const char *name, size_t *vlen)
{
	const char *p = memchr(h, '\n', hlen), *end = h + hlen, *eol;
	size_t n = strlen(name);

	while (p != NULL && ++p < end) {
		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			break;
		if ((size_t)(eol - p) > n && strncasecmp(p, name, n) == 0 &&
		    p[n] == ':') {
			p += n + 1;
			while (p < eol && (*p == ' ' || *p == '\t'))
				p++;
			*vlen = (size_t)(eol - p);
			while (*vlen > 0 && (p[*vlen - 1] == '\r' ||
			    p[*vlen - 1] == ' ' || p[*vlen - 1] == '\t'))
				(*vlen)--;
			return p;
		}
		p = eol;
	}
	return NULL;
}

static int
parse_head(struct gw_answer *a, char *err, size_t errlen)
{
	const char *v, *e;
	size_t vl, n, i;

	n = a->len < GW_HDR_MAX ? a->len : GW_HDR_MAX;
	if ((e = memmem(a->buf, n, "\r\n\r\n", 4)) == NULL) {
		if (a->len >= GW_HDR_MAX)
			return refuse(err, errlen, "headers over 64 KiB");
		return a->eof ? refuse(err, errlen, "cut off in its headers") : 0;
	}
	a->hlen = (size_t)(e - a->buf) + 4;
	if (memchr(a->buf, '\0', a->hlen) != NULL)
		return refuse(err, errlen, "a NUL in its headers");
	if (a->hlen < 14 || memcmp(a->buf, "HTTP/1.", 7) != 0 ||
	    (a->buf[7] != '0' && a->buf[7] != '1') || a->buf[8] != ' ' ||
	    !isdigit((unsigned char)a->buf[9]) ||
	    !isdigit((unsigned char)a->buf[10]) ||
	    !isdigit((unsigned char)a->buf[11]) ||
	    (a->buf[12] != ' ' && a->buf[12] != '\r'))
		return refuse(err, errlen, "not an HTTP/1.x status line");
	a->status = atoi(a->buf + 9);
	if (a->status < 100 || a->status > 599)
		return refuse(err, errlen, "a bad status");
	if ((v = header(a->buf, a->hlen, "Transfer-Encoding", &vl)) != NULL) {
		if (vl != 7 || strncasecmp(v, "chunked", 7) != 0)
			return refuse(err, errlen, "an unknown transfer coding");
		a->chunked = 1;
	} else if ((v = header(a->buf, a->hlen, "Content-Length", &vl)) !=
	    NULL) {
		if (vl == 0 || vl > 8)
			return refuse(err, errlen, "a body over 1 MiB");
		a->clen = 0;
		for (i = 0; i < vl; i++) {
			if (!isdigit((unsigned char)v[i]))
				return refuse(err, errlen, "a bad Content-Length");
			a->clen = a->clen * 10 + (v[i] - '0');
		}
		if (a->clen > GW_BODY_MAX)
			return refuse(err, errlen, "a body over 1 MiB");
	}
	return 1;
}

/* Decode the chunked body so far: 1 complete, 0 more, -1 refused. */
static int
dechunk(struct gw_answer *a, char *err, size_t errlen)
{
	const char *p = a->buf + a->hlen, *end = a->buf + a->len, *eol;
	unsigned long sz;
	size_t out = 0;
	int digits;

	for (;;) {
		if ((eol = memmem(p, (size_t)(end - p), "\r\n", 2)) == NULL)
			break;
		for (sz = 0, digits = 0; p < eol && isxdigit((unsigned char)*p);
		    p++, digits++) {
			if (digits == 7)
				return refuse(err, errlen, "a body over 1 MiB");
			sz = sz * 16 + (unsigned long)(isdigit((unsigned char)*p) ?
			    *p - '0' : (tolower((unsigned char)*p) - 'a' + 10));
		}
		if (digits == 0 || (p != eol && *p != ';'))
			return refuse(err, errlen, "bad chunked coding");
		p = eol + 2;
		if (sz == 0) {
			/* Trailers up to an empty line: skipped. */
			while ((eol = memmem(p, (size_t)(end - p), "\r\n", 2)) !=
			    NULL && eol != p)
				p = eol + 2;
			if (eol == NULL)
				break;
			a->body = a->dec;
			a->blen = out;
			return 1;
		}
		if (out + sz > GW_BODY_MAX)
			return refuse(err, errlen, "a body over 1 MiB");
		if ((size_t)(end - p) < sz + 2)
			break;
		if (p[sz] != '\r' || p[sz + 1] != '\n')
			return refuse(err, errlen, "bad chunked coding");
		memcpy(a->dec + out, p, sz);
		out += sz;
		p += sz + 2;
	}
	return a->eof ? refuse(err, errlen, "cut off in its body") : 0;
}

int
gw_answer_parse(struct gw_answer *a, char *err, size_t errlen)
{
	size_t have;
	int r;

	if (a->hlen == 0 && (r = parse_head(a, err, errlen)) != 1)
		return r;
	have = a->len - a->hlen;
	if (a->chunked)
		return dechunk(a, err, errlen);
	if (a->clen >= 0) {
		if (have < (size_t)a->clen)
			return a->eof ? refuse(err, errlen,
			    "cut off in its body") : 0;
		a->body = a->buf + a->hlen;
		a->blen = (size_t)a->clen;
		return 1;
	}
	if (have > GW_BODY_MAX)
		return refuse(err, errlen, "a body over 1 MiB");
	if (!a->eof)
		return 0;
	a->body = a->buf + a->hlen;
	a->blen = have;
	return 1;
}

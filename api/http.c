/*
 * HTTP/1.1 for plugind-api: one connection, strict parsing, deadlines.
 * Errors carry the HTTP status to answer in pd_err.code (400, 408, 413,
 * 431, 501, 505); a status of 0 means the peer went away.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "http.h"
#include "http_status.h"
#include "util.h"

#define API_VERSION	"1.51"

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for fd readiness until deadline; 1 ready, 0 timed out. */
static int
wait_fd(int fd, short ev, int64_t deadline)
{
	struct pollfd p;
	int64_t left;
	int r;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return 0;
		p.fd = fd;
		p.events = ev;
		r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return 1;	/* let the read/write report it */
	}
}

/*
 * Read more into the buffer before deadline.  1: got bytes, 0: EOF,
 * -1: timeout or error (e filled; code 408 or 0).
 */
static int
conn_fill(struct http_conn *c, int64_t deadline, struct pd_err *e)
{
	ssize_t n;

	if (c->off == c->len)
		c->off = c->len = 0;
	else if (c->len == sizeof(c->buf) - 1 && c->off > 0) {
		memmove(c->buf, c->buf + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	if (c->len >= sizeof(c->buf) - 1)
		return pd_errf(e, 431, "request header fields too large");
	for (;;) {
		if (!wait_fd(c->fd, POLLIN, deadline)) {
			c->desync = 1;
			return pd_errf(e, 408, "timed out reading the request");
		}
		n = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
		if (n > 0) {
			c->len += (size_t)n;
			return 1;
		}
		if (n == 0)
			return 0;
		if (errno != EAGAIN && errno != EINTR) {
			c->broken = 1;
			return pd_errf(e, 0, "read: %s", strerror(errno));
		}
	}
}

static int
is_tchar(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || (ch != '\0' &&
	    strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Percent-decode in place; refuses bad escapes and NUL. */
static int
pct_decode(char *s, int plus)
{
	char *d = s;
	int hi, lo;

	for (; *s != '\0'; s++) {
		if (*s == '%') {
			if ((hi = hexval(s[1])) < 0 || (lo = hexval(s[2])) < 0 ||
			    (hi == 0 && lo == 0))
				return -1;
			*d++ = (char)(hi << 4 | lo);
			s += 2;
		} else if (*s == '+' && plus)
			*d++ = ' ';
		else
			*d++ = *s;
	}
	*d = '\0';
	return 0;
}

static int
parse_line0(struct http_req *r, char *line, struct pd_err *e)
{
	char *sp1, *sp2, *q;
	size_t i;

	if ((sp1 = strchr(line, ' ')) == NULL ||
	    (sp2 = strchr(sp1 + 1, ' ')) == NULL || strchr(sp2 + 1, ' ') != NULL)
		return pd_errf(e, 400, "malformed request line");
	*sp1 = *sp2 = '\0';
	if (sp1 - line == 0 || (size_t)(sp1 - line) >= sizeof(r->method))
		return pd_errf(e, 400, "malformed request method");
	for (i = 0; line[i] != '\0'; i++)
		if (!is_tchar((unsigned char)line[i]))
			return pd_errf(e, 400, "malformed request method");
	memcpy(r->method, line, (size_t)(sp1 - line) + 1);
	if (strcmp(sp2 + 1, "HTTP/1.1") == 0)
		r->minor = 1;
	else if (strcmp(sp2 + 1, "HTTP/1.0") == 0)
		r->minor = 0;
	else if (strncmp(sp2 + 1, "HTTP/", 5) == 0)
		return pd_errf(e, 400, "HTTP version not supported (HTTP/1.0 and "
		    "HTTP/1.1 only)");
	else
		return pd_errf(e, 400, "malformed HTTP version");
	r->target = sp1 + 1;
	if (r->target[0] != '/')
		return pd_errf(e, 400, "request target must be an absolute path");
	for (i = 0; r->target[i] != '\0'; i++)
		if ((unsigned char)r->target[i] <= 0x20 ||
		    (unsigned char)r->target[i] == 0x7f)
			return pd_errf(e, 400, "invalid character in the request "
			    "target");
	/* the target fits: it came out of a header block of the same size */
	memcpy(r->pathbuf, r->target, i + 1);
	r->path = r->pathbuf;
	if ((q = strchr(r->path, '?')) != NULL) {
		*q = '\0';
		r->query = q + 1;
	} else
		r->query = r->path + strlen(r->path);
	if (pct_decode(r->path, 0) == -1)
		return pd_errf(e, 400, "malformed escape in the request path");
	return 0;
}

static int
set_clen(struct http_req *r, const char *v, struct pd_err *e)
{
	uint64_t n;

	if (pd_parse_u64(v, &n) == -1 || n > INT64_MAX)
		return pd_errf(e, 400, "invalid Content-Length \"%s\"", v);
	if (r->clen >= 0 && (uint64_t)r->clen != n)
		return pd_errf(e, 400, "conflicting Content-Length headers");
	r->clen = (int64_t)n;
	return 0;
}

static int
parse_header(struct http_req *r, char *line, struct pd_err *e)
{
	char *colon, *v, *end;
	size_t i;

	if (line[0] == ' ' || line[0] == '\t')
		return pd_errf(e, 400, "folded header lines are not accepted");
	if ((colon = strchr(line, ':')) == NULL || colon == line)
		return pd_errf(e, 400, "malformed header line");
	*colon = '\0';
	for (i = 0; line[i] != '\0'; i++)
		if (!is_tchar((unsigned char)line[i]))
			return pd_errf(e, 400, "malformed header name");
	v = colon + 1;
	v += strspn(v, " \t");
	end = v + strlen(v);
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	for (i = 0; v[i] != '\0'; i++)
		if (((unsigned char)v[i] < 0x20 && v[i] != '\t') ||
		    (unsigned char)v[i] == 0x7f)
			return pd_errf(e, 400, "invalid character in header %s", line);
	if (r->nhdrs == HTTP_MAXHDRS)
		return pd_errf(e, 431, "too many header fields");
	r->hdrs[r->nhdrs].name = line;
	r->hdrs[r->nhdrs].value = v;
	r->nhdrs++;
	if (strcasecmp(line, "Content-Length") == 0)
		return set_clen(r, v, e);
	if (strcasecmp(line, "Transfer-Encoding") == 0) {
		if (strcasecmp(v, "chunked") != 0 || r->chunked)
			return pd_errf(e, 400, "unsupported Transfer-Encoding \"%s\" "
			    "(chunked only)", v);
		r->chunked = 1;
	}
	return 0;
}

static int
parse_head(struct http_req *r, char *head, struct pd_err *e)
{
	const char *conn;
	char *line, *next;

	line = head;
	next = strstr(line, "\r\n");
	*next = '\0';
	if (parse_line0(r, line, e) == -1)
		return -1;
	for (line = next + 2; *line != '\0'; line = next + 2) {
		if ((next = strstr(line, "\r\n")) == NULL)
			break;
		*next = '\0';
		if (strchr(line, '\r') != NULL || strchr(line, '\n') != NULL)
			return pd_errf(e, 400, "bare CR or LF in a header");
		if (parse_header(r, line, e) == -1)
			return -1;
	}
	if (r->chunked && r->clen >= 0)
		return pd_errf(e, 400, "both Content-Length and Transfer-Encoding");
	conn = http_header(r, "Connection");
	r->keepalive = r->minor == 1 ? !(conn && strcasecmp(conn, "close") == 0) :
	    (conn && strcasecmp(conn, "keep-alive") == 0);
	r->left = r->chunked ? 0 : (uint64_t)(r->clen > 0 ? r->clen : 0);
	r->body_done = !r->chunked && r->left == 0;
	return 0;
}

int
http_read_request(struct http_conn *c, struct http_req *r, struct pd_err *e)
{
	int64_t deadline = now_ms() + HTTP_IDLE_MS;
	uint8_t *end;
	size_t hlen;
	int n, started = 0;

	memset(r, 0, sizeof(*r));
	r->clen = -1;
	r->query = r->scratch;
	for (;;) {
		/* skip the empty lines RFC 9112 allows before a request */
		while (c->off < c->len && (c->buf[c->off] == '\r' ||
		    c->buf[c->off] == '\n') && !started)
			c->off++;
		if (c->off < c->len && !started) {
			started = 1;
			deadline = now_ms() + HTTP_HDR_MS;
		}
		c->buf[c->len] = '\0';
		end = (uint8_t *)memmem(c->buf + c->off, c->len - c->off, "\r\n\r\n",
		    4);
		if (end != NULL)
			break;
		if (memchr(c->buf + c->off, '\0', c->len - c->off) != NULL)
			return pd_errf(e, 400, "NUL byte in the request header");
		if (c->len - c->off >= HTTP_HDR_MAX)
			return pd_errf(e, 431, "request header fields too large "
			    "(limit %d bytes)", HTTP_HDR_MAX);
		n = conn_fill(c, deadline, e);
		if (n == -1)
			return started || e->code != 408 ? -1 : 0;
		if (n == 0) {
			if (started)
				c->desync = 1;
			return started ? pd_errf(e, 0, "EOF in the header") : 0;
		}
	}
	hlen = (size_t)(end - (c->buf + c->off)) + 4;
	if (memchr(c->buf + c->off, '\0', hlen) != NULL)
		return pd_errf(e, 400, "NUL byte in the request header");
	memcpy(r->scratch, c->buf + c->off, hlen - 2);
	r->scratch[hlen - 2] = '\0';
	c->off += hlen;
	if (parse_head(r, r->scratch, e) == -1)
		return -1;
	return 1;
}

const char *
http_header(const struct http_req *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nhdrs; i++)
		if (strcasecmp(r->hdrs[i].name, name) == 0)
			return r->hdrs[i].value;
	return NULL;
}

/* The first value of query key `k`, decoded; 1 found, 0 not, -1 bad. */
int
http_query(const struct http_req *r, const char *k, char *out, size_t len)
{
	const char *p = r->query, *amp, *eq;
	size_t kl = strlen(k), vl;

	while (*p != '\0') {
		amp = strchr(p, '&');
		if (amp == NULL)
			amp = p + strlen(p);
		eq = memchr(p, '=', (size_t)(amp - p));
		if ((size_t)((eq ? eq : amp) - p) == kl && strncmp(p, k, kl) == 0) {
			vl = eq ? (size_t)(amp - eq - 1) : 0;
			if (vl >= len)
				return -1;
			memcpy(out, eq ? eq + 1 : "", vl);
			out[vl] = '\0';
			return pct_decode(out, 1) == -1 ? -1 : 1;
		}
		p = *amp ? amp + 1 : amp;
	}
	out[0] = '\0';
	return 0;
}

/* Docker's BoolValue: "", 0, no, false, none (any case) are false. */
int
http_query_bool(const struct http_req *r, const char *k)
{
	static const char *no[] = { "", "0", "no", "false", "none" };
	char v[64], *s = v;
	size_t i, n;

	if (http_query(r, k, v, sizeof(v)) != 1)
		return 0;
	s += strspn(s, " \t");
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (strcasecmp(s, no[i]) == 0)
			return 0;
	return 1;
}

/* One line (for chunk sizes and trailers), at most max bytes. */
static int
read_line(struct http_conn *c, char *out, size_t max, struct pd_err *e)
{
	int64_t deadline = now_ms() + HTTP_IO_MS;
	uint8_t *nl;
	size_t n;
	int r;

	for (;;) {
		nl = memchr(c->buf + c->off, '\n', c->len - c->off);
		if (nl != NULL) {
			n = (size_t)(nl - (c->buf + c->off));
			if (n == 0 || nl[-1] != '\r' || n - 1 >= max)
				return pd_errf(e, 400, "malformed chunked encoding");
			memcpy(out, c->buf + c->off, n - 1);
			out[n - 1] = '\0';
			c->off += n + 1;
			return 0;
		}
		if (c->len - c->off > max)
			return pd_errf(e, 400, "malformed chunked encoding");
		if ((r = conn_fill(c, deadline, e)) <= 0) {
			c->desync = 1;
			return r == 0 ? pd_errf(e, 400, "unexpected EOF in the body") :
			    -1;
		}
	}
}

static int
next_chunk(struct http_conn *c, struct http_req *r, struct pd_err *e)
{
	char line[256], *p;
	uint64_t n = 0;
	int d, digits = 0;

	if (read_line(c, line, sizeof(line), e) == -1)
		return -1;
	for (p = line; (d = hexval((unsigned char)*p)) >= 0; p++) {
		if (++digits > 15)
			return pd_errf(e, 400, "chunk size too large");
		n = n << 4 | (uint64_t)d;
	}
	if (digits == 0 || (*p != '\0' && *p != ';' && *p != ' ' && *p != '\t'))
		return pd_errf(e, 400, "malformed chunk size \"%.32s\"", line);
	if (n > 0) {
		r->left = n;
		return 0;
	}
	/* last chunk: trailers up to an empty line, bounded */
	for (d = 0; d < HTTP_MAXHDRS; d++) {
		if (read_line(c, line, sizeof(line), e) == -1)
			return -1;
		if (line[0] == '\0') {
			r->body_done = 1;
			return 0;
		}
	}
	return pd_errf(e, 400, "too many trailer fields");
}

/* Expect the CRLF that ends a chunk's data. */
static int
chunk_crlf(struct http_conn *c, struct pd_err *e)
{
	char line[4];

	if (read_line(c, line, 2, e) == -1 || line[0] != '\0')
		return pd_errf(e, 400, "malformed chunked encoding: no CRLF "
		    "after chunk data");
	return 0;
}

/* Up to len body bytes into buf: n > 0, 0 at the end, -1 on error. */
int
http_body_read(struct http_conn *c, struct http_req *r, void *buf, size_t len,
    struct pd_err *e)
{
	int64_t deadline;
	size_t n;
	int rr;

	if (r->body_done)
		return 0;
	if (r->chunked && r->left == 0) {
		if (next_chunk(c, r, e) == -1) {
			c->desync = 1;
			return -1;
		}
		if (r->body_done)
			return 0;
	}
	if (c->off == c->len) {
		deadline = now_ms() + HTTP_IO_MS;
		if ((rr = conn_fill(c, deadline, e)) <= 0) {
			c->desync = 1;
			return rr == 0 ? pd_errf(e, 400, "unexpected EOF in the "
			    "body") : -1;
		}
	}
	n = c->len - c->off;
	if (n > r->left)
		n = (size_t)r->left;
	if (n > len)
		n = len;
	memcpy(buf, c->buf + c->off, n);
	c->off += n;
	r->left -= n;
	if (r->left == 0) {
		if (!r->chunked)
			r->body_done = 1;
		else if (chunk_crlf(c, e) == -1) {
			c->desync = 1;
			return -1;
		}
	}
	return (int)n;
}

/* The whole body (NUL-terminated) if at most max bytes, else 413. */
int
http_body_all(struct http_conn *c, struct http_req *r, size_t max, char **out,
    size_t *outlen, struct pd_err *e)
{
	size_t len = 0, cap = 4096;
	char *b;
	int n;

	*out = NULL;
	*outlen = 0;
	if (r->clen > (int64_t)max) {
		c->desync = 1;
		return pd_errf(e, 413, "request body too large (limit %zu bytes)",
		    max);
	}
	b = xmalloc(cap + 1);
	for (;;) {
		if (len == cap) {
			if (cap >= max + 1) {
				free(b);
				c->desync = 1;
				return pd_errf(e, 413, "request body too large (limit "
				    "%zu bytes)", max);
			}
			cap *= 2;
			b = realloc(b, cap + 1);
			if (b == NULL)
				return pd_errf(e, 500, "out of memory");
		}
		n = http_body_read(c, r, b + len, cap - len, e);
		if (n < 0) {
			free(b);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			free(b);
			c->desync = 1;
			return pd_errf(e, 413, "request body too large (limit %zu "
			    "bytes)", max);
		}
	}
	b[len] = '\0';
	*out = b;
	*outlen = len;
	return 0;
}

/* Discard what is left of the body; -1 if the connection cannot go on. */
int
http_body_drain(struct http_conn *c, struct http_req *r)
{
	char tmp[4096];
	struct pd_err e;
	uint64_t total = 0;
	int n;

	while ((n = http_body_read(c, r, tmp, sizeof(tmp), &e)) > 0)
		if ((total += (uint64_t)n) > HTTP_JSON_MAX) {
			c->desync = 1;
			return -1;
		}
	return n < 0 ? -1 : 0;
}

static int
write_all(struct http_conn *c, const void *p, size_t len)
{
	int64_t deadline = now_ms() + HTTP_WRITE_MS;
	const uint8_t *b = p;
	ssize_t n;

	while (len > 0 && !c->broken) {
		if (!wait_fd(c->fd, POLLOUT, deadline)) {
			c->broken = 1;
			break;
		}
		n = write(c->fd, b, len);
		if (n > 0) {
			b += n;
			len -= (size_t)n;
		} else if (n < 0 && errno != EAGAIN && errno != EINTR)
			c->broken = 1;
	}
	return c->broken ? -1 : 0;
}

const char *
http_reason(int status)
{
	return pd_http_reason(status, "Unknown");
}

static int
write_head(struct http_conn *c, struct http_req *r, int status,
    const char *ctype, const char *xhdrs, const char *framing)
{
	char *h;
	int rc;

	h = xasprintf("HTTP/1.1 %d %s\r\nApi-Version: " API_VERSION "\r\n"
	    "Docker-Experimental: false\r\nOstype: linux\r\n"
	    "Server: plugind (Docker Engine API subset)\r\n%s%s%s%s%s\r\n",
	    status, http_reason(status),
	    ctype ? "Content-Type: " : "", ctype ? ctype : "", ctype ? "\r\n" : "",
	    xhdrs ? xhdrs : "", framing);
	r->started = 1;
	rc = write_all(c, h, strlen(h));
	free(h);
	return rc;
}

int
http_respond(struct http_conn *c, struct http_req *r, int status,
    const char *ctype, const char *xhdrs, const void *body, size_t len)
{
	char framing[96];

	if (!c->desync && !r->body_done && http_body_drain(c, r) == -1)
		r->keepalive = 0;
	if (c->desync)
		r->keepalive = 0;
	snprintf(framing, sizeof(framing), "%sContent-Length: %zu\r\n",
	    r->keepalive ? "" : "Connection: close\r\n", len);
	if (status == 204 || status == 304)
		snprintf(framing, sizeof(framing), "%s",
		    r->keepalive ? "" : "Connection: close\r\n");
	if (write_head(c, r, status, ctype, xhdrs, framing) == -1)
		return -1;
	if (strcmp(r->method, "HEAD") == 0 || status == 204 || len == 0)
		return 0;
	return write_all(c, body, len);
}

/* {"message":"..."} and a newline, as Docker writes errors. */
char *
http_json_message(const char *msg)
{
	json_t *j = json_pack("{s:s}", "message", msg);
	char *s = json_dumps(j, JSON_COMPACT), *out;

	json_decref(j);
	out = xasprintf("%s\n", s ? s : "{}");
	free(s);
	return out;
}

/* {"message":"..."} with the status, as Docker answers errors. */
int
http_error(struct http_conn *c, struct http_req *r, int status, const char *msg)
{
	char *body;
	int rc;

	body = http_json_message(msg);
	rc = http_respond(c, r, status, "application/json", NULL, body,
	    strlen(body));
	free(body);
	return rc;
}

int
http_stream_begin(struct http_conn *c, struct http_req *r, const char *xhdrs)
{
	r->streaming = 1;
	if (c->desync)
		r->keepalive = 0;
	return write_head(c, r, 200, "application/json", xhdrs,
	    r->keepalive ? "Transfer-Encoding: chunked\r\n" :
	    "Transfer-Encoding: chunked\r\nConnection: close\r\n");
}

int
http_stream_write(struct http_conn *c, struct http_req *r, const void *p,
    size_t len)
{
	char hdr[32];

	if (len == 0)
		return 0;
	snprintf(hdr, sizeof(hdr), "%zx\r\n", len);
	if (write_all(c, hdr, strlen(hdr)) == -1 || write_all(c, p, len) == -1 ||
	    write_all(c, "\r\n", 2) == -1)
		return -1;
	return 0;
}

int
http_stream_end(struct http_conn *c, struct http_req *r)
{
	r->streaming = 0;
	return write_all(c, "0\r\n\r\n", 5);
}

/*
 * api/http.c: request parsing, query and boolean values, Content-Length
 * and chunked bodies, error statuses, base64url, fed through a socketpair.
 */
#include <sys/socket.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apid.h"
#include "http.h"
#include "../tap.h"

#define REQ1	"GET /v1.43/plugins/a%2Fb:latest/json?x=1&filters=%7B%7D&f=a+b " \
		"HTTP/1.1\r\nHost: x\r\nX-Registry-Auth:  abc \r\n\r\n"
#define REQ2	"DELETE /p?force=FALSE&b=1&c=none&d= HTTP/1.0\r\n\r\n"

static struct http_conn	c;
static struct http_req	r;

/* Feed `in` (then EOF) and parse one request; returns the result. */
static int
feed(const char *in, size_t len, struct pd_err *e)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		abort();
	if (write(sv[1], in, len) != (ssize_t)len)
		abort();
	shutdown(sv[1], SHUT_WR);
	memset(&c, 0, sizeof(c));
	c.fd = sv[0];
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	pd_err_clear(e);
	close(sv[1]);
	return http_read_request(&c, &r, e);
}

static int
status_of(const char *in)
{
	struct pd_err e;
	int rc = feed(in, strlen(in), &e);

	close(c.fd);
	return rc == -1 ? e.code : rc;
}

static char *
body_of(const char *in, int *rc)
{
	struct pd_err e;
	size_t n;
	char *b = NULL;

	*rc = feed(in, strlen(in), &e);
	if (*rc == 1)
		*rc = http_body_all(&c, &r, 64, &b, &n, &e) == -1 ? e.code : 0;
	close(c.fd);
	return b;
}

int
main(void)
{
	char v[64], *b;
	struct pd_err e;
	size_t n;
	int rc;

	rc = feed(REQ1, strlen(REQ1), &e);
	ASSERT_INT_EQ(rc, 1, "a request parses");
	ASSERT_STR_EQ(r.method, "GET", "method");
	ASSERT_STR_EQ(r.path, "/v1.43/plugins/a/b:latest/json", "path decoded");
	ASSERT_STR_EQ(http_header(&r, "x-registry-auth"), "abc",
	    "header lookup ignores case, value trimmed");
	ASSERT(http_query(&r, "filters", v, sizeof(v)) == 1 && strcmp(v, "{}") == 0,
	    "query value decoded");
	ASSERT(http_query(&r, "f", v, sizeof(v)) == 1 && strcmp(v, "a b") == 0,
	    "+ is a space in the query");
	ASSERT(http_query(&r, "nope", v, sizeof(v)) == 0, "missing key");
	ASSERT(r.keepalive, "HTTP/1.1 keeps the connection");
	close(c.fd);

	feed(REQ2, strlen(REQ2), &e);
	ASSERT(!http_query_bool(&r, "force"), "force=FALSE is false");
	ASSERT(http_query_bool(&r, "b"), "b=1 is true");
	ASSERT(!http_query_bool(&r, "c") && !http_query_bool(&r, "d"),
	    "none and empty are false");
	ASSERT(!r.keepalive, "HTTP/1.0 closes by default");
	close(c.fd);

	ASSERT_INT_EQ(status_of(""), 0, "EOF before a request: clean close");
	ASSERT_INT_EQ(status_of("GET / HTTP/1.1\r\n"), 0,
	    "EOF inside the header: no answer");
	ASSERT_INT_EQ(status_of("GET / HTTP/3\r\n\r\n"), 400, "HTTP/3: 400");
	ASSERT_INT_EQ(status_of("GET  / HTTP/1.1\r\n\r\n"), 400, "double space");
	ASSERT_INT_EQ(status_of("G(T / HTTP/1.1\r\n\r\n"), 400, "bad method");
	ASSERT_INT_EQ(status_of("GET /%4 HTTP/1.1\r\n\r\n"), 400, "bad escape");
	ASSERT_INT_EQ(status_of("GET / HTTP/1.1\r\nX:\x01\r\n\r\n"), 400,
	    "control byte in a value");
	ASSERT_INT_EQ(status_of("GET / HTTP/1.1\r\nA b: c\r\n\r\n"), 400,
	    "space in a header name");
	ASSERT_INT_EQ(status_of("GET / HTTP/1.1\r\nContent-Length: 1\r\n"
	    "Content-Length: 2\r\n\r\n"), 400, "conflicting Content-Length");
	ASSERT_INT_EQ(status_of("GET / HTTP/1.1\r\nContent-Length: 99999999999999999999"
	    "\r\n\r\n"), 400, "Content-Length overflow");
	ASSERT_INT_EQ(status_of("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
	    "Content-Length: 1\r\n\r\n"), 400, "both framings");
	{
		char *big = malloc(HTTP_HDR_MAX + 64);

		snprintf(big, HTTP_HDR_MAX + 64, "GET / HTTP/1.1\r\nX: %0*d\r\n\r\n",
		    HTTP_HDR_MAX, 0);
		ASSERT_INT_EQ(status_of(big), 431, "header block over 16 KiB: 431");
		free(big);
	}

	b = body_of("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", &rc);
	ASSERT(rc == 0 && b && strcmp(b, "hello") == 0, "Content-Length body");
	free(b);
	b = body_of("POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\nhello", &rc);
	ASSERT_INT_EQ(rc, 400, "short body: 400");
	b = body_of("POST / HTTP/1.1\r\nContent-Length: 65\r\n\r\nx", &rc);
	ASSERT_INT_EQ(rc, 413, "declared body over the limit: 413");
	b = body_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "3;ext=1\r\nhel\r\n2\r\nlo\r\n0\r\nTrailer: x\r\n\r\n", &rc);
	ASSERT(rc == 0 && b && strcmp(b, "hello") == 0,
	    "chunked body with an extension and a trailer");
	free(b);
	b = body_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "3\r\nhelXX0\r\n\r\n", &rc);
	ASSERT_INT_EQ(rc, 400, "chunk without its CRLF: 400");
	b = body_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "-3\r\nhel\r\n0\r\n\r\n", &rc);
	ASSERT_INT_EQ(rc, 400, "negative chunk size: 400");
	b = body_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "1000000000000000\r\n", &rc);
	ASSERT_INT_EQ(rc, 400, "16-digit chunk size: 400");
	b = body_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "41\r\n", &rc);
	ASSERT(rc == 400 || rc == 413, "chunked body cut off or over the limit");

	b = api_b64url_decode("eyJ1c2VybmFtZSI6ImEifQ==", &n);
	ASSERT(b && strcmp(b, "{\"username\":\"a\"}") == 0 && n == 16,
	    "base64url with padding");
	free(b);
	b = api_b64url_decode("_-8", &n);
	ASSERT(b && n == 2 && (unsigned char)b[0] == 0xff &&
	    (unsigned char)b[1] == 0xef, "base64url alphabet");
	free(b);
	ASSERT(api_b64url_decode("a", &n) == NULL, "one stray character");
	ASSERT(api_b64url_decode("ab$d", &n) == NULL, "bad character");
	printf("1..%d\n", tap_n);
	return tap_failed != 0;
}

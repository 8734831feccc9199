/*
 * Registry client internals (fetcher/reg_*.c) that need no server:
 * address classes, redirect Location rules, token response parsing, the
 * repository/tag/host grammars, sanitizing, PEM reading and request
 * validation.  The network behaviour is tests/fetcher/test_fetch.sh.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "error.h"
#include "proto.h"
#include "registry.h"
#include "../tap.h"

static const struct {
	const char	*addr;
	int		 cls;
} addr_data[] = {
	{ "8.8.8.8", REG_ADDR_PUBLIC },
	{ "127.0.0.1", REG_ADDR_LOOPBACK },
	{ "127.255.0.9", REG_ADDR_LOOPBACK },
	{ "10.0.0.5", REG_ADDR_PRIVATE },
	{ "172.16.0.1", REG_ADDR_PRIVATE },
	{ "172.31.255.255", REG_ADDR_PRIVATE },
	{ "172.32.0.1", REG_ADDR_PUBLIC },
	{ "192.168.1.1", REG_ADDR_PRIVATE },
	{ "100.64.0.1", REG_ADDR_PRIVATE },
	{ "100.128.0.1", REG_ADDR_PUBLIC },
	{ "169.254.169.254", REG_ADDR_LINKLOCAL },
	{ "0.0.0.0", REG_ADDR_RESERVED },
	{ "0.1.2.3", REG_ADDR_RESERVED },
	{ "224.0.0.1", REG_ADDR_RESERVED },
	{ "255.255.255.255", REG_ADDR_RESERVED },
	{ "::", REG_ADDR_RESERVED },
	{ "::1", REG_ADDR_LOOPBACK },
	{ "::ffff:127.0.0.1", REG_ADDR_LOOPBACK },
	{ "::ffff:10.0.0.5", REG_ADDR_PRIVATE },
	{ "::ffff:169.254.169.254", REG_ADDR_LINKLOCAL },
	{ "::10.0.0.5", REG_ADDR_RESERVED },
	{ "64:ff9b::a00:5", REG_ADDR_PRIVATE },
	{ "fe80::1", REG_ADDR_LINKLOCAL },
	{ "fc00::1", REG_ADDR_PRIVATE },
	{ "fd12:3456::1", REG_ADDR_PRIVATE },
	{ "ff02::1", REG_ADDR_RESERVED },
	{ "2001:4860:4860::8888", REG_ADDR_PUBLIC },
};

static const struct {
	const char	*loc;
	const char	*want;		/* resolved URL, or NULL: refused */
} loc_data[] = {
	{ "https://cdn.example/blob?sig=a%20b", "https://cdn.example/blob?sig=a%20b" },
	{ "/v2/x/blobs/y", "https://reg.example:5000/v2/x/blobs/y" },
	{ "other", "https://reg.example:5000/v2/a/other" },
	{ "//cdn.example/b", "https://cdn.example/b" },
	{ "HTTP://cdn.example/b", "http://cdn.example/b" },
	{ "file:///etc/shadow", NULL },
	{ "ftp://x/y", NULL },
	{ "gopher://x/", NULL },
	{ "dict://x/", NULL },
	{ "ldap://x/", NULL },
	{ "smb://x/", NULL },
	{ "telnet://x/", NULL },
	{ "scp://x/", NULL },
	{ "data:text/plain,hi", NULL },
	{ "javascript:alert(1)", NULL },
	{ "https://user:pw@cdn.example/", NULL },
	{ "https://user@cdn.example/", NULL },
	{ "https://cdn.example/#frag", NULL },
	{ "https://cdn.example/a b", NULL },
	{ "https://cdn.example/a\rb", NULL },
	{ "https://cdn.example/\xc3\xa9", NULL },
	{ "", NULL },
};

static const struct {
	const char	*json;
	const char	*token;		/* NULL: refused */
	long		 ttl;
} token_data[] = {
	{ "{\"token\":\"abc\"}", "abc", 60 },
	{ "{\"access_token\":\"abc\",\"expires_in\":300}", "abc", 300 },
	{ "{\"token\":\"t\",\"access_token\":\"a\"}", "a", 60 },
	{ "{\"token\":\"t\",\"access_token\":\"\"}", "t", 60 },
	{ "{\"token\":\"eyJ.x-y_z~+/==\"}", "eyJ.x-y_z~+/==", 60 },
	{ "{\"token\":\"t\",\"expires_in\":-1}", "t", 60 },
	{ "{\"token\":\"t\",\"expires_in\":10}", "t", 60 },
	{ "{\"token\":\"t\",\"expires_in\":99999999999}", "t", 3600 },
	{ "{\"token\":\"t\",\"expires_in\":1e308}", NULL, 0 },
	{ "{\"token\":\"t\",\"expires_in\":\"abc\"}", NULL, 0 },
	{ "{\"token\":\"a\\r\\nX-Evil: 1\"}", NULL, 0 },
	{ "{\"token\":\"a b\"}", NULL, 0 },
	{ "{\"token\":\"a=b\"}", NULL, 0 },
	{ "{\"token\":\"a\\u0000b\"}", NULL, 0 },
	{ "{\"token\":\"\"}", NULL, 0 },
	{ "{\"token\":5}", NULL, 0 },
	{ "{}", NULL, 0 },
	{ "[]", NULL, 0 },
	{ "", NULL, 0 },
	{ "<html>", NULL, 0 },
	{ "{\"token\":\"a\"} trailing", NULL, 0 },
	{ "{\"token\":\"a\",\"token\":\"b\"}", NULL, 0 },
};

static int
classify(const char *s)
{
	struct sockaddr_in6 s6;
	struct sockaddr_in s4;

	memset(&s4, 0, sizeof(s4));
	memset(&s6, 0, sizeof(s6));
	if (inet_pton(AF_INET, s, &s4.sin_addr) == 1) {
		s4.sin_family = AF_INET;
		return reg_addr_class((struct sockaddr *)&s4);
	}
	if (inet_pton(AF_INET6, s, &s6.sin6_addr) == 1) {
		s6.sin6_family = AF_INET6;
		return reg_addr_class((struct sockaddr *)&s6);
	}
	return -1;
}

static int
fetch_with(const char *scheme, const char *host, const char *repo,
    const char *ref, int kind, struct pd_err *e)
{
	struct reg_client *c = reg_client_new();
	struct reg_req r;
	struct reg_res res;
	int rc;

	memset(&r, 0, sizeof(r));
	r.kind = kind;
	r.scheme = scheme;
	r.host = host;
	r.repo = repo;
	r.reference = ref;
	r.max_size = 100;
	r.outfd = 1;
	rc = reg_fetch(c, &r, &res, e);
	reg_client_free(c);
	return rc;
}

int
main(void)
{
	char what[256], *out, *tok, *q, buf[64];
	struct pd_err e;
	size_t i, len;
	long ttl;
	int rc, p[2];
	struct reg_client *c;
	static char blk[65536];
	pid_t pid;

	curl_global_init(CURL_GLOBAL_DEFAULT);

	for (i = 0; i < sizeof(addr_data) / sizeof(addr_data[0]); i++) {
		snprintf(what, sizeof(what), "T3/R5/A2: address class of %s is %s",
		    addr_data[i].addr, reg_addr_class_name(addr_data[i].cls));
		ASSERT_INT_EQ(classify(addr_data[i].addr), addr_data[i].cls, what);
	}

	for (i = 0; i < sizeof(loc_data) / sizeof(loc_data[0]); i++) {
		snprintf(what, sizeof(what), "Location %.60s", loc_data[i].loc);
		for (q = what; *q != '\0'; q++)
			if ((unsigned char)*q < 0x20 || (unsigned char)*q >= 0x7f)
				*q = '?';
		rc = reg_resolve_location("https://reg.example:5000/v2/a/b",
		    loc_data[i].loc, &out, &e);
		if (loc_data[i].want == NULL)
			ASSERT(rc == -1 && e.code == PD_E_PROTO, what);
		else
			ASSERT_STR_EQ(rc == 0 ? out : e.msg, loc_data[i].want, what);
		if (rc == 0)
			curl_free(out);
	}
	out = malloc(REG_LOCATION_MAX + 32);
	snprintf(out, REG_LOCATION_MAX + 32, "https://cdn.example/?");
	memset(out + strlen(out), 'a', REG_LOCATION_MAX);
	out[REG_LOCATION_MAX + 1] = '\0';
	ASSERT_INT_EQ(reg_resolve_location("https://r/", out, &tok, &e), -1,
	    "Location over 8 KiB refused");
	free(out);

	for (i = 0; i < sizeof(token_data) / sizeof(token_data[0]); i++) {
		snprintf(what, sizeof(what), "token response %.60s",
		    token_data[i].json);
		for (q = what; *q != '\0'; q++)
			if ((unsigned char)*q < 0x20)
				*q = '?';
		ttl = -5;
		rc = reg_parse_token(token_data[i].json, strlen(token_data[i].json),
		    &tok, &ttl, &e);
		if (token_data[i].token == NULL)
			ASSERT(rc == -1, what);
		else {
			ASSERT_STR_EQ(rc == 0 ? tok : e.msg, token_data[i].token, what);
			ASSERT_INT_EQ(ttl, token_data[i].ttl, "  expiry clamped");
		}
		if (rc == 0)
			free(tok);
	}
	len = REG_TOKEN_MAX + 32;
	out = malloc(len);
	memset(out, 'A', len);
	memcpy(out, "{\"token\":\"", 10);
	memcpy(out + len - 3, "\"}", 3);
	ASSERT(reg_parse_token(out, strlen(out), &tok, &ttl, &e) == -1 &&
	    e.code == PD_E_LIMIT, "token over 16 KiB refused");
	free(out);

	ASSERT(reg_valid_repo("library/busybox"), "repo library/busybox");
	ASSERT(reg_valid_repo("a/b-c/d__e/f.g/h---i"), "repo separators");
	ASSERT(!reg_valid_repo("Library/x"), "repo upper case refused");
	ASSERT(!reg_valid_repo("a//b"), "repo empty component refused");
	ASSERT(!reg_valid_repo("a/../b"), "repo .. refused");
	ASSERT(!reg_valid_repo("a/b/"), "repo trailing / refused");
	ASSERT(!reg_valid_repo("a___b"), "repo ___ refused");
	ASSERT(!reg_valid_repo("a%2fb"), "repo %2f refused");
	ASSERT(!reg_valid_repo("-a"), "repo leading - refused");
	ASSERT(reg_valid_tag("latest") && reg_valid_tag("_1.0-rc.1"), "tags");
	ASSERT(!reg_valid_tag(".x") && !reg_valid_tag("a/b") &&
	    !reg_valid_tag("") && !reg_valid_tag("a:b"), "bad tags refused");
	out = malloc(130);
	memset(out, 't', 129);
	out[129] = '\0';
	ASSERT(!reg_valid_tag(out), "129-char tag refused");
	out[128] = '\0';
	ASSERT(reg_valid_tag(out), "128-char tag accepted");
	free(out);
	ASSERT(reg_valid_host("registry-1.docker.io") &&
	    reg_valid_host("127.0.0.1:5000") && reg_valid_host("[::1]:5000") &&
	    reg_valid_host("localhost"), "hosts");
	ASSERT(!reg_valid_host("user@host") && !reg_valid_host("h:0") &&
	    !reg_valid_host("h:65536") && !reg_valid_host("h:") &&
	    !reg_valid_host("[zz]:1") && !reg_valid_host("h/x") &&
	    !reg_valid_host("") && !reg_valid_host("::1"), "bad hosts refused");

	snprintf(buf, sizeof(buf), "a\x1b[31mb\nc\x80");
	reg_sanitize(buf, 100);
	ASSERT_STR_EQ(buf, "a?[31mb?c?", "sanitize controls and non-ASCII");
	snprintf(buf, sizeof(buf), "abcdef");
	reg_sanitize(buf, 3);
	ASSERT_STR_EQ(buf, "abc", "sanitize cuts");

	/* Request validation happens before any network access. */
	ASSERT(fetch_with("https", "r.example", "a/b",
	    "sha256:../../../../tmp/x", REG_BLOB, &e) == -1 &&
	    e.code == PD_E_INVAL, "blob digest with ../ refused");
	ASSERT(fetch_with("https", "r.example", "a/b", "sha256:ABCDEF0123456789"
	    "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789",
	    REG_BLOB, &e) == -1 && e.code == PD_E_INVAL,
	    "upper-case digest refused");
	ASSERT(fetch_with("https", "r.example", "a/b", "md5:0123", REG_BLOB,
	    &e) == -1, "md5 digest refused");
	ASSERT(fetch_with("https", "r.example", "a/b", "latest", REG_BLOB,
	    &e) == -1, "blob by tag refused");
	ASSERT(fetch_with("ftp", "r.example", "a/b", "latest", REG_MANIFEST,
	    &e) == -1, "scheme ftp refused");
	ASSERT(fetch_with("https", "r.example/x", "a/b", "latest",
	    REG_MANIFEST, &e) == -1, "host with a path refused");
	ASSERT(fetch_with("https", "r.example", "../v2/_catalog", "latest",
	    REG_MANIFEST, &e) == -1, "repository with .. refused");
	ASSERT(fetch_with("https", "r.example", "a/b", "%2e%2e",
	    REG_MANIFEST, &e) == -1, "tag %2e%2e refused");

	/* PEM input: bounded, and only host-bound certificates. */
	c = reg_client_new();
	if (pipe(p) == 0) {
		if (write(p[1], "-----BEGIN X-----\n", 18) != 18)
			return 1;
		close(p[1]);
		rc = reg_read_pem(p[0], &out, &len, &e);
		close(p[0]);
		ASSERT(rc == 0 && len == 18, "read PEM from a pipe");
		if (rc == 0)
			ASSERT(reg_client_add_tls(c, PD_TLS_CERT, "", out, len,
			    &e) == -1, "client certificate without a host refused");
	}
	if (pipe(p) == 0) {
		pid = fork();
		if (pid == 0) {
			close(p[0]);
			memset(blk, 'A', sizeof(blk));
			for (i = 0; i < 17; i++)
				if (write(p[1], blk, sizeof(blk)) != sizeof(blk))
					_exit(0);
			_exit(0);
		}
		close(p[1]);
		rc = reg_read_pem(p[0], &out, &len, &e);
		close(p[0]);
		(void)waitpid(pid, NULL, 0);
		ASSERT(rc == -1 && e.code == PD_E_LIMIT, "PEM over 1 MiB refused");
	}
	reg_client_free(c);
	curl_global_cleanup();
	TAP_DONE();
}

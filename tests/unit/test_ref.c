/*
 * Reference parsing against distribution/reference behaviour.  Error
 * texts were checked with the docker 28 CLI (it parses before dialling).
 */
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "ref.h"
#include "../tap.h"

#define HEX64	"0123456789abcdef0123456789abcdef" \
		"0123456789abcdef0123456789abcdef"
#define HEX64U	"0123456789ABCDEF0123456789ABCDEF" \
		"0123456789ABCDEF0123456789ABCDEF"
#define HEX40	"0123456789abcdef0123456789abcdef01234567"
#define DGST	"sha256:" HEX64
#define A10	"aaaaaaaaaa"
#define A50	A10 A10 A10 A10 A10
#define A250	A50 A50 A50 A50 A50
#define T16	"tttttttttttttttt"
#define T64	T16 T16 T16 T16

#define ERR_FMT		"invalid reference format"
#define ERR_LONG	"repository name must not be more than 255 characters"
#define ERR_LOWER	"repository name must be lowercase"

static const struct ref_test {
	const char	*in;
	const char	*full;		/* after TagNameOnly */
	const char	*familiar;	/* after TagNameOnly */
	const char	*err;		/* exact error text, or NULL */
} test_data[] = {
	/* normalization onto Docker Hub */
	{ "busybox", "docker.io/library/busybox:latest", "busybox:latest",
	    NULL },
	{ "busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36",
	    NULL },
	{ "library/busybox", "docker.io/library/busybox:latest",
	    "busybox:latest", NULL },
	{ "docker.io/busybox", "docker.io/library/busybox:latest",
	    "busybox:latest", NULL },
	{ "docker.io/library/busybox:latest",
	    "docker.io/library/busybox:latest", "busybox:latest", NULL },
	{ "index.docker.io/busybox", "docker.io/library/busybox:latest",
	    "busybox:latest", NULL },
	{ "index.docker.io/vieux/sshfs", "docker.io/vieux/sshfs:latest",
	    "vieux/sshfs:latest", NULL },
	{ "vieux/sshfs", "docker.io/vieux/sshfs:latest", "vieux/sshfs:latest",
	    NULL },
	{ "vieux/sshfs:next", "docker.io/vieux/sshfs:next", "vieux/sshfs:next",
	    NULL },
	{ "a/b/c/d", "docker.io/a/b/c/d:latest", "a/b/c/d:latest", NULL },
	{ "docker.io/library/a/b", "docker.io/library/a/b:latest",
	    "library/a/b:latest", NULL },
	{ "docker.io", "docker.io/library/docker.io:latest",
	    "docker.io:latest", NULL },
	{ "localhost:5000", "docker.io/library/localhost:5000",
	    "localhost:5000", NULL },
	{ "sha256:" HEX64, "docker.io/library/sha256:" HEX64,
	    "sha256:" HEX64, NULL },
	{ "foo--bar__baz.q_x", "docker.io/library/foo--bar__baz.q_x:latest",
	    "foo--bar__baz.q_x:latest", NULL },
	/* other registries, ports, IPv6 */
	{ "localhost:5000/p", "localhost:5000/p:latest",
	    "localhost:5000/p:latest", NULL },
	{ "localhost/p", "localhost/p:latest", "localhost/p:latest", NULL },
	{ "localhost:5000/a/b:v1", "localhost:5000/a/b:v1",
	    "localhost:5000/a/b:v1", NULL },
	{ "example.com/foo/bar:1.0", "example.com/foo/bar:1.0",
	    "example.com/foo/bar:1.0", NULL },
	{ "example.com:443/foo", "example.com:443/foo:latest",
	    "example.com:443/foo:latest", NULL },
	{ "127.0.0.1:5000/plugin:tag", "127.0.0.1:5000/plugin:tag",
	    "127.0.0.1:5000/plugin:tag", NULL },
	{ "[::1]:5000/p", "[::1]:5000/p:latest", "[::1]:5000/p:latest", NULL },
	{ "[::1]/p", "[::1]/p:latest", "[::1]/p:latest", NULL },
	{ "[2001:db8::1]:443/ns/p:1", "[2001:db8::1]:443/ns/p:1",
	    "[2001:db8::1]:443/ns/p:1", NULL },
	{ "Foo/bar", "Foo/bar:latest", "Foo/bar:latest", NULL },
	{ "reg-1.example.com/team/plug-in_1.2:v1.0-rc.1",
	    "reg-1.example.com/team/plug-in_1.2:v1.0-rc.1",
	    "reg-1.example.com/team/plug-in_1.2:v1.0-rc.1", NULL },
	{ "busybox:Latest", "docker.io/library/busybox:Latest",
	    "busybox:Latest", NULL },
	{ "busybox:_x.Y-z", "docker.io/library/busybox:_x.Y-z",
	    "busybox:_x.Y-z", NULL },
	/* digests */
	{ "busybox@" DGST, "docker.io/library/busybox@" DGST,
	    "busybox@" DGST, NULL },
	{ "host:5000/x@" DGST, "host:5000/x@" DGST, "host:5000/x@" DGST, NULL },
	{ "host/x:tag@" DGST, "docker.io/host/x:tag@" DGST, "host/x:tag@" DGST,
	    NULL },
	{ "reg.io/x:tag@" DGST, "reg.io/x:tag@" DGST, "reg.io/x:tag@" DGST,
	    NULL },
	{ "vieux/sshfs:1@" DGST, "docker.io/vieux/sshfs:1@" DGST,
	    "vieux/sshfs:1@" DGST, NULL },
	{ "busybox@sha256:" HEX64U, NULL, NULL,
	    "invalid checksum digest format" },
	{ "busybox@sha256:" HEX40, NULL, NULL,
	    "invalid checksum digest length" },
	{ "busybox@sha256:" HEX64 "0", NULL, NULL,
	    "invalid checksum digest length" },
	{ "busybox@sha256:abc", NULL, NULL, ERR_FMT },
	{ "busybox@sha512:" HEX64 HEX64, NULL, NULL,
	    "unsupported digest algorithm: sha512 (only sha256 is supported)" },
	{ "busybox@md5:0123456789abcdef0123456789abcdef", NULL, NULL,
	    "unsupported digest algorithm: md5 (only sha256 is supported)" },
	{ "busybox@Sha256:" HEX64, NULL, NULL, ERR_FMT
	    ": repository name (library/busybox@Sha256) must be lowercase" },
	{ "localhost/x:t@Sha256:" HEX64, NULL, NULL,
	    "invalid checksum digest format" },
	{ "x@" DGST "@" DGST, NULL, NULL, ERR_FMT },
	{ "busybox@", NULL, NULL, ERR_FMT },
	/* case */
	{ "BUSYBOX", NULL, NULL,
	    ERR_FMT ": repository name (library/BUSYBOX) must be lowercase" },
	{ "vieux/SSHFS", NULL, NULL,
	    ERR_FMT ": repository name (vieux/SSHFS) must be lowercase" },
	{ "localhost:5000/P:Tag", NULL, NULL,
	    ERR_FMT ": repository name (P) must be lowercase" },
	{ "[::1]:5000/P", NULL, NULL,
	    ERR_FMT ": repository name (P) must be lowercase" },
	{ "Foo_bar/x", NULL, NULL, ERR_LOWER },
	/* 64-hex identifiers and lengths */
	{ HEX64, NULL, NULL, "invalid repository name (" HEX64 "), "
	    "cannot specify 64-byte hexadecimal strings" },
	{ "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde",
	    "docker.io/library/0123456789abcdef0123456789abcdef0123456789abcd"
	    "ef0123456789abcde:latest",
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"
	    ":latest", NULL },
	{ "x/" A250 "aaa", "docker.io/x/" A250 "aaa:latest",
	    "x/" A250 "aaa:latest", NULL },
	{ "x/" A250 "aaaa", NULL, NULL, ERR_LONG },
	{ A250, NULL, NULL, ERR_LONG },
	{ "busybox:" T64 T64, "docker.io/library/busybox:" T64 T64,
	    "busybox:" T64 T64, NULL },
	{ "busybox:" T64 T64 "t", NULL, NULL, ERR_FMT },
	/* bad characters and shapes */
	{ "", NULL, NULL, ERR_FMT },
	{ ":tag", NULL, NULL, ERR_FMT },
	{ "busybox:", NULL, NULL, ERR_FMT },
	{ "busybox:.x", NULL, NULL, ERR_FMT },
	{ "a b", NULL, NULL, ERR_FMT },
	{ "foo//bar", NULL, NULL, ERR_FMT },
	{ "foo/bar/", NULL, NULL, ERR_FMT },
	{ "-foo", NULL, NULL, ERR_FMT },
	{ "foo-", NULL, NULL, ERR_FMT },
	{ "foo___bar", NULL, NULL, ERR_FMT },
	{ "foo._bar", NULL, NULL, ERR_FMT },
	{ "foo:bar:baz", NULL, NULL, ERR_FMT },
	{ "a:b/c", NULL, NULL, ERR_FMT },
	{ "localhost:port/x", NULL, NULL, ERR_FMT },
	{ "localhost:5000/p\n", NULL, NULL, ERR_FMT },
	{ "busybox\t", NULL, NULL, ERR_FMT },
	{ "-dom.com/x", NULL, NULL, ERR_FMT },
	{ "[fe80::1%eth0]:5000/p", NULL, NULL, ERR_FMT },
	{ "[::1/p", NULL, NULL, ERR_FMT },
	{ "[::g]/x", NULL, NULL, ERR_FMT },
	{ "[]/x", NULL, NULL, ERR_FMT },
	/* stricter than Docker (see ref.h) */
	{ "localhost:99999/x", NULL, NULL, ERR_FMT },
	{ "localhost:0/x", NULL, NULL, ERR_FMT },
	{ "[:::]/p", NULL, NULL, ERR_FMT },
	{ "a_b.c/x", NULL, NULL, ERR_FMT },
};

/*
 * Row T3 (docs/FETCHER.md): plain http is chosen from the configured name
 * alone, never from what the name resolves to (a name that resolves to
 * {127.0.0.1, attacker} stays https).  Only IP literals and "localhost".
 */
static const struct loop_test {
	const char	*in;
	int		 loopback;
	const char	*url_host;
} loop_data[] = {
	{ "localhost/p", 1, "localhost" },
	{ "localhost:5000/p", 1, "localhost:5000" },
	{ "127.0.0.1/p", 1, "127.0.0.1" },
	{ "127.255.0.1:80/p", 1, "127.255.0.1:80" },
	{ "[::1]/p", 1, "[::1]" },
	{ "[::1]:5000/p", 1, "[::1]:5000" },
	{ "[0:0:0:0:0:0:0:1]:5000/p", 1, "[0:0:0:0:0:0:0:1]:5000" },
	{ "[::ffff:7f00:1]/p", 1, "[::ffff:7f00:1]" },
	{ "busybox", 0, "registry-1.docker.io" },
	{ "index.docker.io/x/y", 0, "registry-1.docker.io" },
	{ "128.0.0.1/p", 0, "128.0.0.1" },
	{ "10.0.0.1:5000/p", 0, "10.0.0.1:5000" },
	{ "127.0.0.1.nip.io/p", 0, "127.0.0.1.nip.io" },
	{ "localhost.example.com/p", 0, "localhost.example.com" },
	{ "[::2]:5000/p", 0, "[::2]:5000" },
	{ "127.1/p", 0, "127.1" },
	{ "loopback-and-public.example:5000/p", 0, "loopback-and-public.example:5000" },
	{ "[::ffff:a00:5]/p", 0, "[::ffff:a00:5]" },
};

static void
test_table(void)
{
	const struct ref_test *t;
	struct pd_ref r;
	struct pd_err e;
	char buf[1024], what[128];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(test_data) / sizeof(test_data[0]); i++) {
		t = &test_data[i];
		pd_err_clear(&e);
		rc = pd_ref_parse(t->in, &r, &e);
		snprintf(what, sizeof(what), "ref[%zu] %.60s", i, t->in);
		if (t->err != NULL) {
			if (rc != -1) {
				ASSERT(0, what);
				continue;
			}
			ASSERT_STR_EQ(e.msg, t->err, what);
			continue;
		}
		if (rc != 0) {
			printf("# %s\n", e.msg);
			ASSERT(0, what);
			continue;
		}
		pd_ref_tag_default(&r);
		rc = pd_ref_full(&r, buf, sizeof(buf));
		ASSERT_STR_EQ(rc == 0 ? buf : NULL, t->full, what);
		rc = pd_ref_familiar(&r, buf, sizeof(buf));
		ASSERT_STR_EQ(rc == 0 ? buf : NULL, t->familiar, what);
	}
}

static void
test_parts(void)
{
	struct pd_ref r;
	struct pd_err e;

	ASSERT_INT_EQ(pd_ref_parse("vieux/sshfs", &r, &e), 0, "parts parse");
	ASSERT_STR_EQ(r.domain, "docker.io", "parts domain");
	ASSERT_STR_EQ(r.path, "vieux/sshfs", "parts path");
	ASSERT_STR_EQ(r.tag, "", "parts no tag before TagNameOnly");
	ASSERT_STR_EQ(r.digest, "", "parts no digest");
	pd_ref_tag_default(&r);
	ASSERT_STR_EQ(r.tag, "latest", "TagNameOnly adds latest");

	ASSERT_INT_EQ(pd_ref_parse("[::1]:5000/a/b:t@" DGST, &r, &e), 0,
	    "parts ipv6 parse");
	ASSERT_STR_EQ(r.domain, "[::1]:5000", "parts ipv6 domain");
	ASSERT_STR_EQ(r.path, "a/b", "parts ipv6 path");
	ASSERT_STR_EQ(r.tag, "t", "parts ipv6 tag");
	ASSERT_STR_EQ(r.digest, DGST, "parts ipv6 digest");

	ASSERT_INT_EQ(pd_ref_parse("busybox@" DGST, &r, &e), 0, "digest parse");
	pd_ref_tag_default(&r);
	ASSERT_STR_EQ(r.tag, "", "TagNameOnly leaves a digest ref alone");

	memset(&r, 'x', sizeof(r));
	ASSERT_INT_EQ(pd_ref_parse("BAD", &r, &e), -1, "error return");
	ASSERT_INT_EQ(e.code, PD_E_INVAL, "error code is INVAL");
	ASSERT_STR_EQ(r.path, "", "output cleared on error");
	ASSERT_INT_EQ(pd_ref_parse(NULL, &r, &e), -1, "NULL input");
}

static void
test_buffers(void)
{
	struct pd_ref r;
	struct pd_err e;
	char buf[64];

	pd_ref_parse("localhost:5000/p", &r, &e);
	pd_ref_tag_default(&r);
	ASSERT_INT_EQ(pd_ref_full(&r, buf, 23), -1, "full: short buffer");
	ASSERT_INT_EQ(pd_ref_full(&r, buf, 24), 0, "full: exact buffer");
	ASSERT_INT_EQ(pd_ref_familiar(&r, buf, 10), -1,
	    "familiar: short buffer");
	ASSERT_INT_EQ(pd_ref_repo_url_host(&r, buf, 14), -1,
	    "url host: short buffer");
	ASSERT_INT_EQ(pd_ref_repo_url_host(&r, buf, 15), 0,
	    "url host: exact buffer");
}

static void
test_loopback(void)
{
	const struct loop_test *t;
	struct pd_ref r;
	struct pd_err e;
	char buf[256], what[128];
	size_t i;

	for (i = 0; i < sizeof(loop_data) / sizeof(loop_data[0]); i++) {
		t = &loop_data[i];
		snprintf(what, sizeof(what), "T3: loopback by name %s", t->in);
		if (pd_ref_parse(t->in, &r, &e) == -1) {
			printf("# %s\n", e.msg);
			ASSERT(0, what);
			continue;
		}
		ASSERT_INT_EQ(pd_ref_is_loopback(&r), t->loopback, what);
		snprintf(what, sizeof(what), "url host %s", t->in);
		ASSERT_STR_EQ(pd_ref_repo_url_host(&r, buf, sizeof(buf)) == 0 ?
		    buf : NULL, t->url_host, what);
	}
}

static void
test_plugin_id(void)
{
	ASSERT(pd_valid_plugin_id(HEX64), "id: 64 lowercase hex");
	ASSERT(!pd_valid_plugin_id(HEX64U), "id: uppercase refused");
	ASSERT(!pd_valid_plugin_id(HEX64 "0"), "id: 65 chars refused");
	ASSERT(!pd_valid_plugin_id(HEX40), "id: 40 chars refused");
	ASSERT(!pd_valid_plugin_id(""), "id: empty refused");
	ASSERT(!pd_valid_plugin_id(NULL), "id: NULL refused");
	ASSERT(!pd_valid_plugin_id("g123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef"), "id: non-hex refused");
}

int
main(void)
{
	test_table();
	test_parts();
	test_buffers();
	test_loopback();
	test_plugin_id();
	TAP_DONE();
}

/*
 * WWW-Authenticate parser (fetcher/wwwauth.c): challenges real registries
 * send, RFC 7235 corner cases, and malformed input that must be refused
 * without reading out of bounds (run under SANITIZE=1 too).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "wwwauth.h"
#include "../tap.h"

/*
 * want: "" for an error, else the challenges rendered as
 * "scheme{name=value;...}" joined by " | ", token68 as "scheme[t68]".
 */
static const struct wa_test {
	const char	*in;
	const char	*want;
} test_data[] = {
	/* what registries send */
	{ "Bearer realm=\"https://auth.docker.io/token\",service=\"registry."
	    "docker.io\",scope=\"repository:library/busybox:pull\"",
	    "Bearer{realm=https://auth.docker.io/token;service=registry.docker.io;"
	    "scope=repository:library/busybox:pull}" },
	{ "Basic realm=\"Registry Realm\"", "Basic{realm=Registry Realm}" },
	{ "Bearer realm=\"https://ghcr.io/token\",service=\"ghcr.io\","
	    "scope=\"repository:a/b:pull\",error=\"insufficient_scope\"",
	    "Bearer{realm=https://ghcr.io/token;service=ghcr.io;"
	    "scope=repository:a/b:pull;error=insufficient_scope}" },
	{ "Bearer realm=\"h\",scope=\"repository:a:pull repository:b:pull\"",
	    "Bearer{realm=h;scope=repository:a:pull repository:b:pull}" },
	/* case, whitespace, token values, BWS around "=" */
	{ "bearer REALM=x", "bearer{REALM=x}" },
	{ "BASIC realm = \"x\" , charset=UTF-8", "BASIC{realm=x;charset=UTF-8}" },
	{ "  Basic   realm=\"x\"  ", "Basic{realm=x}" },
	{ "Basic\trealm=x", "" },
	/* several challenges in one header */
	{ "Basic realm=\"a\", Bearer realm=\"b\",service=\"c\"",
	    "Basic{realm=a} | Bearer{realm=b;service=c}" },
	{ "Negotiate, Basic realm=x", "Negotiate{} | Basic{realm=x}" },
	{ "Newauth realm=\"apps\", type=1, title=\"Login to \\\"apps\\\"\", "
	    "Basic realm=\"simple\"",
	    "Newauth{realm=apps;type=1;title=Login to \"apps\"} | "
	    "Basic{realm=simple}" },
	{ ", ,Basic realm=x,,", "Basic{realm=x}" },
	/* token68 */
	{ "Negotiate abcDEF123==", "Negotiate[abcDEF123==]" },
	{ "Negotiate abc=, Basic realm=x", "Negotiate[abc=] | Basic{realm=x}" },
	{ "Foo a/b+c.d~e-f_g", "Foo[a/b+c.d~e-f_g]" },
	/* quoted strings */
	{ "Basic realm=\"a\\\\b\"", "Basic{realm=a\\b}" },
	{ "Basic realm=\"a,b=c\"", "Basic{realm=a,b=c}" },
	{ "Basic realm=\"\"", "Basic{realm=}" },
	{ "Basic realm=\"tab\there\"", "Basic{realm=tab\there}" },
	{ "Basic realm=\"\xc3\xa9t\xc3\xa9\"", "Basic{realm=\xc3\xa9t\xc3\xa9}" },
	/* malformed */
	{ "", "" },
	{ "Bearer realm=\"unterminated", "" },
	{ "Bearer realm=\"a\\", "" },
	{ "Bearer realm=", "Bearer[realm=]" },
	{ "Bearer realm=,service=x", "" },
	{ "=== \"x\"", "" },
	{ "\"Bearer\" realm=x", "" },
	{ "Bearer realm=\"a\" service=\"b\"", "" },
	{ "Bearer realm=\"a\",realm=\"b\"", "" },
	{ "Bearer realm=\"a\",REALM=\"b\"", "" },
	{ "Bearer realm=\"a\rb\"", "" },
	{ "Bearer realm=\"a\nb\"", "" },
	{ "Bearer realm=\"a\x7f\"", "" },
	{ "Bearer realm=a b=c", "" },
	{ "Bearer a==b", "" },
	{ "Bearer realm=\"x\";service=y", "" },
	{ "Bearer realm=x,a=1,b=2,c=3,d=4,e=5,f=6,g=7,h=8,i=9,j=10,k=11,l=12,"
	    "m=13,n=14,o=15", "Bearer{realm=x;a=1;b=2;c=3;d=4;e=5;f=6;g=7;h=8;"
	    "i=9;j=10;k=11;l=12;m=13;n=14;o=15}" },
	{ "Bearer realm=x,a=1,b=2,c=3,d=4,e=5,f=6,g=7,h=8,i=9,j=10,k=11,l=12,"
	    "m=13,n=14,o=15,p=16", "" },
	{ "A, B, C, D, E, F, G, H", "A{} | B{} | C{} | D{} | E{} | F{} | G{} | "
	    "H{}" },
	{ "A, B, C, D, E, F, G, H, I", "" },
};

static void
render(const struct wwwauth *w, char *out, size_t len)
{
	const struct wwwauth_chal *ch;
	size_t i, j, n;

	out[0] = '\0';
	for (i = 0; i < w->nchal; i++) {
		ch = &w->chal[i];
		n = strlen(out);
		snprintf(out + n, len - n, "%s%s", i ? " | " : "", ch->scheme_name);
		n = strlen(out);
		if (ch->token68 != NULL) {
			snprintf(out + n, len - n, "[%s]", ch->token68);
			continue;
		}
		snprintf(out + n, len - n, "{");
		for (j = 0; j < ch->nparams; j++) {
			n = strlen(out);
			snprintf(out + n, len - n, "%s%s=%s", j ? ";" : "",
			    ch->params[j].name, ch->params[j].value);
		}
		n = strlen(out);
		snprintf(out + n, len - n, "}");
	}
}

int
main(void)
{
	static struct wwwauth w;
	struct pd_err e;
	char got[4096], what[256], *big, *q, *copy;
	const struct wwwauth_chal *ch;
	const struct wa_test *t;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(test_data) / sizeof(test_data[0]); i++) {
		t = &test_data[i];
		/* Parse from an exact-size heap copy: ASan sees overreads. */
		copy = malloc(strlen(t->in) + 1);
		memcpy(copy, t->in, strlen(t->in));
		wwwauth_init(&w);
		rc = wwwauth_parse(&w, copy, strlen(t->in), &e);
		if (rc == 0 && t->in[0] == '\0')
			rc = w.nchal == 0 ? -1 : 0;
		snprintf(what, sizeof(what), "parse %.60s", t->in);
		for (q = what; *q != '\0'; q++)
			if ((unsigned char)*q < 0x20 || (unsigned char)*q >= 0x7f)
				*q = '?';
		if (t->want[0] == '\0') {
			if (rc == 0) {
				render(&w, got, sizeof(got));
				printf("# got %s\n", got);
			}
			ASSERT(rc == -1, what);
		} else {
			if (rc == -1)
				printf("# error: %s\n", e.msg);
			render(&w, got, sizeof(got));
			ASSERT_STR_EQ(rc == 0 ? got : e.msg, t->want, what);
		}
		free(copy);
	}

	/* Lookups are case-insensitive; scheme classification. */
	wwwauth_init(&w);
	snprintf(got, sizeof(got), "Basic realm=a, BEARER Realm=\"r\",Service=s");
	rc = wwwauth_parse(&w, got, strlen(got), &e);
	ASSERT_INT_EQ(rc, 0, "two challenges");
	ch = wwwauth_find(&w, WWWAUTH_BEARER);
	ASSERT(ch != NULL && ch == &w.chal[1], "find Bearer");
	ASSERT_STR_EQ(ch ? wwwauth_param(ch, "realm") : NULL, "r",
	    "param realm case-insensitive");
	ASSERT_STR_EQ(ch ? wwwauth_param(ch, "service") : NULL, "s",
	    "param service");
	ASSERT(ch && wwwauth_param(ch, "scope") == NULL, "missing param");
	ASSERT(wwwauth_find(&w, WWWAUTH_BASIC) == &w.chal[0], "find Basic");

	/* Several header lines accumulate into one struct. */
	wwwauth_init(&w);
	rc = wwwauth_parse(&w, "Basic realm=a", 13, &e);
	rc |= wwwauth_parse(&w, "Bearer realm=b", 14, &e);
	ASSERT(rc == 0 && w.nchal == 2, "two header lines");

	/* Embedded NUL: length-delimited input, NUL is not a tchar. */
	wwwauth_init(&w);
	ASSERT(wwwauth_parse(&w, "Basic realm=\"a\0b\"", 17, &e) == -1,
	    "NUL inside a quoted string");

	/* Length caps: 8 KiB total, over several lines too. */
	big = malloc(WWWAUTH_MAXLEN + 64);
	memset(big, 'a', WWWAUTH_MAXLEN + 64);
	memcpy(big, "Bearer realm=\"", 14);
	big[WWWAUTH_MAXLEN - 2] = '"';
	wwwauth_init(&w);
	ASSERT_INT_EQ(wwwauth_parse(&w, big, WWWAUTH_MAXLEN - 1, &e), 0,
	    "challenge just under the cap");
	wwwauth_init(&w);
	ASSERT_INT_EQ(wwwauth_parse(&w, big, WWWAUTH_MAXLEN + 1, &e), -1,
	    "challenge over the cap");
	wwwauth_init(&w);
	(void)wwwauth_parse(&w, big, WWWAUTH_MAXLEN - 1, &e);
	ASSERT_INT_EQ(wwwauth_parse(&w, "Basic realm=x", 13, &e), -1,
	    "second line over the total cap");
	free(big);

	/* A maximal value fills the arena without overflowing it. */
	big = malloc(WWWAUTH_MAXLEN);
	for (i = 0; i < WWWAUTH_MAXLEN; i++)
		big[i] = (i % 2) ? ',' : 'A';
	wwwauth_init(&w);
	ASSERT_INT_EQ(wwwauth_parse(&w, big, WWWAUTH_MAXLEN, &e), -1,
	    "4096 one-letter challenges refused");
	free(big);

	TAP_DONE();
}

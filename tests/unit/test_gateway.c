/*
 * The gateway's reading of a plugin's answer (gateway/answer.c), the
 * Mountpoint rewriting of volume-driver answers (gateway/rewrite.c) and
 * the in-use reports (gateway/use.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "../tap.h"

#define PM	"/data"
#define HOST	"/var/lib/plugind/plugins/ID/propagated-mount"

/* Parse `raw` as a whole answer (EOF after it): the parse result. */
static int
answer(struct gw_answer *a, const char *raw, size_t n, char *err,
    size_t errlen)
{
	int r;

	gw_answer_init(a);
	memcpy(a->buf, raw, n);
	a->len = n;
	if ((r = gw_answer_parse(a, err, errlen)) != 0)
		return r;
	a->eof = 1;
	return gw_answer_parse(a, err, errlen);
}

static void
test_framing(void)
{
	static const char cl[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}xx";
	static const char ch[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
	    "\r\n1\r\n{\r\n1;x=y\r\n}\r\n0\r\n\r\n";
	static const char eof[] = "HTTP/1.0 404 Not Found\r\n\r\n{\"Err\":\"x\"}";
	static const char *bad[] = {
		"garbage\r\n\r\n",
		"HTTP/2 200 OK\r\n\r\n{}",
		"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{}",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n{}",
		"HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n{}",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n{}",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffff\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n",
	};
	static struct gw_answer a;
	char err[256], what[64];
	size_t i;

	ASSERT_INT_EQ(answer(&a, cl, sizeof(cl) - 1, err, sizeof(err)), 1,
	    "Content-Length answer");
	ASSERT(a.status == 200 && a.blen == 2 && memcmp(a.body, "{}", 2) == 0,
	    "Content-Length: the body is its 2 bytes");
	ASSERT_INT_EQ(answer(&a, ch, sizeof(ch) - 1, err, sizeof(err)), 1,
	    "chunked answer");
	ASSERT(a.blen == 2 && memcmp(a.body, "{}", 2) == 0, "chunked: decoded");
	ASSERT_INT_EQ(answer(&a, eof, sizeof(eof) - 1, err, sizeof(err)), 1,
	    "answer to EOF");
	ASSERT(a.status == 404 && a.blen == 11, "EOF: status and body");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(what, sizeof(what), "bad answer %zu refused", i);
		ASSERT_INT_EQ(answer(&a, bad[i], strlen(bad[i]), err,
		    sizeof(err)), -1, what);
	}
	gw_answer_init(&a);
	memset(a.buf, 'a', GW_HDR_MAX);
	a.len = GW_HDR_MAX;
	ASSERT_INT_EQ(gw_answer_parse(&a, err, sizeof(err)), -1,
	    "64 KiB without the end of the headers: refused");
}

static const struct rw_test {
	const char	*call;
	const char	*pm;
	const char	*body;
	const char	*want;	/* NULL: refused */
} rw_data[] = {
	{ "/VolumeDriver.Mount", PM, "{\"Mountpoint\":\"/data/volumes/v1\"}",
	    "{\"Mountpoint\":\"" HOST "/volumes/v1\"}" },
	{ "/VolumeDriver.Path", PM, "{\"Mountpoint\":\"/data\"}",
	    "{\"Mountpoint\":\"" HOST "\"}" },
	{ "/VolumeDriver.Path", PM "/", "{\"Mountpoint\":\"/data//v/\"}",
	    "{\"Mountpoint\":\"" HOST "/v/\"}" },
	{ "/VolumeDriver.Get", PM, "{\"Volume\":{\"Mountpoint\":\"/data/v\"}}",
	    "{\"Volume\":{\"Mountpoint\":\"" HOST "/v\"}}" },
	{ "/VolumeDriver.List", PM, "{\"Volumes\":[{\"Mountpoint\":\"/data/a\"},"
	    "{\"Name\":\"b\"}]}", "{\"Volumes\":[{\"Mountpoint\":\"" HOST
	    "/a\"},{\"Name\":\"b\"}]}" },
	{ "/VolumeDriver.Mount", PM, "{\"Mountpoint\":\"\",\"Err\":\"no\"}",
	    "{\"Mountpoint\":\"\",\"Err\":\"no\"}" },
	{ "/VolumeDriver.Create", PM, "{\"Mountpoint\":\"/etc\"}",
	    "{\"Mountpoint\":\"/etc\"}" },
	{ "/VolumeDriver.Mount", PM, "{\"Mountpoint\":\"/datax/v\"}", NULL },
	{ "/VolumeDriver.Mount", PM, "{\"Mountpoint\":\"/data/../etc\"}", NULL },
	{ "/VolumeDriver.Mount", PM, "{\"Mountpoint\":\"/data/./v\"}", NULL },
	{ "/VolumeDriver.Mount", PM, "{\"Mountpoint\":\"data/v\"}", NULL },
	{ "/VolumeDriver.Mount", PM, "{\"Mountpoint\":\"/data/a\\u0000b\"}",
	    NULL },
	{ "/VolumeDriver.Mount", PM, "{\"Mountpoint\":[\"/data/v\"]}", NULL },
	{ "/VolumeDriver.Mount", "", "{\"Mountpoint\":\"/data/v\"}", NULL },
	{ "/VolumeDriver.List", PM, "{\"Volumes\":{}}", NULL },
	{ "/VolumeDriver.List", PM, "[]", NULL },
	{ "/VolumeDriver.Mount", PM, "not json", NULL },
	{ "/NetworkDriver.Join", PM, "not json", NULL },
};

static void
test_rewrite(void)
{
	static struct gw_answer a;
	char err[256], what[160], *out;
	size_t i, olen;
	int r;

	for (i = 0; i < sizeof(rw_data) / sizeof(rw_data[0]); i++) {
		const struct rw_test *t = &rw_data[i];

		gw_answer_init(&a);
		a.body = t->body;
		a.blen = strlen(t->body);
		r = gw_rewrite(t->call, 1, t->pm, HOST, &a, &out, &olen, err,
		    sizeof(err));
		snprintf(what, sizeof(what), "%s %s: %s", t->call, t->body,
		    t->want ? "rewritten" : "refused");
		if (t->want == NULL)
			ASSERT_INT_EQ(r, -1, what);
		else {
			ASSERT_INT_EQ(r, 0, what);
			ASSERT(r == 0 && olen == strlen(t->want) &&
			    memcmp(out, t->want, olen) == 0, what);
			if (r == 0 && (olen != strlen(t->want) ||
			    memcmp(out, t->want, olen) != 0))
				printf("# got %.*s\n", (int)olen, out);
		}
		free(out);
	}
	/* Not a volume driver: Mountpoints pass untouched. */
	a.body = "{\"Mountpoint\":\"/etc\"}";
	a.blen = strlen(a.body);
	r = gw_rewrite("/VolumeDriver.Mount", 0, PM, HOST, &a, &out, &olen, err,
	    sizeof(err));
	ASSERT(r == 0 && olen == a.blen && memcmp(out, a.body, olen) == 0,
	    "other driver types pass unchanged");
	free(out);
}

#define M1	"{\"Name\":\"v1\",\"ID\":\"c1\"}"

static void
test_use(void)
{
	static struct gw_answer a;
	char vol[GW_USE_NAME_MAX + 1], mnt[GW_USE_NAME_MAX + 1], big[400];
	static const char *nonames[] = {
		"", "[]", "{}", "{\"Name\":\"\"}", "{\"Name\":\"a b\"}",
		"{\"Name\":7}", "{\"Name\":\"a\\u0000b\"}",
		"{\"Name\":\"v\",\"Name\":\"w\"}", "garbage",
	};
	static const struct { const char *body; int done; } ans[] = {
		{ "{\"Err\":\"\"}", 1 }, { "{}", 1 }, { "{\"Err\":null}", 1 },
		{ "{\"Err\":\"no\"}", 0 }, { "{\"Err\":3}", 0 }, { "[]", 0 },
		{ "nope", 0 },
	};
	size_t i;

	ASSERT_INT_EQ(gw_use_op("/VolumeDriver.Create"), 0, "Create is op 0");
	ASSERT_INT_EQ(gw_use_op("/VolumeDriver.Unmount"), 3, "Unmount is op 3");
	ASSERT_INT_EQ(gw_use_op("/VolumeDriver.Path"), -1, "Path holds nothing");
	ASSERT_INT_EQ(gw_use_names(M1, strlen(M1), 2, vol, sizeof(vol), mnt,
	    sizeof(mnt)), 0, "Mount names");
	ASSERT(strcmp(vol, "v1") == 0 && strcmp(mnt, "c1") == 0,
	    "Mount: volume and mount ID");
	ASSERT_INT_EQ(gw_use_names("{\"Name\":\"v1\"}", 13, 2, vol, sizeof(vol),
	    mnt, sizeof(mnt)), 0, "Mount without ID");
	ASSERT(strcmp(mnt, "v1") == 0, "Mount without ID: counted by volume");
	for (i = 0; i < sizeof(nonames) / sizeof(nonames[0]); i++)
		ASSERT_INT_EQ(gw_use_names(nonames[i], strlen(nonames[i]), 0, vol,
		    sizeof(vol), mnt, sizeof(mnt)), -1, nonames[i]);
	memset(big, 'x', sizeof(big));
	memcpy(big, "{\"Name\":\"", 9);
	memcpy(big + sizeof(big) - 2, "\"}", 2);
	ASSERT_INT_EQ(gw_use_names(big, sizeof(big), 0, vol, sizeof(vol), mnt,
	    sizeof(mnt)), -1, "a name over 255 bytes");
	for (i = 0; i < sizeof(ans) / sizeof(ans[0]); i++) {
		a.status = 200;
		a.body = ans[i].body;
		a.blen = strlen(ans[i].body);
		ASSERT_INT_EQ(gw_answer_done(&a), ans[i].done, ans[i].body);
	}
	a.status = 500;
	a.body = "{}";
	a.blen = 2;
	ASSERT_INT_EQ(gw_answer_done(&a), 0, "a 500 did nothing");
}

int
main(void)
{
	test_framing();
	test_rewrite();
	test_use();
	TAP_DONE();
}

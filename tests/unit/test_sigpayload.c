/*
 * pd_sigpayload_decode (common/sigpayload.c): skopeo's payload decodes;
 * every deviation containers/image refuses is refused here too.
 */
#include <stdio.h>
#include <string.h>

#include "sigpayload.h"
#include "../tap.h"

#define DG "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int
dec(const char *s, struct pd_sigpayload *p, struct pd_err *e)
{
	return pd_sigpayload_decode(s, strlen(s), p, e);
}

static void
refused(const char *s, const char *want, const char *what)
{
	struct pd_sigpayload p;
	struct pd_err e;

	ASSERT(dec(s, &p, &e) == -1 && strstr(e.msg, want) != NULL &&
	    p.digest[0] == '\0', what);
}

int
main(void)
{
	char buf[PD_SIGPAYLOAD_MAX + 64];
	struct pd_sigpayload p;
	struct pd_err e;

	ASSERT(dec("{\"critical\":{\"identity\":{\"docker-reference\":"
	    "\"127.0.0.1:5000/acme/vol:latest\"},\"image\":{"
	    "\"docker-manifest-digest\":\"" DG "\"},\"type\":\"cosign container "
	    "image signature\"},\"optional\":{\"creator\":\"containers/image\","
	    "\"timestamp\":1764720000}}", &p, &e) == 0 &&
	    strcmp(p.digest, DG) == 0 &&
	    strcmp(p.reference, "127.0.0.1:5000/acme/vol:latest") == 0,
	    "skopeo's payload: digest and reference");
	ASSERT(dec("{\"critical\":{\"identity\":{\"docker-reference\":\"r\"},"
	    "\"image\":{\"docker-manifest-digest\":\"" DG "\"},\"type\":"
	    "\"cosign container image signature\"},\"optional\":null}", &p,
	    &e) == 0, "optional null");
	refused("{\"critical\":{\"identity\":{\"docker-reference\":\"r\"},"
	    "\"image\":{\"docker-manifest-digest\":\"" DG "\"},\"type\":"
	    "\"atomic container signature\"}}", "critical.type",
	    "another type (GPG simple signing) refused");
	refused("{\"critical\":{\"identity\":{\"docker-reference\":\"r\"},"
	    "\"image\":{\"docker-manifest-digest\":\"sha256:12\"},\"type\":"
	    "\"cosign container image signature\"}}", "digest",
	    "a short digest refused");
	refused("{\"critical\":{\"identity\":{\"docker-reference\":\"a\\u0000b\"},"
	    "\"image\":{\"docker-manifest-digest\":\"" DG "\"},\"type\":"
	    "\"cosign container image signature\"}}", "signature payload",
	    "a reference with NUL refused");
	refused("{\"critical\":{\"identity\":{\"docker-reference\":\"r\","
	    "\"x\":1},\"image\":{\"docker-manifest-digest\":\"" DG "\"},"
	    "\"type\":\"cosign container image signature\"}}", "reference",
	    "an extra key in identity refused");
	refused("{\"critical\":{\"identity\":{\"docker-reference\":\"r\"},"
	    "\"image\":{\"docker-manifest-digest\":\"" DG "\"},\"type\":"
	    "\"cosign container image signature\",\"extra\":1}}", "not {",
	    "an extra key in critical refused");
	refused("{\"critical\":{\"identity\":{\"docker-reference\":\"r\"},"
	    "\"image\":{\"docker-manifest-digest\":\"" DG "\"},\"type\":"
	    "\"cosign container image signature\"},\"more\":1}", "not {",
	    "an extra key at the top refused");
	refused("{\"critical\":{\"identity\":{\"docker-reference\":\"r\"},"
	    "\"identity\":{\"docker-reference\":\"s\"},\"image\":{"
	    "\"docker-manifest-digest\":\"" DG "\"},\"type\":\"cosign container "
	    "image signature\"}}", "duplicate", "a duplicate key refused");
	refused("[]", "not {", "not an object");
	refused("{\"critical\":", "signature payload", "truncated JSON");
	memset(buf, ' ', sizeof(buf));
	memcpy(buf, "{}", 2);
	ASSERT(pd_sigpayload_decode(buf, sizeof(buf), &p, &e) == -1 &&
	    strstr(e.msg, "larger") != NULL, "over PD_SIGPAYLOAD_MAX refused");
	TAP_DONE();
}

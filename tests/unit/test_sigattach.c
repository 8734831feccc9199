/*
 * pd_sigmanifest_summary and pd_sig_tag (common/sigattach.c): skopeo's
 * attachment manifest summarises to its signatures; other layers are
 * skipped; a malformed signature layer, too many of them or a payload
 * over PD_SIGPAYLOAD_MAX fails the whole document.
 */
#include <stdio.h>
#include <string.h>

#include "sigattach.h"
#include "../tap.h"

#define DG "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define LAYER(sz, sig) "{\"mediaType\":\"" MT_SIG_SIMPLESIGNING "\",\"digest\":\"" \
	DG "\",\"size\":" sz ",\"annotations\":{\"" PD_SIG_ANNOTATION "\":\"" sig "\"}}"
#define MAN(layers) "{\"schemaVersion\":2,\"mediaType\":" \
	"\"application/vnd.oci.image.manifest.v1+json\",\"config\":{},\"layers\":[" \
	layers "]}"

static json_t *
sum(const char *s, struct pd_err *e)
{
	return pd_sigmanifest_summary(s, strlen(s), e);
}

static void
refused(const char *s, const char *want, const char *what)
{
	struct pd_err e;
	json_t *j = sum(s, &e);

	ASSERT(j == NULL && strstr(e.msg, want) != NULL, what);
	if (j == NULL && strstr(e.msg, want) == NULL)
		printf("# got: %s\n", e.msg);
	json_decref(j);
}

int
main(void)
{
	char buf[8192], tag[80];
	struct pd_err e;
	json_t *j, *s;
	size_t n;
	int i;

	j = sum(MAN(LAYER("271", "MEUCIQ+/=") ",{\"mediaType\":\"x\"}"), &e);
	s = json_array_get(json_object_get(j, "signatures"), 0);
	ASSERT(j != NULL && json_array_size(json_object_get(j, "signatures")) == 1 &&
	    strcmp(json_string_value(json_object_get(s, "digest")), DG) == 0 &&
	    json_integer_value(json_object_get(s, "size")) == 271 &&
	    strcmp(json_string_value(json_object_get(s, "signature")),
	    "MEUCIQ+/=") == 0 &&
	    json_integer_value(json_object_get(j, "others")) >= 1,
	    "skopeo's manifest: one signature, others skipped and counted");
	json_decref(j);
	j = sum(MAN(""), &e);
	ASSERT(j != NULL && json_array_size(json_object_get(j, "signatures")) == 0,
	    "no layers: no signatures");
	json_decref(j);
	refused("{\"layers\":{}}", "not an OCI manifest", "layers not a list");
	refused("{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
	    "\"layers\":[]}", "not an OCI manifest", "another media type");
	refused("[1", "signature manifest:", "not JSON");
	refused(MAN(LAYER("65537", "AAAA")), "size that is not 0 to 65536",
	    "a payload over PD_SIGPAYLOAD_MAX");
	refused(MAN(LAYER("-1", "AAAA")), "size that is not", "a negative size");
	refused(MAN(LAYER("1", "AA AA")), "annotation", "a signature with a space");
	refused(MAN(LAYER("1", "")), "annotation", "an empty signature");
	refused(MAN("{\"mediaType\":\"" MT_SIG_SIMPLESIGNING "\",\"digest\":\"" DG
	    "\",\"size\":1}"), "annotation", "no annotation");
	refused(MAN("{\"mediaType\":\"" MT_SIG_SIMPLESIGNING "\",\"digest\":"
	    "\"md5:00\",\"size\":1,\"annotations\":{}}"), "invalid digest",
	    "a bad digest");
	n = (size_t)snprintf(buf, sizeof(buf), "{\"layers\":[");
	for (i = 0; i <= PD_SIG_MAX; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s" LAYER("1", "AAAA"),
		    i ? "," : "");
	snprintf(buf + n, sizeof(buf) - n, "]}");
	refused(buf, "more than 16 signatures", "PD_SIG_MAX + 1 signatures");
	ASSERT(pd_sig_tag(DG, tag, sizeof(tag)) == 0 && strcmp(tag, "sha256-"
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.sig")
	    == 0, "the tag of a digest's signatures");
	ASSERT(pd_sig_tag("sha256:xyz", tag, sizeof(tag)) == -1, "no tag for a bad digest");
	TAP_DONE();
}

/*
 * pd_manifest_summary on ambiguous documents (registry-misbehaviour row M5,
 * CVE-2021-41190) and on the shapes it must keep accepting.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "manifest.h"
#include "../tap.h"

#define D	"\"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\""
#define CFG	"\"config\":{\"mediaType\":\"application/vnd.docker.plugin.v1+json\"," \
		"\"digest\":" D ",\"size\":1}"
#define LAY	"\"layers\":[{\"mediaType\":\"application/vnd.docker.image.rootfs." \
		"diff.tar.gzip\",\"digest\":" D ",\"size\":1}]"
#define ENT	"\"manifests\":[{\"mediaType\":\"" MT_DOCKER_MANIFEST "\",\"digest\":" \
		D ",\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]"
#define MAN(mt, rest)	"{\"schemaVersion\":2,\"mediaType\":\"" mt "\"," rest "}"

static const struct {
	const char	*doc;
	const char	*ctype;
	const char	*err;		/* NULL: accepted */
} cases[] = {
	{ MAN(MT_DOCKER_MANIFEST, CFG "," LAY), MT_DOCKER_MANIFEST, NULL },
	{ MAN(MT_DOCKER_MANIFEST, CFG "," LAY), MT_DOCKER_MANIFEST
	    "; charset=utf-8", NULL },
	{ MAN(MT_DOCKER_MANIFEST, CFG "," LAY), "", NULL },
	{ "{\"schemaVersion\":2," CFG "," LAY "}", MT_OCI_MANIFEST, NULL },
	{ MAN(MT_DOCKER_LIST, ENT), MT_DOCKER_LIST, NULL },
	{ MAN(MT_DOCKER_MANIFEST, CFG "," LAY "," ENT), MT_DOCKER_MANIFEST,
	    "ambiguous manifest: it has both \"manifests\" and \"config\"" },
	{ MAN(MT_DOCKER_LIST, ENT "," CFG), MT_DOCKER_LIST,
	    "ambiguous manifest: it has both \"manifests\" and \"config\"" },
	{ MAN(MT_OCI_INDEX, ENT "," LAY), MT_OCI_INDEX,
	    "ambiguous manifest: it has both \"manifests\" and \"layers\"" },
	{ "{\"schemaVersion\":2," ENT "," LAY "}", MT_OCI_INDEX,
	    "ambiguous manifest" },
	{ MAN(MT_DOCKER_MANIFEST, CFG "," LAY), MT_OCI_MANIFEST,
	    "manifest media type mismatch: the registry sent Content-Type \""
	    MT_OCI_MANIFEST "\", the document says \"" MT_DOCKER_MANIFEST "\"" },
	{ MAN(MT_DOCKER_LIST, ENT), MT_OCI_INDEX, "manifest media type mismatch" },
};

/* pd_plugin_manifest: what push rebuilds decodes to the descriptors given. */
static void
built(void)
{
	const char *cd = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
	const char *l[2] = {
	    "sha256:2222222222222222222222222222222222222222222222222222222222222222",
	    "sha256:3333333333333333333333333333333333333333333333333333333333333333" };
	uint64_t s[2] = { 10, 20 };
	struct pd_err e;
	json_t *j, *ls;
	char *txt;

	txt = pd_plugin_manifest(cd, 5, l, s, 2);
	j = txt != NULL ? pd_manifest_summary(txt, strlen(txt), MT_DOCKER_MANIFEST,
	    &e) : NULL;
	ls = json_object_get(j, "layers");
	ASSERT(j != NULL && json_array_size(ls) == 2 &&
	    strcmp(json_string_value(json_object_get(json_array_get(ls, 1),
	    "digest")), l[1]) == 0 && strcmp(json_string_value(json_object_get(
	    json_object_get(j, "config"), "digest")), cd) == 0,
	    "pd_plugin_manifest decodes to its config and layers, in order");
	ASSERT(txt != NULL && strncmp(txt, "{\"schemaVersion\":2,\"mediaType\":", strlen("{\"schemaVersion\":2,\"mediaType\":")) == 0,
	    "compact, in the order moby's create writes");
	json_decref(j);
	free(txt);
}

int
main(void)
{
	struct pd_err e;
	char what[128];
	json_t *j;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(what, sizeof(what), "M5 case %zu: %s", i,
		    cases[i].err ? cases[i].err : "accepted");
		pd_err_clear(&e);
		j = pd_manifest_summary(cases[i].doc, strlen(cases[i].doc),
		    cases[i].ctype, &e);
		if (cases[i].err == NULL)
			ASSERT(j != NULL, what);
		else {
			ASSERT(j == NULL && strstr(e.msg, cases[i].err) != NULL, what);
			if (j != NULL || strstr(e.msg, cases[i].err) == NULL)
				printf("# got: %s\n", j ? "accepted" : e.msg);
		}
		if (j == NULL && cases[i].err == NULL)
			printf("# got: %s\n", e.msg);
		json_decref(j);
	}
	built();
	TAP_DONE();
}

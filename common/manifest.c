#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>

#include "digest.h"
#include "manifest.h"

static int
is_manifest_type(const char *mt)
{
	return strcmp(mt, MT_DOCKER_MANIFEST) == 0 || strcmp(mt, MT_OCI_MANIFEST) == 0;
}

static int
is_index_type(const char *mt)
{
	return strcmp(mt, MT_DOCKER_LIST) == 0 || strcmp(mt, MT_OCI_INDEX) == 0;
}

/* Content-Type without parameters equals mt (case-insensitive). */
static int
ctype_is(const char *ct, const char *mt)
{
	size_t n = strcspn(ct, "; \t");

	return strlen(mt) == n && strncasecmp(ct, mt, n) == 0;
}

/*
 * M5 (CVE-2021-41190): a document must have one shape.  The body's
 * mediaType, when present, must be the Content-Type the registry sent,
 * and a manifest must not carry "manifests" nor an index "config" or
 * "layers", whatever the declared type: otherwise two readers can see
 * two different documents in the same bytes.
 */
static int
unambiguous(const json_t *doc, const char *body_mt, const char *ct,
    struct pd_err *e)
{
	int man = json_object_get(doc, "config") != NULL ||
	    json_object_get(doc, "layers") != NULL;

	if (man && json_object_get(doc, "manifests") != NULL)
		return pd_errf(e, PD_E_INVAL, "ambiguous manifest: it has both "
		    "\"manifests\" and \"%s\"", json_object_get(doc, "config") ?
		    "config" : "layers");
	if (body_mt != NULL && ct != NULL && ct[0] != '\0' &&
	    !ctype_is(ct, body_mt))
		return pd_errf(e, PD_E_INVAL, "manifest media type mismatch: the "
		    "registry sent Content-Type \"%.100s\", the document says "
		    "\"%.100s\"", ct, body_mt);
	return 0;
}

/* A descriptor: mediaType, sha256 digest, size; anything else ignored. */
static json_t *
descriptor(const json_t *d, const char *what, struct pd_err *e)
{
	const json_t *mt = json_object_get(d, "mediaType"),
	    *dg = json_object_get(d, "digest"), *sz = json_object_get(d, "size");
	const char *s;

	if (!json_is_object(d)) {
		pd_errf(e, PD_E_INVAL, "malformed manifest: %s is not an object", what);
		return NULL;
	}
	if (!json_is_string(mt) || json_string_length(mt) == 0 ||
	    json_string_length(mt) > 255) {
		pd_errf(e, PD_E_INVAL, "malformed manifest: %s has no mediaType", what);
		return NULL;
	}
	s = json_string_value(dg);
	if (s == NULL || !pd_digest_valid(s)) {
		if (s != NULL && strchr(s, ':') != NULL && strncmp(s, "sha256:", 7) != 0)
			pd_errf(e, PD_E_INVAL, "malformed manifest: %s digest \"%.80s\" uses "
			    "an unsupported algorithm (only sha256)", what, s);
		else
			pd_errf(e, PD_E_INVAL, "malformed manifest: %s has an invalid "
			    "digest", what);
		return NULL;
	}
	if (!json_is_integer(sz) || json_integer_value(sz) < 0 ||
	    json_integer_value(sz) > (json_int_t)1 << 50) {
		pd_errf(e, PD_E_INVAL, "malformed manifest: %s has an invalid size", what);
		return NULL;
	}
	return json_pack("{s:O, s:O, s:O}", "mediaType", mt, "digest", dg, "size", sz);
}

/* A string member of o, or "" when it is absent or not a string. */
static const char *
str_member(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : "";
}

/*
 * The document's media type: its own mediaType, else the registry's
 * Content-Type, else guessed from its members; then checked against
 * schemaVersion and the members.  NULL after an error.
 */
static const char *
summary_type(const json_t *doc, const char *content_type, struct pd_err *e)
{
	const json_t *v;
	const char *mt = NULL;

	if (json_is_string(v = json_object_get(doc, "mediaType")))
		mt = json_string_value(v);
	if (unambiguous(doc, mt, content_type, e) == -1)
		return NULL;
	if (mt != NULL)
		;
	else if (content_type != NULL && (is_manifest_type(content_type) ||
	    is_index_type(content_type)))
		mt = content_type;
	else if (json_object_get(doc, "manifests") != NULL)
		mt = MT_OCI_INDEX;
	else if (json_object_get(doc, "config") != NULL)
		mt = MT_OCI_MANIFEST;
	v = json_object_get(doc, "schemaVersion");
	if ((mt != NULL && strcmp(mt, MT_DOCKER_SCHEMA1) == 0) ||
	    (json_is_integer(v) && json_integer_value(v) == 1)) {
		pd_errf(e, PD_E_INVAL, "schema1 manifests are not supported");
		return NULL;
	}
	if (!json_is_integer(v) || json_integer_value(v) != 2) {
		pd_errf(e, PD_E_INVAL, "malformed manifest: schemaVersion must be 2");
		return NULL;
	}
	if (mt == NULL || (!is_manifest_type(mt) && !is_index_type(mt))) {
		pd_errf(e, PD_E_INVAL, "unsupported manifest media type \"%.100s\"",
		    mt ? mt : "");
		return NULL;
	}
	if (is_index_type(mt) && (json_object_get(doc, "config") != NULL ||
	    json_object_get(doc, "layers") != NULL)) {
		pd_errf(e, PD_E_INVAL, "ambiguous manifest: an index with \"%s\"",
		    json_object_get(doc, "config") ? "config" : "layers");
		return NULL;
	}
	return mt;
}

/*
 * The descriptors of doc[key] appended to arr: a manifest's "layers", or
 * an index's "manifests" with each one's platform.  At most max.
 */
static int
descriptor_list(const json_t *doc, const char *key, size_t max, json_t *arr,
    struct pd_err *e)
{
	int index = strcmp(key, "manifests") == 0;
	const char *doc_kind = index ? "index" : "manifest";
	const json_t *v, *x, *p;
	json_t *d;
	char what[64];
	size_t i;

	v = json_object_get(doc, key);
	if (!json_is_array(v))
		return pd_errf(e, PD_E_INVAL, "malformed %s: no %s array",
		    doc_kind, key);
	if (json_array_size(v) > max)
		return pd_errf(e, PD_E_LIMIT, "%s has %zu %s (at most %zu)",
		    doc_kind, json_array_size(v), key, max);
	json_array_foreach(v, i, x) {
		snprintf(what, sizeof(what), "%s %zu", index ? "manifest" :
		    "layer", i);
		if ((d = descriptor(x, what, e)) == NULL)
			return -1;
		if (index) {
			p = json_object_get(x, "platform");
			json_object_set_new(d, "os", json_string(str_member(p,
			    "os")));
			json_object_set_new(d, "architecture", json_string(
			    str_member(p, "architecture")));
			json_object_set_new(d, "variant", json_string(str_member(p,
			    "variant")));
		}
		json_array_append_new(arr, d);
	}
	return 0;
}

/*
 * Summarise a manifest or index.  content_type is the registry's
 * Content-Type (may be NULL); the document's own mediaType wins.
 */
json_t *
pd_manifest_summary(const char *buf, size_t len, const char *content_type,
    struct pd_err *e)
{
	json_t *doc, *out = NULL, *d;
	const char *mt;
	json_error_t jerr;
	int rc;

	doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(doc)) {
		pd_errf(e, PD_E_INVAL, "malformed manifest: %s", doc ? "not a JSON object"
		    : jerr.text);
		json_decref(doc);
		return NULL;
	}
	if ((mt = summary_type(doc, content_type, e)) == NULL)
		goto out;
	if (is_manifest_type(mt)) {
		if ((d = descriptor(json_object_get(doc, "config"), "config", e)) == NULL)
			goto out;
		out = json_pack("{s:s, s:s, s:o, s:[]}", "kind", "manifest",
		    "mediaType", mt, "config", d, "layers");
		rc = descriptor_list(doc, "layers", PD_MANIFEST_MAX_LAYERS,
		    json_object_get(out, "layers"), e);
	} else {
		out = json_pack("{s:s, s:s, s:[]}", "kind", "index", "mediaType", mt,
		    "manifests");
		rc = descriptor_list(doc, "manifests", PD_INDEX_MAX_MANIFESTS,
		    json_object_get(out, "manifests"), e);
	}
	if (rc == -1) {
		json_decref(out);
		out = NULL;
	}
out:
	json_decref(doc);
	return out;
}

/* GOARCH name of this machine. */
const char *
pd_host_arch(void)
{
	static char arch[80];
	struct utsname u;

	if (arch[0] != '\0')
		return arch;
	if (uname(&u) == -1)
		snprintf(arch, sizeof(arch), "unknown");
	else if (strcmp(u.machine, "x86_64") == 0)
		snprintf(arch, sizeof(arch), "amd64");
	else if (strcmp(u.machine, "aarch64") == 0)
		snprintf(arch, sizeof(arch), "arm64");
	else if (strncmp(u.machine, "armv", 4) == 0)
		snprintf(arch, sizeof(arch), "arm");
	else if (strcmp(u.machine, "i686") == 0 || strcmp(u.machine, "i386") == 0)
		snprintf(arch, sizeof(arch), "386");
	else
		snprintf(arch, sizeof(arch), "%s", u.machine);
	return arch;
}

/*
 * Pick the index entry for os/arch.  Docker pulls every child (no platform
 * filter); we take exactly the one this host can run and say which exist if
 * none.
 */
const json_t *
pd_index_select(const json_t *summary, const char *os, const char *arch,
    struct pd_err *e)
{
	const json_t *m;
	char have[1024];
	size_t i, n = 0;

	json_array_foreach(json_object_get(summary, "manifests"), i, m)
		if (strcmp(json_string_value(json_object_get(m, "os")), os) == 0 &&
		    strcmp(json_string_value(json_object_get(m, "architecture")),
		    arch) == 0)
			return m;
	have[0] = '\0';
	json_array_foreach(json_object_get(summary, "manifests"), i, m)
		n += (size_t)snprintf(have + n, n < sizeof(have) ? sizeof(have) - n : 0,
		    "%s%s/%s", i ? ", " : "",
		    json_string_value(json_object_get(m, "os")),
		    json_string_value(json_object_get(m, "architecture")));
	pd_errf(e, PD_E_NOTFOUND, "no matching manifest for %s/%s in the manifest "
	    "list entries (available: %s)", os, arch, have[0] ? have : "none");
	return NULL;
}

/*
 * The schema2 manifest of a plugin as moby's create writes it, compact:
 * {schemaVersion, mediaType, config, layers}, each descriptor {mediaType,
 * size, digest}, the layers gzip.  The one builder: create stores it,
 * push rebuilds it to know a manifest of plugind's own without a parser.
 * NULL when out of memory.
 */
char *
pd_plugin_manifest(const char *cdigest, uint64_t csize,
    const char *const *layers, const uint64_t *sizes, size_t n)
{
	json_t *man, *ls;
	char *txt;
	size_t i;

	ls = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(ls, json_pack("{s:s, s:I, s:s}", "mediaType",
		    MT_LAYER_GZIP, "size", (json_int_t)sizes[i], "digest",
		    layers[i]));
	man = json_pack("{s:i, s:s, s:{s:s, s:I, s:s}, s:o}", "schemaVersion", 2,
	    "mediaType", MT_DOCKER_MANIFEST, "config", "mediaType",
	    MT_PLUGIN_CONFIG, "size", (json_int_t)csize, "digest", cdigest,
	    "layers", ls);
	if (man == NULL)
		return NULL;
	txt = json_dumps(man, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(man);
	return txt;
}

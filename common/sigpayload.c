/*
 * Decode a sigstore signature payload (common/sigpayload.h) strictly, as
 * containers/image does: "critical" has exactly "identity", "image" and
 * "type", each with exactly its one key; "optional" may be anything or
 * null; nothing else at the top.  A duplicate key, a wrong type string,
 * a malformed digest or an over-long reference is an error: a payload
 * that two decoders could read two ways must not be accepted.
 */
#include <string.h>

#include <jansson.h>

#include "digest.h"
#include "sigpayload.h"

/* The one string member key of o (an object of exactly one key). */
static const char *
only_string(const json_t *o, const char *key)
{
	if (!json_is_object(o) || json_object_size(o) != 1)
		return NULL;
	return json_string_value(json_object_get(o, key));
}

static int
keys_are(json_t *o, const char *const *keys, size_t n)
{
	const char *k;
	json_t *v;
	size_t i;

	json_object_foreach(o, k, v) {
		for (i = 0; i < n && strcmp(k, keys[i]) != 0; i++)
			;
		if (i == n)
			return 0;
	}
	return 1;
}

int
pd_sigpayload_decode(const char *buf, size_t len, struct pd_sigpayload *out,
    struct pd_err *e)
{
	static const char *const top[] = { "critical", "optional" };
	static const char *const crit[] = { "identity", "image", "type" };
	const char *d, *r, *t;
	json_error_t jerr;
	json_t *o, *c;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (len > PD_SIGPAYLOAD_MAX)
		return pd_errf(e, PD_E_INVAL, "signature payload: larger than "
		    "%d bytes", PD_SIGPAYLOAD_MAX);
	o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL)
		return pd_errf(e, PD_E_INVAL, "signature payload: %s", jerr.text);
	c = json_object_get(o, "critical");
	if (!json_is_object(o) || !keys_are(o, top, 2) || !json_is_object(c) ||
	    json_object_size(c) != 3 || !keys_are(c, crit, 3)) {
		pd_errf(e, PD_E_INVAL, "signature payload: not {\"critical\": "
		    "{identity, image, type}, \"optional\"}");
		goto out;
	}
	t = json_string_value(json_object_get(c, "type"));
	d = only_string(json_object_get(c, "image"), "docker-manifest-digest");
	r = only_string(json_object_get(c, "identity"), "docker-reference");
	if (t == NULL || strcmp(t, PD_SIGPAYLOAD_TYPE) != 0)
		pd_errf(e, PD_E_INVAL, "signature payload: critical.type is not "
		    "\"%s\"", PD_SIGPAYLOAD_TYPE);
	else if (d == NULL || strlen(d) >= sizeof(out->digest) ||
	    !pd_digest_valid(d))
		pd_errf(e, PD_E_INVAL, "signature payload: "
		    "critical.image.docker-manifest-digest is not a digest");
	else if (r == NULL || r[0] == '\0' ||
	    strlen(r) >= sizeof(out->reference) ||
	    strlen(r) != json_string_length(json_object_get(json_object_get(c,
	    "identity"), "docker-reference")))
		pd_errf(e, PD_E_INVAL, "signature payload: "
		    "critical.identity.docker-reference is not a reference");
	else {
		memcpy(out->digest, d, strlen(d) + 1);
		memcpy(out->reference, r, strlen(r) + 1);
		rc = 0;
	}
out:
	json_decref(o);
	return rc;
}

/*
 * The sigstore attachment manifest (common/sigattach.h), decoded into
 * {"signatures": [{"digest", "size", "signature"}], "others": N}: at most PD_SIG_MAX
 * entries, each a sha256 digest, a size of at most PD_SIGPAYLOAD_MAX and
 * a signature of at most PD_SIG_B64_MAX bytes of base64 characters.
 * Layers of another media type are not signatures and are skipped (N
 * counts them, so that push --sign-by never drops one); a
 * signature layer that is malformed fails the whole document, so that
 * what the broker sees is all there was.
 */
#include <stdio.h>
#include <string.h>

#include "digest.h"
#include "manifest.h"
#include "sigattach.h"
#include "sigpayload.h"
#include "sigverify.h"

/* Whether s has only base64 characters (the decoder is stricter). */
int
pd_sig_b64_chars(const char *s)
{
	for (; *s != '\0'; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9') || *s == '+' || *s == '/' ||
		    *s == '='))
			return 0;
	return 1;
}

/* One signature layer (index i) as {digest, size, signature}. */
static json_t *
sig_entry(const json_t *l, size_t i, struct pd_err *e)
{
	const json_t *dg = json_object_get(l, "digest"),
	    *sz = json_object_get(l, "size"), *sig;

	sig = json_object_get(json_object_get(l, "annotations"),
	    PD_SIG_ANNOTATION);
	if (!json_is_string(dg) || !pd_digest_valid(json_string_value(dg))) {
		pd_errf(e, PD_E_INVAL, "signature manifest: layers[%zu] has an "
		    "invalid digest", i);
		return NULL;
	}
	if (!json_is_integer(sz) || json_integer_value(sz) < 0 ||
	    json_integer_value(sz) > PD_SIGPAYLOAD_MAX) {
		pd_errf(e, PD_E_LIMIT, "signature manifest: layers[%zu] has a "
		    "size that is not 0 to %d bytes", i, PD_SIGPAYLOAD_MAX);
		return NULL;
	}
	if (!json_is_string(sig) || json_string_length(sig) == 0 ||
	    json_string_length(sig) > PD_SIG_B64_MAX ||
	    strlen(json_string_value(sig)) != json_string_length(sig) ||
	    !pd_sig_b64_chars(json_string_value(sig))) {
		pd_errf(e, PD_E_INVAL, "signature manifest: layers[%zu] has no "
		    "annotation %s of 1 to %d base64 bytes", i, PD_SIG_ANNOTATION,
		    PD_SIG_B64_MAX);
		return NULL;
	}
	return json_pack("{s:O, s:O, s:O}", "digest", dg, "size", sz,
	    "signature", sig);
}

json_t *
pd_sigmanifest_summary(const char *buf, size_t len, struct pd_err *e)
{
	const json_t *layers, *l;
	json_error_t jerr;
	json_t *doc, *sigs, *s;
	const char *mt;
	size_t i, others = 0;

	if ((doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		pd_errf(e, PD_E_INVAL, "signature manifest: %s", jerr.text);
		return NULL;
	}
	mt = json_string_value(json_object_get(doc, "mediaType"));
	layers = json_object_get(doc, "layers");
	if (!json_is_object(doc) || (mt != NULL &&
	    strcmp(mt, MT_OCI_MANIFEST) != 0) || !json_is_array(layers)) {
		json_decref(doc);
		pd_errf(e, PD_E_INVAL, "signature manifest: not an OCI manifest "
		    "with layers");
		return NULL;
	}
	sigs = json_array();
	json_array_foreach(layers, i, l) {
		mt = json_string_value(json_object_get(l, "mediaType"));
		if (mt == NULL || strcmp(mt, MT_SIG_SIMPLESIGNING) != 0) {
			others++;
			continue;
		}
		if (json_array_size(sigs) == PD_SIG_MAX) {
			pd_errf(e, PD_E_LIMIT, "signature manifest: more than %d "
			    "signatures", PD_SIG_MAX);
			break;
		}
		if ((s = sig_entry(l, i, e)) == NULL)
			break;
		json_array_append_new(sigs, s);
	}
	/* A break left i short of the end: the document fails. */
	if (i < json_array_size(layers)) {
		json_decref(sigs);
		sigs = NULL;
	}
	json_decref(doc);
	return sigs == NULL ? NULL : json_pack("{s:o, s:I}", "signatures", sigs,
	    "others", (json_int_t)others);
}

/* A verified payload's meaning, for the broker: {digest, reference}. */
json_t *
pd_sigpayload_summary(const char *buf, size_t len, struct pd_err *e)
{
	struct pd_sigpayload p;

	if (pd_sigpayload_decode(buf, len, &p, e) == -1)
		return NULL;
	return json_pack("{s:s, s:s}", "digest", p.digest, "reference",
	    p.reference);
}

/* "sha256-<hex>.sig", the tag of digest's signatures; -1 if no digest. */
int
pd_sig_tag(const char *digest, char *out, size_t len)
{
	if (!pd_digest_valid(digest) || strncmp(digest, "sha256:", 7) != 0)
		return -1;
	return snprintf(out, len, "sha256-%s.sig", digest + 7) >= (int)len ?
	    -1 : 0;
}

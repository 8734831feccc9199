/*
 * Sigstore signatures of a remote manifest (docs/POLICY.md, "Signed
 * rules"), as skopeo stores them with use-sigstore-attachments.  The
 * broker parses none of the registry's bytes: the attachment manifest
 * and a verified payload are decoded by the sandboxed parser.  What the
 * broker does itself is the checking: each payload's digest, the ECDSA
 * signature over its exact bytes (OpenSSL, a crypto check, not a parse),
 * and that the payload names the digest and the reference installed.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc/proc.h"
#include "ref.h"
#include "sigattach.h"
#include "sigpayload.h"
#include "sigverify.h"
#include "util.h"

/* One key file, root's and written by no one else: it decides trust. */
static char *
key_read(const char *path, size_t *len, struct pd_err *e)
{
	struct stat st;
	char *buf;
	ssize_t n;
	int fd;

	/* Safety: read-only open of a key file the root-owned policy names. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		pd_errno(e, PD_E_INVAL, "key %s", path);
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & 022) || st.st_size > PD_SIG_PEM_MAX) {
		close(fd);
		pd_errf(e, PD_E_INVAL, "key %s: must be a regular file of at most "
		    "%d bytes, owned by root and writable by no one else", path,
		    PD_SIG_PEM_MAX);
		return NULL;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	n = pd_read_full(fd, buf, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		free(buf);
		pd_errf(e, PD_E_INVAL, "key %s: short read", path);
		return NULL;
	}
	*len = (size_t)n;
	return buf;
}

/* A payload blob, fetched into memory; its digest checked by fetch_blob. */
static char *
payload_fetch(struct fetcher *f, const char *digest, uint64_t size,
    struct pd_err *e)
{
	char *buf;
	int fd;

	if ((fd = memfd_create("pd-sigpayload", MFD_CLOEXEC)) == -1) {
		pd_errno(e, PD_E_INTERNAL, "memfd");
		return NULL;
	}
	buf = xmalloc(size + 1);
	if (fetch_blob(f, NULL, digest, size, fd, -1, e) == -1 ||
	    pread(fd, buf, size, 0) != (ssize_t)size) {
		if (e->code == PD_E_OK || e->msg[0] == '\0')
			pd_errf(e, PD_E_IO, "reading back payload %s", digest);
		free(buf);
		buf = NULL;
	}
	close(fd);
	return buf;
}

/*
 * Whether the verified payload names digest and ref: -1 with why set
 * if not.  A reference by digest is matched by its repository only, as
 * containers/image's matchRepoDigestOrExact does.
 */
static int
payload_matches(const json_t *sum, const char *digest, const struct pd_ref *ref,
    char *why, size_t len)
{
	const char *d = json_string_value(json_object_get(sum, "digest"));
	const char *s = json_string_value(json_object_get(sum, "reference"));
	char want[600], got[600];
	struct pd_ref r;
	struct pd_err ie;

	if (d == NULL || s == NULL)
		return snprintf(why, len, "the parser returned no payload"), -1;
	if (strcmp(d, digest) != 0)
		return snprintf(why, len, "the signature is for another manifest "
		    "(%.80s)", d), -1;
	if (pd_ref_parse(s, &r, &ie) == -1)
		return snprintf(why, len, "the signature names no valid reference"),
		    -1;
	if (ref->digest[0] != '\0') {
		snprintf(want, sizeof(want), "%s/%s", ref->domain, ref->path);
		snprintf(got, sizeof(got), "%s/%s", r.domain, r.path);
	} else {
		pd_ref_tag_default(&r);
		if (pd_ref_full(ref, want, sizeof(want)) == -1 ||
		    pd_ref_full(&r, got, sizeof(got)) == -1)
			return snprintf(why, len, "reference too long"), -1;
	}
	if (strcmp(want, got) != 0)
		return snprintf(why, len, "the signature names another reference "
		    "(%.300s)", got), -1;
	return 0;
}

/* "K1 or K2 ..." */
static void
keys_join(const json_t *keys, char *out, size_t len)
{
	const json_t *k;
	size_t i, n;

	out[0] = '\0';
	json_array_foreach(keys, i, k) {
		n = strlen(out);
		snprintf(out + n, len - n, "%s%s", i ? " or " : "",
		    json_string_value(k));
	}
}

struct sigjob {
	struct fetcher	*f;
	struct parser	 parser;
	const struct pd_ref *ref;
	const char	*digest;
	const json_t	*keys;
	char		 why[PD_ERR_MSGLEN];	/* the best reason so far */
	int		 verified;		/* some signature verified */
};

/* One signature against every key: 1 verified and matching, 0 not, -1. */
static int
sig_one(struct sigjob *j, const json_t *s, char *signer, size_t len,
    struct pd_err *e)
{
	const char *dg = json_string_value(json_object_get(s, "digest"));
	const char *b64 = json_string_value(json_object_get(s, "signature"));
	uint64_t size = (uint64_t)json_integer_value(json_object_get(s, "size"));
	const json_t *k;
	struct pd_err ie;
	json_t *sum;
	char *payload, *pem;
	size_t i, pemlen;
	int rc = 0;

	if (dg == NULL || b64 == NULL || size > PD_SIGPAYLOAD_MAX)
		return pd_errf(e, PD_E_PROTO, "the parser returned a bad "
		    "signature list");
	if ((payload = payload_fetch(j->f, dg, size, e)) == NULL)
		return -1;
	json_array_foreach(j->keys, i, k) {
		if ((pem = key_read(json_string_value(k), &pemlen, e)) == NULL) {
			rc = -1;
			break;
		}
		rc = pd_sig_verify(pem, pemlen, payload, size, b64, &ie) == 0;
		free(pem);
		if (!rc)
			continue;
		j->verified = 1;
		/*
		 * Only bytes proven signed are decoded, and by a parser of
		 * their own: the one that read the unsigned .sig manifest may
		 * be its author's, and could say a payload for another
		 * manifest names this one.
		 */
		if ((sum = parse_document(PD_PARSE_SIGPAYLOAD, payload, size,
		    NULL, &ie)) == NULL)
			snprintf(j->why, sizeof(j->why), "the signed payload does "
			    "not decode: %.900s", ie.msg);
		else if (payload_matches(sum, j->digest, j->ref, j->why,
		    sizeof(j->why)) == 0)
			snprintf(signer, len, "%s", json_string_value(k));
		else
			rc = 0;
		json_decref(sum);
		if (sum == NULL)
			rc = 0;
		break;
	}
	free(payload);
	return rc;
}

/*
 * Verify that a signature by one of keys (key file paths) signs digest
 * (the manifest the tag pointed to, already checked) as ref.  what
 * starts every refusal ("policy: S requires a signature by K").  0 with
 * signer the key that verified; -1 with e set, PD_E_POLICY when the
 * signatures do not prove it.
 */
int
signature_verify(struct fetcher *f, const struct pd_ref *ref,
    const char *digest, const json_t *keys, const char *what, char *signer,
    size_t len, struct pd_err *e)
{
	struct sigjob j;
	char tag[80], ctype[PD_STR_SHORT + 1], *buf = NULL;
	const json_t *s;
	json_t *sum = NULL, *sigs;
	size_t blen, i;
	int r = 0;

	memset(&j, 0, sizeof(j));
	j.f = f;
	j.ref = ref;
	j.digest = digest;
	j.keys = keys;
	if (pd_sig_tag(digest, tag, sizeof(tag)) == -1)
		return pd_errf(e, PD_E_POLICY, "%s: %s is not a sha256 digest",
		    what, digest);
	if (fetch_manifest(f, tag, &buf, &blen, ctype, sizeof(ctype), e) == -1) {
		if (e->code == PD_E_NOTFOUND)
			return pd_errf(e, PD_E_POLICY, "%s: none found", what);
		snprintf(j.why, sizeof(j.why), "%s", e->msg);
		return pd_errf(e, PD_E_POLICY, "%s: the signatures could not be "
		    "fetched: %s", what, j.why);
	}
	sum = parser_parse(&j.parser, PD_PARSE_SIGNATURES, buf, blen, ctype, e);
	free(buf);
	if (sum == NULL) {
		snprintf(j.why, sizeof(j.why), "%s", e->msg);
		parser_close(&j.parser);
		return pd_errf(e, PD_E_POLICY, "%s: the signatures do not decode: "
		    "%s", what, j.why);
	}
	sigs = json_object_get(sum, "signatures");
	json_array_foreach(sigs, i, s)
		if ((r = sig_one(&j, s, signer, len, e)) != 0)
			break;
	parser_close(&j.parser);
	if (r == 0 && json_array_size(sigs) == 0)
		pd_errf(e, PD_E_POLICY, "%s: none found", what);
	else if (r == 0 && !j.verified) {
		keys_join(keys, j.why, sizeof(j.why));
		pd_errf(e, PD_E_POLICY, "%s: no signature verifies with %s", what,
		    j.why);
	}
	else if (r == 0)
		pd_errf(e, PD_E_POLICY, "%s: %s", what, j.why);
	else if (r == -1 && e->code != PD_E_POLICY) {
		snprintf(j.why, sizeof(j.why), "%s", e->msg);
		pd_errf(e, PD_E_POLICY, "%s: %s", what, j.why);
	}
	json_decref(sum);
	return r == 1 ? 0 : -1;
}

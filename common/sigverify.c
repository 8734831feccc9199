/*
 * Verify one sigstore-style signature (common/sigverify.h) with OpenSSL:
 * the key must be an EC key on P-256, the signature strict base64 of a
 * DER ECDSA signature, and it must verify over SHA-256 of the payload
 * exactly as fetched: nothing is normalized, re-encoded or trimmed.
 * The payload's meaning (which manifest, which reference) is decided
 * elsewhere, after the bytes are proven signed.
 */
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <string.h>

#include "sigsign.h"
#include "sigverify.h"

/* Strict base64 (padding only at the end) into out; -1 if malformed. */
static int
b64_decode(const char *in, unsigned char *out, size_t outlen, size_t *n)
{
	size_t len = strlen(in), pad = 0, i;
	int r;

	if (len == 0 || len % 4 != 0 || len > PD_SIG_B64_MAX ||
	    len / 4 * 3 > outlen)
		return -1;
	for (i = 0; i < len; i++) {
		char c = in[i];

		if (c == '=') {
			if (i < len - 2)
				return -1;
			pad++;
		} else if (pad > 0 || !((c >= 'A' && c <= 'Z') ||
		    (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '+' || c == '/'))
			return -1;
	}
	if ((r = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len)) < 0)
		return -1;
	*n = (size_t)r - pad;	/* EVP_DecodeBlock counts the padding */
	return 0;
}

/* Whether k is an EC key on P-256, the one curve sigstore keys use here. */
int
pd_sig_key_p256(EVP_PKEY *k)
{
	char group[64];

	return EVP_PKEY_base_id(k) == EVP_PKEY_EC &&
	    EVP_PKEY_get_group_name(k, group, sizeof(group), NULL) == 1 &&
	    strcmp(group, "prime256v1") == 0;
}

static EVP_PKEY *
p256_key(const char *pem, size_t pemlen, struct pd_err *e)
{
	EVP_PKEY *k;
	BIO *b;

	if (pemlen > PD_SIG_PEM_MAX ||
	    (b = BIO_new_mem_buf(pem, (int)pemlen)) == NULL) {
		pd_errf(e, PD_E_INVAL, "public key: larger than %d bytes",
		    PD_SIG_PEM_MAX);
		return NULL;
	}
	k = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
	BIO_free(b);
	if (k == NULL) {
		pd_errf(e, PD_E_INVAL, "public key: not a PEM PUBLIC KEY");
		return NULL;
	}
	if (!pd_sig_key_p256(k)) {
		EVP_PKEY_free(k);
		pd_errf(e, PD_E_INVAL, "public key: not an ECDSA P-256 key");
		return NULL;
	}
	return k;
}

/*
 * 0 if b64sig is a signature by the key in pem over payload; -1 with the
 * reason (PD_E_INVAL for a bad key or signature encoding, PD_E_DIGEST
 * when it does not verify).
 */
int
pd_sig_verify(const char *pem, size_t pemlen, const void *payload, size_t n,
    const char *b64sig, struct pd_err *e)
{
	unsigned char sig[PD_SIG_B64_MAX / 4 * 3];
	EVP_MD_CTX *ctx;
	EVP_PKEY *k;
	size_t slen;
	int ok;

	if (b64_decode(b64sig, sig, sizeof(sig), &slen) == -1)
		return pd_errf(e, PD_E_INVAL, "signature: not base64 of at most "
		    "%d bytes", PD_SIG_B64_MAX);
	if ((k = p256_key(pem, pemlen, e)) == NULL)
		return -1;
	if ((ctx = EVP_MD_CTX_new()) == NULL) {
		EVP_PKEY_free(k);
		return pd_errf(e, PD_E_INTERNAL, "out of memory");
	}
	ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, k) == 1 &&
	    EVP_DigestVerify(ctx, sig, slen, payload, n) == 1;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(k);
	if (!ok)
		return pd_errf(e, PD_E_DIGEST, "signature does not verify with "
		    "this key");
	return 0;
}

/*
 * Sign a payload as skopeo's --sign-by-sigstore-private-key does
 * (common/sigsign.h): ECDSA P-256 over SHA-256 of the exact payload
 * bytes, DER, then base64 for the attachment's annotation.  The payload
 * is containers/image's simple-signing document, written here so that
 * common/sigpayload.c decodes exactly what is signed.
 */
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "sigpayload.h"
#include "sigsign.h"
#include "sigverify.h"

/* OpenSSL's passphrase callback: the passphrase given, or none. */
static int
pass_cb(char *buf, int size, int rwflag, void *u)
{
	const char *p = u;
	size_t n;

	(void)rwflag;
	if (p == NULL || (n = strlen(p)) > (size_t)size)
		return -1;
	memcpy(buf, p, n);
	return (int)n;
}

/*
 * The P-256 private key in the PEM file path (PKCS#8, SEC1 "EC PRIVATE
 * KEY", encrypted when pass is not NULL); NULL with the reason.  Read
 * with the caller's own rights: pluginctl runs as the operator.
 */
EVP_PKEY *
pd_sig_load_private(const char *path, const char *pass, struct pd_err *e)
{
	char head[64] = "";
	EVP_PKEY *k;
	FILE *f;

	if ((f = fopen(path, "re")) == NULL) {
		pd_errno(e, PD_E_INVAL, "--sign-by %s", path);
		return NULL;
	}
	if (fgets(head, sizeof(head), f) == NULL)
		head[0] = '\0';
	rewind(f);
	k = PEM_read_PrivateKey(f, NULL, pass_cb, (void *)(uintptr_t)pass);
	fclose(f);
	ERR_clear_error();
	if (k == NULL) {
		if (strstr(head, "PUBLIC KEY") != NULL)
			pd_errf(e, PD_E_INVAL, "--sign-by %s: a public key; "
			    "signing needs the private key (its public half "
			    "goes into the policy's keys)", path);
		else if (strstr(head, "ENCRYPTED") != NULL)
			pd_errf(e, PD_E_INVAL, "--sign-by %s: an encrypted key "
			    "that %s", path, pass == NULL ? "needs "
			    "--sign-passphrase-file" : "the passphrase does not "
			    "open");
		else
			pd_errf(e, PD_E_INVAL, "--sign-by %s: not a PEM private "
			    "key", path);
		return NULL;
	}
	if (!pd_sig_key_p256(k)) {
		EVP_PKEY_free(k);
		pd_errf(e, PD_E_INVAL, "--sign-by %s: not an ECDSA P-256 key "
		    "(openssl genpkey -algorithm EC -pkeyopt "
		    "ec_paramgen_curve:P-256)", path);
		return NULL;
	}
	return k;
}

/* b64 (NUL-terminated, at most len bytes) of k's signature over payload. */
int
pd_sig_sign(EVP_PKEY *k, const void *payload, size_t n, char *b64, size_t len,
    struct pd_err *e)
{
	unsigned char der[256];
	size_t dlen = sizeof(der);
	EVP_MD_CTX *ctx;
	int ok;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return pd_errf(e, PD_E_INTERNAL, "out of memory");
	ok = EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k) == 1 &&
	    EVP_DigestSign(ctx, der, &dlen, payload, n) == 1;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	if (!ok)
		return pd_errf(e, PD_E_INTERNAL, "ECDSA signing failed");
	if ((dlen + 2) / 3 * 4 + 1 > len || (dlen + 2) / 3 * 4 > PD_SIG_B64_MAX)
		return pd_errf(e, PD_E_INTERNAL, "signature too long");
	(void)EVP_EncodeBlock((unsigned char *)b64, der, (int)dlen);
	return 0;
}

/* k's public half as a PEM "PUBLIC KEY", for a verification of our own. */
int
pd_sig_public_pem(EVP_PKEY *k, char **pem, size_t *len, struct pd_err *e)
{
	BIO *b;
	char *p;
	long n;

	if ((b = BIO_new(BIO_s_mem())) == NULL || PEM_write_bio_PUBKEY(b, k) != 1 ||
	    (n = BIO_get_mem_data(b, &p)) <= 0) {
		BIO_free(b);
		return pd_errf(e, PD_E_INTERNAL, "cannot encode the public key");
	}
	*pem = malloc((size_t)n);
	if (*pem == NULL) {
		BIO_free(b);
		return pd_errf(e, PD_E_INTERNAL, "out of memory");
	}
	memcpy(*pem, p, (size_t)n);
	*len = (size_t)n;
	BIO_free(b);
	return 0;
}

/*
 * The payload that says digest is reference's manifest, compact JSON in
 * the key order containers/image writes; creator goes under "optional".
 * NULL when out of memory.
 */
char *
pd_sigpayload_encode(const char *digest, const char *reference,
    const char *creator)
{
	json_t *o;
	char *s;

	o = json_pack("{s:{s:{s:s}, s:{s:s}, s:s}, s:{s:s, s:I}}",
	    "critical", "identity", "docker-reference", reference,
	    "image", "docker-manifest-digest", digest,
	    "type", PD_SIGPAYLOAD_TYPE,
	    "optional", "creator", creator, "timestamp", (json_int_t)time(NULL));
	if (o == NULL)
		return NULL;
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

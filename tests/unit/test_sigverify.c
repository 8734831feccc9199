/*
 * pd_sig_verify (common/sigverify.c): a P-256 signature over the exact
 * payload verifies; a changed payload or signature, another key, another
 * curve, an RSA key, malformed or oversized base64 are refused.  And
 * the signing half (common/sigsign.c): what pd_sig_sign makes over what
 * pd_sigpayload_encode writes verifies and decodes to the same digest
 * and reference; pd_sig_load_private refuses what cannot sign.
 */
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sigpayload.h"
#include "sigsign.h"
#include "sigverify.h"
#include "../tap.h"

/* k as a PEM file (private, or its public half), path in buf. */
static void
key_file(EVP_PKEY *k, int private, char *path, size_t len)
{
	FILE *f;
	int fd;

	snprintf(path, len, "/tmp/pd-sigkey.XXXXXX");
	fd = mkstemp(path);
	f = fdopen(fd, "w");
	if (private)
		PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	else
		PEM_write_PUBKEY(f, k);
	fclose(f);
}

static void
signing(EVP_PKEY *k, EVP_PKEY *k384)
{
	const char *dg = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	char b64[PD_SIG_B64_MAX + 1], path[64], *payload, *pem;
	struct pd_sigpayload p;
	struct pd_err e;
	EVP_PKEY *l;
	size_t n;

	payload = pd_sigpayload_encode(dg, "127.0.0.1:5000/acme/vol:latest",
	    "plugind test");
	ASSERT(payload != NULL && pd_sigpayload_decode(payload, strlen(payload),
	    &p, &e) == 0 && strcmp(p.digest, dg) == 0 &&
	    strcmp(p.reference, "127.0.0.1:5000/acme/vol:latest") == 0,
	    "the encoded payload decodes to its digest and reference");
	ASSERT(pd_sig_sign(k, payload, strlen(payload), b64, sizeof(b64), &e) == 0 &&
	    pd_sig_public_pem(k, &pem, &n, &e) == 0 &&
	    pd_sig_verify(pem, n, payload, strlen(payload), b64, &e) == 0,
	    "pd_sig_sign's signature verifies with the public half");
	free(pem);
	key_file(k, 1, path, sizeof(path));
	l = pd_sig_load_private(path, NULL, &e);
	ASSERT(l != NULL, "a PKCS#8 P-256 private key file loads");
	EVP_PKEY_free(l);
	unlink(path);
	key_file(k, 0, path, sizeof(path));
	ASSERT(pd_sig_load_private(path, NULL, &e) == NULL &&
	    strstr(e.msg, "a public key") != NULL, "a public key file: refused");
	unlink(path);
	key_file(k384, 1, path, sizeof(path));
	ASSERT(pd_sig_load_private(path, NULL, &e) == NULL &&
	    strstr(e.msg, "not an ECDSA P-256 key") != NULL,
	    "a P-384 private key: refused");
	unlink(path);
	ASSERT(pd_sig_load_private("/nonexistent/k.pem", NULL, &e) == NULL &&
	    strstr(e.msg, "--sign-by /nonexistent/k.pem") != NULL,
	    "a missing file: refused, named");
	free(payload);
}

static EVP_PKEY *
keygen(const char *type, const char *param)
{
	if (strcmp(type, "RSA") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", param);
}

/* The key's public half as PEM, NUL-terminated, in buf. */
static size_t
pub_pem(EVP_PKEY *k, char *buf, size_t len)
{
	BIO *b = BIO_new(BIO_s_mem());
	int n;

	PEM_write_bio_PUBKEY(b, k);
	n = BIO_read(b, buf, (int)len - 1);
	BIO_free(b);
	buf[n > 0 ? n : 0] = '\0';
	return n > 0 ? (size_t)n : 0;
}

static void
sign(EVP_PKEY *k, const char *payload, char *b64, size_t len)
{
	unsigned char sig[512];
	size_t slen = sizeof(sig);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k);
	EVP_DigestSign(ctx, sig, &slen, (const unsigned char *)payload,
	    strlen(payload));
	EVP_MD_CTX_free(ctx);
	if (len > slen / 3 * 4 + 4)
		EVP_EncodeBlock((unsigned char *)b64, sig, (int)slen);
}

int
main(void)
{
	const char *payload = "{\"critical\":{\"identity\":{\"docker-reference\":"
	    "\"127.0.0.1:5000/acme/vol\"},\"image\":{\"docker-manifest-digest\":"
	    "\"sha256:0000\"},\"type\":\"cosign container image signature\"},"
	    "\"optional\":null}";
	char pem[4096], pem2[4096], pem384[4096], pemrsa[4096], sig[1024],
	    bad[2048];
	EVP_PKEY *k, *k2, *k384, *krsa;
	struct pd_err e;
	size_t n, n2, n384, nrsa;

	k = keygen("EC", "P-256");
	k2 = keygen("EC", "P-256");
	k384 = keygen("EC", "P-384");
	krsa = keygen("RSA", NULL);
	n = pub_pem(k, pem, sizeof(pem));
	n2 = pub_pem(k2, pem2, sizeof(pem2));
	n384 = pub_pem(k384, pem384, sizeof(pem384));
	nrsa = pub_pem(krsa, pemrsa, sizeof(pemrsa));
	sign(k, payload, sig, sizeof(sig));

	ASSERT(pd_sig_verify(pem, n, payload, strlen(payload), sig, &e) == 0,
	    "a P-256 signature over the exact payload verifies");
	ASSERT(pd_sig_verify(pem, n, payload, strlen(payload) - 1, sig, &e) == -1 &&
	    e.code == PD_E_DIGEST, "one byte less of payload: refused");
	snprintf(bad, sizeof(bad), "%s", payload);
	bad[20] ^= 1;
	ASSERT(pd_sig_verify(pem, n, bad, strlen(bad), sig, &e) == -1 &&
	    e.code == PD_E_DIGEST, "a changed payload byte: refused");
	ASSERT(pd_sig_verify(pem2, n2, payload, strlen(payload), sig, &e) == -1 &&
	    e.code == PD_E_DIGEST, "another P-256 key: refused");
	snprintf(bad, sizeof(bad), "%s", sig);
	bad[10] = bad[10] == 'A' ? 'B' : 'A';
	ASSERT(pd_sig_verify(pem, n, payload, strlen(payload), bad, &e) == -1,
	    "a changed signature byte: refused");
	ASSERT(pd_sig_verify(pem384, n384, payload, strlen(payload), sig, &e) == -1 &&
	    e.code == PD_E_INVAL && strstr(e.msg, "P-256") != NULL,
	    "a P-384 key: refused as not P-256");
	ASSERT(pd_sig_verify(pemrsa, nrsa, payload, strlen(payload), sig, &e) == -1 &&
	    e.code == PD_E_INVAL, "an RSA key: refused");
	ASSERT(pd_sig_verify("garbage", 7, payload, strlen(payload), sig, &e) == -1 &&
	    e.code == PD_E_INVAL && strstr(e.msg, "PEM") != NULL,
	    "a key file that is not PEM: refused");
	ASSERT(pd_sig_verify(pem, n, payload, strlen(payload), "", &e) == -1 &&
	    pd_sig_verify(pem, n, payload, strlen(payload), "abc", &e) == -1 &&
	    pd_sig_verify(pem, n, payload, strlen(payload), "ab=c", &e) == -1 &&
	    pd_sig_verify(pem, n, payload, strlen(payload), "ab c", &e) == -1 &&
	    pd_sig_verify(pem, n, payload, strlen(payload), "a*bc", &e) == -1 &&
	    e.code == PD_E_INVAL, "malformed base64: refused");
	memset(bad, 'A', PD_SIG_B64_MAX + 4);
	bad[PD_SIG_B64_MAX + 4] = '\0';
	ASSERT(pd_sig_verify(pem, n, payload, strlen(payload), bad, &e) == -1 &&
	    e.code == PD_E_INVAL, "a signature over PD_SIG_B64_MAX: refused");
	memset(bad, 'A', 96);
	bad[96] = '\0';
	ASSERT(pd_sig_verify(pem, n, payload, strlen(payload), bad, &e) == -1,
	    "well-formed base64 that is no DER signature: refused");
	signing(k, k384);
	EVP_PKEY_free(k);
	EVP_PKEY_free(k2);
	EVP_PKEY_free(k384);
	EVP_PKEY_free(krsa);
	TAP_DONE();
}

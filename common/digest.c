#include <sys/types.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "digest.h"
#include "error.h"
#include "util.h"

#define HASH_BUFSIZE	(1024 * 1024)

struct pd_sha256 {
	EVP_MD_CTX	*ctx;
	int		 failed;
};

struct pd_sha256 *
pd_sha256_new(void)
{
	struct pd_sha256 *h;

	h = xcalloc(1, sizeof(*h));
	if ((h->ctx = EVP_MD_CTX_new()) == NULL) {
		free(h);
		return NULL;
	}
	if (EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(h->ctx);
		free(h);
		return NULL;
	}
	return h;
}

void
pd_sha256_update(struct pd_sha256 *h, const void *p, size_t len)
{
	if (h->failed || len == 0)
		return;
	if (EVP_DigestUpdate(h->ctx, p, len) != 1)
		h->failed = 1;
}

/* A failed context yields "", which matches no digest. */
void
pd_sha256_final(struct pd_sha256 *h, char out[PD_DIGEST_BUFLEN])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	char *o;

	out[0] = '\0';
	if (h->failed || EVP_DigestFinal_ex(h->ctx, md, &mdlen) != 1 ||
	    mdlen != PD_DIGEST_HEXLEN / 2) {
		h->failed = 1;
		return;
	}
	h->failed = 1;
	memcpy(out, PD_DIGEST_PREFIX, sizeof(PD_DIGEST_PREFIX) - 1);
	o = out + sizeof(PD_DIGEST_PREFIX) - 1;
	for (i = 0; i < mdlen; i++) {
		*o++ = hex[md[i] >> 4];
		*o++ = hex[md[i] & 0xf];
	}
	*o = '\0';
}

void
pd_sha256_free(struct pd_sha256 *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

int
pd_sha256_buf(const void *p, size_t len, char out[PD_DIGEST_BUFLEN])
{
	struct pd_sha256 *h;

	out[0] = '\0';
	if ((h = pd_sha256_new()) == NULL)
		return -1;
	pd_sha256_update(h, p, len);
	pd_sha256_final(h, out);
	pd_sha256_free(h);
	return out[0] == '\0' ? -1 : 0;
}

int
pd_sha256_fd(int fd, char out[PD_DIGEST_BUFLEN], uint64_t *size,
    struct pd_err *e)
{
	struct pd_sha256 *h;
	unsigned char *buf;
	uint64_t off = 0;
	ssize_t n;

	out[0] = '\0';
	if ((h = pd_sha256_new()) == NULL)
		return pd_errf(e, PD_E_INTERNAL, "sha256: no context");
	buf = xmalloc(HASH_BUFSIZE);
	for (;;) {
		n = pread(fd, buf, HASH_BUFSIZE, (off_t)off);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			pd_errno(e, PD_E_IO, "sha256: read at offset %llu",
			    (unsigned long long)off);
			goto fail;
		}
		if (n == 0)
			break;
		pd_sha256_update(h, buf, (size_t)n);
		off += (uint64_t)n;
	}
	pd_sha256_final(h, out);
	if (out[0] == '\0') {
		pd_errf(e, PD_E_INTERNAL, "sha256: digest computation failed");
		goto fail;
	}
	free(buf);
	pd_sha256_free(h);
	if (size != NULL)
		*size = off;
	return 0;
fail:
	free(buf);
	pd_sha256_free(h);
	return -1;
}

int
pd_digest_valid(const char *s)
{
	return pd_digest_hex(s) != NULL;
}

const char *
pd_digest_hex(const char *s)
{
	const char *hex;
	size_t i;

	if (s == NULL || strncmp(s, PD_DIGEST_PREFIX,
	    sizeof(PD_DIGEST_PREFIX) - 1) != 0)
		return NULL;
	hex = s + sizeof(PD_DIGEST_PREFIX) - 1;
	for (i = 0; i < PD_DIGEST_HEXLEN; i++)
		if (!((hex[i] >= '0' && hex[i] <= '9') ||
		    (hex[i] >= 'a' && hex[i] <= 'f')))
			return NULL;
	return hex[i] == '\0' ? hex : NULL;
}

/*
 * SHA-256 content digests in the "sha256:<64 lowercase hex>" form used by
 * the registry protocol and the content store (OpenSSL EVP underneath).
 */
#ifndef PD_DIGEST_H
#define PD_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define PD_DIGEST_PREFIX	"sha256:"
#define PD_DIGEST_HEXLEN	64
#define PD_DIGEST_LEN		(7 + PD_DIGEST_HEXLEN)	/* no NUL */
#define PD_DIGEST_BUFLEN	72

struct pd_sha256;

struct pd_sha256	*pd_sha256_new(void);
void			 pd_sha256_update(struct pd_sha256 *, const void *,
			    size_t);
void			 pd_sha256_final(struct pd_sha256 *,
			    char [PD_DIGEST_BUFLEN]);
void			 pd_sha256_free(struct pd_sha256 *);

int			 pd_sha256_fd(int, char [PD_DIGEST_BUFLEN],
			    uint64_t *, struct pd_err *);
int			 pd_sha256_buf(const void *, size_t,
			    char [PD_DIGEST_BUFLEN]);

int			 pd_digest_valid(const char *);
const char		*pd_digest_hex(const char *);

#endif

#ifndef PD_SIGVERIFY_H
#define PD_SIGVERIFY_H
/*
 * Signatures in the sigstore format skopeo writes (docs/POLICY.md): an
 * ECDSA P-256 signature over SHA-256 of the exact payload bytes, DER,
 * base64 in the attachment's annotation; the key a PEM "PUBLIC KEY".
 */
#include <stddef.h>

#include "error.h"

#define PD_SIG_B64_MAX	1024	/* base64 bytes of one signature */
#define PD_SIG_PEM_MAX	16384	/* bytes of one public key file */

int	pd_sig_verify(const char *, size_t, const void *, size_t, const char *,
	    struct pd_err *);

#endif

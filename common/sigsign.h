#ifndef PD_SIGSIGN_H
#define PD_SIGSIGN_H
/*
 * Making a sigstore signature (docs/POLICY.md, "Signing on push"), the
 * other half of common/sigverify.h: pluginctl signs with the operator's
 * private key, as the operator, so the key never reaches the broker.
 */
#include <stddef.h>

#include <openssl/evp.h>

#include "error.h"

int	 pd_sig_key_p256(EVP_PKEY *);
EVP_PKEY *pd_sig_load_private(const char *, const char *, struct pd_err *);
int	 pd_sig_sign(EVP_PKEY *, const void *, size_t, char *, size_t,
	    struct pd_err *);
int	 pd_sig_public_pem(EVP_PKEY *, char **, size_t *, struct pd_err *);
char	*pd_sigpayload_encode(const char *, const char *, const char *);

#endif

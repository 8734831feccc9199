#ifndef PD_SIGPAYLOAD_H
#define PD_SIGPAYLOAD_H
/*
 * The payload a sigstore signature signs (containers/image's
 * "cosign container image signature", which skopeo writes): which
 * manifest digest, under which docker reference.  Decoded in a sandbox
 * only after the signature over its exact bytes verified.
 */
#include <stddef.h>

#include "error.h"

#define PD_SIGPAYLOAD_MAX	(64 * 1024)	/* bytes of one payload */
#define PD_SIGPAYLOAD_TYPE	"cosign container image signature"

struct pd_sigpayload {
	char	digest[72];		/* critical.image.docker-manifest-digest */
	char	reference[512];		/* critical.identity.docker-reference */
};

int	pd_sigpayload_decode(const char *, size_t, struct pd_sigpayload *,
	    struct pd_err *);

#endif

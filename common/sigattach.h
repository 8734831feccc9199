#ifndef PD_SIGATTACH_H
#define PD_SIGATTACH_H
/*
 * Sigstore signatures stored as registry attachments, as skopeo writes
 * them with use-sigstore-attachments: the tag sha256-<hex>.sig of the
 * signed manifest's repository holds an OCI manifest whose layers of
 * type MT_SIG_SIMPLESIGNING are the payloads, each layer's annotation
 * PD_SIG_ANNOTATION the base64 signature over it.  Decoded in a sandbox
 * into a bounded canonical summary; the broker reads only that.
 */
#include <stddef.h>

#include <jansson.h>

#include "error.h"

#define MT_SIG_SIMPLESIGNING	"application/vnd.dev.cosign.simplesigning.v1+json"
#define PD_SIG_ANNOTATION	"dev.cosignproject.cosign/signature"
#define PD_SIG_MAX		16	/* signatures of one manifest */

json_t	*pd_sigmanifest_summary(const char *, size_t, struct pd_err *);
json_t	*pd_sigpayload_summary(const char *, size_t, struct pd_err *);
int	 pd_sig_tag(const char *, char *, size_t);
int	 pd_sig_b64_chars(const char *);

#endif

/*
 * Docker image references (distribution/reference): parsing with
 * ParseNormalizedNamed semantics, TagNameOnly, and the full and familiar
 * string forms.  No I/O; every byte is checked against the grammar before
 * it is copied out, so the fields are safe to put into URLs and paths.
 *
 * Deviations from Docker, all stricter: only sha256 digests are accepted;
 * a port must be 1-65535; a bracketed IPv6 host must be a valid address;
 * a first component with a "." that is not a valid host name is refused
 * (Docker silently makes it a path with an empty domain); a domain is at
 * most 255 bytes.
 */
#ifndef PD_REF_H
#define PD_REF_H

#include <stddef.h>

#include "error.h"

#define PD_REF_DEFAULT_DOMAIN	"docker.io"
#define PD_REF_DEFAULT_TAG	"latest"
#define PD_REF_PATH_MAX		255
#define PD_REF_TAG_MAX		128

struct pd_ref {
	char	domain[256];	/* "docker.io", "localhost:5000", "[::1]:5" */
	char	path[256];	/* "library/busybox", "vieux/sshfs" */
	char	tag[129];	/* "" if none */
	char	digest[80];	/* "sha256:<64 hex>" or "" */
};

int	pd_ref_parse(const char *, struct pd_ref *, struct pd_err *);
void	pd_ref_tag_default(struct pd_ref *);
int	pd_ref_full(const struct pd_ref *, char *, size_t);
int	pd_ref_familiar(const struct pd_ref *, char *, size_t);
int	pd_ref_repo_url_host(const struct pd_ref *, char *, size_t);
int	pd_ref_is_loopback(const struct pd_ref *);
int	pd_valid_plugin_id(const char *);

#endif

/*
 * Layer untar engine of plugind-extractor.
 *
 * untar() reads one image layer (gzip, zstd or plain tar) from infd and
 * writes its entries below rootfd.  Every path operation is fd-relative:
 * parents are resolved with openat2(RESOLVE_IN_ROOT), so symlinks in the
 * rootfs (from this or an earlier layer) are followed but can never lead
 * outside rootfd, even when the process is not chrooted.  The final
 * component of a path is never followed.  OCI whiteouts are applied, never
 * materialised.  The diff_id is computed over the uncompressed stream,
 * which is always read to its very end so that gzip/zstd trailers are
 * verified.
 *
 * On failure e->msg starts with a reason class and ": ":
 *	path_traversal absolute_path symlink_traversal link_escape
 *	root_replacement bad_name forbidden_type malformed_archive
 *	limit_exceeded compression_error whiteout_invalid
 * (the corpus classes), or, for failures that are not the layer's fault,
 *	io_error internal_error
 * A failed layer leaves a partial tree behind: the caller extracts into a
 * fresh staging directory and discards it on error.
 *
 * untar_init() must run once before chroot: it loads the C.UTF-8 LC_CTYPE
 * locale (libarchive converts pax names from UTF-8 to the locale charset;
 * in the C locale that needs iconv, which reads gconv modules from the
 * filesystem, i.e. from the attacker's rootfs once chrooted) and
 * initialises OpenSSL without reading openssl.cnf.  untar() refuses to
 * run without it unless LC_CTYPE already is UTF-8.
 */
#ifndef PD_UNTAR_H
#define PD_UNTAR_H

#include <stdint.h>

#include "error.h"

struct untar_limits {
	uint64_t max_bytes;		/* uncompressed tar stream bytes */
	uint64_t max_entries;		/* tar entries; also inodes and names
					   created, implicit parents included */
	uint32_t max_path;		/* bytes */
	uint32_t max_depth;		/* path components */
	uint32_t max_name;		/* one component, at most 255 */
	uint64_t max_xattr;		/* one xattr value */
	uint64_t max_pax;		/* one pax or GNU long-name header */
	uint32_t max_ratio;		/* uncompressed/compressed, 0: none */
	/* Additions to the interface of the issue: */
	uint64_t max_compressed;	/* compressed bytes read from infd */
	uint64_t max_file;		/* apparent size of one file (sparse too) */
	uint32_t max_links;		/* hard links to one inode */
	uint32_t flags;			/* UNTAR_F_* */
};

/*
 * Ownership: by default uid/gid from the archive are applied when CAP_CHOWN
 * is in the effective set.  UNTAR_F_OWNER always applies them (and fails
 * if the kernel refuses); UNTAR_F_NO_OWNER never does.
 */
#define UNTAR_F_OWNER		0x1
#define UNTAR_F_NO_OWNER	0x2

enum untar_compression {
	UNTAR_NONE,
	UNTAR_GZIP,
	UNTAR_ZSTD
};

struct untar_result {
	uint64_t entries;
	uint64_t bytes;			/* uncompressed tar stream bytes */
	char	 diff_id[72];		/* "sha256:<hex>" of that stream */
};

int	untar_init(struct pd_err *);
void	untar_default_limits(struct untar_limits *);
int	untar_compression_from_media_type(const char *,
	    enum untar_compression *, struct pd_err *);
int	untar(int, int, enum untar_compression, const struct untar_limits *,
	    struct untar_result *, struct pd_err *);

#endif

/*
 * The bottom of the untar engine: what every part of it uses.  The error
 * classes (the first word of every message names one), the bounds, the
 * inode map, path and metadata records, and esc() for quoting hostile
 * names in messages (untar_base.c).  Includes only what is below it.
 *
 * The engine's layers, each including only the ones below it:
 *	untar.c (entries)
 *	  -> untar_fs.h (filesystem), untar_hdr.h (raw header checks)
 *	  -> untar_impl.h (the engine's state, struct untar)
 *	  -> untar_src.h (decompression, hashing, stream limits)
 *	  -> untar_base.h
 */
#ifndef PD_UNTAR_BASE_H
#define PD_UNTAR_BASE_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "error.h"
#include "untar.h"

#define ERR_TRAV(e, ...)	pd_errf(e, PD_E_INVAL, "path_traversal: " __VA_ARGS__)
#define ERR_ABS(e, ...)		pd_errf(e, PD_E_INVAL, "absolute_path: " __VA_ARGS__)
#define ERR_SYMLINK(e, ...)	pd_errf(e, PD_E_INVAL, "symlink_traversal: " __VA_ARGS__)
#define ERR_LINK(e, ...)	pd_errf(e, PD_E_INVAL, "link_escape: " __VA_ARGS__)
#define ERR_ROOT(e, ...)	pd_errf(e, PD_E_INVAL, "root_replacement: " __VA_ARGS__)
#define ERR_NAME(e, ...)	pd_errf(e, PD_E_INVAL, "bad_name: " __VA_ARGS__)
#define ERR_TYPE(e, ...)	pd_errf(e, PD_E_INVAL, "forbidden_type: " __VA_ARGS__)
#define ERR_MALFORMED(e, ...)	pd_errf(e, PD_E_INVAL, "malformed_archive: " __VA_ARGS__)
#define ERR_LIMIT(e, ...)	pd_errf(e, PD_E_LIMIT, "limit_exceeded: " __VA_ARGS__)
#define ERR_COMP(e, ...)	pd_errf(e, PD_E_INVAL, "compression_error: " __VA_ARGS__)
#define ERR_WHITEOUT(e, ...)	pd_errf(e, PD_E_INVAL, "whiteout_invalid: " __VA_ARGS__)
#define ERR_IO(e, ...)		pd_errno(e, PD_E_IO, "io_error: " __VA_ARGS__)
#define ERR_INTERNAL(e, ...)	pd_errf(e, PD_E_INTERNAL, "internal_error: " __VA_ARGS__)

#define TAR_BLOCK	512

/* Open-addressing map from inode numbers to 32-bit values. */
struct u64map {
	uint64_t	*keys;
	uint32_t	*vals;
	size_t		 cap;
	size_t		 n;
	int		 haszero;
	uint32_t	 zeroval;
};

int	u64map_put(struct u64map *, uint64_t, uint32_t);
int	u64map_get(const struct u64map *, uint64_t, uint32_t *);
void	u64map_free(struct u64map *);

/* Directory metadata, applied after the whole layer (children first). */
struct dirrec {
	uint64_t	 ino;
	uint64_t	 path;		/* offset into the arena */
	uint32_t	 pathlen;
	uint32_t	 mode;
	uint32_t	 uid;
	uint32_t	 gid;
	struct timespec	 ts[2];
};

/* At most this many bytes of deferred directory paths per layer. */
#define DIR_ARENA_MAX	(32U << 20)

/* A normalized relative path: components joined by '/'. */
struct npath {
	char		*buf;
	uint32_t	*off;		/* start of each component */
	uint32_t	 n;
	uint32_t	 len;
};

struct meta {
	uint32_t	 mode;
	uint32_t	 uid;
	uint32_t	 gid;
	struct timespec	 ts[2];
};

/* s[0..n) quoted for a message, non-printable bytes as \xNN. */
const char *esc(const char *, size_t, char *, size_t);
#define ESCBUF	256

#endif

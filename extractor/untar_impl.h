/*
 * Internals of the untar engine, shared by untar.c (entries), untar_src.c
 * (decompression, hashing, stream limits), untar_hdr.c (raw header chain
 * checks) and untar_fs.c (fd-relative filesystem operations).
 */
#ifndef PD_UNTAR_IMPL_H
#define PD_UNTAR_IMPL_H

#include <sys/types.h>

#include <stdint.h>
#include <time.h>

#include <archive.h>
#include <openssl/evp.h>
#include <zlib.h>

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

/* Uncompressed stream: handed to libarchive in slots of a small ring. */
#define SRC_SLOT	(1024 * 1024)
#define SRC_NSLOT	5
#define SRC_INBUF	(256 * 1024)
/* The ratio limit applies once this much has been produced. */
#define SRC_RATIO_FLOOR	(8ULL << 20)

struct src {
	int			 fd;
	enum untar_compression	 comp;
	const struct untar_limits *lim;
	z_stream		 z;
	int			 zinit;
	int			 zstate;
	uint64_t		 members;
	struct archive		*zar;
	EVP_MD_CTX		*md;
	unsigned char		*in;
	size_t			 inoff;
	size_t			 inlen;
	int			 ineof;
	uint64_t		 rawin;		/* bytes read from fd */
	uint64_t		 cin;		/* compressed bytes consumed */
	uint64_t		 out;		/* uncompressed bytes produced */
	unsigned char		*ring;
	uint64_t		 slot_off[SRC_NSLOT];
	size_t			 slot_len[SRC_NSLOT];
	int			 cur;
	int			 done;
	int			 failed;
	struct pd_err		 err;
	/* While libarchive parses headers it may not read past hdrlimit. */
	int			 inhdr;
	uint64_t		 hdrstart;
	uint64_t		 hdrlimit;
};

int	src_init(struct src *, int, enum untar_compression,
	    const struct untar_limits *, const EVP_MD *, struct pd_err *);
void	src_free(struct src *);
la_ssize_t src_archive_read(struct archive *, void *, const void **);
int	src_drain(struct src *);
int	src_copy(const struct src *, uint64_t, void *, size_t);
int	src_digest(struct src *, char *, size_t);

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

struct untar {
	int			 rootfd;
	const struct untar_limits *lim;
	struct pd_err		*e;
	int			 owner;
	struct src		 src;
	struct archive		*a;
	uint64_t		 entries;
	uint64_t		 objects;
	struct u64map		 layer;		/* inodes this layer made or named */
	struct u64map		 dirmap;	/* directory inode -> dirs[] */
	struct dirrec		*dirs;
	size_t			 ndirs;
	size_t			 dircap;
	char			*arena;
	size_t			 arenalen;
	size_t			 arenacap;
	struct npath		 p;		/* entry path */
	struct npath		 lp;		/* hardlink target */
	unsigned char		*scratch;	/* one extension header body */
	size_t			 scratchcap;
};

/* Raw view of the headers that make up one entry. */
struct hdrinfo {
	int		 typeflag;	/* of the main header */
	int		 nhdr;		/* extension headers before it */
	uint64_t	 mainoff;	/* offset of the main header */
};

int	hdr_walk(struct untar *, uint64_t, uint64_t, int, struct hdrinfo *);

/* untar_fs.c */
int	fs_open_in_root(struct untar *, const char *, int);
int	fs_open_parent(struct untar *, struct npath *, int, int *);
void	fs_close_parent(struct untar *, int);
int	fs_make_room(struct untar *, int, const char *, int);
int	fs_remove_tree(struct untar *, int, const char *, int);
int	fs_clear_opaque(struct untar *, int, int);
int	fs_count_object(struct untar *);
int	fs_note_inode(struct untar *, uint64_t);
int	fs_defer_dir(struct untar *, uint64_t, const struct meta *);
int	fs_apply_dirs(struct untar *);

const char *esc(const char *, size_t, char *, size_t);
#define ESCBUF	256

#endif

/*
 * The untar engine's state, struct untar, shared by untar.c (entries),
 * untar_hdr.c (raw header chain checks) and untar_fs.c (fd-relative
 * filesystem operations).  untar_base.h has the layering.
 */
#ifndef PD_UNTAR_IMPL_H
#define PD_UNTAR_IMPL_H

#include <archive.h>

#include "untar_base.h"
#include "untar_src.h"

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

#endif

/* Filesystem operations below rootfd (untar_fs.c), below untar.c. */
#ifndef PD_UNTAR_FS_H
#define PD_UNTAR_FS_H

#include "untar_impl.h"

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

#endif

/*
 * Filesystem side of the untar engine.  Every operation is relative to a
 * directory fd obtained below rootfd: parent directories are opened with
 * openat2(RESOLVE_IN_ROOT), which follows symlinks but treats rootfd as
 * "/" for them and for "..", and the last component of a path is never
 * followed (O_NOFOLLOW, AT_SYMLINK_NOFOLLOW, unlinkat, linkat without
 * AT_SYMLINK_FOLLOW).
 */
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "untar_fs.h"

#define DENT_BUF	(16 * 1024)

int
fs_count_object(struct untar *u)
{
	if (++u->objects > u->lim->max_entries)
		return ERR_LIMIT(u->e, "more than limits.max-entries (%" PRIu64 ") files, "
		    "directories and links created", u->lim->max_entries);
	return 0;
}

int
fs_note_inode(struct untar *u, uint64_t ino)
{
	if (u64map_put(&u->layer, ino, 0) == -1)
		return ERR_IO(u->e, "recording inodes");
	return 0;
}

/*
 * openat2() below rootfd.  RESOLVE_IN_ROOT makes absolute symlinks and ".."
 * resolve as if rootfd were "/", so no lookup can leave the rootfs even
 * without a chroot; magic links (/proc/self/fd/...) and mount crossings are
 * refused.
 */
int
fs_open_in_root(struct untar *u, const char *path, int flags)
{
	struct open_how how;
	long fd;
	int i;

	memset(&how, 0, sizeof(how));
	how.flags = (uint64_t)(flags | O_CLOEXEC);
	how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
	for (i = 0; i < 16; i++) {
		fd = syscall(SYS_openat2, u->rootfd, path, &how, sizeof(how));
		if (fd >= 0 || errno != EAGAIN)
			break;
	}
	return (int)fd;
}

void
fs_close_parent(struct untar *u, int fd)
{
	if (fd >= 0 && fd != u->rootfd)
		close(fd);
}

static int
parent_errno(struct untar *u, const char *what, int create)
{
	char eb[ESCBUF];

	switch (errno) {
	case ENOENT:
	case ENOTDIR:
		if (!create)
			return 1;
		return ERR_MALFORMED(u->e, "a parent of %s is not a directory",
		    esc(what, strlen(what), eb, sizeof(eb)));
	case ELOOP:
		return ERR_SYMLINK(u->e, "too many levels of symbolic links in "
		    "the parents of %s", esc(what, strlen(what), eb, sizeof(eb)));
	case EXDEV:
		return ERR_SYMLINK(u->e, "the parents of %s cross a mount point",
		    esc(what, strlen(what), eb, sizeof(eb)));
	default:
		return ERR_IO(u->e, "opening the parent of %s",
		    esc(what, strlen(what), eb, sizeof(eb)));
	}
}

/*
 * The deepest parent of np's last component that exists, scanning up
 * from the grandparent: its fd in *fdp (rootfd if none does) and in
 * *start the first component still to create.  np->buf is cut at cut.
 */
static int
find_existing(struct untar *u, struct npath *np, uint32_t cut, int *fdp,
    uint32_t *start)
{
	char *b = np->buf;
	uint32_t k;
	int nfd;

	*fdp = u->rootfd;
	*start = 0;
	for (k = np->n - 2; k-- > 0;) {
		b[np->off[k + 1] - 1] = '\0';
		nfd = fs_open_in_root(u, b, O_PATH | O_DIRECTORY);
		b[np->off[k + 1] - 1] = '/';
		if (nfd >= 0) {
			*fdp = nfd;
			*start = k + 1;
			return 0;
		}
		if (errno != ENOENT) {
			b[cut] = '/';
			return parent_errno(u, np->buf, 1);
		}
	}
	return 0;
}

/*
 * Create component j of np in *fdp (or find it there as a directory,
 * never through a symlink) and make it the new *fdp; the old one is
 * released.  On error *fdp is what the caller must release.
 */
static int
make_parent(struct untar *u, struct npath *np, uint32_t j, int *fdp)
{
	char eb[ESCBUF], *b = np->buf;
	struct stat st;
	int fd = *fdp, nfd;

	if (j + 1 < np->n - 1)
		b[np->off[j + 1] - 1] = '\0';
	if (mkdirat(fd, b + np->off[j], 0755) == -1) {
		if (errno != EEXIST)
			return ERR_IO(u->e, "creating directory %s",
			    esc(b, strlen(b), eb, sizeof(eb)));
		if (fstatat(fd, b + np->off[j], &st,
		    AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
			return ERR_SYMLINK(u->e, "parent %s of the entry is a "
			    "symlink whose target does not exist inside the "
			    "rootfs", esc(b, strlen(b), eb, sizeof(eb)));
		if (!S_ISDIR(st.st_mode))
			return ERR_MALFORMED(u->e, "parent %s is not a directory",
			    esc(b, strlen(b), eb, sizeof(eb)));
	} else if (fs_count_object(u) == -1)
		return -1;
	nfd = openat(fd, b + np->off[j], O_PATH | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (nfd == -1)
		return ERR_IO(u->e, "opening directory %s",
		    esc(b, strlen(b), eb, sizeof(eb)));
	if (j + 1 < np->n - 1)
		b[np->off[j + 1] - 1] = '/';
	fs_close_parent(u, fd);
	*fdp = nfd;
	if (fstat(nfd, &st) == -1)
		return ERR_IO(u->e, "stat");
	return fs_note_inode(u, st.st_ino);
}

/*
 * Open the directory that holds the last component of np, creating
 * missing directories when create is set.  Returns 0 with the fd in *fdp
 * (rootfd itself for top-level names: release it with fs_close_parent),
 * 1 if create is not set and the parent does not exist, -1 on error.
 */
int
fs_open_parent(struct untar *u, struct npath *np, int create, int *fdp)
{
	char *b = np->buf;
	uint32_t cut, k, j, start;
	int fd, r = -1;

	*fdp = -1;
	if (np->n < 2) {
		*fdp = u->rootfd;
		return 0;
	}
	cut = np->off[np->n - 1] - 1;
	b[cut] = '\0';
	if ((fd = fs_open_in_root(u, b, O_PATH | O_DIRECTORY)) < 0) {
		if (errno != ENOENT || !create) {
			r = parent_errno(u, b, create);
			goto out;
		}
		if (find_existing(u, np, cut, &fd, &start) == -1)
			goto out;
		for (j = start; j < np->n - 1; j++)
			if (make_parent(u, np, j, &fd) == -1) {
				for (k = 0; k + 1 < np->n; k++)
					b[np->off[k + 1] - 1] = '/';
				fs_close_parent(u, fd);
				goto out;
			}
	}
	*fdp = fd;
	r = 0;
out:
	b[cut] = '/';
	return r;
}

static int	clear_dir(struct untar *, int, int, int);

/* Remove name below dirfd, recursively, never following symlinks. */
int
fs_remove_tree(struct untar *u, int dirfd, const char *name, int depth)
{
	char eb[ESCBUF];
	struct stat st;
	int fd, i;

	if ((uint32_t)depth > u->lim->max_depth + 8)
		return ERR_LIMIT(u->e, "directory tree too deep to remove");
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno == ENOENT)
			return 0;
		return ERR_IO(u->e, "stat %s", esc(name, strlen(name), eb,
		    sizeof(eb)));
	}
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dirfd, name, 0) == -1 && errno != ENOENT)
			return ERR_IO(u->e, "removing %s", esc(name, strlen(name),
			    eb, sizeof(eb)));
		return 0;
	}
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1 && errno == EACCES) {
		/*
		 * An unreadable directory we are about to delete.  Safe:
		 * name was just lstat'ed as a directory in dirfd, nothing
		 * else writes to the staging tree, and a chmod changes no
		 * content.
		 */
		if (fchmodat(dirfd, name, 0700, 0) == 0)
			fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd == -1)
		return ERR_IO(u->e, "opening %s", esc(name, strlen(name), eb,
		    sizeof(eb)));
	if (fchmod(fd, 0700) == -1) {
		close(fd);
		return ERR_IO(u->e, "chmod %s", esc(name, strlen(name), eb,
		    sizeof(eb)));
	}
	for (i = 0; i < 4; i++) {
		if (clear_dir(u, fd, 0, depth + 1) == -1) {
			close(fd);
			return -1;
		}
		if (unlinkat(dirfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT) {
			close(fd);
			return 0;
		}
		if (errno != ENOTEMPTY)
			break;
	}
	close(fd);
	return ERR_IO(u->e, "removing directory %s", esc(name, strlen(name),
	    eb, sizeof(eb)));
}

/*
 * Remove the entries of the directory fd.  With opaque set, keep what this
 * layer created (and descend into directories it named) and remove only
 * what earlier layers left.
 */
static int
clear_dir(struct untar *u, int fd, int opaque, int depth)
{
	struct dirent64 *d;
	struct stat st;
	char *buf;
	ssize_t n, i;
	int cfd, pass, removed, r = -1;

	if ((uint32_t)depth > u->lim->max_depth + 8)
		return ERR_LIMIT(u->e, "directory tree too deep to remove");
	if ((buf = malloc(DENT_BUF)) == NULL)
		return ERR_IO(u->e, "allocating a directory buffer");
	for (pass = 0; pass < 4; pass++) {
		removed = 0;
		if (lseek(fd, 0, SEEK_SET) == -1) {
			ERR_IO(u->e, "rewinding a directory");
			goto out;
		}
		while ((n = getdents64(fd, buf, DENT_BUF)) > 0) {
			for (i = 0; i < n; i += d->d_reclen) {
				d = (struct dirent64 *)(void *)(buf + i);
				if (strcmp(d->d_name, ".") == 0 ||
				    strcmp(d->d_name, "..") == 0)
					continue;
				if (opaque) {
					if (fstatat(fd, d->d_name, &st,
					    AT_SYMLINK_NOFOLLOW) == -1) {
						if (errno == ENOENT)
							continue;
						ERR_IO(u->e, "stat");
						goto out;
					}
					if (u64map_get(&u->layer, st.st_ino, NULL)) {
						if (!S_ISDIR(st.st_mode))
							continue;
						cfd = openat(fd, d->d_name, O_RDONLY |
						    O_DIRECTORY | O_NOFOLLOW |
						    O_CLOEXEC);
						if (cfd == -1) {
							ERR_IO(u->e, "opening a "
							    "directory");
							goto out;
						}
						if (clear_dir(u, cfd, 1, depth + 1) ==
						    -1) {
							close(cfd);
							goto out;
						}
						close(cfd);
						continue;
					}
				}
				if (fs_remove_tree(u, fd, d->d_name, depth) == -1)
					goto out;
				removed++;
			}
		}
		if (n == -1) {
			ERR_IO(u->e, "reading a directory");
			goto out;
		}
		if (!opaque || removed == 0)
			break;
	}
	r = 0;
out:
	free(buf);
	return r;
}

int
fs_clear_opaque(struct untar *u, int fd, int depth)
{
	return clear_dir(u, fd, 1, depth);
}

/*
 * Free the name in pfd for a new entry.  Returns 1 if want_dir is set and
 * a directory is already there (it is kept: directories merge), 0 if the
 * name is free, -1 on error.  Anything else in the way is removed,
 * directories recursively, as Docker does.
 */
int
fs_make_room(struct untar *u, int pfd, const char *name, int want_dir)
{
	char eb[ESCBUF];
	struct stat st;

	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno == ENOENT)
			return 0;
		return ERR_IO(u->e, "stat %s", esc(name, strlen(name), eb,
		    sizeof(eb)));
	}
	if (S_ISDIR(st.st_mode)) {
		if (want_dir)
			return 1;
		return fs_remove_tree(u, pfd, name, 0) == -1 ? -1 : 0;
	}
	if (unlinkat(pfd, name, 0) == -1)
		return ERR_IO(u->e, "removing %s", esc(name, strlen(name), eb,
		    sizeof(eb)));
	return 0;
}

int
fs_defer_dir(struct untar *u, uint64_t ino, const struct meta *m)
{
	struct dirrec *d;
	size_t ncap;
	uint32_t idx;
	char *na;

	if (u->arenalen + u->p.len > DIR_ARENA_MAX)
		return ERR_LIMIT(u->e, "directory paths of the layer exceed %u "
		    "bytes", DIR_ARENA_MAX);
	if (u->arenalen + u->p.len > u->arenacap) {
		ncap = u->arenacap == 0 ? 65536 : 2 * u->arenacap;
		while (ncap < u->arenalen + u->p.len)
			ncap *= 2;
		if ((na = realloc(u->arena, ncap)) == NULL)
			return ERR_IO(u->e, "allocating directory records");
		u->arena = na;
		u->arenacap = ncap;
	}
	if (u64map_get(&u->dirmap, ino, &idx))
		d = &u->dirs[idx];
	else {
		if (u->ndirs == u->dircap) {
			ncap = u->dircap == 0 ? 256 : 2 * u->dircap;
			if ((d = reallocarray(u->dirs, ncap, sizeof(*d))) == NULL)
				return ERR_IO(u->e, "allocating directory records");
			u->dirs = d;
			u->dircap = ncap;
		}
		idx = (uint32_t)u->ndirs++;
		if (u64map_put(&u->dirmap, ino, idx) == -1)
			return ERR_IO(u->e, "allocating directory records");
		d = &u->dirs[idx];
	}
	memcpy(u->arena + u->arenalen, u->p.buf, u->p.len);
	d->ino = ino;
	d->path = u->arenalen;
	d->pathlen = u->p.len;
	u->arenalen += u->p.len;
	d->mode = m->mode;
	d->uid = m->uid;
	d->gid = m->gid;
	d->ts[0] = m->ts[0];
	d->ts[1] = m->ts[1];
	return 0;
}

/*
 * Apply directory metadata after the whole layer, deepest (latest) first,
 * so that a read-only directory does not block its own entries and that
 * the mtime is not disturbed by them.
 */
int
fs_apply_dirs(struct untar *u)
{
	char eb[ESCBUF], *path = u->lp.buf;
	struct dirrec *d;
	struct stat st;
	size_t i;
	int fd;

	for (i = u->ndirs; i-- > 0;) {
		d = &u->dirs[i];
		memcpy(path, u->arena + d->path, d->pathlen);
		path[d->pathlen] = '\0';
		fd = fs_open_in_root(u, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
		if (fd == -1) {
			if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
				continue;
			return ERR_IO(u->e, "opening directory %s",
			    esc(path, d->pathlen, eb, sizeof(eb)));
		}
		if (fstat(fd, &st) == -1 || !S_ISDIR(st.st_mode) ||
		    st.st_ino != d->ino) {
			close(fd);
			continue;
		}
		/*
		 * fd is the directory this layer recorded: opened in-root
		 * with O_NOFOLLOW and checked to be the same inode, so a
		 * later entry that swapped it for a symlink is skipped.
		 */
		if ((u->owner && fchown(fd, d->uid, d->gid) == -1) ||
		    fchmod(fd, d->mode) == -1 || futimens(fd, d->ts) == -1) {
			ERR_IO(u->e, "setting metadata of directory %s",
			    esc(path, d->pathlen, eb, sizeof(eb)));
			close(fd);
			return -1;
		}
		close(fd);
	}
	return 0;
}

#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crashpoint.h"
#include "error.h"
#include "util.h"

/* Directory streams kept open while descending; deeper ones are reopened. */
#define RM_OPEN_MAX	32

static __attribute__((noreturn)) void
oom(void)
{
	static const char msg[] = "plugind: out of memory\n";

	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	abort();
}

void *
xmalloc(size_t n)
{
	void *p;

	if ((p = malloc(n == 0 ? 1 : n)) == NULL)
		oom();
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p;

	if (n == 0 || size == 0)
		n = size = 1;
	if ((p = calloc(n, size)) == NULL)
		oom();
	return p;
}

static void *
xreallocarray(void *p, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		oom();
	if ((p = realloc(p, n * size == 0 ? 1 : n * size)) == NULL)
		oom();
	return p;
}

char *
xstrdup(const char *s)
{
	char *p;

	if ((p = strdup(s)) == NULL)
		oom();
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom();
	return p;
}

ssize_t
pd_read_small(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	if (len == 0 || (fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return -1;
	n = pd_read_full(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return n;
}

ssize_t
pd_read_full(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t done = 0;
	ssize_t n;

	if (len > SSIZE_MAX) {
		errno = EINVAL;
		return -1;
	}
	while (done < len) {
		n = read(fd, p + done, len - done);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

int
pd_write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
valid_entry_name(const char *name)
{
	return name != NULL && name[0] != '\0' && strchr(name, '/') == NULL &&
	    strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

static int
fsync_dir(int dirfd)
{
	int fd, rc, saved;

	if ((fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

int
pd_atomic_write(int dirfd, const char *name, const void *data, size_t len,
    mode_t mode, struct pd_err *e)
{
	char tmp[NAME_MAX + 1], rnd[17];
	int fd, n;

	if (!valid_entry_name(name))
		return pd_errf(e, PD_E_INVAL, "atomic write: bad file name");
	if (pd_random_hex(rnd, 8) == -1)
		return pd_errno(e, PD_E_INTERNAL, "getrandom");
	n = snprintf(tmp, sizeof(tmp), ".%s.tmp-%s", name, rnd);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return pd_errf(e, PD_E_INVAL, "atomic write: name too long: %s",
		    name);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, mode & 07777);
	if (fd == -1)
		return pd_errno(e, PD_E_IO, "create %s", tmp);
	if (fchmod(fd, mode & 07777) == -1) {
		pd_errno(e, PD_E_IO, "chmod %s", tmp);
		goto fail;
	}
	if (pd_write_full(fd, data, len) == -1) {
		pd_errno(e, PD_E_IO, "write %s", tmp);
		goto fail;
	}
	if (fsync(fd) == -1) {
		pd_errno(e, PD_E_IO, "fsync %s", tmp);
		goto fail;
	}
	n = close(fd);
	fd = -1;
	if (n == -1) {
		pd_errno(e, PD_E_IO, "close %s", tmp);
		goto fail;
	}
	PD_CRASHPOINT_AT("atomic-written", name);
	if (renameat(dirfd, tmp, dirfd, name) == -1) {
		pd_errno(e, PD_E_IO, "rename %s to %s", tmp, name);
		goto fail;
	}
	PD_CRASHPOINT_AT("atomic-renamed", name);
	if (fsync_dir(dirfd) == -1)
		return pd_errno(e, PD_E_IO, "fsync directory of %s", name);
	return 0;
fail:
	if (fd != -1)
		close(fd);
	unlinkat(dirfd, tmp, 0);
	return -1;
}

int
pd_mkdirs(const char *path, mode_t mode, struct pd_err *e)
{
	struct stat st;
	char *p, *s, c;
	int rc = 0;

	if (path == NULL || path[0] == '\0')
		return pd_errf(e, PD_E_INVAL, "mkdirs: empty path");
	p = xstrdup(path);
	for (s = p; *s != '\0'; ) {
		while (*s == '/')
			s++;
		if (*s == '\0')
			break;
		while (*s != '/' && *s != '\0')
			s++;
		c = *s;
		*s = '\0';
		if (mkdir(p, mode) == -1) {
			if (errno != EEXIST) {
				rc = pd_errno(e, PD_E_IO, "mkdir %s", p);
				break;
			}
			if (stat(p, &st) == -1) {
				rc = pd_errno(e, PD_E_IO, "stat %s", p);
				break;
			}
			if (!S_ISDIR(st.st_mode)) {
				errno = ENOTDIR;
				rc = pd_errno(e, PD_E_IO, "mkdir %s", p);
				break;
			}
		}
		*s = c;
	}
	free(p);
	return rc;
}

/*
 * Recursive removal.  Every name is resolved relative to an open directory
 * with O_NOFOLLOW, so a symlink is unlinked, never followed.  A directory on
 * another mount (other mount id or device, or a mount root) stops the walk:
 * removing the contents of a bind mount would destroy whatever it shows.
 * Depth is not limited by the fd table: only the deepest RM_OPEN_MAX levels
 * keep their stream open, and an evicted parent is reopened through ".."
 * and must still be the same inode.
 */
struct fid {
	dev_t		dev;
	ino_t		ino;
	uint64_t	mnt;
	int		has_mnt;
	int		mount_root;
};

struct rm_frame {
	char		*name;
	DIR		*dir;
	struct fid	 id;
	int		 progress;
};

struct rm_walk {
	struct rm_frame	*fr;
	size_t		 n;
	size_t		 cap;
	struct fid	 root;
	struct pd_err	*e;
};

static int
fd_identity(int fd, struct fid *id)
{
	struct statx stx;

	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW,
	    STATX_TYPE | STATX_INO | STATX_MNT_ID, &stx) == -1)
		return -1;
	id->dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
	id->ino = stx.stx_ino;
	id->has_mnt = (stx.stx_mask & STATX_MNT_ID) != 0;
	id->mnt = stx.stx_mnt_id;
	id->mount_root = (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
	    (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
	return 0;
}

static int
same_mount(const struct fid *a, const struct fid *b)
{
	if (a->dev != b->dev)
		return 0;
	if (a->has_mnt && b->has_mnt && a->mnt != b->mnt)
		return 0;
	return 1;
}

/* Report a failure at the current frame (and entry), errno appended. */
static int
rm_fail(struct rm_walk *w, int code, const char *last, const char *what)
{
	char path[512];
	size_t i, off = 0;
	int saved = errno, k;

	path[0] = '\0';
	for (i = 0; i < w->n && off < sizeof(path); i++) {
		k = snprintf(path + off, sizeof(path) - off, "%s%s",
		    i ? "/" : "", w->fr[i].name);
		if (k < 0)
			break;
		off += (size_t)k;
	}
	if (last != NULL && off < sizeof(path))
		snprintf(path + off, sizeof(path) - off, "/%s", last);
	errno = saved;
	if (code == PD_E_CONFLICT)
		return pd_errf(w->e, code, "remove %s: %s", path, what);
	return pd_errno(w->e, code, "remove %s: %s", path, what);
}

static int
rm_push(struct rm_walk *w, int fd, const char *name, const struct fid *id)
{
	struct rm_frame *f;

	if (w->n == w->cap) {
		w->fr = xreallocarray(w->fr, w->cap * 2, sizeof(*w->fr));
		memset(w->fr + w->cap, 0, w->cap * sizeof(*w->fr));
		w->cap *= 2;
	}
	f = &w->fr[w->n];
	if ((f->dir = fdopendir(fd)) == NULL) {
		close(fd);
		return rm_fail(w, PD_E_IO, name, "opendir");
	}
	f->name = xstrdup(name);
	f->id = *id;
	f->progress = 0;
	if (w->n >= RM_OPEN_MAX && w->fr[w->n - RM_OPEN_MAX].dir != NULL) {
		closedir(w->fr[w->n - RM_OPEN_MAX].dir);
		w->fr[w->n - RM_OPEN_MAX].dir = NULL;
	}
	w->n++;
	return 0;
}

/* The top frame is empty: step back to its parent and remove it. */
static int
rm_pop(struct rm_walk *w)
{
	struct rm_frame *f = &w->fr[w->n - 1], *p = &w->fr[w->n - 2];
	struct fid id;
	int fd;

	if (p->dir == NULL) {
		fd = openat(dirfd(f->dir), "..", O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC);
		if (fd == -1 || fd_identity(fd, &id) == -1) {
			if (fd != -1)
				close(fd);
			return rm_fail(w, PD_E_IO, NULL, "reopen parent");
		}
		if (id.dev != p->id.dev || id.ino != p->id.ino) {
			close(fd);
			return rm_fail(w, PD_E_CONFLICT, NULL,
			    "directory moved during removal");
		}
		if ((p->dir = fdopendir(fd)) == NULL) {
			close(fd);
			return rm_fail(w, PD_E_IO, NULL, "opendir parent");
		}
	}
	closedir(f->dir);
	f->dir = NULL;
	if (unlinkat(dirfd(p->dir), f->name, AT_REMOVEDIR) == -1 &&
	    errno != ENOENT)
		return rm_fail(w, PD_E_IO, NULL, "rmdir");
	free(f->name);
	f->name = NULL;
	p->progress = 1;
	w->n--;
	return 0;
}

static int
rm_entry(struct rm_walk *w, const struct dirent *de)
{
	struct rm_frame *f = &w->fr[w->n - 1];
	struct fid id;
	int dfd = dirfd(f->dir), fd;

	if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN) {
		if (unlinkat(dfd, de->d_name, 0) == 0) {
			f->progress = 1;
			return 0;
		}
		if (errno == ENOENT)
			return 0;
		if (errno != EISDIR)
			return rm_fail(w, PD_E_IO, de->d_name, "unlink");
	}
	fd = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1) {
		if (errno == ENOENT)
			return 0;
		if (errno != ENOTDIR && errno != ELOOP)
			return rm_fail(w, PD_E_IO, de->d_name, "open");
		if (unlinkat(dfd, de->d_name, 0) == -1 && errno != ENOENT)
			return rm_fail(w, PD_E_IO, de->d_name, "unlink");
		f->progress = 1;
		return 0;
	}
	if (fd_identity(fd, &id) == -1) {
		close(fd);
		return rm_fail(w, PD_E_IO, de->d_name, "statx");
	}
	if (id.mount_root || !same_mount(&id, &w->root)) {
		close(fd);
		return rm_fail(w, PD_E_CONFLICT, de->d_name,
		    "refusing to cross into another mount");
	}
	return rm_push(w, fd, de->d_name, &id);
}

/* Empties the directory open as fd (consumed); the caller removes it. */
static int
rm_contents(int fd, const char *name, const struct fid *root, struct pd_err *e)
{
	struct rm_walk w;
	struct rm_frame *f;
	struct dirent *de;
	int rc = 0;

	memset(&w, 0, sizeof(w));
	w.cap = 16;
	w.fr = xcalloc(w.cap, sizeof(*w.fr));
	w.root = *root;
	w.e = e;
	if (rm_push(&w, fd, name, root) == -1) {
		free(w.fr);
		return -1;
	}
	while (rc == 0 && w.n > 0) {
		f = &w.fr[w.n - 1];
		errno = 0;
		if ((de = readdir(f->dir)) != NULL) {
			if (strcmp(de->d_name, ".") != 0 &&
			    strcmp(de->d_name, "..") != 0)
				rc = rm_entry(&w, de);
		} else if (errno != 0)
			rc = rm_fail(&w, PD_E_IO, NULL, "readdir");
		else if (f->progress) {
			f->progress = 0;
			rewinddir(f->dir);
		} else if (w.n > 1)
			rc = rm_pop(&w);
		else
			break;
	}
	while (w.n > 0) {
		w.n--;
		if (w.fr[w.n].dir != NULL)
			closedir(w.fr[w.n].dir);
		free(w.fr[w.n].name);
	}
	free(w.fr);
	return rc;
}

int
pd_rm_rf_at(int dirfd, const char *name, struct pd_err *e)
{
	struct fid pid, cid;
	int fd, uerr;

	if (!valid_entry_name(name))
		return pd_errf(e, PD_E_INVAL, "remove: bad entry name");
	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if ((uerr = errno) != EISDIR && uerr != EPERM)
		return pd_errno(e, PD_E_IO, "remove %s", name);
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1) {
		if (errno == ENOENT)
			return 0;
		if (errno == ENOTDIR || errno == ELOOP)
			errno = uerr;
		return pd_errno(e, PD_E_IO, "remove %s", name);
	}
	if (fd_identity(dirfd, &pid) == -1 || fd_identity(fd, &cid) == -1) {
		pd_errno(e, PD_E_IO, "remove %s: statx", name);
		close(fd);
		return -1;
	}
	if (cid.mount_root || !same_mount(&cid, &pid)) {
		close(fd);
		return pd_errf(e, PD_E_CONFLICT,
		    "remove %s: refusing to cross into another mount", name);
	}
	if (rm_contents(fd, name, &cid, e) == -1)
		return -1;
	if (unlinkat(dirfd, name, AT_REMOVEDIR) == -1 && errno != ENOENT)
		return pd_errno(e, PD_E_IO, "remove %s: rmdir", name);
	return 0;
}

int
pd_random_hex(char *out, size_t nbytes)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char buf[64];
	size_t done = 0, chunk, i;
	ssize_t r;

	while (done < nbytes) {
		chunk = nbytes - done;
		if (chunk > sizeof(buf))
			chunk = sizeof(buf);
		r = getrandom(buf, chunk, 0);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (i = 0; i < (size_t)r; i++) {
			out[2 * (done + i)] = hex[buf[i] >> 4];
			out[2 * (done + i) + 1] = hex[buf[i] & 0xf];
		}
		done += (size_t)r;
	}
	out[2 * nbytes] = '\0';
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

int
pd_plugin_id_new(char out[PD_PLUGIN_ID_LEN + 1])
{
	size_t i;

	for (;;) {
		if (pd_random_hex(out, PD_PLUGIN_ID_LEN / 2) == -1)
			return -1;
		for (i = 0; i < 12; i++)
			if (out[i] < '0' || out[i] > '9')
				return 0;
	}
}

int
pd_set_cloexec(int fd)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFD)) == -1)
		return -1;
	if (fl & FD_CLOEXEC)
		return 0;
	return fcntl(fd, F_SETFD, fl | FD_CLOEXEC) == -1 ? -1 : 0;
}

int
pd_set_nonblock(int fd)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1)
		return -1;
	if (fl & O_NONBLOCK)
		return 0;
	return fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ? -1 : 0;
}

uint64_t
pd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
pd_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	unsigned d;

	if (s == NULL || *s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* go-units HumanSize: base 1000, "%.4g" followed by the unit. */
int
pd_human_size(uint64_t n, char *buf, size_t len)
{
	static const char *units[] = { "B", "kB", "MB", "GB", "TB", "PB",
	    "EB", "ZB", "YB" };
	double v = (double)n;
	size_t i = 0;
	int w;

	while (v >= 1000.0 && i < sizeof(units) / sizeof(units[0]) - 1) {
		v /= 1000.0;
		i++;
	}
	w = snprintf(buf, len, "%.4g%s", v, units[i]);
	return w < 0 || (size_t)w >= len ? -1 : 0;
}

/*
 * Make a string from a peer safe to print on one line: control bytes
 * (and DEL) become '?'.  Used for helper log lines and error messages.
 */
void
pd_strvis(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			*s = '?';
}

void
pd_help_desc(FILE *f, const char *d, int col)
{
	for (; *d != '\0'; d++)
		if (*d == '\n')
			fprintf(f, "\n%*s", col, "");
		else
			fputc(*d, f);
	fputc('\n', f);
}

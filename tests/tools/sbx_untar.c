/*
 * sbx_untar: unpack tar layers the way the extractor will (libarchive's
 * reader on an fd, then fd-relative creation calls), under the real
 * EXTRACTOR privdrop and seccomp policy, so a missing syscall shows up here.
 *
 *	sbx_untar [-u UID] ROOT LAYER...
 *
 * ROOT is chrooted into (the staging rootfs, owned by root); each LAYER
 * is opened before the drop and read from its fd.  Handles directories,
 * files (temporary name + renameat), symlinks, hard links, FIFOs, device
 * nodes (expected to be soft-denied with EPERM and skipped), PAX xattrs
 * and OCI whiteouts (.wh.NAME, .wh..wh..opq).  Afterwards it lists the
 * tree from inside the sandbox:
 *	PATH TYPE MODE UID GID SIZE [-> TARGET] [xattr NAME...]
 * A test checks the tree from the outside.  Not the real extractor: no
 * limits on entries or sizes, no protocol, minimal error handling.
 */
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/xattr.h>

#include <linux/openat2.h>

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "privdrop.h"
#include "role.h"
#include "sandbox.h"

#define MAXLAYERS	8
#define WH_PREFIX	".wh."
#define WH_OPAQUE	".wh..wh..opq"

struct deferred {
	char		*path;
	struct timespec	 ts[2];
};

static int		 rootfd = -1;
static struct deferred	*dirs;
static size_t		 ndirs;
static unsigned long	 tmpseq;

static void
usage(void)
{
	fprintf(stderr, "usage: sbx_untar [-u uid] root layer...\n");
	exit(2);
}

/* Normalize to "a/b/c": no leading "/" or "./", no empty or "." parts. */
static int
clean_path(const char *in, char *out, size_t outlen)
{
	const char *p = in, *q;
	size_t n = 0, len;

	while (*p != '\0') {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		q = strchr(p, '/');
		len = q != NULL ? (size_t)(q - p) : strlen(p);
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return -1;
		if (!(len == 1 && p[0] == '.')) {
			if (n + len + 2 > outlen)
				return -1;
			if (n > 0)
				out[n++] = '/';
			memcpy(out + n, p, len);
			n += len;
		}
		p += len;
	}
	out[n] = '\0';
	return n > 0 ? 0 : -1;
}

/* An O_PATH fd on the parent of path, resolved inside ROOT; base set. */
static int
open_parent(const char *path, const char **base)
{
	struct open_how how;
	char dir[PATH_MAX];
	const char *slash;

	slash = strrchr(path, '/');
	if (slash == NULL) {
		strcpy(dir, ".");
		*base = path;
	} else {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
		*base = slash + 1;
	}
	memset(&how, 0, sizeof(how));
	how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
	how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
	return (int)syscall(SYS_openat2, rootfd, dir, &how, sizeof(how));
}

static int
remove_tree(int dfd, const char *name)
{
	struct dirent *de;
	DIR *d;
	int fd;

	if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR)
		return -1;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 || (d = fdopendir(fd)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (remove_tree(dirfd(d), de->d_name) == -1) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	return unlinkat(dfd, name, AT_REMOVEDIR);
}

static int
empty_dir(int pfd)
{
	struct dirent *de;
	DIR *d;
	int fd;

	if ((fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    (d = fdopendir(fd)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (remove_tree(dirfd(d), de->d_name) == -1) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	return 0;
}

static int
write_file(struct archive *a, struct archive_entry *ae, int pfd,
    const char *base, const struct timespec ts[2])
{
	const char *xname;
	const void *buf, *xval;
	char tmp[64];
	size_t size, xlen;
	la_int64_t off;
	ssize_t w;
	int fd, r;

	snprintf(tmp, sizeof(tmp), ".pdtmp.%lu", tmpseq++);
	fd = openat(pfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	for (;;) {
		r = archive_read_data_block(a, &buf, &size, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK)
			goto fail;
		while (size > 0) {
			if ((w = pwrite(fd, buf, size, off)) == -1)
				goto fail;
			buf = (const char *)buf + w;
			size -= (size_t)w;
			off += w;
		}
	}
	if (ftruncate(fd, archive_entry_size(ae)) == -1 ||
	    fchown(fd, (uid_t)archive_entry_uid(ae),
	    (gid_t)archive_entry_gid(ae)) == -1 ||
	    fchmod(fd, archive_entry_perm(ae)) == -1)
		goto fail;
	archive_entry_xattr_reset(ae);
	while (archive_entry_xattr_next(ae, &xname, &xval, &xlen) ==
	    ARCHIVE_OK)
		if (fsetxattr(fd, xname, xval, xlen, 0) == -1)
			printf("xattr %s on %s: %s\n", xname, base,
			    strerror(errno));
	if (futimens(fd, ts) == -1)
		goto fail;
	close(fd);
	return renameat(pfd, tmp, pfd, base);
fail:
	close(fd);
	unlinkat(pfd, tmp, 0);
	return -1;
}

static int
extract_entry(struct archive *a, struct archive_entry *ae)
{
	char path[PATH_MAX], src[PATH_MAX];
	const char *base, *sbase, *link;
	struct timespec ts[2];
	struct stat st;
	mode_t type, perm;
	uid_t uid;
	gid_t gid;
	int pfd, spfd, r = 0;

	if (clean_path(archive_entry_pathname(ae), path, sizeof(path)) == -1)
		return 0;	/* "./" itself, or refused */
	if ((pfd = open_parent(path, &base)) == -1)
		return -1;
	type = archive_entry_filetype(ae);
	perm = archive_entry_perm(ae);
	uid = (uid_t)archive_entry_uid(ae);
	gid = (gid_t)archive_entry_gid(ae);
	ts[0].tv_sec = ts[1].tv_sec = archive_entry_mtime(ae);
	ts[0].tv_nsec = ts[1].tv_nsec = archive_entry_mtime_nsec(ae);

	if (strcmp(base, WH_OPAQUE) == 0) {
		r = empty_dir(pfd);
		goto out;
	}
	if (strncmp(base, WH_PREFIX, strlen(WH_PREFIX)) == 0) {
		r = remove_tree(pfd, base + strlen(WH_PREFIX));
		goto out;
	}
	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    !(S_ISDIR(st.st_mode) && type == AE_IFDIR) &&
	    remove_tree(pfd, base) == -1) {
		r = -1;
		goto out;
	}

	if ((link = archive_entry_hardlink(ae)) != NULL) {
		if (clean_path(link, src, sizeof(src)) == -1 ||
		    (spfd = open_parent(src, &sbase)) == -1) {
			r = -1;
			goto out;
		}
		r = linkat(spfd, sbase, pfd, base, 0);
		close(spfd);
		goto out;
	}
	switch (type) {
	case AE_IFDIR:
		if (mkdirat(pfd, base, 0700) == -1 && errno != EEXIST)
			r = -1;
		else if (fchownat(pfd, base, uid, gid, AT_SYMLINK_NOFOLLOW) == -1 ||
		    fchmodat(pfd, base, perm, 0) == -1)
			r = -1;
		else {
			dirs = reallocarray(dirs, ndirs + 1, sizeof(*dirs));
			dirs[ndirs].path = strdup(path);
			dirs[ndirs].ts[0] = ts[0];
			dirs[ndirs].ts[1] = ts[1];
			ndirs++;
		}
		break;
	case AE_IFREG:
		r = write_file(a, ae, pfd, base, ts);
		break;
	case AE_IFLNK:
		if (symlinkat(archive_entry_symlink(ae), pfd, base) == -1 ||
		    fchownat(pfd, base, uid, gid, AT_SYMLINK_NOFOLLOW) == -1 ||
		    utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) == -1)
			r = -1;
		break;
	case AE_IFIFO:
		if (mknodat(pfd, base, S_IFIFO | 0600, 0) == -1 ||
		    fchownat(pfd, base, uid, gid, AT_SYMLINK_NOFOLLOW) == -1 ||
		    fchmodat(pfd, base, perm, 0) == -1 ||
		    utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) == -1)
			r = -1;
		break;
	case AE_IFCHR:
	case AE_IFBLK:
		if (mknodat(pfd, base, type | perm, archive_entry_rdev(ae)) == 0)
			printf("device %s created\n", path);
		else
			printf("device %s skipped: %s\n", path, strerror(errno));
		break;
	default:
		printf("type %o of %s skipped\n", (unsigned int)type, path);
		break;
	}
out:
	if (r == -1)
		printf("error %s: %s\n", path, strerror(errno));
	close(pfd);
	return r;
}

static int
extract_layer(int fd)
{
	struct archive_entry *ae;
	struct archive *a;
	int r, fails = 0;

	a = archive_read_new();
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_xz(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_fd(a, fd, 64 * 1024) != ARCHIVE_OK) {
		printf("error open layer: %s\n", archive_error_string(a));
		archive_read_free(a);
		return -1;
	}
	while ((r = archive_read_next_header(a, &ae)) == ARCHIVE_OK ||
	    r == ARCHIVE_WARN) {
		if (r == ARCHIVE_WARN)
			printf("warning: %s\n", archive_error_string(a));
		if (extract_entry(a, ae) == -1)
			fails++;
	}
	if (r != ARCHIVE_EOF) {
		printf("error reading layer: %s\n", archive_error_string(a));
		fails++;
	}
	archive_read_free(a);
	return fails ? -1 : 0;
}

static int
set_dir_times(void)
{
	const char *base;
	size_t i;
	int pfd, fails = 0;

	for (i = ndirs; i-- > 0; ) {
		if ((pfd = open_parent(dirs[i].path, &base)) == -1)
			continue;	/* removed by a later whiteout */
		if (utimensat(pfd, base, dirs[i].ts, AT_SYMLINK_NOFOLLOW) == -1 &&
		    errno != ENOENT)
			fails++;
		close(pfd);
		free(dirs[i].path);
	}
	free(dirs);
	return fails ? -1 : 0;
}

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char	**lines;
static size_t	  nlines;

static void
list_dir(int dfd, const char *prefix)
{
	char path[PATH_MAX], target[PATH_MAX], xl[1024], line[4096];
	struct dirent *de;
	struct stat st;
	ssize_t n, xn;
	DIR *d;
	int fd, len;

	if ((fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    (d = fdopendir(fd)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s%s", prefix, de->d_name);
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1)
			continue;
		len = snprintf(line, sizeof(line), "%s %c %04o %u %u %lld", path,
		    S_ISDIR(st.st_mode) ? 'd' : S_ISLNK(st.st_mode) ? 'l' :
		    S_ISFIFO(st.st_mode) ? 'p' : S_ISREG(st.st_mode) ? 'f' : '?',
		    (unsigned int)(st.st_mode & 07777), (unsigned int)st.st_uid,
		    (unsigned int)st.st_gid, (long long)st.st_size);
		if (S_ISLNK(st.st_mode) && (n = readlinkat(dirfd(d),
		    de->d_name, target, sizeof(target) - 1)) >= 0) {
			target[n] = '\0';
			len += snprintf(line + len, sizeof(line) - (size_t)len,
			    " -> %s", target);
		}
		if (S_ISREG(st.st_mode) && (fd = openat(dirfd(d), de->d_name,
		    O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) != -1) {
			xn = flistxattr(fd, xl, sizeof(xl));
			for (n = 0; xn > 0 && n < xn; n += (ssize_t)strlen(xl + n) + 1)
				len += snprintf(line + len, sizeof(line) - (size_t)len,
				    " xattr %s", xl + n);
			close(fd);
		}
		lines = reallocarray(lines, nlines + 1, sizeof(*lines));
		lines[nlines++] = strdup(line);
		if (S_ISDIR(st.st_mode) && (fd = openat(dirfd(d), de->d_name,
		    O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) != -1) {
			snprintf(path, sizeof(path), "%s%s/", prefix, de->d_name);
			list_dir(fd, path);
			close(fd);
		}
	}
	closedir(d);
}

int
main(int argc, char *argv[])
{
	struct pd_dropspec ds;
	struct pd_err e;
	int ch, i, nlayers, layers[MAXLAYERS], fails = 0;
	size_t j;
	long uid = 65534;

	while ((ch = getopt(argc, argv, "u:")) != -1) {
		switch (ch) {
		case 'u':
			uid = strtol(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2 || argc - 1 > MAXLAYERS)
		usage();
	nlayers = argc - 1;
	/* Line by line, so a kill still leaves the progress so far. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* UTF-8 names in PAX headers; the locale is loaded before the chroot. */
	if (setlocale(LC_CTYPE, "C.UTF-8") == NULL) {
		fprintf(stderr, "sbx_untar: no C.UTF-8 locale\n");
		return 1;
	}
	for (i = 0; i < nlayers; i++)
		if ((layers[i] = open(argv[i + 1], O_RDONLY | O_CLOEXEC)) == -1) {
			perror(argv[i + 1]);
			return 1;
		}

	memset(&ds, 0, sizeof(ds));
	ds.role = PD_ROLE_EXTRACTOR;
	ds.uid = (uid_t)uid;
	ds.gid = (gid_t)uid;
	ds.rlim_nofile = 64;
	ds.rlim_fsize = 1ULL << 30;
#ifdef PD_SANITIZE
	ds.rlim_as = 0;		/* ASan reserves terabytes of address space */
#else
	ds.rlim_as = 1ULL << 30;
#endif
	if ((ds.rootfd = open(argv[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		perror(argv[0]);
		return 1;
	}
	if (pd_privdrop(&ds, &e) == -1 ||
	    pd_sandbox_apply(PD_ROLE_EXTRACTOR, &e) == -1) {
		fprintf(stderr, "sbx_untar: %s\n", e.msg);
		return 1;
	}
	rootfd = ds.rootfd;

	/* Sandboxed from here on. */
	for (i = 0; i < nlayers; i++) {
		if (extract_layer(layers[i]) == -1)
			fails++;
		close(layers[i]);
	}
	if (set_dir_times() == -1)
		fails++;
	list_dir(rootfd, "");
	qsort(lines, nlines, sizeof(*lines), cmpstr);
	for (j = 0; j < nlines; j++) {
		printf("%s\n", lines[j]);
		free(lines[j]);
	}
	free(lines);
	fflush(stdout);
	return fails ? 1 : 0;
}

/*
 * Content store: <data-root>/storage/blobs/sha256/<hex>.  Only the broker
 * writes here.  A blob is first written into an unnamed O_TMPFILE under
 * <data-root>/tmp (by the broker, or by a helper through an fd the broker
 * hands it), then hashed by the broker itself and linked in under its
 * digest only if the digest is the one expected.  A crash before the link
 * leaves nothing behind: an O_TMPFILE has no name.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "state/state.h"
#include "digest.h"
#include "log.h"

static int	blobs_fd = -1;
static int	tmp_fd = -1;

int
store_init(struct pd_err *e)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/storage/blobs/sha256", conf.data_root);
	if ((blobs_fd = open(path, O_DIRECTORY | O_RDONLY | O_CLOEXEC)) == -1)
		return pd_errno(e, PD_E_IO, "open %s", path);
	snprintf(path, sizeof(path), "%s/tmp", conf.data_root);
	if ((tmp_fd = open(path, O_DIRECTORY | O_RDONLY | O_CLOEXEC)) == -1)
		return pd_errno(e, PD_E_IO, "open %s", path);
	return 0;
}

/* A new unnamed file for one blob; read-write so the broker can hash it. */
int
store_tmpfile(struct pd_err *e)
{
	int fd;

	fd = openat(tmp_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd == -1)
		return pd_errno(e, PD_E_IO, "create a temporary blob in %s/tmp",
		    conf.data_root);
	return fd;
}

/*
 * Hash fd from offset 0 and link it in as `digest` if it matches (and, when
 * size is not 0, if its size matches).  The fd was possibly written by an
 * untrusted helper: nothing it claimed is used, only the bytes.
 */
int
store_commit(int fd, const char *digest, uint64_t size, struct pd_err *e)
{
	char got[72], procpath[64];
	const char *hex;
	uint64_t gotsize;

	if ((hex = pd_digest_hex(digest)) == NULL)
		return pd_errf(e, PD_E_INVAL, "invalid digest \"%s\"", digest);
	if (pd_sha256_fd(fd, got, &gotsize, e) == -1)
		return -1;
	if (size != 0 && gotsize != size)
		return pd_errf(e, PD_E_DIGEST, "size mismatch for %s: expected %llu "
		    "bytes, got %llu", digest, (unsigned long long)size,
		    (unsigned long long)gotsize);
	if (strcmp(got, digest) != 0)
		return pd_errf(e, PD_E_DIGEST, "digest mismatch: expected %s, got %s",
		    digest, got);
	if (fsync(fd) == -1)
		return pd_errno(e, PD_E_IO, "fsync blob %s", digest);
	if (fchmod(fd, 0644) == -1)
		return pd_errno(e, PD_E_IO, "chmod blob %s", digest);
	/*
	 * linkat through /proc/self/fd gives the O_TMPFILE a name; the
	 * kernel allows it only for our own fd, and the target directory is
	 * ours (root-owned, 0700 above it).
	 */
	snprintf(procpath, sizeof(procpath), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, procpath, blobs_fd, hex, AT_SYMLINK_FOLLOW) == -1) {
		if (errno == EEXIST)
			return 0;	/* same digest, same bytes */
		return pd_errno(e, PD_E_IO, "link blob %s", digest);
	}
	if (fsync(blobs_fd) == -1)
		return pd_errno(e, PD_E_IO, "fsync %s/storage", conf.data_root);
	return 0;
}

int
store_has(const char *digest)
{
	const char *hex = pd_digest_hex(digest);
	struct stat st;

	return hex != NULL && fstatat(blobs_fd, hex, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode);
}

int
store_open(const char *digest, struct pd_err *e)
{
	const char *hex = pd_digest_hex(digest);
	int fd;

	if (hex == NULL)
		return pd_errf(e, PD_E_INVAL, "invalid digest \"%s\"", digest);
	fd = openat(blobs_fd, hex, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1) {
		if (errno == ENOENT)
			return pd_errf(e, PD_E_NOTFOUND, "blob %s not in the store",
			    digest);
		return pd_errno(e, PD_E_IO, "open blob %s", digest);
	}
	return fd;
}

int
store_stats(uint64_t *count, uint64_t *bytes)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd;

	*count = *bytes = 0;
	if ((fd = dup(blobs_fd)) == -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (fstatat(blobs_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			(*count)++;
			*bytes += (uint64_t)st.st_size;
		}
	}
	closedir(d);
	return 0;
}

/*
 * Remove every blob not named in `used` (a JSON object whose keys are
 * digests).  Callers hold the plugins lock for writing, so no install can
 * be between committing a blob and recording it.
 */
int
store_gc(const json_t *used, unsigned *removed, struct pd_err *e)
{
	char digest[320];
	struct dirent *de;
	DIR *d;
	int fd;

	*removed = 0;
	if ((fd = dup(blobs_fd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return pd_errno(e, PD_E_IO, "open the blob store");
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(digest, sizeof(digest), "sha256:%s", de->d_name);
		if (json_object_get(used, digest) != NULL)
			continue;
		if (unlinkat(blobs_fd, de->d_name, 0) == 0) {
			(*removed)++;
			log_debug("gc: removed blob %s", digest);
		} else
			log_warn("gc: remove %s", digest);
	}
	closedir(d);
	return 0;
}

/*
 * libFuzzer harness for untar().  Each input is written to a memfd and
 * extracted into a fresh directory under $PD_FUZZ_DIR (default /dev/shm);
 * gzip or zstd by magic, otherwise a plain tar.  Afterwards the directory
 * next to the rootfs is checked for escapes and the rootfs is removed.
 *
 *	clang -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Icommon \
 *	    extractor/untar*.c common/error.c tests/fuzz/fuzz_untar.c \
 *	    -larchive -lz -lcrypto
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "../../extractor/untar.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int	basefd = -1;
static char	base[256];
static struct untar_limits lim;

static void
rmtree(int dfd, const char *name)
{
	struct dirent *d;
	struct stat st;
	DIR *dir;
	int fd;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlinkat(dfd, name, 0);
		return;
	}
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 && fchmodat(dfd, name, 0700, 0) == 0)
		fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
	if (fd == -1)
		abort();
	fchmod(fd, 0700);
	if ((dir = fdopendir(fd)) == NULL)
		abort();
	while ((d = readdir(dir)) != NULL)
		if (strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0)
			rmtree(fd, d->d_name);
	closedir(dir);
	if (unlinkat(dfd, name, AT_REMOVEDIR) == -1)
		abort();
}

static void
cleanup(void)
{
	rmtree(basefd, "r");
	unlinkat(basefd, "canary", 0);
	rmdir(base);
}

static void
setup(void)
{
	const char *dir = getenv("PD_FUZZ_DIR");
	struct pd_err e;
	int fd;

	if (untar_init(&e) == -1) {
		fprintf(stderr, "%s\n", e.msg);
		abort();
	}
	untar_default_limits(&lim);
	lim.max_bytes = 16 << 20;
	lim.max_compressed = 4 << 20;
	lim.max_file = 8 << 20;
	lim.max_entries = 4096;
	lim.max_links = 64;
	snprintf(base, sizeof(base), "%s/pd-fuzz-untar.XXXXXX",
	    dir != NULL ? dir : "/dev/shm");
	if (mkdtemp(base) == NULL ||
	    (basefd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		abort();
	/* A canary next to the rootfs: it must survive every input. */
	if ((fd = openat(basefd, "canary", O_WRONLY | O_CREAT | O_CLOEXEC,
	    0644)) == -1 || write(fd, "canary\n", 7) != 7)
		abort();
	close(fd);
	atexit(cleanup);
	printf("fuzz_untar: working in %s\n", base);
}

static void
check_base(void)
{
	char buf[16];
	struct dirent *d;
	DIR *dir;
	int fd, n = 0;

	if ((fd = openat(basefd, ".", O_RDONLY | O_DIRECTORY)) == -1 ||
	    (dir = fdopendir(fd)) == NULL)
		abort();
	while ((d = readdir(dir)) != NULL) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		if (strcmp(d->d_name, "canary") != 0 &&
		    strcmp(d->d_name, "r") != 0) {
			fprintf(stderr, "escape: %s created next to the rootfs\n",
			    d->d_name);
			abort();
		}
		n++;
	}
	closedir(dir);
	if ((fd = openat(basefd, "canary", O_RDONLY | O_NOFOLLOW)) == -1 ||
	    read(fd, buf, sizeof(buf)) != 7 || memcmp(buf, "canary\n", 7) != 0) {
		fprintf(stderr, "escape: canary modified\n");
		abort();
	}
	close(fd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum untar_compression c = UNTAR_NONE;
	struct untar_result res;
	struct pd_err e;
	int rootfd, in;

	if (basefd == -1)
		setup();
	if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b)
		c = UNTAR_GZIP;
	else if (size >= 4 && memcmp(data, "\x28\xb5\x2f\xfd", 4) == 0)
		c = UNTAR_ZSTD;
	if ((in = memfd_create("layer", MFD_CLOEXEC)) == -1 ||
	    (size > 0 && write(in, data, size) != (ssize_t)size) ||
	    lseek(in, 0, SEEK_SET) == -1)
		abort();
	if (mkdirat(basefd, "r", 0755) == -1 ||
	    (rootfd = openat(basefd, "r", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		abort();
	pd_err_clear(&e);
	if (untar(rootfd, in, c, &lim, &res, &e) == -1 &&
	    (e.msg[0] == '\0' || strchr(e.msg, ':') == NULL)) {
		fprintf(stderr, "error without a reason class: \"%s\"\n", e.msg);
		abort();
	}
	close(in);
	close(rootfd);
	check_base();
	rmtree(basefd, "r");
	return 0;
}

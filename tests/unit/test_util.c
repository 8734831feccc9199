#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cap-ng.h>

#include "error.h"
#include "ref.h"
#include "util.h"
#include "../tap.h"

static char top[64];
static int topfd = -1;

static const struct size_test {
	uint64_t	 n;
	const char	*want;
} size_data[] = {
	{ 0, "0B" },
	{ 10, "10B" },
	{ 999, "999B" },
	{ 1000, "1kB" },
	{ 1024, "1.024kB" },
	{ 1500, "1.5kB" },
	{ 999999, "1000kB" },
	{ 1000000, "1MB" },
	{ 1234567, "1.235MB" },
	{ 1048576, "1.049MB" },
	{ 1500000000, "1.5GB" },
	{ 3000000000000ULL, "3TB" },
	{ UINT64_MAX, "18.45EB" },
};

static const struct u64_test {
	const char	*in;
	int		 rc;
	uint64_t	 want;
} u64_data[] = {
	{ "0", 0, 0 },
	{ "42", 0, 42 },
	{ "007", 0, 7 },
	{ "18446744073709551615", 0, UINT64_MAX },
	{ "18446744073709551616", -1, 0 },
	{ "99999999999999999999", -1, 0 },
	{ "", -1, 0 },
	{ "-1", -1, 0 },
	{ "+1", -1, 0 },
	{ " 1", -1, 0 },
	{ "1 ", -1, 0 },
	{ "0x10", -1, 0 },
	{ "12a", -1, 0 },
	{ NULL, -1, 0 },
};

static int
write_file(int dfd, const char *name, const char *s)
{
	int fd, rc;

	fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1)
		return -1;
	rc = pd_write_full(fd, s, strlen(s));
	close(fd);
	return rc;
}

static int
file_is(int dfd, const char *name, const char *want)
{
	char buf[256];
	ssize_t n;
	int fd;

	if ((fd = openat(dfd, name, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = pd_read_full(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return 0;
	buf[n] = '\0';
	return strcmp(buf, want) == 0;
}

static int
exists_at(int dfd, const char *name)
{
	struct stat st;

	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Number of entries in a directory, "." and ".." excluded. */
static int
count_entries(int dfd)
{
	struct dirent *de;
	DIR *d;
	int fd, n = 0;

	if ((fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
test_alloc(void)
{
	char *p;

	p = xmalloc(0);
	ASSERT(p != NULL, "xmalloc(0)");
	free(p);
	p = xcalloc(4, 8);
	ASSERT(p != NULL && p[0] == 0 && p[31] == 0, "xcalloc zeroes");
	free(p);
	p = xstrdup("plugind");
	ASSERT_STR_EQ(p, "plugind", "xstrdup");
	free(p);
	p = xasprintf("%s:%d", "tag", 7);
	ASSERT_STR_EQ(p, "tag:7", "xasprintf");
	free(p);
}

static void
on_alarm(int sig)
{
	(void)sig;
}

static void
test_io(void)
{
	struct sigaction sa;
	struct itimerval it;
	static char big[300000], back[300001];
	pid_t pid;
	size_t i;
	ssize_t n;
	int p[2], st;

	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7);
	if (pipe(p) == -1) {
		ASSERT(0, "pipe");
		return;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	if ((pid = fork()) == 0) {
		close(p[0]);
		usleep(200000);
		for (i = 0; i < sizeof(big); i += 4096)
			if (pd_write_full(p[1], big + i, sizeof(big) - i <
			    4096 ? sizeof(big) - i : 4096) == -1)
				_exit(1);
		_exit(0);
	}
	close(p[1]);
	memset(&it, 0, sizeof(it));
	it.it_value.tv_usec = 50000;
	setitimer(ITIMER_REAL, &it, NULL);
	n = pd_read_full(p[0], back, sizeof(back));
	ASSERT_INT_EQ(n, sizeof(big), "read_full: all bytes despite EINTR");
	ASSERT(memcmp(big, back, sizeof(big)) == 0, "read_full: content");
	ASSERT_INT_EQ(pd_read_full(p[0], back, 10), 0, "read_full: EOF is 0");
	close(p[0]);
	waitpid(pid, &st, 0);
	ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "write_full: pipe writer survived EINTR in the reader");
	ASSERT_INT_EQ(pd_read_full(-1, back, 1), -1, "read_full: bad fd");
	ASSERT_INT_EQ(pd_write_full(-1, "x", 1), -1, "write_full: bad fd");
}

static void
test_atomic(void)
{
	struct pd_err e;
	struct stat st;
	char longname[300];
	pid_t pid;
	int dfd, outside, rc, status;

	mkdirat(topfd, "aw", 0755);
	dfd = openat(topfd, "aw", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	rc = pd_atomic_write(dfd, "config.json", "one", 3, 0600, &e);
	ASSERT_INT_EQ(rc, 0, "atomic: create");
	ASSERT(file_is(dfd, "config.json", "one"), "atomic: content");
	rc = pd_atomic_write(dfd, "config.json", "two!", 4, 0640, &e);
	ASSERT_INT_EQ(rc, 0, "atomic: replace");
	ASSERT(file_is(dfd, "config.json", "two!"), "atomic: replaced content");
	fstatat(dfd, "config.json", &st, 0);
	ASSERT_INT_EQ(st.st_mode & 07777, 0640, "atomic: exact mode");
	ASSERT_INT_EQ(count_entries(dfd), 1, "atomic: no temp file left");
	ASSERT_INT_EQ(pd_atomic_write(dfd, "empty", "", 0, 0600, &e), 0,
	    "atomic: empty file");
	ASSERT(file_is(dfd, "empty", ""), "atomic: empty content");

	ASSERT_INT_EQ(pd_atomic_write(dfd, "a/b", "x", 1, 0600, &e), -1,
	    "atomic: name with a slash");
	ASSERT_INT_EQ(e.code, PD_E_INVAL, "atomic: slash is INVAL");
	ASSERT_INT_EQ(pd_atomic_write(dfd, "..", "x", 1, 0600, &e), -1,
	    "atomic: dot-dot");
	memset(longname, 'n', 255);
	longname[255] = '\0';
	ASSERT_INT_EQ(pd_atomic_write(dfd, longname, "x", 1, 0600, &e), -1,
	    "atomic: name too long for a temp name");

	/* A symlink at the target name is replaced, not followed. */
	write_file(topfd, "aw-outside", "keep");
	outside = symlinkat("../aw-outside", dfd, "link");
	ASSERT_INT_EQ(outside, 0, "atomic: symlink made");
	ASSERT_INT_EQ(pd_atomic_write(dfd, "link", "new", 3, 0600, &e), 0,
	    "atomic: over a symlink");
	fstatat(dfd, "link", &st, AT_SYMLINK_NOFOLLOW);
	ASSERT(S_ISREG(st.st_mode), "atomic: symlink became a file");
	ASSERT(file_is(topfd, "aw-outside", "keep"),
	    "atomic: symlink target untouched");
	unlinkat(dfd, "link", 0);
	unlinkat(dfd, "empty", 0);

	/* Read-only directory: the write fails and the old file stays. */
	fchmod(dfd, 0555);
	if ((pid = fork()) == 0) {
		if (geteuid() == 0) {
			capng_get_caps_process();
			capng_updatev(CAPNG_DROP, CAPNG_EFFECTIVE |
			    CAPNG_PERMITTED, CAP_DAC_OVERRIDE,
			    CAP_DAC_READ_SEARCH, CAP_FOWNER, -1);
			if (capng_apply(CAPNG_SELECT_CAPS) != 0)
				_exit(3);
		}
		rc = pd_atomic_write(dfd, "config.json", "three", 5, 0600, &e);
		if (rc == 0)
			_exit(1);
		_exit(e.code == PD_E_IO ? 0 : 2);
	}
	waitpid(pid, &status, 0);
	fchmod(dfd, 0755);
	ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "atomic: read-only dir fails with an I/O error");
	ASSERT(file_is(dfd, "config.json", "two!"),
	    "atomic: old content intact after failure");
	ASSERT_INT_EQ(count_entries(dfd), 1, "atomic: no temp after failure");

	ASSERT_INT_EQ(pd_atomic_write(-1, "x", "x", 1, 0600, &e), -1,
	    "atomic: bad dirfd");
	close(dfd);
}

static void
test_mkdirs(void)
{
	struct pd_err e;
	struct stat st;
	char path[128];

	snprintf(path, sizeof(path), "%s/mk/a//b/c/", top);
	ASSERT_INT_EQ(pd_mkdirs(path, 0700, &e), 0, "mkdirs: create");
	snprintf(path, sizeof(path), "%s/mk/a/b/c", top);
	ASSERT(stat(path, &st) == 0 && S_ISDIR(st.st_mode), "mkdirs: exists");
	ASSERT_INT_EQ(pd_mkdirs(path, 0700, &e), 0, "mkdirs: again is fine");
	write_file(topfd, "mk/file", "x");
	snprintf(path, sizeof(path), "%s/mk/file/sub", top);
	ASSERT_INT_EQ(pd_mkdirs(path, 0700, &e), -1, "mkdirs: through a file");
	ASSERT_INT_EQ(pd_mkdirs("", 0700, &e), -1, "mkdirs: empty path");
}

static int
build_tree(void)
{
	int i, fd, nfd, bad = 0;
	char name[16];

	mkdirat(topfd, "canary", 0755);
	write_file(topfd, "canary/keep", "keep");
	mkdirat(topfd, "tree", 0755);
	write_file(topfd, "tree/f", "x");
	mkdirat(topfd, "tree/d1", 0755);
	write_file(topfd, "tree/d1/f2", "x");
	mkdirat(topfd, "tree/d1/d2", 0700);
	write_file(topfd, "tree/d1/d2/f3", "x");
	bad |= symlinkat("../canary", topfd, "tree/to-canary");
	bad |= symlinkat("../../canary/keep", topfd, "tree/d1/to-keep");
	bad |= symlinkat("/nonexistent", topfd, "tree/dangling");
	bad |= mkfifoat(topfd, "tree/d1/fifo", 0600);
	fd = openat(topfd, "tree", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (i = 0; i < 150; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		write_file(fd, name, "x");
		snprintf(name, sizeof(name), "l%d", i);
		bad |= symlinkat("../canary", fd, name);
		if (mkdirat(fd, "deep", 0755) == -1)
			return -1;
		nfd = openat(fd, "deep", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		close(fd);
		if ((fd = nfd) == -1)
			return -1;
	}
	close(fd);
	return bad;
}

static void
test_rm_rf(void)
{
	struct pd_err e;
	int fd;

	ASSERT_INT_EQ(build_tree(), 0, "rm_rf: deep tree with symlinks out");
	ASSERT_INT_EQ(pd_rm_rf_at(topfd, "tree", &e), 0, "rm_rf: tree removed");
	if (exists_at(topfd, "tree"))
		printf("# %s\n", e.msg);
	ASSERT(!exists_at(topfd, "tree"), "rm_rf: tree gone");
	ASSERT(file_is(topfd, "canary/keep", "keep"),
	    "rm_rf: symlinked canary survives");
	ASSERT_INT_EQ(pd_rm_rf_at(topfd, "tree", &e), 0, "rm_rf: missing ok");

	write_file(topfd, "plain", "x");
	ASSERT_INT_EQ(pd_rm_rf_at(topfd, "plain", &e), 0, "rm_rf: plain file");
	ASSERT(!exists_at(topfd, "plain"), "rm_rf: plain file gone");

	ASSERT_INT_EQ(symlinkat("canary", topfd, "toplink"), 0,
	    "rm_rf: top symlink made");
	ASSERT_INT_EQ(pd_rm_rf_at(topfd, "toplink", &e), 0,
	    "rm_rf: top symlink");
	ASSERT(!exists_at(topfd, "toplink"), "rm_rf: top symlink gone");
	ASSERT(file_is(topfd, "canary/keep", "keep"),
	    "rm_rf: top symlink target survives");

	ASSERT_INT_EQ(pd_rm_rf_at(topfd, "a/b", &e), -1, "rm_rf: no slash");
	ASSERT_INT_EQ(pd_rm_rf_at(topfd, "..", &e), -1, "rm_rf: no dot-dot");
	ASSERT_INT_EQ(pd_rm_rf_at(topfd, ".", &e), -1, "rm_rf: dot refused");

	fd = openat(topfd, ".", O_RDONLY | O_DIRECTORY);
	mkdirat(fd, "emptydir", 0755);
	ASSERT_INT_EQ(pd_rm_rf_at(fd, "emptydir", &e), 0, "rm_rf: empty dir");
	close(fd);
}

/*
 * In a private mount namespace: a tmpfs and a same-filesystem bind mount
 * inside the tree must stop the removal, and what they show must survive.
 * Exit status bits report failures.
 */
static int
mount_child(void)
{
	struct pd_err e;
	char path[128], bind[128], canary[128];
	int rc = 0;

	if (unshare(CLONE_NEWNS) == -1)
		return 100;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1)
		return 100;
	/* The inherited fd still points into the old namespace's mounts. */
	close(topfd);
	if ((topfd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return 100;
	mkdirat(topfd, "mt", 0755);
	mkdirat(topfd, "mt/m", 0755);
	write_file(topfd, "mt/before", "x");
	snprintf(path, sizeof(path), "%s/mt/m", top);
	if (mount("tmpfs", path, "tmpfs", 0, "size=1m") == -1)
		return 100;
	write_file(topfd, "mt/m/inside", "keep");
	if (pd_rm_rf_at(topfd, "mt", &e) != -1)
		rc |= 1;
	if (e.code != PD_E_CONFLICT || strstr(e.msg, "mount") == NULL)
		rc |= 2;
	if (!file_is(topfd, "mt/m/inside", "keep"))
		rc |= 4;
	umount2(path, MNT_DETACH);

	mkdirat(topfd, "bt", 0755);
	mkdirat(topfd, "bt/sub", 0755);
	mkdirat(topfd, "bt/sub/b", 0755);
	snprintf(bind, sizeof(bind), "%s/bt/sub/b", top);
	snprintf(canary, sizeof(canary), "%s/canary", top);
	if (mount(canary, bind, NULL, MS_BIND, NULL) == -1)
		return 100;
	if (pd_rm_rf_at(topfd, "bt", &e) != -1)
		rc |= 8;
	if (!file_is(topfd, "canary/keep", "keep"))
		rc |= 16;
	umount2(bind, MNT_DETACH);
	return rc;
}

static void
test_rm_rf_mounts(void)
{
	struct pd_err e;
	pid_t pid;
	int st;

	if ((pid = fork()) == 0)
		_exit(mount_child());
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) == 100) {
		SKIP("no private mount namespace");
		SKIP("no private mount namespace");
		SKIP("no private mount namespace");
		return;
	}
	ASSERT_INT_EQ(WEXITSTATUS(st) & 7, 0,
	    "rm_rf: refuses to cross into a tmpfs, contents survive");
	ASSERT_INT_EQ(WEXITSTATUS(st) & 24, 0,
	    "rm_rf: refuses to cross into a same-fs bind mount");
	ASSERT(pd_rm_rf_at(topfd, "mt", &e) == 0 &&
	    pd_rm_rf_at(topfd, "bt", &e) == 0 &&
	    file_is(topfd, "canary/keep", "keep"),
	    "rm_rf: removal completes once unmounted");
}

static void
test_random(void)
{
	char hex[601], id[PD_PLUGIN_ID_LEN + 1], prev[PD_PLUGIN_ID_LEN + 1];
	size_t i, j;
	int ok = 1, digits, dup = 0;

	ASSERT_INT_EQ(pd_random_hex(hex, 16), 0, "random_hex 16");
	ASSERT_INT_EQ(strlen(hex), 32, "random_hex length");
	ASSERT(strspn(hex, "0123456789abcdef") == 32, "random_hex lowercase");
	ASSERT_INT_EQ(pd_random_hex(hex, 0), 0, "random_hex 0");
	ASSERT_STR_EQ(hex, "", "random_hex 0 is empty");
	ASSERT_INT_EQ(pd_random_hex(hex, 300), 0, "random_hex 300");
	ASSERT_INT_EQ(strlen(hex), 600, "random_hex 300 length");

	prev[0] = '\0';
	for (i = 0; i < 2000; i++) {
		if (pd_plugin_id_new(id) != 0 || !pd_valid_plugin_id(id))
			ok = 0;
		for (j = 0, digits = 1; j < 12; j++)
			if (id[j] < '0' || id[j] > '9')
				digits = 0;
		if (digits)
			ok = 0;
		if (strcmp(id, prev) == 0)
			dup = 1;
		memcpy(prev, id, sizeof(prev));
	}
	ASSERT(ok, "plugin ids: 64 lowercase hex, first 12 never all digits");
	ASSERT(!dup, "plugin ids: no repeats");
}

static void
test_fdflags(void)
{
	int p[2];

	if (pipe(p) == -1) {
		ASSERT(0, "pipe");
		return;
	}
	ASSERT_INT_EQ(pd_set_cloexec(p[0]), 0, "set_cloexec");
	ASSERT(fcntl(p[0], F_GETFD) & FD_CLOEXEC, "cloexec is set");
	ASSERT_INT_EQ(pd_set_nonblock(p[0]), 0, "set_nonblock");
	ASSERT(fcntl(p[0], F_GETFL) & O_NONBLOCK, "nonblock is set");
	ASSERT_INT_EQ(pd_set_nonblock(p[0]), 0, "set_nonblock twice");
	ASSERT_INT_EQ(pd_set_cloexec(-1), -1, "set_cloexec bad fd");
	ASSERT_INT_EQ(pd_set_nonblock(-1), -1, "set_nonblock bad fd");
	close(p[0]);
	close(p[1]);
}

static void
test_numbers(void)
{
	char buf[32], what[64];
	uint64_t t1, t2, v;
	size_t i;
	int rc;

	t1 = pd_now_ms();
	usleep(20000);
	t2 = pd_now_ms();
	ASSERT(t2 >= t1 + 20 && t2 < t1 + 5000, "now_ms advances");

	for (i = 0; i < sizeof(u64_data) / sizeof(u64_data[0]); i++) {
		v = 12345;
		rc = pd_parse_u64(u64_data[i].in, &v);
		snprintf(what, sizeof(what), "parse_u64 \"%s\"",
		    u64_data[i].in ? u64_data[i].in : "(null)");
		ASSERT(rc == u64_data[i].rc && (rc != 0 ||
		    v == u64_data[i].want), what);
	}
	for (i = 0; i < sizeof(size_data) / sizeof(size_data[0]); i++) {
		snprintf(what, sizeof(what), "human_size %llu",
		    (unsigned long long)size_data[i].n);
		rc = pd_human_size(size_data[i].n, buf, sizeof(buf));
		ASSERT_STR_EQ(rc == 0 ? buf : NULL, size_data[i].want, what);
	}
	ASSERT_INT_EQ(pd_human_size(1234567, buf, 7), -1,
	    "human_size short buffer");
}

int
main(void)
{
	struct pd_err e;
	int tmpfd;

	snprintf(top, sizeof(top), "/tmp/pd-test-util.XXXXXX");
	if (mkdtemp(top) == NULL ||
	    (topfd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		printf("Bail out! cannot make a temp dir\n");
		return 1;
	}
	test_alloc();
	test_io();
	test_atomic();
	test_mkdirs();
	test_rm_rf();
	test_rm_rf_mounts();
	test_random();
	test_fdflags();
	test_numbers();
	close(topfd);
	tmpfd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT_INT_EQ(pd_rm_rf_at(tmpfd, top + 5, &e), 0, "cleanup");
	close(tmpfd);
	TAP_DONE();
}

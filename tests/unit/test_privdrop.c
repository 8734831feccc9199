/*
 * pd_privdrop() and pd_sandbox_apply(), checked from both sides.
 *
 * For each helper role a child chroots into a fresh directory, drops to
 * uid/gid 65534 and loads the role's filter, reports what it sees of itself
 * through a pipe, and then blocks on a second pipe until the parent has
 * inspected it from the outside (/proc/PID/status, /proc/PID/root,
 * /proc/PID/limits, ownership of /proc/PID/mem).  The parent-side checks
 * are the ones that matter: they do not trust the dropped process.
 * Children are killed by pid and temporary directories removed on every
 * path out, including a time-out.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <linux/capability.h>

#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "privdrop.h"
#include "role.h"
#include "sandbox.h"
#include "../tap.h"

#define TEST_ID		65534	/* nobody / nogroup */
#define MAXKIDS		8

static pid_t	kids[MAXKIDS];
static char	dirs[MAXKIDS][64];

/* The only file a child may leave behind (the RLIMIT_FSIZE check). */
static void
rm_big(const char *dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/big", dir);
	unlink(path);
}

/* Kill what we started, by pid, and remove our directories. */
static void
cleanup(void)
{
	int i;

	for (i = 0; i < MAXKIDS; i++) {
		if (kids[i] > 0) {
			kill(kids[i], SIGKILL);
			waitpid(kids[i], NULL, 0);
			kids[i] = 0;
		}
		if (dirs[i][0] != '\0') {
			rm_big(dirs[i]);
			rmdir(dirs[i]);
			dirs[i][0] = '\0';
		}
	}
}

static void
on_alarm(int sig)
{
	static const char m[] = "not ok - timed out\n";

	(void)!write(STDOUT_FILENO, m, sizeof(m) - 1);
	cleanup();
	_exit(1);
}

struct report {
	int			drop_rc;
	int			sandbox_rc;
	char			err[PD_ERR_MSGLEN];
	uid_t			uid[3];
	gid_t			gid[3];
	int			ngroups;
	int			setuid0_errno;
	int			setresuid0_errno;
	int			dumpable;
	int			nnp_before;
	int			cwd_is_root;
	int			passwd_errno;
	int			fsize_errno;
	uint64_t		capeff, capprm, capbnd;
	struct rlimit		nproc, core, nofile, fsize;
};

static uint64_t
self_caps(int which)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d) == -1)
		return UINT64_MAX;
	if (which == 0)
		return d[0].effective | (uint64_t)d[1].effective << 32;
	return d[0].permitted | (uint64_t)d[1].permitted << 32;
}

/* The child: drop, look at itself, sandbox, report, wait, exit. */
static void
child(int role, const char *dir, int rep_w, int go_r)
{
	struct pd_dropspec ds;
	struct report r;
	struct pd_err e;
	char cwd[PATH_MAX], c;
	int cap, fd;

	memset(&r, 0, sizeof(r));
	memset(&ds, 0, sizeof(ds));
	ds.role = role;
	ds.uid = TEST_ID;
	ds.gid = TEST_ID;
	ds.rlim_nofile = 32;
	ds.rlim_fsize = 1 << 20;
	if ((ds.rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		_exit(3);
	r.drop_rc = pd_privdrop(&ds, &e);
	if (r.drop_rc == -1)
		snprintf(r.err, sizeof(r.err), "%s", e.msg);
	else {
		getresuid(&r.uid[0], &r.uid[1], &r.uid[2]);
		getresgid(&r.gid[0], &r.gid[1], &r.gid[2]);
		r.ngroups = getgroups(0, NULL);
		r.setuid0_errno = setuid(0) == -1 ? errno : 0;
		r.setresuid0_errno = setresuid(0, 0, 0) == -1 ? errno : 0;
		r.dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
		r.nnp_before = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
		r.cwd_is_root = getcwd(cwd, sizeof(cwd)) != NULL &&
		    strcmp(cwd, "/") == 0;
		fd = open("/etc/passwd", O_RDONLY);
		r.passwd_errno = fd == -1 ? errno : 0;
		/* Past RLIMIT_FSIZE: EFBIG, not SIGXFSZ (extractor can write). */
		if ((fd = open("/big", O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) != -1) {
			r.fsize_errno = pwrite(fd, "x", 1, 1 << 20) == -1 ?
			    errno : 0;
			close(fd);
			unlink("/big");
		}
		r.capeff = self_caps(0);
		r.capprm = self_caps(1);
		for (cap = 0; cap < 64; cap++)
			if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1)
				r.capbnd |= 1ULL << cap;
		getrlimit(RLIMIT_NPROC, &r.nproc);
		getrlimit(RLIMIT_CORE, &r.core);
		getrlimit(RLIMIT_NOFILE, &r.nofile);
		getrlimit(RLIMIT_FSIZE, &r.fsize);
		r.sandbox_rc = pd_sandbox_apply(role, &e);
		if (r.sandbox_rc == -1)
			snprintf(r.err, sizeof(r.err), "%s", e.msg);
	}
	/* Sandboxed: only write, read and exit_group from here. */
	if (write(rep_w, &r, sizeof(r)) != (ssize_t)sizeof(r))
		_exit(4);
	if (read(go_r, &c, 1) != 1)
		_exit(5);
	_exit(0);
}

/* "Key:\tvalue..." from /proc/PID/status, value without the tab. */
static int
status_field(pid_t pid, const char *key, char *out, size_t outlen)
{
	char path[64], line[512];
	size_t klen = strlen(key);
	FILE *fp;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((fp = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (strncmp(line, key, klen) != 0 || line[klen] != ':')
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(out, outlen, "%s", line + klen + 1 +
		    strspn(line + klen + 1, " \t"));
		found = 1;
		break;
	}
	fclose(fp);
	return found ? 0 : -1;
}

/* The soft and hard value of a /proc/PID/limits line, "unlimited" = -1. */
static int
proc_limit(pid_t pid, const char *name, long long *soft, long long *hard)
{
	char path[64], line[256], s[32], h[32];
	FILE *fp;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
	if ((fp = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (strncmp(line, name, strlen(name)) != 0)
			continue;
		if (sscanf(line + 26, "%31s %31s", s, h) != 2)
			break;
		*soft = strcmp(s, "unlimited") == 0 ? -1 : atoll(s);
		*hard = strcmp(h, "unlimited") == 0 ? -1 : atoll(h);
		found = 1;
		break;
	}
	fclose(fp);
	return found ? 0 : -1;
}

static void
check_status(pid_t pid, const char *key, const char *want)
{
	char got[256], what[128];

	snprintf(what, sizeof(what), "parent: /proc/PID/status %s is \"%s\"",
	    key, want);
	if (status_field(pid, key, got, sizeof(got)) == -1)
		snprintf(got, sizeof(got), "(missing)");
	ASSERT_STR_EQ(got, want, what);
}

static void
check_limit(pid_t pid, const char *name, long long want)
{
	long long soft = -2, hard = -2;
	char what[128];

	snprintf(what, sizeof(what), "parent: %s soft and hard %lld", name,
	    want);
	proc_limit(pid, name, &soft, &hard);
	ASSERT(soft == want && hard == want, what);
	if (soft != want || hard != want)
		printf("# got %lld/%lld\n", soft, hard);
}

static void
run_role(int slot, int role)
{
	struct report r;
	struct stat st;
	char what[160], want[64], ids[64], link[PATH_MAX], path[64];
	const char *rn = pd_role_name(role);
	uint64_t mask = pd_role_caps_mask(role);
	int rep[2], go[2], status;
	ssize_t n;
	pid_t pid;

	snprintf(dirs[slot], sizeof(dirs[slot]), "/tmp/pd-privdrop.XXXXXX");
	if (mkdtemp(dirs[slot]) == NULL || chmod(dirs[slot], 0755) == -1 ||
	    pipe2(rep, O_CLOEXEC) == -1 || pipe2(go, O_CLOEXEC) == -1) {
		ASSERT(0, "setup: temp dir and pipes");
		return;
	}
	fflush(stdout);
	if ((pid = fork()) == -1) {
		ASSERT(0, "setup: fork");
		return;
	}
	if (pid == 0) {
		close(rep[0]);
		close(go[1]);
		child(role, dirs[slot], rep[1], go[0]);
	}
	kids[slot] = pid;
	close(rep[1]);
	close(go[0]);

	memset(&r, 0, sizeof(r));
	n = read(rep[0], &r, sizeof(r));
	snprintf(what, sizeof(what), "%s: child reported", rn);
	ASSERT_INT_EQ(n, sizeof(r), what);
	if (n != (ssize_t)sizeof(r))
		goto out;
	snprintf(what, sizeof(what), "%s: pd_privdrop succeeded", rn);
	ASSERT_INT_EQ(r.drop_rc, 0, what);
	snprintf(what, sizeof(what), "%s: pd_sandbox_apply succeeded", rn);
	ASSERT_INT_EQ(r.sandbox_rc, 0, what);
	if (r.drop_rc != 0 || r.sandbox_rc != 0) {
		printf("# %s\n", r.err);
		goto out;
	}

	/* What the child saw of itself. */
	snprintf(what, sizeof(what), "%s child: resuid and resgid are %d", rn,
	    TEST_ID);
	ASSERT(r.uid[0] == TEST_ID && r.uid[1] == TEST_ID &&
	    r.uid[2] == TEST_ID && r.gid[0] == TEST_ID &&
	    r.gid[1] == TEST_ID && r.gid[2] == TEST_ID, what);
	snprintf(what, sizeof(what), "%s child: no supplementary groups", rn);
	ASSERT_INT_EQ(r.ngroups, 0, what);
	snprintf(what, sizeof(what), "%s child: setuid(0) fails with EPERM", rn);
	ASSERT_INT_EQ(r.setuid0_errno, EPERM, what);
	snprintf(what, sizeof(what), "%s child: setresuid(0,0,0) fails", rn);
	ASSERT_INT_EQ(r.setresuid0_errno, EPERM, what);
	snprintf(what, sizeof(what), "%s child: not dumpable", rn);
	ASSERT_INT_EQ(r.dumpable, 0, what);
	snprintf(what, sizeof(what), "%s child: cwd is / of the chroot", rn);
	ASSERT(r.cwd_is_root, what);
	snprintf(what, sizeof(what), "%s child: host /etc/passwd unreachable",
	    rn);
	ASSERT_INT_EQ(r.passwd_errno, ENOENT, what);
	if (role == PD_ROLE_EXTRACTOR) {
		snprintf(what, sizeof(what), "%s child: write past RLIMIT_FSIZE "
		    "fails with EFBIG, no SIGXFSZ", rn);
		ASSERT_INT_EQ(r.fsize_errno, EFBIG, what);
	}
	snprintf(what, sizeof(what), "%s child: effective caps are the role's",
	    rn);
	ASSERT_INT_EQ(r.capeff, mask, what);
	snprintf(what, sizeof(what), "%s child: permitted caps are the role's",
	    rn);
	ASSERT_INT_EQ(r.capprm, mask, what);
	snprintf(what, sizeof(what), "%s child: bounding set empty", rn);
	ASSERT_INT_EQ(r.capbnd, 0, what);
	snprintf(what, sizeof(what), "%s child: RLIMIT_CORE 0", rn);
	ASSERT(r.core.rlim_cur == 0 && r.core.rlim_max == 0, what);
	snprintf(what, sizeof(what), "%s child: RLIMIT_NOFILE 32", rn);
	ASSERT(r.nofile.rlim_cur == 32 && r.nofile.rlim_max == 32, what);

	/* What the parent sees from outside: the checks that count. */
	snprintf(ids, sizeof(ids), "%d\t%d\t%d\t%d", TEST_ID, TEST_ID,
	    TEST_ID, TEST_ID);
	check_status(pid, "Uid", ids);
	check_status(pid, "Gid", ids);
	check_status(pid, "Groups", "");
	snprintf(want, sizeof(want), "%016llx", (unsigned long long)mask);
	check_status(pid, "CapEff", want);
	check_status(pid, "CapPrm", want);
	check_status(pid, "CapInh", "0000000000000000");
	check_status(pid, "CapBnd", "0000000000000000");
	check_status(pid, "CapAmb", "0000000000000000");
	check_status(pid, "NoNewPrivs", "1");
	check_status(pid, "Seccomp", "2");
	check_status(pid, "Seccomp_filters", "1");
	check_status(pid, "Threads", "1");

	snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
	n = readlink(path, link, sizeof(link) - 1);
	link[n < 0 ? 0 : n] = '\0';
	snprintf(what, sizeof(what), "parent: /proc/PID/root is the chroot dir");
	ASSERT_STR_EQ(link, dirs[slot], what);
	snprintf(path, sizeof(path), "/proc/%d/cwd", (int)pid);
	n = readlink(path, link, sizeof(link) - 1);
	link[n < 0 ? 0 : n] = '\0';
	ASSERT_STR_EQ(link, dirs[slot], "parent: /proc/PID/cwd is the chroot dir");

	/* Not dumpable: the kernel hands its /proc files to root. */
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	ASSERT(stat(path, &st) == 0 && st.st_uid == 0,
	    "parent: /proc/PID/mem owned by root (not dumpable)");

	check_limit(pid, "Max core file size", 0);
	check_limit(pid, "Max open files", 32);
	check_limit(pid, "Max file size", 1 << 20);
	if (role != PD_ROLE_FETCHER)
		check_limit(pid, "Max processes", 0);
	else {
		long long soft = 0, hard = 0;

		proc_limit(pid, "Max processes", &soft, &hard);
		ASSERT(soft != 0 && hard != 0,
		    "parent: fetcher keeps RLIMIT_NPROC (resolver thread)");
	}

out:
	/* Release the child, then it must exit 0 (not be killed). */
	(void)!write(go[1], "g", 1);
	close(go[1]);
	close(rep[0]);
	status = -1;
	if (waitpid(pid, &status, 0) == pid)
		kids[slot] = 0;
	snprintf(what, sizeof(what), "%s: sandboxed child exited 0", rn);
	ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0, what);
	if (!WIFEXITED(status))
		printf("# killed by signal %d\n", WTERMSIG(status));
	rm_big(dirs[slot]);
	ASSERT(rmdir(dirs[slot]) == 0, "the chroot dir is left empty");
	dirs[slot][0] = '\0';
}

static void *
sleeper(void *arg)
{
	for (;;)
		pause();
	return arg;
}

/* pd_privdrop refuses a second thread: caps are per thread. */
static void
run_threaded(int slot)
{
	struct pd_dropspec ds;
	struct pd_err e;
	pthread_t t;
	int status = -1;
	pid_t pid;

	fflush(stdout);
	if ((pid = fork()) == 0) {
		memset(&ds, 0, sizeof(ds));
		ds.role = PD_ROLE_FETCHER;
		ds.uid = ds.gid = TEST_ID;
		ds.rootfd = -1;
		if (pthread_create(&t, NULL, sleeper, NULL) != 0)
			_exit(3);
		if (pd_privdrop(&ds, &e) == 0)
			_exit(1);
		_exit(strstr(e.msg, "thread") != NULL && geteuid() == 0 ? 0 : 2);
	}
	kids[slot] = pid;
	if (pid > 0 && waitpid(pid, &status, 0) == pid)
		kids[slot] = 0;
	ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "pd_privdrop refuses a multi-threaded process, still root");
}

static void
run_refusals(void)
{
	struct pd_dropspec ds;
	struct pd_err e;
	char what[128];
	uint64_t m;
	int i, bad = 0;
	const char *names[] = { "chown", "dac_override", "fowner", "fsetid" };
	char buf[128] = "";

	/* Each of these fails before any change, so the parent may call it. */
	memset(&ds, 0, sizeof(ds));
	ds.role = PD_ROLE_FETCHER;
	ds.rootfd = -1;
	ds.uid = 0;
	ds.gid = TEST_ID;
	ASSERT(pd_privdrop(&ds, &e) == -1 && e.code == PD_E_INVAL,
	    "pd_privdrop refuses uid 0");
	ds.uid = TEST_ID;
	ds.gid = 0;
	ASSERT(pd_privdrop(&ds, &e) == -1 && e.code == PD_E_INVAL,
	    "pd_privdrop refuses gid 0");
	ds.gid = TEST_ID;
	ds.role = PD_ROLE_BROKER;
	ASSERT(pd_privdrop(&ds, &e) == -1 && e.code == PD_E_INVAL,
	    "pd_privdrop refuses the broker role");
	ASSERT(geteuid() == 0, "the parent is still root");

	ASSERT(pd_sandbox_apply(PD_ROLE_BROKER, &e) == -1,
	    "pd_sandbox_apply refuses the broker role (no null sandbox)");
	ASSERT(pd_sandbox_apply(PD_ROLE_MAX, &e) == -1,
	    "pd_sandbox_apply refuses a role without policy");
	ASSERT(prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == 0,
	    "the parent has no filter after the refusals");
	ASSERT_INT_EQ(pd_sandbox_count(PD_ROLE_BROKER), -1,
	    "pd_sandbox_count(broker) is -1");
	ASSERT(pd_sandbox_count(PD_ROLE_FETCHER) > 0,
	    "pd_sandbox_count(fetcher) > 0");
	ASSERT(pd_sandbox_count(PD_ROLE_EXTRACTOR) > 0,
	    "pd_sandbox_count(extractor) > 0");
	ASSERT(pd_sandbox_count(PD_ROLE_API) > 0 && pd_sandbox_count(PD_ROLE_API) <
	    pd_sandbox_count(PD_ROLE_FETCHER), "pd_sandbox_count(api) > 0, "
	    "below the fetcher's");

	ASSERT_STR_EQ(pd_role_caps_str(PD_ROLE_FETCHER), "none",
	    "fetcher keeps no capability");
	ASSERT_INT_EQ(pd_role_caps_mask(PD_ROLE_FETCHER), 0,
	    "fetcher capability mask is 0");
	m = pd_role_caps_mask(PD_ROLE_EXTRACTOR);
	ASSERT_INT_EQ(m, (1 << CAP_CHOWN) | (1 << CAP_DAC_OVERRIDE) |
	    (1 << CAP_FOWNER) | (1 << CAP_FSETID),
	    "extractor keeps CHOWN, DAC_OVERRIDE, FOWNER, FSETID");
	/* The display string must say what the table keeps. */
	for (i = 0; i < 64; i++) {
		if ((m & (1ULL << i)) == 0)
			continue;
		if (buf[0] != '\0')
			strcat(buf, ",");
		strcat(buf, capng_capability_to_name((unsigned int)i));
	}
	for (i = 0; i < 4; i++)
		if (strstr(buf, names[i]) == NULL)
			bad++;
	snprintf(what, sizeof(what), "pd_role_caps_str(extractor) matches "
	    "the mask (%s)", buf);
	ASSERT(bad == 0 && strcmp(pd_role_caps_str(PD_ROLE_EXTRACTOR), buf) == 0,
	    what);
}

int
main(void)
{
	if (geteuid() != 0) {
		SKIP("needs root");
		TAP_DONE();
	}
	signal(SIGALRM, on_alarm);
	alarm(60);

	run_refusals();
	run_role(0, PD_ROLE_FETCHER);
	run_role(1, PD_ROLE_EXTRACTOR);
	run_threaded(2);
	run_role(3, PD_ROLE_LOGGER);

	cleanup();
	TAP_DONE();
}

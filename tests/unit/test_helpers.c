/*
 * The helpers' sandboxes, checked from outside while they live: the real
 * plugind-fetcher and plugind-extractor binaries are started exactly as
 * the broker starts them, and this test reads /proc/PID itself (not the
 * broker's own check) to assert ids, capabilities, seccomp, no_new_privs,
 * the chroot and the open fds.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc/proc.h"
#include "log.h"
#include "privdrop.h"
#include "role.h"
#include "util.h"
#include "../tap.h"

static int
field(pid_t pid, const char *key, char *out, size_t len)
{
	char path[64], line[512];
	size_t k = strlen(key);
	FILE *f;
	int found = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, k) == 0 && line[k] == ':') {
			snprintf(out, len, "%s", line + k + 1 + strspn(line + k + 1, " \t"));
			out[strcspn(out, "\n")] = '\0';
			found = 0;
			break;
		}
	fclose(f);
	return found;
}

/*
 * Sanitizer builds (-DPD_SANITIZE) only: the helper's fd `name` is the
 * report file common/child.c opened, "<log_path>.<role>.<pid>".  With
 * pid 0: whether such a file is expected at all.  Always 0 otherwise.
 */
static int
sanitizer_fd(pid_t pid, const char *name)
{
#ifdef PD_SANITIZE
	const char *o, *p;
	char path[512], link[4096];
	ssize_t n;
	size_t len;

	if ((o = getenv("ASAN_OPTIONS")) == NULL ||
	    (p = strstr(o, "log_path=")) == NULL)
		return 0;
	if (pid == 0)
		return 1;
	p += strlen("log_path=");
	len = strcspn(p, ":");
	snprintf(path, sizeof(path), "/proc/%d/fd/%s", (int)pid, name);
	if ((n = readlink(path, link, sizeof(link) - 1)) <= 0)
		return 0;
	link[n] = '\0';
	return strncmp(link, p, len) == 0 && link[len] == '.';
#else
	return 0;
#endif
}

static void
check_helper(const char *name, int role, const char *root, const char *user,
    unsigned long long capmask)
{
	char v[256], want[128], what[256], link[4096], path[128];
	struct passwd *pw = getpwnam(user);
	struct pd_err e;
	struct helper h;
	struct dirent *de;
	DIR *d;
	int rootfd, nfd = 0, badfd = 0;
	pid_t pid;
	ssize_t n;

	rootfd = open(root, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (pw == NULL) {
		SKIP("helper users missing: run tests/deps.sh");
		return;
	}
	snprintf(what, sizeof(what), "%s starts and passes the handshake", name);
	if (helper_spawn(&h, role, rootfd, root, &e) == -1) {
		printf("# %s\n", e.msg);
		ASSERT(0, what);
		close(rootfd);
		return;
	}
	ASSERT(1, what);
	close(rootfd);
	pid = h.pid;

	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", pw->pw_uid, pw->pw_uid,
	    pw->pw_uid, pw->pw_uid);
	snprintf(what, sizeof(what), "%s: Uid is %s's in all four slots, not 0", name, user);
	ASSERT(field(pid, "Uid", v, sizeof(v)) == 0 && strcmp(v, want) == 0 &&
	    pw->pw_uid != 0, what);
	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", pw->pw_gid, pw->pw_gid,
	    pw->pw_gid, pw->pw_gid);
	snprintf(what, sizeof(what), "%s: Gid is %s's, not 0", name, user);
	ASSERT(field(pid, "Gid", v, sizeof(v)) == 0 && strcmp(v, want) == 0 &&
	    pw->pw_gid != 0, what);
	snprintf(what, sizeof(what), "%s: no supplementary groups", name);
	ASSERT(field(pid, "Groups", v, sizeof(v)) == 0 && v[0] == '\0', what);
	snprintf(what, sizeof(what), "%s: CapEff is exactly %016llx", name, capmask);
	ASSERT(field(pid, "CapEff", v, sizeof(v)) == 0 &&
	    strtoull(v, NULL, 16) == capmask, what);
	snprintf(what, sizeof(what), "%s: CapPrm is exactly %016llx", name, capmask);
	ASSERT(field(pid, "CapPrm", v, sizeof(v)) == 0 &&
	    strtoull(v, NULL, 16) == capmask, what);
	snprintf(what, sizeof(what), "%s: CapInh and CapAmb empty", name);
	{
		char amb[64];

		ASSERT(field(pid, "CapInh", v, sizeof(v)) == 0 &&
		    strtoull(v, NULL, 16) == 0 && field(pid, "CapAmb", amb,
		    sizeof(amb)) == 0 && strtoull(amb, NULL, 16) == 0, what);
	}
	snprintf(what, sizeof(what), "%s: bounding set within %016llx", name, capmask);
	ASSERT(field(pid, "CapBnd", v, sizeof(v)) == 0 &&
	    (strtoull(v, NULL, 16) & ~capmask) == 0, what);
	snprintf(what, sizeof(what), "%s: Seccomp: 2 (filter)", name);
	ASSERT(field(pid, "Seccomp", v, sizeof(v)) == 0 && strcmp(v, "2") == 0, what);
	snprintf(what, sizeof(what), "%s: NoNewPrivs: 1", name);
	ASSERT(field(pid, "NoNewPrivs", v, sizeof(v)) == 0 && strcmp(v, "1") == 0, what);
	snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
	n = readlink(path, link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = '\0';
	snprintf(what, sizeof(what), "%s: root is %s", name, root);
	ASSERT(strcmp(link, root) == 0, what);
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if ((d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			if (atoi(de->d_name) > 3 && sanitizer_fd(pid, de->d_name))
				continue;
			nfd++;
			if (atoi(de->d_name) > 3)
				badfd++;
		}
		closedir(d);
	}
	snprintf(what, sizeof(what), "%s: holds only fds 0-3 (%d open%s)", name,
	    nfd, sanitizer_fd(0, NULL) ? " besides its sanitizer report file" : "");
	ASSERT(badfd == 0 && nfd <= 4, what);

	helper_stop(&h);
	snprintf(what, sizeof(what), "%s: gone after STOP", name);
	ASSERT(kill(pid, 0) == -1 && errno == ESRCH, what);
}

/* trusted_exec_open: the rules, one case each (docs/PRIVSEP.md). */
static void
check_trusted(const char *top)
{
	char st[2048], path[4096];
	struct pd_err e;
	int fd;

	snprintf(st, sizeof(st), "%s/sticky", top);
	mkdir(st, 0755);
	chmod(st, 01777);
	snprintf(path, sizeof(path), "%s/root-bin", st);
	close(open(path, O_WRONLY | O_CREAT, 0755));
	fd = trusted_exec_open(path, "helper", &e);
	ASSERT(fd >= 0, "a root-owned binary in a sticky world-writable dir passes");
	if (fd >= 0)
		close(fd);
	snprintf(path, sizeof(path), "%s/user-bin", st);
	close(open(path, O_WRONLY | O_CREAT, 0755));
	ASSERT(chown(path, 65534, 65534) == 0, "chown to nobody");
	ASSERT(trusted_exec_open(path, "helper", &e) == -1 &&
	    strstr(e.msg, "owned by uid 65534, not root") != NULL,
	    "a user's binary in a sticky dir is refused");
	snprintf(path, sizeof(path), "%s/noexec", st);
	close(open(path, O_WRONLY | O_CREAT, 0644));
	ASSERT(trusted_exec_open(path, "helper", &e) == -1 &&
	    strstr(e.msg, "not an executable regular file") != NULL,
	    "a non-executable file is refused");
	ASSERT(trusted_exec_open(st, "helper", &e) == -1 &&
	    strstr(e.msg, "not an executable regular file") != NULL,
	    "a directory is refused as the binary");
	snprintf(path, sizeof(path), "%s/../sticky/root-bin", st);
	ASSERT(trusted_exec_open(path, "helper", &e) == -1 &&
	    strstr(e.msg, "\"..\"") != NULL, "a path with .. is refused");
	ASSERT(trusted_exec_open("build/plugind-fetcher", "helper", &e) == -1 &&
	    strstr(e.msg, "is not absolute") != NULL, "a relative path is refused");
	snprintf(path, sizeof(path), "%s/user-dir", top);
	mkdir(path, 0755);
	ASSERT(chown(path, 65534, 65534) == 0, "chown a dir to nobody");
	snprintf(path, sizeof(path), "%s/user-dir/x", top);
	ASSERT(trusted_exec_open(path, "OCI runtime", &e) == -1 &&
	    strstr(e.msg, "OCI runtime directory") != NULL &&
	    strstr(e.msg, "user-dir: owned by uid 65534, not root") != NULL,
	    "a directory owned by a user is refused, named");
}

int
main(void)
{
	char tmpl[] = "/tmp/pd-helpers.XXXXXX", froot[4096], sroot[4096];
	struct pd_err e;
	int dfd;

	conf_defaults(&conf);
	log_init("test_helpers", PD_LOG_WARN);
	if (getenv("PD_BUILD") != NULL) {
		free(conf.libexec_dir);
		conf.libexec_dir = xstrdup(getenv("PD_BUILD"));
	}
	if (mkdtemp(tmpl) == NULL)
		return 1;
	chmod(tmpl, 0755);
	snprintf(froot, sizeof(froot), "%s/fetch-root", tmpl);
	snprintf(sroot, sizeof(sroot), "%s/stage/rootfs", tmpl);
	pd_mkdirs(froot, 0755, &e);
	pd_mkdirs(sroot, 0755, &e);

	check_helper("fetcher", PD_ROLE_FETCHER, froot,
	    pd_role(PD_ROLE_FETCHER)->user, 0);
	check_helper("extractor", PD_ROLE_EXTRACTOR, sroot,
	    pd_role(PD_ROLE_EXTRACTOR)->user,
	    pd_role_caps_mask(PD_ROLE_EXTRACTOR));
	ASSERT(pd_role_caps_mask(PD_ROLE_EXTRACTOR) == ((1ULL << 0) | (1ULL << 1) |
	    (1ULL << 3) | (1ULL << 4)), "extractor set is CHOWN DAC_OVERRIDE FOWNER FSETID");

	check_trusted(tmpl);

	dfd = open("/tmp", O_DIRECTORY | O_RDONLY);
	pd_rm_rf_at(dfd, strrchr(tmpl, '/') + 1, &e);
	close(dfd);
	TAP_DONE();
}

/*
 * Privilege drop for plugind-fetcher and plugind-extractor.
 *
 * The helper is exec'd by the broker as root and calls pd_privdrop() once,
 * single-threaded, after it has received SETUP and before it touches any
 * byte from the network or from a tarball.  The order is fixed:
 *
 *	1. chroot into the broker-made directory, chdir("/")
 *	2. libcap-ng: keep only the role's capabilities, drop supplementary
 *	   groups, setresgid, setresuid, clear the bounding set
 *	3. clear the ambient set
 *	4. prove it: ids, groups, no way back to uid/gid 0, exact capability
 *	   sets, empty bounding and ambient sets
 *	5. resource limits (SIGXFSZ ignored when RLIMIT_FSIZE is set)
 *	6. not dumpable
 *
 * The seccomp filter (sandbox-load.c) comes after this, so every call
 * made here is a call the sandbox never has to allow.
 *
 * The capabilities each role keeps, and why, are in the roles table,
 * role.c (data only, so the broker can print them without linking
 * libcap-ng).
 *
 * On failure the process is left anywhere between root and the target, so
 * pd_privdrop()'s caller must exit; it never continues unprivileged-ish.
 */

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <linux/capability.h>

#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "privdrop.h"
#include "role.h"
#include "util.h"

/*
 * Capabilities are per thread and libcap-ng applies them to the calling
 * thread only, so a second thread would keep root's sets.  Refuse.  Without
 * /proc (already in a chroot) there is nothing to read and we trust the
 * caller, who is documented to be single-threaded.
 */
static int
check_single_thread(struct pd_err *e)
{
	char buf[4096], *p;

	if (pd_read_small("/proc/self/status", buf, sizeof(buf)) == -1)
		return 0;
	if ((p = strstr(buf, "\nThreads:")) == NULL)
		return 0;
	if (strtol(p + 9, NULL, 10) != 1)
		return pd_errf(e, PD_E_INTERNAL,
		    "privdrop: process has more than one thread");
	return 0;
}

static int
do_chroot(int rootfd, struct pd_err *e)
{
	struct stat want, got;

	if (fstat(rootfd, &want) == -1)
		return pd_errno(e, PD_E_INTERNAL, "privdrop: fstat rootfd");
	if (!S_ISDIR(want.st_mode))
		return pd_errf(e, PD_E_INVAL, "privdrop: rootfd is not a directory");
	if (fchdir(rootfd) == -1)
		return pd_errno(e, PD_E_INTERNAL, "privdrop: fchdir rootfd");
	/*
	 * Privileged: chroot(2) needs CAP_SYS_CHROOT.  Safe because it only
	 * narrows what this process can name: "." is the broker-made
	 * directory we just entered through an fd (no path to race), and the
	 * chdir("/") right after leaves no working directory outside the new
	 * root.  CAP_SYS_CHROOT itself is dropped from every set below, so
	 * the classic chroot-inside-chroot escape is gone; the caller keeps no
	 * other directory fd from outside the root.
	 */
	if (chroot(".") == -1)
		return pd_errno(e, PD_E_INTERNAL, "privdrop: chroot");
	if (chdir("/") == -1)
		return pd_errno(e, PD_E_INTERNAL, "privdrop: chdir /");
	if (stat("/", &got) == -1)
		return pd_errno(e, PD_E_INTERNAL, "privdrop: stat /");
	if (got.st_dev != want.st_dev || got.st_ino != want.st_ino)
		return pd_errf(e, PD_E_INTERNAL,
		    "privdrop: / is not the requested root after chroot");
	return 0;
}

static int
drop_ids_and_caps(const struct pd_dropspec *spec,
    const struct pd_roleinfo *rc, struct pd_err *e)
{
	int i, r;

	/*
	 * Build the final state in libcap-ng's buffer: nothing in the
	 * effective, permitted, inheritable, bounding and ambient sets but
	 * the role's capabilities in effective and permitted.  Nothing is
	 * applied yet.
	 */
	capng_clear(CAPNG_SELECT_ALL);
	for (i = 0; rc->caps[i] != -1; i++)
		if (capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED,
		    (unsigned int)rc->caps[i]) == -1)
			return pd_errf(e, PD_E_INTERNAL,
			    "privdrop: capng_update %d", rc->caps[i]);
	/*
	 * Privileged: capng_change_id() sets PR_SET_KEEPCAPS, applies the
	 * role's caps plus CAP_SETUID/SETGID/SETPCAP, drops the whole
	 * bounding set (PR_CAPBSET_DROP), setgroups(0, NULL), setresgid,
	 * setresuid, clears KEEPCAPS and finally applies the role's caps
	 * without the three temporaries.  Safe because every step only
	 * lowers what we hold, the ids come from the broker (never 0,
	 * checked by the caller below), and the helper is still
	 * single-threaded and has not read untrusted input.  The result is
	 * checked independently by verify() through capget/prctl.
	 */
	r = capng_change_id((int)spec->uid, (int)spec->gid,
	    CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING | CAPNG_CLEAR_AMBIENT);
	if (r != 0)
		return pd_errf(e, PD_E_INTERNAL,
		    "privdrop: capng_change_id(%u, %u) failed (%d)",
		    (unsigned int)spec->uid, (unsigned int)spec->gid, r);
	/* Unprivileged, only lowers: the ambient set must stay empty. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1)
		return pd_errno(e, PD_E_INTERNAL, "privdrop: clear ambient");
	return 0;
}

/*
 * Each call below must fail: they would only succeed if the drop did not
 * happen.  If one does succeed we are root again, and the caller exits.
 */
static int
verify_no_way_back(struct pd_err *e)
{
	if (setuid(0) != -1)
		return pd_errf(e, PD_E_INTERNAL, "privdrop: setuid(0) succeeded");
	if (setgid(0) != -1)
		return pd_errf(e, PD_E_INTERNAL, "privdrop: setgid(0) succeeded");
	if (setresuid(0, 0, 0) != -1)
		return pd_errf(e, PD_E_INTERNAL,
		    "privdrop: setresuid(0, 0, 0) succeeded");
	if (setresgid(0, 0, 0) != -1)
		return pd_errf(e, PD_E_INTERNAL,
		    "privdrop: setresgid(0, 0, 0) succeeded");
	if (setgroups(0, NULL) != -1)
		return pd_errf(e, PD_E_INTERNAL,
		    "privdrop: setgroups succeeded");
	return 0;
}

static int
verify(const struct pd_dropspec *spec, uint64_t mask, struct pd_err *e)
{
	struct __user_cap_header_struct hdr;
	struct __user_cap_data_struct d[2];
	uint64_t eff, prm, inh;
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	int c, r;

	if (getresuid(&ru, &eu, &su) == -1 || getresgid(&rg, &eg, &sg) == -1)
		return pd_errno(e, PD_E_INTERNAL, "privdrop: getresuid");
	if (ru != spec->uid || eu != spec->uid || su != spec->uid)
		return pd_errf(e, PD_E_INTERNAL,
		    "privdrop: uids are %u/%u/%u, want %u", (unsigned int)ru,
		    (unsigned int)eu, (unsigned int)su,
		    (unsigned int)spec->uid);
	if (rg != spec->gid || eg != spec->gid || sg != spec->gid)
		return pd_errf(e, PD_E_INTERNAL,
		    "privdrop: gids are %u/%u/%u, want %u", (unsigned int)rg,
		    (unsigned int)eg, (unsigned int)sg,
		    (unsigned int)spec->gid);
	if ((r = getgroups(0, NULL)) != 0)
		return pd_errf(e, PD_E_INTERNAL,
		    "privdrop: %d supplementary groups left", r);
	if (verify_no_way_back(e) == -1)
		return -1;

	memset(&hdr, 0, sizeof(hdr));
	memset(d, 0, sizeof(d));
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	if (syscall(SYS_capget, &hdr, d) == -1)
		return pd_errno(e, PD_E_INTERNAL, "privdrop: capget");
	eff = d[0].effective | (uint64_t)d[1].effective << 32;
	prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
	inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
	if (eff != mask || prm != mask || inh != 0)
		return pd_errf(e, PD_E_INTERNAL, "privdrop: caps eff %#llx "
		    "prm %#llx inh %#llx, want %#llx/%#llx/0",
		    (unsigned long long)eff, (unsigned long long)prm,
		    (unsigned long long)inh, (unsigned long long)mask,
		    (unsigned long long)mask);
	/* Walk every capability the kernel knows (EINVAL past the last). */
	for (c = 0; c < 64; c++) {
		if ((r = prctl(PR_CAPBSET_READ, c, 0, 0, 0)) == -1)
			break;
		if (r != 0)
			return pd_errf(e, PD_E_INTERNAL,
			    "privdrop: capability %d still in the bounding set", c);
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0) > 0)
			return pd_errf(e, PD_E_INTERNAL,
			    "privdrop: capability %d still ambient", c);
	}
	if (c == 0)
		return pd_errno(e, PD_E_INTERNAL, "privdrop: PR_CAPBSET_READ");
	if (prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0) != 0)
		return pd_errf(e, PD_E_INTERNAL, "privdrop: KEEPCAPS still set");
	return 0;
}

/*
 * Lower soft and hard limit to v.  Never raises: a hard limit already
 * below v stays (raising it needs CAP_SYS_RESOURCE, which root may lack
 * anyway, e.g. in a VM or container).  Lowering is allowed to any process.
 */
static int
limit(int res, const char *name, uint64_t v, struct pd_err *e)
{
	struct rlimit rl;

	if (getrlimit(res, &rl) == -1)
		return pd_errno(e, PD_E_INTERNAL, "privdrop: getrlimit %s", name);
	if (rl.rlim_max != RLIM_INFINITY && v > rl.rlim_max)
		v = rl.rlim_max;
	rl.rlim_cur = rl.rlim_max = (rlim_t)v;
	if (setrlimit(res, &rl) == -1)
		return pd_errno(e, PD_E_INTERNAL, "privdrop: setrlimit %s", name);
	return 0;
}

static int
set_limits(const struct pd_dropspec *spec, const struct pd_roleinfo *rc,
    struct pd_err *e)
{
	if (spec->rlim_nofile != 0 &&
	    limit(RLIMIT_NOFILE, "NOFILE", spec->rlim_nofile, e) == -1)
		return -1;
	if (spec->rlim_fsize != 0) {
		if (limit(RLIMIT_FSIZE, "FSIZE", spec->rlim_fsize, e) == -1)
			return -1;
		/*
		 * A write past the limit then fails with EFBIG, which the
		 * helper reports as PD_E_LIMIT, instead of SIGXFSZ killing it.
		 */
		if (signal(SIGXFSZ, SIG_IGN) == SIG_ERR)
			return pd_errno(e, PD_E_INTERNAL, "privdrop: SIGXFSZ");
	}
	if (spec->rlim_as != 0 &&
	    limit(RLIMIT_AS, "AS", spec->rlim_as, e) == -1)
		return -1;
	/* No core files: they would hold registry tokens and tar data. */
	if (limit(RLIMIT_CORE, "CORE", 0, e) == -1)
		return -1;
	/*
	 * No new processes or threads for the uid.  The kernel does not apply
	 * RLIMIT_NPROC to CAP_SYS_ADMIN/CAP_SYS_RESOURCE holders; we hold
	 * neither any more.
	 */
	if (rc->nproc0 && limit(RLIMIT_NPROC, "NPROC", 0, e) == -1)
		return -1;
	return 0;
}

int
pd_privdrop(const struct pd_dropspec *spec, struct pd_err *e)
{
	const struct pd_roleinfo *rc;

	if ((rc = pd_role(spec->role)) == NULL || spec->role == PD_ROLE_BROKER)
		return pd_errf(e, PD_E_INVAL, "privdrop: no drop defined for "
		    "role %s", pd_role_name(spec->role));
	if (spec->uid == 0 || spec->gid == 0)
		return pd_errf(e, PD_E_INVAL, "privdrop: target uid/gid is 0");
	if (spec->uid == (uid_t)-1 || spec->gid == (gid_t)-1)
		return pd_errf(e, PD_E_INVAL, "privdrop: target uid/gid is -1");
	if (geteuid() != 0)
		return pd_errf(e, PD_E_INVAL, "privdrop: not running as root");
	if (check_single_thread(e) == -1)
		return -1;

	if (spec->rootfd >= 0 && do_chroot(spec->rootfd, e) == -1)
		return -1;
	if (drop_ids_and_caps(spec, rc, e) == -1)
		return -1;
	if (verify(spec, pd_role_caps_mask(spec->role), e) == -1)
		return -1;
	if (set_limits(spec, rc, e) == -1)
		return -1;
	/*
	 * setresuid() away from root already cleared it; say so explicitly
	 * so no later change of ids or of /proc/sys/fs/suid_dumpable can
	 * open /proc/PID/mem or ptrace to a process of the same uid.
	 */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		return pd_errno(e, PD_E_INTERNAL, "privdrop: PR_SET_DUMPABLE");
	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
		return pd_errf(e, PD_E_INTERNAL, "privdrop: still dumpable");
	return 0;
}

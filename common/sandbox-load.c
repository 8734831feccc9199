/*
 * The seccomp loader: turns the role's policy (the tables in
 * sandbox-seccomp.c) into a filter with libseccomp and loads it.  Kept
 * apart from the tables so that only the helpers link libseccomp; the
 * broker links the tables alone to count and print them.
 */

#include <sys/prctl.h>

#include <errno.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "role.h"
#include "sandbox.h"
#include "sandbox_impl.h"

struct pd_loader {
	scmp_filter_ctx	 ctx;
	struct pd_err	*e;
};

static int
load_cb(const struct pd_group *g, const struct pd_rule *r, void *arg)
{
	struct pd_loader *l = arg;
	struct scmp_arg_cmp a[PD_MAXARGS];
	uint32_t action;
	unsigned int i;
	int rc;

	for (i = 0; i < r->nargs; i++) {
		a[i] = r->arg[i];
		if (a[i].op == SCMP_CMP_EQ && a[i].datum_a == PD_SELF)
			a[i].datum_a = (scmp_datum_t)getpid();
	}
	action = r->err == 0 ? SCMP_ACT_ALLOW : SCMP_ACT_ERRNO(r->err);
	rc = seccomp_rule_add_exact_array(l->ctx, action, r->nr, r->nargs, a);
	if (rc != 0)
		return pd_errf(l->e, PD_E_INTERNAL, "sandbox: rule %s/%s: %s",
		    g->name, r->name, strerror(-rc));
	return 0;
}

#ifdef PD_SANDBOX_DEBUG
#include <ucontext.h>

static size_t
fmt_num(char *p, unsigned long v, int base)
{
	char tmp[24];
	size_t n = 0, i;

	do {
		tmp[n++] = "0123456789abcdef"[v % (unsigned long)base];
		v /= (unsigned long)base;
	} while (v != 0);
	for (i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

/* Async-signal-safe: formats by hand, write(2) is in every policy. */
static void
sigsys_report(int sig, siginfo_t *si, void *vctx)
{
	static const char a[] = "plugind sandbox (PD_SANDBOX_DEBUG): syscall ";
	static const char b[] = " arch 0x";
	static const char c[] = " not allowed; returning ENOSYS\n";
	ucontext_t *uc = vctx;
	char buf[128];
	size_t n = 0;
	int saved = errno;

	memcpy(buf, a, sizeof(a) - 1);
	n = sizeof(a) - 1;
	n += fmt_num(buf + n, (unsigned long)si->si_syscall, 10);
	memcpy(buf + n, b, sizeof(b) - 1);
	n += sizeof(b) - 1;
	n += fmt_num(buf + n, (unsigned long)si->si_arch, 16);
	memcpy(buf + n, c, sizeof(c) - 1);
	n += sizeof(c) - 1;
	(void)!write(STDERR_FILENO, buf, n);
	uc->uc_mcontext.gregs[REG_RAX] = -ENOSYS;
	errno = saved;
}
#endif

#ifdef PD_SANITIZE
static volatile int pd_sandboxed;

/*
 * LeakSanitizer's hook: its exit-time check stops the world with ptrace
 * and reads /proc, which no sandboxed process may do (the filter would
 * kill it at exit).  Sandboxed processes skip it; everything else,
 * broker, CLI and tests, keeps it.
 */
int	__lsan_is_turned_off(void);

int
__lsan_is_turned_off(void)
{
	return pd_sandboxed;
}
#endif

int
pd_sandbox_apply(int role, struct pd_err *e)
{
	struct pd_loader l;
	uint32_t deflt;
	int rc;

	if (pd_sandbox_count(role) == -1)
		return pd_errf(e, PD_E_INTERNAL, "sandbox: no policy for role %s",
		    pd_role_name(role));
	/*
	 * No execve() can ever gain privileges again (set-id bits, file
	 * capabilities), which also lets an unprivileged process load the
	 * filter.  libseccomp would set it too; do it here so it is on even
	 * if a later step fails and the caller forgets to exit.
	 */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		return pd_errno(e, PD_E_INTERNAL, "sandbox: PR_SET_NO_NEW_PRIVS");

#ifdef PD_SANDBOX_DEBUG
	{
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = sigsys_report;
		sa.sa_flags = SA_SIGINFO;
		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGSYS, &sa, NULL) == -1)
			return pd_errno(e, PD_E_INTERNAL, "sandbox: sigaction");
		deflt = SCMP_ACT_TRAP;
	}
#else
	deflt = SCMP_ACT_KILL_PROCESS;
#endif
	if ((l.ctx = seccomp_init(deflt)) == NULL)
		return pd_errf(e, PD_E_INTERNAL, "sandbox: seccomp_init failed");
	l.e = e;
	if (seccomp_arch_native() != SCMP_ARCH_X86_64) {
		pd_errf(e, PD_E_INTERNAL, "sandbox: native arch is not x86-64");
		goto fail;
	}
	/* Foreign arch (i386, x32): kill, in debug builds too. */
	if ((rc = seccomp_attr_set(l.ctx, SCMP_FLTATR_ACT_BADARCH,
	    SCMP_ACT_KILL_PROCESS)) != 0 ||
	    (rc = seccomp_attr_set(l.ctx, SCMP_FLTATR_CTL_NNP, 1)) != 0 ||
	    (rc = seccomp_attr_set(l.ctx, SCMP_FLTATR_CTL_TSYNC, 1)) != 0 ||
	    (rc = seccomp_attr_set(l.ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2)) != 0) {
		pd_errf(e, PD_E_INTERNAL, "sandbox: seccomp_attr_set: %s",
		    strerror(-rc));
		goto fail;
	}
	if (pd_sandbox_walk(role, load_cb, &l) == -1)
		goto fail;
#ifdef PD_SANITIZE
	pd_sandboxed = 1;	/* before the filter: a kill at exit is worse */
#endif
	if ((rc = seccomp_load(l.ctx)) != 0) {
		pd_errf(e, PD_E_INTERNAL, "sandbox: seccomp_load: %s",
		    strerror(-rc));
		goto fail;
	}
	seccomp_release(l.ctx);
	return 0;
fail:
	seccomp_release(l.ctx);
	return -1;
}

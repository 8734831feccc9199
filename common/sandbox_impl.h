/*
 * What the seccomp policy tables (sandbox-seccomp.c, data only, linked
 * into the broker for `pluginctl info`) share with the loader
 * (sandbox-load.c, the only caller of libseccomp, linked into helpers
 * only).  Not for use outside those two files.
 */
#ifndef PD_SANDBOX_IMPL_H
#define PD_SANDBOX_IMPL_H

#include <stddef.h>

#include <seccomp.h>	/* struct scmp_arg_cmp, SCMP_SYS(): no calls */

#define PD_MAXARGS	3
/* A datum that load_cb() replaces by our pid. */
#define PD_SELF		0xfffffffffffffffdULL

struct pd_rule {
	int			 nr;
	const char		*name;
	int			 err;	/* 0: allow; else soft-deny errno */
	unsigned int		 nargs;	/* all comparisons must hold */
	struct scmp_arg_cmp	 arg[PD_MAXARGS];
};

struct pd_group {
	const char		*name;
	const struct pd_rule	*rules;
	size_t			 nrules;
};

typedef int	pd_sandbox_cb(const struct pd_group *, const struct pd_rule *,
		    void *);

/*
 * Calls cb for every rule of the role, in table order; stops at the first
 * cb returning -1.  Returns 0, or -1 (cb failed, or the role has no
 * policy: check pd_sandbox_count() first).
 */
int	pd_sandbox_walk(int, pd_sandbox_cb *, void *);

#endif

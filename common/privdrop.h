/*
 * Privilege drop for the helpers (STYLE "Order of steps in each helper",
 * steps 2 to 5).  A helper is exec'd by the broker as root; after SETUP it
 * calls pd_privdrop() once, while still single-threaded, and then
 * pd_sandbox_apply() (sandbox.h).  See docs/SANDBOX.md.
 */
#ifndef PD_PRIVDROP_H
#define PD_PRIVDROP_H

#include <stdint.h>
#include <sys/types.h>

#include "error.h"

struct pd_dropspec {
	int	 role;		/* enum pd_role */
	uid_t	 uid;		/* looked up by the broker; never 0 */
	gid_t	 gid;
	int	 rootfd;	/* directory to chroot into: fchdir(rootfd);
				   chroot("."); chdir("/") ; -1 = no chroot */
	uint64_t rlim_nofile;	/* 0 = leave as is */
	uint64_t rlim_fsize;	/* 0 = leave as is */
	uint64_t rlim_as;	/* 0 = leave as is */
};

/*
 * Drop to spec->uid/gid with only the role's capabilities, then prove it.
 * Returns 0, or -1 with e filled in.  On failure the process is in an
 * unknown state between root and the target: the caller must _exit().
 */
int		 pd_privdrop(const struct pd_dropspec *, struct pd_err *);

#endif

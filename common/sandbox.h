/*
 * seccomp sandbox for the helpers (STYLE "Where the seccomp policy lives").
 * The whole policy is the tables in sandbox-seccomp.c; docs/SANDBOX.md
 * explains it and holds the checklist for changing it.
 */
#ifndef PD_SANDBOX_H
#define PD_SANDBOX_H

#include <stdio.h>

#include "error.h"

/*
 * The helper's channel to the broker.  sendmsg/recvmsg are allowed on this
 * fd only, so it must match the fd the spawner dup2()s the channel onto.
 */
#define PD_SANDBOX_CHANNEL_FD	3

/*
 * Set PR_SET_NO_NEW_PRIVS and load the role's filter (kill by default).
 * Returns 0, or -1 with e filled in; a role without a policy is an error,
 * never an unsandboxed success.  Call after pd_privdrop(), before reading
 * anything untrusted.
 */
int	pd_sandbox_apply(int, struct pd_err *);

/* Number of distinct syscalls the role's filter allows; -1: no policy. */
int	pd_sandbox_count(int);

/* Number of distinct syscalls with a soft-deny (errno) rule; -1: no policy. */
int	pd_sandbox_softdeny_count(int);

/*
 * How many of pd_sandbox_count() (softdeny 0) or of
 * pd_sandbox_softdeny_count() (softdeny 1) only a sanitizer build
 * (-DPD_SANITIZE) has: 0 in a normal build; -1: no policy.
 */
int	pd_sandbox_sanitizer_count(int, int);

/* Print the role's rules, one per line, for pluginctl info and the docs. */
int	pd_sandbox_dump(int, FILE *);

#endif

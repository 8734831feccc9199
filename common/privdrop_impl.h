/*
 * What the capability table (privdrop-caps.c, data only) shares with the
 * privilege drop (privdrop.c, libcap-ng).  Not for use elsewhere.
 */
#ifndef PD_PRIVDROP_IMPL_H
#define PD_PRIVDROP_IMPL_H

#define PD_MAXCAPS	8

struct pd_rolecaps {
	int		 role;
	const char	*str;		/* for pluginctl info and docs */
	int		 nproc0;	/* RLIMIT_NPROC 0: never forks nor threads */
	int		 caps[PD_MAXCAPS];	/* terminated by -1 */
};

/* The role's entry; NULL for a role without a privilege drop (broker). */
const struct pd_rolecaps	*pd_role_caps_lookup(int);

#endif

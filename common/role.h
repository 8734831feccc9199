/*
 * The process roles of plugind and the one table of what each role is:
 * its binary, its user, the capabilities it keeps, its seccomp groups,
 * its rlimits and the messages it may send the broker.  Spawning
 * (broker/proc/helper.c), the privilege drop (privdrop.c), the seccomp
 * loader (sandbox-load.c, sandbox-seccomp.c), the broker's outside check
 * and `pluginctl info` all read this table (common/role.c); nothing else
 * holds a per-role fact.  docs/ARCHITECTURE.md draws it.
 */
#ifndef PD_ROLE_H
#define PD_ROLE_H

#include <stdint.h>

enum pd_role {
	PD_ROLE_BROKER = 0,	/* plugind, root */
	PD_ROLE_FETCHER,	/* plugind-fetcher: registry client, no caps */
	PD_ROLE_EXTRACTOR,	/* plugind-extractor: untar into staging rootfs */
	PD_ROLE_API,		/* plugind-api: Docker Engine API HTTP parser */
	PD_ROLE_LOGGER,		/* plugind-logger: a plugin's output -> its log */
	PD_ROLE_GATEWAY,	/* plugind-gateway: engines -> a plugin's socket */
	PD_ROLE_MAX
};

/*
 * Seccomp syscall groups (the tables of common/sandbox-seccomp.c, one per
 * promise, as pledge(2)'s): a role's filter is the union of its groups.
 */
enum pd_sysgroup {
	PD_SG_STDIO,		/* read/write/poll on fds it has, memory, exit */
	PD_SG_IPC,		/* the broker channel: sendmsg/recvmsg on fd 3 */
	PD_SG_INET,		/* TCP sockets to the registry */
	PD_SG_DNS,		/* the resolver (UDP, netlink for getaddrinfo) */
	PD_SG_THREAD,		/* threads only (libcurl's resolver) */
	PD_SG_WFILE,		/* create files, dirs, links, owners, modes */
	PD_SG_PIPE,		/* the API process's connection and pipe */
	PD_SG_LOG,		/* the log writer: open, rename in its chroot */
	PD_SG_GATEWAY,		/* accept on fd 4, connect to a unix socket */
	PD_SG_SANITIZER,	/* what ASan/UBSan need (SANITIZE=1 builds) */
	PD_SG_MAX
};
#define PD_SG(g)	(1u << PD_SG_##g)

#define PD_ROLE_MAXCAPS		8
#define PD_ROLE_MAXREPLIES	8
#define PD_ROLE_MAXSPARE	2

struct pd_roleinfo {
	const char	*name;		/* logs, info; binary plugind-<name> */
	const char	*user_key;	/* config key of its user */
	const char	*user;		/* that user's default */
	const char	*caps_str;	/* capabilities kept, for info and docs */
	int		 caps[PD_ROLE_MAXCAPS];	/* the same, -1-terminated */
	int		 nproc0;	/* RLIMIT_NPROC 0: never forks nor threads */
	uint32_t	 nofile;	/* RLIMIT_NOFILE */
	int		 newnet;	/* started in an empty network namespace */
	unsigned int	 sysgroups;	/* PD_SG() bits */
	/*
	 * Warm spares the broker keeps of this role: started, sandboxed and
	 * checked before a job asks (broker/proc/helper.c); each still does
	 * one job.  0: spawned when needed.  At most PD_ROLE_MAXSPARE.
	 */
	int		 spare;
	/*
	 * Message types the broker takes from it, besides LOG and ERROR,
	 * which any helper may send; 0-terminated.  A call narrows this to
	 * what it waits for (helper_recv); anything else kills the helper.
	 */
	uint32_t	 replies[PD_ROLE_MAXREPLIES];
};

/* The role's entry; the broker's has no user, caps or filter. */
const struct pd_roleinfo *pd_role(int);
const char	*pd_role_name(int);
int		 pd_role_replies(int, uint32_t);
/* The role's capabilities as text ("none", "chown,dac_override,..."). */
const char	*pd_role_caps_str(int);
/* The role's capabilities as a CapEff-style bit mask; 0 for none. */
uint64_t	 pd_role_caps_mask(int);

#endif

/*
 * The roles table (role.h): every per-role fact, data only, so the broker
 * links it without libseccomp or libcap-ng.
 *
 * Capabilities (docs/SANDBOX.md has the same in prose):
 *
 * fetcher, api, logger, gateway: none.  The fetcher speaks HTTP(S) on sockets it
 *	creates and writes into an fd the broker passed; the API process
 *	parses one connection; the log writer reads a pipe and writes log
 *	and log.1 in its chroot, a directory it owns; the gateway accepts
 *	on a socket the broker bound and connects to the plugin's socket,
 *	which the broker gave its user.  Nothing needs privilege.
 *
 * extractor: CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID, because
 *	it recreates a tree with the tarball's numeric owners and modes inside
 *	a root-owned staging directory it does not own:
 *	- CAP_CHOWN: fchownat() to the entry's uid/gid.
 *	- CAP_DAC_OVERRIDE: create entries in directories owned by someone
 *	  else or without write permission (a 0555 "proc" or "sys" directory,
 *	  a directory already chowned to the entry's owner, the staging root).
 *	- CAP_FOWNER: fchmod/utimensat/fsetxattr on a file after it has been
 *	  chowned away from us (the kernel clears set-id bits on chown, so the
 *	  mode must come after the owner), and unlink/rename in sticky
 *	  directories such as a 1777 tmp.
 *	- CAP_FSETID: keep S_ISGID when the file's group is not ours (chmod
 *	  silently clears it otherwise) and keep set-id bits across writes.
 *	Deliberately not kept: CAP_DAC_READ_SEARCH (open_by_handle_at escapes
 *	a chroot), CAP_MKNOD (device nodes are refused; runc makes /dev),
 *	CAP_SETFCAP (security.capability xattrs are refused), CAP_SYS_ADMIN
 *	(trusted.* xattrs), CAP_SYS_CHROOT, CAP_SETUID/SETGID, CAP_SETPCAP.
 *	None of the four kept lets the process change its ids, gain
 *	capabilities, leave the chroot or reach files outside it.
 *
 * RLIMIT_NPROC 0 for every role that neither forks nor threads; the
 * fetcher keeps it: libcurl on Debian 12 resolves names in a thread, and
 * RLIMIT_NPROC counts threads.  RLIMIT_NOFILE 64, but 1024 for the
 * extractor, which holds one fd per directory level while removing.
 *
 * Spares: one fetcher and one API process (one per job or connection),
 * two extractors, since an install takes two (its parser and its layer
 * extractor).  The log writer has none: its root is the plugin's own.
 *
 * The gateway has none either: its root is a plugin's socket directory.
 *
 * newnet: the gateway starts in a network namespace of its own (the
 * broker unshares it before exec), so the AF_UNIX sockets it may create
 * reach no abstract socket of the host: seccomp cannot see a connect()
 * address, but abstract names belong to a network namespace.  Pathname
 * sockets are reached through its chroot only.
 *
 * Every role's filter has the sanitizer group: empty in a normal build,
 * what the ASan/UBSan runtimes need in a SANITIZE=1 build.
 */
#include <linux/capability.h>

#include <stddef.h>

#include "proto.h"
#include "role.h"

#define NOCAPS	{ -1 }

static const struct pd_roleinfo roles[PD_ROLE_MAX] = {
	[PD_ROLE_BROKER] = {
		.name = "broker", .caps_str = "all (root)", .caps = NOCAPS,
	},
	[PD_ROLE_FETCHER] = {
		.name = "fetcher", .user_key = "fetcher-user", .user = "_pd_fetch",
		.caps_str = "none", .caps = NOCAPS, .nproc0 = 0, .nofile = 64,
		.sysgroups = PD_SG(STDIO) | PD_SG(IPC) | PD_SG(INET) |
		    PD_SG(DNS) | PD_SG(THREAD) | PD_SG(SANITIZER),
		.spare = 1,
		.replies = { PD_MSG_SETUP_DONE, PD_MSG_PROGRESS,
		    PD_MSG_FETCH_RESULT, PD_MSG_PUSH_RESULT },
	},
	[PD_ROLE_EXTRACTOR] = {
		.name = "extractor", .user_key = "extractor-user",
		.user = "_pd_extract",
		.caps_str = "chown,dac_override,fowner,fsetid",
		.caps = { CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID,
		    -1 },
		.nproc0 = 1, .nofile = 1024,
		.sysgroups = PD_SG(STDIO) | PD_SG(IPC) | PD_SG(WFILE) |
		    PD_SG(SANITIZER),
		.spare = 2,
		.replies = { PD_MSG_SETUP_DONE, PD_MSG_UNTAR_DONE,
		    PD_MSG_BUNDLE_DONE, PD_MSG_PARSE_DONE },
	},
	[PD_ROLE_API] = {
		.name = "api", .user_key = "api-user", .user = "_pd_api",
		.caps_str = "none", .caps = NOCAPS, .nproc0 = 1, .nofile = 64,
		.sysgroups = PD_SG(STDIO) | PD_SG(IPC) | PD_SG(PIPE) |
		    PD_SG(SANITIZER),
		.spare = 1,
		.replies = { PD_MSG_SETUP_DONE },
	},
	[PD_ROLE_LOGGER] = {
		.name = "logger", .user_key = "logger-user", .user = "_pd_log",
		.caps_str = "none", .caps = NOCAPS, .nproc0 = 1, .nofile = 64,
		.sysgroups = PD_SG(STDIO) | PD_SG(IPC) | PD_SG(LOG) |
		    PD_SG(SANITIZER),
		.replies = { PD_MSG_SETUP_DONE },
	},
	[PD_ROLE_GATEWAY] = {
		.name = "gateway", .user_key = "gateway-user", .user = "_pd_gw",
		.caps_str = "none", .caps = NOCAPS, .nproc0 = 1, .nofile = 64,
		.newnet = 1,
		.sysgroups = PD_SG(STDIO) | PD_SG(IPC) | PD_SG(GATEWAY) |
		    PD_SG(SANITIZER),
		.replies = { PD_MSG_SETUP_DONE },
	},
};

const struct pd_roleinfo *
pd_role(int role)
{
	if (role < 0 || role >= PD_ROLE_MAX)
		return NULL;
	return &roles[role];
}

const char *
pd_role_name(int role)
{
	const struct pd_roleinfo *r = pd_role(role);

	return r != NULL ? r->name : "unknown";
}

/* May a helper of this role send the broker a message of this type? */
int
pd_role_replies(int role, uint32_t type)
{
	const struct pd_roleinfo *r = pd_role(role);
	size_t i;

	if (r == NULL)
		return 0;
	if (type == PD_MSG_LOG || type == PD_MSG_ERROR)
		return role != PD_ROLE_BROKER;
	for (i = 0; i < PD_ROLE_MAXREPLIES && r->replies[i] != 0; i++)
		if (r->replies[i] == type)
			return 1;
	return 0;
}

const char *
pd_role_caps_str(int role)
{
	const struct pd_roleinfo *r = pd_role(role);

	return r != NULL && role != PD_ROLE_BROKER ? r->caps_str :
	    "(no privdrop for this role)";
}

uint64_t
pd_role_caps_mask(int role)
{
	const struct pd_roleinfo *r = pd_role(role);
	uint64_t mask = 0;
	size_t i;

	if (r == NULL || role == PD_ROLE_BROKER)
		return 0;
	for (i = 0; i < PD_ROLE_MAXCAPS && r->caps[i] != -1; i++)
		mask |= 1ULL << r->caps[i];
	return mask;
}

/*
 * The capabilities each helper role keeps: data only.  pd_privdrop()
 * (privdrop.c, libcap-ng) applies them in the helpers; the broker links
 * this file alone to check a helper's CapEff and to print the sets in
 * `pluginctl info`, so it never links libcap-ng.
 *
 * Capabilities per role (docs/SANDBOX.md):
 *
 * logger: none.  It reads the plugin's output from a pipe the broker
 *	passed and writes log and log.1 in its chroot, a directory it owns.
 *
 * fetcher: none.  It speaks HTTP(S) on sockets it creates itself and
 *	writes into an fd the broker passed; nothing it does needs privilege.
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
 */

#include <linux/capability.h>

#include <stddef.h>
#include <stdint.h>

#include "privdrop.h"
#include "privdrop_impl.h"
#include "role.h"

static const struct pd_rolecaps pd_role_caps[] = {
	/*
	 * The fetcher keeps RLIMIT_NPROC: libcurl on Debian 12 resolves
	 * names in a thread, and RLIMIT_NPROC counts threads.
	 */
	{ PD_ROLE_FETCHER, "none", 0, { -1 } },
	/* The API process: one connection, no threads, no children. */
	{ PD_ROLE_API, "none", 1, { -1 } },
	/* The log writer: one pipe in, two files out, no threads, no children. */
	{ PD_ROLE_LOGGER, "none", 1, { -1 } },
	{ PD_ROLE_EXTRACTOR, "chown,dac_override,fowner,fsetid", 1,
	    { CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID, -1 } },
};

const struct pd_rolecaps *
pd_role_caps_lookup(int role)
{
	size_t i;

	for (i = 0; i < sizeof(pd_role_caps) / sizeof(pd_role_caps[0]); i++)
		if (pd_role_caps[i].role == role)
			return &pd_role_caps[i];
	return NULL;
}

const char *
pd_role_caps_str(int role)
{
	const struct pd_rolecaps *rc;

	if ((rc = pd_role_caps_lookup(role)) == NULL)
		return "(no privdrop for this role)";
	return rc->str;
}

uint64_t
pd_role_caps_mask(int role)
{
	const struct pd_rolecaps *rc;
	uint64_t mask = 0;
	int i;

	if ((rc = pd_role_caps_lookup(role)) == NULL)
		return 0;
	for (i = 0; rc->caps[i] != -1; i++)
		mask |= 1ULL << rc->caps[i];
	return mask;
}


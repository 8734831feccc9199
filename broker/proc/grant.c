/*
 * The host side of the privilege model (docs/GRANTS.md): what a plugin's
 * config may be granted on this host, checked at install, upgrade, set,
 * enable and every restart.
 */
#include <sys/vfs.h>

#include <linux/magic.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc/proc.h"
#include "plugincfg.h"

/*
 * The host side of the privilege model: a granted host path (a bind
 * source, a device path) must be the path that is used, so it may not
 * be or pass through a symbolic link (realpath(3) of it is itself), and
 * a bind source may not be a kernel filesystem (procfs, sysfs, ...)
 * mounted elsewhere.  A path that does not exist yet passes unless
 * must_exist (enable checks again).
 */
static const long kernel_fs[] = {
	PROC_SUPER_MAGIC, SYSFS_MAGIC, DEBUGFS_MAGIC, TRACEFS_MAGIC,
	SECURITYFS_MAGIC, CGROUP_SUPER_MAGIC, CGROUP2_SUPER_MAGIC, BPF_FS_MAGIC,
	DEVPTS_SUPER_MAGIC, 0x19800202 /* mqueue */, 0x62656570 /* configfs */,
	EFIVARFS_MAGIC, PSTOREFS_MAGIC, 0x65735543 /* fusectl */, NSFS_MAGIC,
	SELINUX_MAGIC, SMACK_MAGIC,
};

int
host_path_exact(const char *what, const char *path, int bind, int must_exist,
    struct pd_err *e)
{
	char *real;
	struct statfs sf;
	size_t i;

	/*
	 * Safety: realpath and statfs only read the host's directory tree as
	 * root; nothing is opened for writing or created.
	 */
	if ((real = realpath(path, NULL)) == NULL) {
		if (errno == ENOENT && !must_exist)
			return 0;
		return pd_errno(e, PD_E_INVAL, "%s \"%s\" does not exist or is not "
		    "accessible on the host", what, path);
	}
	if (strcmp(real, path) != 0) {
		pd_errf(e, PD_E_INVAL, "%s \"%s\" is or goes through a symbolic link "
		    "(it resolves to %s): grant the real path", what, path, real);
		free(real);
		return -1;
	}
	free(real);
	if (bind && statfs(path, &sf) == 0)
		for (i = 0; i < sizeof(kernel_fs) / sizeof(kernel_fs[0]); i++)
			if ((long)sf.f_type == kernel_fs[i])
				return pd_errf(e, PD_E_INVAL, "%s \"%s\" is a kernel "
				    "filesystem (magic 0x%lx): a plugin may not bind it",
				    what, path, (unsigned long)sf.f_type);
	return 0;
}

int
host_paths_check(const json_t *cfg, int must_exist, struct pd_err *e)
{
	const json_t *m, *d;
	const char *n, *t, *s;
	char what[300];
	size_t i;

	json_array_foreach(json_object_get(cfg, "Mounts"), i, m) {
		t = json_string_value(json_object_get(m, "Type"));
		if ((s = json_string_value(json_object_get(m, "Source"))) == NULL ||
		    (t != NULL && strcmp(t, "tmpfs") == 0))
			continue;
		n = json_string_value(json_object_get(m, "Name"));
		snprintf(what, sizeof(what), "mount \"%.60s\" (Mounts[%zu]): Source",
		    n ? n : "", i);
		if (host_path_exact(what, s, 1, must_exist, e) == -1)
			return -1;
	}
	json_array_foreach(json_object_get(json_object_get(cfg, "Linux"),
	    "Devices"), i, d) {
		if ((s = json_string_value(json_object_get(d, "Path"))) == NULL)
			continue;
		n = json_string_value(json_object_get(d, "Name"));
		snprintf(what, sizeof(what), "device \"%.60s\" (Linux.Devices[%zu]): "
		    "Path", n ? n : "", i);
		if (host_path_exact(what, s, 0, must_exist, e) == -1)
			return -1;
	}
	return 0;
}

/* The privilege model, whole: the config's own rules and the host's. */
int
config_grantable(const json_t *cfg, struct pd_err *e)
{
	char why[PD_ERR_MSGLEN];

	if (pd_config_check(cfg, e) == -1 || host_paths_check(cfg, 0, e) == -1) {
		snprintf(why, sizeof(why), "%s", e->msg);
		return pd_errf(e, PD_E_INVAL, "config: %s", why);
	}
	return 0;
}

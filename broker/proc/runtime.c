/*
 * The runtime side of a plugin: its OCI bundle (moby's InitSpec), the checks
 * made before it starts so that a failure has a precise reason, the
 * protection of its rootfs, the propagated mount, the OCI runtime's
 * command lines, and the mount bookkeeping under the data root.
 *
 * Paths inside a plugin rootfs are never resolved in host context:
 * every access is relative to an fd of the rootfs, component by
 * component without following symlinks, or with openat2(RESOLVE_IN_ROOT)
 * when a symlink must be followed the way the plugin would see it.
 */
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include <linux/openat2.h>

#include <ctype.h>
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "proc/proc.h"
#include "caps.h"
#include "log.h"
#include "plugincfg.h"
#include "util.h"

/* How long a starting broker waits for a previous one's runtime processes. */
#define RT_LOCK_WAIT_S	30

#define DEFAULT_PATH	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

#if defined(__x86_64__)
#define HOST_EM		EM_X86_64
#define HOST_EM_ALT	EM_386
#define HOST_ARCH	"x86_64"
#elif defined(__aarch64__)
#define HOST_EM		EM_AARCH64
#define HOST_EM_ALT	EM_ARM
#define HOST_ARCH	"aarch64"
#else
#define HOST_EM		0
#define HOST_EM_ALT	0
#define HOST_ARCH	"this architecture"
#endif

void
rt_paths(const char *id, struct rt_paths *rp)
{
	snprintf(rp->plugdir, sizeof(rp->plugdir), "%s/plugins/%s", conf.data_root,
	    id);
	snprintf(rp->sockdir, sizeof(rp->sockdir), "%s/plugins/%s", conf.exec_root,
	    id);
	snprintf(rp->bundle, sizeof(rp->bundle), "%s/bundles/%s", conf.exec_root,
	    id);
	snprintf(rp->runc_root, sizeof(rp->runc_root), "%s/runc", conf.exec_root);
}

/* ---- capabilities ---- */

/* moby's default set (oci/caps/defaults.go), by number. */
static const int cap_defaults[] = { 0, 1, 4, 3, 27, 13, 6, 7, 31, 8, 10, 18, 5,
    29 };

static int
build_caps(const json_t *extra, json_t **out, uint64_t *mask, struct pd_err *e)
{
	int want[64] = { 0 }, n;
	const json_t *v;
	const char *s;
	size_t i;
	json_t *list;

	for (i = 0; i < sizeof(cap_defaults) / sizeof(cap_defaults[0]); i++)
		want[cap_defaults[i]] = 1;
	json_array_foreach(extra, i, v) {
		if ((s = json_string_value(v)) == NULL)
			return pd_errf(e, PD_E_INVAL, "Linux.Capabilities must hold "
			    "strings");
		if ((n = pd_cap_number(s)) < 0)
			return pd_errf(e, PD_E_INVAL, "unknown capability \"%s\" in the "
			    "plugin config (Linux.Capabilities)", s);
		/* runc cannot grant what plugind itself may not hold. */
		if (prctl(PR_CAPBSET_READ, n, 0, 0, 0) != 1)
			return pd_errf(e, PD_E_INVAL, "capability CAP_%s is not in "
			    "plugind's bounding set on this host, so no plugin can have "
			    "it", pd_cap_name(n));
		want[n] = 1;
	}
	list = json_array();
	*mask = 0;
	for (i = 0; i < PD_CAP_COUNT; i++)
		if (want[i]) {
			json_array_append_new(list, json_sprintf("CAP_%s",
			    pd_cap_name((int)i)));
			*mask |= 1ULL << i;
		}
	*out = list;
	return 0;
}

/* ---- the spec ---- */

static const char *
str_at(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static json_t *
mount_obj(const char *dst, const char *type, const char *src, const char *opts)
{
	json_t *m, *o = json_array();
	char *copy = xstrdup(opts), *p, *tok, *save = NULL;

	for (p = copy; (tok = strtok_r(p, ",", &save)) != NULL; p = NULL)
		json_array_append_new(o, json_string(tok));
	free(copy);
	m = json_pack("{s:s, s:s, s:s, s:o}", "destination", dst, "type", type,
	    "source", src, "options", o);
	return m;
}

static json_t *
default_mounts(void)
{
	static const char *const def[][4] = {
		{ "/proc", "proc", "proc", "nosuid,noexec,nodev" },
		{ "/dev", "tmpfs", "tmpfs",
		    "nosuid,strictatime,mode=755,size=65536k" },
		{ "/dev/pts", "devpts", "devpts",
		    "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5" },
		{ "/sys", "sysfs", "sysfs", "nosuid,noexec,nodev,ro" },
		{ "/sys/fs/cgroup", "cgroup", "cgroup",
		    "ro,nosuid,noexec,nodev" },
		{ "/dev/mqueue", "mqueue", "mqueue", "nosuid,noexec,nodev" },
		{ "/dev/shm", "tmpfs", "shm", "nosuid,noexec,nodev,mode=1777" },
	};
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < sizeof(def) / sizeof(def[0]); i++)
		json_array_append_new(a, mount_obj(def[i][0], def[i][1],
		    def[i][2], def[i][3]));
	return a;
}

static json_t *
masked_paths(void)
{
	static const char *fixed[] = { "/proc/acpi", "/proc/asound",
	    "/proc/interrupts", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
	    "/proc/sched_debug", "/proc/scsi", "/proc/timer_list",
	    "/proc/timer_stats", "/sys/devices/virtual/powercap", "/sys/firmware" };
	json_t *a = json_array();
	glob_t g;
	size_t i;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		json_array_append_new(a, json_string(fixed[i]));
	if (glob("/sys/devices/system/cpu/cpu*/thermal_throttle", GLOB_NOSORT, NULL,
	    &g) == 0) {
		for (i = 0; i < g.gl_pathc; i++)
			json_array_append_new(a, json_string(g.gl_pathv[i]));
		globfree(&g);
	}
	return a;
}

/*
 * The effective source of config mount cm: Settings.Mounts by name.  set
 * and upgrade keep it equal to the config's, which is what was granted;
 * a state where they differ is refused rather than run.
 */
static int
mount_source(const json_t *pobj, const json_t *cm, const json_t **src,
    struct pd_err *e)
{
	const json_t *sm, *v;
	const char *name = str_at(cm, "Name");
	size_t i;

	*src = json_object_get(cm, "Source");
	sm = json_object_get(json_object_get(pobj, "Settings"), "Mounts");
	json_array_foreach(sm, i, v)
		if (name != NULL && str_at(v, "Name") != NULL &&
		    strcmp(str_at(v, "Name"), name) == 0) {
			if (!json_equal(json_object_get(v, "Source"), *src))
				return pd_errf(e, PD_E_INVAL, "mount \"%s\": the source in "
				    "Settings (%s) is not the one in the config (%s), which is "
				    "what was granted", name, str_at(v, "Source") ?
				    str_at(v, "Source") : "null", str_at(cm, "Source") ?
				    str_at(cm, "Source") : "null");
			break;
		}
	return 0;
}

/*
 * The plugin's own mounts, each exactly as its privilege shows it
 * (pd_mount_effective): only bind and tmpfs, even if a state file says
 * otherwise, and the whole config is checked against the privilege
 * model again (WorkDir, Entrypoint, PropagatedMount, paths).
 */
static int
config_mounts(const json_t *pobj, json_t *mounts, struct pd_err *e)
{
	const json_t *cfg = json_object_get(pobj, "Config"), *cm, *src;
	const char *name, *dst, *s;
	char what[300];
	struct stat st;
	size_t i;
	json_t *m;

	if (pd_config_check(cfg, e) == -1)
		return -1;
	json_array_foreach(json_object_get(cfg, "Mounts"), i, cm) {
		name = str_at(cm, "Name") ? str_at(cm, "Name") : "";
		dst = str_at(cm, "Destination") ? str_at(cm, "Destination") : "";
		if (mount_source(pobj, cm, &src, e) == -1)
			return -1;
		snprintf(what, sizeof(what), "mount \"%.60s\" (Mounts[%zu])", name, i);
		if ((m = pd_mount_effective(cm, src, what, e)) == NULL)
			return -1;
		json_array_append_new(mounts, m);
		if (strcmp(str_at(m, "type"), "bind") != 0)
			continue;
		/* A null source cannot be set either (moby's settable.go): say so. */
		if (!json_is_string(src))
			return pd_errf(e, PD_E_INVAL, "mount source is not specified "
			    "(mount \"%s\" at %s: the plugin config leaves its source "
			    "null, and a null source cannot be set)", name, dst);
		s = json_string_value(src);
		/* Host paths granted as a privilege; the admin's to check. */
		if (stat(s, &st) == -1)
			return pd_errno(e, PD_E_INVAL, "mount \"%s\": source path %s "
			    "does not exist or is not accessible on the host", name, s);
		snprintf(what, sizeof(what), "mount \"%.60s\": source", name);
		if (host_path_exact(what, s, 1, 1, e) == -1)
			return -1;
	}
	return 0;
}

/* moby's InitSpec, the intent: a plugin mount under /dev/ replaces one. */
static void
drop_replaced_defaults(json_t *mounts, size_t ndefaults, const json_t *pobj)
{
	const json_t *cm;
	const char *d, *dst;
	size_t i, k;

	for (i = ndefaults; i-- > 0;) {
		d = str_at(json_array_get(mounts, i), "destination");
		if (strncmp(d, "/dev/", 5) != 0)
			continue;
		json_array_foreach(json_object_get(json_object_get(pobj, "Config"),
		    "Mounts"), k, cm)
			if ((dst = str_at(cm, "Destination")) != NULL &&
			    strcmp(dst, d) == 0) {
				json_array_remove(mounts, i);
				break;
			}
	}
}

struct devwalk {
	json_t		*devices;
	json_t		*rules;
};

static struct devwalk *devwalk_cur;	/* nftw has no user pointer */
static pthread_mutex_t devwalk_mtx = PTHREAD_MUTEX_INITIALIZER;

static void
add_device(struct devwalk *w, const char *path, const struct stat *st)
{
	const char *t = S_ISCHR(st->st_mode) ? "c" : "b";

	json_array_append_new(w->devices, json_pack("{s:s, s:s, s:I, s:I, s:i, "
	    "s:i, s:i}", "path", path, "type", t,
	    "major", (json_int_t)major(st->st_rdev),
	    "minor", (json_int_t)minor(st->st_rdev),
	    "fileMode", (int)(st->st_mode & 07777), "uid", (int)st->st_uid,
	    "gid", (int)st->st_gid));
	json_array_append_new(w->rules, json_pack("{s:b, s:s, s:I, s:I, s:s}",
	    "allow", 1, "type", t, "major", (json_int_t)major(st->st_rdev),
	    "minor", (json_int_t)minor(st->st_rdev), "access", "rwm"));
}

static int
devwalk_cb(const char *path, const struct stat *st, int type, struct FTW *f)
{
	if (type == FTW_F && (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)))
		add_device(devwalk_cur, path, st);
	return 0;
}

static int
config_has_device(const json_t *pobj, const json_t *d)
{
	const json_t *cd;
	size_t i;

	json_array_foreach(json_object_get(json_object_get(json_object_get(pobj,
	    "Config"), "Linux"), "Devices"), i, cd)
		if (json_equal(json_object_get(cd, "Name"), json_object_get(d,
		    "Name")) && json_equal(json_object_get(cd, "Path"),
		    json_object_get(d, "Path")))
			return 1;
	return 0;
}

static int
settings_devices(const json_t *pobj, struct devwalk *w, struct pd_err *e)
{
	const json_t *d;
	const char *name, *path;
	struct stat st;
	size_t i;
	int rc = 0;

	json_array_foreach(json_object_get(json_object_get(pobj, "Settings"),
	    "Devices"), i, d) {
		name = str_at(d, "Name") ? str_at(d, "Name") : "";
		if ((path = str_at(d, "Path")) == NULL)
			return pd_errf(e, PD_E_INVAL, "device path is not specified "
			    "(device \"%s\")", name);
		/* Only what the config names (and so was granted) is given. */
		if (!config_has_device(pobj, d))
			return pd_errf(e, PD_E_INVAL, "device \"%s\" (%s) is not in the "
			    "plugin's config, so it was not granted", name, path);
		if (stat(path, &st) == -1)
			return pd_errno(e, PD_E_INVAL, "device \"%s\": %s", name, path);
		/* The node given is the path granted, not a link's target. */
		if (host_path_exact("device path", path, 0, 1, e) == -1)
			return -1;
		if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
			add_device(w, path, &st);
		else if (S_ISDIR(st.st_mode)) {
			pthread_mutex_lock(&devwalk_mtx);
			devwalk_cur = w;
			if (nftw(path, devwalk_cb, 16, FTW_PHYS) == -1)
				rc = pd_errno(e, PD_E_IO, "device \"%s\": walk %s", name, path);
			devwalk_cur = NULL;
			pthread_mutex_unlock(&devwalk_mtx);
			if (rc == -1)
				return -1;
		} else
			return pd_errf(e, PD_E_INVAL, "device \"%s\": %s is neither a "
			    "device node nor a directory", name, path);
	}
	return 0;
}

static json_t *
device_rules_default(void)
{
	static const int allow[][2] = { { 1, 5 }, { 1, 3 }, { 1, 9 }, { 1, 8 },
	    { 5, 0 }, { 5, 1 } };
	json_t *a = json_array();
	size_t i;

	json_array_append_new(a, json_pack("{s:b, s:s}", "allow", 0, "access",
	    "rwm"));
	for (i = 0; i < sizeof(allow) / sizeof(allow[0]); i++)
		json_array_append_new(a, json_pack("{s:b, s:s, s:i, s:i, s:s}", "allow",
		    1, "type", "c", "major", allow[i][0], "minor", allow[i][1],
		    "access", "rwm"));
	json_array_append_new(a, json_pack("{s:b, s:s, s:i, s:i, s:s}", "allow", 0,
	    "type", "c", "major", 10, "minor", 229, "access", "rwm"));
	return a;
}

/* Interface.Socket must be one file name in the socket directory. */
static int
check_socket_name(const char *s, struct pd_err *e)
{
	if (s == NULL || s[0] == '\0')
		return pd_errf(e, PD_E_INVAL, "the plugin config has no "
		    "Interface.Socket");
	if (strchr(s, '/') != NULL || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return pd_errf(e, PD_E_INVAL, "Interface.Socket \"%s\" must be a file "
		    "name, not a path", s);
	return 0;
}

/* Append the strings of array `from` to array a. */
static void
append_strings(json_t *a, const json_t *from)
{
	const json_t *v;
	size_t i;

	json_array_foreach(from, i, v)
		if (json_is_string(v))
			json_array_append(a, (json_t *)(uintptr_t)v);
}

/*
 * The mounts: the defaults, the propagated mount, the plugin's own, the
 * socket directory and, with a network, the host's name resolution.
 */
static int
spec_mounts(const json_t *pobj, const struct rt_paths *rp, const char *pm,
    const char *ntype, json_t **out, struct pd_err *e)
{
	json_t *mounts;
	size_t ndef;

	mounts = default_mounts();
	ndef = json_array_size(mounts);
	if (pm != NULL && pm[0] != '\0') {
		if (pm[0] != '/') {
			json_decref(mounts);
			return pd_errf(e, PD_E_INVAL, "PropagatedMount \"%s\" "
			    "is not an absolute path", pm);
		}
		json_array_append_new(mounts, json_pack("{s:s, s:s, s:o, s:[sss]}",
		    "destination", pm, "type", "bind", "source",
		    json_sprintf("%s/propagated-mount", rp->plugdir),
		    "options", "rbind", "rw", "rshared"));
	}
	if (config_mounts(pobj, mounts, e) == -1) {
		json_decref(mounts);
		return -1;
	}
	/*
	 * The socket directory, where the plugin makes its socket.  Bound
	 * rprivate: a mount the plugin makes below it stays in the plugin's
	 * mount namespace and never reaches the host (rshared would carry it
	 * into the host's namespace, past disable).  The socket itself needs
	 * no propagation: it is a file in the host directory.  nosuid,
	 * nodev, noexec: nothing there is ever meant to be run or opened as
	 * a device.
	 */
	json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:[sssss]}",
	    "destination", "/run/docker/plugins", "type", "bind", "source",
	    rp->sockdir, "options", "rbind", "rprivate", "nosuid", "nodev",
	    "noexec"));
	if (ntype[0] != '\0') {
		json_array_append_new(mounts, mount_obj("/etc/hosts", "bind",
		    "/etc/hosts", "rbind,ro"));
		json_array_append_new(mounts, mount_obj("/etc/resolv.conf", "bind",
		    "/etc/resolv.conf", "rbind,ro"));
	}
	drop_replaced_defaults(mounts, ndef, pobj);
	*out = mounts;
	return 0;
}

static json_t *
spec_namespaces(const json_t *cfg, const char *ntype)
{
	json_t *ns = json_array();

	json_array_append_new(ns, json_pack("{s:s}", "type", "mount"));
	json_array_append_new(ns, json_pack("{s:s}", "type", "uts"));
	if (!json_is_true(json_object_get(cfg, "PidHost")))
		json_array_append_new(ns, json_pack("{s:s}", "type", "pid"));
	if (!json_is_true(json_object_get(cfg, "IpcHost")))
		json_array_append_new(ns, json_pack("{s:s}", "type", "ipc"));
	if (strcmp(ntype, "host") != 0)
		json_array_append_new(ns, json_pack("{s:s}", "type", "network"));
	return ns;
}

/* linux.resources; takes the device rules. */
static json_t *
spec_resources(json_t *rules)
{
	json_t *res;

	res = json_pack("{s:o}", "devices", rules);
	/*
	 * Per-plugin limits (plugin-pids-limit, plugin-memory-limit), in
	 * the plugin's own cgroup: runc creates /plugind/<id> in every
	 * controller and `runc delete` removes it.
	 */
	if (conf.plugin_pids_limit > 0)
		json_object_set_new(res, "pids", json_pack("{s:I}", "limit",
		    (json_int_t)conf.plugin_pids_limit));
	if (conf.plugin_memory_limit > 0)
		json_object_set_new(res, "memory", json_pack("{s:I}", "limit",
		    (json_int_t)conf.plugin_memory_limit));
	return res;
}

/* The spec's "linux" object: namespaces, devices, cgroup, seccomp. */
static int
spec_linux(const char *id, const json_t *pobj, const char *pm,
    const char *ntype, uint64_t capmask, json_t **out, struct pd_err *e)
{
	const json_t *cfg = json_object_get(pobj, "Config");
	struct devwalk dw = { NULL, NULL };
	json_t *ns, *lnx;

	ns = spec_namespaces(cfg, ntype);
	dw.devices = json_array();
	dw.rules = device_rules_default();
	if (json_is_true(json_object_get(json_object_get(cfg, "Linux"),
	    "AllowAllDevices"))) {
		json_decref(dw.rules);
		dw.rules = json_pack("[{s:b, s:s}]", "allow", 1, "access", "rwm");
	}
	if (settings_devices(pobj, &dw, e) == -1) {
		json_decref(ns);
		json_decref(dw.devices);
		json_decref(dw.rules);
		return -1;
	}
	/*
	 * The seccomp profile follows the capabilities granted above, the
	 * only privilege that widens it (broker/plugin-seccomp.c).
	 */
	lnx = json_pack("{s:o, s:o, s:o, s:o, s:o, s:[sssss], s:s, s:o}",
	    "namespaces", ns, "resources", spec_resources(dw.rules),
	    "devices", dw.devices, "maskedPaths", masked_paths(),
	    "cgroupsPath", json_sprintf("/plugind/%s", id),
	    "readonlyPaths", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
	    "/proc/sysrq-trigger", "rootfsPropagation", "rshared",
	    "seccomp", plugin_seccomp(capmask));
	if (pm == NULL || pm[0] == '\0')
		json_object_del(lnx, "rootfsPropagation");
	*out = lnx;
	return 0;
}

/*
 * Build the OCI runtime spec for plugin `id` from its plugin object
 * (Config and Settings, as persisted).  Fails with the precise reason
 * when the config cannot run: null mount sources, missing bind sources,
 * unknown capabilities, bad devices.
 */
int
runtime_spec(const char *id, const json_t *pobj, json_t **out, struct pd_err *e)
{
	const json_t *cfg = json_object_get(pobj, "Config"), *set, *net;
	json_t *spec, *args, *env, *caps = NULL, *mounts = NULL, *lnx = NULL;
	struct rt_paths rp;
	const char *s, *ntype, *pm;
	uint64_t capmask = 0;

	rt_paths(id, &rp);
	set = json_object_get(pobj, "Settings");
	if (!json_is_object(cfg) || !json_is_object(set))
		return pd_errf(e, PD_E_INTERNAL, "plugin state has no Config/Settings");
	if (check_socket_name(str_at(json_object_get(cfg, "Interface"), "Socket"),
	    e) == -1)
		return -1;
	/* Every start, as enable: the policy may have changed since. */
	if (policy_check_plugin(pobj, e) == -1)
		return -1;

	args = json_array();
	append_strings(args, json_object_get(cfg, "Entrypoint"));
	if (json_array_size(args) == 0) {
		json_decref(args);
		return pd_errf(e, PD_E_INVAL, "the plugin config has no Entrypoint");
	}
	append_strings(args, json_object_get(set, "Args"));
	env = json_array();
	json_array_append_new(env, json_string("PATH=" DEFAULT_PATH));
	append_strings(env, json_object_get(set, "Env"));
	if (build_caps(json_object_get(json_object_get(cfg, "Linux"),
	    "Capabilities"), &caps, &capmask, e) == -1)
		goto fail;

	pm = str_at(cfg, "PropagatedMount");
	net = json_object_get(cfg, "Network");
	ntype = str_at(net, "Type") ? str_at(net, "Type") : "";
	if (spec_mounts(pobj, &rp, pm, ntype, &mounts, e) == -1)
		goto fail;
	if (spec_linux(id, pobj, pm, ntype, capmask, &lnx, e) == -1) {
		json_decref(mounts);
		goto fail;
	}
	s = str_at(cfg, "WorkDir");
	/*
	 * Inheritable and ambient stay empty (Docker appends the plugin's
	 * extra capabilities to Inheritable; moby dropped that for
	 * containers after CVE-2022-24769).  A plugin runs as root anyway.
	 * noNewPrivileges: no setuid or file-capability binary in the rootfs
	 * can add to what the config granted (docs/SANDBOX.md).
	 */
	spec = json_pack("{s:s, s:{s:b, s:b, s:{s:i, s:i}, s:o, s:o, s:s, "
	    "s:{s:O, s:O, s:O, s:[], s:[]}}, s:{s:o, s:b}, s:o, s:o}",
	    "ociVersion", "1.0.2",
	    "process", "terminal", 0, "noNewPrivileges", 1,
	    "user", "uid", 0, "gid", 0,
	    "args", args, "env", env, "cwd", s != NULL && s[0] != '\0' ? s : "/",
	    "capabilities", "bounding", caps, "permitted", caps, "effective", caps,
	    "inheritable", "ambient",
	    "root", "path", json_sprintf("%s/rootfs", rp.plugdir), "readonly", 0,
	    "mounts", mounts, "linux", lnx);
	json_decref(caps);
	if (spec == NULL)
		return pd_errf(e, PD_E_INTERNAL, "cannot build the runtime spec");
	*out = spec;
	return 0;
fail:
	json_decref(args);
	json_decref(env);
	json_decref(caps);
	return -1;
}

/* ---- preflight: why would the entrypoint not run? ---- */

static int
open_in_root(int rootfd, const char *path, int flags)
{
	struct open_how how;

	memset(&how, 0, sizeof(how));
	how.flags = (uint64_t)(flags | O_CLOEXEC);
	how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
	return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
}

static const char *
machine_name(unsigned m)
{
	switch (m) {
	case EM_386: return "i386";
	case EM_X86_64: return "x86_64";
	case EM_AARCH64: return "aarch64";
	case EM_ARM: return "arm";
	case EM_PPC: return "ppc";
	case EM_PPC64: return "ppc64";
	case EM_S390: return "s390x";
	case EM_MIPS: return "mips";
	case EM_RISCV: return "riscv64";
	case EM_LOONGARCH: return "loongarch64";
	default: return NULL;
	}
}

/* Re-open an O_PATH fd of a regular file for reading. */
static int
reopen_ro(int pathfd)
{
	char p[64];

	snprintf(p, sizeof(p), "/proc/self/fd/%d", pathfd);
	return open(p, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
}

static int	check_exec(int, const char *, const char *, int, struct pd_err *);

/*
 * The dynamic loader a little-endian ELF binary names (PT_INTERP), read
 * from fd into interp: 1 if there is one, 0 if not or if it cannot be
 * read.
 */
static int
elf_interp(int fd, const unsigned char *h, char *interp, size_t len)
{
	uint64_t phoff, off, sz;
	unsigned phentsize, phnum, i, type;
	unsigned char ph[56];
	int is64 = h[EI_CLASS] == ELFCLASS64;

	if (is64) {
		memcpy(&phoff, h + 32, 8);
		phentsize = (unsigned)h[54] | (unsigned)h[55] << 8;
		phnum = (unsigned)h[56] | (unsigned)h[57] << 8;
	} else {
		uint32_t o32;

		memcpy(&o32, h + 28, 4);
		phoff = o32;
		phentsize = (unsigned)h[42] | (unsigned)h[43] << 8;
		phnum = (unsigned)h[44] | (unsigned)h[45] << 8;
	}
	if (phentsize < (is64 ? 56u : 32u) || phentsize > sizeof(ph) * 4)
		return 0;
	for (i = 0; i < phnum && i < 256; i++) {
		if (pread(fd, ph, is64 ? 56 : 32, (off_t)(phoff + (uint64_t)i *
		    phentsize)) != (is64 ? 56 : 32))
			return 0;
		memcpy(&type, ph, 4);
		if (type != PT_INTERP)
			continue;
		if (is64) {
			memcpy(&off, ph + 8, 8);
			memcpy(&sz, ph + 32, 8);
		} else {
			uint32_t o, s;

			memcpy(&o, ph + 4, 4);
			memcpy(&s, ph + 16, 4);
			off = o;
			sz = s;
		}
		if (sz == 0 || sz >= len)
			return 0;
		if (pread(fd, interp, (size_t)sz, (off_t)off) != (ssize_t)sz)
			return 0;
		interp[sz] = '\0';
		interp[strcspn(interp, "\n")] = '\0';
		return 1;
	}
	return 0;
}

/* The ELF header and, for dynamic binaries, the loader inside the rootfs. */
static int
check_elf(int rootfd, int fd, const char *what, const char *path, int depth,
    struct pd_err *e)
{
	unsigned char h[64];
	char interp[PATH_MAX];
	const char *mn;
	unsigned machine;
	ssize_t n;

	n = pread(fd, h, sizeof(h), 0);
	if (n < 52)
		return pd_errf(e, PD_E_INVAL, "exec format error: %s %s is too short to "
		    "be an ELF binary (%zd bytes)", what, path, n < 0 ? (ssize_t)0 : n);
	if (h[EI_DATA] == ELFDATA2LSB)
		machine = (unsigned)h[18] | (unsigned)h[19] << 8;
	else
		machine = (unsigned)h[18] << 8 | (unsigned)h[19];
	if (HOST_EM != 0 && machine != HOST_EM && machine != HOST_EM_ALT) {
		mn = machine_name(machine);
		return pd_errf(e, PD_E_INVAL, "exec format error: %s %s is built for "
		    "another architecture (%s%s%u%s; this host is %s)", what, path,
		    mn ? mn : "", mn ? ", e_machine " : "e_machine ", machine,
		    h[EI_DATA] == ELFDATA2MSB ? ", big-endian" : "", HOST_ARCH);
	}
	if (h[EI_DATA] != ELFDATA2LSB || (h[EI_CLASS] != ELFCLASS64 &&
	    h[EI_CLASS] != ELFCLASS32))
		return 0;
	if (!elf_interp(fd, h, interp, sizeof(interp)) || depth > 0)
		return 0;
	if (check_exec(rootfd, interp, "dynamic loader", depth + 1, e) == -1) {
		char inner[PD_ERR_MSGLEN];

		snprintf(inner, sizeof(inner), "%s", e->msg);
		return pd_errf(e, PD_E_INVAL, "%s %s is dynamically linked and "
		    "cannot start: %s", what, path, inner);
	}
	return 0;
}

/*
 * Can `path` (as the plugin sees it) be executed?  Missing files, wrong
 * architecture, missing loaders or interpreters, and noexec filesystems
 * each get their own message.
 */
static int
check_exec(int rootfd, const char *path, const char *what, int depth,
    struct pd_err *e)
{
	char head[256], interp[256], *p;
	struct statvfs sv;
	struct stat st;
	int pfd, fd, rc = 0;
	ssize_t n;

	if ((pfd = open_in_root(rootfd, path, O_PATH)) == -1) {
		if (errno == ENOENT || errno == ENOTDIR)
			return pd_errf(e, PD_E_INVAL, "%s %s does not exist in the plugin "
			    "rootfs", what, path);
		return pd_errno(e, PD_E_INVAL, "%s %s", what, path);
	}
	if (fstat(pfd, &st) == -1) {
		close(pfd);
		return pd_errno(e, PD_E_IO, "%s %s", what, path);
	}
	if (!S_ISREG(st.st_mode)) {
		close(pfd);
		return pd_errf(e, PD_E_INVAL, "%s %s is not a regular file", what, path);
	}
	if ((st.st_mode & 0111) == 0 && depth == 0) {
		close(pfd);
		return pd_errf(e, PD_E_INVAL, "%s %s is not executable (mode %04o)",
		    what, path, (unsigned)(st.st_mode & 07777));
	}
	if (fstatvfs(pfd, &sv) == 0 && (sv.f_flag & ST_NOEXEC)) {
		close(pfd);
		return pd_errf(e, PD_E_INVAL, "permission denied: %s %s is on a "
		    "filesystem mounted noexec (the data root %s must allow "
		    "execution; remount it exec or move --data-root)", what, path,
		    conf.data_root);
	}
	fd = reopen_ro(pfd);
	close(pfd);
	if (fd == -1)
		return pd_errno(e, PD_E_IO, "%s %s", what, path);
	n = pread(fd, head, sizeof(head) - 1, 0);
	if (n < 0)
		n = 0;
	head[n] = '\0';
	if (n >= 4 && memcmp(head, ELFMAG, SELFMAG) == 0)
		rc = check_elf(rootfd, fd, what, path, depth, e);
	else if (n >= 2 && head[0] == '#' && head[1] == '!') {
		p = head + 2;
		p += strspn(p, " \t");
		snprintf(interp, sizeof(interp), "%.*s", (int)strcspn(p, " \t\r\n"), p);
		if (interp[0] == '\0')
			rc = pd_errf(e, PD_E_INVAL, "exec format error: %s %s has an "
			    "empty #! line", what, path);
		else if (depth < 2 && check_exec(rootfd, interp, "interpreter",
		    depth + 1, e) == -1) {
			char inner[PD_ERR_MSGLEN];

			snprintf(inner, sizeof(inner), "%s", e->msg);
			rc = pd_errf(e, PD_E_INVAL, "%s %s is a script that cannot start: "
			    "%s", what, path, inner);
		}
	} else
		rc = pd_errf(e, PD_E_INVAL, "exec format error: %s %s is neither an "
		    "ELF binary nor a #! script%s", what, path, n == 0 ?
		    " (it is empty)" : "");
	close(fd);
	return rc;
}

/* The process's PATH, as the spec will set it. */
static const char *
spec_path(const json_t *pobj, char *buf, size_t len)
{
	const json_t *v;
	const char *s;
	size_t i;

	snprintf(buf, len, "%s", DEFAULT_PATH);
	json_array_foreach(json_object_get(json_object_get(pobj, "Settings"), "Env"),
	    i, v)
		if ((s = json_string_value(v)) != NULL && strncmp(s, "PATH=", 5) == 0)
			snprintf(buf, len, "%s", s + 5);
	return buf;
}

int
runtime_preflight(int rootfd, const json_t *pobj, struct pd_err *e)
{
	const json_t *ep = json_object_get(json_object_get(pobj, "Config"),
	    "Entrypoint");
	char pathv[4096], cand[PATH_MAX], *dir, *save = NULL, *p;
	const char *argv0 = json_string_value(json_array_get(ep, 0));
	int fd;

	if (argv0 == NULL || argv0[0] == '\0')
		return pd_errf(e, PD_E_INVAL, "the plugin config has no Entrypoint");
	if (strchr(argv0, '/') != NULL)
		return check_exec(rootfd, argv0, "entrypoint", 0, e);
	/* A bare name is looked up in the plugin's PATH, as runc does. */
	spec_path(pobj, pathv, sizeof(pathv));
	for (p = pathv; (dir = strtok_r(p, ":", &save)) != NULL; p = NULL) {
		snprintf(cand, sizeof(cand), "%s/%s", dir, argv0);
		/* The first candidate that exists decides, runnable or not. */
		if ((fd = open_in_root(rootfd, cand, O_PATH)) == -1 &&
		    (errno == ENOENT || errno == ENOTDIR))
			continue;
		if (fd >= 0)
			close(fd);
		return check_exec(rootfd, cand, "entrypoint", 0, e);
	}
	return pd_errf(e, PD_E_INVAL, "entrypoint %s is not found in the plugin's "
	    "PATH (%s)", argv0, spec_path(pobj, pathv, sizeof(pathv)));
}

/* ---- initlayer: rootfs entries the runtime mounts over ---- */

enum il_kind { IL_DIR, IL_FILE, IL_LINK };

/* Make dfd/name a real directory (never a symlink) and open it. */
static int
il_dir(int dfd, const char *name, struct pd_err *e)
{
	struct stat st;
	int fd;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    !S_ISDIR(st.st_mode) && unlinkat(dfd, name, 0) == -1)
		return pd_errno(e, PD_E_IO, "rootfs: remove %s", name);
	if (mkdirat(dfd, name, 0755) == -1 && errno != EEXIST)
		return pd_errno(e, PD_E_IO, "rootfs: mkdir %s", name);
	fd = openat(dfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return pd_errno(e, PD_E_IO, "rootfs: open %s", name);
	return fd;
}

static int
il_entry(int rootfd, const char *path, enum il_kind kind, const char *target,
    struct pd_err *e)
{
	char buf[PATH_MAX], comp[NAME_MAX + 1], lnk[64];
	const char *p = path, *slash;
	struct stat st;
	int dfd, nfd, fd;
	ssize_t n;
	size_t len;

	if ((dfd = fcntl(rootfd, F_DUPFD_CLOEXEC, 0)) == -1)
		return pd_errno(e, PD_E_IO, "dup");
	for (;;) {
		p += strspn(p, "/");
		slash = strchr(p, '/');
		len = slash ? (size_t)(slash - p) : strlen(p);
		if (len == 0 || len > NAME_MAX)
			break;
		memcpy(comp, p, len);
		comp[len] = '\0';
		if (slash == NULL)
			break;
		nfd = il_dir(dfd, comp, e);
		close(dfd);
		if (nfd == -1)
			return -1;
		dfd = nfd;
		p = slash;
	}
	switch (kind) {
	case IL_DIR:
		if ((fd = il_dir(dfd, comp, e)) == -1) {
			close(dfd);
			return -1;
		}
		close(fd);
		break;
	case IL_FILE:
		if (fstatat(dfd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			if (S_ISREG(st.st_mode))
				break;
			if (unlinkat(dfd, comp, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0)
			    == -1) {
				close(dfd);
				return pd_errno(e, PD_E_INVAL, "rootfs: %s is in the way of "
				    "a file the runtime mounts over", path);
			}
		}
		fd = openat(dfd, comp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0755);
		if (fd == -1 && errno != EEXIST) {
			close(dfd);
			return pd_errno(e, PD_E_IO, "rootfs: create %s", path);
		}
		if (fd >= 0)
			close(fd);
		break;
	case IL_LINK:
		n = readlinkat(dfd, comp, lnk, sizeof(lnk) - 1);
		if (n >= 0) {
			lnk[n] = '\0';
			if (strcmp(lnk, target) == 0)
				break;
		}
		if (fstatat(dfd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    unlinkat(dfd, comp, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) == -1) {
			close(dfd);
			return pd_errno(e, PD_E_INVAL, "rootfs: cannot replace %s", path);
		}
		if (symlinkat(target, dfd, comp) == -1) {
			close(dfd);
			return pd_errno(e, PD_E_IO, "rootfs: symlink %s", path);
		}
		break;
	}
	close(dfd);
	(void)buf;
	return 0;
}

/*
 * Docker's initlayer (moby's daemon/initlayer/setup_unix.go): replace
 * whatever the layer put at the paths the runtime mounts over with plain
 * entries, so that no symlink in the rootfs can redirect a mount.  All
 * fd-relative, no symlink is ever followed.  The plugin is not running
 * while this happens.
 */
int
runtime_initlayer(int rootfd, const json_t *pobj, struct pd_err *e)
{
	static const struct {
		const char	*path;
		enum il_kind	 kind;
	} ents[] = {
		{ "/dev/pts", IL_DIR }, { "/dev/shm", IL_DIR }, { "/proc", IL_DIR },
		{ "/sys", IL_DIR }, { "/run/docker/plugins", IL_DIR },
		{ "/.dockerenv", IL_FILE }, { "/etc/resolv.conf", IL_FILE },
		{ "/etc/hosts", IL_FILE }, { "/etc/hostname", IL_FILE },
		{ "/dev/console", IL_FILE }, { "/etc/mtab", IL_LINK },
	};
	size_t i;

	(void)pobj;
	for (i = 0; i < sizeof(ents) / sizeof(ents[0]); i++)
		if (il_entry(rootfd, ents[i].path, ents[i].kind, "/proc/mounts", e) ==
		    -1)
			return -1;
	return 0;
}

/* ---- the propagated mount ---- */

static int
is_mount_root(int fd)
{
	struct statx stx;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx) == -1)
		return 0;
	return (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
	    (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

/*
 * <plugdir>/propagated-mount: a directory made into an rshared mount of
 * itself, so that mounts the plugin makes below its PropagatedMount show
 * up on the host.
 */
int
runtime_propagated_mount(const char *plugdir, struct pd_err *e)
{
	char self[64];
	int pfd, fd;

	if ((pfd = open(plugdir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) ==
	    -1)
		return pd_errno(e, PD_E_IO, "open %s", plugdir);
	if (mkdirat(pfd, "propagated-mount", 0755) == -1 && errno != EEXIST) {
		close(pfd);
		return pd_errno(e, PD_E_IO, "mkdir %s/propagated-mount", plugdir);
	}
	fd = openat(pfd, "propagated-mount", O_PATH | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1) {
		close(pfd);
		return pd_errno(e, PD_E_IO, "open %s/propagated-mount", plugdir);
	}
	if (!is_mount_root(fd)) {
		snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
		/*
		 * Safety: a bind mount of a broker-created directory onto
		 * itself, addressed through an O_PATH fd opened without
		 * following symlinks below the broker-owned plugin directory;
		 * the plugin only ever sees this directory's contents.
		 */
		if (mount(self, self, NULL, MS_BIND | MS_REC, NULL) == -1) {
			close(fd);
			close(pfd);
			return pd_errno(e, PD_E_IO, "error setting up propagated mount "
			    "dir %s/propagated-mount", plugdir);
		}
		close(fd);
		fd = openat(pfd, "propagated-mount", O_PATH | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC);
		if (fd == -1) {
			close(pfd);
			return pd_errno(e, PD_E_IO, "open %s/propagated-mount", plugdir);
		}
	}
	close(pfd);
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	/* Safety: only the propagation type of the mount made above changes. */
	if (mount(NULL, self, NULL, MS_SHARED | MS_REC, NULL) == -1) {
		close(fd);
		return pd_errno(e, PD_E_IO, "error setting up propagated mount dir "
		    "%s/propagated-mount: make rshared", plugdir);
	}
	close(fd);
	return 0;
}

/* ---- the OCI runtime ---- */

/*
 * The runtime binary, opened for exec (O_PATH): `runtime` as a path, or
 * looked up in PATH; then held to the same checks as the helpers
 * (trusted_exec_open: root-owned all the way down, no symlinks).
 */
static int
runtime_binary(char *out, size_t len, struct pd_err *e)
{
	const char *path = getenv("PATH"), *p, *colon;
	size_t n;
	int fd;

	if (strchr(conf.runtime, '/') != NULL)
		snprintf(out, len, "%s", conf.runtime);
	else {
		if (path == NULL || path[0] == '\0')
			path = DEFAULT_PATH;
		out[0] = '\0';
		for (p = path; *p != '\0'; p = colon + 1) {
			colon = strchr(p, ':');
			n = colon ? (size_t)(colon - p) : strlen(p);
			if (n > 0 && p[0] == '/') {
				snprintf(out, len, "%.*s/%s", (int)n, p, conf.runtime);
				if (access(out, X_OK) == 0)
					break;
				out[0] = '\0';
			}
			if (colon == NULL)
				break;
		}
		if (out[0] == '\0')
			return pd_errf(e, PD_E_UNAVAIL, "OCI runtime \"%s\" not found "
			    "in PATH (set \"runtime\" in the plugind config)",
			    conf.runtime);
	}
	if ((fd = trusted_exec_open(out, "OCI runtime", e)) == -1) {
		snprintf(e->msg + strlen(e->msg), sizeof(e->msg) - strlen(e->msg),
		    " (runtime in the plugind config)");
		return -1;
	}
	return fd;
}

/* The runtime's argv (40 slots): bin --root root ARGS... */
static void
runc_argv(char **argv, char *bin, char *root, const char *const *args)
{
	int nargs = 0, i;

	argv[nargs++] = bin;
	argv[nargs++] = (char *)(uintptr_t)"--root";
	argv[nargs++] = root;
	for (i = 0; args[i] != NULL && nargs < 39; i++)
		argv[nargs++] = (char *)(uintptr_t)args[i];
	argv[nargs] = NULL;
}

/*
 * The runtime lock.  The runtime's processes outlive a SIGKILLed broker,
 * as they must (`run -d` leaves the plugin running), and a `runc run` in
 * flight goes on working on paths it resolves by name: it creates its
 * mount points below <plugin>/rootfs, re-creating that directory when a
 * restarted broker has just rolled an upgrade back and moved the new
 * rootfs away (found by tests/reliability/test_crash.sh).  So every
 * runtime process holds one open file description of
 * <data-root>/runtime.lock, locked LOCK_SH, at fd 3 for as long as it
 * runs (runc's own children get other fds there), and a starting broker
 * takes LOCK_EX on it before it touches any plugin directory.
 */
static int rt_lockfd = -1;

/* SIGKILL every process holding an open file of the lock's inode. */
static int
lock_holders_kill(int fd)
{
	char path[64], fdp[320];
	struct dirent *de, *fe;
	struct stat lk, st;
	DIR *proc, *fds;
	int n = 0;
	pid_t pid;

	if (fstat(fd, &lk) == -1 || (proc = opendir("/proc")) == NULL)
		return 0;
	while ((de = readdir(proc)) != NULL) {
		if ((pid = (pid_t)atoi(de->d_name)) <= 1 || pid == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
		if ((fds = opendir(path)) == NULL)
			continue;
		while ((fe = readdir(fds)) != NULL) {
			snprintf(fdp, sizeof(fdp), "%s/%s", path, fe->d_name);
			if (fe->d_name[0] == '.' || stat(fdp, &st) == -1 ||
			    st.st_dev != lk.st_dev || st.st_ino != lk.st_ino)
				continue;
			/*
			 * Safety: only processes the broker started hold this
			 * root-only file open (it leaves the broker at fd 3 of
			 * a runtime, nowhere else); this one has outlived its
			 * broker by the whole wait, and the restore cleans up
			 * the container it may leave half made.
			 */
			log_warnx("runtime process %d of a previous plugind still runs "
			    "after %d s: killed", (int)pid, RT_LOCK_WAIT_S);
			(void)kill(pid, SIGKILL);
			n++;
			break;
		}
		closedir(fds);
	}
	closedir(proc);
	return n;
}

/* Wait up to ms for LOCK_EX on fd. */
static int
lock_wait(int fd, uint64_t ms)
{
	uint64_t deadline = pd_now_ms() + ms, delay = 1;

	while (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if ((errno != EWOULDBLOCK && errno != EINTR) ||
		    pd_now_ms() >= deadline)
			return -1;
		usleep((useconds_t)(delay * 1000));
		if (delay < 100)
			delay *= 2;
	}
	return 0;
}

/*
 * At start, before any plugin directory is read: wait for the runtime
 * processes a previous broker left (up to RT_LOCK_WAIT_S, then they are
 * killed), then hold the lock for our own.
 */
void
runtime_quiesce(void)
{
	char path[4200];
	uint64_t t0;
	int fd;

	snprintf(path, sizeof(path), "%s/runtime.lock", conf.data_root);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) ==
	    -1)
		fatal("open %s", path);
	if (lock_wait(fd, 0) == -1) {
		t0 = pd_now_ms();
		if (lock_wait(fd, RT_LOCK_WAIT_S * 1000) == -1 &&
		    (lock_holders_kill(fd) == 0 || lock_wait(fd, 5000) == -1))
			log_warnx("%s is still held: runtime processes of a previous "
			    "plugind may still run", path);
		else
			log_info("waited %llu ms for the runtime processes a previous "
			    "plugind left running (%s)",
			    (unsigned long long)(pd_now_ms() - t0), path);
	}
	/* Ours from now on, shared with every runtime process we start. */
	if (flock(fd, LOCK_SH) == -1)
		log_warn("lock %s", path);
	rt_lockfd = fd;
}

/* The forked child of runtime_runc; o takes its stdout and stderr. */
static __dead void
runc_child(int exfd, int devnull, int o, char *const *argv)
{
	static char *const envp[] = { (char *)(uintptr_t)"PATH=" DEFAULT_PATH,
	    NULL };
	sigset_t none;

	/*
	 * Child: async-signal-safe calls only, then exec the runtime
	 * as root.  Safety: the binary is conf.runtime (the admin's),
	 * run by the fd runtime_binary() checked (execveat), the
	 * arguments are broker-made paths and a 64-hex id, the
	 * environment is a fixed PATH; no other fd than stdio and the
	 * runtime lock (runtime_quiesce) passes.
	 * The broker's blocked signals and ignored SIGPIPE are reset:
	 * the plugin inherits this state through runc.
	 */
	sigemptyset(&none);
	signal(SIGPIPE, SIG_DFL);
	sigprocmask(SIG_SETMASK, &none, NULL);
	(void)setsid();
	if ((exfd = fcntl(exfd, F_DUPFD_CLOEXEC, 4)) == -1)
		_exit(126);
	if (dup2(devnull, 0) == -1 || dup2(o, 1) == -1 || dup2(o, 2) == -1)
		_exit(126);
	/*
	 * fd 3: the runtime lock, held for as long as this runtime runs
	 * (dup2 onto itself would leave it close-on-exec).
	 */
	if (rt_lockfd < 0)
		(void)close(3);
	else if ((rt_lockfd == 3 ? fcntl(3, F_SETFD, 0) :
	    dup2(rt_lockfd, 3)) == -1)
		_exit(126);
	if ((exfd > 4 && syscall(SYS_close_range, 4U, (unsigned)exfd - 1,
	    0) == -1) || syscall(SYS_close_range, (unsigned)exfd + 1, ~0U,
	    0) == -1)
		_exit(126);
	syscall(SYS_execveat, exfd, "", argv, envp, AT_EMPTY_PATH);
	_exit(127);
}

/*
 * Read the runtime's output from fd into out (NUL-terminated; what does
 * not fit is drained) until EOF or timeout_ms without any.
 */
static void
runc_collect(int fd, char *out, size_t outlen, int timeout_ms)
{
	size_t got = 0;
	ssize_t n;

	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };

		if (poll(&pfd, 1, timeout_ms) <= 0)
			break;
		if (out != NULL && got + 1 < outlen)
			n = read(fd, out + got, outlen - got - 1);
		else {
			char sink[512];

			n = read(fd, sink, sizeof(sink));
		}
		if (n <= 0)
			break;
		if (out != NULL && got + 1 < outlen)
			got += (size_t)n;
	}
	if (out != NULL && outlen > 0)
		out[got] = '\0';
}

/*
 * Run `<runtime> --root <exec-root>/runc ARGS...`.  Its stdout and stderr
 * go to outfd when outfd >= 0 (a plugin's log: `run -d` hands them to the
 * plugin), else they are captured into out.  The child gets a clean
 * signal state and its own session; it is not killed with the broker.
 */
int
runtime_runc(const char *const *args, int outfd, char *out, size_t outlen,
    int timeout_ms, int *status, struct pd_err *e)
{
	char bin[4096], root[4096], *argv[40];
	int p[2] = { -1, -1 }, devnull, rc, exfd;
	pid_t pid;

	if ((exfd = runtime_binary(bin, sizeof(bin), e)) == -1)
		return -1;
	snprintf(root, sizeof(root), "%s/runc", conf.exec_root);
	runc_argv(argv, bin, root, args);
	if (out != NULL && outlen > 0)
		out[0] = '\0';
	if ((devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1) {
		close(exfd);
		return pd_errno(e, PD_E_INTERNAL, "open /dev/null");
	}
	if (outfd < 0 && pipe2(p, O_CLOEXEC) == -1) {
		close(devnull);
		close(exfd);
		return pd_errno(e, PD_E_INTERNAL, "pipe");
	}
	pid = helper_fork_owned();
	if (pid == -1) {
		rc = pd_errno(e, PD_E_INTERNAL, "fork");
		goto out;
	}
	if (pid == 0)
		runc_child(exfd, devnull, outfd >= 0 ? outfd : p[1], argv);
	if (p[1] >= 0) {
		close(p[1]);
		p[1] = -1;
		runc_collect(p[0], out, outlen, timeout_ms);
	}
	if (helper_wait_owned(pid, status, timeout_ms) == -1)
		rc = pd_errf(e, PD_E_UNAVAIL, "%s %s did not finish within %d ms "
		    "(killed)", bin, args[0], timeout_ms);
	else
		rc = 0;
out:
	close(devnull);
	close(exfd);
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	return rc;
}

/*
 * The runtime's view of container `id`: 0 with its pid and status
 * ("running", "stopped", "created", "paused"), or -1 if it has no state.
 */
int
runtime_state(const char *id, pid_t *pid, char *status, size_t len)
{
	const char *args[] = { "state", id, NULL };
	char out[8192];
	struct pd_err e;
	json_t *j;
	int st;

	*pid = 0;
	if (status != NULL && len > 0)
		status[0] = '\0';
	if (runtime_runc(args, -1, out, sizeof(out), 10000, &st, &e) == -1 ||
	    !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -1;
	if ((j = json_loads(out, 0, NULL)) == NULL)
		return -1;
	*pid = (pid_t)json_integer_value(json_object_get(j, "pid"));
	if (status != NULL)
		snprintf(status, len, "%s", str_at(j, "status") ? str_at(j, "status") :
		    "");
	json_decref(j);
	return 0;
}

/* `runc delete -f`: kills what is left, removes cgroups and state. */
int
runtime_delete(const char *id, struct pd_err *e)
{
	const char *args[] = { "delete", "-f", id, NULL };
	char out[2048];
	int st;

	if (runtime_runc(args, -1, out, sizeof(out), 30000, &st, e) == -1)
		return -1;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	/* runc has no exit codes to tell them apart: its text is all there is. */
	if (strstr(out, "does not exist") != NULL || strstr(out, "not exist") !=
	    NULL)
		return 0;
	out[strcspn(out, "\n")] = '\0';
	return pd_errf(e, PD_E_UNAVAIL, "%s delete %s: %s", conf.runtime, id, out);
}

/* The last error the runtime logged (runc --log-format json), if any. */
void
runtime_last_error(const char *logpath, char *buf, size_t len)
{
	char line[4096];
	const char *msg;
	json_t *j;
	FILE *f;

	buf[0] = '\0';
	if ((f = fopen(logpath, "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if ((j = json_loads(line, 0, NULL)) == NULL)
			continue;
		if (str_at(j, "level") != NULL && strcmp(str_at(j, "level"), "error") ==
		    0 && (msg = str_at(j, "msg")) != NULL)
			snprintf(buf, len, "%s", msg);
		json_decref(j);
	}
	fclose(f);
}

/* ---- mounts under the data root ---- */

/* Undo mountinfo's octal escapes (\040 and friends) in place. */
static void
unescape_mountinfo(char *s)
{
	char *w = s;

	while (*s != '\0') {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 4;
		} else
			*w++ = *s++;
	}
	*w = '\0';
}

/* Mount points at or below prefix, in mountinfo order; returns the count. */
static size_t
mounts_below(const char *prefix, char ***out)
{
	char *line = NULL, *f[6], *p, **list = NULL;
	size_t cap = 0, n = 0, plen = strlen(prefix), i;
	FILE *fp;

	*out = NULL;
	if ((fp = fopen("/proc/self/mountinfo", "re")) == NULL)
		return 0;
	while (getline(&line, &cap, fp) != -1) {
		p = line;
		for (i = 0; i < 5; i++) {
			f[i] = strsep(&p, " ");
			if (f[i] == NULL)
				break;
		}
		if (i < 5)
			continue;
		unescape_mountinfo(f[4]);
		if (strncmp(f[4], prefix, plen) != 0 || (f[4][plen] != '\0' &&
		    f[4][plen] != '/'))
			continue;
		list = realloc(list, (n + 1) * sizeof(*list));
		if (list == NULL)
			break;
		list[n++] = xstrdup(f[4]);
	}
	free(line);
	fclose(fp);
	*out = list;
	return list ? n : 0;
}

static void
free_list(char **l, size_t n)
{
	while (n > 0)
		free(l[--n]);
	free(l);
}

int
runtime_mounted_under(const char *prefix)
{
	char **l;
	size_t n = mounts_below(prefix, &l);

	free_list(l, n);
	return (int)n;
}

/*
 * Detach every mount at or below prefix (a plugin's directory under the
 * data root, or its socket directory under the exec root), deepest
 * first, until none is left.
 */
int
runtime_unmount_under(const char *prefix, struct pd_err *e)
{
	char **l;
	size_t n, i;
	int pass;

	for (pass = 0; pass < 8; pass++) {
		if ((n = mounts_below(prefix, &l)) == 0)
			return 0;
		for (i = n; i-- > 0;) {
			/*
			 * Safety: only mount points below the broker's own plugin
			 * or socket directory, taken from the kernel's mount
			 * table; the plugin is stopped; the last component is
			 * not followed.
			 */
			if (umount2(l[i], MNT_DETACH | UMOUNT_NOFOLLOW) == -1 &&
			    errno != EINVAL && errno != ENOENT)
				log_warn("umount %s", l[i]);
		}
		free_list(l, n);
	}
	n = mounts_below(prefix, &l);
	if (n > 0)
		pd_errf(e, PD_E_IO, "%s is still mounted (%zu mounts below %s)", l[0],
		    n, prefix);
	free_list(l, n);
	return n > 0 ? -1 : 0;
}

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "plugincfg.h"

enum ftype {
	F_STR,		/* string, absent -> "" */
	F_NSTR,		/* string or null, absent -> null */
	F_BOOL,
	F_U32,
	F_STRS,		/* array of strings or null */
	F_OBJ,		/* nested struct, absent -> {} with zero fields */
	F_OBJS,		/* array of structs or null */
	F_OPTOBJ	/* nested struct, absent stays absent (rootfs) */
};

struct field {
	const char		*name;
	enum ftype		 type;
	const struct field	*sub;
};

/* Every settable item (env, mount, device, args) starts so. */
#define SETTABLE_HEAD \
	{ "Name", F_STR, NULL }, \
	{ "Description", F_STR, NULL }, \
	{ "Settable", F_STRS, NULL }

static const struct field f_iface[] = {
	{ "Types", F_STRS, NULL },
	{ "Socket", F_STR, NULL },
	{ "ProtocolScheme", F_STR, NULL },
	{ NULL, 0, NULL }
};
static const struct field f_network[] = {
	{ "Type", F_STR, NULL },
	{ NULL, 0, NULL }
};
static const struct field f_mount[] = {
	SETTABLE_HEAD,
	{ "Source", F_NSTR, NULL },
	{ "Destination", F_STR, NULL },
	{ "Type", F_STR, NULL },
	{ "Options", F_STRS, NULL },
	{ NULL, 0, NULL }
};
static const struct field f_env[] = {
	SETTABLE_HEAD,
	{ "Value", F_NSTR, NULL },
	{ NULL, 0, NULL }
};
static const struct field f_args[] = {
	SETTABLE_HEAD,
	{ "Value", F_STRS, NULL },
	{ NULL, 0, NULL }
};
static const struct field f_device[] = {
	SETTABLE_HEAD,
	{ "Path", F_NSTR, NULL },
	{ NULL, 0, NULL }
};
static const struct field f_linux[] = {
	{ "Capabilities", F_STRS, NULL },
	{ "AllowAllDevices", F_BOOL, NULL },
	{ "Devices", F_OBJS, f_device },
	{ NULL, 0, NULL }
};
static const struct field f_user[] = {
	{ "UID", F_U32, NULL },
	{ "GID", F_U32, NULL },
	{ NULL, 0, NULL }
};
static const struct field f_rootfs[] = {
	{ "type", F_STR, NULL },
	{ "diff_ids", F_STRS, NULL },
	{ NULL, 0, NULL }
};
/* Docker's encoding order (api/types/plugin). */
static const struct field f_config[] = {
	{ "Args", F_OBJ, f_args },
	{ "Description", F_STR, NULL },
	{ "Documentation", F_STR, NULL },
	{ "Entrypoint", F_STRS, NULL },
	{ "Env", F_OBJS, f_env },
	{ "Interface", F_OBJ, f_iface },
	{ "IpcHost", F_BOOL, NULL },
	{ "Linux", F_OBJ, f_linux },
	{ "Mounts", F_OBJS, f_mount },
	{ "Network", F_OBJ, f_network },
	{ "PidHost", F_BOOL, NULL },
	{ "PropagatedMount", F_STR, NULL },
	{ "User", F_OBJ, f_user },
	{ "WorkDir", F_STR, NULL },
	{ "rootfs", F_OPTOBJ, f_rootfs },
	{ NULL, 0, NULL }
};

static json_t *decode(const json_t *, const struct field *, const char *,
    struct pd_err *);

/* Go's encoding/json: the exact key wins, else a case-insensitive one. */
static const json_t *
getkey(const json_t *obj, const char *name)
{
	const json_t *v, *hit = NULL;
	const char *k;

	if ((v = json_object_get(obj, name)) != NULL)
		return v;
	json_object_foreach((json_t *)(uintptr_t)obj, k, v)
		if (strcasecmp(k, name) == 0)
			hit = v;
	return hit;
}

static int
type_err(struct pd_err *e, const char *path, const char *name, const char *want)
{
	return pd_errf(e, PD_E_INVAL, "invalid plugin config: \"%s%s%s\" must be %s",
	    path, path[0] ? "." : "", name, want);
}

static const char *
type_want(enum ftype t)
{
	return t == F_BOOL ? "a boolean" :
	    t == F_U32 ? "a 32-bit unsigned integer" :
	    t == F_STRS || t == F_OBJS ? "an array" :
	    t == F_OBJ || t == F_OPTOBJ ? "an object" : "a string";
}

/* F_STRS, v an array: a copy if it holds strings only. */
static json_t *
decode_strs(const json_t *v, const struct field *f, const char *path,
    struct pd_err *e)
{
	json_t *arr, *x;
	size_t i;

	arr = json_array();
	json_array_foreach(v, i, x) {
		if (!json_is_string(x)) {
			json_decref(arr);
			type_err(e, path, f->name, "an array of strings");
			return NULL;
		}
		json_array_append(arr, x);
	}
	return arr;
}

/* F_OBJS, v an array: each element decoded as f->sub. */
static json_t *
decode_objs(const json_t *v, const struct field *f, const char *path,
    struct pd_err *e)
{
	char sub[256];
	json_t *arr, *x;
	size_t i;

	arr = json_array();
	json_array_foreach(v, i, x) {
		snprintf(sub, sizeof(sub), "%s%s%s[%zu]", path, path[0] ? "." : "",
		    f->name, i);
		if (!json_is_object(x)) {
			json_decref(arr);
			pd_errf(e, PD_E_INVAL, "invalid plugin config: \"%s\" must be "
			    "an object", sub);
			return NULL;
		}
		if ((x = decode(x, f->sub, sub, e)) == NULL) {
			json_decref(arr);
			return NULL;
		}
		json_array_append_new(arr, x);
	}
	return arr;
}

/* An absent F_OBJ: every field of f->sub at its default. */
static json_t *
decode_absent_obj(const struct field *f, const char *path, struct pd_err *e)
{
	json_t *empty, *r;

	empty = json_object();
	r = decode(empty, f->sub, path, e);
	json_decref(empty);
	return r;
}

/*
 * One field's value v (NULL: absent), as Go would decode and re-encode
 * it.  NULL with e->code still PD_E_OK means: leave it out.
 */
static json_t *
decode_one(const json_t *v, const struct field *f, const char *path,
    struct pd_err *e)
{
	char sub[256];
	json_int_t n;
	int absent = v == NULL || json_is_null(v);

	switch (f->type) {
	case F_STR:
	case F_NSTR:
		if (absent)
			return f->type == F_STR ? json_string("") : json_null();
		if (!json_is_string(v))
			break;
		return json_copy((json_t *)(uintptr_t)v);
	case F_BOOL:
		if (absent)
			return json_false();
		if (!json_is_boolean(v))
			break;
		return json_boolean(json_is_true(v));
	case F_U32:
		if (absent)
			return NULL;	/* omitempty */
		if (!json_is_integer(v) || (n = json_integer_value(v)) < 0 ||
		    n > 0xffffffffLL)
			break;
		return n == 0 ? NULL : json_integer(n);
	case F_STRS:
	case F_OBJS:
		if (absent)
			return json_null();
		if (!json_is_array(v))
			break;
		return f->type == F_STRS ? decode_strs(v, f, path, e) :
		    decode_objs(v, f, path, e);
	case F_OBJ:
	case F_OPTOBJ:
		if (absent)
			return f->type == F_OBJ ?
			    decode_absent_obj(f, path, e) : NULL;
		if (!json_is_object(v))
			break;
		snprintf(sub, sizeof(sub), "%s%s%s", path, path[0] ? "." : "", f->name);
		return decode(v, f->sub, sub, e);
	}
	type_err(e, path, f->name, type_want(f->type));
	return NULL;
}

static json_t *
decode(const json_t *obj, const struct field *fields, const char *path,
    struct pd_err *e)
{
	const struct field *f;
	json_t *out = json_object(), *v;

	if (obj == NULL) {
		json_decref(out);
		return NULL;
	}
	for (f = fields; f->name != NULL; f++) {
		e->code = PD_E_OK;
		v = decode_one(getkey(obj, f->name), f, path, e);
		if (v == NULL) {
			if (e->code != PD_E_OK) {
				json_decref(out);
				return NULL;
			}
			continue;	/* omitted field */
		}
		json_object_set_new(out, f->name, v);
	}
	if (json_object_size(obj) == 0 && fields == f_config) {
		json_decref(out);
		pd_errf(e, PD_E_INVAL, "invalid plugin config: empty object");
		return NULL;
	}
	return out;
}

/*
 * The privilege model (docs/GRANTS.md).  Every path a config names must
 * be clean: absolute, no "." or ".." component, no "//", no trailing
 * "/", no control characters, so that what the user is shown is the
 * path that is used.  Paths inside the plugin (WorkDir, Entrypoint[0],
 * PropagatedMount, mount destinations) must also stay out of /proc,
 * /sys and /dev, where a mount or a working directory reaches the
 * kernel (CVE-2024-21626 began with a WorkDir of /proc/self/fd/N).
 */
#define P_EMPTY_OK	0x01	/* "" means unset */
#define P_BARE_OK	0x02	/* a command name without '/' (PATH lookup) */
#define P_INSIDE	0x04	/* not under /proc, /sys, /dev */
#define P_NOT_ROOT	0x08	/* not "/" itself */
#define P_SHM_OK	0x10	/* /dev/shm exactly is allowed (a tmpfs) */

static const char *kernel_dirs[] = { "/proc", "/sys", "/dev", NULL };

/* "/proc" if s is /proc or below it (likewise /sys, /dev), else NULL. */
static const char *
under_kernel_dir(const char *s)
{
	size_t i, n;

	for (i = 0; kernel_dirs[i] != NULL; i++) {
		n = strlen(kernel_dirs[i]);
		if (strncmp(s, kernel_dirs[i], n) == 0 && (s[n] == '\0' ||
		    s[n] == '/'))
			return kernel_dirs[i];
	}
	return NULL;
}

static int
path_check(const char *field, const char *s, int flags, struct pd_err *e)
{
	const char *p, *c, *k;

	if (s == NULL || s[0] == '\0') {
		if (flags & P_EMPTY_OK)
			return 0;
		return pd_errf(e, PD_E_INVAL, "%s is empty: it must be an absolute "
		    "path", field);
	}
	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return pd_errf(e, PD_E_INVAL, "%s must not contain control "
			    "characters", field);
	if (strlen(s) > 4096)
		return pd_errf(e, PD_E_INVAL, "%s is longer than 4096 bytes", field);
	if ((flags & P_BARE_OK) && strchr(s, '/') == NULL &&
	    strcmp(s, ".") != 0 && strcmp(s, "..") != 0)
		return 0;
	if (s[0] != '/')
		return pd_errf(e, PD_E_INVAL, "%s \"%.100s\": must be an absolute "
		    "path%s", field, s, (flags & P_BARE_OK) ? " or a command name "
		    "without '/'" : "");
	if (strcmp(s, "/") == 0) {
		if (flags & P_NOT_ROOT)
			return pd_errf(e, PD_E_INVAL, "%s \"/\": must be a directory "
			    "below /, not / itself", field);
		return 0;
	}
	for (p = s + 1;; p = c + 1) {
		c = p + strcspn(p, "/");
		if (c == p || (c - p == 1 && p[0] == '.') ||
		    (c - p == 2 && p[0] == '.' && p[1] == '.'))
			return pd_errf(e, PD_E_INVAL, "%s \"%.100s\": must be a clean "
			    "path (no \".\" or \"..\" component, no \"//\", no trailing "
			    "\"/\")", field, s);
		if (*c == '\0')
			break;
	}
	if ((flags & P_INSIDE) && (k = under_kernel_dir(s)) != NULL &&
	    !((flags & P_SHM_OK) && strcmp(s, "/dev/shm") == 0))
		return pd_errf(e, PD_E_INVAL, "%s \"%.100s\": must not be under %s",
		    field, s, k);
	return 0;
}

static int
in_strs(const char *const *list, const char *s)
{
	size_t i;

	for (i = 0; list[i] != NULL; i++)
		if (strcmp(list[i], s) == 0)
			return 1;
	return 0;
}

static const char *const mnt_flags[] = { "ro", "rw", "nosuid", "nodev",
    "noexec", "exec", "noatime", "nodiratime", "relatime", "strictatime",
    NULL };
static const char *const bind_only[] = { "bind", "rbind", "private",
    "rprivate", "slave", "rslave", "unbindable", "runbindable", NULL };

/* "N", "Nk", "Nm", "Ng" (and "N%" if pct) with N > 0, decimal. */
static int
tmpfs_size_ok(const char *v, int pct)
{
	const char *p = v;
	int nonzero = 0;

	if (*p < '0' || *p > '9')
		return 0;
	for (; *p >= '0' && *p <= '9'; p++)
		nonzero |= *p != '0';
	if (p - v > 12)
		return 0;
	if (*p != '\0' && (p[1] != '\0' || strchr(pct ? "kmgKMG%" : "kmgKMG",
	    *p) == NULL))
		return 0;
	return nonzero;
}

static int
digits_ok(const char *v, int octal)
{
	const char *p;

	if (*v == '\0' || strlen(v) > 10)
		return 0;
	for (p = v; *p != '\0'; p++)
		if (*p < '0' || *p > (octal ? '7' : '9'))
			return 0;
	return 1;
}

/* One mount option of a mount of type t (bind or tmpfs): NULL if allowed, else why not. */
static const char *
option_refused(const char *t, const char *o)
{
	int tmpfs = strcmp(t, "tmpfs") == 0;

	if (strcmp(o, "suid") == 0)
		return "would honour set-user-ID and set-group-ID files (plugind "
		    "mounts nosuid)";
	if (strcmp(o, "dev") == 0)
		return "would let the plugin open device nodes on the mount (plugind "
		    "mounts nodev; grant devices with Linux.Devices)";
	if (strcmp(o, "shared") == 0 || strcmp(o, "rshared") == 0)
		return "would propagate the plugin's mounts to the host (use "
		    "PropagatedMount)";
	if (in_strs(mnt_flags, o))
		return NULL;
	if (!tmpfs && in_strs(bind_only, o))
		return NULL;
	if (tmpfs && (strcmp(o, "bind") == 0 || strcmp(o, "rbind") == 0))
		return "would turn the tmpfs into a bind mount of its source";
	if (tmpfs && strncmp(o, "size=", 5) == 0)
		return tmpfs_size_ok(o + 5, 1) ? NULL : "must be a size above 0 "
		    "(N, Nk, Nm, Ng or N%; 0 means unbounded)";
	if (tmpfs && strncmp(o, "nr_inodes=", 10) == 0)
		return tmpfs_size_ok(o + 10, 0) ? NULL : "must be a count above 0 "
		    "(0 means unbounded)";
	if (tmpfs && strncmp(o, "mode=", 5) == 0)
		return digits_ok(o + 5, 1) && strlen(o + 5) <= 4 ? NULL :
		    "must be an octal mode";
	if (tmpfs && (strncmp(o, "uid=", 4) == 0 || strncmp(o, "gid=", 4) == 0))
		return digits_ok(o + 4, 0) ? NULL : "must be a decimal id";
	return tmpfs ? "is not an option plugind allows on a tmpfs mount" :
	    "is not an option plugind allows on a bind mount";
}

static int
has_str(const json_t *arr, const char *s)
{
	const json_t *v;
	size_t i;

	json_array_foreach(arr, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return 1;
	return 0;
}

static int
has_prefix(const json_t *arr, const char *pfx)
{
	const json_t *v;
	size_t i;

	json_array_foreach(arr, i, v)
		if (json_is_string(v) && strncmp(json_string_value(v), pfx,
		    strlen(pfx)) == 0)
			return 1;
	return 0;
}

/*
 * What config mount m becomes in the bundle, with src its effective
 * source (a string, or null while unset): {type, source, destination,
 * options}.  Only bind and tmpfs mounts exist (an allowlist: procfs,
 * sysfs, devtmpfs, cgroup, overlay and every other filesystem type are
 * refused).  A bind gets rbind if it names neither bind nor rbind, and
 * nosuid,nodev; a tmpfs gets nosuid,nodev and a size of 64 MiB unless
 * it names one.  The privilege shown for the mount is this result, and
 * the bundle is built from it.  what names the mount in errors.
 */
json_t *
pd_mount_effective(const json_t *m, const json_t *src, const char *what,
    struct pd_err *e)
{
	const char *type, *dst, *s, *why;
	const json_t *opts = json_object_get(m, "Options"), *v;
	char field[300];
	json_t *o;
	size_t i;

	type = json_string_value(json_object_get(m, "Type"));
	if (type == NULL)
		type = "";
	if (type[0] == '\0' && (has_str(opts, "bind") || has_str(opts, "rbind")))
		type = "bind";
	if (strcmp(type, "bind") != 0 && strcmp(type, "tmpfs") != 0) {
		pd_errf(e, PD_E_INVAL, "%s: type \"%.40s\" is not allowed: a plugin "
		    "may have bind and tmpfs mounts only", what, type);
		return NULL;
	}
	dst = json_string_value(json_object_get(m, "Destination"));
	snprintf(field, sizeof(field), "%s: Destination", what);
	if (path_check(field, dst, P_INSIDE | P_NOT_ROOT | (strcmp(type,
	    "tmpfs") == 0 ? P_SHM_OK : 0), e) == -1)
		return NULL;
	o = json_array();
	json_array_foreach(opts, i, v) {
		s = json_string_value(v);
		if (s == NULL || s[0] == '\0' || strpbrk(s, ", \t\n") != NULL)
			why = "must be one non-empty option without ',' or spaces";
		else
			why = option_refused(type, s);
		if (why != NULL) {
			pd_errf(e, PD_E_INVAL, "%s: %s mount option \"%.40s\" %s", what,
			    type, s ? s : "", why);
			json_decref(o);
			return NULL;
		}
		if (!has_str(o, s))
			json_array_append(o, (json_t *)(uintptr_t)v);
	}
	if (strcmp(type, "bind") == 0) {
		if (!has_str(o, "bind") && !has_str(o, "rbind"))
			json_array_append_new(o, json_string("rbind"));
		if (json_is_string(src)) {
			/*
			 * A host path: clean, and not a kernel filesystem by
			 * another name (a bind of /proc is procfs).
			 */
			snprintf(field, sizeof(field), "%s: Source", what);
			if (path_check(field, json_string_value(src), P_INSIDE, e) == -1) {
				json_decref(o);
				return NULL;
			}
		} else if (!json_is_null(src)) {
			json_decref(o);
			pd_errf(e, PD_E_INVAL, "%s: Source must be a string", what);
			return NULL;
		}
	} else {
		src = NULL;	/* a tmpfs has no host source */
		if (!has_prefix(o, "size="))
			json_array_append_new(o, json_string("size=65536k"));
	}
	if (!has_str(o, "nosuid"))
		json_array_append_new(o, json_string("nosuid"));
	if (!has_str(o, "nodev"))
		json_array_append_new(o, json_string("nodev"));
	return json_pack("{s:s, s:o, s:s, s:o}", "type", type, "source",
	    json_is_string(src) ? json_copy((json_t *)(uintptr_t)src) :
	    src == NULL ? json_string("tmpfs") : json_null(),
	    "destination", dst, "options", o);
}

/* "mount \"NAME\" (Mounts[3])", the way errors name a mount. */
static void
mount_label(const json_t *m, size_t i, char *buf, size_t len)
{
	const char *n = json_string_value(json_object_get(m, "Name"));

	snprintf(buf, len, "mount \"%.60s\" (Mounts[%zu])", n ? n : "", i);
}

/*
 * The whole config against the privilege model: paths, mounts, device
 * paths.  Host-side facts (symbolic links, what a path is) are the
 * broker's to check (broker/proc/grant.c host_paths_check).
 */
int
pd_config_check(const json_t *cfg, struct pd_err *e)
{
	const json_t *m, *d, *v;
	char what[300];
	size_t i;
	json_t *eff;

	if (path_check("WorkDir", json_string_value(json_object_get(cfg,
	    "WorkDir")), P_EMPTY_OK | P_INSIDE, e) == -1)
		return -1;
	v = json_array_get(json_object_get(cfg, "Entrypoint"), 0);
	if (v != NULL && path_check("Entrypoint[0]", json_string_value(v),
	    P_BARE_OK | P_INSIDE, e) == -1)
		return -1;
	if (path_check("PropagatedMount", json_string_value(json_object_get(cfg,
	    "PropagatedMount")), P_EMPTY_OK | P_INSIDE | P_NOT_ROOT, e) == -1)
		return -1;
	json_array_foreach(json_object_get(cfg, "Mounts"), i, m) {
		mount_label(m, i, what, sizeof(what));
		if ((eff = pd_mount_effective(m, json_object_get(m, "Source"), what,
		    e)) == NULL)
			return -1;
		json_decref(eff);
	}
	json_array_foreach(json_object_get(json_object_get(cfg, "Linux"),
	    "Devices"), i, d) {
		v = json_object_get(d, "Path");
		if (json_is_null(v))
			continue;	/* to be set before enable */
		snprintf(what, sizeof(what), "device \"%.60s\" (Linux.Devices[%zu]): "
		    "Path", json_string_value(json_object_get(d, "Name")) ?
		    json_string_value(json_object_get(d, "Name")) : "", i);
		if (path_check(what, json_string_value(v), 0, e) == -1)
			return -1;
	}
	return 0;
}

/*
 * Decode a config document from untrusted bytes and return the canonical
 * form, or NULL with e set.  Beyond Docker's decoding it insists on what
 * enable will need: an entrypoint, a socket file name without '/',
 * interface types of the form prefix.capability/version, and a config
 * within the privilege model (pd_config_check).
 */
json_t *
pd_config_canonical(const char *buf, size_t len, struct pd_err *e)
{
	json_error_t jerr;
	json_t *doc, *cfg, *v;
	const char *s, *slash, *dot;
	size_t i;

	if (len > PD_CONFIG_MAX) {
		pd_errf(e, PD_E_LIMIT, "plugin config is larger than %d bytes",
		    PD_CONFIG_MAX);
		return NULL;
	}
	doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL) {
		pd_errf(e, PD_E_INVAL, "failed to parse plugin config: %s (line %d)",
		    jerr.text, jerr.line);
		return NULL;
	}
	if (!json_is_object(doc)) {
		json_decref(doc);
		pd_errf(e, PD_E_INVAL, "invalid plugin config: not a JSON object");
		return NULL;
	}
	pd_err_clear(e);
	cfg = decode(doc, f_config, "", e);
	json_decref(doc);
	if (cfg == NULL)
		return NULL;
	v = json_object_get(json_object_get(cfg, "Interface"), "Socket");
	s = json_string_value(v);
	if (s == NULL || s[0] == '\0' || strchr(s, '/') != NULL ||
	    strcmp(s, ".") == 0 || strcmp(s, "..") == 0 || strlen(s) > 64) {
		json_decref(cfg);
		pd_errf(e, PD_E_INVAL, "invalid plugin config: \"Interface.Socket\" "
		    "must be a socket file name (no '/', at most 64 bytes)");
		return NULL;
	}
	json_array_foreach(json_object_get(json_object_get(cfg, "Interface"),
	    "Types"), i, v) {
		s = json_string_value(v);
		slash = strchr(s, '/');
		dot = slash ? memrchr(s, '.', (size_t)(slash - s)) : NULL;
		if (slash == NULL || dot == NULL || dot == s || slash[1] == '\0') {
			pd_errf(e, PD_E_INVAL, "invalid plugin config: interface type "
			    "\"%.100s\" is not of the form prefix.capability/version", s);
			json_decref(cfg);
			return NULL;
		}
	}
	if (json_array_size(json_object_get(cfg, "Entrypoint")) == 0) {
		json_decref(cfg);
		pd_errf(e, PD_E_INVAL, "invalid plugin config: \"Entrypoint\" is empty");
		return NULL;
	}
	if (pd_config_check(cfg, e) == -1) {
		char why[PD_ERR_MSGLEN];

		snprintf(why, sizeof(why), "%s", e->msg);
		pd_errf(e, PD_E_INVAL, "invalid plugin config: %s", why);
		json_decref(cfg);
		return NULL;
	}
	return cfg;
}

static void
add_priv(json_t *privs, const char *name, const char *desc, json_t *value)
{
	json_array_append_new(privs, json_pack("{s:s, s:s, s:o}", "Name", name,
	    "Description", desc, "Value", value));
}

/*
 * A mount as a privilege: every field that decides what the plugin
 * reaches, each as key=value so that a client that only prints Value
 * shows it whole.  From the effective mount (pd_mount_effective), so the
 * text shown is what the bundle gets.
 */
static json_t *
mount_priv_value(const json_t *eff)
{
	const json_t *v;
	json_t *out;
	size_t i, len = 0;
	char *opts;

	json_array_foreach(json_object_get(eff, "options"), i, v)
		len += json_string_length(v) + 1;
	opts = calloc(1, len + 1);
	if (opts == NULL)
		return NULL;
	json_array_foreach(json_object_get(eff, "options"), i, v) {
		if (i > 0)
			strcat(opts, ",");
		strcat(opts, json_string_value(v));
	}
	v = json_object_get(eff, "source");
	out = json_pack("[s+, s+, s+, s+]", "type=",
	    json_string_value(json_object_get(eff, "type")), "source=",
	    json_is_string(v) ? json_string_value(v) : "", "destination=",
	    json_string_value(json_object_get(eff, "destination")), "options=",
	    opts);
	free(opts);
	return out;
}

/*
 * Every privilege a config asks for: Docker's list (network, host
 * namespaces, mounts, devices, all devices, capabilities) in Docker's
 * order, with every mount (not only those with a source) shown whole,
 * and the propagated mount, which Docker does not show.  An empty list
 * is [].  A mount outside the privilege model (never in a canonical
 * config) is shown as refused rather than left out.
 */
json_t *
pd_config_privileges(const json_t *cfg)
{
	const json_t *lin = json_object_get(cfg, "Linux"), *v, *x;
	json_t *privs = json_array(), *eff;
	struct pd_err e;
	const char *nt;
	char what[300];
	size_t i;

	nt = json_string_value(json_object_get(json_object_get(cfg, "Network"),
	    "Type"));
	if (nt != NULL && nt[0] != '\0' && strcmp(nt, "null") != 0 &&
	    strcmp(nt, "bridge") != 0)
		add_priv(privs, "network", "permissions to access a network",
		    json_pack("[s]", nt));
	if (json_is_true(json_object_get(cfg, "IpcHost")))
		add_priv(privs, "host ipc namespace",
		    "allow access to host ipc namespace", json_pack("[s]", "true"));
	if (json_is_true(json_object_get(cfg, "PidHost")))
		add_priv(privs, "host pid namespace",
		    "allow access to host pid namespace", json_pack("[s]", "true"));
	json_array_foreach(json_object_get(cfg, "Mounts"), i, x) {
		mount_label(x, i, what, sizeof(what));
		if ((eff = pd_mount_effective(x, json_object_get(x, "Source"), what,
		    &e)) == NULL) {
			add_priv(privs, "mount", "refused mount", json_pack("[s]",
			    e.msg));
			continue;
		}
		add_priv(privs, "mount", strcmp(json_string_value(json_object_get(
		    eff, "type")), "tmpfs") == 0 ? "memory-backed tmpfs to mount" :
		    "host path to mount", mount_priv_value(eff));
		json_decref(eff);
	}
	v = json_object_get(cfg, "PropagatedMount");
	if (json_string_length(v) > 0)
		add_priv(privs, "propagated mount", "mounts the plugin makes below "
		    "this path appear on the host", json_pack("[O]", v));
	json_array_foreach(json_object_get(lin, "Devices"), i, x)
		if (json_is_string(v = json_object_get(x, "Path")))
			add_priv(privs, "device", "host device to access",
			    json_pack("[O]", v));
	if (json_is_true(json_object_get(lin, "AllowAllDevices")))
		add_priv(privs, "allow-all-devices",
		    "allow 'rwm' access to all devices", json_pack("[s]", "true"));
	v = json_object_get(lin, "Capabilities");
	if (json_array_size(v) > 0)
		add_priv(privs, "capabilities",
		    "list of additional capabilities required", json_copy((json_t *)
		    (uintptr_t)v));
	return privs;
}

/* Initial Settings (moby's InitEmptySettings): arrays are [] never null. */
json_t *
pd_config_settings(const json_t *cfg)
{
	json_t *env = json_array(), *mounts, *devices, *args, *x;
	const json_t *v;
	size_t i;

	json_array_foreach(json_object_get(cfg, "Env"), i, x)
		if (json_is_string(v = json_object_get(x, "Value")))
			json_array_append_new(env, json_sprintf("%s=%s",
			    json_string_value(json_object_get(x, "Name")),
			    json_string_value(v)));
	v = json_object_get(cfg, "Mounts");
	mounts = json_is_array(v) ? json_deep_copy(v) : json_array();
	v = json_object_get(json_object_get(cfg, "Linux"), "Devices");
	devices = json_is_array(v) ? json_deep_copy(v) : json_array();
	v = json_object_get(json_object_get(cfg, "Args"), "Value");
	args = json_is_array(v) ? json_deep_copy(v) : json_array();
	return json_pack("{s:o, s:o, s:o, s:o}", "Args", args, "Devices", devices,
	    "Env", env, "Mounts", mounts);
}

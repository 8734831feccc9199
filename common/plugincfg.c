#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
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
	{ "Name", F_STR, NULL },
	{ "Description", F_STR, NULL },
	{ "Settable", F_STRS, NULL },
	{ "Source", F_NSTR, NULL },
	{ "Destination", F_STR, NULL },
	{ "Type", F_STR, NULL },
	{ "Options", F_STRS, NULL },
	{ NULL, 0, NULL }
};
static const struct field f_env[] = {
	{ "Name", F_STR, NULL },
	{ "Description", F_STR, NULL },
	{ "Settable", F_STRS, NULL },
	{ "Value", F_NSTR, NULL },
	{ NULL, 0, NULL }
};
static const struct field f_args[] = {
	{ "Name", F_STR, NULL },
	{ "Description", F_STR, NULL },
	{ "Settable", F_STRS, NULL },
	{ "Value", F_STRS, NULL },
	{ NULL, 0, NULL }
};
static const struct field f_device[] = {
	{ "Name", F_STR, NULL },
	{ "Description", F_STR, NULL },
	{ "Settable", F_STRS, NULL },
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
/* Docker's encoding order (SPEC §2.1). */
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

static json_t *
decode_one(const json_t *v, const struct field *f, const char *path,
    struct pd_err *e)
{
	char sub[256];
	json_t *arr, *x;
	size_t i;
	json_int_t n;

	switch (f->type) {
	case F_STR:
		if (v == NULL || json_is_null(v))
			return json_string("");
		if (!json_is_string(v))
			break;
		return json_copy((json_t *)(uintptr_t)v);
	case F_NSTR:
		if (v == NULL || json_is_null(v))
			return json_null();
		if (!json_is_string(v))
			break;
		return json_copy((json_t *)(uintptr_t)v);
	case F_BOOL:
		if (v == NULL || json_is_null(v))
			return json_false();
		if (!json_is_boolean(v))
			break;
		return json_boolean(json_is_true(v));
	case F_U32:
		if (v == NULL || json_is_null(v))
			return NULL;	/* omitempty */
		if (!json_is_integer(v) || (n = json_integer_value(v)) < 0 ||
		    n > 0xffffffffLL)
			break;
		return n == 0 ? NULL : json_integer(n);
	case F_STRS:
		if (v == NULL || json_is_null(v))
			return json_null();
		if (!json_is_array(v))
			break;
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
	case F_OBJ:
	case F_OPTOBJ:
		if (v == NULL || json_is_null(v)) {
			json_t *empty, *r;

			if (f->type != F_OBJ)
				return NULL;
			empty = json_object();
			r = decode(empty, f->sub, path, e);
			json_decref(empty);
			return r;
		}
		if (!json_is_object(v))
			break;
		snprintf(sub, sizeof(sub), "%s%s%s", path, path[0] ? "." : "", f->name);
		return decode(v, f->sub, sub, e);
	case F_OBJS:
		if (v == NULL || json_is_null(v))
			return json_null();
		if (!json_is_array(v))
			break;
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
	type_err(e, path, f->name, f->type == F_BOOL ? "a boolean" :
	    f->type == F_U32 ? "a 32-bit unsigned integer" :
	    f->type == F_STRS || f->type == F_OBJS ? "an array" :
	    f->type == F_OBJ || f->type == F_OPTOBJ ? "an object" : "a string");
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
 * A path inside the plugin (mount destination, PropagatedMount): empty
 * (unset), or absolute, not "/" itself, without "." or ".." components.
 * runc would keep ".." inside the rootfs anyway; "/" would cover it.
 */
static int
plugin_path_ok(const char *s)
{
	const char *p, *c;
	size_t n;

	if (s[0] == '\0')
		return 1;
	if (s[0] != '/' || strlen(s) > 4096)
		return 0;
	n = 0;
	for (p = s; *p != '\0'; p = c) {
		while (*p == '/')
			p++;
		c = p + strcspn(p, "/");
		if (c == p)
			break;
		if ((c - p == 1 && p[0] == '.') ||
		    (c - p == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		n++;
	}
	return n > 0;
}

static int
config_paths_ok(const json_t *cfg, struct pd_err *e)
{
	const json_t *m;
	const char *s;
	size_t i;

	s = json_string_value(json_object_get(cfg, "PropagatedMount"));
	if (s != NULL && !plugin_path_ok(s))
		return pd_errf(e, PD_E_INVAL, "invalid plugin config: "
		    "\"PropagatedMount\" \"%.100s\" must be an absolute path below /, "
		    "without . or .. components", s);
	json_array_foreach(json_object_get(cfg, "Mounts"), i, m) {
		s = json_string_value(json_object_get(m, "Destination"));
		if (s != NULL && !plugin_path_ok(s))
			return pd_errf(e, PD_E_INVAL, "invalid plugin config: mount "
			    "%zu: \"Destination\" \"%.100s\" must be an absolute path "
			    "below /, without . or .. components", i, s);
	}
	return 0;
}

/*
 * Decode a config document from untrusted bytes and return the canonical
 * form, or NULL with e set.  Beyond Docker's decoding it insists on what
 * enable will need: an entrypoint, a socket file name without '/',
 * interface types of the form prefix.capability/version, and mount
 * destinations and PropagatedMount that name a directory below / (M13).
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
	if (config_paths_ok(cfg, e) == -1) {
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

/* SPEC §6.1, in its exact order; an empty list is returned as []. */
json_t *
pd_config_privileges(const json_t *cfg)
{
	const json_t *lin = json_object_get(cfg, "Linux"), *v, *x;
	json_t *privs = json_array();
	const char *nt;
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
	json_array_foreach(json_object_get(cfg, "Mounts"), i, x)
		if (json_is_string(v = json_object_get(x, "Source")))
			add_priv(privs, "mount", "host path to mount",
			    json_pack("[O]", v));
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

/* Initial Settings (SPEC §2.2): arrays are [] never null. */
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

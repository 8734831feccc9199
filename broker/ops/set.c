/*
 * `set` (moby's plugin/v2/settable.go): <name>[.<field>][=<value>] against
 * env, mounts, devices, args, in that order.  All arguments are checked and
 * applied to copies; the plugin changes only when every one of them
 * succeeded.  Unlike Docker (whose device set is lost on restart), a mount
 * source or device path is changed in Config and Settings alike, so what
 * inspect shows is what runs, and the result is checked against the
 * privilege model (docs/GRANTS.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"
#include "log.h"

enum kind { K_ENV, K_MOUNT, K_DEVICE, K_ARGS };

static const char *allowed_field[] = { "value", "source", "path", "value" };

static int
in_list(const json_t *list, const char *s)
{
	const json_t *v;
	size_t i;

	json_array_foreach(list, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return 1;
	return 0;
}

static json_t *
find_named(json_t *arr, const char *name, size_t *idx)
{
	json_t *v;
	size_t i;

	json_array_foreach(arr, i, v)
		if (json_is_string(json_object_get(v, "Name")) &&
		    strcmp(json_string_value(json_object_get(v, "Name")), name) == 0) {
			*idx = i;
			return v;
		}
	return NULL;
}

/* One argument, <name>[.<field>][=<value>], taken apart. */
struct setarg {
	char		 name[PD_STR_ARG + 1];	/* without .<field> */
	char		 full[PD_STR_ARG + 1];	/* with it, for messages */
	const char	*field;			/* or NULL */
	const char	*value;
};

static int
parse_arg(const char *arg, struct setarg *a, struct pd_err *e)
{
	const char *eq;
	char *dot;
	size_t n;

	if (arg[0] == '=')
		return pd_errf(e, PD_E_INVAL, "invalid format, must be "
		    "<name>[.<field>][=<value>]");
	eq = strchr(arg, '=');
	n = eq ? (size_t)(eq - arg) : strlen(arg);
	a->value = eq ? eq + 1 : "";
	snprintf(a->name, sizeof(a->name), "%.*s", (int)n, arg);
	snprintf(a->full, sizeof(a->full), "%s", a->name);
	a->field = NULL;
	if ((dot = strrchr(a->name, '.')) != NULL && dot != a->name) {
		*dot = '\0';
		a->field = dot + 1;
	}
	return 0;
}

/*
 * The setting called name, looked for in env, mounts, devices, args in
 * that order; for the first three *idx is its index in the list.
 */
static json_t *
find_setting(json_t *cfg, const char *name, enum kind *k, size_t *idx)
{
	json_t *item, *v;

	if ((item = find_named(json_object_get(cfg, "Env"), name, idx)) != NULL)
		*k = K_ENV;
	else if ((item = find_named(json_object_get(cfg, "Mounts"), name, idx)))
		*k = K_MOUNT;
	else if ((item = find_named(json_object_get(json_object_get(cfg, "Linux"),
	    "Devices"), name, idx)))
		*k = K_DEVICE;
	else if (json_is_string(v = json_object_get(json_object_get(cfg, "Args"),
	    "Name")) && strcmp(json_string_value(v), name) == 0) {
		*k = K_ARGS;
		item = json_object_get(cfg, "Args");
	}
	return item;
}

/* Without a field, the only settable one; it must be the kind's one. */
static int
check_settable(const json_t *item, enum kind k, struct setarg *a,
    struct pd_err *e)
{
	const json_t *settable = json_object_get(item, "Settable");

	if (a->field == NULL) {
		if (json_array_size(settable) > 1)
			return pd_errf(e, PD_E_INVAL,
			    "multiple fields are settable, one must be specified");
		if (json_array_size(settable) == 1)
			a->field = json_string_value(json_array_get(settable,
			    0));
	}
	if (a->field == NULL || strcmp(a->field, allowed_field[k]) != 0 ||
	    !in_list(settable, a->field))
		return pd_errf(e, PD_E_INVAL, "\"%s\" is not settable",
		    a->full);
	return 0;
}

static void
set_env(json_t *set, const char *name, const char *value)
{
	json_t *env = json_object_get(set, "Env"), *v;
	size_t i, n = strlen(name);

	json_array_foreach(env, i, v) {
		const char *s = json_string_value(v);

		if (s != NULL && strncmp(s, name, n) == 0 && s[n] == '=')
			break;
	}
	if (i < json_array_size(env))
		json_array_set_new(env, i, json_sprintf("%s=%s", name, value));
	else
		json_array_append_new(env, json_sprintf("%s=%s", name, value));
}

/*
 * A mount source or device path: it must be there to be set, and it
 * changes in Config and in Settings alike.
 */
static int
set_host_path(json_t *item, json_t *set, const char *list, size_t idx,
    const char *key, const char *value, const char *missing,
    struct pd_err *e)
{
	if (json_is_null(json_object_get(item, key)))
		return pd_errf(e, PD_E_INVAL, "%s", missing);
	json_object_set_new(item, key, json_string(value));
	json_object_set_new(json_array_get(json_object_get(set, list), idx),
	    key, json_string(value));
	return 0;
}

static void
set_args(json_t *set, const char *value)
{
	json_t *args = json_array();
	const char *p = value, *sp;

	/* strings.Split(value, " "): single spaces, empty fields kept */
	for (;;) {
		sp = strchr(p, ' ');
		json_array_append_new(args, json_stringn(p,
		    sp ? (size_t)(sp - p) : strlen(p)));
		if (sp == NULL)
			break;
		p = sp + 1;
	}
	json_object_set_new(set, "Args", args);
}

static int
apply_one(json_t *cfg, json_t *set, const char *arg, struct pd_err *e)
{
	struct setarg a;
	json_t *item;
	enum kind k = K_ENV;
	size_t idx = 0;

	if (parse_arg(arg, &a, e) == -1)
		return -1;
	if ((item = find_setting(cfg, a.name, &k, &idx)) == NULL)
		return pd_errf(e, PD_E_INVAL, "setting \"%s\" not found in "
		    "the plugin configuration", a.name);
	if (check_settable(item, k, &a, e) == -1)
		return -1;
	switch (k) {
	case K_ENV:
		set_env(set, a.name, a.value);
		break;
	case K_MOUNT:
		if (json_is_string(json_object_get(item, "Type")) &&
		    strcmp(json_string_value(json_object_get(item, "Type")),
		    "tmpfs") == 0)
			return pd_errf(e, PD_E_INVAL, "mount \"%s\" is a tmpfs: it "
			    "has no host source to set", a.name);
		return set_host_path(item, set, "Mounts", idx, "Source", a.value,
		    "plugin config has no mount source", e);
	case K_DEVICE:
		return set_host_path(item, set, "Devices", idx, "Path", a.value,
		    "plugin config has no device path", e);
	case K_ARGS:
		set_args(set, a.value);
		break;
	}
	return 0;
}

/* Apply every argument to the plugin object ({Config, Settings, ...}). */
int
settings_apply(json_t *pobj, char *const *args, size_t nargs, struct pd_err *e)
{
	json_t *cfg, *set;
	size_t i;

	if (json_is_true(json_object_get(pobj, "Enabled")))
		return pd_errf(e, PD_E_CONFLICT, "cannot set on an active plugin, "
		    "disable plugin before setting");
	cfg = json_deep_copy(json_object_get(pobj, "Config"));
	set = json_deep_copy(json_object_get(pobj, "Settings"));
	for (i = 0; i < nargs; i++)
		if (apply_one(cfg, set, args[i], e) == -1)
			break;
	/*
	 * A new source or path is a new grant: it must fit the privilege
	 * model as an installed config must (clean, no symbolic link, no
	 * kernel filesystem); the set grammar cannot change a type.
	 */
	if (i < nargs || config_grantable(cfg, e) == -1 ||
	    policy_check(json_string_value(json_object_get(pobj,
	    "PluginReference")), cfg, e) == -1) {
		json_decref(cfg);
		json_decref(set);
		return -1;
	}
	json_object_set_new(pobj, "Config", cfg);
	json_object_set_new(pobj, "Settings", set);
	return 0;
}

int
op_set(struct ctl_client *c, struct pd_ctlreq *q, int reqfd,
    struct pd_err *e)
{
	struct plugin *p;
	json_t *saved;
	int rc = -1;

	pthread_rwlock_wrlock(&plugins_lock);
	if ((p = plugin_resolve(q->args[0], e)) != NULL &&
	    !plugin_enabled(p) && !lifecycle_quiescent(p->id)) {
		/* disabled on disk, but an enable or restart is under way */
		pd_errf(e, PD_E_CONFLICT, "cannot set on an active plugin, disable "
		    "plugin before setting");
	} else if (p != NULL) {
		saved = json_deep_copy(p->state);
		if (settings_apply(json_object_get(p->state, "plugin"), q->args + 1,
		    q->nargs - 1, e) == 0 && plugin_save(p, e) == 0)
			rc = 0;
		else {
			json_decref(p->state);
			p->state = saved;
			saved = NULL;
		}
		json_decref(saved);
	}
	pthread_rwlock_unlock(&plugins_lock);
	if (rc == 0) {
		/* The names only: a value may be a token or a password. */
		json_t *keys = setting_keys(PD_CTL_SET, q);
		char *ks = json_dumps(keys, JSON_COMPACT);

		log_info("set %s on plugin %s by uid %u", ks ? ks : "?", q->args[0],
		    (unsigned)c->uid);
		free(ks);
		json_decref(keys);
	}
	return rc;
}

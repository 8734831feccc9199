/*
 * Plugin records.  Each plugin lives in <data-root>/plugins/<id>/ with its
 * state in config.json (Docker's persisted wrapper, moby's
 * plugin/v2/plugin.go), written atomically.  The in-memory list is guarded
 * by plugins_lock.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "state/state.h"
#include "digest.h"
#include "log.h"
#include "ref.h"
#include "util.h"

pthread_rwlock_t	 plugins_lock = PTHREAD_RWLOCK_INITIALIZER;
struct plugin		*plugins;

static int
plugins_dirfd(struct pd_err *e)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/plugins", conf.data_root);
	if ((fd = open(path, O_DIRECTORY | O_RDONLY | O_CLOEXEC)) == -1)
		return pd_errno(e, PD_E_IO, "open %s", path);
	return fd;
}

/* Structural check of a loaded state file; returns a reason or NULL. */
static const char *
state_invalid(const json_t *st, const char *id)
{
	const json_t *p, *v;
	size_t i;

	if (!json_is_object(st))
		return "not a JSON object";
	p = json_object_get(st, "plugin");
	if (!json_is_object(p))
		return "no \"plugin\" object";
	v = json_object_get(p, "Id");
	if (!json_is_string(v) || strcmp(json_string_value(v), id) != 0)
		return "\"Id\" does not match the directory";
	if (!json_is_string(json_object_get(p, "Name")))
		return "no \"Name\"";
	if (!json_is_boolean(json_object_get(p, "Enabled")))
		return "no \"Enabled\"";
	if (!json_is_object(json_object_get(p, "Config")))
		return "no \"Config\"";
	if (!json_is_object(json_object_get(p, "Settings")))
		return "no \"Settings\"";
	v = json_object_get(st, "Config");
	if (v != NULL && !json_is_null(v) && (!json_is_string(v) ||
	    !pd_digest_valid(json_string_value(v))))
		return "bad \"Config\" digest";
	v = json_object_get(st, "Manifest");
	if (v != NULL && !json_is_null(v) && json_string_length(v) != 0 &&
	    (!json_is_string(v) || !pd_digest_valid(json_string_value(v))))
		return "bad \"Manifest\" digest";
	v = json_object_get(st, "Blobsums");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_array(v))
			return "bad \"Blobsums\"";
		for (i = 0; i < json_array_size(v); i++)
			if (!json_is_string(json_array_get(v, i)) ||
			    !pd_digest_valid(json_string_value(json_array_get(v, i))))
				return "bad digest in \"Blobsums\"";
	}
	return NULL;
}

static void
set_aside(int pdfd, const char *id, const char *why)
{
	char from[128], to[128];

	snprintf(from, sizeof(from), "%s/config.json", id);
	snprintf(to, sizeof(to), "%s/config.json.corrupt-%lld", id,
	    (long long)time(NULL));
	if (renameat(pdfd, from, pdfd, to) == 0)
		log_warnx("plugin %s: state file is corrupt (%s); moved aside to "
		    "%s/plugins/%s", id, why, conf.data_root, to);
	else
		log_warn("plugin %s: state file is corrupt (%s), cannot move it aside",
		    id, why);
}

/*
 * Roll an interrupted upgrade back (docs/LIFECYCLE.md, "Crash safety"):
 * the old rootfs returns under its name, the discarded one is deleted,
 * the journal's state becomes config.json, and only then does the
 * journal go.  Each step is a rename or an atomic write, so a crash
 * here leaves a state this function finishes the next time.
 */
static int
undo_upgrade(int dfd, const char *id, int *undone)
{
	struct pd_err e;
	struct stat st;
	json_error_t jerr;
	json_t *j, *old;
	char *data;
	int fd, rc;

	*undone = 0;
	if ((fd = openat(dfd, PD_UPGRADE_JOURNAL, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return 0;
	j = json_loadfd(fd, JSON_REJECT_DUPLICATES, &jerr);
	close(fd);
	old = json_object_get(j, "old");
	if (!json_is_object(old) || state_invalid(old, id) != NULL) {
		log_warnx("plugin %s: upgrade journal is unreadable; left in place "
		    "(pluginctl check reports it)", id);
		json_decref(j);
		return -1;
	}
	/*
	 * Safety: every name is fixed and relative to the plugin's own
	 * directory; pd_rm_rf_at follows no symlink and enters no mount.
	 */
	if (fstatat(dfd, "rootfs-old", &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (fstatat(dfd, "rootfs", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    (renameat(dfd, "rootfs", dfd, "rootfs-failed") == -1 ||
		    pd_rm_rf_at(dfd, "rootfs-failed", &e) == -1)) {
			log_warnx("plugin %s: undoing an upgrade: cannot remove the new "
			    "rootfs", id);
			json_decref(j);
			return -1;
		}
		if (renameat(dfd, "rootfs-old", dfd, "rootfs") == -1) {
			log_warn("plugin %s: undoing an upgrade: rename rootfs-old", id);
			json_decref(j);
			return -1;
		}
	}
	data = json_dumps(old, JSON_COMPACT);
	rc = data == NULL ? -1 : pd_atomic_write(dfd, "config.json", data,
	    strlen(data), 0600, &e);
	free(data);
	json_decref(j);
	if (rc == -1 || unlinkat(dfd, PD_UPGRADE_JOURNAL, 0) == -1) {
		log_warnx("plugin %s: undoing an upgrade: cannot restore the state", id);
		return -1;
	}
	(void)fsync(dfd);
	*undone = 1;
	log_warnx("plugin %s: an upgrade was interrupted; the previous version "
	    "is restored", id);
	return 0;
}

/*
 * Leftovers in a plugin directory after a crash: the temporary file of
 * an interrupted atomic write, and the rootfs an upgrade kept until it
 * was committed (rootfs-old) or rolled back (rootfs-failed).
 */
static void
clean_plugin_dir(int pdfd, const char *id, int *undone)
{
	struct dirent *de;
	struct pd_err e;
	DIR *d;
	int dfd, fd;

	*undone = 0;
	if ((dfd = openat(pdfd, id, O_DIRECTORY | O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return;
	if (undo_upgrade(dfd, id, undone) == -1) {
		close(dfd);
		return;
	}
	if ((fd = dup(dfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		close(dfd);
		return;
	}
	/*
	 * Safety: only entries of the plugin's own directory (opened
	 * O_NOFOLLOW), by fixed names or our own temp-file pattern; unlinkat
	 * without AT_REMOVEDIR removes no directory, and pd_rm_rf_at
	 * follows no symlink and enters no mount.
	 */
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' && strstr(de->d_name, ".tmp-") != NULL) {
			if (unlinkat(dfd, de->d_name, 0) == 0)
				log_info("plugin %s: removed %s (an interrupted write)", id,
				    de->d_name);
		} else if (strcmp(de->d_name, "rootfs-old") == 0 ||
		    strcmp(de->d_name, "rootfs-failed") == 0) {
			if (pd_rm_rf_at(dfd, de->d_name, &e) == -1)
				log_warnx("plugin %s: %s", id, e.msg);
			else
				log_info("plugin %s: removed %s (left by an upgrade)", id,
				    de->d_name);
		}
	}
	closedir(d);
	close(dfd);
}

int
plugins_load(struct pd_err *e)
{
	struct plugin *p, **tail = &plugins;
	char name[128];
	struct dirent *de;
	json_error_t jerr;
	const char *why;
	json_t *st;
	DIR *d;
	int pdfd, fd, undone;
	size_t n;

	if ((pdfd = plugins_dirfd(e)) == -1)
		return -1;
	if ((fd = dup(pdfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		close(pdfd);
		return pd_errno(e, PD_E_IO, "read %s/plugins", conf.data_root);
	}
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (n == 73 && strcmp(de->d_name + 64, "-removing") == 0) {
			/* An interrupted rm: finish it. */
			if (pd_rm_rf_at(pdfd, de->d_name, e) == -1)
				log_warnx("finishing removal: %s", e->msg);
			else
				log_info("finished interrupted removal of plugin %.64s",
				    de->d_name);
			continue;
		}
		if (!pd_valid_plugin_id(de->d_name))
			continue;
		clean_plugin_dir(pdfd, de->d_name, &undone);
		snprintf(name, sizeof(name), "%s/config.json", de->d_name);
		if ((fd = openat(pdfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
			log_warn("plugin %s: no state file", de->d_name);
			continue;
		}
		st = json_loadfd(fd, JSON_REJECT_DUPLICATES, &jerr);
		close(fd);
		why = st == NULL ? jerr.text : state_invalid(st, de->d_name);
		if (why != NULL) {
			set_aside(pdfd, de->d_name, why);
			json_decref(st);
			continue;
		}
		p = xcalloc(1, sizeof(*p));
		snprintf(p->id, sizeof(p->id), "%s", de->d_name);
		p->state = st;
		p->rolled_back = undone;
		*tail = p;
		tail = &p->next;
		log_debug("loaded plugin %s (%s)", plugin_name(p), p->id);
	}
	closedir(d);
	close(pdfd);
	return 0;
}

/* Drop a plugin from the list (check --repair moved it aside). */
void
plugin_forget(struct plugin *gone)
{
	struct plugin **pp;

	for (pp = &plugins; *pp != NULL; pp = &(*pp)->next)
		if (*pp == gone) {
			*pp = gone->next;
			json_decref(gone->state);
			json_decref(gone->inuse);
			free(gone);
			return;
		}
}

int
plugin_save(struct plugin *p, struct pd_err *e)
{
	char dir[128];
	char *data;
	int pdfd, dfd, rc;

	if ((pdfd = plugins_dirfd(e)) == -1)
		return -1;
	snprintf(dir, sizeof(dir), "%s", p->id);
	if (mkdirat(pdfd, dir, 0700) == -1 && errno != EEXIST) {
		close(pdfd);
		return pd_errno(e, PD_E_IO, "mkdir plugins/%s", p->id);
	}
	dfd = openat(pdfd, dir, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	close(pdfd);
	if (dfd == -1)
		return pd_errno(e, PD_E_IO, "open plugins/%s", p->id);
	data = json_dumps(p->state, JSON_COMPACT);
	if (data == NULL) {
		close(dfd);
		return pd_errf(e, PD_E_INTERNAL, "cannot encode plugin state");
	}
	rc = pd_atomic_write(dfd, "config.json", data, strlen(data), 0600, e);
	free(data);
	close(dfd);
	return rc;
}

const char *
plugin_name(const struct plugin *p)
{
	return json_string_value(json_object_get(json_object_get(p->state,
	    "plugin"), "Name"));
}

int
plugin_enabled(const struct plugin *p)
{
	return json_is_true(json_object_get(json_object_get(p->state, "plugin"),
	    "Enabled"));
}

/* The Engine API object, keys in Docker's order (api/types/plugin). */
json_t *
plugin_api_object(const struct plugin *p, int redact)
{
	const json_t *src = json_object_get(p->state, "plugin");
	static const char *keys[] = { "Config", "Enabled", "Id", "Name",
	    "PluginReference", "Settings" };
	json_t *o = json_object(), *v, *set, *arr;
	const char *s;
	size_t i, nv, nm;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if ((v = json_object_get(src, keys[i])) != NULL)
			json_object_set(o, keys[i], v);
	/* plugind's own, after Docker's keys: what engines hold. */
	nv = json_object_size(json_object_get(p->inuse, "Volumes"));
	nm = json_object_size(json_object_get(p->inuse, "Mounts"));
	json_object_set_new(o, "InUse", json_pack("{s:I, s:I}", "Volumes",
	    (json_int_t)nv, "Mounts", (json_int_t)nm));
	if (!redact || (v = json_object_get(src, "Settings")) == NULL)
		return o;
	/*
	 * Settings.Env and Settings.Args are what root set (install
	 * KEY=VALUE, set): they may be tokens or passwords.  Others see the
	 * names only.  A copy: the plugin's state is not touched.
	 */
	set = json_deep_copy(v);
	json_array_foreach(json_object_get(set, "Env"), i, v)
		if ((s = json_string_value(v)) != NULL)
			json_array_set_new(json_object_get(set, "Env"), i,
			    json_sprintf("%.*s=" PD_REDACTED, (int)strcspn(s, "="), s));
	if ((arr = json_object_get(set, "Args")) != NULL)
		json_array_foreach(arr, i, v)
			json_array_set_new(arr, i, json_string(PD_REDACTED));
	json_object_set_new(o, "Settings", set);
	return o;
}

/*
 * Resolve a name or id as Docker does (moby's plugin/store.go): full id,
 * then exact normalized name, then a unique id prefix.  Caller holds
 * plugins_lock.
 */
struct plugin *
plugin_resolve(const char *s, struct pd_err *e)
{
	struct plugin *p, *hit = NULL;
	char familiar[600];
	struct pd_ref ref;
	struct pd_err ie;
	size_t n, hits = 0;

	if (pd_valid_plugin_id(s)) {
		for (p = plugins; p != NULL; p = p->next)
			if (strcmp(p->id, s) == 0)
				return p;
		pd_errf(e, PD_E_NOTFOUND, "plugin \"%s\" not found", s);
		return NULL;
	}
	if (pd_ref_parse(s, &ref, &ie) == -1 || ref.digest[0] != '\0') {
		pd_errf(e, PD_E_NOTFOUND, "plugin \"%s\" not found", s);
		return NULL;
	}
	pd_ref_tag_default(&ref);
	if (pd_ref_familiar(&ref, familiar, sizeof(familiar)) == 0)
		for (p = plugins; p != NULL; p = p->next)
			if (strcmp(plugin_name(p), familiar) == 0)
				return p;
	n = strlen(s);
	for (p = plugins; p != NULL; p = p->next)
		if (strncmp(p->id, s, n) == 0) {
			hit = p;
			hits++;
		}
	if (hits == 1)
		return hit;
	if (hits > 1)
		pd_errf(e, PD_E_INVAL, "multiple plugins found for \"%s\"", s);
	else
		pd_errf(e, PD_E_NOTFOUND, "plugin \"%s\" not found", s);
	return NULL;
}

/*
 * plugin_resolve() under the read lock, for callers that keep only the
 * id (PD_PLUGIN_ID_LEN + 1 bytes) and, if canon is not NULL, the name.
 */
int
plugin_resolve_id(const char *s, char *id, char *canon, size_t clen,
    struct pd_err *e)
{
	struct plugin *p;

	pthread_rwlock_rdlock(&plugins_lock);
	if ((p = plugin_resolve(s, e)) != NULL) {
		snprintf(id, PD_PLUGIN_ID_LEN + 1, "%s", p->id);
		if (canon != NULL)
			snprintf(canon, clen, "%s", plugin_name(p));
	}
	pthread_rwlock_unlock(&plugins_lock);
	return p != NULL ? 0 : -1;
}

/* Digests every plugin refers to, as a set (object keys); for GC. */
json_t *
plugins_used_blobs(void)
{
	json_t *used = json_object(), *v, *b;
	struct plugin *p;
	size_t i;

	for (p = plugins; p != NULL; p = p->next) {
		if (json_is_string(v = json_object_get(p->state, "Config")))
			json_object_set_new(used, json_string_value(v), json_true());
		if (json_is_string(v = json_object_get(p->state, "Manifest")))
			json_object_set_new(used, json_string_value(v), json_true());
		v = json_object_get(p->state, "Blobsums");
		json_array_foreach(v, i, b)
			if (json_is_string(b))
				json_object_set_new(used, json_string_value(b),
				    json_true());
	}
	return used;
}

void
plugins_counts(unsigned *total, unsigned *enabled)
{
	struct plugin *p;

	*total = *enabled = 0;
	for (p = plugins; p != NULL; p = p->next) {
		(*total)++;
		if (plugin_enabled(p))
			(*enabled)++;
	}
}

/* The plugin's directory under the data root, opened as a directory, never through a symbolic link. */
int
plugin_dir_open(const char *id)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/plugins/%s", conf.data_root, id);
	return open(path, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
}

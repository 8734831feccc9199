/*
 * What consumers hold of a plugin (docs/CONSUMERS.md, "In use"): the
 * volumes it created for an engine and the mounts in flight, as the
 * plugin's gateway reports them after the plugin answered.  Kept in
 * plugins/<id>/inuse.json, written whole (temp, fsync, rename) at every
 * change, so the count survives a broker restart; Docker keeps its
 * refcount in memory only.  The broker only stores the names the gateway
 * checked (bounded, printable); it never parses a plugin's bytes.
 * `disable` and `rm` refuse while the count is above zero, unless -f.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "state/state.h"
#include "log.h"
#include "util.h"

#define INUSE_FILE	"inuse.json"

/* A name the gateway may report: what Docker allows a volume name to be. */
static int
use_name_ok(const char *s, size_t max)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

static int
plugin_dirfd(const char *id, struct pd_err *e)
{
	char path[4200];
	int fd;

	snprintf(path, sizeof(path), "%s/plugins/%s", conf.data_root, id);
	if ((fd = open(path, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return pd_errno(e, PD_E_IO, "open %s", path);
	return fd;
}

/*
 * The record of plugin id at load, or an empty one: a corrupt file is
 * logged and kept aside (the count starts again from the engines' next
 * calls rather than blocking the plugin forever).
 */
static json_t *
inuse_load(int pdfd, const char *id)
{
	char name[128], aside[140];
	json_error_t jerr;
	json_t *o;
	int fd;

	snprintf(name, sizeof(name), "%s/" INUSE_FILE, id);
	if ((fd = openat(pdfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return json_pack("{s:{}, s:{}}", "Volumes", "Mounts");
	o = json_loadfd(fd, JSON_REJECT_DUPLICATES, &jerr);
	close(fd);
	if (o != NULL && json_is_object(json_object_get(o, "Volumes")) &&
	    json_is_object(json_object_get(o, "Mounts")))
		return o;
	json_decref(o);
	snprintf(aside, sizeof(aside), "%s.corrupt", name);
	log_warnx("plugin %s: %s is not an in-use record (%s); moved to %s", id,
	    INUSE_FILE, jerr.text, aside);
	(void)renameat(pdfd, name, pdfd, aside);
	return json_pack("{s:{}, s:{}}", "Volumes", "Mounts");
}

/* At start, after plugins_load: every plugin's record. */
int
inuse_load_all(struct pd_err *e)
{
	char path[4200];
	struct plugin *p;
	int pdfd;

	snprintf(path, sizeof(path), "%s/plugins", conf.data_root);
	if ((pdfd = open(path, O_DIRECTORY | O_RDONLY | O_CLOEXEC)) == -1)
		return pd_errno(e, PD_E_IO, "open %s", path);
	pthread_rwlock_wrlock(&plugins_lock);
	for (p = plugins; p != NULL; p = p->next) {
		json_decref(p->inuse);
		p->inuse = inuse_load(pdfd, p->id);
	}
	pthread_rwlock_unlock(&plugins_lock);
	close(pdfd);
	return 0;
}

static int
inuse_save(const char *id, const json_t *o, struct pd_err *e)
{
	char *data;
	int dfd, rc;

	if ((dfd = plugin_dirfd(id, e)) == -1)
		return -1;
	if ((data = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		close(dfd);
		return pd_errf(e, PD_E_INTERNAL, "cannot encode the in-use record");
	}
	rc = pd_atomic_write(dfd, INUSE_FILE, data, strlen(data), 0600, e);
	free(data);
	close(dfd);
	return rc;
}

/* Add key (value v, taken) to set unless there, up to PD_USE_MAX. */
static int
use_add(json_t *set, const char *key, json_t *v, const char *id,
    const char *what, int *changed, struct pd_err *e)
{
	if (json_object_get(set, key) != NULL) {
		json_decref(v);
		return 0;
	}
	if (json_object_size(set) >= PD_USE_MAX) {
		json_decref(v);
		return pd_errf(e, PD_E_LIMIT, "plugin %s holds %d %s, the most "
		    "plugind records", id, PD_USE_MAX, what);
	}
	*changed = json_object_set_new(set, key, v) == 0;
	return 0;
}

/*
 * Apply one report of plugin id's gateway: a volume created or removed,
 * a mount (by the engine's mount id) made or ended.  Takes plugins_lock.
 * Idempotent, as engines retry: a second Create or an Unmount of an
 * unknown id changes nothing.
 */
int
inuse_apply(const char *id, enum pd_use op, const char *vol,
    const char *mount, struct pd_err *e)
{
	struct plugin *p;
	json_t *o, *vols, *mnts;
	int rc = 0, changed = 0;

	if (!use_name_ok(vol, PD_USE_NAME_MAX) ||
	    ((op == PD_USE_MOUNT || op == PD_USE_UNMOUNT) &&
	    !use_name_ok(mount, PD_USE_NAME_MAX)))
		return pd_errf(e, PD_E_INVAL, "in-use report: a volume or mount "
		    "name that is empty, too long or not printable");
	pthread_rwlock_wrlock(&plugins_lock);
	for (p = plugins; p != NULL && strcmp(p->id, id) != 0; p = p->next)
		;
	if (p == NULL) {
		pthread_rwlock_unlock(&plugins_lock);
		return pd_errf(e, PD_E_NOTFOUND, "plugin \"%s\" not found", id);
	}
	o = p->inuse != NULL ? json_deep_copy(p->inuse) :
	    json_pack("{s:{}, s:{}}", "Volumes", "Mounts");
	vols = json_object_get(o, "Volumes");
	mnts = json_object_get(o, "Mounts");
	switch (op) {
	case PD_USE_CREATE:
		rc = use_add(vols, vol, json_true(), id, "volumes", &changed, e);
		break;
	case PD_USE_REMOVE:
		changed = json_object_del(vols, vol) == 0;
		break;
	case PD_USE_MOUNT:
		rc = use_add(mnts, mount, json_string(vol), id, "mounts",
		    &changed, e);
		break;
	case PD_USE_UNMOUNT:
		changed = json_object_del(mnts, mount) == 0;
		break;
	}
	/* On disk first: memory never claims what a crash would lose. */
	if (rc == 0 && changed && (rc = inuse_save(id, o, e)) == 0) {
		json_decref(p->inuse);
		p->inuse = o;
		o = NULL;
	}
	pthread_rwlock_unlock(&plugins_lock);
	json_decref(o);
	return rc;
}

/* Volumes and mounts held; caller holds plugins_lock. */
void
inuse_count(const struct plugin *p, size_t *vols, size_t *mounts)
{
	*vols = json_object_size(json_object_get(p->inuse, "Volumes"));
	*mounts = json_object_size(json_object_get(p->inuse, "Mounts"));
}

/*
 * -1 with Docker's text if plugin id is held (disable and rm without
 * -f); takes plugins_lock.
 */
int
inuse_refuse(const char *id, const char *name, struct pd_err *e)
{
	struct plugin *p;
	size_t v = 0, m = 0;

	pthread_rwlock_rdlock(&plugins_lock);
	for (p = plugins; p != NULL && strcmp(p->id, id) != 0; p = p->next)
		;
	if (p != NULL)
		inuse_count(p, &v, &m);
	pthread_rwlock_unlock(&plugins_lock);
	if (v + m == 0)
		return 0;
	log_info("plugin %s: refused, it holds %zu volumes and %zu mounts "
	    "(-f overrides)", name, v, m);
	return pd_errf(e, PD_E_CONFLICT, "plugin %s is in use", name);
}

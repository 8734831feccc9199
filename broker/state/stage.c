/*
 * Staging and commit: a plugin's directory is built under a staging name
 * and renamed into place only when everything checked out; blobs are
 * stored content-addressed (store.c) and collected when no plugin uses
 * them.  jobs_lock orders staging against collection.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "state/state.h"
#include "crashpoint.h"
#include "digest.h"
#include "log.h"
#include "ref.h"
#include "util.h"

pthread_rwlock_t	 jobs_lock = PTHREAD_RWLOCK_INITIALIZER;

/* Store `len` bytes as a blob and return its digest in out. */
int
store_put(const void *data, size_t len, char out[72], struct pd_err *e)
{
	int fd, rc;

	pd_sha256_buf(data, len, out);
	if (store_has(out))
		return 0;
	if ((fd = store_tmpfile(e)) == -1)
		return -1;
	if (pd_write_full(fd, data, len) == -1) {
		close(fd);
		return pd_errno(e, PD_E_IO, "write blob");
	}
	rc = store_commit(fd, out, len, e);
	close(fd);
	return rc;
}

/*
 * A staging directory for one job: <data-root>/tmp/<kind>-XXXXXX with an
 * empty rootfs/ inside.  Everything under tmp/ is removed at start-up.
 */
int
stage_create(const char *kind, struct stage *st, struct pd_err *e)
{
	memset(st, 0, sizeof(*st));
	st->rootfd = -1;
	snprintf(st->dir, sizeof(st->dir), "%s/tmp/%s-XXXXXX", conf.data_root, kind);
	if (mkdtemp(st->dir) == NULL)
		return pd_errno(e, PD_E_IO, "create a staging directory in %s/tmp",
		    conf.data_root);
	snprintf(st->rootfs, sizeof(st->rootfs), "%s/rootfs", st->dir);
	if (mkdir(st->rootfs, 0755) == -1 || chmod(st->rootfs, 0755) == -1 ||
	    (st->rootfd = open(st->rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW)) == -1) {
		pd_errno(e, PD_E_IO, "create %s", st->rootfs);
		stage_discard(st);
		return -1;
	}
	return 0;
}

/*
 * Give a staging directory made ahead of its job (a warm spare's,
 * proc/helper.c) the job's kind: <data-root>/tmp/<kind>-XXXXXX, same
 * suffix, never over an existing name.  0, or -1 with the old name kept.
 */
int
stage_rename(struct stage *st, const char *kind)
{
	char dir[sizeof(st->dir)];
	const char *suffix;

	if (st->dir[0] == '\0' || (suffix = strrchr(st->dir, '-')) == NULL)
		return -1;
	snprintf(dir, sizeof(dir), "%s/tmp/%s%s", conf.data_root, kind, suffix);
	if (renameat2(AT_FDCWD, st->dir, AT_FDCWD, dir, RENAME_NOREPLACE) == -1)
		return -1;
	snprintf(st->dir, sizeof(st->dir), "%s", dir);
	snprintf(st->rootfs, sizeof(st->rootfs), "%s/rootfs", st->dir);
	return 0;
}

void
stage_discard(struct stage *st)
{
	struct pd_err e;
	char *base;
	int dfd;

	if (st->rootfd >= 0)
		close(st->rootfd);
	st->rootfd = -1;
	if (st->dir[0] == '\0')
		return;
	base = strrchr(st->dir, '/');
	*base = '\0';
	/* fd-relative, never following symlinks the layer may have made */
	if ((dfd = open(st->dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC)) != -1) {
		if (pd_rm_rf_at(dfd, base + 1, &e) == -1)
			log_warnx("discarding staging %s/%s: %s", st->dir, base + 1, e.msg);
		close(dfd);
	}
	*base = '/';
	st->dir[0] = '\0';
}

/* Garbage-collect blobs no plugin names; jobs in flight keep GC out. */
void
blobs_gc(void)
{
	struct pd_err e;
	unsigned removed;
	json_t *used;

	if (pthread_rwlock_trywrlock(&jobs_lock) != 0)
		return;		/* a job is running; the next GC will do */
	pthread_rwlock_rdlock(&plugins_lock);
	used = plugins_used_blobs();
	if (store_gc(used, &removed, &e) == -1)
		log_warnx("gc: %s", e.msg);
	else if (removed > 0)
		log_info("gc: removed %u unreferenced blobs", removed);
	pthread_rwlock_unlock(&plugins_lock);
	pthread_rwlock_unlock(&jobs_lock);
	json_decref(used);
}

/* Validate a new plugin's name (moby's validateName); fills the stored form. */
int
plugin_new_name(const char *in, char *name, size_t len, struct pd_err *e)
{
	struct pd_ref ref;

	if (pd_ref_parse(in, &ref, e) == -1)
		return -1;
	if (ref.digest[0] != '\0')
		return pd_errf(e, PD_E_INVAL, "canonical references are not permitted: "
		    "%s", in);
	pd_ref_tag_default(&ref);
	if (pd_ref_familiar(&ref, name, len) == -1)
		return pd_errf(e, PD_E_INVAL, "name %s is too long", in);
	return 0;
}

int
plugin_name_taken(const char *name)
{
	struct plugin *p;

	for (p = plugins; p != NULL; p = p->next)
		if (strcmp(plugin_name(p), name) == 0)
			return 1;
	return 0;
}

/*
 * Commit a staged plugin: write its state into the staging dir, then
 * rename the staging dir to plugins/<id> (one atomic step: before it the
 * plugin does not exist, after it is complete), then add it to the list.
 * Caller holds plugins_lock for writing.
 */
int
plugin_commit_staged(struct stage *st, struct plugin *p, struct pd_err *e)
{
	char dst[4096];
	char *data;
	int dfd, rc;

	json_object_set_new(p->state, "Rootfs", json_sprintf("%s/plugins/%s/rootfs",
	    conf.data_root, p->id));
	if ((dfd = open(st->dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC)) == -1)
		return pd_errno(e, PD_E_IO, "open %s", st->dir);
	data = json_dumps(p->state, JSON_COMPACT);
	rc = pd_atomic_write(dfd, "config.json", data, strlen(data), 0600, e);
	free(data);
	if (rc == 0 && fchmod(dfd, 0700) == -1)
		rc = pd_errno(e, PD_E_IO, "chmod %s", st->dir);
	close(dfd);
	if (rc == -1)
		return -1;
	PD_CRASHPOINT("commit-staged");
	snprintf(dst, sizeof(dst), "%s/plugins/%s", conf.data_root, p->id);
	if (rename(st->dir, dst) == -1)
		return pd_errno(e, PD_E_IO, "rename %s to %s", st->dir, dst);
	st->dir[0] = '\0';
	PD_CRASHPOINT("commit-renamed");
	if ((dfd = open(conf.data_root, O_DIRECTORY | O_RDONLY | O_CLOEXEC)) != -1) {
		(void)fsync(dfd);
		close(dfd);
	}
	p->next = plugins;
	plugins = p;
	return 0;
}

/*
 * `plugin create` (Engine API POST /plugins/create): a context tar from the
 * client, split by the extractor into config and layer, the layer applied
 * by the extractor into a staging rootfs, the blobs stored, the staging
 * directory renamed into place only when everything checked out.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"
#include "crashpoint.h"
#include "digest.h"
#include "log.h"
#include "plugincfg.h"
#include "ref.h"
#include "util.h"

#define MT_MANIFEST	"application/vnd.docker.distribution.manifest.v2+json"
#define MT_PLUGIN	"application/vnd.docker.plugin.v1+json"
#define MT_LAYER_GZIP	"application/vnd.docker.image.rootfs.diff.tar.gzip"

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

int
op_create(struct ctl_client *c, const char *rawname, int ctxfd, struct pd_err *e)
{
	char name[600], layer_digest[72], cfg_digest[72], man_digest[72];
	struct extract_result xr;
	struct pd_bundle_done bd;
	struct pd_msg m;
	struct pd_err ie;
	struct helper h;
	struct stage st;
	struct plugin *p = NULL;
	json_error_t jerr;
	json_t *cfg = NULL, *man;
	char *cfgtxt = NULL, *mantxt = NULL;
	uint64_t layer_size;
	int layerfd = -1, blobfd = -1, rc = -1, have_helper = 0;
	static const uint32_t done[] = { PD_MSG_BUNDLE_DONE };

	memset(&st, 0, sizeof(st));
	st.rootfd = -1;
	if (ctxfd < 0)
		return pd_errf(e, PD_E_INVAL, "create needs the plugin context");
	/*
	 * Only a file (pluginctl) or a pipe (plugind-api streaming the HTTP
	 * body) is accepted; the broker never reads it, the extractor does.
	 */
	{
		struct stat cst;

		if (fstat(ctxfd, &cst) == -1 || (!S_ISREG(cst.st_mode) &&
		    !S_ISFIFO(cst.st_mode))) {
			close(ctxfd);
			return pd_errf(e, PD_E_INVAL, "the create context must be a "
			    "regular file or a pipe");
		}
	}
	if (plugin_new_name(rawname, name, sizeof(name), e) == -1) {
		close(ctxfd);
		return -1;
	}
	pthread_rwlock_rdlock(&plugins_lock);
	rc = plugin_name_taken(name);
	pthread_rwlock_unlock(&plugins_lock);
	if (rc) {
		close(ctxfd);
		return pd_errf(e, PD_E_EXISTS, "plugin %s already exists", name);
	}
	rc = -1;

	pthread_rwlock_rdlock(&jobs_lock);
	if (stage_create("create", &st, e) == -1)
		goto out;
	if ((layerfd = store_tmpfile(e)) == -1)
		goto out;
	if (extract_begin(&h, st.rootfd, st.rootfs, e) == -1)
		goto out;
	have_helper = 1;
	if (pd_msg_send(h.sock, PD_MSG_BUNDLE_OUT, 1, layerfd, NULL, 0, &ie) == -1 ||
	    pd_send_bundle(h.sock, 1, ctxfd, 0, &ie) == -1) {
		(void)helper_send_failed(&h, e, ie.msg);
		goto out;
	}
	if (helper_recv(&h, done, 1, (int)conf.limits.extract_timeout * 1000, &m,
	    e) == -1)
		goto out;
	if (pd_dec_bundle_done(&m, &bd, &ie) == -1) {
		pd_msg_clear(&m);
		pd_errf(e, PD_E_PROTO, "extractor: %s", ie.msg);
		goto out;
	}
	pd_msg_clear(&m);
	/* The canonical config: helper-produced, bounded, re-validated. */
	cfg = json_loads(bd.config, JSON_REJECT_DUPLICATES, &jerr);
	pd_bundle_done_free(&bd);
	if (!json_is_object(cfg)) {
		pd_errf(e, PD_E_PROTO, "extractor returned an invalid config");
		goto out;
	}
	/* Our own bytes: the digest is what we compute. */
	if (pd_sha256_fd(layerfd, layer_digest, &layer_size, e) == -1 ||
	    store_commit(layerfd, layer_digest, layer_size, e) == -1)
		goto out;
	if ((blobfd = store_open(layer_digest, e)) == -1)
		goto out;
	if (extract_layer(&h, blobfd, MT_LAYER_GZIP, &xr, e) == -1) {
		have_helper = 0;
		goto out;
	}
	extract_end(&h);
	have_helper = 0;

	/* Docker's create writes the compressed layer digest as diff_id. */
	json_object_set_new(cfg, "rootfs", json_pack("{s:s, s:[s]}", "type",
	    "layers", "diff_ids", layer_digest));
	cfgtxt = json_dumps(cfg, JSON_COMPACT);
	cfgtxt = realloc(cfgtxt, strlen(cfgtxt) + 2);
	strcat(cfgtxt, "\n");
	if (store_put(cfgtxt, strlen(cfgtxt), cfg_digest, e) == -1)
		goto out;
	man = json_pack("{s:i, s:s, s:{s:s, s:I, s:s}, s:[{s:s, s:I, s:s}]}",
	    "schemaVersion", 2, "mediaType", MT_MANIFEST,
	    "config", "mediaType", MT_PLUGIN, "size", (json_int_t)strlen(cfgtxt),
	    "digest", cfg_digest,
	    "layers", "mediaType", MT_LAYER_GZIP, "size", (json_int_t)layer_size,
	    "digest", layer_digest);
	mantxt = json_dumps(man, JSON_COMPACT);
	json_decref(man);
	if (store_put(mantxt, strlen(mantxt), man_digest, e) == -1)
		goto out;

	p = xcalloc(1, sizeof(*p));
	pd_plugin_id_new(p->id);
	p->state = json_pack("{s:{s:O, s:b, s:s, s:s, s:s, s:o}, s:s, s:s, s:[s], "
	    "s:s, s:s}",
	    "plugin", "Config", cfg, "Enabled", 0, "Id", p->id, "Name", name,
	    "PluginReference", name, "Settings", pd_config_settings(cfg),
	    "Rootfs", "", "Config", cfg_digest, "Blobsums", layer_digest,
	    "Manifest", man_digest, "SwarmServiceID", "");
	pthread_rwlock_wrlock(&plugins_lock);
	if (plugin_name_taken(name))
		pd_errf(e, PD_E_EXISTS, "plugin %s already exists", name);
	else if (plugin_commit_staged(&st, p, e) == 0)
		rc = 0;
	pthread_rwlock_unlock(&plugins_lock);
	if (rc == 0) {
		log_info("created plugin %s (%s): %llu entries, layer %s", name, p->id,
		    (unsigned long long)xr.entries, layer_digest);
		p = NULL;
		(void)ctl_reply_data(c, name, strlen(name));
	}
out:
	if (have_helper)
		helper_kill(&h);
	if (p != NULL) {
		json_decref(p->state);
		free(p);
	}
	stage_discard(&st);
	if (layerfd >= 0)
		close(layerfd);
	if (blobfd >= 0)
		close(blobfd);
	close(ctxfd);
	json_decref(cfg);
	free(cfgtxt);
	free(mantxt);
	pthread_rwlock_unlock(&jobs_lock);
	if (rc == -1)
		blobs_gc();
	return rc;
}

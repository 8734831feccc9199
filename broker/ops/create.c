/*
 * `plugin create` (Engine API POST /plugins/create): a context tar from the
 * client, split by the extractor into config and layer, the layer applied
 * by the extractor into a staging rootfs, the blobs stored, the staging
 * directory renamed into place only when everything checked out.
 */
#include <sys/stat.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ops/ops.h"
#include "digest.h"
#include "log.h"
#include "manifest.h"
#include "plugincfg.h"
#include "util.h"


/* What create stored: the digests of its three blobs. */
struct created {
	char		 layer[72];
	char		 cfg[72];
	char		 man[72];
	uint64_t	 layer_size;
};

/*
 * Only a file (pluginctl) or a pipe (plugind-api streaming the HTTP
 * body) is accepted; the broker never reads it, the extractor does.
 * The name must be free.  On failure ctxfd is closed.
 */
static int
create_precheck(int ctxfd, const char *rawname, char *name, size_t namesz,
    struct pd_err *e)
{
	struct stat cst;
	int taken;

	if (fstat(ctxfd, &cst) == -1 || (!S_ISREG(cst.st_mode) &&
	    !S_ISFIFO(cst.st_mode))) {
		close(ctxfd);
		return pd_errf(e, PD_E_INVAL, "the create context must be a "
		    "regular file or a pipe");
	}
	if (plugin_new_name(rawname, name, namesz, e) == -1) {
		close(ctxfd);
		return -1;
	}
	pthread_rwlock_rdlock(&plugins_lock);
	taken = plugin_name_taken(name);
	pthread_rwlock_unlock(&plugins_lock);
	if (taken) {
		close(ctxfd);
		return pd_errf(e, PD_E_EXISTS, "plugin %s already exists",
		    name);
	}
	return 0;
}

/*
 * The extractor splits the context: the layer into layerfd, the config
 * into its reply.  Returns the config, or NULL with e set.
 */
static json_t *
create_split(struct helper *h, int ctxfd, int layerfd, struct pd_err *e)
{
	static const uint32_t done[] = { PD_MSG_BUNDLE_DONE };
	struct pd_bundle_done bd;
	struct pd_msg m;
	struct pd_err ie;
	json_error_t jerr;
	json_t *cfg;

	if (pd_msg_send(h->sock, PD_MSG_BUNDLE_OUT, 1, layerfd, NULL, 0, &ie) ==
	    -1 || pd_send_bundle(h->sock, 1, ctxfd, 0, &ie) == -1) {
		(void)helper_send_failed(h, e, ie.msg);
		return NULL;
	}
	if (helper_recv(h, done, 1, (int)conf.limits.extract_timeout * 1000, &m,
	    e) == -1)
		return NULL;
	if (pd_dec_bundle_done(&m, &bd, &ie) == -1) {
		pd_msg_clear(&m);
		pd_errf(e, PD_E_PROTO, "extractor: %s", ie.msg);
		return NULL;
	}
	pd_msg_clear(&m);
	/* The canonical config: helper-produced, bounded, re-validated. */
	cfg = json_loads(bd.config, JSON_REJECT_DUPLICATES, &jerr);
	pd_bundle_done_free(&bd);
	if (!json_is_object(cfg)) {
		json_decref(cfg);
		pd_errf(e, PD_E_PROTO, "extractor returned an invalid config");
		return NULL;
	}
	return cfg;
}

/* The config blob, with the layer as its one diff_id, and the manifest. */
static int
create_store_meta(json_t *cfg, struct created *d, struct pd_err *e)
{
	char *cfgtxt, *mantxt;
	int rc = -1;

	/* Docker's create writes the compressed layer digest as diff_id. */
	json_object_set_new(cfg, "rootfs", json_pack("{s:s, s:[s]}", "type",
	    "layers", "diff_ids", d->layer));
	cfgtxt = json_dumps(cfg, JSON_COMPACT);
	cfgtxt = realloc(cfgtxt, strlen(cfgtxt) + 2);
	strcat(cfgtxt, "\n");
	if (store_put(cfgtxt, strlen(cfgtxt), d->cfg, e) == 0) {
		const char *l[1] = { d->layer };
		uint64_t lsize[1] = { d->layer_size };

		mantxt = pd_plugin_manifest(d->cfg, strlen(cfgtxt), l, lsize, 1);
		rc = mantxt == NULL ? pd_errf(e, PD_E_INTERNAL, "cannot encode "
		    "the manifest") : store_put(mantxt, strlen(mantxt), d->man, e);
		free(mantxt);
	}
	free(cfgtxt);
	return rc;
}

/*
 * Publish the staged plugin, unless the name was taken while we worked,
 * and answer the client with its name.
 */
static int
create_commit(struct ctl_client *c, struct stage *st, json_t *cfg,
    const char *name, const struct created *d, uint64_t entries,
    struct pd_err *e)
{
	struct plugin *p;
	int rc = -1;

	p = xcalloc(1, sizeof(*p));
	pd_plugin_id_new(p->id);
	p->state = json_pack("{s:{s:O, s:b, s:s, s:s, s:s, s:o}, "
	    "s:s, s:s, s:[s], s:s, s:s}",
	    "plugin", "Config", cfg, "Enabled", 0, "Id", p->id, "Name", name,
	    "PluginReference", name, "Settings", pd_config_settings(cfg),
	    "Rootfs", "", "Config", d->cfg, "Blobsums", d->layer,
	    "Manifest", d->man, "SwarmServiceID", "");
	pthread_rwlock_wrlock(&plugins_lock);
	if (plugin_name_taken(name))
		pd_errf(e, PD_E_EXISTS, "plugin %s already exists", name);
	else if (plugin_commit_staged(st, p, e) == 0)
		rc = 0;
	pthread_rwlock_unlock(&plugins_lock);
	if (rc == -1) {
		json_decref(p->state);
		free(p);
		return -1;
	}
	log_info("created plugin %s (%s): %llu entries, layer %s", name, p->id,
	    (unsigned long long)entries, d->layer);
	(void)ctl_reply_data(c, name, strlen(name));
	return 0;
}

int
op_create(struct ctl_client *c, struct pd_ctlreq *q, int ctxfd,
    struct pd_err *e)
{
	char name[600];
	struct extract_result xr;
	struct created d;
	struct helper h;
	struct stage st;
	json_t *cfg = NULL;
	int layerfd = -1, blobfd = -1, rc = -1, have_helper = 0;

	memset(&st, 0, sizeof(st));
	st.rootfd = -1;
	if (ctxfd < 0)
		return pd_errf(e, PD_E_INVAL,
		    "create needs the plugin context");
	if (create_precheck(ctxfd, q->args[0], name, sizeof(name), e) == -1)
		return -1;

	pthread_rwlock_rdlock(&jobs_lock);
	if ((layerfd = store_tmpfile(e)) == -1)
		goto out;
	if (extract_begin_staged(&h, "create", &st, e) == -1)
		goto out;
	have_helper = 1;
	if ((cfg = create_split(&h, ctxfd, layerfd, e)) == NULL)
		goto out;
	/* Our own bytes: the digest is what we compute. */
	if (pd_sha256_fd(layerfd, d.layer, &d.layer_size, e) == -1 ||
	    store_commit(layerfd, d.layer, d.layer_size, e) == -1)
		goto out;
	if ((blobfd = store_open(d.layer, e)) == -1)
		goto out;
	if (extract_layer(&h, blobfd, MT_LAYER_GZIP, &xr, e) == -1) {
		have_helper = 0;
		goto out;
	}
	extract_end(&h);
	have_helper = 0;
	if (create_store_meta(cfg, &d, e) == 0)
		rc = create_commit(c, &st, cfg, name, &d, xr.entries, e);
out:
	if (have_helper)
		helper_kill(&h);
	stage_discard(&st);
	if (layerfd >= 0)
		close(layerfd);
	if (blobfd >= 0)
		close(blobfd);
	close(ctxfd);
	json_decref(cfg);
	pthread_rwlock_unlock(&jobs_lock);
	if (rc == -1)
		blobs_gc();
	return rc;
}

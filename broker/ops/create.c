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
#include "plugincfg.h"
#include "util.h"

#define MT_MANIFEST	"application/vnd.docker.distribution.manifest.v2+json"
#define MT_PLUGIN	"application/vnd.docker.plugin.v1+json"
#define MT_LAYER_GZIP	"application/vnd.docker.image.rootfs.diff.tar.gzip"

int
op_create(struct ctl_client *c, struct pd_ctlreq *q, int ctxfd,
    struct pd_err *e)
{
	const char *rawname = q->args[0];
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

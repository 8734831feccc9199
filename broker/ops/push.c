/*
 * `push NAME[:TAG]` (moby's plugin/backend_linux.go Push): upload a
 * plugin's layers, config and manifest to the registry its local Name
 * points at (not its PluginReference, as Docker).  The fetcher does the
 * HTTP; the broker opens every blob read-only from the store and passes the
 * fd.  Nothing local changes, except that a manifest built here (the state
 * had none, or its blob is gone) is stored and recorded in the state.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ops/ops.h"
#include "digest.h"
#include "log.h"
#include "manifest.h"
#include "ref.h"
#include "util.h"

struct pushblob {
	char		 digest[80];
	char		 media_type[PD_STR_SHORT];
	uint64_t	 size;
};

static int
blob_size(const char *digest, uint64_t *size, struct pd_err *e)
{
	struct stat st;
	int fd;

	if ((fd = store_open(digest, e)) == -1)
		return -1;
	if (fstat(fd, &st) == -1) {
		close(fd);
		return pd_errno(e, PD_E_IO, "stat blob %s", digest);
	}
	close(fd);
	*size = (uint64_t)st.st_size;
	return 0;
}

static int
read_blob(const char *digest, char **buf, size_t *len, struct pd_err *e)
{
	struct stat st;
	ssize_t n;
	int fd;

	if ((fd = store_open(digest, e)) == -1)
		return -1;
	if (fstat(fd, &st) == -1 || st.st_size < 0 ||
	    (uint64_t)st.st_size > conf.limits.max_manifest) {
		close(fd);
		return pd_errf(e, PD_E_LIMIT, "manifest %s is too large", digest);
	}
	*buf = xmalloc((size_t)st.st_size + 1);
	n = pd_read_full(fd, *buf, (size_t)st.st_size);
	close(fd);
	if (n != (ssize_t)st.st_size) {
		free(*buf);
		return pd_errf(e, PD_E_IO, "read manifest %s", digest);
	}
	*len = (size_t)n;
	return 0;
}

static int
desc_of(const json_t *d, struct pushblob *b, struct pd_err *e)
{
	const char *dg = json_string_value(json_object_get(d, "digest"));
	const char *mt = json_string_value(json_object_get(d, "mediaType"));

	if (dg == NULL || !pd_digest_valid(dg) || mt == NULL)
		return pd_errf(e, PD_E_INVAL, "malformed descriptor in the manifest");
	snprintf(b->digest, sizeof(b->digest), "%s", dg);
	snprintf(b->media_type, sizeof(b->media_type), "%s", mt);
	return blob_size(dg, &b->size, e);
}

/*
 * The manifest to push: the stored one when its blob exists (its own
 * descriptors, decoded in a helper), else one built from Config and
 * Blobsums (as Docker's buildManifest); *built is set then.
 */
static int
choose_manifest(const char *mdigest, const char *cdigest, const json_t *sums,
    char *man_digest, char *man_type, size_t mtlen, struct pushblob **blobs,
    size_t *nblobs, int *built, struct pd_err *e)
{
	json_t *sum = NULL, *man, *layers, *v;
	char *buf = NULL, *txt;
	size_t len = 0, i, n;
	struct pushblob *b;

	*built = 0;
	*blobs = NULL;
	*nblobs = 0;
	if (mdigest != NULL && pd_digest_valid(mdigest) && store_has(mdigest)) {
		if (read_blob(mdigest, &buf, &len, e) == -1)
			return -1;
		sum = parse_document(PD_PARSE_MANIFEST, buf, len,
		    MT_DOCKER_MANIFEST, e);
		free(buf);
		if (sum == NULL)
			return -1;
		if (strcmp(json_string_value(json_object_get(sum, "kind")) ?
		    json_string_value(json_object_get(sum, "kind")) : "",
		    "manifest") != 0) {
			json_decref(sum);
			return pd_errf(e, PD_E_INVAL, "stored manifest %s is not an "
			    "image manifest", mdigest);
		}
		n = json_array_size(json_object_get(sum, "layers"));
		b = xcalloc(n + 1, sizeof(*b));
		json_array_foreach(json_object_get(sum, "layers"), i, v)
			if (desc_of(v, &b[i], e) == -1)
				goto fail;
		if (desc_of(json_object_get(sum, "config"), &b[n], e) == -1)
			goto fail;
		snprintf(man_digest, 72, "%.71s", mdigest);
		snprintf(man_type, mtlen, "%s",
		    json_string_value(json_object_get(sum, "mediaType")) ?
		    json_string_value(json_object_get(sum, "mediaType")) :
		    MT_DOCKER_MANIFEST);
		json_decref(sum);
		*blobs = b;
		*nblobs = n + 1;
		return 0;
fail:
		free(b);
		json_decref(sum);
		return -1;
	}

	/* Build one: layers, then the config, as Docker's Go struct. */
	if (cdigest == NULL || !pd_digest_valid(cdigest))
		return pd_errf(e, PD_E_INVAL, "the plugin has no config digest");
	n = json_array_size(sums);
	b = xcalloc(n + 1, sizeof(*b));
	layers = json_array();
	json_array_foreach(sums, i, v) {
		if (!json_is_string(v) || !pd_digest_valid(json_string_value(v))) {
			pd_errf(e, PD_E_INVAL, "malformed Blobsums in the state");
			goto bfail;
		}
		snprintf(b[i].digest, sizeof(b[i].digest), "%s", json_string_value(v));
		snprintf(b[i].media_type, sizeof(b[i].media_type), "%s", MT_LAYER_GZIP);
		if (blob_size(b[i].digest, &b[i].size, e) == -1)
			goto bfail;
		json_array_append_new(layers, json_pack("{s:s, s:s, s:I}",
		    "mediaType", MT_LAYER_GZIP, "digest", b[i].digest, "size",
		    (json_int_t)b[i].size));
	}
	snprintf(b[n].digest, sizeof(b[n].digest), "%s", cdigest);
	snprintf(b[n].media_type, sizeof(b[n].media_type), "%s", MT_PLUGIN_CONFIG);
	if (blob_size(cdigest, &b[n].size, e) == -1)
		goto bfail;
	man = json_pack("{s:i, s:{s:s, s:s, s:I}, s:O, s:s}", "schemaVersion", 2,
	    "config", "mediaType", MT_PLUGIN_CONFIG, "digest", cdigest, "size",
	    (json_int_t)b[n].size, "layers", layers, "mediaType",
	    MT_DOCKER_MANIFEST);
	txt = json_dumps(man, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(man);
	if (txt == NULL) {
		pd_errf(e, PD_E_INTERNAL, "cannot encode the manifest");
		goto bfail;
	}
	if (store_put(txt, strlen(txt), man_digest, e) == -1) {
		free(txt);
		goto bfail;
	}
	free(txt);
	json_decref(layers);
	snprintf(man_type, mtlen, "%s", MT_DOCKER_MANIFEST);
	*blobs = b;
	*nblobs = n + 1;
	*built = 1;
	return 0;
bfail:
	json_decref(layers);
	free(b);
	return -1;
}

/* Record a manifest built here in the plugin's state (atomic save). */
static void
record_manifest(const char *id, const char *digest)
{
	struct plugin *p;
	struct pd_err e;
	json_t *old;

	pthread_rwlock_wrlock(&plugins_lock);
	if ((p = plugin_resolve(id, &e)) != NULL) {
		old = json_incref(json_object_get(p->state, "Manifest"));
		json_object_set_new(p->state, "Manifest", json_string(digest));
		if (plugin_save(p, &e) == -1) {
			log_warnx("cannot record manifest %s for plugin %s: %s",
			    digest, id, e.msg);
			if (old != NULL)
				json_object_set(p->state, "Manifest", old);
		}
		json_decref(old);
	}
	pthread_rwlock_unlock(&plugins_lock);
}

/* Credentials JSON: {"username","password"} or {"identitytoken"}. */
static int
open_push(struct fetcher *f, const struct pd_ref *ref, const char *auth,
    struct pd_err *e)
{
	const char *user = "", *secret = "";
	json_t *a = NULL, *v;
	int idtoken = 0, rc;

	if (auth != NULL && auth[0] != '\0') {
		a = json_loads(auth, 0, NULL);
		if (!json_is_object(a)) {
			json_decref(a);
			return pd_errf(e, PD_E_INVAL, "malformed credentials");
		}
		if (json_is_string(v = json_object_get(a, "identitytoken")) &&
		    json_string_length(v) > 0) {
			secret = json_string_value(v);
			idtoken = 1;
		} else {
			if (json_is_string(v = json_object_get(a, "username")))
				user = json_string_value(v);
			if (json_is_string(v = json_object_get(a, "password")))
				secret = json_string_value(v);
		}
	}
	rc = fetcher_open(f, ref, user, secret, idtoken, e);
	json_decref(a);
	return rc;
}

int
op_push(struct ctl_client *c, struct pd_ctlreq *q, int reqfd,
    struct pd_err *e)
{
	char id[PD_PLUGIN_ID_LEN + 1], name[600], pref[600], mdigest[80];
	char cdigest[80], man_digest[72], man_type[PD_STR_SHORT], familiar[600];
	char mount[256] = "", shortid[16], line[700];
	struct pushblob *blobs = NULL;
	struct pd_push_result res;
	struct pd_ref ref, src;
	struct fetcher f;
	struct plugin *p;
	json_t *sums = NULL;
	size_t nblobs = 0, i;
	uint64_t man_size = 0;
	int rc = -1, have_f = 0, built = 0, fd;

	memset(&res, 0, sizeof(res));
	pthread_rwlock_rdlock(&jobs_lock);	/* no blob GC meanwhile */
	pthread_rwlock_rdlock(&plugins_lock);
	if ((p = plugin_resolve(q->args[0], e)) == NULL) {
		pthread_rwlock_unlock(&plugins_lock);
		goto out;
	}
	snprintf(id, sizeof(id), "%s", p->id);
	snprintf(name, sizeof(name), "%s", plugin_name(p));
	snprintf(pref, sizeof(pref), "%s", json_string_value(json_object_get(
	    json_object_get(p->state, "plugin"), "PluginReference")) ?
	    json_string_value(json_object_get(json_object_get(p->state, "plugin"),
	    "PluginReference")) : "");
	snprintf(mdigest, sizeof(mdigest), "%s", json_string_value(
	    json_object_get(p->state, "Manifest")) ? json_string_value(
	    json_object_get(p->state, "Manifest")) : "");
	snprintf(cdigest, sizeof(cdigest), "%s", json_string_value(
	    json_object_get(p->state, "Config")) ? json_string_value(
	    json_object_get(p->state, "Config")) : "");
	sums = json_deep_copy(json_object_get(p->state, "Blobsums"));
	pthread_rwlock_unlock(&plugins_lock);

	/* The destination is the local Name, as in Docker. */
	if (pd_ref_parse(name, &ref, e) == -1)
		goto out;
	pd_ref_tag_default(&ref);
	if (ref.digest[0] != '\0') {
		pd_errf(e, PD_E_INVAL, "cannot push %s: the name has a digest", name);
		goto out;
	}
	/* A blob that came from the same registry can be mounted. */
	if (pref[0] != '\0' && pd_ref_parse(pref, &src, e) == 0 &&
	    strcmp(src.domain, ref.domain) == 0 && strcmp(src.path, ref.path) != 0)
		snprintf(mount, sizeof(mount), "%s", src.path);

	if (choose_manifest(mdigest, cdigest, sums, man_digest, man_type,
	    sizeof(man_type), &blobs, &nblobs, &built, e) == -1)
		goto out;
	if (built) {
		log_info("built manifest %s for plugin %s", man_digest, name);
		record_manifest(id, man_digest);
	}
	if (blob_size(man_digest, &man_size, e) == -1)
		goto out;

	src = ref;		/* the repository, without the tag */
	src.tag[0] = '\0';
	if (pd_ref_familiar(&src, familiar, sizeof(familiar)) == -1)
		snprintf(familiar, sizeof(familiar), "%s/%s", ref.domain, ref.path);
	snprintf(line, sizeof(line), "The push refers to repository [%s]",
	    familiar);
	(void)ctl_progress(c, "", line, 0, 0);

	if (open_push(&f, &ref, q->nargs > 1 ? q->args[1] : "", e) == -1)
		goto out;
	have_f = 1;
	for (i = 0; i < nblobs; i++) {
		snprintf(shortid, sizeof(shortid), "%.12s",
		    pd_digest_hex(blobs[i].digest));
		(void)ctl_progress(c, shortid, "Preparing", 0, 0);
	}
	for (i = 0; i < nblobs; i++) {
		snprintf(shortid, sizeof(shortid), "%.12s",
		    pd_digest_hex(blobs[i].digest));
		if ((fd = store_open(blobs[i].digest, e)) == -1)
			goto out;
		rc = fetcher_push(&f, c, PD_MSG_PUSH_BLOB, blobs[i].digest, mount,
		    blobs[i].media_type, fd, blobs[i].size, &res, e);
		close(fd);
		if (rc == -1) {
			have_f = f.open;
			goto out;
		}
		rc = -1;
		if (res.outcome == PD_PUSHED_EXISTS)
			snprintf(line, sizeof(line), "Layer already exists");
		else if (res.outcome == PD_PUSHED_MOUNTED)
			snprintf(line, sizeof(line), "Mounted from %s",
			    res.detail[0] ? res.detail : mount);
		else
			snprintf(line, sizeof(line), "Pushed");
		(void)ctl_progress(c, shortid, line, 0, 0);
		pd_push_result_free(&res);
	}
	if ((fd = store_open(man_digest, e)) == -1)
		goto out;
	rc = fetcher_push(&f, c, PD_MSG_PUSH_MANIFEST, ref.tag, "", man_type, fd,
	    man_size, &res, e);
	close(fd);
	if (rc == -1) {
		have_f = f.open;
		goto out;
	}
	rc = -1;
	if (res.digest[0] != '\0' && strcmp(res.digest, man_digest) != 0) {
		pd_errf(e, PD_E_DIGEST, "digest mismatch: registry %s stored the "
		    "manifest as %s, expected %s", f.host, res.digest, man_digest);
		goto out;
	}
	fetcher_close(&f);
	have_f = 0;
	snprintf(line, sizeof(line), "%s: digest: %s size: %llu", ref.tag,
	    man_digest, (unsigned long long)man_size);
	(void)ctl_progress(c, "", line, 0, 0);
	log_info("pushed plugin %s as %s/%s:%s, manifest %s", name, ref.domain,
	    ref.path, ref.tag, man_digest);
	rc = ctl_reply_json(c, json_pack("{s:s, s:s, s:I}", "Tag", ref.tag,
	    "Digest", man_digest, "Size", (json_int_t)man_size)) == -1 ?
	    pd_errf(e, PD_E_IO, "reply") : 0;
out:
	pd_push_result_free(&res);
	if (have_f)
		fetcher_close(&f);
	pthread_rwlock_unlock(&jobs_lock);
	json_decref(sums);
	free(blobs);
	return rc;
}

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
		return pd_errf(e, PD_E_LIMIT, "manifest %s is larger than "
		    "limits.max-manifest (%llu bytes)", digest,
		    (unsigned long long)conf.limits.max_manifest);
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

/* The stored manifest mdigest's blobs (its descriptors, decoded in a helper). */
static int
stored_manifest(const char *mdigest, char *man_digest, char *man_type,
    size_t mtlen, struct pushblob **blobs, size_t *nblobs, struct pd_err *e)
{
	const char *kind, *mt;
	struct pushblob *b;
	char *buf = NULL;
	size_t len = 0, i, n;
	json_t *sum, *v;

	if (read_blob(mdigest, &buf, &len, e) == -1)
		return -1;
	sum = parse_document(PD_PARSE_MANIFEST, buf, len, MT_DOCKER_MANIFEST, e);
	free(buf);
	if (sum == NULL)
		return -1;
	kind = json_string_value(json_object_get(sum, "kind"));
	if (kind == NULL || strcmp(kind, "manifest") != 0) {
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
	mt = json_string_value(json_object_get(sum, "mediaType"));
	snprintf(man_type, mtlen, "%s", mt != NULL ? mt : MT_DOCKER_MANIFEST);
	json_decref(sum);
	*blobs = b;
	*nblobs = n + 1;
	return 0;
fail:
	free(b);
	json_decref(sum);
	return -1;
}

/* One descriptor of a built manifest: digest and media type, size from the store. */
static int
built_desc(struct pushblob *b, const char *digest, const char *mt,
    struct pd_err *e)
{
	snprintf(b->digest, sizeof(b->digest), "%s", digest);
	snprintf(b->media_type, sizeof(b->media_type), "%s", mt);
	return blob_size(b->digest, &b->size, e);
}

/*
 * A manifest built from Config and Blobsums (as Docker's buildManifest):
 * layers, then the config, as Docker's Go struct; stored as a blob.
 */
static int
build_manifest(const char *cdigest, const json_t *sums, char *man_digest,
    char *man_type, size_t mtlen, struct pushblob **blobs, size_t *nblobs,
    struct pd_err *e)
{
	struct pushblob *b;
	json_t *man, *layers, *v;
	size_t i, n;
	char *txt;
	int rc = -1;

	if (cdigest == NULL || !pd_digest_valid(cdigest))
		return pd_errf(e, PD_E_INVAL, "the plugin has no config digest");
	n = json_array_size(sums);
	b = xcalloc(n + 1, sizeof(*b));
	layers = json_array();
	json_array_foreach(sums, i, v) {
		if (!json_is_string(v) || !pd_digest_valid(json_string_value(v))) {
			pd_errf(e, PD_E_INVAL, "malformed Blobsums in the state");
			goto out;
		}
		if (built_desc(&b[i], json_string_value(v), MT_LAYER_GZIP, e) == -1)
			goto out;
		json_array_append_new(layers, json_pack("{s:s, s:s, s:I}",
		    "mediaType", MT_LAYER_GZIP, "digest", b[i].digest, "size",
		    (json_int_t)b[i].size));
	}
	if (built_desc(&b[n], cdigest, MT_PLUGIN_CONFIG, e) == -1)
		goto out;
	man = json_pack("{s:i, s:{s:s, s:s, s:I}, s:O, s:s}", "schemaVersion", 2,
	    "config", "mediaType", MT_PLUGIN_CONFIG, "digest", cdigest, "size",
	    (json_int_t)b[n].size, "layers", layers, "mediaType",
	    MT_DOCKER_MANIFEST);
	txt = json_dumps(man, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(man);
	if (txt == NULL)
		pd_errf(e, PD_E_INTERNAL, "cannot encode the manifest");
	else if (store_put(txt, strlen(txt), man_digest, e) == 0)
		rc = 0;
	free(txt);
out:
	json_decref(layers);
	if (rc == -1) {
		free(b);
		return -1;
	}
	snprintf(man_type, mtlen, "%s", MT_DOCKER_MANIFEST);
	*blobs = b;
	*nblobs = n + 1;
	return 0;
}

/*
 * The manifest to push: the stored one when its blob exists, else one
 * built from Config and Blobsums; *built is set then.
 */
static int
choose_manifest(const char *mdigest, const char *cdigest, const json_t *sums,
    char *man_digest, char *man_type, size_t mtlen, struct pushblob **blobs,
    size_t *nblobs, int *built, struct pd_err *e)
{
	*built = 0;
	*blobs = NULL;
	*nblobs = 0;
	if (mdigest != NULL && pd_digest_valid(mdigest) && store_has(mdigest))
		return stored_manifest(mdigest, man_digest, man_type, mtlen, blobs,
		    nblobs, e);
	if (build_manifest(cdigest, sums, man_digest, man_type, mtlen, blobs,
	    nblobs, e) == -1)
		return -1;
	*built = 1;
	return 0;
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

/* What push reads of the plugin, copied under plugins_lock. */
struct pushsrc {
	char		 id[PD_PLUGIN_ID_LEN + 1];
	char		 name[600];
	char		 pref[600];	/* PluginReference */
	char		 mdigest[80];	/* Manifest */
	char		 cdigest[80];	/* Config */
	json_t		*sums;		/* Blobsums */
};

static const char *
str_or_empty(const json_t *v)
{
	return json_string_value(v) != NULL ? json_string_value(v) : "";
}

static int
push_source(const char *arg, struct pushsrc *s, struct pd_err *e)
{
	struct plugin *p;

	pthread_rwlock_rdlock(&plugins_lock);
	if ((p = plugin_resolve(arg, e)) == NULL) {
		pthread_rwlock_unlock(&plugins_lock);
		return -1;
	}
	snprintf(s->id, sizeof(s->id), "%s", p->id);
	snprintf(s->name, sizeof(s->name), "%s", plugin_name(p));
	snprintf(s->pref, sizeof(s->pref), "%s", str_or_empty(json_object_get(
	    json_object_get(p->state, "plugin"), "PluginReference")));
	snprintf(s->mdigest, sizeof(s->mdigest), "%s",
	    str_or_empty(json_object_get(p->state, "Manifest")));
	snprintf(s->cdigest, sizeof(s->cdigest), "%s",
	    str_or_empty(json_object_get(p->state, "Config")));
	s->sums = json_deep_copy(json_object_get(p->state, "Blobsums"));
	pthread_rwlock_unlock(&plugins_lock);
	return 0;
}

/*
 * Upload every blob, each read-only from the store; `mount`: the
 * repository on the same registry to mount blobs from, or "".
 */
static int
push_blobs(struct fetcher *f, struct ctl_client *c, const struct pushblob *b,
    size_t n, const char *mount, struct pd_err *e)
{
	struct pd_push_result res;
	char shortid[16], line[700];
	size_t i;
	int fd, rc;

	for (i = 0; i < n; i++) {
		snprintf(shortid, sizeof(shortid), "%.12s", pd_digest_hex(b[i].digest));
		(void)ctl_progress(c, shortid, "Preparing", 0, 0);
	}
	for (i = 0; i < n; i++) {
		snprintf(shortid, sizeof(shortid), "%.12s", pd_digest_hex(b[i].digest));
		if ((fd = store_open(b[i].digest, e)) == -1)
			return -1;
		memset(&res, 0, sizeof(res));
		rc = fetcher_push(f, c, PD_MSG_PUSH_BLOB, b[i].digest, mount,
		    b[i].media_type, fd, b[i].size, &res, e);
		close(fd);
		if (rc == -1) {
			pd_push_result_free(&res);
			return -1;
		}
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
	return 0;
}

/* Upload the manifest under ref's tag; the registry must agree on its digest. */
static int
push_manifest(struct fetcher *f, struct ctl_client *c, const struct pd_ref *ref,
    const char *man_digest, const char *man_type, uint64_t man_size,
    struct pd_err *e)
{
	struct pd_push_result res;
	int fd, rc;

	if ((fd = store_open(man_digest, e)) == -1)
		return -1;
	memset(&res, 0, sizeof(res));
	rc = fetcher_push(f, c, PD_MSG_PUSH_MANIFEST, ref->tag, "", man_type, fd,
	    man_size, &res, e);
	close(fd);
	if (rc == 0 && res.digest[0] != '\0' && strcmp(res.digest, man_digest) != 0)
		rc = pd_errf(e, PD_E_DIGEST, "digest mismatch: registry %s stored "
		    "the manifest as %s, expected %s", f->host, res.digest,
		    man_digest);
	pd_push_result_free(&res);
	return rc;
}

/* "The push refers to repository [...]", as docker push starts. */
static void
push_banner(struct ctl_client *c, const struct pd_ref *ref)
{
	char familiar[600], line[700];
	struct pd_ref repo = *ref;

	repo.tag[0] = '\0';
	if (pd_ref_familiar(&repo, familiar, sizeof(familiar)) == -1)
		snprintf(familiar, sizeof(familiar), "%s/%s", ref->domain, ref->path);
	snprintf(line, sizeof(line), "The push refers to repository [%s]",
	    familiar);
	(void)ctl_progress(c, "", line, 0, 0);
}

int
op_push(struct ctl_client *c, struct pd_ctlreq *q, int reqfd,
    struct pd_err *e)
{
	char man_digest[72], man_type[PD_STR_SHORT], mount[256] = "", line[700];
	struct pushblob *blobs = NULL;
	struct pushsrc s = { .sums = NULL };
	struct pd_ref ref, src;
	struct fetcher f;
	size_t nblobs = 0;
	uint64_t man_size = 0;
	int rc = -1, built = 0;

	pthread_rwlock_rdlock(&jobs_lock);	/* no blob GC meanwhile */
	if (push_source(q->args[0], &s, e) == -1)
		goto out;
	/* The destination is the local Name, as in Docker. */
	if (pd_ref_parse(s.name, &ref, e) == -1)
		goto out;
	pd_ref_tag_default(&ref);
	if (ref.digest[0] != '\0') {
		pd_errf(e, PD_E_INVAL, "cannot push %s: the name has a digest", s.name);
		goto out;
	}
	/* A blob that came from the same registry can be mounted. */
	if (s.pref[0] != '\0' && pd_ref_parse(s.pref, &src, e) == 0 &&
	    strcmp(src.domain, ref.domain) == 0 && strcmp(src.path, ref.path) != 0)
		snprintf(mount, sizeof(mount), "%s", src.path);

	if (choose_manifest(s.mdigest, s.cdigest, s.sums, man_digest, man_type,
	    sizeof(man_type), &blobs, &nblobs, &built, e) == -1)
		goto out;
	if (built) {
		log_info("built manifest %s for plugin %s", man_digest, s.name);
		record_manifest(s.id, man_digest);
	}
	if (blob_size(man_digest, &man_size, e) == -1)
		goto out;
	push_banner(c, &ref);
	/* push is root's: with the client certificate. */
	if (fetcher_open(&f, &ref, q->nargs > 1 ? q->args[1] : "", 1, e) == -1)
		goto out;
	if (push_blobs(&f, c, blobs, nblobs, mount, e) == 0 &&
	    push_manifest(&f, c, &ref, man_digest, man_type, man_size, e) == 0)
		rc = 0;
	fetcher_close(&f);
	if (rc == -1)
		goto out;
	snprintf(line, sizeof(line), "%s: digest: %s size: %llu", ref.tag,
	    man_digest, (unsigned long long)man_size);
	(void)ctl_progress(c, "", line, 0, 0);
	log_info("pushed plugin %s as %s/%s:%s, manifest %s", s.name, ref.domain,
	    ref.path, ref.tag, man_digest);
	rc = ctl_reply_json(c, json_pack("{s:s, s:s, s:I}", "Tag", ref.tag,
	    "Digest", man_digest, "Size", (json_int_t)man_size)) == -1 ?
	    pd_errf(e, PD_E_IO, "reply") : 0;
out:
	pthread_rwlock_unlock(&jobs_lock);
	json_decref(s.sums);
	free(blobs);
	return rc;
}

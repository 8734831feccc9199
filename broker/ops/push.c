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
#include "sigattach.h"
#include "sigpayload.h"
#include "sigverify.h"
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
 * The manifest of Config and Blobsums, as create writes it
 * (pd_plugin_manifest, common/manifest.c).  Stored as a blob, or with
 * store 0 only its digest computed (is a stored manifest ours?).
 */
static int
build_manifest(const char *cdigest, const json_t *sums, int store,
    char *man_digest, char *man_type, size_t mtlen, struct pushblob **blobs,
    size_t *nblobs, struct pd_err *e)
{
	const char **ld = NULL;
	struct pushblob *b;
	uint64_t *ls = NULL;
	json_t *v;
	size_t i, n;
	char *txt;
	int rc = -1;

	if (cdigest == NULL || !pd_digest_valid(cdigest))
		return pd_errf(e, PD_E_INVAL, "the plugin has no config digest");
	n = json_array_size(sums);
	b = xcalloc(n + 1, sizeof(*b));
	ld = xcalloc(n + 1, sizeof(*ld));
	ls = xcalloc(n + 1, sizeof(*ls));
	json_array_foreach(sums, i, v) {
		if (!json_is_string(v) || !pd_digest_valid(json_string_value(v))) {
			pd_errf(e, PD_E_INVAL, "malformed Blobsums in the state");
			goto out;
		}
		if (built_desc(&b[i], json_string_value(v), MT_LAYER_GZIP, e) == -1)
			goto out;
		ld[i] = b[i].digest;
		ls[i] = b[i].size;
	}
	if (built_desc(&b[n], cdigest, MT_PLUGIN_CONFIG, e) == -1)
		goto out;
	if ((txt = pd_plugin_manifest(cdigest, b[n].size, ld, ls, n)) == NULL)
		pd_errf(e, PD_E_INTERNAL, "cannot encode the manifest");
	else if (!store && pd_sha256_buf(txt, strlen(txt), man_digest) == 0)
		rc = 0;
	else if (store && store_put(txt, strlen(txt), man_digest, e) == 0)
		rc = 0;
	else if (!store)
		pd_errf(e, PD_E_INTERNAL, "cannot hash the manifest");
	free(txt);
out:
	free(ld);
	free(ls);
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
	struct pd_err ie;

	*built = 0;
	*blobs = NULL;
	*nblobs = 0;
	if (mdigest != NULL && pd_digest_valid(mdigest) && store_has(mdigest)) {
		/*
		 * A manifest this broker built (create, an earlier push) is
		 * the same bytes built again: the descriptors are then known
		 * without a parser.  Anything else, a registry's, is decoded
		 * in the sandbox.
		 */
		if (build_manifest(cdigest, sums, 0, man_digest, man_type, mtlen,
		    blobs, nblobs, &ie) == 0) {
			if (strcmp(man_digest, mdigest) == 0)
				return 0;
			log_debug("manifest %s is not the one built from the "
			    "state (%s): decoded by a parser", mdigest, man_digest);
		}
		free(*blobs);
		*blobs = NULL;
		*nblobs = 0;
		return stored_manifest(mdigest, man_digest, man_type, mtlen, blobs,
		    nblobs, e);
	}
	if (build_manifest(cdigest, sums, 1, man_digest, man_type, mtlen, blobs,
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

/* Upload the manifest under tag; the registry must agree on its digest. */
static int
push_manifest(struct fetcher *f, struct ctl_client *c, const char *tag,
    const char *man_digest, const char *man_type, uint64_t man_size,
    struct pd_err *e)
{
	struct pd_push_result res;
	int fd, rc;

	if ((fd = store_open(man_digest, e)) == -1)
		return -1;
	memset(&res, 0, sizeof(res));
	rc = fetcher_push(f, c, PD_MSG_PUSH_MANIFEST, tag, "", man_type, fd,
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
	    push_manifest(&f, c, ref.tag, man_digest, man_type, man_size, e) == 0)
		rc = 0;
	if (rc == -1) {
		fetcher_close(&f);
		goto out;
	}
	snprintf(line, sizeof(line), "%s: digest: %s size: %llu", ref.tag,
	    man_digest, (unsigned long long)man_size);
	(void)ctl_progress(c, "", line, 0, 0);
	log_info("pushed plugin %s as %s/%s:%s, manifest %s", s.name, ref.domain,
	    ref.path, ref.tag, man_digest);
	/* Reference: what push --sign-by signs the digest as. */
	if (pd_ref_full(&ref, line, sizeof(line)) == -1)
		line[0] = '\0';
	rc = ctl_reply_json(c, json_pack("{s:s, s:s, s:I, s:s}", "Tag", ref.tag,
	    "Digest", man_digest, "Size", (json_int_t)man_size, "Reference",
	    line)) == -1 ? pd_errf(e, PD_E_IO, "reply") : 0;
	/* After the reply: the fetcher's teardown is not the client's wait. */
	fetcher_close(&f);
out:
	pthread_rwlock_unlock(&jobs_lock);
	json_decref(s.sums);
	free(blobs);
	return rc;
}

/*
 * The signatures already attached to digest in f's repository, decoded
 * by the sandboxed parser: {"signatures": [...], "others": N}; an empty
 * list when the registry has none.  NULL with e set.
 */
static json_t *
sig_existing(struct fetcher *f, const char *tag, struct pd_err *e)
{
	char ctype[PD_STR_SHORT + 1], *buf = NULL;
	struct parser p;
	json_t *sum;
	size_t len;

	if (fetch_manifest(f, tag, &buf, &len, ctype, sizeof(ctype), e) == -1) {
		if (e->code != PD_E_NOTFOUND)
			return NULL;
		return json_pack("{s:[], s:i}", "signatures", "others", 0);
	}
	memset(&p, 0, sizeof(p));
	sum = parser_parse(&p, PD_PARSE_SIGNATURES, buf, len, ctype, e);
	parser_close(&p);
	free(buf);
	return sum;
}

/* The layer of one signature: its payload blob, annotated with it. */
static json_t *
sig_layer(const char *digest, json_int_t size, const char *b64)
{
	return json_pack("{s:s, s:s, s:I, s:{s:s}}", "mediaType",
	    MT_SIG_SIMPLESIGNING, "digest", digest, "size", size, "annotations",
	    PD_SIG_ANNOTATION, b64);
}

/* doc (consumed) as compact JSON in the store: its digest and size. */
static int
store_json(json_t *doc, const char *what, char *digest, uint64_t *size,
    struct pd_err *e)
{
	char *txt;
	int rc;

	txt = doc != NULL ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) :
	    NULL;
	json_decref(doc);
	if (txt == NULL)
		return pd_errf(e, PD_E_INTERNAL, "cannot encode the %s", what);
	*size = strlen(txt);
	rc = store_put(txt, *size, digest, e);
	free(txt);
	return rc;
}

/*
 * The attachment's new config and manifest, stored as blobs: the config
 * lists the layers as skopeo's does (rootfs.diff_ids), the manifest is
 * OCI.  cfg gets the config, man and *mansize the manifest.
 */
static int
sig_build(json_t *layers, struct pushblob *cfg, char *man, uint64_t *mansize,
    struct pd_err *e)
{
	json_t *ids, *l;
	size_t i;

	ids = json_array();
	json_array_foreach(layers, i, l)
		json_array_append(ids, json_object_get(l, "digest"));
	if (store_json(json_pack("{s:s, s:s, s:s, s:{s:s, s:o}, s:{}}",
	    "architecture", "", "created", "0001-01-01T00:00:00Z", "os", "",
	    "rootfs", "type", "layers", "diff_ids", ids, "config"),
	    "signature config", cfg->digest, &cfg->size, e) == -1)
		return -1;
	snprintf(cfg->media_type, sizeof(cfg->media_type), "%s", MT_OCI_CONFIG);
	return store_json(json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:O}",
	    "schemaVersion", 2, "mediaType", MT_OCI_MANIFEST, "config",
	    "mediaType", MT_OCI_CONFIG, "digest", cfg->digest, "size",
	    (json_int_t)cfg->size, "layers", layers), "signature manifest", man,
	    mansize, e);
}

/*
 * Append the client's signature to the existing ones: 1 when it is
 * already there, 0 appended, -1 refused (PD_SIG_MAX, or layers that are
 * not signatures, which a rewrite would drop).
 */
static int
sig_append(const json_t *sum, json_t *layers, const char *pdigest,
    json_int_t psize, const char *b64, const char *tag, struct pd_err *e)
{
	const json_t *sigs = json_object_get(sum, "signatures"), *s;
	json_int_t others = json_integer_value(json_object_get(sum, "others"));
	const char *d, *g;
	size_t i;

	if (others != 0)
		return pd_errf(e, PD_E_CONFLICT, "the attachment %s holds %lld "
		    "layers that are not signatures; plugind does not rewrite it",
		    tag, (long long)others);
	json_array_foreach(sigs, i, s) {
		d = json_string_value(json_object_get(s, "digest"));
		g = json_string_value(json_object_get(s, "signature"));
		if (d == NULL || g == NULL)
			return pd_errf(e, PD_E_PROTO, "the parser returned a bad "
			    "signature list");
		if (strcmp(d, pdigest) == 0 && strcmp(g, b64) == 0)
			return 1;
		json_array_append_new(layers, sig_layer(d,
		    json_integer_value(json_object_get(s, "size")), g));
	}
	if (json_array_size(layers) >= PD_SIG_MAX)
		return pd_errf(e, PD_E_LIMIT, "the attachment %s already holds %d "
		    "signatures, the most a signed rule reads", tag, PD_SIG_MAX);
	json_array_append_new(layers, sig_layer(pdigest, psize, b64));
	return 0;
}

/* The client's payload and signature: sizes and encoding only. */
static int
sig_args(const struct pd_ctlreq *q, const struct pushsrc *s, char *tag,
    size_t len, struct pd_err *e)
{
	size_t n = strlen(q->args[4]);

	if (strcmp(q->args[2], s->mdigest) != 0)
		return pd_errf(e, PD_E_INVAL, "sign %s: %.80s is not the manifest "
		    "pushed for it (%s)", s->name, q->args[2],
		    s->mdigest[0] ? s->mdigest : "none: push it first");
	if (pd_sig_tag(q->args[2], tag, len) == -1)
		return pd_errf(e, PD_E_INVAL, "sign %s: %.80s is not a sha256 "
		    "digest", s->name, q->args[2]);
	if (q->args[3][0] == '\0' || strlen(q->args[3]) > PD_SIGPAYLOAD_MAX)
		return pd_errf(e, PD_E_INVAL, "sign %s: the payload is empty or "
		    "larger than %d bytes", s->name, PD_SIGPAYLOAD_MAX);
	if (n == 0 || n % 4 != 0 || n > PD_SIG_B64_MAX ||
	    !pd_sig_b64_chars(q->args[4]))
		return pd_errf(e, PD_E_INVAL, "sign %s: the signature is not 1 to "
		    "%d bytes of base64", s->name, PD_SIG_B64_MAX);
	return 0;
}

/*
 * push --sign-by, its second request (PD_CTL_SIGN): pluginctl signed,
 * with the operator's key and as the operator, the payload naming the
 * manifest just pushed; the broker appends it to the sha256-<hex>.sig
 * attachment in the plugin's repository, as skopeo's
 * use-sigstore-attachments does (docs/POLICY.md, "Signing on push").
 * The payload and signature are the client's: the broker checks their
 * size and encoding and parses neither.  The attachment already in the
 * registry is decoded by the sandboxed parser.
 */
int
op_sign(struct ctl_client *c, struct pd_ctlreq *q, int reqfd,
    struct pd_err *e)
{
	char tag[80], man[72], line[700];
	struct pushblob b[2];
	struct pushsrc s = { .sums = NULL };
	struct pd_ref ref;
	struct fetcher f;
	json_t *sum = NULL, *layers = NULL;
	uint64_t mansize = 0;
	size_t n;
	int rc = -1, have = 0;

	(void)reqfd;
	pthread_rwlock_rdlock(&jobs_lock);	/* no blob GC meanwhile */
	if (push_source(q->args[0], &s, e) == -1 ||
	    sig_args(q, &s, tag, sizeof(tag), e) == -1 ||
	    pd_ref_parse(s.name, &ref, e) == -1)
		goto out;
	pd_ref_tag_default(&ref);
	memset(b, 0, sizeof(b));
	if (store_put(q->args[3], strlen(q->args[3]), b[0].digest, e) == -1)
		goto out;
	b[0].size = strlen(q->args[3]);
	snprintf(b[0].media_type, sizeof(b[0].media_type), "%s",
	    MT_SIG_SIMPLESIGNING);
	if (fetcher_open(&f, &ref, q->args[1], 1, e) == -1)
		goto out;
	layers = json_array();
	if ((sum = sig_existing(&f, tag, e)) != NULL &&
	    (have = sig_append(sum, layers, b[0].digest, (json_int_t)b[0].size,
	    q->args[4], tag, e)) == 0 &&
	    sig_build(layers, &b[1], man, &mansize, e) == 0 &&
	    push_blobs(&f, c, b, 2, "", e) == 0 &&
	    push_manifest(&f, c, tag, man, MT_OCI_MANIFEST, mansize, e) == 0)
		rc = 0;
	else if (have == 1)
		rc = 0;		/* this very signature is there already */
	fetcher_close(&f);
	if (rc == -1)
		goto out;
	snprintf(line, sizeof(line), "%s: signature %s of %s", tag, have ?
	    "already present" : "pushed", q->args[2]);
	(void)ctl_progress(c, "", line, 0, 0);
	n = have ? json_array_size(json_object_get(sum, "signatures")) :
	    json_array_size(layers);
	log_info("signed plugin %s: %s/%s:%s, %zu signatures", s.name,
	    ref.domain, ref.path, tag, n);
	rc = ctl_reply_json(c, json_pack("{s:s, s:s, s:I}", "Tag", tag, "Digest",
	    q->args[2], "Signatures", (json_int_t)n)) == -1 ?
	    pd_errf(e, PD_E_IO, "reply") : 0;
out:
	pthread_rwlock_unlock(&jobs_lock);
	json_decref(sum);
	json_decref(layers);
	json_decref(s.sums);
	return rc;
}

/*
 * install / privileges (Engine API /plugins/privileges and /plugins/pull).
 * The fetcher brings the bytes, a parse-only extractor decodes the
 * documents, the broker verifies every digest and size, and the layers
 * stream from the fetcher through the broker (hashing and storing) into the
 * extractor, so the install takes about as long as its slowest stage.
 */
#include <sys/stat.h>


#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ops/ops.h"
#include "crashpoint.h"
#include "digest.h"
#include "log.h"
#include "manifest.h"
#include "plugincfg.h"
#include "ref.h"
#include "util.h"

struct remote {
	struct pd_ref	 ref;
	char		 full[600];	/* normalized reference */
	char		 man_digest[72];
	char		 top_digest[72];	/* what the tag named: signed */
	char		 signer[4200];		/* key that verified, or "" */
	char		*man_buf;	/* the (platform) manifest's bytes */
	size_t		 man_len;
	json_t		*man;		/* its summary */
	json_t		*config;	/* canonical plugin config */
	char		 cfg_digest[72];
	int		 cfg_fd;	/* verified config bytes, not yet stored */
	struct parser	 parser;	/* the job's: manifests, then config */
	uint64_t	 t0, tlast;	/* phase timing (phase()), ms */
	char		 phases[256];
};

/*
 * Where the time of a job goes: each phase's milliseconds, logged at
 * --debug when the job ends (phases_log), so a slow install says which
 * step was slow.
 */
static void
phase(struct remote *r, const char *name)
{
	uint64_t now = pd_now_ms();
	size_t n = strlen(r->phases);

	snprintf(r->phases + n, sizeof(r->phases) - n, "%s%s %llu ms",
	    n ? ", " : "", name, (unsigned long long)(now - r->tlast));
	r->tlast = now;
}

static void
phases_log(const struct remote *r, const char *verb)
{
	log_debug("%s %s: %s; total %llu ms", verb, r->full, r->phases,
	    (unsigned long long)(pd_now_ms() - r->t0));
}

static void
remote_free(struct remote *r)
{
	free(r->man_buf);
	json_decref(r->man);
	json_decref(r->config);
	parser_close(&r->parser);
	if (r->cfg_fd >= 0)
		close(r->cfg_fd);
	memset(r, 0, sizeof(*r));
	r->cfg_fd = -1;
}

static int
is_layer_type(const char *mt)
{
	static const char *ok[] = {
		"application/vnd.docker.image.rootfs.diff.tar.gzip",
		"application/vnd.docker.image.rootfs.diff.tar",
		"application/vnd.oci.image.layer.v1.tar",
		"application/vnd.oci.image.layer.v1.tar+gzip",
		"application/vnd.oci.image.layer.v1.tar+zstd",
	};
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strcmp(mt, ok[i]) == 0)
			return 1;
	return 0;
}

/* Fetch a manifest by tag or digest, verify, summarise. */
static int
get_manifest(struct fetcher *f, const char *reference, const char *want_digest,
    struct remote *r, struct pd_err *e)
{
	char ctype[PD_STR_SHORT + 1], got[72];

	free(r->man_buf);
	r->man_buf = NULL;
	json_decref(r->man);
	r->man = NULL;
	if (fetch_manifest(f, reference, &r->man_buf, &r->man_len, ctype,
	    sizeof(ctype), e) == -1)
		return -1;
	pd_sha256_buf(r->man_buf, r->man_len, got);
	if (want_digest != NULL && strcmp(got, want_digest) != 0)
		return pd_errf(e, PD_E_DIGEST, "manifest digest mismatch for %s: "
		    "expected %s, got %s", r->full, want_digest, got);
	snprintf(r->man_digest, sizeof(r->man_digest), "%s", got);
	if ((r->man = parser_parse(&r->parser, PD_PARSE_MANIFEST, r->man_buf,
	    r->man_len, ctype, e)) == NULL)
		return -1;
	return 0;
}

/*
 * Resolve a remote plugin: manifest (through an index to this host's
 * platform), then the config, verified and decoded.
 */
static int
resolve_remote(struct fetcher *f, struct ctl_client *c, struct remote *r,
    struct pd_err *e)
{
	const json_t *sel, *cd;
	const char *mt, *ref_in;
	char tmp[600];
	uint64_t size;
	int fd;

	ref_in = r->ref.digest[0] ? r->ref.digest : r->ref.tag;
	{
		char status[600];

		snprintf(status, sizeof(status), "Pulling from %s%s%s",
		    strcmp(r->ref.domain, "docker.io") == 0 ? "" : r->ref.domain,
		    strcmp(r->ref.domain, "docker.io") == 0 ? "" : "/", r->ref.path);
		(void)ctl_progress(c, r->ref.tag[0] ? r->ref.tag : r->ref.digest,
		    status, 0, 0);
	}
	if (get_manifest(f, ref_in, r->ref.digest[0] ? r->ref.digest : NULL, r,
	    e) == -1)
		return -1;
	snprintf(r->top_digest, sizeof(r->top_digest), "%s", r->man_digest);
	if (strcmp(json_string_value(json_object_get(r->man, "kind")), "index") == 0) {
		if ((sel = pd_index_select(r->man, "linux", pd_host_arch(), e)) == NULL) {
			char why[PD_ERR_MSGLEN];

			snprintf(why, sizeof(why), "%s", e->msg);
			return pd_errf(e, PD_E_NOTFOUND, "%s: %s", r->full, why);
		}
		snprintf(tmp, sizeof(tmp), "%s", json_string_value(json_object_get(sel,
		    "digest")));
		if (get_manifest(f, tmp, tmp, r, e) == -1)
			return -1;
		if (strcmp(json_string_value(json_object_get(r->man, "kind")),
		    "manifest") != 0)
			return pd_errf(e, PD_E_INVAL, "%s: an index entry points to "
			    "another index", r->full);
	}
	cd = json_object_get(r->man, "config");
	mt = json_string_value(json_object_get(cd, "mediaType"));
	if (strcmp(mt, MT_PLUGIN_CONFIG) != 0)
		return pd_errf(e, PD_E_INVAL, "%s is not a plugin (config media type "
		    "%s, want %s)", r->full, mt, MT_PLUGIN_CONFIG);
	snprintf(r->cfg_digest, sizeof(r->cfg_digest), "%s",
	    json_string_value(json_object_get(cd, "digest")));
	size = (uint64_t)json_integer_value(json_object_get(cd, "size"));
	if (size > PD_CONFIG_MAX)
		return pd_errf(e, PD_E_LIMIT, "%s: plugin config of %llu bytes is "
		    "larger than %d", r->full, (unsigned long long)size, PD_CONFIG_MAX);
	if ((fd = store_tmpfile(e)) == -1)
		return -1;
	r->cfg_fd = fd;
	if (fetch_blob(f, c, r->cfg_digest, size, fd, -1, e) == -1)
		return -1;
	{
		char *buf = xmalloc(size + 1);
		ssize_t n = pread(fd, buf, size, 0);

		if (n != (ssize_t)size) {
			free(buf);
			return pd_errf(e, PD_E_IO, "reading back the config");
		}
		r->config = parser_parse(&r->parser, PD_PARSE_CONFIG, buf, size,
		    NULL, e);
		free(buf);
	}
	/* Every document is in: the parser's job is done. */
	parser_close(&r->parser);
	return r->config == NULL ? -1 : 0;
}

static int
remote_init(const char *remote, struct remote *r, struct pd_err *e)
{
	memset(r, 0, sizeof(*r));
	r->cfg_fd = -1;
	r->t0 = r->tlast = pd_now_ms();
	if (pd_ref_parse(remote, &r->ref, e) == -1)
		return -1;
	pd_ref_tag_default(&r->ref);
	if (pd_ref_full(&r->ref, r->full, sizeof(r->full)) == -1)
		return pd_errf(e, PD_E_INVAL, "reference too long");
	return 0;
}

/*
 * A signed rule's proof, before anything is staged: a signature by one
 * of its keys over the manifest the tag named, as this reference.
 */
static int
remote_signed(struct fetcher *f, struct remote *r, struct pd_err *e)
{
	char what[PD_ERR_MSGLEN];
	json_t *keys;
	int rc;

	r->signer[0] = '\0';
	if (!policy_signed(r->full, &keys, what, sizeof(what) - 200))
		return 0;
	rc = signature_verify(f, &r->ref, r->top_digest, keys, what, r->signer,
	    sizeof(r->signer), e);
	json_decref(keys);
	if (rc == 0)
		log_info("%s: signed by %s (%s)", r->full, r->signer, r->top_digest);
	return rc;
}

/* {Key, Digest} of the verified signature, or NULL if none was needed. */
static json_t *
remote_signature(const struct remote *r)
{
	if (r->signer[0] == '\0')
		return NULL;
	return json_pack("{s:s, s:s}", "Key", r->signer, "Digest",
	    r->top_digest);
}

/*
 * pluginctl privileges (PD_CTL_PRIVILEGES), which group members may use.
 * For a non-root peer the fetcher gets certs.d's CA certificates but
 * never its client certificate: that is the administrator's identity,
 * and a member could otherwise present it to any host it names
 * (docs/PRIVSEP.md, "What members cost").
 */
int
op_privileges(struct ctl_client *c, struct pd_ctlreq *q, int reqfd,
    struct pd_err *e)
{
	struct fetcher f;
	struct remote r;
	int rc = -1;

	if (remote_init(q->args[0], &r, e) == -1)
		return -1;
	/* The policy's answer comes first, and a rejected source is never asked. */
	if (policy_check(r.full, NULL, e) == 0 &&
	    fetcher_open(&f, &r.ref, q->args[1], c->uid == 0, e) == 0) {
		if (resolve_remote(&f, c, &r, e) == 0 &&
		    config_grantable(r.config, e) == 0 &&
		    policy_check(r.full, r.config, e) == 0 &&
		    remote_signed(&f, &r, e) == 0)
			rc = ctl_reply_json(c, pd_config_privileges(r.config)) == -1 ?
			    pd_errf(e, PD_E_IO, "reply") : 0;
		fetcher_close(&f);
	}
	/* Not a mutating verb, but a policy refusal is audited (POLICY.md). */
	if (rc == -1 && e->code == PD_E_POLICY)
		audit_log(c, "privileges", q->args[0], 0, e->msg);
	remote_free(&r);
	return rc;
}

/*
 * pluginctl verify (PD_CTL_VERIFY): the signatures of a remote plugin,
 * checked as a signed rule checks them, against the policy's keys for
 * its scope or the one key file named.
 */
int
op_verify(struct ctl_client *c, struct pd_ctlreq *q, int reqfd,
    struct pd_err *e)
{
	char what[PD_ERR_MSGLEN];
	struct fetcher f;
	struct remote r;
	json_t *keys;
	int rc = -1;

	if (remote_init(q->args[0], &r, e) == -1)
		return -1;
	if (q->args[2][0] != '\0') {
		keys = json_pack("[s]", q->args[2]);
		snprintf(what, sizeof(what), "verify %.300s: a signature by %.300s",
		    r.full, q->args[2]);
	} else if (!policy_signed(r.full, &keys, what, sizeof(what) - 200)) {
		remote_free(&r);
		return pd_errf(e, PD_E_INVAL, "verify %s: the policy has no signed "
		    "rule for it: name a key with --key FILE", r.full);
	}
	if (fetcher_open(&f, &r.ref, q->args[1], 1, e) == 0) {
		if (get_manifest(&f, r.ref.digest[0] ? r.ref.digest : r.ref.tag,
		    r.ref.digest[0] ? r.ref.digest : NULL, &r, e) == 0 &&
		    signature_verify(&f, &r.ref, r.man_digest, keys, what,
		    r.signer, sizeof(r.signer), e) == 0)
			rc = ctl_reply_json(c, json_pack("{s:s, s:s, s:s}",
			    "Reference", r.full, "Key", r.signer, "Digest",
			    r.man_digest)) == -1 ? pd_errf(e, PD_E_IO, "reply") : 0;
		fetcher_close(&f);
	}
	json_decref(keys);
	remote_free(&r);
	return rc;
}

/*
 * Privileges compare as structures: a list is a multiset of entries,
 * an entry is its Name and its Value as a multiset of strings (Docker
 * sorts values too).  Anything not of that shape compares unequal;
 * nothing is joined into one string, so no separator can be smuggled.
 */
static int
strs_cmp(const json_t *a, const json_t *b)
{
	size_t i, na = json_array_size(a), nb = json_array_size(b);
	int c;

	for (i = 0; i < na && i < nb; i++)
		if ((c = strcmp(json_string_value(json_array_get(a, i)),
		    json_string_value(json_array_get(b, i)))) != 0)
			return c;
	return na < nb ? -1 : na > nb;
}

static int
jstr_cmp(const void *a, const void *b)
{
	return strcmp(json_string_value(*(json_t *const *)a),
	    json_string_value(*(json_t *const *)b));
}

/* {Name, Value} with Value sorted, or NULL if p is not a privilege. */
static json_t *
priv_norm(const json_t *p)
{
	const json_t *name = json_object_get(p, "Name"), *vals, *v;
	json_t **tmp, *sorted;
	size_t i, n;

	vals = json_object_get(p, "Value");
	if (!json_is_string(name) || !json_is_array(vals))
		return NULL;
	n = json_array_size(vals);
	tmp = xcalloc(n + 1, sizeof(*tmp));
	json_array_foreach(vals, i, v) {
		if (!json_is_string(v)) {
			free(tmp);
			return NULL;
		}
		tmp[i] = (json_t *)(uintptr_t)v;
	}
	qsort(tmp, n, sizeof(*tmp), jstr_cmp);
	sorted = json_array();
	for (i = 0; i < n; i++)
		json_array_append(sorted, tmp[i]);
	free(tmp);
	return json_pack("{s:O, s:o}", "Name", name, "Value", sorted);
}

static int
priv_cmp(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	int c;

	if ((c = strcmp(json_string_value(json_object_get(x, "Name")),
	    json_string_value(json_object_get(y, "Name")))) != 0)
		return c;
	return strs_cmp(json_object_get(x, "Value"), json_object_get(y, "Value"));
}

int
privileges_equal(const json_t *a, const json_t *b)
{
	size_t i, n = json_array_size(a);
	json_t **ka, **kb;
	int eq = 1;

	if (!json_is_array(a) || !json_is_array(b) || json_array_size(b) != n)
		return 0;
	ka = xcalloc(n + 1, sizeof(*ka));
	kb = xcalloc(n + 1, sizeof(*kb));
	for (i = 0; i < n; i++) {
		ka[i] = priv_norm(json_array_get(a, i));
		kb[i] = priv_norm(json_array_get(b, i));
		if (ka[i] == NULL || kb[i] == NULL)
			eq = 0;
	}
	if (eq) {
		qsort(ka, n, sizeof(*ka), priv_cmp);
		qsort(kb, n, sizeof(*kb), priv_cmp);
		for (i = 0; i < n && eq; i++)
			eq = json_equal(ka[i], kb[i]);
	}
	for (i = 0; i < n; i++) {
		json_decref(ka[i]);
		json_decref(kb[i]);
	}
	free(ka);
	free(kb);
	return eq;
}

/* Name a new plugin: the alias, or the remote (familiar for Docker Hub). */
static int
install_name(const char *alias, const struct remote *r, char *name, size_t len,
    struct pd_err *e)
{
	struct pd_ref tmp;

	if (alias != NULL && alias[0] != '\0')
		return plugin_new_name(alias, name, len, e);
	tmp = r->ref;
	if (tmp.digest[0] != '\0' && tmp.tag[0] == '\0')
		return pd_ref_familiar(&tmp, name, len) == -1 ?
		    pd_errf(e, PD_E_INVAL, "name too long") : 0;
	tmp.digest[0] = '\0';
	return pd_ref_familiar(&tmp, name, len) == -1 ?
	    pd_errf(e, PD_E_INVAL, "name too long") : 0;
}

/*
 * A stored blob is trusted by its digest, but the manifest's size must
 * still be its size (M9): a descriptor that lies is refused whether or
 * not the blob is already here.
 */
static int
stored_size_is(int fd, uint64_t size, const struct remote *r,
    const char *shortid, struct pd_err *e)
{
	struct stat st;

	if (fstat(fd, &st) == -1)
		return pd_errno(e, PD_E_IO, "fstat blob %s", shortid);
	if ((uint64_t)st.st_size != size)
		return pd_errf(e, PD_E_DIGEST, "%s: layer %s: the manifest says %llu "
		    "bytes, the blob with that digest has %llu", r->full, shortid,
		    (unsigned long long)size, (unsigned long long)st.st_size);
	return 0;
}

/* A layer already in the store: verify its size, start extracting it. */
static int
layer_from_store(struct ctl_client *c, struct remote *r, struct helper *x,
    const char *digest, const char *mt, uint64_t size, const char *shortid,
    struct pd_err *e)
{
	int storefd, rc;

	(void)ctl_progress(c, shortid, "Already exists", 0, 0);
	if ((storefd = store_open(digest, e)) == -1)
		return -1;
	if (stored_size_is(storefd, size, r, shortid, e) == -1) {
		close(storefd);
		return -1;
	}
	rc = extract_layer_start(x, storefd, mt, e);
	close(storefd);
	return rc;
}

/*
 * A layer from the registry: the fetcher writes it into a store temp
 * file and a pipe at once, the extractor reads the pipe as it arrives,
 * and the store commits the file only if its digest is the one asked for.
 */
static int
layer_from_registry(struct fetcher *f, struct ctl_client *c, struct helper *x,
    const char *digest, const char *mt, uint64_t size, const char *shortid,
    struct pd_err *e)
{
	struct extract_result xr;
	int storefd, p[2], rc;

	(void)ctl_progress(c, shortid, "Pulling fs layer", 0, size);
	if ((storefd = store_tmpfile(e)) == -1)
		return -1;
	if (pipe2(p, O_CLOEXEC) == -1) {
		close(storefd);
		return pd_errno(e, PD_E_INTERNAL, "pipe");
	}
	(void)fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
	/* The extractor starts reading before the first byte arrives. */
	if (extract_layer_start(x, p[0], mt, e) == -1) {
		close(p[0]);
		close(p[1]);
		close(storefd);
		return -1;
	}
	close(p[0]);
	rc = fetch_blob(f, c, digest, size, storefd, p[1], e);
	close(p[1]);
	if (rc == -1 && e->code == PD_E_PIPE) {
		/* The extractor gave up first: report its reason. */
		close(storefd);
		(void)extract_layer_wait(x, &xr, e);
		return -1;
	}
	if (rc == 0) {
		(void)ctl_progress(c, shortid, "Verifying Checksum", size, size);
		rc = store_commit(storefd, digest, size, e);
	}
	close(storefd);
	if (rc == 0)
		(void)ctl_progress(c, shortid, "Download complete", size, size);
	return rc;
}

/*
 * Docker writes the compressed digest into diff_ids (create), OCI the
 * tar's: either matches.  No diff_ids at all: nothing to compare.
 */
static int
diff_id_matches(const json_t *diffs, size_t i, const char *digest,
    const struct extract_result *xr, const struct remote *r,
    const char *shortid, struct pd_err *e)
{
	const char *want;

	if (!json_is_array(diffs))
		return 0;
	want = json_string_value(json_array_get(diffs, i));
	if (want == NULL || (strcmp(want, xr->diff_id) != 0 &&
	    strcmp(want, digest) != 0))
		return pd_errf(e, PD_E_DIGEST, "%s: layer %s: diff_id "
		    "mismatch: config says %s, the layer is %s (uncompressed) / "
		    "%s (compressed)", r->full, shortid, want ? want : "nothing",
		    xr->diff_id, digest);
	return 0;
}

static int
apply_layers(struct fetcher *f, struct ctl_client *c, struct remote *r,
    struct helper *x, json_t *blobsums, struct pd_err *e)
{
	const json_t *layers = json_object_get(r->man, "layers"), *l, *diffs;
	struct extract_result xr;
	const char *digest, *mt;
	char shortid[16];
	uint64_t size;
	size_t i;
	int rc;

	diffs = json_object_get(json_object_get(r->config, "rootfs"), "diff_ids");
	if (json_is_array(diffs) && json_array_size(diffs) != json_array_size(layers))
		return pd_errf(e, PD_E_DIGEST, "%s: config lists %zu diff_ids for %zu "
		    "layers", r->full, json_array_size(diffs), json_array_size(layers));
	json_array_foreach(layers, i, l) {
		digest = json_string_value(json_object_get(l, "digest"));
		mt = json_string_value(json_object_get(l, "mediaType"));
		size = (uint64_t)json_integer_value(json_object_get(l, "size"));
		snprintf(shortid, sizeof(shortid), "%.12s", pd_digest_hex(digest));
		if (!is_layer_type(mt))
			return pd_errf(e, PD_E_INVAL, "%s: layer %s has unsupported media "
			    "type %s", r->full, shortid, mt);
		/* M9: refuse before downloading what the extractor would refuse. */
		if (size > conf.limits.max_compressed)
			return pd_errf(e, PD_E_LIMIT, "%s: layer %s is %llu bytes, more "
			    "than limits.max-compressed (%llu)", r->full,
			    shortid, (unsigned long long)size,
			    (unsigned long long)conf.limits.max_compressed);
		if (store_has(digest))
			rc = layer_from_store(c, r, x, digest, mt, size, shortid, e);
		else
			rc = layer_from_registry(f, c, x, digest, mt, size, shortid, e);
		if (rc == -1)
			return -1;
		(void)ctl_progress(c, shortid, "Extracting", 0, 0);
		if (extract_layer_wait(x, &xr, e) == -1 ||
		    diff_id_matches(diffs, i, digest, &xr, r, shortid, e) == -1)
			return -1;
		json_array_append_new(blobsums, json_string(digest));
		(void)ctl_progress(c, shortid, "Pull complete", 0, 0);
	}
	return 0;
}

/*
 * Fetch and apply every layer of a resolved remote into a fresh staging
 * rootfs (kind names the staging dir), then store its config and
 * manifest.  Used by install and upgrade.  The fetcher is closed when
 * this returns (closing again is harmless); st is the caller's to
 * discard.
 */
static int
stage_remote(struct fetcher *f, struct ctl_client *c, struct remote *r,
    const char *kind, struct stage *st, json_t *blobsums, char man_digest[72],
    struct pd_err *e)
{
	struct helper x;

	if (extract_begin_staged(&x, kind, st, e) == -1)
		return -1;
	phase(r, "extractor");
	if (apply_layers(f, c, r, &x, blobsums, e) == -1) {
		if (x.pid > 0)
			helper_kill(&x);
		return -1;
	}
	extract_end(&x);
	fetcher_close(f);
	phase(r, "layers");
	if (store_commit(r->cfg_fd, r->cfg_digest, 0, e) == -1 ||
	    store_put(r->man_buf, r->man_len, man_digest, e) == -1)
		return -1;
	phase(r, "store");
	return 0;
}

/*
 * The one remote path of install and upgrade: open a fetcher with the
 * client's credentials (and, both being root's, the client certificate),
 * resolve the remote, check that its config asks only for what may be
 * granted and exactly for what was granted (`granted`, the client's
 * JSON array), and stage every layer into a fresh staging rootfs named
 * after `kind`.  On success st holds the rootfs, blobsums the layer
 * digests and man_digest the stored manifest; st is the caller's to
 * discard.  The caller holds jobs_lock for reading.
 */
static int
stage_granted(struct ctl_client *c, struct remote *r, const char *granted,
    const char *auth, const char *kind, struct stage *st, json_t *blobsums,
    char man_digest[72], struct pd_err *e)
{
	json_t *want, *required = NULL;
	struct fetcher f;
	int rc = -1, all = strcmp(granted, PD_GRANT_ALL) == 0;

	/* json_is_array() evaluates its argument twice: assign first. */
	want = all ? json_array() : json_loads(granted, 0, NULL);
	if (!json_is_array(want)) {
		json_decref(want);
		return pd_errf(e, PD_E_INVAL, "malformed privileges");
	}
	/* A rejected source is never contacted (docs/POLICY.md). */
	if (policy_check(r->full, NULL, e) == -1 ||
	    fetcher_open(&f, &r->ref, auth, 1, e) == -1) {
		json_decref(want);
		return -1;
	}
	phase(r, "fetcher");
	if (resolve_remote(&f, c, r, e) == -1 ||
	    config_grantable(r->config, e) == -1 ||
	    policy_check(r->full, r->config, e) == -1 ||
	    remote_signed(&f, r, e) == -1)
		goto out;
	phase(r, "resolve");
	required = pd_config_privileges(r->config);
	/* PD_GRANT_ALL: what this job fetched and checked is what is granted. */
	if (all)
		log_info("%s %s: all %zu privileges it requires granted "
		    "(--grant-all-permissions)", kind, r->full,
		    json_array_size(required));
	if (!all && !privileges_equal(required, want))
		pd_errf(e, PD_E_GRANT, "incorrect privileges: the privileges "
		    "granted do not match those %s requires", r->full);
	else
		rc = stage_remote(&f, c, r, kind, st, blobsums, man_digest, e);
out:
	fetcher_close(&f);
	json_decref(required);
	json_decref(want);
	return rc;
}

/* The staged plugin's record: moby's v2.Plugin, disabled, settings set. */
static struct plugin *
install_record(const char *name, const struct remote *r, json_t *blobsums,
    const char *man_digest, struct pd_ctlreq *q, struct pd_err *e)
{
	struct plugin *p;

	p = xcalloc(1, sizeof(*p));
	pd_plugin_id_new(p->id);
	p->state = json_pack("{s:{s:O, s:b, s:s, s:s, s:s, s:o}, s:s, s:s, s:O, "
	    "s:s, s:s}",
	    "plugin", "Config", r->config, "Enabled", 0, "Id", p->id, "Name", name,
	    "PluginReference", r->full, "Settings", pd_config_settings(r->config),
	    "Rootfs", "", "Config", r->cfg_digest, "Blobsums", blobsums,
	    "Manifest", man_digest, "SwarmServiceID", "");
	if (r->signer[0] != '\0')
		json_object_set_new(json_object_get(p->state, "plugin"),
		    "PluginSignature", remote_signature(r));
	if (q->nargs > 4 && settings_apply(json_object_get(p->state, "plugin"),
	    q->args + 4, q->nargs - 4, e) == -1) {
		json_decref(p->state);
		free(p);
		return NULL;
	}
	return p;
}

/* docker plugin install = pull, set, enable (docker/cli); then the reply. */
static int
install_enable(struct ctl_client *c, struct pd_ctlreq *q, struct plugin *p,
    const char *name, const struct remote *r, struct pd_err *e)
{
	char why[PD_ERR_MSGLEN];
	int enable = !(q->flags & PD_CTLF_DISABLE);

	(void)ctl_progress(c, "", "Status: Downloaded newer plugin", 0, 0);
	if (enable && plugin_enable(p, (int)q->timeout, e) == -1) {
		snprintf(why, sizeof(why), "%s", e->msg);
		return pd_errf(e, e->code, "plugin %s was installed but could not "
		    "be enabled: %s", name, why);
	}
	(void)ctl_reply_json(c, json_pack("{s:s, s:s, s:s, s:b}", "Name", name,
	    "Id", p->id, "Digest", r->man_digest, "Enabled", enable));
	return 0;
}

int
op_install(struct ctl_client *c, struct pd_ctlreq *q, int reqfd,
    struct pd_err *e)
{
	char name[600], man_digest[72];
	json_t *blobsums = NULL;
	struct plugin *p = NULL;
	struct stage st;
	struct remote r;
	int rc = -1, exists;

	memset(&st, 0, sizeof(st));
	st.rootfd = -1;
	if (remote_init(q->args[0], &r, e) == -1)
		return -1;
	if (install_name(q->args[1], &r, name, sizeof(name), e) == -1)
		goto out0;
	pthread_rwlock_rdlock(&plugins_lock);
	exists = plugin_name_taken(name);
	pthread_rwlock_unlock(&plugins_lock);
	if (exists) {
		pd_errf(e, PD_E_EXISTS, "plugin %s already exists", name);
		goto out0;
	}
	blobsums = json_array();
	pthread_rwlock_rdlock(&jobs_lock);
	if (stage_granted(c, &r, q->args[2], q->args[3], "install", &st,
	    blobsums, man_digest, e) == -1 ||
	    (p = install_record(name, &r, blobsums, man_digest, q, e)) == NULL)
		goto out;
	pthread_rwlock_wrlock(&plugins_lock);
	if (plugin_name_taken(name))
		pd_errf(e, PD_E_EXISTS, "plugin %s already exists", name);
	else if (plugin_commit_staged(&st, p, e) == 0)
		rc = 0;
	pthread_rwlock_unlock(&plugins_lock);
	if (rc == 0) {
		phase(&r, "commit");
		log_info("installed plugin %s (%s) from %s, manifest %s", name,
		    p->id, r.full, r.man_digest);
		rc = install_enable(c, q, p, name, &r, e);
		p = NULL;	/* committed: the plugin list owns it */
		phase(&r, "enable");
		phases_log(&r, "install");
	}
out:
	if (p != NULL) {
		json_decref(p->state);
		free(p);
	}
	stage_discard(&st);
	pthread_rwlock_unlock(&jobs_lock);
	if (rc == -1)
		blobs_gc();	/* layers stored before the failure */
out0:
	json_decref(blobsums);
	remote_free(&r);
	return rc;
}

static int
settable(const json_t *item, const char *field)
{
	const json_t *v;
	size_t i;

	json_array_foreach(json_object_get(item, "Settable"), i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), field) == 0)
			return 1;
	return 0;
}

static const json_t *
named(const json_t *arr, const json_t *name)
{
	const json_t *v;
	size_t i;

	json_array_foreach(arr, i, v)
		if (json_equal(json_object_get(v, "Name"), name))
			return v;
	return NULL;
}

static int
is_bind(const json_t *m)
{
	const char *t = json_string_value(json_object_get(m, "Type"));

	return t == NULL || strcmp(t, "tmpfs") != 0;
}

/* The old Settings.Env value of NAME if the user set it (not the old default). */
static const char *
env_user_value(const json_t *oldp, const char *name)
{
	const json_t *v, *def;
	const char *s, *dv;
	size_t i, n = strlen(name);

	json_array_foreach(json_object_get(json_object_get(oldp, "Settings"), "Env"),
	    i, v) {
		s = json_string_value(v);
		if (s == NULL || strncmp(s, name, n) != 0 || s[n] != '=')
			continue;
		dv = NULL;
		json_array_foreach(json_object_get(json_object_get(oldp, "Config"),
		    "Env"), i, def)
			if (json_is_string(json_object_get(def, "Name")) &&
			    strcmp(json_string_value(json_object_get(def, "Name")),
			    name) == 0) {
				dv = json_string_value(json_object_get(def, "Value"));
				break;
			}
		return dv != NULL && strcmp(dv, s + n + 1) == 0 ? NULL : s + n + 1;
	}
	return NULL;
}

/*
 * The Settings of an upgraded plugin (Docker keeps the old ones; issue 12):
 * built from the new config, as an install would, so the bundle is exactly
 * the new version's.  Of the old plugin object only what the user could set
 * and still can is carried, by name: an Env value or the Args that differ
 * from the old default, a bind mount's source, a device's path.  Mount
 * sources and device paths are written into newcfg too (set keeps Config
 * and Settings equal, so inspect shows what runs).  Nothing of the old
 * version that the new config does not name survives.
 */
static json_t *
upgrade_settings(json_t *newcfg, const json_t *oldp)
{
	const json_t *oldcfg = json_object_get(oldp, "Config"), *om, *oa;
	json_t *set, *x, *env;
	const char *name, *val;
	size_t i, j, n;

	json_array_foreach(json_object_get(newcfg, "Mounts"), i, x) {
		om = named(json_object_get(oldcfg, "Mounts"), json_object_get(x, "Name"));
		if (om != NULL && settable(x, "source") && is_bind(x) && is_bind(om) &&
		    json_is_string(json_object_get(om, "Source")))
			json_object_set(x, "Source", json_object_get(om, "Source"));
	}
	json_array_foreach(json_object_get(json_object_get(newcfg, "Linux"),
	    "Devices"), i, x) {
		om = named(json_object_get(json_object_get(oldcfg, "Linux"), "Devices"),
		    json_object_get(x, "Name"));
		if (om != NULL && settable(x, "path") &&
		    json_is_string(json_object_get(om, "Path")))
			json_object_set(x, "Path", json_object_get(om, "Path"));
	}
	set = pd_config_settings(newcfg);
	env = json_object_get(set, "Env");
	json_array_foreach(json_object_get(newcfg, "Env"), i, x) {
		name = json_string_value(json_object_get(x, "Name"));
		if (name == NULL || !settable(x, "value") ||
		    (val = env_user_value(oldp, name)) == NULL)
			continue;
		n = strlen(name);
		json_array_foreach(env, j, oa)
			if (strncmp(json_string_value(oa), name, n) == 0 &&
			    json_string_value(oa)[n] == '=')
				break;
		if (j < json_array_size(env))
			json_array_set_new(env, j, json_sprintf("%s=%s", name, val));
		else
			json_array_append_new(env, json_sprintf("%s=%s", name, val));
	}
	/* Args: the old ones if they differ from the old default. */
	oa = json_object_get(json_object_get(oldp, "Settings"), "Args");
	x = json_object_get(json_object_get(oldcfg, "Args"), "Value");
	if (settable(json_object_get(newcfg, "Args"), "value") &&
	    json_array_size(oa) > 0 && !json_equal(oa, x))
		json_object_set_new(set, "Args", json_deep_copy(oa));
	return set;
}

static int
rename_in(const char *dir, const char *from, const char *to, struct pd_err *e)
{
	char a[4400], b[4400];

	snprintf(a, sizeof(a), "%s/%s", dir, from);
	snprintf(b, sizeof(b), "%s/%s", dir, to);
	if (rename(a, b) == -1)
		return pd_errno(e, PD_E_IO, "rename %s to %s", a, b);
	return 0;
}

/*
 * The upgrade journal: {"old": the state before the upgrade, Enabled as
 * it was}.  Written (atomically) before the plugin is stopped or its
 * rootfs renamed; removed only once the new state is saved and, for an
 * enabled plugin, running.  A broker that dies in between rolls the
 * plugin back at its next start (plugins_load).
 */
static int
journal_write(const char *pdir, const json_t *old, struct pd_err *e)
{
	json_t *j = json_pack("{s:O}", "old", old);
	char *data = json_dumps(j, JSON_COMPACT);
	int dfd, rc = -1;

	json_decref(j);
	if (data == NULL)
		return pd_errf(e, PD_E_INTERNAL, "cannot encode the upgrade journal");
	/*
	 * Safety: the broker's own plugin directory (0700, root's); the
	 * journal is written under a fixed name, 0600, with O_NOFOLLOW.
	 */
	if ((dfd = open(pdir, O_DIRECTORY | O_RDONLY | O_CLOEXEC)) == -1)
		pd_errno(e, PD_E_IO, "open %s", pdir);
	else {
		rc = pd_atomic_write(dfd, PD_UPGRADE_JOURNAL, data, strlen(data), 0600,
		    e);
		close(dfd);
	}
	free(data);
	return rc;
}

/* The upgrade is committed (or fully undone): drop the journal. */
static void
journal_remove(const char *pdir)
{
	int dfd;

	if ((dfd = open(pdir, O_DIRECTORY | O_RDONLY | O_CLOEXEC)) == -1)
		return;
	if (unlinkat(dfd, PD_UPGRADE_JOURNAL, 0) == -1)
		log_warn("remove %s/%s", pdir, PD_UPGRADE_JOURNAL);
	(void)fsync(dfd);
	close(dfd);
}

/* The upgraded state: new config and blobs; the old id, name, settings. */
static json_t *
upgrade_state(const json_t *old, const struct remote *r, json_t *blobsums,
    const char *man_digest, struct pd_err *e)
{
	json_t *nstate = json_deep_copy(old), *pobj;

	pobj = json_object_get(nstate, "plugin");
	json_object_set_new(pobj, "Settings", upgrade_settings(r->config,
	    json_object_get(old, "plugin")));
	/* A carried value was granted with set; it must still fit the model. */
	if (config_grantable(r->config, e) == -1 ||
	    policy_check(r->full, r->config, e) == -1) {
		json_decref(nstate);
		return NULL;
	}
	json_object_set(pobj, "Config", r->config);
	json_object_set_new(pobj, "PluginReference", json_string(r->full));
	if (r->signer[0] != '\0')
		json_object_set_new(pobj, "PluginSignature", remote_signature(r));
	else
		json_object_del(pobj, "PluginSignature");
	json_object_set_new(nstate, "Config", json_string(r->cfg_digest));
	json_object_set(nstate, "Blobsums", blobsums);
	json_object_set_new(nstate, "Manifest", json_string(man_digest));
	return nstate;
}

/*
 * Swap the staged rootfs into the plugin directory pdir (the old one
 * becomes rootfs-old) and save nstate, disabled, under plugins_lock.
 * *swapped tells whether the rootfs moved, which a restore must undo;
 * *pp is the plugin.  0, or -1 with e set.
 */
static int
upgrade_swap(const char *id, const char *pdir, const struct stage *st,
    json_t *nstate, int *swapped, struct plugin **pp, struct pd_err *e)
{
	char dst[4300];
	struct plugin *p;
	struct pd_err ie;
	int saved = 0;

	pthread_rwlock_wrlock(&plugins_lock);
	p = plugin_resolve(id, e);
	if (p != NULL && rename_in(pdir, "rootfs", "rootfs-old", e) == 0) {
		PD_CRASHPOINT("upgrade-rootfs-old");
		snprintf(dst, sizeof(dst), "%s/rootfs", pdir);
		if (rename(st->rootfs, dst) == -1) {
			pd_errno(e, PD_E_IO, "swap in the new rootfs");
			(void)rename_in(pdir, "rootfs-old", "rootfs", &ie);
		} else {
			*swapped = 1;
			PD_CRASHPOINT("upgrade-swapped");
			json_object_set_new(json_object_get(nstate, "plugin"),
			    "Enabled", json_false());
			json_decref(p->state);
			p->state = json_deep_copy(nstate);
			saved = plugin_save(p, e) == 0;
		}
	}
	pthread_rwlock_unlock(&plugins_lock);
	*pp = p;
	return saved ? 0 : -1;
}

/* Remove pdir/name, a rootfs the upgrade left behind, logging a failure. */
static void
rootfs_drop(const char *id, const char *pdir, const char *name)
{
	struct pd_err ie;
	int dfd;

	if ((dfd = open(pdir, O_DIRECTORY | O_RDONLY | O_CLOEXEC)) == -1)
		return;
	if (pd_rm_rf_at(dfd, name, &ie) == -1)
		log_warnx("upgrade %s: %s", id, ie.msg);
	close(dfd);
}

/* The commit point: from here on the new version stays. */
static void
upgrade_commit(struct ctl_client *c, const char *id, const char *pdir,
    const json_t *old, const struct remote *r, const char *man_digest)
{
	journal_remove(pdir);
	PD_CRASHPOINT("upgrade-committed");
	rootfs_drop(id, pdir, "rootfs-old");
	log_info("upgraded plugin %s to %s (%s)", id, r->full, man_digest);
	(void)ctl_reply_json(c, json_pack("{s:s, s:s, s:s}", "Name",
	    json_string_value(json_object_get(json_object_get(old, "plugin"),
	    "Name")), "Id", id, "Digest", r->man_digest));
}

/*
 * Put the old version back: rootfs, state, and run it if it ran.  e holds
 * why the upgrade failed and is rewritten to say what state is left.
 */
static void
upgrade_restore(const char *id, const char *pdir, const json_t *old,
    int swapped, int was_enabled, struct pd_err *e)
{
	char why[PD_ERR_MSGLEN];
	struct plugin *p;
	struct pd_err ie;

	snprintf(why, sizeof(why), "%s", e->msg);
	pthread_rwlock_wrlock(&plugins_lock);
	if ((p = plugin_resolve(id, &ie)) != NULL && swapped) {
		(void)rename_in(pdir, "rootfs", "rootfs-failed", &ie);
		(void)rename_in(pdir, "rootfs-old", "rootfs", &ie);
		json_decref(p->state);
		p->state = json_deep_copy(old);
		json_object_set_new(json_object_get(p->state, "plugin"), "Enabled",
		    json_false());
		(void)plugin_save(p, &ie);
	}
	pthread_rwlock_unlock(&plugins_lock);
	if (swapped)
		rootfs_drop(id, pdir, "rootfs-failed");
	if (was_enabled && p != NULL && plugin_enable(p, 0, &ie) == -1)
		pd_errf(e, PD_E_INTERNAL, "upgrade failed (%s) and the old version "
		    "did not start again: %s", why, ie.msg);
	else
		pd_errf(e, e->code ? e->code : PD_E_INTERNAL, "upgrade failed, the "
		    "previous version was restored%s: %s", was_enabled ?
		    " and is running" : "", why);
	/* Only now: a crash before this rolls back again at start. */
	journal_remove(pdir);
}

/*
 * upgrade NAME REMOTE (Engine API /plugins/{name}/upgrade): same id and
 * propagated mount; the Settings are the new config's with the user's
 * values carried (upgrade_settings), so what runs is the version that was
 * granted.  The new rootfs is staged completely first.  An enabled plugin
 * (Docker refuses these) is stopped, swapped, started; if the new version
 * does not become ready the old rootfs and state come back and the old
 * version is started again.
 */
int
op_upgrade(struct ctl_client *c, struct pd_ctlreq *q, int reqfd,
    struct pd_err *e)
{
	char pdir[4200], man_digest[72], id[PD_PLUGIN_ID_LEN + 1];
	json_t *blobsums = NULL, *old = NULL, *nstate = NULL, *pobj;
	struct plugin *p;
	struct stage st;
	struct remote r;
	int rc = -1, was_enabled, swapped = 0;

	memset(&st, 0, sizeof(st));
	st.rootfd = -1;
	pthread_rwlock_rdlock(&plugins_lock);
	if ((p = plugin_resolve(q->args[0], e)) != NULL) {
		snprintf(id, sizeof(id), "%s", p->id);
		old = json_deep_copy(p->state);
	}
	pthread_rwlock_unlock(&plugins_lock);
	if (p == NULL)
		return -1;
	pobj = json_object_get(old, "plugin");
	if (remote_init(q->args[1][0] ? q->args[1] : json_string_value(
	    json_object_get(pobj, "PluginReference")), &r, e) == -1) {
		json_decref(old);
		return -1;
	}
	blobsums = json_array();
	pthread_rwlock_rdlock(&jobs_lock);
	if (stage_granted(c, &r, q->args[2], q->args[3], "upgrade", &st,
	    blobsums, man_digest, e) == -1 ||
	    (nstate = upgrade_state(old, &r, blobsums, man_digest, e)) == NULL)
		goto out;
	was_enabled = json_is_true(json_object_get(pobj, "Enabled"));
	snprintf(pdir, sizeof(pdir), "%s/plugins/%s", conf.data_root, id);
	if (journal_write(pdir, old, e) == -1)
		goto out;
	PD_CRASHPOINT("upgrade-journal");
	if (was_enabled) {
		(void)ctl_progress(c, "", "Stopping the running version", 0, 0);
		if (plugin_disable(id, e) == -1) {
			journal_remove(pdir);
			goto out;
		}
	}
	if (upgrade_swap(id, pdir, &st, nstate, &swapped, &p, e) == 0) {
		PD_CRASHPOINT("upgrade-saved");
		rc = 0;
		if (was_enabled) {
			(void)ctl_progress(c, "", "Starting the new version", 0, 0);
			rc = plugin_enable(p, (int)q->timeout, e);
			if (rc == 0)
				PD_CRASHPOINT("upgrade-enabled");
		}
	}
	if (rc == 0) {
		phase(&r, "swap");
		upgrade_commit(c, id, pdir, old, &r, man_digest);
		phases_log(&r, "upgrade");
	}
	else
		upgrade_restore(id, pdir, old, swapped, was_enabled, e);
out:
	stage_discard(&st);
	pthread_rwlock_unlock(&jobs_lock);
	blobs_gc();	/* failed: layers stored for it; done: the old version's */
	json_decref(blobsums);
	json_decref(old);
	json_decref(nstate);
	remote_free(&r);
	return rc;
}

/*
 * Talking to registries through the fetcher.  The broker picks the
 * endpoint, hands over TLS material and credentials for one job, gives
 * the fetcher the write end of a pipe per request, and reads, hashes,
 * stores and forwards the bytes itself.  Nothing the fetcher says about
 * the content is believed: sizes and digests are measured here.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"
#include "digest.h"
#include "log.h"
#include "ref.h"
#include "role.h"
#include "util.h"

#define SYSTEM_CA	"/etc/ssl/certs/ca-certificates.crt"

static int
insecure_registry(const char *host)
{
	size_t i;
	json_t *v;

	json_array_foreach(conf.insecure_registries, i, v)
		if (strcmp(json_string_value(v), host) == 0)
			return 1;
	return 0;
}

static int
send_tls(struct fetcher *f, int kind, const char *path)
{
	struct pd_fetch_tls t;
	struct pd_err ie;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return 0;	/* optional material */
	t.kind = (uint32_t)kind;
	/* The system CAs hold for every origin (redirects to a CDN too). */
	t.host = strcmp(path, SYSTEM_CA) == 0 ? (char *)(uintptr_t)"" : f->host;
	if (pd_send_fetch_tls(f->h.sock, 1, fd, &t, &ie) == -1) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/*
 * Docker's certs.d convention: every <certs-dir>/<host>/NAME.crt is a CA,
 * client.cert + client.key a client certificate.  The client certificate
 * is the administrator's identity: it goes only to jobs run for root
 * (`client_cert`); a job for a group member gets the CAs alone.
 */
static int
send_certs(struct fetcher *f, int client_cert, int *have_dir)
{
	char dir[4096], path[8192];
	struct dirent *de;
	size_t n;
	DIR *d;

	*have_dir = 0;
	if (send_tls(f, PD_TLS_CA, SYSTEM_CA) == -1)
		return -1;
	snprintf(dir, sizeof(dir), "%s/%s", conf.certs_dir, f->host);
	if ((d = opendir(dir)) == NULL)
		return 0;
	*have_dir = 1;
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (n > 4 && strcmp(de->d_name + n - 4, ".crt") == 0) {
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			if (send_tls(f, PD_TLS_CA, path) == -1)
				break;
		}
	}
	closedir(d);
	if (!client_cert)
		return 0;
	snprintf(path, sizeof(path), "%s/client.cert", dir);
	if (send_tls(f, PD_TLS_CERT, path) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/client.key", dir);
	return send_tls(f, PD_TLS_KEY, path);
}

/*
 * Start a fetcher for one job against the registry of `ref`.  HTTPS
 * always, except plain HTTP for loopback registries and those listed in
 * insecure-registries, unless certs.d has material for the host (then
 * HTTPS with it).  Docker tries HTTPS first and reports its error even
 * when it then fell back to HTTP; we pick one scheme and report its error.
 */
int
fetcher_open(struct fetcher *f, const struct pd_ref *ref, const char *user,
    const char *secret, int idtoken, struct pd_err *e)
{
	return fetcher_open_tls(f, ref, user, secret, idtoken, 1, e);
}

/* fetcher_open, with the certs.d client certificate only if `client_cert`. */
int
fetcher_open_tls(struct fetcher *f, const struct pd_ref *ref, const char *user,
    const char *secret, int idtoken, int client_cert, struct pd_err *e)
{
	char root[4096];
	int rootfd, rc, have_certs;

	memset(f, 0, sizeof(*f));
	f->h.pid = -1;
	f->h.sock = -1;
	if (pd_ref_repo_url_host(ref, f->host, sizeof(f->host)) == -1)
		return pd_errf(e, PD_E_INVAL, "bad registry host");
	snprintf(f->repo, sizeof(f->repo), "%s", ref->path);
	snprintf(f->user, sizeof(f->user), "%s", user ? user : "");
	snprintf(f->secret, sizeof(f->secret), "%s", secret ? secret : "");
	f->idtoken = idtoken;
	snprintf(root, sizeof(root), "%s/fetch-root", conf.data_root);
	if ((rootfd = open(root, O_DIRECTORY | O_RDONLY | O_CLOEXEC)) == -1)
		return pd_errno(e, PD_E_IO, "open %s", root);
	rc = helper_spawn(&f->h, PD_ROLE_FETCHER, rootfd, root, e);
	close(rootfd);
	if (rc == -1)
		return -1;
	f->open = 1;
	if (send_certs(f, client_cert, &have_certs) == -1) {
		fetcher_close(f);
		return pd_errf(e, PD_E_UNAVAIL, "fetcher refused TLS material");
	}
	snprintf(f->scheme, sizeof(f->scheme), "%s", !have_certs &&
	    (pd_ref_is_loopback(ref) || insecure_registry(f->host)) ? "http" : "https");
	return 0;
}

void
fetcher_close(struct fetcher *f)
{
	if (f->open)
		helper_stop(&f->h);
	f->open = 0;
	explicit_bzero(f->secret, sizeof(f->secret));
}

static int
start_fetch(struct fetcher *f, int kind, const char *reference, uint64_t max,
    int *rd, struct pd_err *e)
{
	struct pd_fetch_req q;
	struct pd_err ie;
	int p[2];

	if (pipe2(p, O_CLOEXEC) == -1)
		return pd_errno(e, PD_E_INTERNAL, "pipe");
	/* Large pipes: fewer wake-ups between fetcher, broker and extractor. */
	(void)fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
	memset(&q, 0, sizeof(q));
	q.kind = (uint32_t)kind;
	q.flags = f->idtoken ? PD_FETCHF_IDTOKEN : 0;
	q.scheme = f->scheme;
	q.host = f->host;
	q.repo = f->repo;
	q.reference = (char *)(uintptr_t)reference;
	q.username = f->user;
	q.secret = f->secret;
	q.proxy = conf.proxy ? conf.proxy : (char *)(uintptr_t)"";
	q.max_size = max;
	if (pd_send_fetch(f->h.sock, ++f->reqid, p[1], &q, &ie) == -1) {
		close(p[0]);
		close(p[1]);
		f->open = 0;
		return helper_send_failed(&f->h, e, ie.msg);
	}
	close(p[1]);	/* the fetcher holds the only write end now */
	*rd = p[0];
	return 0;
}

/*
 * Wait for the fetcher's verdict on the current request, forwarding
 * progress.  Returns 0 with *res filled, -1 with the fetcher's error.
 */
static int
finish_fetch(struct fetcher *f, struct ctl_client *c, struct pd_fetch_result *res,
    struct pd_err *e)
{
	static const uint32_t ok[] = { PD_MSG_FETCH_RESULT, PD_MSG_PROGRESS };
	struct pd_progress pr;
	struct pd_msg m;
	struct pd_err ie;

	for (;;) {
		if (helper_recv(&f->h, ok, 2, 600 * 1000, &m, e) == -1) {
			/*
			 * Torn down only if the helper itself failed; an ERROR
			 * it sent (e.g. "unavailable: cannot connect") leaves it
			 * running, and fetcher_close() must still stop it.
			 */
			f->open = f->h.pid > 0;
			return -1;
		}
		if (m.type == PD_MSG_PROGRESS) {
			if (pd_dec_progress(&m, &pr, &ie) == 0) {
				if (c != NULL)
					(void)ctl_progress(c, pr.id, pr.status, pr.current,
					    pr.total);
				pd_progress_free(&pr);
			}
			pd_msg_clear(&m);
			continue;
		}
		if (pd_dec_fetch_result(&m, res, &ie) == -1) {
			pd_msg_clear(&m);
			helper_kill(&f->h);
			f->open = 0;
			return pd_errf(e, PD_E_PROTO, "fetcher: %s", ie.msg);
		}
		pd_msg_clear(&m);
		return 0;
	}
}

/* A manifest (or index) by tag or digest, read whole, bounded. */
int
fetch_manifest(struct fetcher *f, const char *reference, char **buf,
    size_t *len, char *ctype, size_t ctlen, struct pd_err *e)
{
	struct pd_fetch_result res;
	size_t cap = conf.limits.max_manifest, n = 0;
	ssize_t r;
	char *b;
	int rd;

	if (start_fetch(f, PD_FETCH_MANIFEST, reference, cap, &rd, e) == -1)
		return -1;
	b = xmalloc(cap + 1);
	while ((r = read(rd, b + n, cap + 1 - n)) > 0) {
		n += (size_t)r;
		if (n > cap)
			break;
	}
	close(rd);
	if (finish_fetch(f, NULL, &res, e) == -1) {
		free(b);
		return -1;
	}
	if (n > cap || res.size != n) {
		free(b);
		pd_fetch_result_free(&res);
		return pd_errf(e, PD_E_LIMIT, n > cap ? "manifest for %s is larger than "
		    "%zu bytes" : "manifest for %s: size mismatch", reference, cap);
	}
	snprintf(ctype, ctlen, "%s", res.media_type);
	pd_fetch_result_free(&res);
	*buf = b;
	*len = n;
	return 0;
}

/*
 * Stream a blob: every byte is hashed here, written to the store's temp
 * file `storefd` and, when tee >= 0, passed on to the extractor.  Checks
 * the exact size and the digest before returning 0.
 */
int
fetch_blob(struct fetcher *f, struct ctl_client *c, const char *digest,
    uint64_t size, int storefd, int tee, struct pd_err *e)
{
	static const uint32_t ok[] = { PD_MSG_FETCH_RESULT, PD_MSG_PROGRESS };
	struct pd_fetch_result res;
	struct pd_progress pr;
	struct pd_sha256 *h;
	struct pollfd pfd[2];
	struct pd_msg m;
	struct pd_err ie;
	char got[72], *buf;
	uint64_t total = 0;
	int rd, done = 0, eof = 0, rc = -1;
	ssize_t n;

	if (start_fetch(f, PD_FETCH_BLOB, digest, size, &rd, e) == -1)
		return -1;
	h = pd_sha256_new();
	buf = xmalloc(1 << 20);
	memset(&res, 0, sizeof(res));
	while (!eof || !done) {
		pfd[0].fd = eof ? -1 : rd;
		pfd[0].events = POLLIN;
		pfd[1].fd = done ? -1 : f->h.sock;
		pfd[1].events = POLLIN;
		pfd[0].revents = pfd[1].revents = 0;
		/* A message may already sit in the channel's buffer. */
		if (!done && f->h.chan.buflen > 0)
			pfd[1].revents = POLLIN;
		else if (poll(pfd, 2, 600 * 1000) <= 0) {
			pd_errf(e, PD_E_UNAVAIL, "download of %s stalled", digest);
			goto fail_kill;
		}
		if (pfd[0].revents) {
			n = read(rd, buf, 1 << 20);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				pd_errno(e, PD_E_IO, "reading %s", digest);
				goto fail_kill;
			}
			if (n == 0)
				eof = 1;
			else {
				total += (uint64_t)n;
				if (total > size) {
					pd_errf(e, PD_E_DIGEST, "blob %s is larger than its "
					    "declared %llu bytes", digest,
					    (unsigned long long)size);
					goto fail_kill;
				}
				pd_sha256_update(h, buf, (size_t)n);
				if (pd_write_full(storefd, buf, (size_t)n) == -1) {
					pd_errno(e, PD_E_IO, "writing %s to %s", digest,
					    conf.data_root);
					goto fail_kill;
				}
				if (tee >= 0 && pd_write_full(tee, buf, (size_t)n) == -1) {
					/*
					 * The extractor stopped reading: it failed,
					 * and its own error says why (the caller
					 * collects it).
					 */
					pd_errno(e, PD_E_IO, "passing %s to the extractor",
					    digest);
					if (errno == EPIPE)
						e->code = PD_E_PIPE;
					goto fail_kill;
				}
			}
		}
		if (pfd[1].revents) {
			if (helper_recv(&f->h, ok, 2, 60 * 1000, &m, e) == -1) {
				f->open = f->h.pid > 0;
				goto fail;
			}
			if (m.type == PD_MSG_PROGRESS) {
				if (pd_dec_progress(&m, &pr, &ie) == 0) {
					(void)ctl_progress(c, pr.id, "Downloading", total, size);
					pd_progress_free(&pr);
				}
			} else if (pd_dec_fetch_result(&m, &res, &ie) == -1) {
				pd_msg_clear(&m);
				pd_errf(e, PD_E_PROTO, "fetcher: %s", ie.msg);
				goto fail_kill;
			} else
				done = 1;
			pd_msg_clear(&m);
		}
	}
	pd_sha256_final(h, got);
	if (total != size)
		pd_errf(e, PD_E_DIGEST, "blob %s: expected %llu bytes, got %llu", digest,
		    (unsigned long long)size, (unsigned long long)total);
	else if (strcmp(got, digest) != 0)
		pd_errf(e, PD_E_DIGEST, "digest mismatch for blob: expected %s, got %s",
		    digest, got);
	else
		rc = 0;
	goto out;
fail_kill:
	helper_kill(&f->h);
	f->open = 0;
fail:
out:
	pd_fetch_result_free(&res);
	pd_sha256_free(h);
	free(buf);
	close(rd);
	return rc;
}

/*
 * Push one blob or the manifest (type PD_MSG_PUSH_BLOB/_MANIFEST) read
 * by the fetcher from `fd` (read-only, opened here from the store).
 * PROGRESS is forwarded as "Pushing".  Returns 0 with *res filled.
 */
int
fetcher_push(struct fetcher *f, struct ctl_client *c, uint32_t type,
    const char *reference, const char *mount_from, const char *media_type,
    int fd, uint64_t size, struct pd_push_result *res, struct pd_err *e)
{
	static const uint32_t ok[] = { PD_MSG_PUSH_RESULT, PD_MSG_PROGRESS };
	struct pd_push_req q;
	struct pd_progress pr;
	struct pd_msg m;
	struct pd_err ie;

	memset(res, 0, sizeof(*res));
	memset(&q, 0, sizeof(q));
	q.flags = f->idtoken ? PD_FETCHF_IDTOKEN : 0;
	q.scheme = f->scheme;
	q.host = f->host;
	q.repo = f->repo;
	q.reference = (char *)(uintptr_t)reference;
	q.username = f->user;
	q.secret = f->secret;
	q.proxy = conf.proxy ? conf.proxy : (char *)(uintptr_t)"";
	q.mount_from = (char *)(uintptr_t)(mount_from ? mount_from : "");
	q.media_type = (char *)(uintptr_t)media_type;
	q.size = size;
	if (pd_send_push(f->h.sock, type, ++f->reqid, fd, &q, &ie) == -1) {
		f->open = 0;
		return helper_send_failed(&f->h, e, ie.msg);
	}
	for (;;) {
		/* A slow upload still sends PROGRESS at least every 30 s. */
		if (helper_recv(&f->h, ok, 2, 600 * 1000, &m, e) == -1) {
			f->open = f->h.pid > 0;	/* as in finish_fetch() */
			return -1;
		}
		if (m.type == PD_MSG_PROGRESS) {
			if (pd_dec_progress(&m, &pr, &ie) == 0) {
				if (c != NULL && pr.current <= size)
					(void)ctl_progress(c, pr.id, "Pushing",
					    pr.current, size);
				pd_progress_free(&pr);
			}
			pd_msg_clear(&m);
			continue;
		}
		if (pd_dec_push_result(&m, res, &ie) == -1) {
			pd_msg_clear(&m);
			helper_kill(&f->h);
			f->open = 0;
			return pd_errf(e, PD_E_PROTO, "fetcher: %s", ie.msg);
		}
		pd_msg_clear(&m);
		return 0;
	}
}

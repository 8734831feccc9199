/*
 * Talking to registries through the fetcher.  The broker picks the
 * endpoint, hands over TLS material and credentials for one job, gives
 * the fetcher the write end of a pipe per request, and reads, hashes,
 * stores and forwards the bytes itself.  Nothing the fetcher says about
 * the content is believed: sizes and digests are measured here.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc/proc.h"
#include "digest.h"
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
 * The client's credentials, JSON {"username", "password"} or
 * {"identitytoken"} (a token wins); NULL or "" for none.  Copied into f,
 * which sends them to the fetcher with each request.
 */
static int
credentials(struct fetcher *f, const char *auth, struct pd_err *e)
{
	json_t *a, *v;

	if (auth == NULL || auth[0] == '\0')
		return 0;
	/* json_is_object() evaluates its argument twice: assign first. */
	a = json_loads(auth, 0, NULL);
	if (!json_is_object(a)) {
		json_decref(a);
		return pd_errf(e, PD_E_INVAL, "malformed credentials");
	}
	if (json_is_string(v = json_object_get(a, "identitytoken")) &&
	    json_string_length(v) > 0) {
		snprintf(f->secret, sizeof(f->secret), "%s", json_string_value(v));
		f->idtoken = 1;
	} else {
		if (json_is_string(v = json_object_get(a, "username")))
			snprintf(f->user, sizeof(f->user), "%s",
			    json_string_value(v));
		if (json_is_string(v = json_object_get(a, "password")))
			snprintf(f->secret, sizeof(f->secret), "%s",
			    json_string_value(v));
	}
	json_decref(a);
	return 0;
}

/*
 * Start a fetcher for one job against the registry of `ref`, with the
 * client's credentials `auth` (credentials()) and the certs.d client
 * certificate only if `client_cert`.  HTTPS always, except plain HTTP
 * for loopback registries and those listed in insecure-registries,
 * unless certs.d has material for the host (then HTTPS with it).  Docker
 * tries HTTPS first and reports its error even when it then fell back to
 * HTTP; we pick one scheme and report its error.
 */
int
fetcher_open(struct fetcher *f, const struct pd_ref *ref, const char *auth,
    int client_cert, struct pd_err *e)
{
	int have_certs;

	memset(f, 0, sizeof(*f));
	f->h.pid = -1;
	f->h.sock = -1;
	if (pd_ref_repo_url_host(ref, f->host, sizeof(f->host)) == -1)
		return pd_errf(e, PD_E_INVAL, "bad registry host");
	snprintf(f->repo, sizeof(f->repo), "%s", ref->path);
	if (credentials(f, auth, e) == -1)
		return -1;
	/* A warm spare, chrooted in fetch-root, or one started now. */
	if (helper_get(&f->h, PD_ROLE_FETCHER, NULL, NULL, e) == -1)
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

/*
 * Deadlines on the fetcher (docs/PRIVSEP.md "Deadlines"): the next sign
 * of life -- body bytes on the pipe, a PROGRESS that advances, the
 * result -- within limits.helper-timeout; once the result is in, EOF on
 * the pipe within the same; and the whole request within a budget above
 * the fetcher's own deadline for it (fetcher/registry.h: 120 s plus the
 * size allowed at 32 KiB/s, at most 6 h), so that its own, clearer error
 * normally comes first.
 */
#define FETCH_BUDGET_BASE	150		/* s */
#define FETCH_BUDGET_RATE	(32 * 1024)	/* B/s */
#define FETCH_BUDGET_MAX	(6 * 3600 + 60)	/* s */

static uint64_t
fetch_budget_ms(uint64_t max)
{
	uint64_t s = FETCH_BUDGET_BASE + max / FETCH_BUDGET_RATE;

	if (s > FETCH_BUDGET_MAX)
		s = FETCH_BUDGET_MAX;
	return (s + conf.limits.helper_timeout) * 1000;
}

/* Where the bytes of one FETCH go. */
struct fsink {
	struct fetcher	*f;
	const char	*what;		/* "manifest for X", "blob sha256:..." */
	uint64_t	 max;		/* manifest cap, or the exact blob size */
	uint64_t	 total;
	/* manifest */
	char		*buf;
	/* blob */
	struct pd_sha256 *sha;
	int		 storefd;
	int		 tee;
};

/*
 * Pass bytes on to the extractor.  The pipe is non-blocking: an
 * extractor that stops reading costs the job after extract-timeout.
 */
static int
tee_write(struct fsink *k, const char *p, size_t n, struct pd_err *e)
{
	uint64_t deadline = pd_now_ms() + 1000ULL * conf.limits.extract_timeout;
	struct pollfd pfd;
	ssize_t w;
	int r;

	while (n > 0) {
		w = write(k->tee, p, n);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && errno != EAGAIN) {
			pd_errno(e, PD_E_IO, "passing %s to the extractor", k->what);
			if (errno == EPIPE)
				e->code = PD_E_PIPE;
			return -1;
		}
		pfd.fd = k->tee;
		pfd.events = POLLOUT;
		if ((r = helper_poll(&k->f->h, &pfd, 1, deadline, e)) == -1)
			return -1;
		if (r == 0)
			return pd_errf(e, PD_E_UNAVAIL, "the extractor stopped reading "
			    "%s for %u s (limits.extract-timeout)", k->what,
			    conf.limits.extract_timeout);
	}
	return 0;
}

static int
sink_bytes(struct fsink *k, const char *p, size_t n, struct pd_err *e)
{
	k->total += n;
	if (k->buf != NULL) {
		if (k->total > k->max)
			return pd_errf(e, PD_E_LIMIT, "%s is larger than %llu bytes "
			    "(limits.max-manifest)", k->what,
			    (unsigned long long)k->max);
		memcpy(k->buf + k->total - n, p, n);
		return 0;
	}
	if (k->total > k->max)
		return pd_errf(e, PD_E_DIGEST, "%s is larger than its declared %llu "
		    "bytes", k->what, (unsigned long long)k->max);
	pd_sha256_update(k->sha, p, n);
	if (pd_write_full(k->storefd, p, n) == -1)
		return pd_errno(e, PD_E_IO, "writing %s to %s", k->what,
		    conf.data_root);
	if (k->tee >= 0)
		return tee_write(k, p, n, e);
	return 0;
}

/* Where a request of this job goes, and with the job's credentials. */
static void
fetch_target(struct fetcher *f, const char *reference, struct pd_reg_target *t)
{
	t->flags = f->idtoken ? PD_FETCHF_IDTOKEN : 0;
	t->scheme = f->scheme;
	t->host = f->host;
	t->repo = f->repo;
	t->reference = (char *)(uintptr_t)reference;
	t->username = f->user;
	t->secret = f->secret;
	t->proxy = conf.proxy ? conf.proxy : (char *)(uintptr_t)"";
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
	fetch_target(f, reference, &q.t);
	q.max_size = max;
	f->h.want_id = ++f->reqid;
	if (pd_send_fetch(f->h.sock, f->reqid, p[1], &q, &ie) == -1) {
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
 * The messages already whole in the fetcher's channel: PROGRESS is
 * forwarded to c (if any), FETCH_RESULT fills *res and sets *done.
 * 0, or -1 with the job failed.
 */
static int
fetch_take(struct fetcher *f, struct ctl_client *c, struct fsink *k,
    struct pd_fetch_result *res, int *done, struct pd_err *e)
{
	static const uint32_t ok[] = { PD_MSG_FETCH_RESULT, PD_MSG_PROGRESS };
	struct pd_progress pr;
	struct pd_msg m;
	struct pd_err ie;
	int r;

	while (!*done && (r = helper_take(&f->h, ok, 2, &m, e)) != 0) {
		if (r == -1)
			return -1;
		if (m.type == PD_MSG_PROGRESS) {
			if (pd_dec_progress(&m, &pr, &ie) == 0) {
				if (c != NULL)
					(void)ctl_progress(c, pr.id, "Downloading",
					    k->total, k->max);
				pd_progress_free(&pr);
			}
		} else if (pd_dec_fetch_result(&m, res, &ie) == -1) {
			pd_msg_clear(&m);
			return helper_abort(&f->h, e, PD_E_PROTO, "sent a bad "
			    "FETCH_RESULT: %s", ie.msg);
		} else
			*done = 1;
		pd_msg_clear(&m);
	}
	return 0;
}

/* A deadline passed: say which, and end the job. */
static int
fetch_timed_out(struct fetcher *f, const struct fsink *k, int done,
    uint64_t req_end, struct pd_err *e)
{
	if (pd_now_ms() >= req_end)
		return helper_abort(&f->h, e, PD_E_UNAVAIL, "did not finish "
		    "%s within %llu s", k->what,
		    (unsigned long long)(fetch_budget_ms(k->max) / 1000));
	if (done)
		return helper_abort(&f->h, e, PD_E_PROTO, "kept the pipe for %s "
		    "open %u s after its FETCH_RESULT (limits.helper-timeout)",
		    k->what, conf.limits.helper_timeout);
	return helper_abort(&f->h, e, PD_E_UNAVAIL, "stalled: nothing for %s "
	    "in %u s (limits.helper-timeout)%s", k->what,
	    conf.limits.helper_timeout, f->h.chan.buflen ?
	    "; it sent part of a message" : "");
}

/*
 * Body bytes from the pipe into the sink: 1 with data, 0 at EOF, -2 to
 * retry (EINTR), -1 with e set (the fetcher must then be killed).
 */
static int
fetch_read(int rd, char *buf, size_t len, struct fsink *k, struct pd_err *e)
{
	ssize_t n;

	if ((n = read(rd, buf, len)) < 0 && errno == EINTR)
		return -2;
	if (n < 0)
		return pd_errno(e, PD_E_IO, "reading %s", k->what);
	if (n == 0)
		return 0;
	return sink_bytes(k, buf, (size_t)n, e) == -1 ? -1 : 1;
}

/*
 * Run one FETCH to its end: body bytes from `rd` into the sink, PROGRESS
 * forwarded to `c` (if any), until both EOF on the pipe and FETCH_RESULT
 * are in, within the deadlines above.  Returns 0 with *res filled.
 */
static int
fetch_run(struct fetcher *f, struct ctl_client *c, int rd, struct fsink *k,
    struct pd_fetch_result *res, struct pd_err *e)
{
	uint64_t now, req_end, idle_end, to = 1000ULL * conf.limits.helper_timeout;
	struct pollfd pfd[2];
	int done = 0, eof = 0, was_done, r, np;
	char *buf;

	now = pd_now_ms();
	req_end = now + fetch_budget_ms(k->max);
	idle_end = now + to;
	buf = xmalloc(1 << 20);
	while (!eof || !done) {
		/* Whole messages may already sit in the channel's buffer. */
		was_done = done;
		if (fetch_take(f, c, k, res, &done, e) == -1)
			goto fail;
		if (done && !was_done)
			idle_end = pd_now_ms() + to;
		if (eof && done)
			break;
		np = 0;
		if (!eof) {
			pfd[np].fd = rd;
			pfd[np++].events = POLLIN;
		}
		if (!done) {
			pfd[np].fd = f->h.sock;
			pfd[np++].events = POLLIN;
		}
		r = helper_poll(&f->h, pfd, np, idle_end < req_end ? idle_end :
		    req_end, e);
		if (r == -1)
			goto fail;
		if (r == 0) {
			(void)fetch_timed_out(f, k, done, req_end, e);
			goto fail;
		}
		if (!eof && pfd[0].revents) {
			if ((r = fetch_read(rd, buf, 1 << 20, k, e)) == -2)
				continue;
			if (r == -1)
				goto fail_kill;
			if (r == 0)
				eof = 1;
			else
				idle_end = pd_now_ms() + to;
		}
		if (!done && pfd[np - 1].revents && helper_fill(&f->h, e) == -1)
			goto fail;
	}
	free(buf);
	return 0;
fail_kill:
	helper_kill(&f->h);
fail:
	/*
	 * Torn down only if the helper itself failed; an ERROR it sent
	 * (e.g. "unavailable: cannot connect") leaves it running, and
	 * fetcher_close() must still stop it.
	 */
	f->open = f->h.pid > 0;
	if (done)
		pd_fetch_result_free(res);
	free(buf);
	return -1;
}

/* A manifest (or index) by tag or digest, read whole, bounded. */
int
fetch_manifest(struct fetcher *f, const char *reference, char **buf,
    size_t *len, char *ctype, size_t ctlen, struct pd_err *e)
{
	struct pd_fetch_result res;
	struct fsink k;
	char what[1024];
	int rd, rc;

	memset(&k, 0, sizeof(k));
	memset(&res, 0, sizeof(res));
	snprintf(what, sizeof(what), "manifest for %s/%s%s%s", f->host, f->repo,
	    strncmp(reference, "sha256:", 7) == 0 ? "@" : ":", reference);
	k.f = f;
	k.what = what;
	k.max = conf.limits.max_manifest;
	k.storefd = k.tee = -1;
	if (start_fetch(f, PD_FETCH_MANIFEST, reference, k.max, &rd, e) == -1)
		return -1;
	k.buf = xmalloc(k.max + 1);
	rc = fetch_run(f, NULL, rd, &k, &res, e);
	close(rd);
	if (rc == -1) {
		free(k.buf);
		return -1;
	}
	if (res.size != k.total) {
		free(k.buf);
		pd_fetch_result_free(&res);
		return pd_errf(e, PD_E_LIMIT, "manifest for %s: size mismatch",
		    reference);
	}
	snprintf(ctype, ctlen, "%s", res.media_type);
	pd_fetch_result_free(&res);
	*buf = k.buf;
	*len = k.total;
	return 0;
}

/*
 * docker login's check of the job's credentials (PD_FETCH_LOGIN).  The
 * body is the identity token the token server issued, if any: at most a
 * secret's size, copied into tok (NUL-terminated, "" for none).
 */
int
fetch_login(struct fetcher *f, char *tok, size_t toklen, struct pd_err *e)
{
	struct pd_fetch_result res;
	struct fsink k;
	uint64_t i;
	int rd, rc;

	memset(&k, 0, sizeof(k));
	memset(&res, 0, sizeof(res));
	k.f = f;
	k.what = "the login's identity token";
	k.max = toklen - 1;
	k.storefd = k.tee = -1;
	if (start_fetch(f, PD_FETCH_LOGIN, "", k.max, &rd, e) == -1)
		return -1;
	k.buf = xmalloc(k.max + 1);
	rc = fetch_run(f, NULL, rd, &k, &res, e);
	close(rd);
	if (rc == 0) {
		if (res.http_status != 200 || res.size != k.total)
			rc = pd_errf(e, PD_E_PROTO, "the fetcher's login result "
			    "does not match what it sent");
		pd_fetch_result_free(&res);
	}
	/* An opaque token, but it goes into JSON: printable ASCII only. */
	for (i = 0; rc == 0 && i < k.total; i++)
		if ((unsigned char)k.buf[i] <= ' ' ||
		    (unsigned char)k.buf[i] >= 0x7f)
			rc = pd_errf(e, PD_E_PROTO, "the identity token of the "
			    "login holds a byte that is not printable ASCII");
	if (rc == 0) {
		memcpy(tok, k.buf, k.total);
		tok[k.total] = '\0';
	}
	explicit_bzero(k.buf, k.max + 1);
	free(k.buf);
	return rc;
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
	struct pd_fetch_result res;
	struct fsink k;
	char got[72], what[300];
	int rd, rc = -1;

	memset(&k, 0, sizeof(k));
	memset(&res, 0, sizeof(res));
	snprintf(what, sizeof(what), "blob %s", digest);
	k.f = f;
	k.what = what;
	k.max = size;
	k.storefd = storefd;
	k.tee = tee;
	if (tee >= 0 && fcntl(tee, F_SETFL, fcntl(tee, F_GETFL) | O_NONBLOCK) == -1)
		return pd_errno(e, PD_E_INTERNAL, "fcntl");
	if (start_fetch(f, PD_FETCH_BLOB, digest, size, &rd, e) == -1)
		return -1;
	k.sha = pd_sha256_new();
	if (fetch_run(f, c, rd, &k, &res, e) == 0) {
		pd_sha256_final(k.sha, got);
		if (k.total != size)
			pd_errf(e, PD_E_DIGEST, "blob %s: expected %llu bytes, got %llu",
			    digest, (unsigned long long)size,
			    (unsigned long long)k.total);
		else if (strcmp(got, digest) != 0)
			pd_errf(e, PD_E_DIGEST, "digest mismatch for blob: expected %s, "
			    "got %s", digest, got);
		else
			rc = 0;
		pd_fetch_result_free(&res);
	}
	pd_sha256_free(k.sha);
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
	uint64_t now, req_end, idle_end, last = 0;
	struct pd_push_req q;
	struct pd_progress pr;
	struct pd_msg m;
	struct pd_err ie;

	memset(res, 0, sizeof(*res));
	memset(&q, 0, sizeof(q));
	fetch_target(f, reference, &q.t);
	q.mount_from = (char *)(uintptr_t)(mount_from ? mount_from : "");
	q.media_type = (char *)(uintptr_t)media_type;
	q.size = size;
	f->h.want_id = ++f->reqid;
	if (pd_send_push(f->h.sock, type, f->reqid, fd, &q, &ie) == -1) {
		f->open = 0;
		return helper_send_failed(&f->h, e, ie.msg);
	}
	/*
	 * A slow upload still sends PROGRESS at least every 30 s: one that
	 * advances (current grows, up to size) restarts helper-timeout; the
	 * whole push has the budget of a fetch of that size.
	 */
	now = pd_now_ms();
	req_end = now + fetch_budget_ms(size);
	idle_end = now + 1000ULL * conf.limits.helper_timeout;
	for (;;) {
		now = pd_now_ms();
		if (helper_recv(&f->h, ok, 2, now >= idle_end || now >= req_end ? 0 :
		    (int)((idle_end < req_end ? idle_end : req_end) - now), &m,
		    e) == -1) {
			f->open = f->h.pid > 0;	/* as in fetch_run() */
			return -1;
		}
		if (m.type == PD_MSG_PROGRESS) {
			if (pd_dec_progress(&m, &pr, &ie) == 0) {
				if (pr.current > last && pr.current <= size) {
					last = pr.current;
					idle_end = pd_now_ms() + 1000ULL *
					    conf.limits.helper_timeout;
				}
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

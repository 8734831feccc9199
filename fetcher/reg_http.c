/*
 * Registry client: one HTTP request through libcurl, and the manual
 * redirect loop around it.  libcurl never follows a redirect itself
 * (CURLOPT_FOLLOWLOCATION is off): every Location is checked here.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "digest.h"
#include "error.h"
#include "http_status.h"
#include "log.h"
#include "proto.h"
#include "registry.h"
#include "reg_impl.h"
#include "util.h"
#include "wwwauth.h"

/* Reason phrase for messages; "" for a code without one. */
const char *
reg_status_text(long s)
{
	return pd_http_reason(s, "");
}

void
reg_xfer_free(struct xfer *x)
{
	if (x == NULL)
		return;
	free(x->url);
	free(x->location);
	if (x->buf != NULL)
		explicit_bzero(x->buf, x->len);
	free(x->buf);
	free(x);
}

static void
xfer_reset_headers(struct xfer *x)
{
	x->status = 0;
	x->hdr_done = 0;
	free(x->location);
	x->location = NULL;
	x->location_err = NULL;
	wwwauth_init(&x->wa);
	x->wa_seen = x->wa_bad = 0;
	x->ctype[0] = x->dcd[0] = '\0';
	x->ncl = x->cl_conflict = x->cl_bad = x->te = 0;
	x->cl = 0;
	x->retry_after = -1;
}

static size_t
xfer_abort(struct xfer *x, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static size_t
xfer_abort(struct xfer *x, int code, const char *fmt, ...)
{
	va_list ap;

	if (!x->aborted) {
		x->aborted = 1;
		x->abort_err.code = code;
		va_start(ap, fmt);
		vsnprintf(x->abort_err.msg, sizeof(x->abort_err.msg), fmt, ap);
		va_end(ap);
	}
	return 0;
}

const char *
reg_who(const struct xfer *x)
{
	if (x->role == ROLE_TOKEN)
		return "token server";
	return x->is_registry ? "registry" : "redirect target";
}

static int
manifest_type_ok(const char *ct)
{
	static const char *ok[] = { REG_MT_SCHEMA2, REG_MT_LIST, REG_MT_OCI,
	    REG_MT_OCIINDEX };
	size_t i, n;

	n = strcspn(ct, "; \t");
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strlen(ok[i]) == n && strncasecmp(ct, ok[i], n) == 0)
			return 1;
	return 0;
}

/* The header block of the final response is complete. */
static int
headers_done(struct xfer *x)
{
	const struct reg_req *r = x->f->r;
	char ct[64];
	long code = 0;

	curl_easy_getinfo(x->f->c->curl, CURLINFO_RESPONSE_CODE, &code);
	if (code >= 100 && code < 200) {
		xfer_reset_headers(x);
		return 1;
	}
	x->status = code;
	x->hdr_done = 1;
	if (x->cl_conflict)
		return (int)xfer_abort(x, PD_E_PROTO, "%s %s sent conflicting "
		    "Content-Length headers", reg_who(x), x->o.key);
	if (x->cl_bad)
		return (int)xfer_abort(x, PD_E_PROTO, "%s %s sent an invalid "
		    "Content-Length header", reg_who(x), x->o.key);
	if (x->te && x->ncl > 0)
		return (int)xfer_abort(x, PD_E_PROTO, "%s %s sent both "
		    "Transfer-Encoding and Content-Length", reg_who(x), x->o.key);
	if (code != 200)
		return 1;
	if (x->to_fd && r->kind == REG_MANIFEST) {
		if (x->ctype[0] == '\0')
			return (int)xfer_abort(x, PD_E_PROTO, "%s %s sent the manifest "
			    "without a Content-Type", reg_who(x), x->o.key);
		if (!manifest_type_ok(x->ctype)) {
			snprintf(ct, sizeof(ct), "%.60s", x->ctype);
			reg_sanitize(ct, 60);
			if (strncasecmp(x->ctype, REG_MT_SCHEMA1,
			    strlen(REG_MT_SCHEMA1)) == 0)
				return (int)xfer_abort(x, PD_E_PROTO, "%s/%s:%s is a "
				    "schema 1 manifest (%s), which is not supported",
				    x->f->r->host, r->repo, r->reference, ct);
			return (int)xfer_abort(x, PD_E_PROTO, "%s %s sent a manifest "
			    "of unsupported media type \"%s\"", reg_who(x), x->o.key,
			    ct);
		}
	}
	if (x->to_fd && x->ncl > 0 && x->cl > x->body_max) {
		if (r->kind == REG_MANIFEST)
			return (int)xfer_abort(x, PD_E_LIMIT, "manifest larger than "
			    "%llu bytes (Content-Length %llu)",
			    (unsigned long long)x->body_max,
			    (unsigned long long)x->cl);
		return (int)xfer_abort(x, PD_E_LIMIT, "blob %s is larger than its "
		    "descriptor: Content-Length %llu, expected %llu bytes",
		    r->reference, (unsigned long long)x->cl,
		    (unsigned long long)x->body_max);
	}
	if (!x->to_fd && x->ncl > 0 && x->cl > x->bufmax && (x->f->method == NULL ||
	    strcmp(x->f->method, "HEAD") != 0))
		return (int)xfer_abort(x, PD_E_LIMIT, "%s %s: response larger than "
		    "%zu bytes (Content-Length %llu)", reg_who(x), x->o.key, x->bufmax,
		    (unsigned long long)x->cl);
	return 1;
}

static void
copy_value(char *dst, size_t dlen, const char *v, size_t vlen)
{
	if (vlen >= dlen)
		vlen = dlen - 1;
	memcpy(dst, v, vlen);
	dst[vlen] = '\0';
}

/* Location: one, bounded, no CR or NUL; the redirect rules judge it. */
static void
header_location(struct xfer *x, const char *v, size_t vlen)
{
	if (x->location != NULL)
		x->location_err = "more than one Location header";
	else if (vlen > REG_LOCATION_MAX)
		x->location_err = "Location is longer than 8192 bytes";
	else if (memchr(v, '\r', vlen) != NULL || memchr(v, '\0', vlen) != NULL)
		x->location_err = "Location contains CR or NUL";
	else {
		x->location = xmalloc(vlen + 1);
		copy_value(x->location, vlen + 1, v, vlen);
	}
}

/* Content-Length: a number; several must agree (headers_done judges). */
static void
header_length(struct xfer *x, const char *v, size_t vlen)
{
	char num[24];
	uint64_t cl;

	if (vlen == 0 || vlen >= sizeof(num))
		x->cl_bad = 1;
	else {
		copy_value(num, sizeof(num), v, vlen);
		if (pd_parse_u64(num, &cl) == -1)
			x->cl_bad = 1;
		else if (x->ncl > 0 && cl != x->cl)
			x->cl_conflict = 1;
		x->cl = cl;
	}
	x->ncl++;
}

/* One "name: value" header of the final response, value trimmed. */
static void
header_field(struct xfer *x, const char *p, size_t nlen, const char *v,
    size_t vlen)
{
	char num[24];
	uint64_t n;

#define IS(name) (nlen == sizeof(name) - 1 && strncasecmp(p, name, nlen) == 0)
	if (IS("Location"))
		header_location(x, v, vlen);
	else if (IS("WWW-Authenticate")) {
		x->wa_seen = 1;
		if (!x->wa_bad && wwwauth_parse(&x->wa, v, vlen, &x->wa_err) == -1)
			x->wa_bad = 1;
	} else if (IS("Content-Type"))
		copy_value(x->ctype, sizeof(x->ctype), v, vlen);
	else if (IS("Docker-Content-Digest"))
		copy_value(x->dcd, sizeof(x->dcd), v, vlen);
	else if (IS("Content-Length"))
		header_length(x, v, vlen);
	else if (IS("Transfer-Encoding"))
		x->te = 1;
	else if (IS("Retry-After")) {
		copy_value(num, sizeof(num), v, vlen);
		if (pd_parse_u64(num, &n) == 0)
			x->retry_after = n > 3600 ? 3600 : (long)n;
	}
#undef IS
}

static size_t
header_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * nmemb, nlen, vlen;
	const char *colon, *v;

	if (x->aborted)
		return 0;
	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		xfer_reset_headers(x);
		x->hdrbytes += len;
		return len;
	}
	x->hdrbytes += len;
	if (++x->nhdr > REG_HEADERS_COUNT || x->hdrbytes > REG_HEADERS_MAX)
		return xfer_abort(x, PD_E_LIMIT, "%s %s sent more than %d header "
		    "lines or %d bytes of headers", reg_who(x), x->o.key,
		    REG_HEADERS_COUNT, REG_HEADERS_MAX);
	if (x->hdr_done)
		return len;			/* trailers: ignored */
	if ((len == 2 && p[0] == '\r' && p[1] == '\n') || (len == 1 &&
	    p[0] == '\n'))
		return headers_done(x) ? len : 0;
	/* Strip the line end; a CR left inside is a bare CR. */
	vlen = len;
	if (vlen > 0 && p[vlen - 1] == '\n')
		vlen--;
	if (vlen > 0 && p[vlen - 1] == '\r')
		vlen--;
	if ((colon = memchr(p, ':', vlen)) == NULL)
		return len;
	nlen = (size_t)(colon - p);
	v = colon + 1;
	vlen -= nlen + 1;
	while (vlen > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	header_field(x, p, nlen, v, vlen);
	return len;
}

static int
write_out(struct fetch *f, const char *p, size_t len, struct pd_err *e)
{
	struct pollfd pfd;
	int64_t left;
	ssize_t n;

	while (len > 0) {
		n = write(f->r->outfd, p, len);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			left = (int64_t)(f->deadline - pd_now_ms());
			pfd.fd = f->r->outfd;
			pfd.events = POLLOUT;
			if (left <= 0 || poll(&pfd, 1, left > 30000 ? 30000 :
			    (int)left) == 0)
				return pd_errf(e, PD_E_IO, "the broker stopped reading "
				    "the download");
			continue;
		}
		if (n == -1 && errno == EPIPE)
			return pd_errf(e, PD_E_IO, "the broker closed the pipe for "
			    "the download (EPIPE); stopped");
		return pd_errno(e, PD_E_IO, "write to the broker's pipe");
	}
	return 0;
}

static size_t
body_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	struct fetch *f = x->f;
	const struct reg_req *r = f->r;
	size_t len = size * nmemb, room;
	struct pd_err we;
	uint64_t now;

	if (x->aborted)
		return 0;
	if (!x->hdr_done)
		return xfer_abort(x, PD_E_PROTO, "%s %s: body before headers",
		    reg_who(x), x->o.key);
	if (x->status == 200 && x->to_fd) {
		if (len > x->body_max - f->received) {
			if (r->kind == REG_MANIFEST)
				return xfer_abort(x, PD_E_LIMIT, "manifest larger than "
				    "%llu bytes", (unsigned long long)x->body_max);
			return xfer_abort(x, PD_E_LIMIT, "blob %s is larger than its "
			    "descriptor (%llu bytes)", r->reference,
			    (unsigned long long)x->body_max);
		}
		pd_sha256_update(f->sha, p, len);
		if (write_out(f, p, len, &we) == -1)
			return xfer_abort(x, we.code, "%s", we.msg);
		f->received += len;
		/* Not for the last chunk: FETCH_RESULT says that much. */
		if (r->kind == REG_BLOB && r->progress != NULL &&
		    f->received < r->max_size) {
			now = pd_now_ms();
			if (!f->progress_sent || now - f->last_progress >=
			    REG_PROGRESS_MS) {
				f->progress_sent = 1;
				f->last_progress = now;
				r->progress(r->progress_arg, f->progress_id,
				    f->received, r->max_size);
			}
		}
		return len;
	}
	room = x->bufmax - x->len;
	if (len > room) {
		if (x->status == 200)
			return xfer_abort(x, PD_E_LIMIT, "%s %s: response larger "
			    "than %zu bytes", reg_who(x), x->o.key, x->bufmax);
		/* An error or redirect body: what we have is enough. */
		memcpy(x->buf + x->len, p, room);
		x->len += room;
		x->buf[x->len] = '\0';
		x->capped = 1;
		return 0;
	}
	memcpy(x->buf + x->len, p, len);
	x->len += len;
	x->buf[x->len] = '\0';
	return len;
}

static curl_socket_t
opensocket_cb(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct xfer *x = arg;
	struct reg_client *c = x->f->c;
	const void *ap;
	int cls;

	if (purpose == CURLSOCKTYPE_IPCXN && (x->f->r->proxy == NULL ||
	    x->f->r->proxy[0] == '\0')) {
		cls = reg_addr_class(&a->addr);
		if (x->is_registry) {
			snprintf(c->cls_origin, sizeof(c->cls_origin), "%s",
			    x->o.key);
			c->cls = cls;
		} else if (cls != REG_ADDR_PUBLIC && (cls == REG_ADDR_RESERVED ||
		    strcmp(c->cls_origin, x->f->reg.key) != 0 || cls != c->cls)) {
			x->addr_refused = 1;
			x->addr_cls = cls;
			ap = a->family == AF_INET6 ?
			    (const void *)&((struct sockaddr_in6 *)(void *)
			    &a->addr)->sin6_addr :
			    (const void *)&((struct sockaddr_in *)(void *)
			    &a->addr)->sin_addr;
			if (inet_ntop(a->family, ap, x->addr_ip,
			    sizeof(x->addr_ip)) == NULL)
				snprintf(x->addr_ip, sizeof(x->addr_ip), "?");
			return CURL_SOCKET_BAD;
		}
	}
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static void
lower_first(char *s)
{
	if (s[0] != '\0' && isupper((unsigned char)s[0]) &&
	    !isupper((unsigned char)s[1]))
		s[0] = (char)tolower((unsigned char)s[0]);
}

/* libcurl's codes for a failed TLS handshake or TLS set-up. */
static int
is_tls_code(CURLcode rc)
{
	static const CURLcode tls[] = { CURLE_SSL_CONNECT_ERROR,
	    CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM,
	    CURLE_SSL_CIPHER, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR,
	    CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
	    CURLE_SSL_CLIENTCERT, CURLE_SSL_CRL_BADFILE,
	    CURLE_SSL_SHUTDOWN_FAILED, CURLE_SSL_ENGINE_NOTFOUND,
	    CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_ENGINE_INITFAILED,
	    CURLE_USE_SSL_FAILED };
	size_t i;

	for (i = 0; i < sizeof(tls) / sizeof(tls[0]); i++)
		if (tls[i] == rc)
			return 1;
	return 0;
}

/* libcurl's codes for a response we refuse to take. */
static int
is_refused_code(CURLcode rc)
{
	return rc == CURLE_WEIRD_SERVER_REPLY || rc == CURLE_HTTP2 ||
	    rc == CURLE_HTTP2_STREAM || rc == CURLE_BAD_CONTENT_ENCODING ||
	    rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_TOO_MANY_REDIRECTS ||
	    rc == CURLE_FILESIZE_EXCEEDED;
}

/* CURLE_COULDNT_CONNECT: our address rule, or the OS's reason. */
static int
fail_connect(struct fetch *f, struct xfer *x, const char *eb,
    const char *peer, struct pd_err *e)
{
	char oe[CURL_ERROR_SIZE];
	long oserr = 0;

	if (x->addr_refused)
		return pd_errf(e, PD_E_PROTO, "%s refused: %s %s resolves to "
		    "%s, a %s address, and the registry's address is not",
		    x->role == ROLE_TOKEN ? "token realm" : "redirect",
		    reg_who(x), x->o.key, x->addr_ip,
		    reg_addr_class_name(x->addr_cls));
	curl_easy_getinfo(f->c->curl, CURLINFO_OS_ERRNO, &oserr);
	if (oserr == ECONNREFUSED)
		snprintf(oe, sizeof(oe), "connection refused");
	else if (oserr != 0) {
		snprintf(oe, sizeof(oe), "%s", strerror((int)oserr));
		lower_first(oe);
	} else
		snprintf(oe, sizeof(oe), "%s", eb);
	return pd_errf(e, PD_E_UNAVAIL, "cannot connect to %s: %s", peer, oe);
}

/* CURLE_OPERATION_TIMEDOUT: which of our three timeouts it was. */
static int
fail_timeout(struct fetch *f, const char *eb, const char *peer,
    struct pd_err *e)
{
	struct reg_client *c = f->c;
	curl_off_t conn = 0;

	curl_easy_getinfo(c->curl, CURLINFO_CONNECT_TIME_T, &conn);
	if (conn == 0 && strstr(eb, "onnection timed out") != NULL)
		return pd_errf(e, PD_E_UNAVAIL, "cannot connect to %s: timed "
		    "out after %ld s", peer, c->to.connect);
	if (strstr(eb, "too slow") != NULL)
		return pd_errf(e, PD_E_UNAVAIL, "timeout: %s sent less than "
		    "%d byte/s for %ld s", peer, REG_LOW_SPEED_LIMIT,
		    c->to.low_speed_time);
	return pd_errf(e, PD_E_UNAVAIL, "timeout: the %s download did not "
	    "finish within %ld s (%s)", f->r->kind == REG_BLOB ? "blob" :
	    "manifest", f->deadline_s, peer);
}

/* Turn a failed curl_easy_perform into an error that names the peer. */
static int
curl_fail(struct fetch *f, struct xfer *x, CURLcode rc, struct pd_err *e)
{
	struct reg_client *c = f->c;
	char eb[CURL_ERROR_SIZE], peer[640];
	curl_off_t conn = 0;

	snprintf(eb, sizeof(eb), "%s", c->errbuf[0] != '\0' ? c->errbuf :
	    curl_easy_strerror(rc));
	eb[strcspn(eb, "\r\n")] = '\0';
	reg_sanitize(eb, 200);
	if (strncmp(eb, "OpenSSL", 7) != 0)
		lower_first(eb);
	snprintf(peer, sizeof(peer), "%s %s%s", reg_who(x), x->is_registry &&
	    x->role != ROLE_TOKEN ? f->name : x->o.key, f->r->proxy != NULL &&
	    f->r->proxy[0] != '\0' ? " (through the configured proxy)" : "");
	if (is_tls_code(rc))
		return pd_errf(e, PD_E_UNAVAIL, "TLS error talking to %s: %s", peer,
		    eb);
	if (is_refused_code(rc))
		return pd_errf(e, PD_E_PROTO, "%s sent a response we refuse: %s",
		    peer, eb);
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
		return pd_errf(e, PD_E_UNAVAIL, "cannot resolve %s: %s", peer, eb);
	case CURLE_COULDNT_RESOLVE_PROXY:
		return pd_errf(e, PD_E_UNAVAIL, "cannot resolve the proxy: %s", eb);
	case CURLE_COULDNT_CONNECT:
		return fail_connect(f, x, eb, peer, e);
	case CURLE_OPERATION_TIMEDOUT:
		return fail_timeout(f, eb, peer, e);
	case CURLE_PARTIAL_FILE:
		return pd_errf(e, PD_E_UNAVAIL, "connection to %s closed before the "
		    "whole response arrived: %s", peer, eb);
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
		/* Over https, a failure before the handshake ended is TLS's. */
		curl_easy_getinfo(c->curl, CURLINFO_APPCONNECT_TIME_T, &conn);
		if (strcmp(x->o.scheme, "https") == 0 && (conn == 0 ||
		    strstr(eb, "SSL") != NULL))
			return pd_errf(e, PD_E_UNAVAIL, "TLS error talking to %s: %s",
			    peer, eb);
		return pd_errf(e, PD_E_UNAVAIL, "connection to %s failed: %s", peer,
		    eb);
	case CURLE_OUT_OF_MEMORY:
		return pd_errf(e, PD_E_LIMIT, "%s sent a response libcurl would not "
		    "buffer (a header line over 100 KiB?): %s", peer, eb);
	default:
		return pd_errf(e, PD_E_UNAVAIL, "request to %s failed: %s", peer,
		    eb);
	}
}

/* Upload body: pread from the broker's fd, never buffered whole. */
static size_t
read_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	struct fetch *f = x->f;
	const struct reg_req *r = f->r;
	size_t want = size * nmemb;
	uint64_t left, now, done;
	ssize_t n;

	if (x->aborted)
		return CURL_READFUNC_ABORT;
	if (!f->upload)
		return 0;
	left = f->up_len - f->up_sent;
	if (want > left)
		want = (size_t)left;
	if (want == 0)
		return 0;
	do
		n = pread(r->infd, p, want, (off_t)(f->up_off + f->up_sent));
	while (n == -1 && errno == EINTR);
	if (n <= 0) {
		(void)xfer_abort(x, PD_E_IO, "reading the %s to push: %s",
		    r->kind == REG_PUSH_BLOB ? "blob" : "manifest", n == 0 ?
		    "unexpected end of file" : strerror(errno));
		return CURL_READFUNC_ABORT;
	}
	f->up_sent += (uint64_t)n;
	done = f->up_off + f->up_sent;
	if (r->kind == REG_PUSH_BLOB && r->progress != NULL &&
	    done < r->max_size) {
		now = pd_now_ms();
		if (!f->progress_sent || now - f->last_progress >=
		    REG_PROGRESS_MS) {
			f->progress_sent = 1;
			f->last_progress = now;
			r->progress(r->progress_arg, f->progress_id, done,
			    r->max_size);
		}
	}
	return (size_t)n;
}

static void
log_url(const char *method, const char *url, long status)
{
	char buf[512];

	/* No query: a CDN URL carries signatures there. */
	snprintf(buf, sizeof(buf), "%s", url);
	buf[strcspn(buf, "?#")] = '\0';
	reg_sanitize(buf, 300);
	log_debug("%s %s -> %ld", method, buf, status);
}

/* The request's header lines; NULL if there are none. */
static struct curl_slist *
xfer_headers(struct fetch *f, struct xfer *x, const char *authz,
    const char *post)
{
	struct curl_slist *hdrs = NULL, *t;
	char ctline[PD_STR_SHORT + 32];

	if (f->r->kind == REG_MANIFEST && x->role == ROLE_REGISTRY)
		hdrs = curl_slist_append(hdrs, "Accept: " REG_MT_SCHEMA2 ", "
		    REG_MT_LIST ", " REG_MT_OCI ", " REG_MT_OCIINDEX);
	if (authz != NULL && (t = curl_slist_append(hdrs, authz)) != NULL)
		hdrs = t;
	if (x->role == ROLE_REGISTRY && f->accept != NULL &&
	    (t = curl_slist_append(hdrs, f->accept)) != NULL)
		hdrs = t;
	if (x->role == ROLE_REGISTRY && f->range != NULL &&
	    (t = curl_slist_append(hdrs, f->range)) != NULL)
		hdrs = t;
	if (x->role == ROLE_REGISTRY && f->upload && f->ctype != NULL) {
		snprintf(ctline, sizeof(ctline), "Content-Type: %s", f->ctype);
		if ((t = curl_slist_append(hdrs, ctline)) != NULL)
			hdrs = t;
	}
	if (post != NULL && (t = curl_slist_append(hdrs, "Content-Type: "
	    "application/x-www-form-urlencoded; charset=utf-8")) != NULL)
		hdrs = t;
	/* Never "Expect: 100-continue", never a Proxy-Authorization leak. */
	if ((t = curl_slist_append(hdrs, "Expect:")) != NULL)
		hdrs = t;
	return hdrs;
}

/* What every request sets: no redirects, no netrc, limits, callbacks. */
static void
xfer_setopt_common(struct fetch *f, struct xfer *x, struct curl_slist *hdrs,
    uint64_t now)
{
	struct reg_client *c = f->c;
	CURL *h = c->curl;

	curl_easy_setopt(h, CURLOPT_URL, x->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 0L);
	curl_easy_setopt(h, CURLOPT_UNRESTRICTED_AUTH, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
	curl_easy_setopt(h, CURLOPT_USERAGENT, REG_USER_AGENT);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_PROXY, f->r->proxy != NULL ? f->r->proxy : "");
	curl_easy_setopt(h, CURLOPT_NOPROXY, "");
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, c->to.connect);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, (long)REG_LOW_SPEED_LIMIT);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, c->to.low_speed_time);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(f->deadline - now));
	curl_easy_setopt(h, CURLOPT_HTTP_CONTENT_DECODING, 0L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, opensocket_cb);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, x);
}

/* The method: the token POST, or the push's HEAD/POST/PUT/PATCH, or GET. */
static void
xfer_setopt_method(struct fetch *f, struct xfer *x, const char *post)
{
	CURL *h = f->c->curl;

	if (post != NULL) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(post));
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, post);
	} else if (x->role == ROLE_REGISTRY && f->method != NULL &&
	    strcmp(f->method, "HEAD") == 0)
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	else if (x->role == ROLE_REGISTRY && f->method != NULL &&
	    strcmp(f->method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
	} else if (x->role == ROLE_REGISTRY && f->method != NULL) {
		/* PUT or PATCH, the body streamed from the broker's fd. */
		f->up_sent = 0;
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
		curl_easy_setopt(h, CURLOPT_READDATA, x);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
		    (curl_off_t)(f->upload ? f->up_len : 0));
		if (strcmp(f->method, "PUT") != 0)
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, f->method);
	} else
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
}

/* The client certificate or key for origin, if the broker sent one. */
static void
client_pem(struct reg_client *c, int kind, const char *origin)
{
	const struct tlsmat *m;
	struct curl_blob b;

	if ((m = reg_tls_find(c, kind, origin)) == NULL)
		return;
	b.data = m->pem;
	b.len = m->len;
	b.flags = CURL_BLOB_COPY;
	if (kind == PD_TLS_CERT) {
		curl_easy_setopt(c->curl, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(c->curl, CURLOPT_SSLCERT_BLOB, &b);
	} else {
		curl_easy_setopt(c->curl, CURLOPT_SSLKEYTYPE, "PEM");
		curl_easy_setopt(c->curl, CURLOPT_SSLKEY_BLOB, &b);
	}
}

/*
 * TLS: trust only what the broker sent, no compiled-in CA file or dir.
 * *cabuf is the CA bundle libcurl copied; the caller frees it.
 */
static int
xfer_setopt_tls(struct fetch *f, struct xfer *x, char **cabuf,
    struct pd_err *e)
{
	struct reg_client *c = f->c;
	CURL *h = c->curl;
	struct curl_blob ca;

	curl_easy_setopt(h, CURLOPT_CAINFO, NULL);
	curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	/* Debian's openssl.cnf level, which is unreachable in the chroot. */
	curl_easy_setopt(h, CURLOPT_SSL_CIPHER_LIST, "DEFAULT:@SECLEVEL=2");
	if (strcmp(x->o.scheme, "https") != 0)
		return 0;
	if ((*cabuf = reg_ca_for(c, x->o.key, &ca.len)) == NULL)
		return pd_errf(e, PD_E_UNAVAIL, "no CA certificates were given for "
		    "%s %s: cannot verify its TLS certificate", reg_who(x),
		    x->o.key);
	ca.data = *cabuf;
	ca.flags = CURL_BLOB_COPY;
	curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &ca);
	client_pem(c, PD_TLS_CERT, x->o.key);
	client_pem(c, PD_TLS_KEY, x->o.key);
	return 0;
}

/* curl_easy_perform and what its outcome means for x. */
static int
xfer_perform(struct fetch *f, struct xfer *x, const char *post,
    struct pd_err *e)
{
	CURLcode rc;

	rc = curl_easy_perform(f->c->curl);
	if (x->aborted) {
		*e = x->abort_err;
		return -1;
	}
	if (rc == CURLE_WRITE_ERROR && x->capped)
		rc = CURLE_OK;
	if (rc != CURLE_OK)
		return curl_fail(f, x, rc, e);
	if (!x->hdr_done)
		return pd_errf(e, PD_E_PROTO, "%s %s sent no complete response",
		    reg_who(x), x->o.key);
	log_url(post != NULL ? "POST" : x->role == ROLE_REGISTRY &&
	    f->method != NULL ? f->method : "GET", x->url, x->status);
	return 0;
}

/* Run one HTTP request for x; the response is in x afterwards. */
static int
xfer_run(struct fetch *f, struct xfer *x, const char *authz,
    const char *post, struct pd_err *e)
{
	CURL *h = f->c->curl;
	struct curl_slist *hdrs;
	char *cabuf = NULL;
	uint64_t now = pd_now_ms();
	int ret;

	if (++f->nreq > (f->maxreq > 0 ? f->maxreq : REG_MAX_REQUESTS))
		return pd_errf(e, PD_E_PROTO, "gave up after %u HTTP requests for "
		    "one %s %s", f->maxreq > 0 ? f->maxreq : REG_MAX_REQUESTS,
		    f->maxreq > 0 ? "upload to" : "download from", f->name);
	if (now >= f->deadline)
		return pd_errf(e, PD_E_UNAVAIL, "timeout: the %s download did not "
		    "finish within %ld s", f->r->kind == REG_BLOB ? "blob" :
		    "manifest", f->deadline_s);
	curl_easy_reset(h);
	f->c->errbuf[0] = '\0';
	x->buf = xmalloc(x->bufmax + 1);
	x->buf[0] = '\0';
	xfer_reset_headers(x);
	hdrs = xfer_headers(f, x, authz, post);
	xfer_setopt_common(f, x, hdrs, now);
	xfer_setopt_method(f, x, post);
	ret = xfer_setopt_tls(f, x, &cabuf, e);
	if (ret == 0)
		ret = xfer_perform(f, x, post, e);
	/* The handle keeps no pointer into our buffers past this point. */
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
	curl_slist_free_all(hdrs);
	free(cabuf);
	return ret;
}

static int
is_redirect(long s)
{
	return s == 301 || s == 302 || s == 303 || s == 307 || s == 308;
}

/*
 * Issue a request and follow redirects by hand.  `authz` (a complete
 * header line) is attached only to requests whose origin is `authz_o`;
 * a POST body (it may hold a refresh token) only ever goes to the first
 * URL's origin.  Returns the final response in *out.
 */
int
reg_request(struct fetch *f, const char *url0, int role, const char *authz,
    const struct origin *authz_o, int to_fd, size_t bufmax, const char *post,
    struct xfer **out, struct pd_err *e)
{
	struct origin first;
	struct xfer *x;
	char *url, *next;
	int hops;

	*out = NULL;
	memset(&first, 0, sizeof(first));
	url = xstrdup(url0);
	for (hops = 0;; hops++) {
		x = xcalloc(1, sizeof(*x));
		x->f = f;
		x->url = url;
		x->role = role;
		x->to_fd = to_fd;
		x->body_max = f->r->max_size;
		x->bufmax = bufmax;
		if (reg_url_origin(url, &x->o) == -1) {
			reg_xfer_free(x);
			return pd_errf(e, PD_E_PROTO, "cannot parse URL");
		}
		if (hops == 0)
			first = x->o;
		x->is_registry = reg_same_origin(&x->o, &f->reg);
		if (post != NULL && !reg_same_origin(&x->o, &first)) {
			reg_xfer_free(x);
			return pd_errf(e, PD_E_PROTO, "token server redirected a POST "
			    "carrying credentials to another origin; refused");
		}
		if (xfer_run(f, x, authz != NULL && reg_same_origin(&x->o, authz_o) ?
		    authz : NULL, post, e) == -1) {
			reg_xfer_free(x);
			return -1;
		}
		if (!is_redirect(x->status)) {
			*out = x;
			return 0;
		}
		if (post != NULL && x->status != 307 && x->status != 308) {
			pd_errf(e, PD_E_PROTO, "token server answered the POST with a "
			    "%ld redirect; refused", x->status);
			reg_xfer_free(x);
			return -1;
		}
		if (hops == REG_MAX_REDIRECTS) {
			reg_xfer_free(x);
			return pd_errf(e, PD_E_PROTO, "too many redirects (more than "
			    "%d) fetching from %s", REG_MAX_REDIRECTS, f->name);
		}
		if (x->location_err != NULL || x->location == NULL) {
			pd_errf(e, PD_E_PROTO, "redirect refused: %s %s sent a %ld "
			    "with %s", reg_who(x), x->o.key, x->status,
			    x->location_err ? x->location_err : "no Location header");
			reg_xfer_free(x);
			return -1;
		}
		if (reg_resolve_location(url, x->location, &next, e) == -1) {
			reg_xfer_free(x);
			return -1;
		}
		if (strcmp(x->o.scheme, "https") == 0 &&
		    strncmp(next, "http:", 5) == 0) {
			pd_errf(e, PD_E_PROTO, "redirect refused: %s %s redirected "
			    "from https to plain http", reg_who(x), x->o.key);
			reg_xfer_free(x);
			free(next);
			return -1;
		}
		reg_xfer_free(x);		/* frees url */
		url = next;
	}
}

/* errors[0].code/message of a registry error body, sanitized */
void
reg_error_detail(const struct xfer *x, char *code, size_t clen, char *msg,
    size_t mlen)
{
	json_t *j, *e0;
	const char *s;

	code[0] = msg[0] = '\0';
	if (x->len == 0 || (j = json_loadb(x->buf, x->len, 0, NULL)) == NULL)
		return;
	e0 = json_array_get(json_object_get(j, "errors"), 0);
	if ((s = json_string_value(json_object_get(e0, "code"))) != NULL)
		snprintf(code, clen, "%s", s);
	if ((s = json_string_value(json_object_get(e0, "message"))) != NULL)
		snprintf(msg, mlen, "%s", s);
	reg_sanitize(code, 40);
	reg_sanitize(msg, 200);
	json_decref(j);
}

int
reg_retryable(long s)
{
	return s == 408 || s == 429 || s == 502 || s == 503 || s == 504;
}

void
reg_sleep_ms(uint64_t ms)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

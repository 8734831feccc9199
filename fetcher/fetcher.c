/*
 * plugind-fetcher: the registry client.  Unprivileged, no capabilities,
 * chrooted into <data-root>/fetch-root, seccomp-filtered.  It writes only
 * into file descriptors the broker hands it; the broker verifies every
 * byte it produces.
 *
 * Requests (docs/PROTOCOL.md, docs/FETCHER.md):
 *	FETCH_TLS (fd)	PEM for one host: kept for the job, no reply.  A
 *			failure is reported as the ERROR of the next FETCH,
 *			since the broker does not wait for a reply here.
 *	FETCH (fd)	one GET into the fd, then FETCH_RESULT or ERROR; the
 *			fd is closed before the reply, so the broker's read
 *			of the pipe ends first.  Kind LOGIN: docker login's
 *			check of the credentials (reg_login.c).
 *	PUSH_BLOB (fd)	upload one blob read from the fd (HEAD, mount or
 *			POST + PUT/PATCH), then PUSH_RESULT or ERROR.
 *	PUSH_MANIFEST (fd)  PUT the manifest read from the fd.
 *	STOP		exit.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "child.h"
#include "helper_loop.h"
#include "log.h"
#include "proto.h"
#include "registry.h"
#include "role.h"

struct fetcher {
	struct reg_client	*client;
	struct pd_err		 pending;	/* FETCH_TLS failure, if any */
	uint32_t		 reqid;
};

/* The registry and credentials, alike in FETCH and PUSH_* requests. */
#define REQ_TARGET(r, q) do {						\
	(r)->scheme = (q)->t.scheme;					\
	(r)->host = (q)->t.host;					\
	(r)->repo = (q)->t.repo;					\
	(r)->reference = (q)->t.reference;				\
	(r)->username = (q)->t.username;				\
	(r)->secret = (q)->t.secret;					\
	(r)->idtoken = ((q)->t.flags & PD_FETCHF_IDTOKEN) != 0;		\
	(r)->proxy = (q)->t.proxy;					\
} while (0)

static void
send_progress(struct fetcher *f, const char *status, const char *id,
    uint64_t cur, uint64_t total)
{
	(void)pd_send_progress_of(PD_CHILD_FD, f->reqid, id, status, cur, total);
}

static void
fetcher_progress(void *arg, const char *id, uint64_t cur, uint64_t total)
{
	send_progress(arg, "Downloading", id, cur, total);
}

static void
fetcher_push_progress(void *arg, const char *id, uint64_t cur, uint64_t total)
{
	send_progress(arg, "Pushing", id, cur, total);
}

static void
fetcher_tls(struct pd_msg *m, void *arg)
{
	struct fetcher *f = arg;
	struct pd_fetch_tls t;
	struct pd_err e;
	size_t len;
	char *pem;
	int fd;

	if (pd_dec_fetch_tls(m, &t, &e) == -1)
		fatalx("bad FETCH_TLS: %s", e.msg);
	fd = pd_msg_take_fd(m);
	if (f->pending.code == PD_E_OK &&
	    (reg_read_pem(fd, &pem, &len, &e) == -1 ||
	    reg_client_add_tls(f->client, (int)t.kind, t.host, pem, len,
	    &e) == -1))
		f->pending = e;
	close(fd);
	pd_fetch_tls_free(&t);
}

static void
fetcher_fetch(struct pd_msg *m, void *arg)
{
	struct fetcher *f = arg;
	struct pd_fetch_result out;
	struct pd_fetch_req q;
	struct reg_req r;
	struct reg_res res;
	struct pd_err e;
	int fd, rc;

	if (pd_dec_fetch(m, &q, &e) == -1)
		fatalx("bad FETCH: %s", e.msg);
	fd = pd_msg_take_fd(m);
	f->reqid = m->id;
	if (f->pending.code != PD_E_OK) {
		e = f->pending;
		rc = -1;
	} else {
		memset(&r, 0, sizeof(r));
		r.kind = q.kind == PD_FETCH_MANIFEST ? REG_MANIFEST :
		    q.kind == PD_FETCH_LOGIN ? REG_LOGIN : REG_BLOB;
		REQ_TARGET(&r, &q);
		r.max_size = q.max_size;
		r.outfd = fd;
		r.progress = fetcher_progress;
		r.progress_arg = f;
		rc = r.kind == REG_LOGIN ? reg_login(f->client, &r, &res, &e) :
		    reg_fetch(f->client, &r, &res, &e);
	}
	close(fd);
	pd_fetch_req_free(&q);
	if (rc == -1) {
		log_debug("FETCH %u failed: %s", m->id, e.msg);
		pd_child_fail(PD_CHILD_FD, m->id, &e);
		return;
	}
	out.http_status = (uint32_t)res.http_status;
	out.size = res.size;
	out.media_type = res.media_type;
	out.digest = res.digest;
	if (pd_send_fetch_result(PD_CHILD_FD, m->id, &out, &e) == -1)
		fatalx("%s", e.msg);
}

/* PUSH_BLOB / PUSH_MANIFEST: the body is read from the passed fd. */
static void
fetcher_push(struct pd_msg *m, void *arg)
{
	struct fetcher *f = arg;
	struct pd_push_result out;
	struct pd_push_req q;
	struct reg_req r;
	struct reg_res res;
	struct pd_err e;
	int fd, rc;

	if (pd_dec_push(m, &q, &e) == -1)
		fatalx("bad %s: %s", pd_msg_name(m->type), e.msg);
	fd = pd_msg_take_fd(m);
	f->reqid = m->id;
	if (f->pending.code != PD_E_OK) {
		e = f->pending;
		rc = -1;
	} else {
		memset(&r, 0, sizeof(r));
		r.kind = m->type == PD_MSG_PUSH_BLOB ? REG_PUSH_BLOB :
		    REG_PUSH_MANIFEST;
		REQ_TARGET(&r, &q);
		r.max_size = q.size;
		r.outfd = -1;
		r.infd = fd;
		r.mount_from = q.mount_from;
		r.media_type = q.media_type;
		r.progress = fetcher_push_progress;
		r.progress_arg = f;
		rc = reg_push(f->client, &r, &res, &e);
	}
	close(fd);
	if (rc == -1) {
		pd_push_req_free(&q);
		log_debug("%s %u failed: %s", pd_msg_name(m->type), m->id, e.msg);
		pd_child_fail(PD_CHILD_FD, m->id, &e);
		return;
	}
	out.outcome = (uint32_t)res.outcome;
	out.size = res.size;
	out.digest = res.digest;
	out.detail = res.outcome == PD_PUSHED_MOUNTED ? q.mount_from :
	    (char *)(uintptr_t)"";
	if (pd_send_push_result(PD_CHILD_FD, m->id, &out, &e) == -1)
		fatalx("%s", e.msg);
	pd_push_req_free(&q);
}

static const struct pd_handler handlers[] = {
	{ PD_MSG_FETCH_TLS,	fetcher_tls },
	{ PD_MSG_FETCH,		fetcher_fetch },
	{ PD_MSG_PUSH_BLOB,	fetcher_push },
	{ PD_MSG_PUSH_MANIFEST,	fetcher_push },
	{ 0,			NULL }
};

int
main(void)
{
	struct fetcher f;
	struct pd_setup s;
	struct pd_chan ch;

	/* A closed pipe must be EPIPE for the write loop, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	pd_child_init(PD_ROLE_FETCHER, &ch, &s);
	pd_setup_free(&s);
	/*
	 * Only now, chrooted and filtered: curl_global_init opens no
	 * socket, and the OpenSSL configuration it would load is not
	 * reachable (reg_http.c sets the TLS floor itself).
	 */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatalx("curl_global_init failed");
	memset(&f, 0, sizeof(f));
	if ((f.client = reg_client_new()) == NULL)
		fatalx("cannot create a libcurl handle");
	pd_helper_loop(&ch, handlers, &f);
	reg_client_free(f.client);
	return 0;
}

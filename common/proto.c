/*
 * Payload encoders and decoders: the only place message payloads are
 * built or read.  See proto.h for the layouts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

struct wbuf {
	uint8_t		 data[PD_MSG_MAXPAYLOAD];
	size_t		 len;
	int		 overflow;
};

struct rbuf {
	const uint8_t	*p;
	size_t		 len;
	size_t		 off;
	const char	*bad;		/* first problem found */
};

static void
wb_raw(struct wbuf *w, const void *p, size_t n)
{
	if (n == 0)
		return;
	if (w->overflow || n > sizeof(w->data) - w->len) {
		w->overflow = 1;
		return;
	}
	memcpy(w->data + w->len, p, n);
	w->len += n;
}

static void
wb_u32(struct wbuf *w, uint32_t v)
{
	wb_raw(w, &v, sizeof(v));
}

static void
wb_u64(struct wbuf *w, uint64_t v)
{
	wb_raw(w, &v, sizeof(v));
}

static void
wb_str(struct wbuf *w, const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	if (n > max) {
		w->overflow = 1;
		return;
	}
	wb_u32(w, (uint32_t)n);
	wb_raw(w, s, n);
}

static int
wb_send(int sock, uint32_t type, uint32_t id, int fd, struct wbuf *w,
    struct pd_err *e)
{
	if (w->overflow)
		return pd_errf(e, PD_E_INVAL, "%s: a field is too long",
		    pd_msg_name(type));
	return pd_msg_send(sock, type, id, fd, w->data, w->len, e);
}

static void
rb_init(struct rbuf *r, const struct pd_msg *m)
{
	r->p = m->data;
	r->len = m->len;
	r->off = 0;
	r->bad = NULL;
}

static int
rb_raw(struct rbuf *r, void *out, size_t n)
{
	if (r->bad != NULL)
		return -1;
	if (n > r->len - r->off) {
		r->bad = "truncated payload";
		return -1;
	}
	memcpy(out, r->p + r->off, n);
	r->off += n;
	return 0;
}

static uint32_t
rb_u32(struct rbuf *r)
{
	uint32_t v = 0;

	rb_raw(r, &v, sizeof(v));
	return v;
}

static uint64_t
rb_u64(struct rbuf *r)
{
	uint64_t v = 0;

	rb_raw(r, &v, sizeof(v));
	return v;
}

/* Returns a malloc'd NUL-terminated copy, or NULL with r->bad set. */
static char *
rb_str(struct rbuf *r, size_t max)
{
	uint32_t n;
	char *s;

	n = rb_u32(r);
	if (r->bad != NULL)
		return NULL;
	if (n > max) {
		r->bad = "string field too long";
		return NULL;
	}
	if (n > r->len - r->off) {
		r->bad = "truncated string";
		return NULL;
	}
	if (memchr(r->p + r->off, '\0', n) != NULL) {
		r->bad = "NUL byte inside a string";
		return NULL;
	}
	if ((s = malloc((size_t)n + 1)) == NULL) {
		r->bad = "out of memory";
		return NULL;
	}
	memcpy(s, r->p + r->off, n);
	s[n] = '\0';
	r->off += n;
	return s;
}

static int
rb_end(struct rbuf *r, const struct pd_msg *m, int want_fd, struct pd_err *e)
{
	if (r->bad == NULL && r->off != r->len)
		r->bad = "trailing bytes";
	if (r->bad == NULL && want_fd && m->fd < 0)
		r->bad = "missing file descriptor";
	if (r->bad == NULL && !want_fd && m->fd >= 0)
		r->bad = "unexpected file descriptor";
	if (r->bad != NULL)
		return pd_errf(e, PD_E_PROTO, "malformed %s message: %s",
		    pd_msg_name(m->type), r->bad);
	return 0;
}

/* The verb table (PD_VERBS in proto.h), as data. */
#define PD_VERB_ROW(T, fn, name, min, max, mut, fd, mem, cost, ev)	\
	{ PD_CTL_##T, name, min, max, mut, fd, mem, cost, PD_VEV_##ev },
static const struct pd_verb verbs[] = { PD_VERBS(PD_VERB_ROW) };
#undef PD_VERB_ROW

const struct pd_verb *
pd_verb_lookup(uint32_t type)
{
	size_t i;

	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (verbs[i].type == type)
			return &verbs[i];
	return NULL;
}

const char *
pd_msg_name(uint32_t type)
{
	const struct pd_verb *v;

	switch (type) {
	case PD_MSG_HELLO:	return "HELLO";
	case PD_MSG_SETUP:	return "SETUP";
	case PD_MSG_SETUP_DONE:	return "SETUP_DONE";
	case PD_MSG_LOG:	return "LOG";
	case PD_MSG_ERROR:	return "ERROR";
	case PD_MSG_STOP:	return "STOP";
	case PD_MSG_PROGRESS:	return "PROGRESS";
	case PD_MSG_CONN:	return "CONN";
	case PD_CTL_DATA:	return "CTL_DATA";
	case PD_CTL_OK:		return "CTL_OK";
	case PD_CTL_FAIL:	return "CTL_FAIL";
	case PD_MSG_FETCH_TLS:	return "FETCH_TLS";
	case PD_MSG_FETCH:	return "FETCH";
	case PD_MSG_FETCH_RESULT: return "FETCH_RESULT";
	case PD_MSG_PUSH_BLOB: return "PUSH_BLOB";
	case PD_MSG_PUSH_MANIFEST: return "PUSH_MANIFEST";
	case PD_MSG_PUSH_RESULT: return "PUSH_RESULT";
	case PD_MSG_UNTAR:	return "UNTAR";
	case PD_MSG_UNTAR_DONE:	return "UNTAR_DONE";
	case PD_MSG_BUNDLE_OUT:	return "BUNDLE_OUT";
	case PD_MSG_BUNDLE:	return "BUNDLE";
	case PD_MSG_BUNDLE_DONE: return "BUNDLE_DONE";
	case PD_MSG_PARSE:	return "PARSE";
	case PD_MSG_PARSE_DONE:	return "PARSE_DONE";
	case PD_MSG_GATEWAY:	return "GATEWAY";
	case PD_MSG_USE:	return "USE";
	}
	if ((v = pd_verb_lookup(type)) != NULL)
		return v->name;
	return "unknown";
}

int
pd_dec_empty(const struct pd_msg *m, struct pd_err *e)
{
	struct rbuf r;

	rb_init(&r, m);
	return rb_end(&r, m, 0, e);
}

int
pd_send_hello(int s, uint32_t id, const struct pd_hello *h, struct pd_err *e)
{
	struct wbuf w = { .len = 0 };

	wb_u32(&w, h->version);
	wb_str(&w, h->agent, PD_STR_AGENT);
	return wb_send(s, PD_MSG_HELLO, id, -1, &w, e);
}

int
pd_dec_hello(const struct pd_msg *m, struct pd_hello *h, struct pd_err *e)
{
	struct rbuf r;

	memset(h, 0, sizeof(*h));
	rb_init(&r, m);
	h->version = rb_u32(&r);
	h->agent = rb_str(&r, PD_STR_AGENT);
	if (rb_end(&r, m, 0, e) == -1) {
		pd_hello_free(h);
		return -1;
	}
	return 0;
}

void
pd_hello_free(struct pd_hello *h)
{
	free(h->agent);
	h->agent = NULL;
}

int
pd_send_setup(int s, uint32_t id, int rootfd, const struct pd_setup *p,
    struct pd_err *e)
{
	struct wbuf w = { .len = 0 };

	wb_u32(&w, p->version);
	wb_u32(&w, p->role);
	wb_u32(&w, p->uid);
	wb_u32(&w, p->gid);
	wb_u32(&w, p->loglevel);
	wb_u64(&w, p->rlim_nofile);
	wb_u64(&w, p->rlim_fsize);
	wb_u64(&w, p->rlim_as);
	wb_str(&w, p->proxy, PD_STR_SHORT);
	return wb_send(s, PD_MSG_SETUP, id, rootfd, &w, e);
}

int
pd_dec_setup(const struct pd_msg *m, struct pd_setup *p, struct pd_err *e)
{
	struct rbuf r;

	memset(p, 0, sizeof(*p));
	rb_init(&r, m);
	p->version = rb_u32(&r);
	p->role = rb_u32(&r);
	p->uid = rb_u32(&r);
	p->gid = rb_u32(&r);
	p->loglevel = rb_u32(&r);
	p->rlim_nofile = rb_u64(&r);
	p->rlim_fsize = rb_u64(&r);
	p->rlim_as = rb_u64(&r);
	p->proxy = rb_str(&r, PD_STR_SHORT);
	if (rb_end(&r, m, 1, e) == -1) {
		pd_setup_free(p);
		return -1;
	}
	return 0;
}

void
pd_setup_free(struct pd_setup *p)
{
	free(p->proxy);
	p->proxy = NULL;
}

int
pd_send_setup_done(int s, uint32_t id, const struct pd_setup_done *d,
    struct pd_err *e)
{
	struct wbuf w = { .len = 0 };

	wb_u32(&w, d->version);
	wb_u32(&w, d->pid);
	return wb_send(s, PD_MSG_SETUP_DONE, id, -1, &w, e);
}

int
pd_dec_setup_done(const struct pd_msg *m, struct pd_setup_done *d,
    struct pd_err *e)
{
	struct rbuf r;

	rb_init(&r, m);
	d->version = rb_u32(&r);
	d->pid = rb_u32(&r);
	return rb_end(&r, m, 0, e);
}

int
pd_send_log(int s, uint32_t id, uint32_t level, const char *line,
    struct pd_err *e)
{
	struct wbuf w = { .len = 0 };
	char buf[PD_STR_LINE + 1];

	/* Log lines are the one field that is cut rather than refused. */
	snprintf(buf, sizeof(buf), "%s", line);
	wb_u32(&w, level);
	wb_str(&w, buf, PD_STR_LINE);
	return wb_send(s, PD_MSG_LOG, id, -1, &w, e);
}

int
pd_dec_log(const struct pd_msg *m, struct pd_log *l, struct pd_err *e)
{
	struct rbuf r;

	memset(l, 0, sizeof(*l));
	rb_init(&r, m);
	l->level = rb_u32(&r);
	l->line = rb_str(&r, PD_STR_LINE);
	if (r.bad == NULL && l->level > 3)
		r.bad = "unknown log level";
	if (rb_end(&r, m, 0, e) == -1) {
		pd_log_free(l);
		return -1;
	}
	return 0;
}

void
pd_log_free(struct pd_log *l)
{
	free(l->line);
	l->line = NULL;
}

int
pd_send_error(int s, uint32_t type, uint32_t id, uint32_t code,
    const char *msg, struct pd_err *e)
{
	struct wbuf w = { .len = 0 };
	char buf[PD_ERR_MSGLEN];

	snprintf(buf, sizeof(buf), "%s", msg);
	wb_u32(&w, code);
	wb_str(&w, buf, PD_ERR_MSGLEN - 1);
	return wb_send(s, type, id, -1, &w, e);
}

int
pd_dec_error(const struct pd_msg *m, struct pd_error_msg *em, struct pd_err *e)
{
	struct rbuf r;

	memset(em, 0, sizeof(*em));
	rb_init(&r, m);
	em->code = rb_u32(&r);
	em->msg = rb_str(&r, PD_ERR_MSGLEN - 1);
	if (r.bad == NULL && (em->code == PD_E_OK || em->code >= PD_E_MAX))
		r.bad = "unknown error code";
	if (rb_end(&r, m, 0, e) == -1) {
		pd_error_msg_free(em);
		return -1;
	}
	return 0;
}

void
pd_error_msg_free(struct pd_error_msg *em)
{
	free(em->msg);
	em->msg = NULL;
}

int
pd_send_progress(int s, uint32_t id, const struct pd_progress *p,
    struct pd_err *e)
{
	struct wbuf w = { .len = 0 };

	wb_str(&w, p->id, PD_STR_SHORT);
	wb_str(&w, p->status, PD_STR_SHORT);
	wb_u64(&w, p->current);
	wb_u64(&w, p->total);
	return wb_send(s, PD_MSG_PROGRESS, id, -1, &w, e);
}

/* PROGRESS from its fields: the broker to a client, a helper to the broker. */
int
pd_send_progress_of(int s, uint32_t id, const char *pid, const char *status,
    uint64_t current, uint64_t total)
{
	struct pd_progress p;

	p.id = (char *)(uintptr_t)pid;
	p.status = (char *)(uintptr_t)status;
	p.current = current;
	p.total = total;
	return pd_send_progress(s, id, &p, NULL);
}

int
pd_dec_progress(const struct pd_msg *m, struct pd_progress *p,
    struct pd_err *e)
{
	struct rbuf r;

	memset(p, 0, sizeof(*p));
	rb_init(&r, m);
	p->id = rb_str(&r, PD_STR_SHORT);
	p->status = rb_str(&r, PD_STR_SHORT);
	p->current = rb_u64(&r);
	p->total = rb_u64(&r);
	if (rb_end(&r, m, 0, e) == -1) {
		pd_progress_free(p);
		return -1;
	}
	return 0;
}

void
pd_progress_free(struct pd_progress *p)
{
	free(p->id);
	free(p->status);
	p->id = p->status = NULL;
}

int
pd_send_ctlreq(int s, uint32_t type, uint32_t id, int fd,
    const struct pd_ctlreq *q, struct pd_err *e)
{
	struct wbuf *w;
	uint32_t i;
	int rc;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return pd_errf(e, PD_E_INTERNAL, "out of memory");
	wb_u32(w, q->flags);
	wb_u32(w, q->timeout);
	wb_u32(w, q->nargs);
	for (i = 0; i < q->nargs; i++)
		wb_str(w, q->args[i], PD_STR_ARG);
	rc = wb_send(s, type, id, fd, w, e);
	free(w);
	return rc;
}

int
pd_dec_ctlreq(const struct pd_msg *m, struct pd_ctlreq *q, struct pd_err *e)
{
	const struct pd_verb *v;
	struct rbuf r;
	uint32_t i;

	memset(q, 0, sizeof(*q));
	if ((v = pd_verb_lookup(m->type)) == NULL)
		return pd_errf(e, PD_E_PROTO, "unknown request type %u", m->type);
	rb_init(&r, m);
	q->flags = rb_u32(&r);
	q->timeout = rb_u32(&r);
	q->nargs = rb_u32(&r);
	if (r.bad == NULL && (q->nargs < v->minargs || q->nargs > v->maxargs))
		r.bad = "wrong number of arguments";
	if (r.bad == NULL && (q->args = calloc(q->nargs + 1, sizeof(char *))) == NULL)
		r.bad = "out of memory";
	for (i = 0; r.bad == NULL && i < q->nargs; i++)
		q->args[i] = rb_str(&r, PD_STR_ARG);
	if (rb_end(&r, m, v->takes_fd, e) == -1) {
		pd_ctlreq_free(q);
		return -1;
	}
	return 0;
}

void
pd_ctlreq_free(struct pd_ctlreq *q)
{
	uint32_t i;

	if (q->args != NULL)
		for (i = 0; i < q->nargs; i++)
			free(q->args[i]);
	free(q->args);
	q->args = NULL;
	q->nargs = 0;
}

int
pd_send_untar(int s, uint32_t id, int fd, const struct pd_untar_req *u,
    struct pd_err *e)
{
	struct wbuf w = { .len = 0 };

	wb_str(&w, u->media_type, PD_STR_SHORT);
	wb_u64(&w, u->max_bytes);
	wb_u64(&w, u->max_entries);
	wb_u32(&w, u->max_path);
	wb_u32(&w, u->max_depth);
	wb_u32(&w, u->max_name);
	wb_u32(&w, u->max_ratio);
	wb_u64(&w, u->max_xattr);
	wb_u64(&w, u->max_pax);
	wb_u64(&w, u->max_compressed);
	wb_u64(&w, u->max_file);
	wb_u32(&w, u->max_links);
	return wb_send(s, PD_MSG_UNTAR, id, fd, &w, e);
}

int
pd_dec_untar(const struct pd_msg *m, struct pd_untar_req *u, struct pd_err *e)
{
	struct rbuf r;

	memset(u, 0, sizeof(*u));
	rb_init(&r, m);
	u->media_type = rb_str(&r, PD_STR_SHORT);
	u->max_bytes = rb_u64(&r);
	u->max_entries = rb_u64(&r);
	u->max_path = rb_u32(&r);
	u->max_depth = rb_u32(&r);
	u->max_name = rb_u32(&r);
	u->max_ratio = rb_u32(&r);
	u->max_xattr = rb_u64(&r);
	u->max_pax = rb_u64(&r);
	u->max_compressed = rb_u64(&r);
	u->max_file = rb_u64(&r);
	u->max_links = rb_u32(&r);
	if (rb_end(&r, m, 1, e) == -1) {
		pd_untar_req_free(u);
		return -1;
	}
	return 0;
}

void
pd_untar_req_free(struct pd_untar_req *u)
{
	free(u->media_type);
	u->media_type = NULL;
}

int
pd_send_untar_done(int s, uint32_t id, const struct pd_untar_done *d,
    struct pd_err *e)
{
	struct wbuf w = { .len = 0 };

	wb_u64(&w, d->entries);
	wb_u64(&w, d->bytes);
	wb_str(&w, d->diff_id, PD_STR_SHORT);
	return wb_send(s, PD_MSG_UNTAR_DONE, id, -1, &w, e);
}

int
pd_dec_untar_done(const struct pd_msg *m, struct pd_untar_done *d,
    struct pd_err *e)
{
	struct rbuf r;

	memset(d, 0, sizeof(*d));
	rb_init(&r, m);
	d->entries = rb_u64(&r);
	d->bytes = rb_u64(&r);
	d->diff_id = rb_str(&r, PD_STR_SHORT);
	if (rb_end(&r, m, 0, e) == -1) {
		pd_untar_done_free(d);
		return -1;
	}
	return 0;
}

void
pd_untar_done_free(struct pd_untar_done *d)
{
	free(d->diff_id);
	d->diff_id = NULL;
}

int
pd_send_fetch_tls(int s, uint32_t id, int fd, const struct pd_fetch_tls *t,
    struct pd_err *e)
{
	struct wbuf w = { .len = 0 };

	wb_u32(&w, t->kind);
	wb_str(&w, t->host, PD_STR_SHORT);
	return wb_send(s, PD_MSG_FETCH_TLS, id, fd, &w, e);
}

int
pd_dec_fetch_tls(const struct pd_msg *m, struct pd_fetch_tls *t,
    struct pd_err *e)
{
	struct rbuf r;

	memset(t, 0, sizeof(*t));
	rb_init(&r, m);
	t->kind = rb_u32(&r);
	t->host = rb_str(&r, PD_STR_SHORT);
	if (r.bad == NULL && (t->kind < PD_TLS_CA || t->kind > PD_TLS_KEY))
		r.bad = "unknown TLS material kind";
	if (rb_end(&r, m, 1, e) == -1) {
		pd_fetch_tls_free(t);
		return -1;
	}
	return 0;
}

void
pd_fetch_tls_free(struct pd_fetch_tls *t)
{
	free(t->host);
	t->host = NULL;
}

/* The shared part of FETCH and PUSH_* (struct pd_reg_target). */
static void
wb_target(struct wbuf *w, const struct pd_reg_target *t)
{
	wb_u32(w, t->flags);
	wb_str(w, t->scheme, PD_STR_SCHEME);
	wb_str(w, t->host, PD_STR_SHORT);
	wb_str(w, t->repo, PD_STR_SHORT);
	wb_str(w, t->reference, PD_STR_SHORT);
	wb_str(w, t->username, PD_STR_USER);
	wb_str(w, t->secret, PD_STR_SECRET);
	wb_str(w, t->proxy, PD_STR_SHORT);
}

static void
rb_target(struct rbuf *r, struct pd_reg_target *t)
{
	t->flags = rb_u32(r);
	t->scheme = rb_str(r, PD_STR_SCHEME);
	t->host = rb_str(r, PD_STR_SHORT);
	t->repo = rb_str(r, PD_STR_SHORT);
	t->reference = rb_str(r, PD_STR_SHORT);
	t->username = rb_str(r, PD_STR_USER);
	t->secret = rb_str(r, PD_STR_SECRET);
	t->proxy = rb_str(r, PD_STR_SHORT);
	if (r->bad == NULL && strcmp(t->scheme, "https") != 0 &&
	    strcmp(t->scheme, "http") != 0)
		r->bad = "scheme must be http or https";
}

static void
target_free(struct pd_reg_target *t)
{
	free(t->scheme);
	free(t->host);
	free(t->repo);
	free(t->reference);
	free(t->username);
	if (t->secret != NULL)
		explicit_bzero(t->secret, strlen(t->secret));
	free(t->secret);
	free(t->proxy);
}

int
pd_send_fetch(int s, uint32_t id, int fd, const struct pd_fetch_req *f,
    struct pd_err *e)
{
	struct wbuf w = { .len = 0 };

	wb_u32(&w, f->kind);
	wb_target(&w, &f->t);
	wb_u64(&w, f->max_size);
	return wb_send(s, PD_MSG_FETCH, id, fd, &w, e);
}

int
pd_dec_fetch(const struct pd_msg *m, struct pd_fetch_req *f, struct pd_err *e)
{
	struct rbuf r;

	memset(f, 0, sizeof(*f));
	rb_init(&r, m);
	f->kind = rb_u32(&r);
	rb_target(&r, &f->t);
	f->max_size = rb_u64(&r);
	if (r.bad == NULL && f->kind != PD_FETCH_MANIFEST &&
	    f->kind != PD_FETCH_BLOB && f->kind != PD_FETCH_LOGIN)
		r.bad = "unknown fetch kind";
	if (rb_end(&r, m, 1, e) == -1) {
		pd_fetch_req_free(f);
		return -1;
	}
	return 0;
}

void
pd_fetch_req_free(struct pd_fetch_req *f)
{
	target_free(&f->t);
	memset(f, 0, sizeof(*f));
}

int
pd_send_fetch_result(int s, uint32_t id, const struct pd_fetch_result *f,
    struct pd_err *e)
{
	struct wbuf w = { .len = 0 };

	wb_u32(&w, f->http_status);
	wb_u64(&w, f->size);
	wb_str(&w, f->media_type, PD_STR_SHORT);
	wb_str(&w, f->digest, PD_STR_SHORT);
	return wb_send(s, PD_MSG_FETCH_RESULT, id, -1, &w, e);
}

int
pd_dec_fetch_result(const struct pd_msg *m, struct pd_fetch_result *f,
    struct pd_err *e)
{
	struct rbuf r;

	memset(f, 0, sizeof(*f));
	rb_init(&r, m);
	f->http_status = rb_u32(&r);
	f->size = rb_u64(&r);
	f->media_type = rb_str(&r, PD_STR_SHORT);
	f->digest = rb_str(&r, PD_STR_SHORT);
	if (rb_end(&r, m, 0, e) == -1) {
		pd_fetch_result_free(f);
		return -1;
	}
	return 0;
}

void
pd_fetch_result_free(struct pd_fetch_result *f)
{
	free(f->media_type);
	free(f->digest);
	f->media_type = f->digest = NULL;
}

/* A message whose only content is its fd (BUNDLE_OUT, CONN). */
int
pd_dec_fd_only(const struct pd_msg *m, struct pd_err *e)
{
	struct rbuf r;

	rb_init(&r, m);
	return rb_end(&r, m, 1, e);
}

int
pd_send_bundle(int s, uint32_t id, int fd, uint32_t flags, struct pd_err *e)
{
	struct wbuf w = { .len = 0 };

	wb_u32(&w, flags);
	return wb_send(s, PD_MSG_BUNDLE, id, fd, &w, e);
}

int
pd_dec_bundle(const struct pd_msg *m, uint32_t *flags, struct pd_err *e)
{
	struct rbuf r;

	rb_init(&r, m);
	*flags = rb_u32(&r);
	if (r.bad == NULL && *flags != 0)
		r.bad = "unknown flags";
	return rb_end(&r, m, 1, e);
}

int
pd_send_bundle_done(int s, uint32_t id, const struct pd_bundle_done *d,
    struct pd_err *e)
{
	struct wbuf w = { .len = 0 };

	wb_u64(&w, d->entries);
	wb_str(&w, d->config, PD_BUNDLE_CONFIG_MAX);
	return wb_send(s, PD_MSG_BUNDLE_DONE, id, -1, &w, e);
}

int
pd_dec_bundle_done(const struct pd_msg *m, struct pd_bundle_done *d,
    struct pd_err *e)
{
	struct rbuf r;

	memset(d, 0, sizeof(*d));
	rb_init(&r, m);
	d->entries = rb_u64(&r);
	d->config = rb_str(&r, PD_BUNDLE_CONFIG_MAX);
	if (rb_end(&r, m, 0, e) == -1) {
		pd_bundle_done_free(d);
		return -1;
	}
	return 0;
}

void
pd_bundle_done_free(struct pd_bundle_done *d)
{
	free(d->config);
	d->config = NULL;
}

int
pd_send_parse(int s, uint32_t id, int fd, const struct pd_parse_req *p,
    struct pd_err *e)
{
	struct wbuf w = { .len = 0 };

	wb_u32(&w, p->kind);
	wb_u64(&w, p->max_size);
	wb_str(&w, p->content_type, PD_STR_SHORT);
	return wb_send(s, PD_MSG_PARSE, id, fd, &w, e);
}

int
pd_dec_parse(const struct pd_msg *m, struct pd_parse_req *p, struct pd_err *e)
{
	struct rbuf r;

	memset(p, 0, sizeof(*p));
	rb_init(&r, m);
	p->kind = rb_u32(&r);
	p->max_size = rb_u64(&r);
	p->content_type = rb_str(&r, PD_STR_SHORT);
	if (r.bad == NULL && (p->kind < PD_PARSE_MANIFEST ||
	    p->kind > PD_PARSE_SIGPAYLOAD))
		r.bad = "unknown parse kind";
	if (rb_end(&r, m, 1, e) == -1) {
		pd_parse_req_free(p);
		return -1;
	}
	return 0;
}

void
pd_parse_req_free(struct pd_parse_req *p)
{
	free(p->content_type);
	p->content_type = NULL;
}

int
pd_send_gateway(int s, uint32_t id, const struct pd_gateway_req *g,
    struct pd_err *e)
{
	struct wbuf w = { .len = 0 };

	wb_u32(&w, g->mode);
	wb_str(&w, g->name, PD_STR_SHORT);
	wb_str(&w, g->socket, PD_STR_SHORT);
	wb_str(&w, g->types, PD_STR_LINE);
	wb_str(&w, g->pm, PD_STR_ARG);
	wb_str(&w, g->host, PD_STR_ARG);
	wb_u32(&w, g->timeout_ms);
	return wb_send(s, PD_MSG_GATEWAY, id, -1, &w, e);
}

int
pd_dec_gateway(const struct pd_msg *m, struct pd_gateway_req *g,
    struct pd_err *e)
{
	struct rbuf r;

	memset(g, 0, sizeof(*g));
	rb_init(&r, m);
	g->mode = rb_u32(&r);
	g->name = rb_str(&r, PD_STR_SHORT);
	g->socket = rb_str(&r, PD_STR_SHORT);
	g->types = rb_str(&r, PD_STR_LINE);
	g->pm = rb_str(&r, PD_STR_ARG);
	g->host = rb_str(&r, PD_STR_ARG);
	g->timeout_ms = rb_u32(&r);
	if (rb_end(&r, m, 0, e) == -1) {
		pd_gateway_req_free(g);
		return -1;
	}
	return 0;
}

void
pd_gateway_req_free(struct pd_gateway_req *g)
{
	free(g->name);
	free(g->socket);
	free(g->types);
	free(g->pm);
	free(g->host);
	memset(g, 0, sizeof(*g));
}

int
pd_send_use(int s, uint32_t op, const char *vol, const char *mount,
    struct pd_err *e)
{
	struct wbuf w = { .len = 0 };

	wb_u32(&w, op);
	wb_str(&w, vol, PD_USE_STR);
	wb_str(&w, mount, PD_USE_STR);
	return wb_send(s, PD_MSG_USE, 0, -1, &w, e);
}

int
pd_dec_use(const struct pd_msg *m, uint32_t *op, char **vol, char **mount,
    struct pd_err *e)
{
	struct rbuf r;

	rb_init(&r, m);
	*op = rb_u32(&r);
	*vol = rb_str(&r, PD_USE_STR);
	*mount = rb_str(&r, PD_USE_STR);
	if (rb_end(&r, m, 0, e) == -1) {
		free(*vol);
		free(*mount);
		*vol = *mount = NULL;
		return -1;
	}
	return 0;
}

int
pd_send_parse_done(int s, uint32_t id, const char *json, struct pd_err *e)
{
	struct wbuf w = { .len = 0 };

	wb_str(&w, json, PD_BUNDLE_CONFIG_MAX);
	return wb_send(s, PD_MSG_PARSE_DONE, id, -1, &w, e);
}

int
pd_dec_parse_done(const struct pd_msg *m, char **json, struct pd_err *e)
{
	struct rbuf r;

	rb_init(&r, m);
	*json = rb_str(&r, PD_BUNDLE_CONFIG_MAX);
	if (rb_end(&r, m, 0, e) == -1) {
		free(*json);
		*json = NULL;
		return -1;
	}
	return 0;
}

int
pd_send_push(int s, uint32_t type, uint32_t id, int fd,
    const struct pd_push_req *q, struct pd_err *e)
{
	struct wbuf w = { .len = 0 };

	if (type != PD_MSG_PUSH_BLOB && type != PD_MSG_PUSH_MANIFEST)
		return pd_errf(e, PD_E_INTERNAL, "not a push message");
	wb_target(&w, &q->t);
	wb_str(&w, q->mount_from, PD_STR_SHORT);
	wb_str(&w, q->media_type, PD_STR_SHORT);
	wb_u64(&w, q->size);
	return wb_send(s, type, id, fd, &w, e);
}

int
pd_dec_push(const struct pd_msg *m, struct pd_push_req *q, struct pd_err *e)
{
	struct rbuf r;

	memset(q, 0, sizeof(*q));
	rb_init(&r, m);
	rb_target(&r, &q->t);
	q->mount_from = rb_str(&r, PD_STR_SHORT);
	q->media_type = rb_str(&r, PD_STR_SHORT);
	q->size = rb_u64(&r);
	if (r.bad == NULL && m->type != PD_MSG_PUSH_BLOB &&
	    m->type != PD_MSG_PUSH_MANIFEST)
		r.bad = "not a push message";
	if (rb_end(&r, m, 1, e) == -1) {
		pd_push_req_free(q);
		return -1;
	}
	return 0;
}

void
pd_push_req_free(struct pd_push_req *q)
{
	target_free(&q->t);
	free(q->mount_from);
	free(q->media_type);
	memset(q, 0, sizeof(*q));
}

int
pd_send_push_result(int s, uint32_t id, const struct pd_push_result *p,
    struct pd_err *e)
{
	struct wbuf w = { .len = 0 };

	wb_u32(&w, p->outcome);
	wb_u64(&w, p->size);
	wb_str(&w, p->digest, PD_STR_SHORT);
	wb_str(&w, p->detail, PD_STR_SHORT);
	return wb_send(s, PD_MSG_PUSH_RESULT, id, -1, &w, e);
}

int
pd_dec_push_result(const struct pd_msg *m, struct pd_push_result *p,
    struct pd_err *e)
{
	struct rbuf r;

	memset(p, 0, sizeof(*p));
	rb_init(&r, m);
	p->outcome = rb_u32(&r);
	p->size = rb_u64(&r);
	p->digest = rb_str(&r, PD_STR_SHORT);
	p->detail = rb_str(&r, PD_STR_SHORT);
	if (r.bad == NULL && (p->outcome < PD_PUSHED_UPLOADED ||
	    p->outcome > PD_PUSHED_MOUNTED))
		r.bad = "unknown push outcome";
	if (rb_end(&r, m, 0, e) == -1) {
		pd_push_result_free(p);
		return -1;
	}
	return 0;
}

void
pd_push_result_free(struct pd_push_result *p)
{
	free(p->digest);
	free(p->detail);
	p->digest = p->detail = NULL;
}

/*
 * The Docker Engine API routes of plugind-api (docs/DOCKER_API.md): each
 * HTTP request becomes one control request on the broker channel (fd 3),
 * whose replies become the HTTP answer.  The broker authorizes with the
 * credentials it read from the HTTP peer itself; nothing here is trusted.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "apid.h"
#include "child.h"
#include "log.h"
#include "proto.h"
#include "ref.h"
#include "util.h"

#define API_MIN_MINOR	12
#define API_MAX_MINOR	51
#define API_VERSION	"1.51"

struct reply {
	char		*data;
	size_t		 len;
	int		 code;		/* pd_errcode on failure */
	char		 msg[PD_ERR_MSGLEN];
};

/* Streams: progress lines go out as NDJSON once the first one arrives. */
struct stream {
	struct http_conn	*c;
	struct http_req		*r;
	const char		*xhdrs;
};

static struct pd_chan	 bch;
static uint32_t		 bid = 1;

int
api_broker_init(void)
{
	struct pd_hello h;
	struct pd_err e;
	struct pd_msg m;

	if (pd_chan_init(&bch, PD_CHILD_FD, 0) == -1)
		return -1;
	h.version = PD_PROTO_VERSION;
	h.agent = (char *)(uintptr_t)"plugind-api";
	if (pd_send_hello(PD_CHILD_FD, bid, &h, &e) == -1)
		return -1;
	if (pd_msg_recv(&bch, &m, 30000, &e) != 1 || m.type != PD_MSG_HELLO) {
		pd_msg_clear(&m);
		return -1;
	}
	pd_msg_clear(&m);
	return 0;
}

static void
stream_line(struct stream *s, json_t *j)
{
	char *txt = json_dumps(j, JSON_COMPACT), *line;

	json_decref(j);
	if (txt == NULL)
		return;
	line = xasprintf("%s\r\n", txt);
	free(txt);
	if (!s->r->started)
		(void)http_stream_begin(s->c, s->r, s->xhdrs);
	(void)http_stream_write(s->c, s->r, line, strlen(line));
	free(line);
}

/* A PROGRESS message as Docker's jsonmessage (moby's api/types/jsonstream). */
static void
stream_progress(struct stream *s, const struct pd_progress *p)
{
	json_t *j = json_object();

	json_object_set_new(j, "status", json_string(p->status));
	if (p->current > 0 || p->total > 0)
		json_object_set_new(j, "progressDetail", json_pack("{s:I, s:I}",
		    "current", (json_int_t)p->current, "total",
		    (json_int_t)p->total));
	if (p->id[0] != '\0')
		json_object_set_new(j, "id", json_string(p->id));
	stream_line(s, j);
}

/*
 * One control request; replies collected into r.  0 on CTL_OK, -1 on
 * CTL_FAIL (r->code, r->msg).  A broken channel ends the process: the
 * broker is gone or dropped us.
 */
static void
send_req(uint32_t type, uint32_t flags, char **args, uint32_t nargs, int fd)
{
	struct pd_ctlreq q;
	struct pd_err e;

	q.flags = flags;
	q.timeout = 0;
	q.nargs = nargs;
	q.args = args;
	bid++;
	if (pd_send_ctlreq(PD_CHILD_FD, type, bid, fd, &q, &e) == -1)
		fatalx("broker channel: %s", e.msg);
	if (fd >= 0)
		close(fd);
}

static int
wait_reply(struct stream *s, struct reply *r)
{
	struct pd_error_msg em;
	struct pd_progress p;
	struct pd_msg m;
	struct pd_err e;

	memset(r, 0, sizeof(*r));
	for (;;) {
		if (pd_msg_recv(&bch, &m, -1, &e) != 1)
			fatalx("broker channel closed");
		if (m.id != bid) {
			pd_msg_clear(&m);
			continue;
		}
		switch (m.type) {
		case PD_MSG_PROGRESS:
			if (pd_dec_progress(&m, &p, &e) == 0) {
				if (s != NULL)
					stream_progress(s, &p);
				pd_progress_free(&p);
			}
			break;
		case PD_CTL_DATA:
			r->data = realloc(r->data, r->len + m.len + 1);
			if (r->data == NULL)
				fatalx("out of memory");
			memcpy(r->data + r->len, m.data, m.len);
			r->len += m.len;
			r->data[r->len] = '\0';
			break;
		case PD_CTL_OK:
			pd_msg_clear(&m);
			return 0;
		case PD_CTL_FAIL:
			if (pd_dec_error(&m, &em, &e) == 0) {
				r->code = (int)em.code;
				snprintf(r->msg, sizeof(r->msg), "%s", em.msg);
				pd_error_msg_free(&em);
			} else {
				r->code = PD_E_INTERNAL;
				snprintf(r->msg, sizeof(r->msg), "bad reply from plugind");
			}
			pd_msg_clear(&m);
			return -1;
		default:
			break;
		}
		pd_msg_clear(&m);
	}
}

/*
 * The broker drops a channel that sends a request it cannot decode, so
 * what the verb table or the string limits refuse is answered here.
 */
static int
args_ok(uint32_t type, char **args, uint32_t nargs, struct reply *r)
{
	const struct pd_verb *v = pd_verb_lookup(type);
	uint32_t i;

	memset(r, 0, sizeof(*r));
	r->code = PD_E_INVAL;
	if (v == NULL || nargs < v->minargs || nargs > v->maxargs) {
		snprintf(r->msg, sizeof(r->msg), "wrong number of arguments");
		return 0;
	}
	for (i = 0; i < nargs; i++)
		if (strlen(args[i]) > PD_STR_ARG) {
			snprintf(r->msg, sizeof(r->msg), "argument too long (%zu bytes, "
			    "limit %d): %.40s...", strlen(args[i]), PD_STR_ARG, args[i]);
			return 0;
		}
	r->code = 0;
	return 1;
}

static int
call(uint32_t type, uint32_t flags, char **args, uint32_t nargs, int fd,
    struct stream *s, struct reply *r)
{
	if (!args_ok(type, args, nargs, r)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	send_req(type, flags, args, nargs, fd);
	return wait_reply(s, r);
}

/* The HTTP status of a broker error (docs/DOCKER_API.md). */
static int
status_of(const struct reply *r)
{
	switch (r->code) {
	case PD_E_INVAL:
	case PD_E_LIMIT:
	case PD_E_DIGEST:
	case PD_E_GRANT:	/* a privileges mismatch is the client's error */
		return 400;
	case PD_E_NOTFOUND:
		return 404;
	case PD_E_EXISTS:
	case PD_E_CONFLICT:
		return 409;
	case PD_E_PERM:
	case PD_E_POLICY:	/* the host's policy, not the request, says no */
		return 403;
	case PD_E_AUTH:
		return 401;
	case PD_E_UNAVAIL:
		return 503;
	default:
		return 500;
	}
}

static void
reply_free(struct reply *r)
{
	free(r->data);
	r->data = NULL;
}

/* Answer a finished call: error status, or 200 with the JSON / empty. */
static void
finish(struct api_ctx *x, int rc, struct reply *r, int okstatus, int body)
{
	char *b;

	if (rc == -1)
		(void)http_error(x->c, x->r, status_of(r), r->msg);
	else if (body) {
		b = xasprintf("%s\n", r->len ? r->data : "null");
		(void)http_respond(x->c, x->r, okstatus, "application/json", NULL, b,
		    strlen(b));
		free(b);
	} else
		(void)http_respond(x->c, x->r, okstatus, NULL, NULL, "", 0);
	reply_free(r);
}

static void
finish_json(struct api_ctx *x, char *s)
{
	char *b = xasprintf("%s\n", s ? s : "null");

	(void)http_respond(x->c, x->r, 200, "application/json", NULL, b,
	    strlen(b));
	free(b);
	free(s);
}

/* End a streamed call: an error before the first line is a real status. */
static void
finish_stream(struct api_ctx *x, struct stream *s, int rc, struct reply *r,
    json_t *aux)
{
	if (rc == -1 && !x->r->started) {
		(void)http_error(x->c, x->r, status_of(r), r->msg);
		json_decref(aux);
		reply_free(r);
		return;
	}
	if (rc == -1)
		stream_line(s, json_pack("{s:{s:s}, s:s}", "errorDetail", "message",
		    r->msg, "error", r->msg));
	else if (aux != NULL)
		stream_line(s, json_pack("{s:{}, s:o}", "progressDetail", "aux", aux));
	else
		aux = NULL;
	if (!x->r->started)
		(void)http_stream_begin(x->c, x->r, s->xhdrs);
	(void)http_stream_end(x->c, x->r);
	reply_free(r);
}

/*
 * X-Registry-Auth: base64url JSON; a bad value means anonymous (moby's
 * plugin_routes.go).  Returns the credentials JSON the control verbs take,
 * or "".
 */
static char *
registry_auth(const struct http_req *r)
{
	const char *h = http_header(r, "X-Registry-Auth");
	json_t *in, *out;
	char *dec, *s;
	size_t n;

	if (h == NULL || (dec = api_b64url_decode(h, &n)) == NULL)
		return xstrdup("");
	in = json_loadb(dec, n, 0, NULL);
	free(dec);
	if (!json_is_object(in)) {
		json_decref(in);
		return xstrdup("");
	}
	out = json_object();
	/* Docker's names, any case (json_ci.c); "auth" is unused, as by moby */
	if (json_is_string(json_get_ci(in, "username")))
		json_object_set(out, "username", json_get_ci(in, "username"));
	if (json_is_string(json_get_ci(in, "password")))
		json_object_set(out, "password", json_get_ci(in, "password"));
	if (json_is_string(json_get_ci(in, "identitytoken")))
		json_object_set(out, "identitytoken", json_get_ci(in,
		    "identitytoken"));
	json_decref(in);
	s = json_object_size(out) ? json_dumps(out, JSON_COMPACT) : xstrdup("");
	json_decref(out);
	return s;
}

/*
 * A JSON request body (Docker's ReadJSON): absent/empty is fine without a
 * Content-Type; otherwise it must be application/json.  *out is NULL for
 * no body.  On error an answer has been sent.
 */
static int
json_body(struct api_ctx *x, json_t **out)
{
	const char *ct = http_header(x->r, "Content-Type");
	json_error_t je;
	struct pd_err e;
	char *b, msg[600];
	size_t n, tl;

	*out = NULL;
	if (http_body_all(x->c, x->r, HTTP_JSON_MAX, &b, &n, &e) == -1) {
		x->r->keepalive = 0;
		(void)http_error(x->c, x->r, e.code ? e.code : 400, e.msg);
		return -1;
	}
	if (ct != NULL && ct[0] != '\0') {
		tl = strcspn(ct, "; \t");
		if (tl != 16 || strncasecmp(ct, "application/json", 16) != 0) {
			snprintf(msg, sizeof(msg), "unsupported Content-Type header "
			    "(%.400s): must be 'application/json'", ct);
			free(b);
			(void)http_error(x->c, x->r, 400, msg);
			return -1;
		}
	} else if (n > 0) {
		free(b);
		(void)http_error(x->c, x->r, 400, "a request body needs "
		    "Content-Type: application/json");
		return -1;
	}
	if (n == 0 && x->r->chunked) {
		free(b);
		(void)http_error(x->c, x->r, 400, "invalid JSON: got EOF while "
		    "reading request body");
		return -1;
	}
	if (n > 0 && (*out = json_loadb(b, n, JSON_DECODE_ANY, &je)) == NULL) {
		snprintf(msg, sizeof(msg), "invalid JSON: %s", je.text);
		free(b);
		(void)http_error(x->c, x->r, 400, msg);
		return -1;
	}
	free(b);
	return 0;
}

static char *
dump_or(json_t *j, const char *dflt)
{
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

	return s ? s : xstrdup(dflt);
}

/* Docker's getName: familiar name with a tag (moby's plugin_routes.go). */
static int
local_name(const char *name, char *out, size_t len, const char **why)
{
	struct pd_ref ref;
	struct pd_err e;

	if (pd_ref_parse(name, &ref, &e) == -1) {
		*why = NULL;
		snprintf(out, len, "%s", e.msg);
		return -1;
	}
	if (ref.digest[0] != '\0' && ref.tag[0] == '\0' && why != NULL) {
		*why = "cannot use digest in plugin tag";
		return -1;
	}
	ref.digest[0] = '\0';
	pd_ref_tag_default(&ref);
	return pd_ref_familiar(&ref, out, len) == -1 ? -1 : 0;
}

static void
route_list(struct api_ctx *x)
{
	char buf[4096], *args[PD_CTL_MAXARGS];
	const char *k, *vk;
	json_t *f, *v, *vv;
	struct reply r;
	uint32_t n = 0;
	size_t i;
	int rc;

	if (http_query(x->r, "filters", buf, sizeof(buf)) == -1) {
		(void)http_error(x->c, x->r, 400, "invalid filter");
		return;
	}
	f = buf[0] ? json_loads(buf, 0, NULL) : json_object();
	if (!json_is_object(f)) {
		json_decref(f);
		(void)http_error(x->c, x->r, 400, "invalid filter");
		return;
	}
	json_object_foreach(f, k, v) {
		size_t n0 = n;

		if (json_is_object(v)) {
			json_object_foreach(v, vk, vv)
				if (json_is_true(vv) && n < PD_CTL_MAXARGS - 1)
					args[n++] = xasprintf("%s=%s", k, vk);
		} else if (json_is_array(v)) {
			json_array_foreach(v, i, vv)
				if (json_is_string(vv) && n < PD_CTL_MAXARGS - 1)
					args[n++] = xasprintf("%s=%s", k,
					    json_string_value(vv));
		}
		/* a key without values still names a filter the broker checks */
		if (n == n0 && n < PD_CTL_MAXARGS - 1)
			args[n++] = xasprintf("%s=", k);
		if (n >= PD_CTL_MAXARGS - 1) {
			while (n > 0)
				free(args[--n]);
			json_decref(f);
			(void)http_error(x->c, x->r, 400, "invalid filter: too many "
			    "values");
			return;
		}
	}
	json_decref(f);
	rc = call(PD_CTL_LIST, 0, args, n, -1, NULL, &r);
	while (n > 0)
		free(args[--n]);
	finish(x, rc, &r, 200, 1);
}

static void
route_privileges(struct api_ctx *x)
{
	char remote[1024], *args[2];
	struct reply r;
	int rc;

	if (http_query(x->r, "remote", remote, sizeof(remote)) != 1 ||
	    remote[0] == '\0') {
		(void)http_error(x->c, x->r, 400, "remote is required (a plugin "
		    "reference)");
		return;
	}
	args[0] = remote;
	args[1] = registry_auth(x->r);
	rc = call(PD_CTL_PRIVILEGES, 0, args, 2, -1, NULL, &r);
	free(args[1]);
	finish(x, rc, &r, 200, 1);
}

/* pull and upgrade: privileges body, auth header, a progress stream. */
static void
route_pull(struct api_ctx *x, const char *pname)
{
	char remote[1024], name[1024], local[700], *args[4], *hdr;
	const char *why = "";
	struct stream s;
	struct reply r;
	json_t *priv;
	int rc, upgrade = pname != NULL;

	if (json_body(x, &priv) == -1)
		return;
	priv = api_privileges_canon(priv);
	if (http_query(x->r, "remote", remote, sizeof(remote)) == -1 ||
	    (!upgrade && remote[0] == '\0')) {
		json_decref(priv);
		(void)http_error(x->c, x->r, 400, "remote is required (a plugin "
		    "reference)");
		return;
	}
	if (upgrade)
		snprintf(name, sizeof(name), "%s", pname);
	else if (http_query(x->r, "name", name, sizeof(name)) == -1)
		name[0] = '\0';
	if (local_name(name[0] ? name : remote, local, sizeof(local),
	    &why) == -1) {
		json_decref(priv);
		(void)http_error(x->c, x->r, 400, why ? why : local);
		return;
	}
	if (upgrade) {
		/* Docker refuses to upgrade an enabled plugin (moby's upgradePlugin). */
		args[0] = local;
		rc = call(PD_CTL_INSPECT, 0, args, 1, -1, NULL, &r);
		if (rc == 0) {
			json_t *o = json_loads(r.data ? r.data : "", 0, NULL);

			if (json_is_true(json_object_get(o, "Enabled"))) {
				rc = -1;
				r.code = PD_E_CONFLICT;
				snprintf(r.msg, sizeof(r.msg), "plugin must be disabled "
				    "before upgrading: plugin %s is enabled", local);
			}
			json_decref(o);
		}
		if (rc == -1) {
			json_decref(priv);
			finish(x, rc, &r, 200, 0);
			return;
		}
		reply_free(&r);
	}
	hdr = xasprintf("Docker-Plugin-Name: %s\r\n", local);
	s.c = x->c;
	s.r = x->r;
	s.xhdrs = hdr;
	args[0] = upgrade ? local : remote;
	args[1] = upgrade ? remote : (name[0] ? local : (char *)(uintptr_t)"");
	args[2] = dump_or(priv, "[]");
	args[3] = registry_auth(x->r);
	json_decref(priv);
	rc = call(upgrade ? PD_CTL_UPGRADE : PD_CTL_INSTALL,
	    upgrade ? 0 : PD_CTLF_DISABLE, args, 4, -1, &s, &r);
	free(args[2]);
	free(args[3]);
	/* A taken name is 400 on pull, 409 elsewhere (moby's status.go). */
	if (rc == -1 && !upgrade && r.code == PD_E_EXISTS)
		r.code = PD_E_INVAL;
	finish_stream(x, &s, rc, &r, NULL);
	free(hdr);
}

static void
route_push(struct api_ctx *x, const char *name)
{
	char *args[2];
	struct stream s;
	struct reply r;
	json_t *aux = NULL;
	int rc;

	if (http_body_drain(x->c, x->r) == -1)
		x->r->keepalive = 0;
	s.c = x->c;
	s.r = x->r;
	s.xhdrs = NULL;
	args[0] = (char *)(uintptr_t)name;
	args[1] = registry_auth(x->r);
	rc = call(PD_CTL_PUSH, 0, args, 2, -1, &s, &r);
	free(args[1]);
	if (rc == 0 && r.data != NULL)
		aux = json_loads(r.data, 0, NULL);
	finish_stream(x, &s, rc, &r, aux);
}

static void
route_simple(struct api_ctx *x, uint32_t type, uint32_t flags,
    const char *name, int okstatus, int body)
{
	char *args[1];
	struct reply r;
	int rc;

	if (http_body_drain(x->c, x->r) == -1)
		x->r->keepalive = 0;
	args[0] = (char *)(uintptr_t)name;
	rc = call(type, flags, args, 1, -1, NULL, &r);
	finish(x, rc, &r, okstatus, body);
}

static void
route_enable(struct api_ctx *x, const char *name)
{
	char t[32], *end;

	/* Docker parses timeout with Atoi: required (moby's enablePlugin). */
	if (http_query(x->r, "timeout", t, sizeof(t)) != 1 || t[0] == '\0' ||
	    (strtol(t, &end, 10), *end != '\0')) {
		char msg[128];

		snprintf(msg, sizeof(msg), "strconv.Atoi: parsing \"%.32s\": "
		    "invalid syntax", t);
		(void)http_body_drain(x->c, x->r);
		(void)http_error(x->c, x->r, 400, msg);
		return;
	}
	route_simple(x, PD_CTL_ENABLE, 0, name, 200, 0);
}

static void
route_set(struct api_ctx *x, const char *name)
{
	char *args[PD_CTL_MAXARGS];
	struct reply r;
	json_t *body, *v;
	uint32_t n = 0;
	size_t i;
	int rc;

	if (json_body(x, &body) == -1)
		return;
	if (body != NULL && !json_is_array(body)) {
		json_decref(body);
		(void)http_error(x->c, x->r, 400, "invalid JSON: the body must be "
		    "an array of \"KEY=VALUE\" strings");
		return;
	}
	args[n++] = (char *)(uintptr_t)name;
	json_array_foreach(body, i, v) {
		if (!json_is_string(v) || n == PD_CTL_MAXARGS) {
			json_decref(body);
			(void)http_error(x->c, x->r, 400, "invalid JSON: the body must "
			    "be an array of \"KEY=VALUE\" strings");
			return;
		}
		args[n++] = (char *)(uintptr_t)json_string_value(v);
	}
	/* nothing to set: Docker answers 204, or 404 for an unknown plugin */
	rc = call(n > 1 ? PD_CTL_SET : PD_CTL_INSPECT, 0, args, n, -1, NULL, &r);
	json_decref(body);
	finish(x, rc, &r, 204, 0);
}

/*
 * create: the tar body goes to the broker through a pipe we make; the
 * broker checks it is a FIFO and hands it to the extractor unread.
 */
static void
route_create(struct api_ctx *x)
{
	char name[1024], buf[65536], *args[1];
	const char *why = "";
	struct reply r;
	struct pd_err e;
	int p[2], n, rc, werr = 0;

	if (http_query(x->r, "name", name, sizeof(name)) != 1 || name[0] == '\0') {
		(void)http_body_drain(x->c, x->r);
		(void)http_error(x->c, x->r, 400, "name is required");
		return;
	}
	if (local_name(name, buf, sizeof(buf), &why) == -1) {
		x->r->keepalive = 0;
		(void)http_error(x->c, x->r, 400, why ? why : buf);
		return;
	}
	if (pipe2(p, O_CLOEXEC) == -1) {
		(void)http_error(x->c, x->r, 500, "pipe failed");
		return;
	}
	args[0] = name;
	/* Send the request, then feed the pipe; call() collects the reply. */
	send_req(PD_CTL_CREATE, 0, args, 1, p[0]);
	for (;;) {
		n = http_body_read(x->c, x->r, buf, sizeof(buf), &e);
		if (n <= 0)
			break;
		if (!werr && pd_write_full(p[1], buf, (size_t)n) == -1)
			werr = 1;	/* the broker stopped reading: it says why */
	}
	close(p[1]);
	if (n < 0)
		x->r->keepalive = 0;
	rc = wait_reply(NULL, &r);
	if (rc == 0 && n < 0) {
		rc = -1;
		r.code = PD_E_INVAL;
		snprintf(r.msg, sizeof(r.msg), "%s", e.msg);
	}
	finish(x, rc, &r, 204, 0);
}

/*
 * POST /auth (docker login; moby's system_routes.go postAuth): the body
 * is an AuthConfig, its keys matched case-insensitively as Go's decoder
 * does (json_get_ci).  The login verb checks the credentials with the
 * registry and stores nothing.
 */
static void
route_auth(struct api_ctx *x)
{
	const char *server;
	json_t *body, *cred, *v;
	struct reply r;
	char *args[2];
	int rc;

	if (json_body(x, &body) == -1)
		return;
	if (!json_is_object(body)) {
		json_decref(body);
		(void)http_error(x->c, x->r, 400, body == NULL ? "invalid JSON: "
		    "got EOF while reading request body" : "invalid JSON: an "
		    "AuthConfig must be an object");
		return;
	}
	server = json_string_value(json_get_ci(body, "serveraddress"));
	cred = json_object();
	if (json_is_string(v = json_get_ci(body, "identitytoken")) &&
	    json_string_length(v) > 0)
		json_object_set(cred, "identitytoken", v);
	else {
		if (json_is_string(v = json_get_ci(body, "username")))
			json_object_set(cred, "username", v);
		if (json_is_string(v = json_get_ci(body, "password")))
			json_object_set(cred, "password", v);
	}
	args[0] = xstrdup(server != NULL ? server : "");
	args[1] = json_object_size(cred) ? json_dumps(cred, JSON_COMPACT) :
	    xstrdup("");
	json_decref(cred);
	json_decref(body);
	rc = call(PD_CTL_LOGIN, 0, args, 2, -1, NULL, &r);
	explicit_bzero(args[1], strlen(args[1]));
	free(args[0]);
	free(args[1]);
	finish(x, rc, &r, 200, 1);
}

/* "/v1.43/plugins" -> "/plugins"; -1 (answered) for a bad version. */
static int
strip_version(struct api_ctx *x, const char **path, int *minor)
{
	const char *p = *path, *slash;
	char msg[160];
	long maj, min;
	char *end;

	*minor = API_MAX_MINOR;
	if (p[1] != 'v' || (p[2] < '0' || p[2] > '9'))
		return 0;
	slash = strchr(p + 1, '/');
	maj = strtol(p + 2, &end, 10);
	if (*end != '.' || (min = strtol(end + 1, &end, 10), end != slash &&
	    *end != '\0'))
		return 0;
	if (maj != 1 || min > API_MAX_MINOR) {
		snprintf(msg, sizeof(msg), "client version %.*s is too new. "
		    "Maximum supported API version is " API_VERSION,
		    (int)(end - (p + 2)), p + 2);
		(void)http_error(x->c, x->r, 400, msg);
		return -1;
	}
	if (min < API_MIN_MINOR) {
		snprintf(msg, sizeof(msg), "client version %.*s is too old. "
		    "Minimum supported API version is 1.%d, please upgrade your "
		    "client to a newer version", (int)(end - (p + 2)), p + 2,
		    API_MIN_MINOR);
		(void)http_error(x->c, x->r, 400, msg);
		return -1;
	}
	*minor = (int)min;
	*path = slash ? slash : "/";
	return 0;
}

static void
route_ping(struct api_ctx *x)
{
	static const char xh[] = "Cache-Control: no-cache, no-store, "
	    "must-revalidate\r\nPragma: no-cache\r\nBuilder-Version: 1\r\n";

	(void)http_respond(x->c, x->r, 200, "text/plain; charset=utf-8", xh,
	    "OK", 2);
}

static void
route_version(struct api_ctx *x)
{
	json_t *j;
	char *s;

	j = json_pack("{s:{s:s}, s:s, s:s, s:s, s:s, s:s, s:s}",
	    "Platform", "Name", "plugind (Docker Engine API: plugins only)",
	    "Version", API_PLUGIND_VERSION, "ApiVersion", API_VERSION,
	    "MinAPIVersion", "1.12", "Os", "linux", "Arch", "amd64",
	    "GoVersion", "none (C)");
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	finish_json(x, s);
}

/* GET /info: the broker's facts, without its helper probes, and plugins. */
static void
route_info(struct api_ctx *x)
{
	char *args[1] = { (char *)(uintptr_t)"enabled=true" };
	struct timespec now;
	struct reply r, rl;
	json_t *bi, *pl, *j;

	if (http_body_drain(x->c, x->r) == -1)
		x->r->keepalive = 0;
	if (call(PD_CTL_INFO, PD_CTLF_NOPROBE, NULL, 0, -1, NULL, &r) == -1) {
		finish(x, -1, &r, 200, 1);
		return;
	}
	if (call(PD_CTL_LIST, 0, args, 1, -1, NULL, &rl) == -1) {
		reply_free(&r);
		finish(x, -1, &rl, 200, 1);
		return;
	}
	bi = json_loads(r.data ? r.data : "", 0, NULL);
	pl = json_loads(rl.data ? rl.data : "", 0, NULL);
	reply_free(&r);
	reply_free(&rl);
	/* the sandbox lists clock_gettime, not time(2), for a vDSO-less clock */
	clock_gettime(CLOCK_REALTIME, &now);
	j = api_info_doc(bi, pl, now.tv_sec);
	json_decref(bi);
	json_decref(pl);
	finish_json(x, json_dumps(j, JSON_COMPACT));
	json_decref(j);
}

/* {name} routes: the name is everything between /plugins/ and the verb. */
static int
suffix(const char *rest, const char *verb, char *name, size_t len)
{
	size_t rl = strlen(rest), vl = strlen(verb);

	if (rl <= vl + 1 || strcmp(rest + rl - vl, verb) != 0 ||
	    rest[rl - vl - 1] != '/' || rl - vl - 1 >= len)
		return 0;
	memcpy(name, rest, rl - vl - 1);
	name[rl - vl - 1] = '\0';
	return 1;
}

void
api_handle(struct api_ctx *x)
{
	const char *path = x->r->path, *m = x->r->method, *rest;
	char name[4096];
	int minor, get, post;

	if (strip_version(x, &path, &minor) == -1)
		return;
	get = strcmp(m, "GET") == 0;
	post = strcmp(m, "POST") == 0;
	if (strcmp(path, "/_ping") == 0 && (get || strcmp(m, "HEAD") == 0)) {
		route_ping(x);
		return;
	}
	if (strcmp(path, "/version") == 0 && get) {
		route_version(x);
		return;
	}
	if (strcmp(path, "/info") == 0 && get) {
		route_info(x);
		return;
	}
	if (strcmp(path, "/auth") == 0 && post) {
		route_auth(x);
		return;
	}
	if (get && strcmp(path, "/plugins") == 0) {
		route_list(x);
		return;
	}
	if (strncmp(path, "/plugins/", 9) != 0) {
		(void)http_error(x->c, x->r, 404, "page not found");
		return;
	}
	rest = path + 9;
	if (get && strcmp(rest, "privileges") == 0)
		route_privileges(x);
	else if (post && strcmp(rest, "pull") == 0)
		route_pull(x, NULL);
	else if (post && strcmp(rest, "create") == 0)
		route_create(x);
	else if (get && suffix(rest, "json", name, sizeof(name)))
		route_simple(x, PD_CTL_INSPECT, 0, name, 200, 1);
	else if (strcmp(m, "DELETE") == 0 && rest[0] != '\0')
		route_simple(x, PD_CTL_REMOVE, http_query_bool(x->r, "force") ?
		    PD_CTLF_FORCE : 0, rest, 200, 0);
	else if (post && suffix(rest, "enable", name, sizeof(name)))
		route_enable(x, name);
	else if (post && suffix(rest, "disable", name, sizeof(name)))
		route_simple(x, PD_CTL_DISABLE, http_query_bool(x->r, "force") ?
		    PD_CTLF_FORCE : 0, name, 200, 0);
	else if (post && (suffix(rest, "push", name, sizeof(name)) ||
	    suffix(rest, "pull", name, sizeof(name))))
		/* .../pull: docker-py's push_plugin() posts there (DOCKER_API.md) */
		route_push(x, name);
	else if (post && suffix(rest, "upgrade", name, sizeof(name))) {
		if (minor < 26)
			(void)http_error(x->c, x->r, 400, "plugin upgrade requires "
			    "minimum API version 1.26");
		else
			route_pull(x, name);
	} else if (post && suffix(rest, "set", name, sizeof(name)))
		route_set(x, name);
	else
		(void)http_error(x->c, x->r, 404, "page not found");
}

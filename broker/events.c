/*
 * Plugin events and the audit log.
 *
 * Events live in a ring of the last EV_RING entries; `events` replays
 * from the ring (--since) and then streams new ones to its client.  The
 * JSON shape is Docker's for plugin events: Type, Action, Actor{ID,
 * Attributes{name, ...}}, scope, time, timeNano.
 *
 * Every mutating request (and every refused one) is appended to
 * <data-root>/audit.log as one JSON line: time, the peer's uid, gid and
 * pid (SO_PEERCRED), verb, target, result, and for set and install the
 * names of the settings given ("keys").  Values and other arguments are
 * never written: they may hold tokens, passwords or registry credentials.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "log.h"
#include "util.h"

#define EV_RING		1024
#define AUDIT_MAX	(16 * 1024 * 1024)

struct event {
	uint64_t	 seq;
	json_t		*j;
};

static pthread_mutex_t	 ev_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 ev_cv = PTHREAD_COND_INITIALIZER;
static struct event	 ring[EV_RING];
static uint64_t		 ev_seq;	/* seq of the next event */

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Record an event; attrs (may be NULL) is stolen. */
void
event_emit(const char *action, const char *id, const char *name, json_t *attrs)
{
	uint64_t ns = now_ns();
	json_t *a = attrs ? attrs : json_object(), *j;
	struct event *ev;

	if (name != NULL)
		json_object_set_new(a, "name", json_string(name));
	j = json_pack("{s:s, s:s, s:{s:s, s:o}, s:s, s:I, s:I}", "Type", "plugin",
	    "Action", action, "Actor", "ID", id ? id : "", "Attributes", a,
	    "scope", "local", "time", (json_int_t)(ns / 1000000000ULL),
	    "timeNano", (json_int_t)ns);
	if (j == NULL)
		return;
	log_debug("event: plugin %s %s (%s)", action, id ? id : "", name ? name :
	    "");
	pthread_mutex_lock(&ev_mtx);
	ev = &ring[ev_seq % EV_RING];
	json_decref(ev->j);
	ev->j = j;
	ev->seq = ev_seq++;
	pthread_cond_broadcast(&ev_cv);
	pthread_mutex_unlock(&ev_mtx);
}

/*
 * Has the client gone away?  A streaming client sends nothing after its
 * request, so readability means EOF (or a protocol breach: also the end).
 */
int
ctl_client_gone(const struct ctl_client *c, int wait_ms)
{
	struct pollfd p = { c->fd, POLLIN | POLLRDHUP, 0 };

	if (poll(&p, 1, wait_ms) <= 0)
		return 0;
	return (p.revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))
	    != 0;
}

struct ev_filter {
	uint64_t	 since;
	uint64_t	 until;
	int		 has_since;
	json_t		*keys;		/* key -> array of values */
};

static int
parse_ev_args(struct pd_ctlreq *q, struct ev_filter *f, struct pd_err *e)
{
	const char *a, *eq;
	char key[32];
	json_t *vals;
	uint32_t i;

	memset(f, 0, sizeof(*f));
	f->keys = json_object();
	for (i = 0; i < q->nargs; i++) {
		a = q->args[i];
		if ((eq = strchr(a, '=')) == NULL || eq == a || (size_t)(eq - a) >=
		    sizeof(key))
			return pd_errf(e, PD_E_INVAL, "bad format of filter (expected "
			    "name=value): \"%s\"", a);
		snprintf(key, sizeof(key), "%.*s", (int)(eq - a), a);
		if (strcmp(key, "since") == 0 || strcmp(key, "until") == 0) {
			uint64_t v;

			if (pd_parse_u64(eq + 1, &v) == -1)
				return pd_errf(e, PD_E_INVAL, "bad %s time \"%s\"", key,
				    eq + 1);
			if (key[0] == 's') {
				f->since = v;
				f->has_since = 1;
			} else
				f->until = v;
			continue;
		}
		if (strcmp(key, "event") != 0 && strcmp(key, "plugin") != 0 &&
		    strcmp(key, "type") != 0)
			return pd_errf(e, PD_E_INVAL, "invalid filter '%s'", key);
		if ((vals = json_object_get(f->keys, key)) == NULL) {
			vals = json_array();
			json_object_set_new(f->keys, key, vals);
		}
		json_array_append_new(vals, json_string(eq + 1));
	}
	return 0;
}

static int
any_equal(const json_t *vals, const char *s, int prefix)
{
	const json_t *v;
	const char *w;
	size_t i;

	json_array_foreach(vals, i, v) {
		w = json_string_value(v);
		if (strcmp(w, s) == 0)
			return 1;
		if (prefix && w[0] != '\0' && strncmp(s, w, strlen(w)) == 0)
			return 1;
	}
	return 0;
}

/* Keys AND, values of one key OR (Docker's filter semantics). */
static int
ev_match(const struct ev_filter *f, const json_t *j)
{
	const json_t *vals;
	const char *id, *name;
	char norm[600];
	struct pd_err e;

	if (f->has_since && (uint64_t)json_integer_value(json_object_get(j,
	    "timeNano")) < f->since)
		return 0;
	if (f->until && (uint64_t)json_integer_value(json_object_get(j,
	    "timeNano")) > f->until)
		return 0;
	if ((vals = json_object_get(f->keys, "type")) != NULL &&
	    !any_equal(vals, "plugin", 0))
		return 0;
	if ((vals = json_object_get(f->keys, "event")) != NULL &&
	    !any_equal(vals, json_string_value(json_object_get(j, "Action")), 0))
		return 0;
	if ((vals = json_object_get(f->keys, "plugin")) != NULL) {
		id = json_string_value(json_object_get(json_object_get(j, "Actor"),
		    "ID"));
		name = json_string_value(json_object_get(json_object_get(
		    json_object_get(j, "Actor"), "Attributes"), "name"));
		if (!any_equal(vals, id, 1) && (name == NULL ||
		    !any_equal(vals, name, 0))) {
			const json_t *v;
			size_t i;
			int hit = 0;

			/* "sample" matches "sample:latest", as names resolve. */
			json_array_foreach(vals, i, v)
				if (name != NULL && plugin_new_name(json_string_value(v),
				    norm, sizeof(norm), &e) == 0 && strcmp(norm, name) == 0)
					hit = 1;
			if (!hit)
				return 0;
		}
	}
	return 1;
}

static int
send_event(struct ctl_client *c, json_t *j)
{
	char *s;
	int rc;

	if ((s = json_dumps(j, JSON_COMPACT)) == NULL)
		return 0;
	s = realloc(s, strlen(s) + 2);
	if (s == NULL)
		return -1;
	strcat(s, "\n");
	rc = ctl_reply_data(c, s, strlen(s));
	free(s);
	return rc;
}

int
op_events(struct ctl_client *c, struct pd_ctlreq *q, struct pd_err *e)
{
	struct ev_filter f;
	struct timespec ts;
	uint64_t next;
	json_t *j;

	if (parse_ev_args(q, &f, e) == -1) {
		json_decref(f.keys);
		return -1;
	}
	pthread_mutex_lock(&ev_mtx);
	/* Without --since only new events; with it, what the ring still has. */
	next = f.has_since ? (ev_seq > EV_RING ? ev_seq - EV_RING : 0) : ev_seq;
	for (;;) {
		while (next < ev_seq) {
			if (next + EV_RING < ev_seq)
				next = ev_seq - EV_RING;	/* overrun */
			j = json_incref(ring[next % EV_RING].j);
			next++;
			pthread_mutex_unlock(&ev_mtx);
			if (ev_match(&f, j) && send_event(c, j) == -1) {
				json_decref(j);
				json_decref(f.keys);
				return pd_errf(e, PD_E_IO, "client went away");
			}
			json_decref(j);
			pthread_mutex_lock(&ev_mtx);
		}
		if ((f.until && now_ns() > f.until) || pd_quit)
			break;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 250000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		(void)pthread_cond_timedwait(&ev_cv, &ev_mtx, &ts);
		if (next == ev_seq) {
			pthread_mutex_unlock(&ev_mtx);
			if (ctl_client_gone(c, 0)) {
				json_decref(f.keys);
				return pd_errf(e, PD_E_IO, "client went away");
			}
			pthread_mutex_lock(&ev_mtx);
		}
	}
	pthread_mutex_unlock(&ev_mtx);
	json_decref(f.keys);
	return 0;
}

/* ---- audit ---- */

static pthread_mutex_t	 audit_mtx = PTHREAD_MUTEX_INITIALIZER;

static void	audit_write(const struct ctl_client *, const char *, const char *,
		    json_t *, int, const char *);

/*
 * The setting names of `set NAME KEY=VALUE...` and `install REF
 * KEY=VALUE...`, for the logs: each argument up to its '=', never what
 * follows (a value may be a token or a password).  NULL for other verbs.
 */
json_t *
setting_keys(uint32_t type, const struct pd_ctlreq *q)
{
	uint32_t i, first;
	json_t *keys;

	if (type == PD_CTL_SET)
		first = 1;
	else if (type == PD_CTL_INSTALL)
		first = 4;
	else
		return NULL;
	keys = json_array();
	for (i = first; i < q->nargs; i++)
		json_array_append_new(keys, json_stringn(q->args[i],
		    strcspn(q->args[i], "=")));
	return keys;
}

/* A control request in the audit log: the target and setting names only. */
void
audit_request(const struct ctl_client *c, const struct pd_verb *v,
    const struct pd_ctlreq *q, int ok, const char *err)
{
	audit_write(c, v->name, q->nargs ? q->args[0] : "", setting_keys(v->type,
	    q), ok, err);
}

void
audit_log(const struct ctl_client *c, const char *verb, const char *target,
    int ok, const char *err)
{
	audit_write(c, verb, target, NULL, ok, err);
}

/* keys (may be NULL) is stolen. */
static void
audit_write(const struct ctl_client *c, const char *verb, const char *target,
    json_t *keys, int ok, const char *err)
{
	char ts[64], path[4200], old[4300], *line;
	struct timespec now;
	struct stat st;
	struct tm tm;
	json_t *j;
	int fd;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + strlen(ts), sizeof(ts) - strlen(ts), ".%09ldZ", now.tv_nsec);
	j = json_pack("{s:s, s:I, s:I, s:I, s:s, s:s, s:s}", "time", ts,
	    "uid", (json_int_t)c->uid, "gid", (json_int_t)c->gid,
	    "pid", (json_int_t)c->pid, "verb", verb, "target", target ? target : "",
	    "result", ok ? "ok" : "error");
	if (j == NULL) {
		json_decref(keys);
		return;
	}
	if (keys != NULL)
		json_object_set_new(j, "keys", keys);
	if (!ok && err != NULL)
		json_object_set_new(j, "error", json_string(err));
	line = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (line == NULL)
		return;
	snprintf(path, sizeof(path), "%s/audit.log", conf.data_root);
	pthread_mutex_lock(&audit_mtx);
	if (stat(path, &st) == 0 && st.st_size > AUDIT_MAX) {
		snprintf(old, sizeof(old), "%s.1", path);
		(void)rename(path, old);
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1)
		log_warn("audit: open %s", path);
	else {
		line = realloc(line, strlen(line) + 2);
		if (line != NULL) {
			strcat(line, "\n");
			/* One write per record: O_APPEND keeps records whole. */
			if (pd_write_full(fd, line, strlen(line)) == -1)
				log_warn("audit: write %s", path);
		}
		close(fd);
	}
	pthread_mutex_unlock(&audit_mtx);
	free(line);
}

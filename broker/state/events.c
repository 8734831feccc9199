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

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "state/state.h"
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

uint64_t
event_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Record an event; attrs (may be NULL) is stolen. */
void
event_emit(const char *action, const char *id, const char *name, json_t *attrs)
{
	uint64_t ns = event_now_ns();
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

/* Where a reader starts: at the next event, or (replay) the oldest kept. */
uint64_t
event_start(int replay)
{
	uint64_t next;

	pthread_mutex_lock(&ev_mtx);
	next = replay ? (ev_seq > EV_RING ? ev_seq - EV_RING : 0) : ev_seq;
	pthread_mutex_unlock(&ev_mtx);
	return next;
}

/*
 * The event at *next (a new reference), waiting up to wait_ms for it;
 * NULL if none came.  A reader the ring overran skips what it lost.
 */
json_t *
event_next(uint64_t *next, int wait_ms)
{
	struct timespec ts;
	json_t *j = NULL;

	pthread_mutex_lock(&ev_mtx);
	if (*next >= ev_seq && wait_ms > 0) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += wait_ms / 1000;
		ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		(void)pthread_cond_timedwait(&ev_cv, &ev_mtx, &ts);
	}
	if (*next < ev_seq) {
		if (*next + EV_RING < ev_seq)
			*next = ev_seq - EV_RING;	/* overrun */
		j = json_incref(ring[*next % EV_RING].j);
		(*next)++;
	}
	pthread_mutex_unlock(&ev_mtx);
	return j;
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

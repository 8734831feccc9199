/*
 * `events`: replay from the event ring (--since) and stream new events,
 * filtered as Docker filters them.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops/ops.h"
#include "util.h"
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
op_events(struct ctl_client *c, struct pd_ctlreq *q, int reqfd,
    struct pd_err *e)
{
	struct ev_filter f;
	uint64_t next;
	json_t *j;
	int rc = 0;

	if (parse_ev_args(q, &f, e) == -1) {
		json_decref(f.keys);
		return -1;
	}
	/* Without --since only new events; with it, what the ring still has. */
	next = event_start(f.has_since);
	for (;;) {
		/* What has come first; then stop, or wait for more. */
		if ((j = event_next(&next, 0)) == NULL) {
			if (pd_quit || (f.until && event_now_ns() > f.until))
				break;
			if ((j = event_next(&next, 250)) == NULL) {
				if (ctl_client_gone(c, 0)) {
					rc = -1;
					break;
				}
				continue;
			}
		}
		rc = ev_match(&f, j) ? send_event(c, j) : 0;
		json_decref(j);
		if (rc == -1)
			break;
	}
	json_decref(f.keys);
	if (rc == -1)
		return pd_errf(e, PD_E_IO, "client went away");
	return 0;
}


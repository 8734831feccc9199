/*
 * Dispatch a control request to its verb.  Each runs in its client's
 * thread; read-only verbs take plugins_lock for reading, mutating ones
 * for writing.
 */
#include <stdio.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "util.h"

/* The event of a verb whose code emits none (as moby's backend_linux.go). */
static void
verb_event(const struct pd_verb *v, struct pd_ctlreq *q, const char *id,
    const char *canon)
{
	char name[600], nid[PD_PLUGIN_ID_LEN + 1], ncanon[600];
	struct pd_err e;

	switch (v->event) {
	case PD_VEV_CREATE:
		if (plugin_new_name(q->args[0], name, sizeof(name), &e) == 0) {
			if (plugin_resolve_id(name, nid, ncanon,
			    sizeof(ncanon), &e) == -1)
				nid[0] = ncanon[0] = '\0';
			event_emit("create", nid, ncanon, NULL);
		}
		break;
	case PD_VEV_PULL:
		/* Docker's pull event: the remote as actor, name=local. */
		name[0] = '\0';
		if (q->nargs > 1 && q->args[1][0] != '\0')
			(void)plugin_new_name(q->args[1], name, sizeof(name), &e);
		else
			(void)plugin_new_name(q->args[0], name, sizeof(name), &e);
		event_emit("install", q->args[0], name, NULL);
		break;
	case PD_VEV_PLUGIN:
		event_emit(v->name, id, canon, NULL);
		break;
	case PD_VEV_NONE:
		break;
	}
}

/* Each verb's handler, from the verb table (PD_VERBS in common/proto.h). */
typedef int (*op_fn)(struct ctl_client *, struct pd_ctlreq *, int,
    struct pd_err *);
#define PD_VERB_OP(T, fn, name, min, max, mut, fd, mem, cost, ev) \
	[PD_CTL_##T - PD_CTL_INFO] = op_##fn,
static const op_fn handlers[] = { PD_VERBS(PD_VERB_OP) };
#undef PD_VERB_OP

/*
 * Run request q of type `type` for c.  control.c has checked the request
 * against the verb table (argument counts, who may use it).  fd is the
 * request's descriptor or -1: a verb that takes one owns it, else it is
 * closed here.
 */
int
op_dispatch(struct ctl_client *c, uint32_t type, struct pd_ctlreq *q, int fd,
    struct pd_err *e)
{
	const struct pd_verb *v = pd_verb_lookup(type);
	char id[PD_PLUGIN_ID_LEN + 1] = "", canon[600] = "";
	struct pd_err ne;
	size_t i = type - PD_CTL_INFO;
	int rc;

	if (v == NULL || type < PD_CTL_INFO ||
	    i >= sizeof(handlers) / sizeof(handlers[0]) || handlers[i] == NULL) {
		if (fd >= 0)
			close(fd);
		return pd_errf(e, PD_E_INVAL, "request type %u is not a verb of "
		    "plugind %s", type, PD_VERSION);
	}
	/* The name before the verb runs: set and upgrade may change it. */
	if (v->event == PD_VEV_PLUGIN)
		(void)plugin_resolve_id(q->args[0], id, canon, sizeof(canon),
		    &ne);
	/* Costly requests of non-root peers are bounded per uid (admit.c). */
	if (v->costly && admit_job(c, e) == -1) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	helper_job_client(c);	/* helpers of this request die if c hangs up */
	rc = handlers[i](c, q, v->takes_fd ? fd : -1, e);
	helper_job_client(NULL);
	if (v->costly)
		admit_job_done(c);
	if (rc == 0)
		verb_event(v, q, id, canon);
	if (!v->takes_fd && fd >= 0)
		close(fd);
	return rc;
}

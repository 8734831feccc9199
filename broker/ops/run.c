/*
 * enable, disable and rm: resolve the name, then the supervisor
 * (proc/lifecycle.c) does the work under the plugin's operation lock.
 */

#include <pthread.h>
#include <stdio.h>

#include "ops/ops.h"
#include "util.h"

/* The id of the plugin a client named (a name, an id or a unique prefix). */
static int
resolve_id(const char *name, char *id, struct pd_err *e)
{
	struct plugin *p;

	pthread_rwlock_rdlock(&plugins_lock);
	if ((p = plugin_resolve(name, e)) != NULL)
		snprintf(id, PD_PLUGIN_ID_LEN + 1, "%s", p->id);
	pthread_rwlock_unlock(&plugins_lock);
	return p != NULL ? 0 : -1;
}

int
op_enable(struct ctl_client *c, struct pd_ctlreq *q, int reqfd,
    struct pd_err *e)
{
	char id[PD_PLUGIN_ID_LEN + 1];

	(void)c;
	if (resolve_id(q->args[0], id, e) == -1)
		return -1;
	return lifecycle_enable(id, q->timeout ? q->timeout : conf.enable_timeout,
	    e);
}

int
op_disable(struct ctl_client *c, struct pd_ctlreq *q, int reqfd,
    struct pd_err *e)
{
	char id[PD_PLUGIN_ID_LEN + 1];

	(void)c;
	if (resolve_id(q->args[0], id, e) == -1)
		return -1;
	return lifecycle_disable(id, q->timeout ? q->timeout : conf.stop_timeout,
	    0, e);
}

int
op_remove(struct ctl_client *c, struct pd_ctlreq *q, int reqfd,
    struct pd_err *e)
{
	char id[PD_PLUGIN_ID_LEN + 1];

	(void)c;
	if (resolve_id(q->args[0], id, e) == -1)
		return -1;
	return lifecycle_remove(id, q->args[0], (q->flags & PD_CTLF_FORCE) != 0,
	    e);
}

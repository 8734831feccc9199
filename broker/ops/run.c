/*
 * enable, disable and rm: resolve the name, then the supervisor
 * (proc/lifecycle.c) does the work under the plugin's operation lock.
 */

#include "ops/ops.h"
#include "util.h"

int
op_enable(struct ctl_client *c, struct pd_ctlreq *q, int reqfd,
    struct pd_err *e)
{
	char id[PD_PLUGIN_ID_LEN + 1];

	(void)c;
	if (plugin_resolve_id(q->args[0], id, NULL, 0, e) == -1)
		return -1;
	return lifecycle_enable(id, q->timeout ? q->timeout : conf.enable_timeout,
	    e);
}

int
op_disable(struct ctl_client *c, struct pd_ctlreq *q, int reqfd,
    struct pd_err *e)
{
	char id[PD_PLUGIN_ID_LEN + 1], name[600];

	(void)c;
	if (plugin_resolve_id(q->args[0], id, name, sizeof(name), e) == -1)
		return -1;
	/* Held by an engine (state/inuse.c): as Docker, -f overrides. */
	if ((q->flags & PD_CTLF_FORCE) == 0 && inuse_refuse(id, name, e) == -1)
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
	if (plugin_resolve_id(q->args[0], id, NULL, 0, e) == -1)
		return -1;
	return lifecycle_remove(id, q->args[0], (q->flags & PD_CTLF_FORCE) != 0,
	    e);
}

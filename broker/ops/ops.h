/*
 * The broker's verbs, one per control request (the verb table in
 * common/proto.h).  Each handler runs in its client's thread with the
 * same signature; fd is the request's passed descriptor or -1, and the
 * handler owns it.  Built on proc/; ctl/ dispatches to it.
 */
#ifndef PD_OPS_H
#define PD_OPS_H

#include "proc/proc.h"

#define PD_OP(fn)	int op_##fn(struct ctl_client *, struct pd_ctlreq *, \
			    int, struct pd_err *)
PD_OP(info);
PD_OP(list);
PD_OP(inspect);
PD_OP(check_helper);
PD_OP(install);
PD_OP(privileges);
PD_OP(upgrade);
PD_OP(set);
PD_OP(create);
PD_OP(enable);
PD_OP(disable);
PD_OP(remove);
PD_OP(push);
PD_OP(logs);
PD_OP(events);
PD_OP(check);
PD_OP(login);
PD_OP(sign);
PD_OP(verify);

/* host.c */
json_t	*host_facts(void);
/* install.c */
int	privileges_equal(const json_t *, const json_t *);
/* set.c */
int	settings_apply(json_t *, char *const *, size_t, struct pd_err *);
/* check.c */
int	check_data_root(int);

#endif

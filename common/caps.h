/*
 * Linux capability names, by number: the plugin bundle's capability
 * sets (broker/proc/runtime.c) and the trust policy's ceilings
 * (broker/state/policy.c) read the same table.
 */
#ifndef PD_CAPS_H
#define PD_CAPS_H

#define PD_CAP_COUNT	41	/* CAP_CHOWN .. CAP_CHECKPOINT_RESTORE */

int		 pd_cap_number(const char *);
const char	*pd_cap_name(int);

#endif

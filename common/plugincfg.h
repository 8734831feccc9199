/*
 * The plugin config (docs.docker.com/engine/extend/config/): decoding the
 * way Docker's daemon does (keys matched case-insensitively, unknown keys
 * dropped, fixed types), re-encoded with Docker's key names and order.
 * Runs in a helper on untrusted bytes; the broker only ever sees the
 * canonical result.
 */
#ifndef PD_PLUGINCFG_H
#define PD_PLUGINCFG_H

#include <stddef.h>

#include <jansson.h>

#include "error.h"

#define PD_CONFIG_MAX	(1024 * 1024)	/* bytes of a config document */

json_t	*pd_config_canonical(const char *, size_t, struct pd_err *);
json_t	*pd_config_privileges(const json_t *);
int	 pd_config_check(const json_t *, struct pd_err *);
json_t	*pd_mount_effective(const json_t *, const json_t *, const char *,
	    struct pd_err *);
json_t	*pd_config_settings(const json_t *);

#endif

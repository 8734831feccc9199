/*
 * pluginctl: the command-line client.  Shared by its own sources only;
 * what it agrees on with the broker is in common/defaults.h and
 * common/proto.h.
 */
#ifndef PD_PLUGINCTL_H
#define PD_PLUGINCTL_H

#include "defaults.h"
#include "proto.h"

/* One verb: its name, handler, a one-line summary, usage and options. */
struct ctl_opt {
	const char	*flags;		/* "-q, --quiet" */
	const char	*desc;
};

struct ctl_cmd {
	const char		*name;
	const char		*alias;		/* or NULL */
	int			(*run)(int, char **);
	const char		*summary;
	const char		*usage;		/* after "pluginctl " */
	const struct ctl_opt	*opts;		/* NULL-terminated, or NULL */
};

#endif

/*
 * The process roles of plugind.  One enum, used by the spawner, the
 * privilege drop, the seccomp policy table and the log prefixes.
 */
#ifndef PD_ROLE_H
#define PD_ROLE_H

enum pd_role {
	PD_ROLE_BROKER = 0,	/* plugind, root */
	PD_ROLE_FETCHER,	/* plugind-fetcher: registry client, no caps */
	PD_ROLE_EXTRACTOR,	/* plugind-extractor: untar into staging rootfs */
	PD_ROLE_API,		/* plugind-api: Docker Engine API HTTP parser */
	PD_ROLE_LOGGER,		/* plugind-logger: a plugin's output -> its log */
	PD_ROLE_MAX
};

static inline const char *
pd_role_name(int role)
{
	switch (role) {
	case PD_ROLE_BROKER:	return "broker";
	case PD_ROLE_FETCHER:	return "fetcher";
	case PD_ROLE_EXTRACTOR:	return "extractor";
	case PD_ROLE_API:	return "api";
	case PD_ROLE_LOGGER:	return "logger";
	default:		return "unknown";
	}
}

#endif

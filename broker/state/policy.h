/*
 * The trust policy (docs/POLICY.md): which plugins this host accepts,
 * by registry, repository prefix or repository, and the most any of
 * them may be granted.  The decoder and the checks need common/ only, so
 * tests/fuzz builds policy.c alone; state.h includes this header.
 */
#ifndef PD_POLICY_H
#define PD_POLICY_H

#include <stddef.h>

#include <jansson.h>

#include "error.h"

#define PD_DEFAULT_POLICY	"/etc/plugind/policy.json"
#define PD_POLICY_MAX		(1024 * 1024)	/* bytes of a policy file */

json_t	*policy_decode(const char *, size_t, const char *, struct pd_err *);
int	 policy_judge(const json_t *, const char *, const json_t *,
	    const char *, struct pd_err *);
int	 policy_load(const char *, struct pd_err *);
json_t	*policy_info(void);
int	 policy_check(const char *, const json_t *, struct pd_err *);
int	 policy_check_plugin(const json_t *, struct pd_err *);
int	 policy_signed(const char *, json_t **, char *, size_t);

#endif

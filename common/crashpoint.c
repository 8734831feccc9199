/* Test-build crash points: see crashpoint.h. */
#include "crashpoint.h"

#ifdef PD_CRASHPOINTS
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void
pd_crashpoint(const char *name, const char *detail)
{
	const char *want = getenv("PD_CRASHPOINT");
	char full[512];

	if (want == NULL)
		return;
	snprintf(full, sizeof(full), "%s%s%s", name, detail ? ":" : "",
	    detail ? detail : "");
	if (strcmp(want, name) == 0 || strcmp(want, full) == 0)
		kill(getpid(), SIGKILL);
}
#else
/* ISO C wants a translation unit to declare something. */
extern int pd_crashpoint_unused;
#endif

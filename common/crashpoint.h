/*
 * Crash points for the crash-safety tests (tests/reliability/).  They
 * exist only in a build made with `make CRASHPOINTS=1` (which defines
 * PD_CRASHPOINTS); in every other build PD_CRASHPOINT() is nothing at all,
 * so a production broker has no way to be killed through them.
 *
 * In a crash-point build, PD_CRASHPOINT=NAME (or NAME:DETAIL) in the
 * environment makes the process SIGKILL itself when it reaches that point.
 */
#ifndef PD_CRASHPOINT_H
#define PD_CRASHPOINT_H

#ifdef PD_CRASHPOINTS
void	pd_crashpoint(const char *, const char *);
#define PD_CRASHPOINT(name)		pd_crashpoint((name), NULL)
#define PD_CRASHPOINT_AT(name, detail)	pd_crashpoint((name), (detail))
#else
#define PD_CRASHPOINT(name)		((void)0)
#define PD_CRASHPOINT_AT(name, detail)	((void)0)
#endif

#endif

/*
 * Logging.  The broker logs to stderr; a helper calls
 * log_to_channel() after SETUP and from then on every line travels to the
 * broker as a PD_MSG_LOG message, which the broker prefixes with the role.
 */
#ifndef PD_LOG_H
#define PD_LOG_H

#include <stdarg.h>

enum pd_loglevel {
	PD_LOG_ERROR = 0,
	PD_LOG_WARN,
	PD_LOG_INFO,
	PD_LOG_DEBUG
};

#ifndef __dead
#define __dead __attribute__((__noreturn__))
#endif

void	log_init(const char *, int);
void	log_setlevel(int);
int	log_getlevel(void);
int	log_parselevel(const char *);
const char *log_levelname(int);
void	log_to_channel(int);
void	log_emit(int, const char *, const char *);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
__dead void fatal(const char *, ...) __attribute__((format(printf, 1, 2)));
__dead void fatalx(const char *, ...) __attribute__((format(printf, 1, 2)));

#endif

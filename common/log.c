#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "proto.h"

static const char	*log_tag = "plugind";
static int		 log_level = PD_LOG_INFO;
static int		 log_chan = -1;
static pthread_mutex_t	 log_mtx = PTHREAD_MUTEX_INITIALIZER;

void
log_init(const char *tag, int level)
{
	log_tag = tag;
	log_level = level;
}

void
log_setlevel(int level)
{
	log_level = level;
}

int
log_getlevel(void)
{
	return log_level;
}

static const char *const level_names[] = { "error", "warn", "info", "debug" };

int
log_parselevel(const char *s)
{
	const char *const *names = level_names;
	int i;

	for (i = 0; i < 4; i++)
		if (strcasecmp(s, names[i]) == 0)
			return i;
	if (strcasecmp(s, "fatal") == 0)
		return PD_LOG_ERROR;
	if (strcasecmp(s, "warning") == 0)
		return PD_LOG_WARN;
	return -1;
}

/* The name log_parselevel takes for a level. */
const char *
log_levelname(int level)
{
	return level >= 0 && level < 4 ? level_names[level] : "info";
}

/* From now on, lines go to the broker over this channel (helpers only). */
void
log_to_channel(int fd)
{
	log_chan = fd;
}

/* Write one line with a prefix; used for our lines and helpers' lines. */
void
log_emit(int level, const char *prefix, const char *line)
{
	static const char *lv[] = { "error", "warn", "info", "debug" };
	struct timespec ts;
	struct tm tm;
	char when[32];

	if (level > log_level)
		return;
	if (log_chan >= 0) {
		(void)pd_send_log(log_chan, 0, (uint32_t)level, line, NULL);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	pthread_mutex_lock(&log_mtx);
	fprintf(stderr, "%s.%03ldZ %s %s: %s\n", when, ts.tv_nsec / 1000000,
	    lv[level & 3], prefix ? prefix : log_tag, line);
	pthread_mutex_unlock(&log_mtx);
}

static void
vlog(int level, int with_errno, const char *fmt, va_list ap)
{
	char line[PD_STR_LINE];
	int saved = errno;
	size_t n;

	if (level > log_level)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	if (with_errno) {
		n = strlen(line);
		snprintf(line + n, sizeof(line) - n, ": %s", strerror(saved));
	}
	log_emit(level, NULL, line);
	errno = saved;
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(PD_LOG_WARN, 1, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(PD_LOG_WARN, 0, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(PD_LOG_INFO, 0, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(PD_LOG_DEBUG, 0, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(PD_LOG_ERROR, 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(PD_LOG_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}

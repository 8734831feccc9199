#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

/* Fill in e; returns -1 so that callers can "return pd_errf(...)". */
int
pd_errf(struct pd_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return -1;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* Like pd_errf, with ": strerror(errno)" appended; ENOSPC maps to PD_E_NOSPC. */
int
pd_errno(struct pd_err *e, int code, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;
	size_t n;

	if (e == NULL)
		return -1;
	e->code = saved == ENOSPC || saved == EDQUOT ? PD_E_NOSPC : code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	n = strlen(e->msg);
	snprintf(e->msg + n, sizeof(e->msg) - n, ": %s", strerror(saved));
	errno = saved;
	return -1;
}

void
pd_err_clear(struct pd_err *e)
{
	e->code = PD_E_OK;
	e->msg[0] = '\0';
}

const char *
pd_errcode_str(int code)
{
	static const char *names[PD_E_MAX] = {
		"ok", "internal", "invalid", "not found", "exists", "conflict",
		"permission denied", "unauthorized", "io", "protocol", "limit",
		"digest", "unavailable", "no space", "broken pipe",
		"privileges mismatch", "refused by policy",
	};

	if (code < 0 || code >= PD_E_MAX)
		return "unknown";
	return names[code];
}

/*
 * Minimal TAP producer for the C unit tests (openssh test_helper style).
 * Each ASSERT prints "ok N - what" or "not ok N - what (file:line)".
 * tests/run.sh counts the lines; a test program's exit status is non-zero
 * when any assertion failed.
 */
#ifndef PD_TAP_H
#define PD_TAP_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;

static inline void
tap_result(int ok, const char *what, const char *file, int line)
{
	tap_n++;
	if (ok)
		printf("ok %d - %s\n", tap_n, what);
	else {
		tap_failed++;
		printf("not ok %d - %s (%s:%d)\n", tap_n, what, file, line);
	}
	fflush(stdout);
}

#define ASSERT(cond, what)	tap_result(!!(cond), (what), __FILE__, __LINE__)
#define ASSERT_INT_EQ(a, b, what) do {					\
	long long _a = (long long)(a), _b = (long long)(b);		\
	if (_a != _b)							\
		printf("# %s: got %lld, want %lld\n", (what), _a, _b);	\
	tap_result(_a == _b, (what), __FILE__, __LINE__);		\
} while (0)
#define ASSERT_STR_EQ(a, b, what) do {					\
	const char *_a = (a), *_b = (b);				\
	int _ok = _a != NULL && _b != NULL && strcmp(_a, _b) == 0;	\
	if (!_ok)							\
		printf("# %s: got \"%s\", want \"%s\"\n", (what),	\
		    _a ? _a : "(null)", _b ? _b : "(null)");		\
	tap_result(_ok, (what), __FILE__, __LINE__);			\
} while (0)
#define SKIP(why)	printf("ok %d - # SKIP %s\n", ++tap_n, (why))
#define TAP_DONE()	do {						\
	printf("1..%d\n", tap_n);					\
	return tap_failed ? 1 : 0;					\
} while (0)

#endif

/*
 * Terminal-safe text.  Every string pluginctl prints that came from a
 * registry, a plugin config, a plugin or the broker goes through
 * pd_termsafe first: bytes a terminal would interpret (C0 controls with
 * ESC, CR and BS, DEL, C1 controls U+0080-U+009F, bidirectional
 * overrides) and bytes that are not valid UTF-8 become visible escapes
 * (\x1b, \r, \u009b, \u202e, \xff).  Valid printable UTF-8 is kept.
 */
#ifndef PD_TERMSAFE_H
#define PD_TERMSAFE_H

#include <stddef.h>

#define PD_TS_MULTILINE	0x1	/* keep \n and \t (logs, reports) */
#define PD_TS_QUOTE	0x2	/* "..." around it, \" and \\ inside */
#define PD_TS_JSON	0x4	/* input is JSON text: escapes are \uXXXX,
				   raw \n and \t (layout) kept */

/* Worst case: 6 output bytes per input byte, quotes and the NUL. */
#define PD_TS_MAXLEN(n)	((n) * 6 + 3)

/*
 * Escape `len` bytes of `in` into `out` (room for `outlen` bytes, always
 * NUL-terminated when outlen > 0, cut at a character boundary).  Returns
 * the length the whole escaped text needs, as snprintf does.
 */
size_t	 pd_termsafe(char *, size_t, const char *, size_t, int);
/* The same into a fresh allocation (aborts on OOM). */
char	*pd_termsafe_dup(const char *, size_t, int);
/*
 * How many bytes at the end of `in` are the start of a UTF-8 sequence
 * that more input could complete (0-3): a stream keeps them for the next
 * chunk instead of escaping them as invalid.
 */
size_t	 pd_termsafe_tail(const char *, size_t);

#endif

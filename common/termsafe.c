/*
 * Terminal-safe text (termsafe.h).  A strict UTF-8 decoder (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF) decides what is
 * a character; the policy then keeps or escapes each one.  Hand-written
 * because the escaping policy is ours: glibc's mbrtowc/iswprint depend
 * on the process locale and count the bidi overrides as printable.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "termsafe.h"
#include "util.h"

/*
 * Decode one character at s (n > 0 bytes).  Returns its length and sets
 * *cp, or 0 when the first byte does not start a valid sequence within n
 * bytes (incomplete counts as invalid here).
 */
static size_t
u8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c, min;
	size_t len, i;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		c = s[0] & 0x1f;
		min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		c = s[0] & 0x0f;
		min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		c = s[0] & 0x07;
		min = 0x10000;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* Invisible characters that reorder the text around them (Trojan Source). */
static int
is_bidi(uint32_t c)
{
	return (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) ||
	    c == 0x200e || c == 0x200f || c == 0x061c;
}

/* The C escape letter of a control character, or 0. */
static char
c_letter(uint32_t c)
{
	switch (c) {
	case '\a':	return 'a';
	case '\b':	return 'b';
	case '\t':	return 't';
	case '\n':	return 'n';
	case '\v':	return 'v';
	case '\f':	return 'f';
	case '\r':	return 'r';
	}
	return 0;
}

struct obuf {
	char	*out;
	size_t	 cap;		/* bytes usable for text (outlen - 1) */
	size_t	 len;		/* bytes the whole text needs so far */
	size_t	 written;	/* bytes in out: whole units only */
	int	 full;
};

/* Append one unit (a character or an escape), never half of one. */
static void
put(struct obuf *b, const char *s, size_t n)
{
	if (!b->full && b->out != NULL && b->len + n <= b->cap) {
		memcpy(b->out + b->len, s, n);
		b->written = b->len + n;
	} else
		b->full = 1;
	b->len += n;
}

size_t
pd_termsafe(char *out, size_t outlen, const char *in, size_t len, int flags)
{
	const unsigned char *s = (const unsigned char *)in;
	struct obuf b = { out, outlen ? outlen - 1 : 0, 0, 0, 0 };
	size_t i = 0, n;
	char esc[16];
	uint32_t c;

	if (flags & PD_TS_QUOTE)
		put(&b, "\"", 1);
	while (i < len) {
		if ((n = u8_decode(s + i, len - i, &c)) == 0) {
			/* not UTF-8: each byte on its own, visibly */
			if (flags & PD_TS_JSON)
				put(&b, "\\ufffd", 6);
			else {
				snprintf(esc, sizeof(esc), "\\x%02x", s[i]);
				put(&b, esc, 4);
			}
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			if ((c == '\n' || c == '\t') && (flags & (PD_TS_MULTILINE |
			    PD_TS_JSON)))
				put(&b, in + i, 1);
			else if (flags & PD_TS_JSON) {
				snprintf(esc, sizeof(esc), "\\u%04x", c);
				put(&b, esc, 6);
			} else if (c_letter(c) != 0) {
				esc[0] = '\\';
				esc[1] = c_letter(c);
				put(&b, esc, 2);
			} else {
				snprintf(esc, sizeof(esc), "\\x%02x", c);
				put(&b, esc, 4);
			}
			i++;
		} else if ((c >= 0x80 && c <= 0x9f) || is_bidi(c)) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			put(&b, esc, 6);
			i += n;
		} else if ((flags & PD_TS_QUOTE) && (c == '"' || c == '\\')) {
			esc[0] = '\\';
			esc[1] = (char)c;
			put(&b, esc, 2);
			i++;
		} else {
			put(&b, in + i, n);
			i += n;
		}
	}
	if (flags & PD_TS_QUOTE)
		put(&b, "\"", 1);
	if (out != NULL && outlen > 0)
		out[b.written] = '\0';
	return b.len;
}

char *
pd_termsafe_dup(const char *in, size_t len, int flags)
{
	size_t n = PD_TS_MAXLEN(len);
	char *out = xmalloc(n);

	(void)pd_termsafe(out, n, in, len, flags);
	return out;
}

size_t
pd_termsafe_tail(const char *in, size_t len)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t k, need;

	/* The last lead byte within 3 bytes of the end, if any. */
	for (k = 1; k <= 3 && k <= len; k++) {
		unsigned char b = s[len - k];

		if ((b & 0xc0) == 0x80)
			continue;
		if (b >= 0xc2 && b <= 0xdf)
			need = 2;
		else if (b >= 0xe0 && b <= 0xef)
			need = 3;
		else if (b >= 0xf0 && b <= 0xf4)
			need = 4;
		else
			return 0;
		return k < need ? k : 0;
	}
	return 0;
}

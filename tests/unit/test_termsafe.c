/*
 * common/termsafe.c: what reaches a terminal from hostile strings.  Each
 * case is an input and the exact text pluginctl must print for it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "termsafe.h"
#include "../tap.h"

static const struct ts_case {
	const char	*in;
	int		 flags;
	const char	*want;
} cases[] = {
	{ "plain text", 0, "plain text" },
	{ "", 0, "" },
	{ "caf\xc3\xa9 \xe2\x80\xa6 \xf0\x9f\x94\x8c", 0,
	    "caf\xc3\xa9 \xe2\x80\xa6 \xf0\x9f\x94\x8c" },	/* é … 🔌 kept */
	{ "\r\x1b[2K\x1b[1A/", 0, "\\r\\x1b[2K\\x1b[1A/" },
	{ "bell\a bs\b tab\t nl\n vt\v ff\f", 0,
	    "bell\\a bs\\b tab\\t nl\\n vt\\v ff\\f" },
	{ "del\x7f us\x1f soh\x01", 0, "del\\x7f us\\x1f soh\\x01" },
	{ "csi\xc2\x9b" "2J nel\xc2\x85 c1end\xc2\x9f", 0,
	    "csi\\u009b2J nel\\u0085 c1end\\u009f" },
	{ "\xc2\xa0nbsp", 0, "\xc2\xa0nbsp" },		/* U+00A0 is printable */
	{ "rlo\xe2\x80\xae" "txt\xe2\x80\xac lri\xe2\x81\xa6 pdi\xe2\x81\xa9", 0,
	    "rlo\\u202etxt\\u202c lri\\u2066 pdi\\u2069" },
	{ "lrm\xe2\x80\x8e rlm\xe2\x80\x8f alm\xd8\x9c", 0,
	    "lrm\\u200e rlm\\u200f alm\\u061c" },
	{ "bad\xff\xfe", 0, "bad\\xff\\xfe" },
	{ "overlong\xc0\xaf", 0, "overlong\\xc0\\xaf" },
	{ "overlong3\xe0\x80\xaf", 0, "overlong3\\xe0\\x80\\xaf" },
	{ "surrogate\xed\xa0\x80", 0, "surrogate\\xed\\xa0\\x80" },
	{ "toobig\xf4\x90\x80\x80", 0, "toobig\\xf4\\x90\\x80\\x80" },
	{ "cut\xe2\x80", 0, "cut\\xe2\\x80" },
	{ "lone\x80" "cont", 0, "lone\\x80cont" },
	{ "line1\nline2\ttab\r", PD_TS_MULTILINE, "line1\nline2\ttab\\r" },
	{ "/", PD_TS_QUOTE, "\"/\"" },
	{ "a\"b\\c", PD_TS_QUOTE, "\"a\\\"b\\\\c\"" },
	{ "back\\slash", 0, "back\\slash" },
	{ "\r\x1b[2K", PD_TS_QUOTE, "\"\\r\\x1b[2K\"" },
	{ "{\n    \"a\": \"x\x7f\xc2\x9b\xe2\x80\xae\"\n}", PD_TS_JSON,
	    "{\n    \"a\": \"x\\u007f\\u009b\\u202e\"\n}" },
	{ "\x1b\xff", PD_TS_JSON, "\\u001b\\ufffd" },
};

int
main(void)
{
	char buf[64], *s;
	size_t i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s = pd_termsafe_dup(cases[i].in, strlen(cases[i].in), cases[i].flags);
		ASSERT_STR_EQ(s, cases[i].want, cases[i].want);
		ASSERT_INT_EQ(pd_termsafe(NULL, 0, cases[i].in, strlen(cases[i].in),
		    cases[i].flags), strlen(cases[i].want), "length needed");
		free(s);
	}

	/* A NUL byte inside the input is escaped, not the end. */
	s = pd_termsafe_dup("a\0b", 3, 0);
	ASSERT_STR_EQ(s, "a\\x00b", "embedded NUL");
	free(s);

	/* Truncation: never half an escape or half a character. */
	n = pd_termsafe(buf, 6, "ab\x1b" "cd", 5, 0);
	ASSERT_INT_EQ(n, 8, "truncated: full length reported");
	ASSERT_STR_EQ(buf, "ab", "truncated before the escape, not inside it");
	n = pd_termsafe(buf, 4, "a\xe2\x80\xa6", 4, 0);
	ASSERT_STR_EQ(buf, "a", "truncated before a 3-byte character");
	n = pd_termsafe(buf, 1, "abc", 3, 0);
	ASSERT_STR_EQ(buf, "", "room for the NUL only");

	/* The worst case fits PD_TS_MAXLEN. */
	ASSERT(pd_termsafe(NULL, 0, "\x01\x01", 2, PD_TS_JSON | PD_TS_QUOTE) <
	    PD_TS_MAXLEN(2), "worst case within PD_TS_MAXLEN");

	/* Streams keep an unfinished character for the next chunk. */
	ASSERT_INT_EQ(pd_termsafe_tail("ab\xe2\x80", 4), 2, "tail: 2 of 3 bytes");
	ASSERT_INT_EQ(pd_termsafe_tail("ab\xf0", 3), 1, "tail: 1 of 4 bytes");
	ASSERT_INT_EQ(pd_termsafe_tail("ab\xe2\x80\xa6", 5), 0, "tail: complete");
	ASSERT_INT_EQ(pd_termsafe_tail("ab\xff", 3), 0, "tail: invalid is no tail");
	ASSERT_INT_EQ(pd_termsafe_tail("", 0), 0, "tail: empty");
	ASSERT_INT_EQ(pd_termsafe_tail("\x80\x80\x80", 3), 0,
	    "tail: continuation bytes only");
	TAP_DONE();
}

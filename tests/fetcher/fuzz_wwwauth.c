/*
 * libFuzzer harness for the WWW-Authenticate parser and the token
 * response parser.  Built and run for a few seconds by test_fetch.sh
 * when clang is installed:
 *	clang -fsanitize=fuzzer,address,undefined -Icommon -Ifetcher \
 *	    tests/fetcher/fuzz_wwwauth.c fetcher/wwwauth.c common/error.c
 * The first input byte selects how the rest is split into header lines.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "error.h"
#include "wwwauth.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct wwwauth w;
	struct pd_err e;
	const struct wwwauth_chal *ch;
	const char *p, *nl, *end;
	size_t i;

	if (size == 0)
		return 0;
	wwwauth_init(&w);
	p = (const char *)data + 1;
	end = (const char *)data + size;
	if (data[0] & 1) {
		/* one header line per '\n' */
		while (p < end) {
			nl = memchr(p, '\n', (size_t)(end - p));
			if (nl == NULL)
				nl = end;
			if (wwwauth_parse(&w, p, (size_t)(nl - p), &e) == -1)
				break;
			p = nl + 1;
		}
	} else
		(void)wwwauth_parse(&w, p, (size_t)(end - p), &e);
	/* Touch every string: ASan checks they are inside the arena. */
	for (i = 0; i < w.nchal; i++) {
		ch = &w.chal[i];
		(void)strlen(ch->scheme_name);
		if (ch->token68 != NULL)
			(void)strlen(ch->token68);
		(void)wwwauth_param(ch, "realm");
	}
	(void)wwwauth_find(&w, WWWAUTH_BEARER);
	return 0;
}

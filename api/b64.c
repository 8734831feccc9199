/* base64url (RFC 4648 §5) for X-Registry-Auth; standard base64 too. */
#include <stdlib.h>
#include <string.h>

#include "apid.h"
#include "util.h"

static int
b64val(int ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '-' || ch == '+')
		return 62;
	if (ch == '_' || ch == '/')
		return 63;
	return -1;
}

/* Decoded bytes (NUL-terminated, *len set) or NULL if malformed. */
char *
api_b64url_decode(const char *in, size_t *len)
{
	size_t n = strlen(in), i, o = 0;
	unsigned acc = 0;
	int bits = 0, v;
	char *out;

	while (n > 0 && in[n - 1] == '=')
		n--;
	if (n % 4 == 1 || n > 64 * 1024)
		return NULL;
	out = xmalloc(n * 3 / 4 + 2);
	for (i = 0; i < n; i++) {
		if ((v = b64val((unsigned char)in[i])) < 0) {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[o] = '\0';
	*len = o;
	return out;
}

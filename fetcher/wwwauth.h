/*
 * WWW-Authenticate challenge parser (RFC 7235 §4.1, RFC 9110 §11.6.1).
 *
 * Input is untrusted registry output.  The parser takes a byte range (no
 * NUL terminator needed, so it is usable as a libFuzzer entry point), keeps
 * no global state, allocates nothing and copies every decoded string into
 * a fixed arena inside struct wwwauth.  Several header lines are parsed by
 * calling wwwauth_parse once per line on the same struct.
 *
 * Grammar accepted:
 *	header     = [ challenge ] *( OWS "," OWS [ challenge ] )
 *	challenge  = scheme [ 1*SP ( token68 / param *( OWS "," OWS param ) ) ]
 *	param      = token BWS "=" BWS ( token / quoted-string )
 *	quoted-string with backslash quoted-pairs; no CTLs but HTAB.
 * Refused: NUL or other CTLs outside quoted-string rules, unterminated
 * quotes, a parameter without a value, duplicate parameter names in one
 * challenge (compared case-insensitively), more than WWWAUTH_MAXCHAL
 * challenges or WWWAUTH_MAXPARAMS parameters, more than WWWAUTH_MAXLEN
 * bytes in total.
 */
#ifndef PD_WWWAUTH_H
#define PD_WWWAUTH_H

#include <stddef.h>

#include "error.h"

#define WWWAUTH_MAXLEN		8192	/* bytes over all header lines */
#define WWWAUTH_MAXCHAL		8
#define WWWAUTH_MAXPARAMS	16

enum wwwauth_scheme {
	WWWAUTH_OTHER = 0,
	WWWAUTH_BASIC,
	WWWAUTH_BEARER
};

struct wwwauth_param {
	const char	*name;		/* as sent; compare case-insensitively */
	const char	*value;		/* unquoted, escapes removed */
};

struct wwwauth_chal {
	int			 scheme;	/* enum wwwauth_scheme */
	const char		*scheme_name;
	const char		*token68;	/* NULL unless the form was used */
	size_t			 nparams;
	struct wwwauth_param	 params[WWWAUTH_MAXPARAMS];
};

struct wwwauth {
	size_t			 nchal;
	struct wwwauth_chal	 chal[WWWAUTH_MAXCHAL];
	size_t			 inlen;		/* bytes parsed so far */
	size_t			 used;		/* arena bytes used */
	char			 arena[WWWAUTH_MAXLEN + 2 * WWWAUTH_MAXCHAL *
				    (WWWAUTH_MAXPARAMS + 2)];
};

void	 wwwauth_init(struct wwwauth *);
int	 wwwauth_parse(struct wwwauth *, const char *, size_t, struct pd_err *);
const char *wwwauth_param(const struct wwwauth_chal *, const char *);
const struct wwwauth_chal *wwwauth_find(const struct wwwauth *, int);

#endif

#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "error.h"
#include "wwwauth.h"

struct cursor {
	const char	*p;
	const char	*end;
	const char	*start;
};

/* RFC 9110 tchar */
static int
is_tchar(int c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* RFC 9110 token68 body character (the trailing "=" are handled apart) */
static int
is_t68char(int c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("-._~+/", c) != NULL;
}

static void
skip_ows(struct cursor *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
		c->p++;
}

static size_t
token_len(const struct cursor *c)
{
	const char *q = c->p;

	while (q < c->end && is_tchar((unsigned char)*q))
		q++;
	return (size_t)(q - c->p);
}

static char *
arena_put(struct wwwauth *w, const char *s, size_t len)
{
	char *d;

	if (len + 1 > sizeof(w->arena) - w->used)
		return NULL;
	d = w->arena + w->used;
	memcpy(d, s, len);
	d[len] = '\0';
	w->used += len + 1;
	return d;
}

static int
fail(struct cursor *c, struct pd_err *e, const char *what)
{
	return pd_errf(e, PD_E_PROTO, "malformed WWW-Authenticate header: %s "
	    "at byte %zu", what, (size_t)(c->p - c->start));
}

/*
 * Is the cursor at "token BWS =" followed by something that is not "="
 * (i.e. the start of an auth-param rather than a token68 or a scheme)?
 */
static int
at_param(const struct cursor *c)
{
	struct cursor t = *c;
	size_t n;

	if ((n = token_len(&t)) == 0)
		return 0;
	t.p += n;
	skip_ows(&t);
	if (t.p >= t.end || *t.p != '=')
		return 0;
	t.p++;
	skip_ows(&t);
	return t.p < t.end && *t.p != '=' && *t.p != ',';
}

static int
parse_quoted(struct wwwauth *w, struct cursor *c, const char **out,
    struct pd_err *e)
{
	char *d;
	int ch;

	/* The decoded value is never longer than the quoted text. */
	if ((size_t)(c->end - c->p) + 1 > sizeof(w->arena) - w->used)
		return fail(c, e, "challenge too large");
	d = w->arena + w->used;
	*out = d;
	c->p++;				/* opening quote */
	for (;;) {
		if (c->p >= c->end)
			return fail(c, e, "unterminated quoted string");
		ch = (unsigned char)*c->p;
		if (ch == '"') {
			c->p++;
			break;
		}
		if (ch == '\\') {
			c->p++;
			if (c->p >= c->end)
				return fail(c, e, "unterminated quoted string");
			ch = (unsigned char)*c->p;
			if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
				return fail(c, e, "control character in quoted string");
		} else if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return fail(c, e, "control character in quoted string");
		*d++ = (char)ch;
		c->p++;
	}
	*d++ = '\0';
	w->used = (size_t)(d - w->arena);
	return 0;
}

static int
parse_param(struct wwwauth *w, struct wwwauth_chal *ch, struct cursor *c,
    struct pd_err *e)
{
	struct wwwauth_param *pa;
	const char *name, *value = NULL;
	size_t n, i;

	n = token_len(c);
	if ((name = arena_put(w, c->p, n)) == NULL)
		return fail(c, e, "challenge too large");
	c->p += n;
	skip_ows(c);
	c->p++;				/* "=", checked by at_param */
	skip_ows(c);
	if (c->p < c->end && *c->p == '"') {
		if (parse_quoted(w, c, &value, e) == -1)
			return -1;
	} else {
		if ((n = token_len(c)) == 0)
			return fail(c, e, "parameter without a value");
		if ((value = arena_put(w, c->p, n)) == NULL)
			return fail(c, e, "challenge too large");
		c->p += n;
	}
	for (i = 0; i < ch->nparams; i++)
		if (strcasecmp(ch->params[i].name, name) == 0)
			return fail(c, e, "duplicate parameter");
	if (ch->nparams == WWWAUTH_MAXPARAMS)
		return fail(c, e, "too many parameters");
	pa = &ch->params[ch->nparams++];
	pa->name = name;
	pa->value = value;
	return 0;
}

void
wwwauth_init(struct wwwauth *w)
{
	w->nchal = 0;
	w->inlen = 0;
	w->used = 0;
}

/* A token68 credential in place of parameters: "Scheme abc123==". */
static int
parse_token68(struct wwwauth *w, struct wwwauth_chal *ch, struct cursor *c,
    struct pd_err *e)
{
	const char *t = c->p;

	while (c->p < c->end && is_t68char((unsigned char)*c->p))
		c->p++;
	if (c->p == t)
		return fail(c, e, "expected parameters");
	while (c->p < c->end && *c->p == '=')
		c->p++;
	if ((ch->token68 = arena_put(w, t, (size_t)(c->p - t))) == NULL)
		return fail(c, e, "challenge too large");
	skip_ows(c);
	if (c->p < c->end && *c->p != ',')
		return fail(c, e, "unexpected character after token68");
	return 0;
}

int
wwwauth_parse(struct wwwauth *w, const char *buf, size_t len, struct pd_err *e)
{
	struct wwwauth_chal *ch;
	struct cursor c;
	size_t n;

	if (len > WWWAUTH_MAXLEN - w->inlen)
		return pd_errf(e, PD_E_PROTO, "WWW-Authenticate header longer than "
		    "%d bytes", WWWAUTH_MAXLEN);
	w->inlen += len;
	c.p = c.start = buf;
	c.end = buf + len;
	for (;;) {
		/* Empty list elements are allowed: ", ,Bearer x=y" */
		for (;;) {
			skip_ows(&c);
			if (c.p < c.end && *c.p == ',')
				c.p++;
			else
				break;
		}
		if (c.p >= c.end)
			return 0;
		if ((n = token_len(&c)) == 0)
			return fail(&c, e, "expected an authentication scheme");
		if (w->nchal == WWWAUTH_MAXCHAL)
			return fail(&c, e, "too many challenges");
		ch = &w->chal[w->nchal];
		memset(ch, 0, sizeof(*ch));
		if ((ch->scheme_name = arena_put(w, c.p, n)) == NULL)
			return fail(&c, e, "challenge too large");
		if (strcasecmp(ch->scheme_name, "Basic") == 0)
			ch->scheme = WWWAUTH_BASIC;
		else if (strcasecmp(ch->scheme_name, "Bearer") == 0)
			ch->scheme = WWWAUTH_BEARER;
		else
			ch->scheme = WWWAUTH_OTHER;
		w->nchal++;
		c.p += n;
		if (c.p >= c.end || *c.p == ',')
			continue;
		if (*c.p != ' ')
			return fail(&c, e, "expected a space after the scheme");
		skip_ows(&c);
		if (c.p >= c.end || *c.p == ',')
			continue;
		if (!at_param(&c)) {
			if (parse_token68(w, ch, &c, e) == -1)
				return -1;
			continue;
		}
		for (;;) {
			if (parse_param(w, ch, &c, e) == -1)
				return -1;
			skip_ows(&c);
			if (c.p >= c.end)
				return 0;
			if (*c.p != ',')
				return fail(&c, e, "expected \",\" between parameters");
			/* Another parameter, or the next challenge? */
			while (c.p < c.end && (*c.p == ',' || *c.p == ' ' ||
			    *c.p == '\t'))
				c.p++;
			if (c.p >= c.end)
				return 0;
			if (!at_param(&c))
				break;
		}
	}
}

const char *
wwwauth_param(const struct wwwauth_chal *ch, const char *name)
{
	size_t i;

	for (i = 0; i < ch->nparams; i++)
		if (strcasecmp(ch->params[i].name, name) == 0)
			return ch->params[i].value;
	return NULL;
}

const struct wwwauth_chal *
wwwauth_find(const struct wwwauth *w, int scheme)
{
	size_t i;

	for (i = 0; i < w->nchal; i++)
		if (w->chal[i].scheme == scheme)
			return &w->chal[i];
	return NULL;
}

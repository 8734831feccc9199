/*
 * Error values for library code.  Functions that can fail
 * take a struct pd_err * and return -1 after filling it in, 0 on success.
 * Only the main() of each process calls fatal()/fatalx().
 */
#ifndef PD_ERROR_H
#define PD_ERROR_H

#include <stddef.h>

enum pd_errcode {
	PD_E_OK = 0,
	PD_E_INTERNAL,		/* a bug or an unexpected system failure */
	PD_E_INVAL,		/* bad input from the user (400) */
	PD_E_NOTFOUND,		/* no such plugin/blob/tag (404) */
	PD_E_EXISTS,		/* name already taken (409) */
	PD_E_CONFLICT,		/* enabled / in use (409) */
	PD_E_PERM,		/* peer not allowed (403) */
	PD_E_AUTH,		/* registry refused credentials (401) */
	PD_E_IO,		/* filesystem or socket error */
	PD_E_PROTO,		/* a peer broke the protocol */
	PD_E_LIMIT,		/* a configured limit was hit */
	PD_E_DIGEST,		/* content does not match its digest */
	PD_E_UNAVAIL,		/* registry or helper unavailable (503) */
	PD_E_NOSPC,		/* disk full */
	PD_E_PIPE,		/* the reading side of a stream went away */
	PD_E_GRANT,		/* the privileges granted are not those asked (400) */
	PD_E_POLICY,		/* the host's trust policy refuses it (403) */
	PD_E_MAX
};

#define PD_ERR_MSGLEN	1024

struct pd_err {
	int	code;
	char	msg[PD_ERR_MSGLEN];
};

int		 pd_errf(struct pd_err *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
int		 pd_errno(struct pd_err *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
void		 pd_err_clear(struct pd_err *);
const char	*pd_errcode_str(int);

#endif

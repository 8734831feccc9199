/*
 * The broker's front: the control socket, the Docker API socket and the
 * dispatch of a request to its verb (ops/).  plugind.c is main().
 */
#ifndef PD_CTL_H
#define PD_CTL_H

#include "ops/ops.h"

/* One command-line option of plugind, for getopt, --help and plugind(8). */
struct pd_optdoc {
	const char	*name;		/* long option */
	int		 val;		/* its short form, or above 255: none */
	int		 has_arg;
	const char	*arg;		/* its placeholder, or NULL */
	const char	*doc;		/* '\n' breaks the --help column */
};

/* manpage.c: plugind(8) ("8") or plugind.json(5) ("5"); -1: neither. */
int	print_man(FILE *, const char *, const struct pd_optdoc *);

/* dispatch.c */
int	op_dispatch(struct ctl_client *, uint32_t, struct pd_ctlreq *, int,
	    struct pd_err *);

/* control.c */
int	control_listen(const char *, struct pd_err *);
void	control_accept(int);
void	control_drain(int);
const char *control_count(uid_t, int);
void	control_accept_each(int, const char *, void (*)(int, const char *),
	    void (*)(int, const struct ucred *, int));
int	control_thread(void *(*)(void *), void *);
void	control_serve(struct ctl_client *, struct pd_chan *);

/* apisock.c: the Docker Engine API socket (docs/DOCKER_API.md). */
void	api_accept(int);
void	api_shutdown(void);

#endif

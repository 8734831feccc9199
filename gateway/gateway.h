/*
 * plugind-gateway: the plugin's answer as read (answer.c), the
 * Mountpoint rewriting of volume-driver answers (rewrite.c) and the
 * in-use reports of volume calls (use.c).
 */
#ifndef PD_GATEWAY_H
#define PD_GATEWAY_H

#include <stddef.h>

#define GW_HDR_MAX	(64 * 1024)	/* the plugin's status line + headers */
#define GW_BODY_MAX	(1024 * 1024)	/* the plugin's body, also engines' */
#define GW_USE_NAME_MAX	255		/* a reported volume name or mount ID */

struct gw_answer {
	char		*buf;		/* what the plugin sent */
	size_t		 len, cap;
	int		 eof;
	int		 status;
	size_t		 hlen;		/* status line and headers, 0 until seen */
	long long	 clen;		/* Content-Length, -1 if none */
	int		 chunked;
	char		*dec;		/* the chunked body, decoded */
	const char	*body;		/* decoded body (into buf or dec) */
	size_t		 blen;
};

void	gw_answer_init(struct gw_answer *);
void	gw_answer_free(struct gw_answer *);
/* 1 complete, 0 needs more, -1 refused (why in err). */
int	gw_answer_parse(struct gw_answer *, char *, size_t);
int	gw_rewrite(const char *, int, const char *, const char *,
	    const struct gw_answer *, char **, size_t *, char *, size_t);
int	gw_use_op(const char *);
int	gw_use_names(const char *, size_t, int, char *, size_t, char *, size_t);
int	gw_answer_done(const struct gw_answer *);

#endif

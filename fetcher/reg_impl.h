/*
 * Internals shared by the registry client's files (fetcher/reg_*.c):
 * the client, one transfer (struct fetch) and one HTTP request (struct
 * xfer).  Only fetcher/reg_*.c include this; the API is registry.h.
 */
#ifndef PD_REG_IMPL_H
#define PD_REG_IMPL_H

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "digest.h"
#include "error.h"
#include "proto.h"
#include "registry.h"
#include "wwwauth.h"

#define ORIGIN_MAX	300

struct tlsmat {
	struct tlsmat	*next;
	int		 kind;			/* PD_TLS_* */
	char		 origin[ORIGIN_MAX];	/* "host:port", "" for any */
	char		*pem;
	size_t		 len;
};

struct token {
	struct token	*next;
	char		*key;			/* origin, user, scopes */
	char		*value;
	uint64_t	 expires;		/* monotonic ms */
};

struct reg_client {
	CURL			*curl;
	struct tlsmat		*tls;
	size_t			 tlstotal;
	struct token		*tokens;
	char			 basic[8][ORIGIN_MAX];	/* asked for Basic */
	size_t			 nbasic;
	char			 cls_origin[ORIGIN_MAX];
	int			 cls;		/* address class of it */
	struct reg_timeouts	 to;
	char			 errbuf[CURL_ERROR_SIZE];
};

struct origin {
	char	 scheme[8];
	char	 host[256];	/* lower case, IPv6 in brackets */
	long	 port;
	char	 key[ORIGIN_MAX];	/* "host:port" */
};

struct fetch {
	struct reg_client	*c;
	const struct reg_req	*r;
	struct origin		 reg;
	char			 name[PD_STR_SHORT * 2 + 8];	/* for messages */
	uint64_t		 deadline;	/* monotonic ms */
	long			 deadline_s;
	unsigned		 nreq;
	struct pd_sha256	*sha;
	uint64_t		 received;
	uint64_t		 last_progress;
	int			 progress_sent;
	char			 progress_id[13];
	/* Pushes: the current request's method and upload body. */
	const char		*method;	/* NULL: GET (or the token POST) */
	const char		*accept;	/* "Accept: ..." or NULL */
	const char		*ctype;		/* upload Content-Type */
	const char		*range;		/* "Content-Range: ..." or NULL */
	int			 upload;	/* PUT/PATCH with a body */
	uint64_t		 up_off, up_len, up_sent;
	unsigned		 maxreq;
	/* Logins: the token server's refresh token, if it sent one. */
	char			*refresh;
};

enum role {
	ROLE_REGISTRY,
	ROLE_TOKEN
};

/* One HTTP request and what came back. */
struct xfer {
	struct fetch	*f;
	char		*url;
	struct origin	 o;
	int		 role;
	int		 is_registry;	/* o is the registry's origin */
	int		 to_fd;		/* a 200 body goes to r->outfd */
	uint64_t	 body_max;
	long		 status;
	int		 hdr_done;
	size_t		 hdrbytes;
	unsigned	 nhdr;
	char		*location;
	const char	*location_err;
	struct wwwauth	 wa;
	int		 wa_seen;
	int		 wa_bad;
	struct pd_err	 wa_err;
	char		 ctype[256];
	char		 dcd[256];
	int		 ncl;
	uint64_t	 cl;
	int		 cl_conflict;
	int		 cl_bad;
	int		 te;
	long		 retry_after;
	char		*buf;
	size_t		 len;
	size_t		 bufmax;
	int		 capped;
	int		 aborted;
	struct pd_err	 abort_err;
	int		 addr_refused;
	int		 addr_cls;
	char		 addr_ip[INET6_ADDRSTRLEN];
};

/* The job's authentication for the next registry request. */
struct auth {
	char	*authz;		/* "Authorization: ..." or NULL */
	int	 kind;		/* enum authkind */
	char	 key[1024];	/* token cache key */
};

enum authkind {
	AUTH_NONE,
	AUTH_BASIC,		/* user credentials, sent to the registry */
	AUTH_BEARER_ANON,	/* token got without credentials */
	AUTH_BEARER_CREDS,	/* token got with credentials */
	AUTH_BEARER_CACHED,	/* token from an earlier request */
	AUTH_BASIC_CACHED	/* Basic sent because the host asked before */
};

/* reg_url.c: origins */
int	reg_url_origin(const char *, struct origin *);
int	reg_same_origin(const struct origin *, const struct origin *);
int	reg_tls_origin(const char *, char *, size_t);

/* reg_client.c: TLS material */
char	*reg_ca_for(struct reg_client *, const char *, size_t *);
const struct tlsmat *reg_tls_find(struct reg_client *, int, const char *);

/* reg_auth.c: credentials and tokens */
void	reg_token_free(struct token *);
char	*reg_basic_header(const char *, const char *);
void	reg_free_secret(char **);
int	reg_has_creds(const struct reg_req *);
int	reg_answer_challenge(struct fetch *, struct xfer *, char **, int *,
	    struct pd_err *);
void	reg_auth_start(struct fetch *, struct auth *);
int	reg_call(struct fetch *, const char *, int, struct auth *,
	    struct xfer **, struct pd_err *);

/* reg_http.c: requests */
const char *reg_status_text(long);
void	reg_xfer_free(struct xfer *);
const char *reg_who(const struct xfer *);
int	reg_request(struct fetch *, const char *, int, const char *,
	    const struct origin *, int, size_t, const char *, struct xfer **,
	    struct pd_err *);
void	reg_error_detail(const struct xfer *, char *, size_t, char *, size_t);
int	reg_retryable(long);
void	reg_sleep_ms(uint64_t);

/* reg_pull.c: fetch state and failures */
int	reg_check_target(const struct reg_req *, struct pd_err *);
int	reg_fail_status(struct fetch *, struct xfer *, int, struct pd_err *);
void	reg_fetch_init(struct fetch *, struct reg_client *,
	    const struct reg_req *);
int	reg_get(struct fetch *, const char *, int, struct auth *, struct xfer **,
	    struct pd_err *);

#endif

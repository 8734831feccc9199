/*
 * The fetcher's registry client: one GET of a manifest or a blob from a
 * distribution (Docker Registry HTTP API v2) registry, with token and
 * Basic authentication, manual redirect handling and the limits of
 * docs/FETCHER.md.  The body goes to a file descriptor the caller owns;
 * nothing is written anywhere else.
 *
 * A struct reg_client lives for one install job: it holds the TLS
 * material the broker passed, one libcurl handle (connections are
 * reused) and the token cache.  It opens no file and reads no
 * environment variable.
 */
#ifndef PD_REGISTRY_H
#define PD_REGISTRY_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Limits and timeouts; docs/FETCHER.md explains each. */
#define REG_PEM_MAX		(1024 * 1024)	/* one FETCH_TLS document */
#define REG_PEM_TOTAL_MAX	(8 * 1024 * 1024)	/* all, per job */
#define REG_CONNECT_TIMEOUT	15		/* s, per connection */
#define REG_LOW_SPEED_LIMIT	1		/* bytes/s ... */
#define REG_LOW_SPEED_TIME	30		/* ... for this many s: abort */
#define REG_DEADLINE_BASE	120		/* s, whole FETCH ... */
#define REG_DEADLINE_RATE	(32 * 1024)	/* ... + max_size at this B/s */
#define REG_DEADLINE_MAX	(6 * 3600)	/* s */
#define REG_MAX_REDIRECTS	5
#define REG_MAX_REQUESTS	16		/* HTTP requests per FETCH */
#define REG_RETRIES		2		/* extra tries on 408/429/503 */
#define REG_RETRY_WAIT_MAX	2		/* s, cap on Retry-After */
#define REG_ERRBODY_MAX		(64 * 1024)	/* error body bytes read */
#define REG_HEADERS_MAX		(64 * 1024)	/* response header bytes */
#define REG_HEADERS_COUNT	256		/* response header lines */
#define REG_LOCATION_MAX	8192
#define REG_TOKEN_BODY_MAX	(256 * 1024)
#define REG_TOKEN_MAX		(16 * 1024)
#define REG_TOKEN_TTL_MIN	60		/* s, expires_in clamp */
#define REG_TOKEN_TTL_MAX	3600
#define REG_PROGRESS_MS		100
#define REG_USER_AGENT		"plugind/0.1"

#define REG_MT_SCHEMA2	"application/vnd.docker.distribution.manifest.v2+json"
#define REG_MT_LIST	"application/vnd.docker.distribution.manifest.list.v2+json"
#define REG_MT_OCI	"application/vnd.oci.image.manifest.v1+json"
#define REG_MT_OCIINDEX	"application/vnd.oci.image.index.v1+json"
#define REG_MT_SCHEMA1	"application/vnd.docker.distribution.manifest.v1+prettyjws"

enum reg_kind {
	REG_MANIFEST = 1,	/* == PD_FETCH_MANIFEST */
	REG_BLOB = 2,		/* == PD_FETCH_BLOB */
	REG_PUSH_BLOB = 3,	/* upload a blob (PUSH_BLOB) */
	REG_PUSH_MANIFEST = 4,	/* PUT a manifest (PUSH_MANIFEST) */
	REG_LOGIN = 5		/* check credentials (PD_FETCH_LOGIN) */
};

/* Pushes: blobs up to this size go in one PUT, larger ones in PATCHes. */
#define REG_PUSH_MONOLITHIC_MAX	(10 * 1024 * 1024)
#define REG_PUSH_CHUNK		(8 * 1024 * 1024)

/* Timeouts in seconds; 0 keeps the default.  Only tests change them. */
struct reg_timeouts {
	long	 connect;
	long	 low_speed_time;
	long	 deadline;	/* whole FETCH; default scales with max_size */
};

typedef void reg_progress_cb(void *, const char *, uint64_t, uint64_t);

struct reg_req {
	int		 kind;		/* enum reg_kind */
	const char	*scheme;	/* "https" or "http", chosen by the broker */
	const char	*host;		/* "host[:port]" */
	const char	*repo;		/* "library/foo" */
	const char	*reference;	/* tag or "sha256:<hex>" (blobs: digest) */
	const char	*username;	/* "" or NULL: none */
	const char	*secret;	/* password or identity token */
	int		 idtoken;	/* secret is an identity token */
	const char	*proxy;		/* "" or NULL: no proxy */
	uint64_t	 max_size;	/* manifest cap / exact blob size */
	int		 outfd;		/* the body goes here */
	int		 infd;		/* pushes: the body is read from here */
	const char	*mount_from;	/* push blob: "" or a repo to mount from */
	const char	*media_type;	/* pushes: blob/manifest media type */
	reg_progress_cb	*progress;	/* blobs only, at most every 100 ms */
	void		*progress_arg;
};

struct reg_res {
	long		 http_status;
	uint64_t	 size;
	char		 media_type[256];
	char		 digest[256];	/* Docker-Content-Digest, verified */
	int		 outcome;	/* pushes: PD_PUSHED_* */
};

struct reg_client;

struct reg_client *reg_client_new(void);
void	reg_client_free(struct reg_client *);
void	reg_client_timeouts(struct reg_client *, const struct reg_timeouts *);
int	reg_read_pem(int, char **, size_t *, struct pd_err *);
int	reg_client_add_tls(struct reg_client *, int, const char *, char *,
	    size_t, struct pd_err *);
int	reg_fetch(struct reg_client *, const struct reg_req *, struct reg_res *,
	    struct pd_err *);
int	reg_push(struct reg_client *, const struct reg_req *, struct reg_res *,
	    struct pd_err *);
int	reg_login(struct reg_client *, const struct reg_req *, struct reg_res *,
	    struct pd_err *);

/* Internals exported for the unit tests. */
enum reg_addrclass {
	REG_ADDR_PUBLIC = 0,
	REG_ADDR_LOOPBACK,
	REG_ADDR_PRIVATE,	/* RFC 1918, CGNAT, ULA */
	REG_ADDR_LINKLOCAL,
	REG_ADDR_RESERVED	/* unspecified, multicast, broadcast, ... */
};
int	reg_addr_class(const struct sockaddr *);
const char *reg_addr_class_name(int);
int	reg_parse_token(const char *, size_t, char **, long *, struct pd_err *);
int	reg_valid_repo(const char *);
int	reg_valid_tag(const char *);
int	reg_valid_host(const char *);
int	reg_resolve_location(const char *, const char *, char **, struct pd_err *);
void	reg_sanitize(char *, size_t);

#endif

/*
 * A strict, small HTTP/1.1 server side for one connection, used by the
 * unprivileged plugind-api process (docs/DOCKER_API.md).  Limits: the
 * request line and headers together at most HTTP_HDR_MAX bytes and
 * HTTP_MAXHDRS lines; bodies by Content-Length or strict chunked coding
 * only; every read and write has a deadline (slow clients lose their
 * connection).  No I/O but read(2), write(2) and poll(2) on the fd.
 */
#ifndef PD_HTTP_H
#define PD_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define HTTP_HDR_MAX		16384
#define HTTP_MAXHDRS		64
#define HTTP_JSON_MAX		(1024 * 1024)
#define HTTP_IDLE_MS		60000	/* keep-alive: wait for a request */
#define HTTP_HDR_MS		10000	/* whole header block once started */
#define HTTP_IO_MS		15000	/* any one body read */
#define HTTP_WRITE_MS		30000	/* any one response write */

struct http_conn {
	int		 fd;
	uint8_t		 buf[HTTP_HDR_MAX + 1];
	size_t		 len;		/* bytes in buf */
	size_t		 off;		/* consumed */
	int		 broken;	/* a read or write failed: close */
	int		 desync;	/* bad or cut-off input: answer, close */
};

struct http_hdr {
	char		*name;
	char		*value;
};

struct http_req {
	char		 method[16];
	char		*target;	/* as sent */
	char		*path;		/* percent-decoded, without the query */
	char		*query;		/* raw, after '?', or "" */
	int		 minor;		/* HTTP/1.x */
	struct http_hdr	 hdrs[HTTP_MAXHDRS];
	size_t		 nhdrs;
	int		 keepalive;
	int		 chunked;
	int64_t		 clen;		/* Content-Length, -1 if none */
	/* body state */
	uint64_t	 left;		/* in the current chunk or the body */
	int		 body_done;
	int		 started;	/* response status line sent */
	int		 streaming;	/* chunked response in progress */
	char		 scratch[HTTP_HDR_MAX + 1];
	char		 pathbuf[HTTP_HDR_MAX + 1];
};

/* 1 with a request, 0 on clean close between requests, -1 (e: status). */
int	 http_read_request(struct http_conn *, struct http_req *, struct pd_err *);
const char *http_header(const struct http_req *, const char *);
int	 http_query(const struct http_req *, const char *, char *, size_t);
int	 http_query_bool(const struct http_req *, const char *);
int	 http_body_read(struct http_conn *, struct http_req *, void *, size_t,
	    struct pd_err *);
int	 http_body_all(struct http_conn *, struct http_req *, size_t, char **,
	    size_t *, struct pd_err *);
int	 http_body_drain(struct http_conn *, struct http_req *);

int	 http_respond(struct http_conn *, struct http_req *, int, const char *,
	    const char *, const void *, size_t);
int	 http_error(struct http_conn *, struct http_req *, int, const char *);
int	 http_stream_begin(struct http_conn *, struct http_req *, const char *);
int	 http_stream_write(struct http_conn *, struct http_req *, const void *,
	    size_t);
int	 http_stream_end(struct http_conn *, struct http_req *);
const char *http_reason(int);
char	*http_json_message(const char *);

#endif

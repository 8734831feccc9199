/*
 * plugind-api: serves one Docker Engine API connection (the HTTP socket
 * is fd 4, accepted by the broker) and turns each request into control
 * requests on the broker channel (fd 3).  Unprivileged, no capabilities,
 * chrooted into an empty directory, seccomp-filtered (stdio, ipc, pipe),
 * one process per connection.  See docs/DOCKER_API.md, docs/PRIVSEP.md.
 */
#include <sys/stat.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "apid.h"
#include "child.h"
#include "log.h"
#include "proto.h"
#include "role.h"
#include "util.h"

#define API_HTTP_FD	4

static struct http_conn	conn;
static struct http_req	req;

int
main(int argc, char *argv[])
{
	struct api_ctx x;
	struct pd_setup s;
	struct pd_chan ch;
	struct pd_err e;
	struct stat st;
	int r;

	(void)argc;
	(void)argv;
	/* A client that goes away mid-answer is a write error, not a kill. */
	signal(SIGPIPE, SIG_IGN);
	/* jansson seeds its hash from /dev/urandom: do it before the sandbox */
	json_object_seed(0);
	if (fstat(API_HTTP_FD, &st) == -1 || !S_ISSOCK(st.st_mode))
		fatalx("fd %d is not the HTTP connection", API_HTTP_FD);
	pd_child_init(PD_ROLE_API, &ch, &s);
	pd_setup_free(&s);
	pd_chan_free(&ch);
	if (pd_set_nonblock(API_HTTP_FD) == -1)
		fatalx("cannot make the connection non-blocking");
	if (api_broker_init() == -1)
		fatalx("no HELLO from the broker");
	conn.fd = API_HTTP_FD;
	x.c = &conn;
	x.r = &req;
	for (;;) {
		r = http_read_request(&conn, &req, &e);
		if (r == 0)
			break;
		if (r == -1) {
			/* answer what can be answered, then close */
			if (e.code >= 400 && !conn.broken) {
				req.keepalive = 0;
				req.body_done = 1;
				if (req.method[0] == '\0')
					strcpy(req.method, "GET");
				(void)http_error(&conn, &req, e.code, e.msg);
			}
			break;
		}
		api_handle(&x);
		if (!req.keepalive || conn.broken || conn.desync)
			break;
		if (!req.body_done && http_body_drain(&conn, &req) == -1)
			break;
	}
	close(API_HTTP_FD);
	return 0;
}

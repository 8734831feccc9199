/*
 * plugind-api: serves one Docker Engine API connection (the HTTP socket
 * the broker accepted, passed in CONN once the sandbox is up) and turns
 * each request into control requests on the broker channel (fd 3).  Unprivileged, no capabilities,
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

static struct http_conn	conn;
static struct http_req	req;

/*
 * The connection: the fd of the broker's CONN, the first message after
 * SETUP_DONE.  The process may have waited as a warm spare for it
 * (broker/proc/helper.c), already sandboxed.
 */
static int
api_conn(struct pd_chan *ch)
{
	struct pd_msg m;
	struct pd_err e;
	struct stat st;
	int fd;

	if (pd_msg_recv(ch, &m, -1, &e) != 1)
		exit(0);	/* a spare the broker stopped */
	if (m.type != PD_MSG_CONN || pd_dec_fd_only(&m, &e) == -1)
		fatalx("expected CONN, got %s", pd_msg_name(m.type));
	fd = pd_msg_take_fd(&m);
	pd_msg_clear(&m);
	if (fd < 0 || fstat(fd, &st) == -1 || !S_ISSOCK(st.st_mode))
		fatalx("CONN does not carry the HTTP connection");
	return fd;
}

int
main(int argc, char *argv[])
{
	struct api_ctx x;
	struct pd_setup s;
	struct pd_chan ch;
	struct pd_err e;
	int r, fd;

	(void)argc;
	(void)argv;
	/* A client that goes away mid-answer is a write error, not a kill. */
	signal(SIGPIPE, SIG_IGN);
	/* jansson seeds its hash from /dev/urandom: do it before the sandbox */
	json_object_seed(0);
	pd_child_init(PD_ROLE_API, &ch, &s);
	pd_setup_free(&s);
	fd = api_conn(&ch);
	pd_chan_free(&ch);
	if (pd_set_nonblock(fd) == -1)
		fatalx("cannot make the connection non-blocking");
	if (api_broker_init() == -1)
		fatalx("no HELLO from the broker");
	conn.fd = fd;
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
	close(fd);
	return 0;
}

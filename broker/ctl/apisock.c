/*
 * The Docker Engine API socket (docs/DOCKER_API.md).  The broker never
 * parses HTTP: it accepts a connection, reads the peer's credentials
 * itself (SO_PEERCRED, SO_PEERGROUPS), and hands it to one sandboxed
 * plugind-api process per connection, in CONN: a warm spare, started
 * and checked before the connection came (proc/helper.c), or one started
 * now.
 * The API process sends ordinary control requests on its helper channel,
 * which the broker serves with the same code as the control socket and
 * the credentials it read, so authorization is identical by construction
 * and the API process cannot claim another identity.  The channel is the
 * connection id.  A crash of the API process ends that one connection.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "log.h"
#include "role.h"
#include "util.h"

static pthread_mutex_t	 api_mtx = PTHREAD_MUTEX_INITIALIZER;
static unsigned		 api_nconn;
static pid_t		 api_pids[PD_API_MAXCONN];	/* running, unreaped */

/* Caller holds api_mtx. */
static void
api_pid_set(pid_t old, pid_t new)
{
	size_t i;

	for (i = 0; i < PD_API_MAXCONN; i++)
		if (api_pids[i] == old) {
			api_pids[i] = new;
			return;
		}
}

struct api_conn {
	struct ctl_client	 c;
	int			 httpfd;
};

/*
 * A fixed answer for a connection no API process could take: written,
 * not parsed; the request itself is never read.
 */
static void
api_refuse(int fd, const char *why)
{
	char buf[512];
	int n;

	n = snprintf(buf, sizeof(buf), "HTTP/1.1 503 Service Unavailable\r\n"
	    "Content-Type: application/json\r\nConnection: close\r\n"
	    "Content-Length: %zu\r\n\r\n{\"message\":\"%s\"}\n",
	    strlen(why) + 15, why);
	if (n > 0 && (size_t)n < sizeof(buf))
		(void)pd_write_full(fd, buf, (size_t)n);
}

static void *
api_thread(void *arg)
{
	struct api_conn *a = arg;
	struct helper h;
	struct pd_err e, ie;

	if (helper_get(&h, PD_ROLE_API, NULL, NULL, &e) == -1) {
		log_warnx("docker api: cannot start the API process: %s", e.msg);
		api_refuse(a->httpfd, "plugind could not start its API process");
		close(a->httpfd);
		goto out;
	}
	if (pd_msg_send(h.sock, PD_MSG_CONN, 0, a->httpfd, NULL, 0, &ie) == -1) {
		(void)helper_send_failed(&h, &e, ie.msg);
		log_warnx("docker api: cannot start the API process: %s", e.msg);
		api_refuse(a->httpfd, "plugind could not start its API process");
		close(a->httpfd);
		goto out;
	}
	/* The HTTP socket now belongs to the API process alone. */
	close(a->httpfd);
	a->c.fd = h.sock;
	a->c.api_pid = h.pid;
	pthread_mutex_lock(&api_mtx);
	api_pid_set(0, h.pid);
	pthread_mutex_unlock(&api_mtx);
	h.chan.allow_fd = 1;	/* `create` passes its body as a pipe */
	control_serve(&a->c, &h.chan);
	/* Out of the list before it is reaped: a listed pid is our child. */
	pthread_mutex_lock(&api_mtx);
	api_pid_set(h.pid, 0);
	pthread_mutex_unlock(&api_mtx);
	helper_kill(&h);
out:
	control_count(a->c.uid, -1);
	pthread_mutex_lock(&api_mtx);
	api_nconn--;
	pthread_mutex_unlock(&api_mtx);
	free(a);
	return NULL;
}

static int
api_slot(uid_t uid)
{
	int ok;

	/*
	 * The last PD_API_ROOTCONN processes are root's: idle or slow
	 * connections from group members cannot lock root out of the API.
	 */
	pthread_mutex_lock(&api_mtx);
	ok = api_nconn < PD_API_MAXCONN - (uid == 0 ? 0 : PD_API_ROOTCONN);
	if (ok)
		api_nconn++;
	pthread_mutex_unlock(&api_mtx);
	if (ok && control_count(uid, 1) != NULL) {
		pthread_mutex_lock(&api_mtx);
		api_nconn--;
		pthread_mutex_unlock(&api_mtx);
		ok = 0;
	}
	return ok;
}

/* An API connection admitted or refused; a thread and process each. */
static void
take_api(int fd, const struct ucred *cred, int member)
{
	struct api_conn *a;

	if (!api_slot(cred->uid)) {
		api_refuse(fd, "too many connections to plugind");
		close(fd);
		return;
	}
	a = xcalloc(1, sizeof(*a));
	a->httpfd = fd;
	a->c.fd = -1;
	a->c.uid = cred->uid;
	a->c.gid = cred->gid;
	a->c.pid = cred->pid;
	a->c.member = member;
	if (control_thread(api_thread, a) != 0) {
		log_warnx("cannot start a docker api thread");
		close(fd);
		control_count(cred->uid, -1);
		pthread_mutex_lock(&api_mtx);
		api_nconn--;
		pthread_mutex_unlock(&api_mtx);
		free(a);
	}
}

/* Every pending API connection; the peer's identity read by the broker. */
void
api_accept(int lfd)
{
	control_accept_each(lfd, "docker api socket", api_refuse, take_api);
}

/*
 * At shutdown: end every API connection now (an idle keep-alive client
 * would otherwise hold the drain).  Safe: every listed pid is an API
 * process of ours that its thread has not reaped yet.
 */
void
api_shutdown(void)
{
	size_t i;

	pthread_mutex_lock(&api_mtx);
	for (i = 0; i < PD_API_MAXCONN; i++)
		if (api_pids[i] > 0)
			(void)kill(api_pids[i], SIGKILL);
	pthread_mutex_unlock(&api_mtx);
}

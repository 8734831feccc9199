/*
 * The control socket: pluginctl (and anything speaking our protocol)
 * connects here.  One thread per connection, bounded in number overall
 * and per uid; peer credentials come from the kernel (SO_PEERCRED and
 * SO_PEERGROUPS, read once at accept) and decide what a client may do.
 * A client that sends garbage loses its connection, nothing more.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "log.h"
#include "util.h"

struct uidcount {
	uid_t		 uid;
	unsigned	 n;
};

static pthread_mutex_t	 clients_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 clients_cv = PTHREAD_COND_INITIALIZER;
static unsigned		 nclients, nroot;
static int		 spare_fd = -1;	/* given up to refuse at EMFILE */
static struct uidcount	 peruid[256];
static gid_t		 ctl_gid = (gid_t)-1;

/*
 * Every connection holds a descriptor for its life; jobs, helpers and
 * plugin logs need more.  Raise the soft RLIMIT_NOFILE (never the hard
 * one) when it is below what the client limit needs.
 */
static void
size_nofile(void)
{
	rlim_t want = (rlim_t)conf.limits.max_clients + 256;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur < want)
		log_warnx("RLIMIT_NOFILE %llu is below the %llu that max-clients %u "
		    "needs: connections may be refused early",
		    (unsigned long long)rl.rlim_cur, (unsigned long long)want,
		    conf.limits.max_clients);
}

int
control_listen(const char *path, struct pd_err *e)
{
	struct sockaddr_un sun;
	struct group *gr;
	mode_t old;
	int fd;

	size_nofile();
	/* Kept in reserve so a refusal can still be accepted at EMFILE. */
	if (spare_fd == -1)
		spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return pd_errf(e, PD_E_INVAL, "socket path %s is too long (max %zu)",
		    path, sizeof(sun.sun_path) - 1);
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return pd_errno(e, PD_E_IO, "socket");
	/* Connect first: a live socket means another broker owns it. */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		close(fd);
		return pd_errf(e, PD_E_EXISTS,
		    "control socket %s is in use by another process", path);
	}
	close(fd);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1)
		return pd_errno(e, PD_E_IO, "socket");
	if (unlink(path) == -1 && errno != ENOENT) {
		close(fd);
		return pd_errno(e, PD_E_IO, "unlink %s", path);
	}
	/* Bind under a tight umask so the socket never exists wider than 0660. */
	old = umask(0117);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		close(fd);
		return pd_errno(e, PD_E_IO, "bind %s", path);
	}
	umask(old);
	/*
	 * Group access is for the verbs the table marks member (info, ls,
	 * inspect, privileges, events, check); the rest are checked against
	 * the peer's uid on each request.
	 */
	if ((gr = getgrnam(PD_CTL_GROUP)) != NULL) {
		ctl_gid = gr->gr_gid;
		if (chown(path, 0, gr->gr_gid) == -1)
			log_warn("chown %s", path);
	}
	if (chmod(path, 0660) == -1 || listen(fd, 128) == -1) {
		close(fd);
		return pd_errno(e, PD_E_IO, "listen %s", path);
	}
	return fd;
}

/*
 * Admission: at most max_clients connections; each non-root uid at most
 * max_clients_per_uid, and non-root uids together never take the last
 * reserved_root_clients slots, so a flood from group members cannot lock
 * root out.  Root has no per-uid cap: it is trusted (it can stop the
 * broker anyway) and its clients are bounded by max_clients.  Returns
 * NULL when admitted, else why not.
 */
const char *
control_count(uid_t uid, int delta)
{
	const struct pd_limits *l = &conf.limits;
	size_t i, free_slot = SIZE_MAX;
	const char *why = NULL;

	pthread_mutex_lock(&clients_mtx);
	for (i = 0; uid != 0 && i < sizeof(peruid) / sizeof(peruid[0]); i++) {
		if (peruid[i].n > 0 && peruid[i].uid == uid)
			break;
		if (peruid[i].n == 0 && free_slot == SIZE_MAX)
			free_slot = i;
	}
	if (i == sizeof(peruid) / sizeof(peruid[0]))
		i = free_slot;
	if (delta > 0) {
		if (nclients >= l->max_clients)
			why = "too many connections to plugind (limit max-clients)";
		else if (uid != 0 && (i == SIZE_MAX || peruid[i].n >=
		    l->max_clients_per_uid))
			why = "too many connections from this user (limit "
			    "max-clients-per-uid)";
		else if (uid != 0 && nclients - nroot >= l->max_clients -
		    l->reserved_root_clients)
			why = "too many connections to plugind (the rest are "
			    "reserved for root: reserved-root-clients)";
		else {
			if (uid == 0)
				nroot++;
			else {
				peruid[i].uid = uid;
				peruid[i].n++;
			}
			nclients++;
		}
	} else if (uid == 0 || (i != SIZE_MAX && peruid[i].n > 0)) {
		if (uid == 0)
			nroot--;
		else
			peruid[i].n--;
		nclients--;
		pthread_cond_broadcast(&clients_cv);
	}
	pthread_mutex_unlock(&clients_mtx);
	return why;
}

/*
 * Group access, decided once at accept from what the kernel recorded at
 * connect(): the primary gid from SO_PEERCRED and the supplementary
 * groups from SO_PEERGROUPS.  Both are the credentials of the process
 * that connected, fixed for the life of the socket, so neither a later
 * setgroups() nor the reuse of its pid changes the answer (reading
 * /proc/<pid>/status at request time would).
 */
static int
peer_member(int fd, const struct ucred *cred)
{
	gid_t small[64], *g = small;
	socklen_t len = sizeof(small);
	size_t i, n;
	int found = 0;

	if (ctl_gid == (gid_t)-1)
		return 0;
	if (cred->gid == ctl_gid)
		return 1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) == -1) {
		if (errno != ERANGE || len == 0 || len > 65536 * sizeof(gid_t)) {
			log_warn("SO_PEERGROUPS");
			return 0;
		}
		/* More groups than fit: len now says how many bytes. */
		g = xmalloc(len);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) == -1) {
			log_warn("SO_PEERGROUPS");
			free(g);
			return 0;
		}
	}
	n = len / sizeof(gid_t);
	for (i = 0; i < n && !found; i++)
		found = g[i] == ctl_gid;
	if (g != small)
		free(g);
	return found;
}

static void
reply_fail(struct ctl_client *c, int code, const char *msg)
{
	if (!c->gone && pd_send_error(c->fd, PD_CTL_FAIL, c->reqid, (uint32_t)code,
	    msg, NULL) == -1)
		c->gone = 1;
}

/*
 * Between requests a client may stay silent for idle_timeout; once the
 * first byte of a request is here, all of it must follow within
 * client_timeout (pd_msg_recv's deadline), so trickling a byte at a time
 * holds a connection for client_timeout at most.  1: go on reading, 0:
 * close.
 */
static int
wait_request(struct ctl_client *c, struct pd_chan *ch)
{
	struct pollfd p = { c->fd, POLLIN, 0 };
	int r;

	if (ch->buflen > 0)
		return 1;	/* pipelined: already started */
	do
		r = poll(&p, 1, (int)conf.limits.idle_timeout * 1000);
	while (r == -1 && errno == EINTR);
	if (r == 0) {
		log_debug("control client pid %d: idle for %u s, closing",
		    (int)c->pid, conf.limits.idle_timeout);
		reply_fail(c, PD_E_PROTO, "idle connection closed");
		return 0;
	}
	return 1;
}

/*
 * A LOG line from the API process serving this connection (it logs on
 * the same channel it sends requests on).  Anything else that is not a
 * request is a protocol violation, as for any client.
 */
static int
api_log(struct ctl_client *c, struct pd_msg *m)
{
	struct pd_log l;
	struct pd_err e;
	char prefix[32];

	if (c->api_pid <= 0 || m->type != PD_MSG_LOG)
		return 0;
	if (pd_dec_log(m, &l, &e) == 0) {
		snprintf(prefix, sizeof(prefix), "api[%d]", (int)c->api_pid);
		pd_strvis(l.line);
		log_emit((int)l.level, prefix, l.line);
		pd_log_free(&l);
	}
	pd_msg_clear(m);
	return 1;
}

/*
 * The HELLO exchange that opens a connection: the client's protocol
 * version must be ours.  0, or -1: close the connection.
 */
static int
control_hello(struct ctl_client *c, struct pd_chan *ch)
{
	struct pd_hello h;
	struct pd_msg m;
	struct pd_err e;
	char buf[128];
	int r;

	do
		r = pd_msg_recv(ch, &m, (int)conf.limits.client_timeout * 1000,
		    &e);
	while (r == 1 && api_log(c, &m));
	if (r != 1)
		return -1;
	c->reqid = m.id;
	if (m.type != PD_MSG_HELLO || pd_dec_hello(&m, &h, &e) == -1) {
		reply_fail(c, PD_E_PROTO, "expected HELLO");
		pd_msg_clear(&m);
		return -1;
	}
	pd_msg_clear(&m);
	if (h.version != PD_PROTO_VERSION) {
		snprintf(buf, sizeof(buf), "protocol version %u not supported "
		    "(plugind %s speaks %d)", h.version, PD_VERSION, PD_PROTO_VERSION);
		reply_fail(c, PD_E_PROTO, buf);
		pd_hello_free(&h);
		return -1;
	}
	pd_hello_free(&h);
	h.version = PD_PROTO_VERSION;
	h.agent = (char *)(uintptr_t)"plugind " PD_VERSION;
	if (pd_send_hello(c->fd, c->reqid, &h, &e) == -1)
		return -1;
	return 0;
}

/*
 * The verb table (common/proto.c) decides: root may do everything, group
 * members only the verbs marked member.  Every refused root-only request
 * is audited.  1: go on; 0: refused (the client has been told).
 */
static int
control_permitted(struct ctl_client *c, const struct pd_verb *v,
    struct pd_ctlreq *q)
{
	if (!v->member && c->uid != 0) {
		reply_fail(c, PD_E_PERM, "permission denied: this command "
		    "needs root");
		audit_request(c, v, q, 0, "permission denied");
		return 0;
	}
	if (c->uid != 0 && !c->member) {
		reply_fail(c, PD_E_PERM, "permission denied: not root and "
		    "not in group " PD_CTL_GROUP);
		return 0;
	}
	return 1;
}

/*
 * Serve one request (m, consumed): decode it, check the peer may make it,
 * run it and answer.  -1: close the connection (a request that does not
 * decode, or an I/O failure).
 */
static int
control_request(struct ctl_client *c, struct pd_msg *m)
{
	const struct pd_verb *v;
	struct pd_ctlreq q;
	struct pd_err e;
	int r = 0, fd;

	c->reqid = m->id;
	if (pd_dec_ctlreq(m, &q, &e) == -1) {
		log_info("control client pid %d uid %u: %s", (int)c->pid,
		    (unsigned)c->uid, e.msg);
		reply_fail(c, PD_E_PROTO, e.msg);
		pd_msg_clear(m);
		return -1;
	}
	v = pd_verb_lookup(m->type);
	fd = pd_msg_take_fd(m);
	pd_msg_clear(m);
	if (control_permitted(c, v, &q)) {
		pd_err_clear(&e);
		r = op_dispatch(c, m->type, &q, fd, &e);
		fd = -1;
		/* Every mutating request, with its outcome. */
		if (v->mutating)
			audit_request(c, v, &q, r == 0, r == 0 ? NULL : e.msg);
		if (r == -1)
			reply_fail(c, e.code ? e.code : PD_E_INTERNAL, e.msg);
		else if (!c->gone && pd_msg_send(c->fd, PD_CTL_OK, c->reqid,
		    -1, NULL, 0, &e) == -1)
			c->gone = 1;
	}
	if (fd >= 0)
		close(fd);
	pd_ctlreq_free(&q);
	return r == -1 && e.code == PD_E_IO ? -1 : 0;
}

/*
 * Serve one control connection on c->fd: HELLO, then requests until the
 * peer closes.  c->uid/gid/pid are what the kernel said about the peer
 * (SO_PEERCRED, read by the broker): a request cannot claim another.
 * `chp` is the channel already reading c->fd (the API process's helper
 * channel, which may hold read-ahead bytes), or NULL for a fresh one.
 */
void
control_serve(struct ctl_client *c, struct pd_chan *chp)
{
	struct pd_chan chl, *chp_own = NULL;
	struct pd_msg m;
	struct pd_err e;
	int r;

	if (chp == NULL) {
		if (pd_chan_init(&chl, c->fd, 1) == -1)
			return;
		chp = chp_own = &chl;
	}
	if (control_hello(c, chp) == -1)
		goto done;
	while (!pd_quit && !c->gone) {
		if ((r = wait_request(c, chp)) == 1)
			r = pd_msg_recv(chp, &m, (int)conf.limits.client_timeout * 1000,
			    &e);
		if (r == 0)
			break;
		if (r == -1) {
			log_debug("control client pid %d: %s", (int)c->pid, e.msg);
			reply_fail(c, PD_E_PROTO, e.msg);
			break;
		}
		if (api_log(c, &m))
			continue;
		if (control_request(c, &m) == -1)
			break;
	}
done:
	if (chp_own != NULL)
		pd_chan_free(chp_own);
}

static void *
client_thread(void *arg)
{
	struct ctl_client *c = arg;

	control_serve(c, NULL);
	close(c->fd);
	control_count(c->uid, -1);
	free(c);
	return NULL;
}

/* Turn a connection away with a reason it can print, then close it. */
static void
say_refusal(int fd, const char *why)
{
	/* A fresh socket's buffer is empty: this small write cannot block. */
	(void)pd_send_error(fd, PD_CTL_FAIL, 0, PD_E_LIMIT, why, NULL);
}

static void
refuse(int fd, const char *why)
{
	say_refusal(fd, why);
	close(fd);
}

/*
 * Out of descriptors: the pending connection would stay in the backlog
 * and keep the listening socket readable, so the main loop would spin.
 * Give up the spare descriptor, accept the connection, refuse it and take
 * the spare back; without a spare, pause briefly instead.
 */
static void
control_emfile(int lfd, const char *what, void (*say)(int, const char *))
{
	static time_t last;
	time_t now = time(NULL);
	int fd = -1;

	if (now != last)
		log_warnx("%s: out of file descriptors; refusing connections",
		    what);
	last = now;
	if (spare_fd != -1) {
		close(spare_fd);
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd != -1) {
			say(fd, "plugind is out of file descriptors");
			close(fd);
		}
		spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	if (fd == -1)
		(void)poll(NULL, 0, 100);
}

/* A detached thread with a bounded stack; pthread_create's result. */
int
control_thread(void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	pthread_t t;
	int rc;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 1024 * 1024);
	rc = pthread_create(&t, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	return rc;
}

/* A control connection admitted or refused, then its own thread. */
static void
take_client(int fd, const struct ucred *cred, int member)
{
	struct ctl_client *c;
	const char *why;
	struct timeval tv;
	int rc;

	/* A client that stops reading must not pin a thread forever. */
	tv.tv_sec = conf.limits.send_timeout;
	tv.tv_usec = 0;
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if ((why = control_count(cred->uid, 1)) != NULL) {
		log_debug("refused a connection from uid %u pid %d: %s",
		    (unsigned)cred->uid, (int)cred->pid, why);
		refuse(fd, why);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	c->uid = cred->uid;
	c->gid = cred->gid;
	c->pid = cred->pid;
	c->member = member;
	if ((rc = control_thread(client_thread, c)) != 0) {
		log_warnx("cannot start a client thread: %s", strerror(rc));
		refuse(fd, "plugind cannot start a thread for this connection");
		control_count(cred->uid, -1);
		free(c);
	}
}

/*
 * Accept pending connections on `lfd` (at most 64 per call, so signals
 * are still read during a flood) and hand each, with its peer's
 * credentials as the kernel reports them (uid, gid, pid from SO_PEERCRED;
 * group membership from SO_PEERGROUPS, see peer_member), to `take`,
 * which admits it or refuses it at once: nothing queues in the broker.  At EMFILE, `say`
 * words the refusal for this socket's protocol.
 */
void
control_accept_each(int lfd, const char *what, void (*say)(int, const char *),
    void (*take)(int, const struct ucred *, int))
{
	struct ucred cred;
	socklen_t len;
	int fd, n;

	for (n = 0; n < 64; n++) {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE)
				control_emfile(lfd, what, say);
			else if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				log_warn("accept on the %s", what);
			return;
		}
		len = sizeof(cred);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
			log_warn("SO_PEERCRED");
			close(fd);
			continue;
		}
		take(fd, &cred, peer_member(fd, &cred));
	}
}

void
control_accept(int lfd)
{
	control_accept_each(lfd, "control socket", say_refusal, take_client);
}

/* At shutdown: give running requests up to `secs` to finish. */
void
control_drain(int secs)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += secs;
	pthread_mutex_lock(&clients_mtx);
	while (nclients > 0)
		if (pthread_cond_timedwait(&clients_cv, &clients_mtx, &ts) != 0)
			break;
	if (nclients > 0)
		log_warnx("%u requests still running at exit", nclients);
	pthread_mutex_unlock(&clients_mtx);
}

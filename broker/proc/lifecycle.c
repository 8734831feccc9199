/*
 * Running plugins: enable, disable, rm, supervision of running plugins,
 * recovery at broker start, and shutdown.
 *
 * Each plugin has a runtime record (struct rt).  Its `op` mutex
 * serialises lifecycle operations on that plugin (enable, disable, rm,
 * restarts; set checks it); lock order is op, then plugins_lock, then
 * rt_mtx.  rt_mtx guards the process fields of every record and is the
 * only lock the orphan reaper takes.
 *
 * How the broker learns that a plugin exited:
 *  - a plugin started by this broker is its child (runc run -d leaves it
 *    to the subreaper): the SIGCHLD reaper hands the status to
 *    runtime_reap(), under rt_mtx, so a pid is never reaped between our
 *    reading it from runc's pid file and registering it;
 *  - a plugin adopted after a broker restart is not our child: one
 *    watcher thread polls the pidfds of all adopted plugins.
 * An exit nobody asked for wakes the supervisor thread, which records
 * an "exit" event and restarts the plugin with capped backoff.
 */
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proc/proc.h"
#include "crashpoint.h"
#include "log.h"
#include "util.h"

enum rt_state {
	RT_STOPPED,	/* not running */
	RT_STARTING,	/* enable in progress */
	RT_RUNNING,	/* ready, supervised */
	RT_STOPPING,	/* disable in progress */
	RT_EXITED	/* enabled, but the process is gone: restart pending */
};

struct rt {
	char		 id[PD_PLUGIN_ID_LEN + 1];
	char		 name[600];
	pthread_mutex_t	 op;
	/* The fields below are guarded by rt_mtx. */
	int		 state;
	pid_t		 pid;
	int		 pidfd;
	int		 child;		/* pid is our child (else: adopted) */
	int		 exited;
	int		 status;	/* wait status, -1 when not known */
	int		 unexpected;	/* exit the supervisor has to handle */
	int		 busy;		/* a restart thread owns it */
	uint64_t	 started_ms;
	uint64_t	 restart_at;	/* CLOCK_MONOTONIC ms, 0: none */
	uint64_t	 backoff_ms;
	unsigned	 restarts;
	struct rt	*next;
};

#define BACKOFF_MIN_MS	100
#define BACKOFF_MAX_MS	30000
#define STABLE_MS	60000	/* running this long resets the backoff */

static pthread_mutex_t	 rt_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 rt_cv;
static struct rt	*rts;
static int		 watch_efd = -1;

/* Exits reaped before their pid was registered (crash right at start). */
static struct {
	pid_t		 pid;
	int		 status;
	uint64_t	 ms;
} early[64];
static unsigned		 early_next;

/* Wait on rt_cv (rt_mtx held) for at most ms milliseconds. */
static void
rt_wait(uint64_t ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	(void)pthread_cond_timedwait(&rt_cv, &rt_mtx, &ts);
}

static void
watcher_wake(void)
{
	uint64_t one = 1;

	if (watch_efd >= 0)
		(void)!write(watch_efd, &one, sizeof(one));
}

static struct rt *
rt_get(const char *id)
{
	struct rt *r;

	pthread_mutex_lock(&rt_mtx);
	for (r = rts; r != NULL; r = r->next)
		if (strcmp(r->id, id) == 0)
			break;
	if (r == NULL) {
		r = xcalloc(1, sizeof(*r));
		snprintf(r->id, sizeof(r->id), "%s", id);
		pthread_mutex_init(&r->op, NULL);
		r->pidfd = -1;
		r->status = -1;
		r->next = rts;
		rts = r;
	}
	pthread_mutex_unlock(&rt_mtx);
	return r;
}

/* rt_mtx held. */
static void
rt_exit_locked(struct rt *r, int status)
{
	r->exited = 1;
	r->status = status;
	if (r->state == RT_RUNNING) {
		r->state = RT_EXITED;
		r->unexpected = 1;
	}
	pthread_cond_broadcast(&rt_cv);
}

/*
 * Called by the orphan reaper (owned_mtx held) for a zombie nobody owns:
 * reap it here, under rt_mtx, and give the status to its plugin.
 */
void
runtime_reap(pid_t pid)
{
	struct rt *r;
	int st;

	pthread_mutex_lock(&rt_mtx);
	if (waitpid(pid, &st, WNOHANG) == pid) {
		for (r = rts; r != NULL; r = r->next)
			if (r->child && r->pid == pid && !r->exited)
				break;
		if (r != NULL)
			rt_exit_locked(r, st);
		else {
			early[early_next % 64].pid = pid;
			early[early_next % 64].status = st;
			early[early_next % 64].ms = pd_now_ms();
			early_next++;
		}
	}
	pthread_mutex_unlock(&rt_mtx);
}

/* Reap the plugin processes we know, whatever else is waiting. */
void
runtime_reap_known(void)
{
	struct rt *r;
	int st;

	pthread_mutex_lock(&rt_mtx);
	for (r = rts; r != NULL; r = r->next)
		if (r->child && r->pid > 0 && !r->exited &&
		    waitpid(r->pid, &st, WNOHANG) == r->pid)
			rt_exit_locked(r, st);
	pthread_mutex_unlock(&rt_mtx);
}

/* Take over pid as r's process (child: started by us). */
static void
rt_attach(struct rt *r, pid_t pid, int child)
{
	uint64_t now = pd_now_ms();
	unsigned i;

	pthread_mutex_lock(&rt_mtx);
	r->pid = pid;
	r->child = child;
	r->exited = 0;
	r->status = -1;
	r->unexpected = 0;
	if (r->pidfd >= 0)
		close(r->pidfd);
	r->pidfd = -1;
	for (i = 0; child && i < 64; i++)
		if (early[i].pid == pid && now - early[i].ms < 60000) {
			early[i].pid = 0;
			r->exited = 1;
			r->status = early[i].status;
		}
	/*
	 * An unreaped pid cannot be reused, and reaping it needs rt_mtx:
	 * this pidfd is the plugin's.
	 */
	if (!r->exited) {
		r->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		if (r->pidfd == -1 && errno == ESRCH)
			r->exited = 1;
		else if (r->pidfd >= 0)
			(void)pd_set_cloexec(r->pidfd);
	}
	pthread_mutex_unlock(&rt_mtx);
	if (!child)
		watcher_wake();
}

static void
rt_detach(struct rt *r, int state)
{
	pthread_mutex_lock(&rt_mtx);
	if (r->pidfd >= 0)
		close(r->pidfd);
	r->pidfd = -1;
	r->pid = 0;
	r->child = 0;
	r->state = state;
	pthread_cond_broadcast(&rt_cv);
	pthread_mutex_unlock(&rt_mtx);
	watcher_wake();
}

/*
 * Signal the plugin.  Safety: through its pidfd, which names the process
 * we started or adopted and no other, even after the pid is reused; the
 * runtime's `kill` (which checks the container's start time) only when
 * there is no pidfd.
 */
static void
rt_signal(struct rt *r, int sig)
{
	const char *args[] = { "kill", r->id, sig == SIGKILL ? "KILL" : "TERM",
	    NULL };
	struct pd_err e;
	int sent = 0, st;

	pthread_mutex_lock(&rt_mtx);
	if (!r->exited && r->pidfd >= 0 &&
	    syscall(SYS_pidfd_send_signal, r->pidfd, sig, NULL, 0) == 0)
		sent = 1;
	if (r->exited)
		sent = 1;
	pthread_mutex_unlock(&rt_mtx);
	if (!sent)
		(void)runtime_runc(args, -1, NULL, 0, 10000, &st, &e);
}

/* Wait until r's process exited or ms passed; 1 if it exited. */
static int
rt_wait_exit(struct rt *r, uint64_t ms)
{
	uint64_t end = pd_now_ms() + ms, now;
	int ex;

	for (;;) {
		runtime_reap_known();
		pthread_mutex_lock(&rt_mtx);
		ex = r->exited || r->pid == 0;
		now = pd_now_ms();
		if (!ex && now < end)
			rt_wait(end - now < 50 ? end - now : 50);
		ex = r->exited || r->pid == 0;
		pthread_mutex_unlock(&rt_mtx);
		if (ex || pd_now_ms() >= end)
			return ex;
	}
}

static void
describe_status(int status, char *buf, size_t len)
{
	if (status == -1)
		snprintf(buf, len, "exited (its exit status is unknown: it was "
		    "adopted after a plugind restart)");
	else if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "was killed by signal %d (%s)", WTERMSIG(status),
		    strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "ended (wait status 0x%x)", status);
}

static json_t *
status_attrs(int status)
{
	json_t *a = json_object();

	if (status != -1 && WIFEXITED(status))
		json_object_set_new(a, "exitCode", json_sprintf("%d",
		    WEXITSTATUS(status)));
	else if (status != -1 && WIFSIGNALED(status))
		json_object_set_new(a, "signal", json_sprintf("%d", WTERMSIG(status)));
	else
		json_object_set_new(a, "exitCode", json_string("unknown"));
	return a;
}

/* ---- the plugin's filesystem around a run ---- */

static int
rm_path(const char *path, struct pd_err *e)
{
	char *dir = xstrdup(path), *base = strrchr(dir, '/');
	int dfd, rc = 0;

	*base = '\0';
	if ((dfd = open(dir[0] ? dir : "/", O_DIRECTORY | O_RDONLY | O_CLOEXEC)) ==
	    -1)
		rc = errno == ENOENT ? 0 : pd_errno(e, PD_E_IO, "open %s", dir);
	else {
		rc = pd_rm_rf_at(dfd, base + 1, e);
		close(dfd);
	}
	free(dir);
	return rc;
}

/*
 * Everything a run leaves on the host, except the plugin's own log
 * (its log writer is waited for, or killed).
 * Safety: the socket directory's contents were the plugin's to make;
 * pd_rm_rf_at never follows a symlink and never enters another mount, and
 * the mounts below the plugin and socket directories are detached first.
 */
static int
rt_cleanup(const char *id, struct pd_err *e)
{
	char state[4200];
	struct rt_paths rp;
	struct pd_err ie;
	int rc = 0;

	rt_paths(id, &rp);
	/* Engines lose the plugin first: its gateway and published socket. */
	gateway_stop(id, rt_get(id)->name);
	snprintf(state, sizeof(state), "%s/%s", rp.runc_root, id);
	if (access(state, F_OK) == 0 && runtime_delete(id, &ie) == -1) {
		log_warnx("plugin %s: %s", id, ie.msg);
		*e = ie;
		rc = -1;
	}
	/* The plugin is gone: its log writer drains the pipe and exits. */
	plugin_logger_wait(id, 2000);
	if (runtime_unmount_under(rp.plugdir, &ie) == -1) {
		*e = ie;
		rc = -1;
	}
	/*
	 * The socket directory is bound rprivate, so a plugin's mounts there
	 * stay in its namespace; anything that still reached the host (a
	 * broker before that change, an outside hand) is detached here, or
	 * rm_path would stop at it and every later enable fail.
	 */
	if (runtime_unmount_under(rp.sockdir, &ie) == -1) {
		log_warnx("plugin %s: %s", id, ie.msg);
		*e = ie;
		rc = -1;
	}
	if (rm_path(rp.sockdir, &ie) == -1) {
		log_warnx("plugin %s: %s", id, ie.msg);
		*e = ie;
		rc = -1;
	}
	if (rm_path(rp.bundle, &ie) == -1) {
		log_warnx("plugin %s: %s", id, ie.msg);
		*e = ie;
		rc = -1;
	}
	return rc;
}

/* Is there a listening socket `name` in the directory dirfd?  No symlinks. */
static int
sock_ready(int dirfd, const char *name)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd, s, ok = 0;

	fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return 0;
	if (fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode)) {
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		/* The magic link also lifts the 108-byte sun_path limit. */
		snprintf(sun.sun_path, sizeof(sun.sun_path), "/proc/self/fd/%d", fd);
		s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (s >= 0) {
			if (connect(s, (struct sockaddr *)&sun, sizeof(sun)) == 0 ||
			    errno == EAGAIN || errno == EINPROGRESS)
				ok = 1;
			close(s);
		}
	}
	close(fd);
	return ok;
}

/* The last lines the plugin wrote since offset `from`, indented. */
static void
log_tail(const char *plugdir, off_t from, char *out, size_t len)
{
	char path[4200], buf[4096], *p, *start;
	int fd, lines = 0;
	struct stat st;
	ssize_t n;
	off_t off;
	size_t o = 0;

	out[0] = '\0';
	snprintf(path, sizeof(path), "%s/logs/log", plugdir);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return;
	if (fstat(fd, &st) == 0 && st.st_size < from)
		from = 0;		/* rotated meanwhile */
	if (fstat(fd, &st) == -1 || st.st_size <= from) {
		close(fd);
		return;
	}
	off = st.st_size - from > (off_t)sizeof(buf) - 1 ?
	    st.st_size - (off_t)sizeof(buf) + 1 : from;
	n = pread(fd, buf, sizeof(buf) - 1, off);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	for (start = buf + n; start > buf && lines < 8; start--)
		if (start[-1] == '\n' && ++lines == 8)
			break;
	if (off != from && start == buf)
		start += strcspn(start, "\n") + (buf[strcspn(buf, "\n")] ? 1 : 0);
	for (p = start; *p != '\0' && o + 8 < len;) {
		size_t l = strcspn(p, "\n");
		char one[164];

		snprintf(one, sizeof(one), "%.*s", (int)(l > 160 ? 160 : l), p);
		pd_strvis(one);
		o += (size_t)snprintf(out + o, len - o, "\n  | %s", one);
		if (o >= len)
			o = len - 1;
		p += l;
		if (*p == '\n')
			p++;
	}
}

static int
read_pidfile(const char *bundle, pid_t *pid)
{
	char path[4200], buf[32];
	long v;

	snprintf(path, sizeof(path), "%s/init.pid", bundle);
	if (pd_read_small(path, buf, sizeof(buf)) == -1)
		return -1;
	v = strtol(buf, NULL, 10);
	if (v <= 1)
		return -1;
	*pid = (pid_t)v;
	return 0;
}

/* The size of the plugin's current log, where this run's output starts. */
static off_t
log_size(const char *plugdir)
{
	char path[4200];
	struct stat st;

	snprintf(path, sizeof(path), "%s/logs/log", plugdir);
	return stat(path, &st) == 0 ? st.st_size : 0;
}

/* What one start holds until it is running or undone. */
struct rt_run {
	struct rt_paths	 rp;
	const char	*sock;		/* Interface.Socket */
	const char	*pm;		/* PropagatedMount */
	json_t		*spec;
	char		*txt;		/* spec as written to config.json */
	uint64_t	 start;		/* pd_now_ms() when the start began */
	off_t		 logoff;	/* where this run's output starts */
	int		 rootfd, sockfd, bfd, logfd;
};

static void
run_init(struct rt_run *u, struct rt *r, const json_t *pobj)
{
	const json_t *cfg = json_object_get(pobj, "Config");

	u->sock = json_string_value(json_object_get(json_object_get(cfg,
	    "Interface"), "Socket"));
	u->pm = json_string_value(json_object_get(cfg, "PropagatedMount"));
	u->spec = NULL;
	u->txt = NULL;
	u->logoff = 0;
	u->rootfd = u->sockfd = u->bfd = u->logfd = -1;
	rt_paths(r->id, &u->rp);
	pthread_mutex_lock(&rt_mtx);
	r->state = RT_STARTING;
	r->exited = 0;
	r->status = -1;
	r->unexpected = 0;
	r->restart_at = 0;
	pthread_mutex_unlock(&rt_mtx);
	u->start = pd_now_ms();
}

static void
run_release(struct rt_run *u)
{
	if (u->logfd >= 0)
		close(u->logfd);
	if (u->rootfd >= 0)
		close(u->rootfd);
	if (u->sockfd >= 0)
		close(u->sockfd);
	if (u->bfd >= 0)
		close(u->bfd);
	free(u->txt);
	json_decref(u->spec);
}

/*
 * Everything the runtime needs before `run`: a checked rootfs, the
 * socket and bundle directories, config.json and the plugin's logger.
 */
static int
run_prepare(struct rt *r, const json_t *pobj, struct rt_run *u,
    struct pd_err *e)
{
	char rootfs[4200];

	/* Whatever an earlier run left behind goes first. */
	if (rt_cleanup(r->id, e) == -1)
		return -1;
	if (runtime_spec(r->id, pobj, &u->spec, e) == -1)
		return -1;
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", u->rp.plugdir);
	if ((u->rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return pd_errno(e, PD_E_IO, "plugin rootfs %s", rootfs);
	if (runtime_preflight(u->rootfd, pobj, e) == -1 ||
	    runtime_initlayer(u->rootfd, pobj, e) == -1)
		return -1;
	if (u->pm != NULL && u->pm[0] != '\0' &&
	    runtime_propagated_mount(u->rp.plugdir, e) == -1)
		return -1;
	if (mkdir(u->rp.sockdir, 0700) == -1 || (u->sockfd = open(u->rp.sockdir,
	    O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return pd_errno(e, PD_E_IO, "socket directory %s",
		    u->rp.sockdir);
	if (strlen(u->rp.sockdir) + 1 + strlen(u->sock) >=
	    sizeof(((struct sockaddr_un *)NULL)->sun_path))
		log_warnx("plugin %s: socket path %s/%s is longer than a unix "
		    "socket address allows: clients on the host cannot connect to it "
		    "(use a shorter --exec-root)", r->id, u->rp.sockdir,
		    u->sock);
	if (mkdir(u->rp.bundle, 0700) == -1 || (u->bfd = open(u->rp.bundle,
	    O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return pd_errno(e, PD_E_IO, "bundle directory %s",
		    u->rp.bundle);
	u->txt = json_dumps(u->spec, JSON_INDENT(1));
	if (u->txt == NULL || pd_atomic_write(u->bfd, "config.json", u->txt,
	    strlen(u->txt), 0600, e) == -1)
		return -1;
	u->logoff = log_size(u->rp.plugdir);
	return plugin_logger_start(r->id, &u->logfd, e);
}

/* `runc run -d` the prepared bundle and attach to the plugin's process. */
static int
run_runc(struct rt *r, struct rt_run *u, unsigned timeout_s, struct pd_err *e)
{
	char rlog[4200], pidpath[4200], rerr[512];
	const char *args[16];
	int st, na = 0;
	pid_t pid;

	snprintf(rlog, sizeof(rlog), "%s/runc.log", u->rp.bundle);
	snprintf(pidpath, sizeof(pidpath), "%s/init.pid", u->rp.bundle);
	args[na++] = "--log";
	args[na++] = rlog;
	args[na++] = "--log-format";
	args[na++] = "json";
	args[na++] = "run";
	args[na++] = "-d";
	args[na++] = "--pid-file";
	args[na++] = pidpath;
	args[na++] = "--bundle";
	args[na++] = u->rp.bundle;
	args[na++] = r->id;
	args[na] = NULL;
	if (runtime_runc(args, u->logfd, NULL, 0, (int)timeout_s * 1000 + 30000,
	    &st, e) == -1)
		return -1;
	close(u->logfd);
	u->logfd = -1;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
	    read_pidfile(u->rp.bundle, &pid) == -1) {
		runtime_last_error(rlog, rerr, sizeof(rerr));
		if (rerr[0] == '\0')
			snprintf(rerr, sizeof(rerr), "%s run failed", conf.runtime);
		return pd_errf(e, PD_E_UNAVAIL, "%s%s", rerr, strstr(rerr,
		    "exec format error") ? " (the entrypoint is built for another "
		    "architecture, or is not an executable)" : "");
	}
	rt_attach(r, pid, 1);
	return 0;
}

/*
 * Wait up to `delay` ms (never past deadline) for r to exit.  Whether it
 * has, with its wait status in *status.
 */
static int
run_poll_exit(struct rt *r, const struct rt_run *u, uint64_t deadline,
    uint64_t delay, int *status)
{
	struct pollfd pfd;
	uint64_t now;
	int exited;

	runtime_reap_known();
	pthread_mutex_lock(&rt_mtx);
	exited = r->exited;
	*status = r->status;
	pfd.fd = exited ? -1 : r->pidfd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	pthread_mutex_unlock(&rt_mtx);
	now = pd_now_ms();
	if (!exited && now < deadline) {
		(void)poll(&pfd, 1, (int)(deadline - now < delay ?
		    deadline - now : delay));
		if (pfd.revents & POLLIN) {
			/* Exited: its status comes with the reaping. */
			(void)rt_wait_exit(r, 1000);
			pthread_mutex_lock(&rt_mtx);
			exited = r->exited;
			*status = r->status;
			pthread_mutex_unlock(&rt_mtx);
			if (exited && sock_ready(u->sockfd, u->sock))
				exited = 0;
		}
	}
	return exited;
}

/* The plugin exited with `status` before it listened: say why. */
static int
run_exit_error(struct rt *r, const struct rt_run *u, int status,
    struct pd_err *e)
{
	char why[256], tail[700];

	describe_status(status, why, sizeof(why));
	/* Its last words are in the pipe until the writer drains it. */
	plugin_logger_wait(r->id, 1000);
	log_tail(u->rp.plugdir, u->logoff, tail, sizeof(tail));
	return pd_errf(e, PD_E_UNAVAIL, "plugin %s %s before it listened on "
	    "/run/docker/plugins/%s%s%s%s", r->name, why, u->sock,
	    strstr(tail, "exec format error") ? " (exec format error: "
	    "built for another architecture?)" : "",
	    tail[0] ? "; its last output:" : " (it wrote no output)", tail);
}

/* The plugin did not listen within timeout_s: say so. */
static int
run_timeout_error(struct rt *r, const struct rt_run *u, unsigned timeout_s,
    struct pd_err *e)
{
	char tail[700];

	log_tail(u->rp.plugdir, u->logoff, tail, sizeof(tail));
	return pd_errf(e, PD_E_UNAVAIL, "plugin %s did not listen on "
	    "/run/docker/plugins/%s within %u s (timeout; pluginctl "
	    "enable --timeout SECONDS waits longer)%s%s", r->name, u->sock,
	    timeout_s, tail[0] ? "; its last output:" : "", tail);
}

/*
 * Readiness: the socket accepts a connection.  We wake when the
 * plugin exits (its pidfd) or after a backoff of 1 ms doubling to
 * 100 ms.  (No inotify: closing an inotify instance costs ~13 ms of
 * RCU grace period, more than the polling it would save.)
 */
static int
run_wait_ready(struct rt *r, const struct rt_run *u, unsigned timeout_s,
    struct pd_err *e)
{
	uint64_t deadline, delay = 1;
	int status;

	deadline = u->start + (uint64_t)timeout_s * 1000;
	for (;;) {
		if (sock_ready(u->sockfd, u->sock))
			return 0;
		if (run_poll_exit(r, u, deadline, delay, &status))
			return run_exit_error(r, u, status, e);
		if (pd_now_ms() >= deadline)
			return run_timeout_error(r, u, timeout_s, e);
		if ((delay *= 2) > 100)
			delay = 100;
	}
}

/* r answered on its socket: it runs. */
static void
run_started(struct rt *r, uint64_t start)
{
	pthread_mutex_lock(&rt_mtx);
	if (r->exited) {
		/* It died right after answering: treat as an exit. */
		r->state = RT_RUNNING;
		rt_exit_locked(r, r->status);
	} else
		r->state = RT_RUNNING;
	r->started_ms = pd_now_ms();
	pthread_mutex_unlock(&rt_mtx);
	log_info("plugin %s (%.12s) started as pid %d, ready in %llu ms",
	    r->name, r->id, (int)r->pid,
	    (unsigned long long)(pd_now_ms() - start));
}

/* Nothing stays: the process, runtime state, mounts, directories. */
static void
run_undo(struct rt *r, const struct pd_err *e)
{
	struct pd_err ie;
	pid_t pid;

	pthread_mutex_lock(&rt_mtx);
	pid = r->pid;
	pthread_mutex_unlock(&rt_mtx);
	if (pid > 0) {
		rt_signal(r, SIGKILL);
		(void)rt_wait_exit(r, 5000);
	}
	if (rt_cleanup(r->id, &ie) == -1)
		log_warnx("plugin %s: cleaning up a failed start: %s", r->name, ie.msg);
	rt_detach(r, RT_STOPPED);
	log_warnx("plugin %s: enable failed: %s", r->name, e->msg);
}

/*
 * Start plugin r from its plugin object and wait until its socket takes
 * connections.  op is held.  On failure nothing of the run is left.
 */
static int
rt_start(struct rt *r, const json_t *pobj, unsigned timeout_s, struct pd_err *e)
{
	struct rt_run u;
	int ready;

	run_init(&u, r, pobj);
	ready = run_prepare(r, pobj, &u, e) == 0 &&
	    run_runc(r, &u, timeout_s, e) == 0 &&
	    run_wait_ready(r, &u, timeout_s, e) == 0 &&
	    gateway_start(r->id, r->name, pobj, e) == 0;
	run_release(&u);
	if (!ready) {
		run_undo(r, e);
		return -1;
	}
	run_started(r, u.start);
	return 0;
}

/* Stop r's process (TERM, wait, KILL) and remove its runtime traces. */
static int
rt_stop(struct rt *r, unsigned timeout_s, struct pd_err *e)
{
	uint64_t t0 = pd_now_ms();
	int ex, rc;

	pthread_mutex_lock(&rt_mtx);
	r->state = RT_STOPPING;
	r->restart_at = 0;
	r->unexpected = 0;
	ex = r->exited || r->pid == 0;
	pthread_mutex_unlock(&rt_mtx);
	if (!ex) {
		rt_signal(r, SIGTERM);
		if (!rt_wait_exit(r, (uint64_t)timeout_s * 1000)) {
			log_info("plugin %s did not stop within %u s of SIGTERM: "
			    "SIGKILL", r->name, timeout_s);
			rt_signal(r, SIGKILL);
			if (!rt_wait_exit(r, 10000))
				log_warnx("plugin %s: still running 10 s after SIGKILL",
				    r->name);
		}
	}
	rc = rt_cleanup(r->id, e);
	rt_detach(r, RT_STOPPED);
	log_info("plugin %s (%.12s) stopped in %llu ms", r->name, r->id,
	    (unsigned long long)(pd_now_ms() - t0));
	return rc;
}

/* ---- plugin records ---- */

/* Caller holds plugins_lock. */
static struct plugin *
find_id(const char *id)
{
	struct plugin *p;

	for (p = plugins; p != NULL; p = p->next)
		if (strcmp(p->id, id) == 0)
			return p;
	return NULL;
}

static int
set_enabled(const char *id, int on, struct pd_err *e)
{
	struct plugin *p;
	int rc = 0;

	pthread_rwlock_wrlock(&plugins_lock);
	if ((p = find_id(id)) != NULL && plugin_enabled(p) != on) {
		json_object_set_new(json_object_get(p->state, "plugin"), "Enabled",
		    json_boolean(on));
		if (plugin_save(p, e) == -1) {
			json_object_set_new(json_object_get(p->state, "plugin"),
			    "Enabled", json_boolean(!on));
			rc = -1;
		}
	}
	pthread_rwlock_unlock(&plugins_lock);
	return rc;
}

/* Snapshot of what a start needs, taken under plugins_lock. */
static json_t *
snapshot(struct rt *r, int *enabled, struct pd_err *e)
{
	struct plugin *p;
	json_t *o = NULL;

	pthread_rwlock_rdlock(&plugins_lock);
	if ((p = find_id(r->id)) == NULL)
		pd_errf(e, PD_E_NOTFOUND, "plugin \"%s\" not found", r->id);
	else {
		o = json_deep_copy(json_object_get(p->state, "plugin"));
		*enabled = plugin_enabled(p);
		snprintf(r->name, sizeof(r->name), "%s", plugin_name(p));
	}
	pthread_rwlock_unlock(&plugins_lock);
	return o;
}

int
lifecycle_enable(const char *id, unsigned timeout_s, struct pd_err *e)
{
	struct rt *r = rt_get(id);
	struct pd_err ie;
	int enabled = 0, rc = -1;
	json_t *o;

	pthread_mutex_lock(&r->op);
	if ((o = snapshot(r, &enabled, e)) == NULL)
		goto out;
	if (enabled) {
		pd_errf(e, PD_E_CONFLICT, "plugin already enabled: plugin %s is "
		    "enabled", r->name);
		goto out;
	}
	if (rt_start(r, o, timeout_s, e) == -1)
		goto out;
	PD_CRASHPOINT("enable-started");
	if (set_enabled(id, 1, e) == -1) {
		(void)rt_stop(r, conf.stop_timeout, &ie);
		goto out;
	}
	pthread_mutex_lock(&rt_mtx);
	r->backoff_ms = 0;
	r->restarts = 0;
	pthread_mutex_unlock(&rt_mtx);
	event_emit("enable", r->id, r->name, NULL);
	rc = 0;
out:
	pthread_mutex_unlock(&r->op);
	json_decref(o);
	return rc;
}

int
plugin_enable(struct plugin *p, int timeout, struct pd_err *e)
{
	char id[PD_PLUGIN_ID_LEN + 1];

	snprintf(id, sizeof(id), "%s", p->id);
	return lifecycle_enable(id, timeout > 0 ? (unsigned)timeout : conf.enable_timeout,
	    e);
}

static int
lc_disable(struct rt *r, unsigned timeout_s, int quiet_if_disabled,
    struct pd_err *e)
{
	int enabled = 0, rc = 0;
	struct pd_err ie;
	json_t *o;

	if ((o = snapshot(r, &enabled, e)) == NULL)
		return -1;
	if (!enabled && !quiet_if_disabled) {
		json_decref(o);
		return pd_errf(e, PD_E_CONFLICT, "plugin is already disabled: plugin "
		    "%s found but disabled", r->name);
	}
	/* Engines keep the name, told it is disabled (docs/CONSUMERS.md). */
	if (enabled && gateway_off(r->id, r->name, o, &ie) == -1)
		log_warnx("plugin %s: %s", r->name, ie.msg);
	json_decref(o);
	rc = rt_stop(r, timeout_s, e);
	if (enabled && set_enabled(r->id, 0, e) == -1)
		rc = -1;
	if (enabled)
		event_emit("disable", r->id, r->name, NULL);
	return rc;
}

/* For upgrade: stop an enabled plugin (no error when it is disabled). */
int
plugin_disable(const char *id, struct pd_err *e)
{
	return lifecycle_disable(id, conf.stop_timeout, 1, e);
}

int
lifecycle_disable(const char *id, unsigned timeout_s, int quiet_if_disabled,
    struct pd_err *e)
{
	struct rt *r = rt_get(id);
	int rc;

	pthread_mutex_lock(&r->op);
	rc = lc_disable(r, timeout_s, quiet_if_disabled, e);
	pthread_mutex_unlock(&r->op);
	return rc;
}


/*
 * The janitor.  A removed plugin's directory, renamed <id>-removing (the
 * removal's commit point, made durable before the reply), is deleted by
 * a thread of its own after rm has answered: on ext4 a small plugin's
 * rootfs takes ~20 ms to unlink and a big one seconds, time no client
 * needs to wait.  A crash meanwhile leaves the -removing directory that
 * the next start deletes (lifecycle_restore).  An online check, a second
 * rm of the same id and shutdown wait for it (lifecycle_janitor_drain).
 */
static pthread_mutex_t	 jan_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 jan_cv = PTHREAD_COND_INITIALIZER;
static int		 jan_pending;

struct jan_job {
	char	 name[80];	/* <id>-removing, in <data-root>/plugins */
	char	 plugin[PD_STR_SHORT];
};

static void *
jan_thread(void *arg)
{
	struct jan_job *j = arg;
	char pdir[4200];
	struct pd_err e;
	int pdfd;

	snprintf(pdir, sizeof(pdir), "%s/plugins", conf.data_root);
	/*
	 * Safety: a fixed name below the broker's own plugins directory;
	 * pd_rm_rf_at follows no symlink and enters no mount (the plugin's
	 * were detached before the rename).
	 */
	if ((pdfd = open(pdir, O_DIRECTORY | O_RDONLY | O_CLOEXEC)) == -1 ||
	    pd_rm_rf_at(pdfd, j->name, &e) == -1)
		log_warnx("plugin %s removed, but %s/%s is left (finished at the "
		    "next start): %s", j->plugin, pdir, j->name, pdfd == -1 ?
		    strerror(errno) : e.msg);
	if (pdfd != -1)
		close(pdfd);
	free(j);
	pthread_mutex_lock(&jan_mtx);
	jan_pending--;
	pthread_cond_broadcast(&jan_cv);
	pthread_mutex_unlock(&jan_mtx);
	return NULL;
}

/* Delete <data-root>/plugins/name soon (now if no thread starts). */
static void
jan_queue(const char *name, const char *plugin)
{
	pthread_attr_t attr;
	struct jan_job *j;
	pthread_t t;
	int rc;

	j = xcalloc(1, sizeof(*j));
	snprintf(j->name, sizeof(j->name), "%s", name);
	snprintf(j->plugin, sizeof(j->plugin), "%.255s", plugin);
	pthread_mutex_lock(&jan_mtx);
	jan_pending++;
	pthread_mutex_unlock(&jan_mtx);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	rc = pthread_create(&t, &attr, jan_thread, j);
	pthread_attr_destroy(&attr);
	/* No thread: the caller waits after all. */
	if (rc != 0)
		(void)jan_thread(j);
}

void
lifecycle_janitor_drain(void)
{
	pthread_mutex_lock(&jan_mtx);
	while (jan_pending > 0)
		pthread_cond_wait(&jan_cv, &jan_mtx);
	pthread_mutex_unlock(&jan_mtx);
}

/*
 * rm: under the plugin's operation lock, stop it (force) or refuse
 * (enabled), clean up its runtime state, rename its directory aside,
 * unlink its record, then delete the directory; what is left after a
 * crash is finished at the next start (lifecycle_restore).
 */
int
lifecycle_remove(const char *id, const char *arg, int force, struct pd_err *e)
{
	char gone[80], pdir[4200];
	struct plugin *p, **pp;
	struct rt_paths rp;
	struct pd_err ie;
	struct rt *r;
	int enabled = 0, pdfd, rc = -1;
	json_t *o;

	r = rt_get(id);
	rt_paths(id, &rp);
	pthread_mutex_lock(&r->op);
	if ((o = snapshot(r, &enabled, e)) == NULL)
		goto out;
	json_decref(o);
	/* Docker's order: in use, then enabled; -f overrides both. */
	if (!force && inuse_refuse(id, r->name, e) == -1)
		goto out;
	if (enabled && !force) {
		pd_errf(e, PD_E_CONFLICT, "plugin %s is enabled", r->name);
		goto out;
	}
	/* rm -f of an enabled plugin disables it first; errors are logged. */
	if (enabled && lc_disable(r, conf.stop_timeout, 1, &ie) == -1)
		log_warnx("rm -f %s: disabling: %s", r->name, ie.msg);
	if (rt_cleanup(id, &ie) == -1 && runtime_mounted_under(rp.plugdir) > 0) {
		pd_errf(e, PD_E_IO, "cannot remove plugin %s: %s", r->name, ie.msg);
		goto out;
	}
	gateway_unpublish(id, r->name);
	snprintf(pdir, sizeof(pdir), "%s/plugins", conf.data_root);
	if ((pdfd = open(pdir, O_DIRECTORY | O_RDONLY | O_CLOEXEC)) == -1) {
		pd_errno(e, PD_E_IO, "open %s", pdir);
		goto out;
	}
	snprintf(gone, sizeof(gone), "%s-removing", id);
	/* An earlier removal of this id still running: it goes first. */
	if (faccessat(pdfd, gone, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		lifecycle_janitor_drain();
	pthread_rwlock_wrlock(&plugins_lock);
	for (pp = &plugins; (p = *pp) != NULL; pp = &p->next)
		if (strcmp(p->id, id) == 0)
			break;
	if (p == NULL)
		pd_errf(e, PD_E_NOTFOUND, "plugin \"%s\" not found", arg);
	else if (renameat(pdfd, id, pdfd, gone) == -1)
		pd_errno(e, PD_E_IO, "rename %s/%s", pdir, id);
	else {
		*pp = p->next;
		json_decref(p->state);
		json_decref(p->inuse);
		free(p);
		rc = 0;
	}
	pthread_rwlock_unlock(&plugins_lock);
	if (rc == 0) {
		(void)fsync(pdfd);
		PD_CRASHPOINT("rm-renamed");
		jan_queue(gone, r->name);
		log_info("removed plugin %s (%s)", r->name, id);
		event_emit("remove", id, r->name, NULL);
	}
	close(pdfd);
out:
	pthread_mutex_unlock(&r->op);
	if (rc == 0)
		blobs_gc();
	return rc;
}

/* May `set` change this plugin now?  No lifecycle operation may be on it. */
int
lifecycle_quiescent(const char *id)
{
	struct rt *r = rt_get(id);
	int ok;

	if (pthread_mutex_trylock(&r->op) != 0)
		return 0;
	pthread_mutex_lock(&rt_mtx);
	ok = r->state == RT_STOPPED;
	pthread_mutex_unlock(&rt_mtx);
	pthread_mutex_unlock(&r->op);
	return ok;
}

/* The lifecycle's view of a plugin, for `check`. */
const char *
lifecycle_describe(const char *id)
{
	static const char *names[] = { "stopped", "starting", "running",
	    "stopping", "restart pending" };
	struct rt *r = rt_get(id);
	int st;

	pthread_mutex_lock(&rt_mtx);
	st = r->state;
	pthread_mutex_unlock(&rt_mtx);
	return st >= 0 && st <= RT_EXITED ? names[st] : "?";
}

/* ---- supervision ---- */

static void *
restart_thread(void *arg)
{
	struct rt *r = arg;
	struct pd_err e;
	char why[256];
	int enabled = 0, status, unexpected, due, st;
	uint64_t ran;
	json_t *o;

	pthread_mutex_lock(&r->op);
	pthread_mutex_lock(&rt_mtx);
	st = r->state;
	unexpected = r->unexpected;
	status = r->status;
	due = r->restart_at != 0 && r->restart_at <= pd_now_ms();
	r->unexpected = 0;
	ran = r->started_ms ? pd_now_ms() - r->started_ms : 0;
	pthread_mutex_unlock(&rt_mtx);
	if (st != RT_EXITED)
		goto out;
	if (unexpected) {
		describe_status(status, why, sizeof(why));
		event_emit("exit", r->id, r->name, status_attrs(status));
		if (rt_cleanup(r->id, &e) == -1)
			log_warnx("plugin %s: cleanup after exit: %s", r->name, e.msg);
		pthread_mutex_lock(&rt_mtx);
		if (ran >= STABLE_MS)
			r->backoff_ms = 0;
		r->backoff_ms = r->backoff_ms ? r->backoff_ms * 2 : BACKOFF_MIN_MS;
		if (r->backoff_ms > BACKOFF_MAX_MS)
			r->backoff_ms = BACKOFF_MAX_MS;
		r->restart_at = pd_now_ms() + r->backoff_ms;
		if (r->pidfd >= 0)
			close(r->pidfd);
		r->pidfd = -1;
		r->pid = 0;
		pthread_mutex_unlock(&rt_mtx);
		log_warnx("plugin %s %s unexpectedly; restarting in %llu ms", r->name,
		    why, (unsigned long long)r->backoff_ms);
		goto out;
	}
	if (!due || pd_quit)
		goto out;
	if ((o = snapshot(r, &enabled, &e)) == NULL || !enabled) {
		json_decref(o);
		rt_detach(r, RT_STOPPED);
		goto out;
	}
	if (rt_start(r, o, conf.enable_timeout, &e) == 0) {
		pthread_mutex_lock(&rt_mtx);
		r->restarts++;
		pthread_mutex_unlock(&rt_mtx);
		event_emit("restart", r->id, r->name, NULL);
	} else {
		pthread_mutex_lock(&rt_mtx);
		r->state = RT_EXITED;
		r->backoff_ms = r->backoff_ms ? r->backoff_ms * 2 : BACKOFF_MIN_MS;
		if (r->backoff_ms > BACKOFF_MAX_MS)
			r->backoff_ms = BACKOFF_MAX_MS;
		r->restart_at = pd_now_ms() + r->backoff_ms;
		pthread_mutex_unlock(&rt_mtx);
		log_warnx("plugin %s: restart failed, next attempt in %llu ms",
		    r->name, (unsigned long long)r->backoff_ms);
	}
	json_decref(o);
out:
	pthread_mutex_lock(&rt_mtx);
	r->busy = 0;
	pthread_cond_broadcast(&rt_cv);
	pthread_mutex_unlock(&rt_mtx);
	pthread_mutex_unlock(&r->op);
	return NULL;
}

static void *
supervisor(void *arg)
{
	pthread_attr_t attr;
	uint64_t now, next;
	pthread_t t;
	struct rt *r;

	(void)arg;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_mutex_lock(&rt_mtx);
	while (!pd_quit) {
		now = pd_now_ms();
		next = now + 1000;
		for (r = rts; r != NULL; r = r->next) {
			if (r->busy || r->state != RT_EXITED)
				continue;
			if (r->unexpected || (r->restart_at && r->restart_at <= now)) {
				r->busy = 1;
				if (pthread_create(&t, &attr, restart_thread, r) != 0)
					r->busy = 0;
			} else if (r->restart_at && r->restart_at < next)
				next = r->restart_at;
		}
		rt_wait(next > now ? next - now : 1);
	}
	pthread_mutex_unlock(&rt_mtx);
	pthread_attr_destroy(&attr);
	return NULL;
}

/* Exits of adopted plugins (not our children): their pidfds. */
static void *
watcher(void *arg)
{
	struct pollfd pfd[257];
	struct rt *who[257];
	uint64_t v;
	struct rt *r;
	nfds_t n, i;

	(void)arg;
	while (!pd_quit) {
		pfd[0].fd = watch_efd;
		pfd[0].events = POLLIN;
		n = 1;
		pthread_mutex_lock(&rt_mtx);
		for (r = rts; r != NULL && n < 257; r = r->next)
			if (!r->child && r->pidfd >= 0 && !r->exited) {
				pfd[n].fd = r->pidfd;
				pfd[n].events = POLLIN;
				who[n++] = r;
			}
		pthread_mutex_unlock(&rt_mtx);
		if (poll(pfd, n, 1000) <= 0)
			continue;
		if (pfd[0].revents & POLLIN)
			(void)!read(watch_efd, &v, sizeof(v));
		pthread_mutex_lock(&rt_mtx);
		for (i = 1; i < n; i++)
			if ((pfd[i].revents & (POLLIN | POLLHUP)) &&
			    who[i]->pidfd == pfd[i].fd && !who[i]->exited)
				rt_exit_locked(who[i], -1);
		pthread_mutex_unlock(&rt_mtx);
	}
	return NULL;
}

int
lifecycle_init(struct pd_err *e)
{
	static const char *sub[] = { "runc", "bundles", "plugins" };
	pthread_condattr_t ca;
	pthread_attr_t attr;
	char path[4200];
	pthread_t t;
	size_t i;

	for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", conf.exec_root, sub[i]);
		if (pd_mkdirs(path, 0700, e) == -1)
			return -1;
	}
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&rt_cv, &ca);
	pthread_condattr_destroy(&ca);
	/* Orphans the helper reaper collects may be plugins' runtimes. */
	helper_on_orphan(runtime_reap_known, runtime_reap);
	if ((watch_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1)
		return pd_errno(e, PD_E_INTERNAL, "eventfd");
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	if (pthread_create(&t, &attr, watcher, NULL) != 0 ||
	    pthread_create(&t, &attr, supervisor, NULL) != 0) {
		pthread_attr_destroy(&attr);
		return pd_errf(e, PD_E_INTERNAL, "cannot start lifecycle threads");
	}
	pthread_attr_destroy(&attr);
	return 0;
}

/* Remove entries of dir that name no plugin in `keep` (object of ids). */
static void
sweep_dir(const char *dir, const json_t *keep, int runc_states)
{
	struct dirent *de;
	struct pd_err e;
	DIR *d;
	int dfd;

	if ((dfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC)) == -1)
		return;
	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || json_object_get(keep, de->d_name) != NULL)
			continue;
		if (runc_states) {
			log_info("removing runtime state of unknown container %s",
			    de->d_name);
			if (runtime_delete(de->d_name, &e) == -1)
				log_warnx("%s", e.msg);
			continue;
		}
		if (pd_rm_rf_at(dirfd(d), de->d_name, &e) == -1)
			log_warnx("cleaning %s/%s: %s", dir, de->d_name, e.msg);
	}
	closedir(d);
}

/* Plugin id -> enabled, name, and whether its container may be adopted. */
static json_t *
restore_plugins(void)
{
	json_t *all = json_object();
	struct plugin *p;

	pthread_rwlock_rdlock(&plugins_lock);
	for (p = plugins; p != NULL; p = p->next)
		json_object_set_new(all, p->id, json_pack("{s:b, s:s, s:b}",
		    "enabled", plugin_enabled(p), "name", plugin_name(p),
		    "adopt", !p->rolled_back));
	pthread_rwlock_unlock(&plugins_lock);
	return all;
}

/*
 * The published name of r at start.  An adopted plugin (serving) gets a
 * new gateway: its old one reports on a channel that died with the last
 * broker, and gateway_start replaces it without the name going away.
 * A disabled plugin's name is answered again if it was published.
 */
static void
restore_name(struct rt *r, int serving)
{
	struct pd_err e;
	int enabled;
	json_t *o;

	if ((o = snapshot(r, &enabled, &e)) == NULL)
		return;
	if (!serving)
		gateway_restore_off(r->id, r->name, o);
	else if (gateway_start(r->id, r->name, o, &e) == -1)
		log_warnx("plugin %s: %s", r->name, e.msg);
	json_decref(o);
}

/*
 * Adopt plugin id (its entry v of restore_plugins()) if it is enabled and
 * its container still runs: it goes into keep.  Otherwise clean what its
 * run left, and if it is enabled it goes into restart.
 */
static void
restore_one(const char *id, const json_t *v, json_t *keep, json_t *restart)
{
	char status[32];
	struct pd_err e;
	struct rt *r;
	pid_t pid, pid2;
	int running;

	r = rt_get(id);
	snprintf(r->name, sizeof(r->name), "%s",
	    json_string_value(json_object_get(v, "name")));
	running = runtime_state(id, &pid, status, sizeof(status)) == 0 &&
	    strcmp(status, "running") == 0 && pid > 1;
	/*
	 * A container of a rolled-back upgrade may run the version
	 * that was undone: never adopt it, start the old one anew.
	 */
	if (json_is_true(json_object_get(v, "enabled")) && running &&
	    json_is_true(json_object_get(v, "adopt"))) {
		rt_attach(r, pid, 0);
		/* The pidfd is the container's if runc still says so. */
		if (runtime_state(id, &pid2, status, sizeof(status)) == 0 &&
		    strcmp(status, "running") == 0 && pid2 == pid) {
			pthread_mutex_lock(&rt_mtx);
			r->state = RT_RUNNING;
			r->started_ms = pd_now_ms();
			pthread_mutex_unlock(&rt_mtx);
			json_object_set_new(keep, id, json_true());
			log_info("plugin %s (%.12s) is still running as "
			    "pid %d: adopted", r->name, id, (int)pid);
			restore_name(r, 1);
			return;
		}
		rt_detach(r, RT_STOPPED);
	}
	if (!json_is_true(json_object_get(v, "enabled")))
		restore_name(r, 0);
	if (rt_cleanup(id, &e) == -1)
		log_warnx("plugin %s: cleaning leftovers: %s", r->name, e.msg);
	if (json_is_true(json_object_get(v, "enabled")))
		json_object_set_new(restart, id, json_true());
}

/* Interrupted removals plugins_load could not finish (mounts). */
static void
restore_removals(void)
{
	char path[4300], pdir[4200];
	struct dirent *de;
	struct pd_err e;
	DIR *d;
	int dfd;

	snprintf(pdir, sizeof(pdir), "%s/plugins", conf.data_root);
	if ((dfd = open(pdir, O_DIRECTORY | O_RDONLY | O_CLOEXEC)) != -1 &&
	    (d = fdopendir(dfd)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strlen(de->d_name) != 73 || strcmp(de->d_name + 64,
			    "-removing") != 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", pdir, de->d_name);
			if (runtime_unmount_under(path, &e) == -1 ||
			    pd_rm_rf_at(dirfd(d), de->d_name, &e) == -1)
				log_warnx("finishing removal of %s: %s", path, e.msg);
		}
		closedir(d);
	} else if (dfd != -1)
		close(dfd);
}

/*
 * At broker start: adopt enabled plugins whose container still runs
 * (same process, no restart), schedule a start for enabled plugins that
 * are gone, stop containers of disabled plugins, and clean what dead
 * runs left: runtime state, mounts under the data root, socket and
 * bundle directories, interrupted removals.
 */
void
lifecycle_restore(void)
{
	char path[4300];
	json_t *all = restore_plugins(), *keep = json_object(), *v,
	    *restart = json_object();
	const char *id;
	struct rt *r;

	json_object_foreach(all, id, v)
		restore_one(id, v, keep, restart);
	snprintf(path, sizeof(path), "%s/runc", conf.exec_root);
	sweep_dir(path, all, 1);
	snprintf(path, sizeof(path), "%s/plugins", conf.exec_root);
	sweep_dir(path, keep, 0);
	snprintf(path, sizeof(path), "%s/bundles", conf.exec_root);
	sweep_dir(path, keep, 0);
	restore_removals();
	/* Podman's drop-in in step with what is published now. */
	podman_sync();
	/* Only now, with the sweeps done, may the supervisor start them. */
	json_object_foreach(restart, id, v) {
		r = rt_get(id);
		log_info("plugin %s (%.12s) is enabled but not running: starting it",
		    r->name, id);
		pthread_mutex_lock(&rt_mtx);
		r->state = RT_EXITED;
		r->restart_at = pd_now_ms();
		pthread_mutex_unlock(&rt_mtx);
	}
	json_decref(all);
	json_decref(keep);
	json_decref(restart);
	pthread_mutex_lock(&rt_mtx);
	pthread_cond_broadcast(&rt_cv);
	pthread_mutex_unlock(&rt_mtx);
}

/*
 * At broker exit: stop every running plugin (SIGTERM all, wait, SIGKILL)
 * unless live-restore keeps them for the next broker to adopt.  They
 * stay enabled on disk and start again with the broker.
 */
void
lifecycle_shutdown(void)
{
	struct rt *r;
	struct pd_err e;
	uint64_t end;
	int n = 0;

	lifecycle_janitor_drain();
	pthread_mutex_lock(&rt_mtx);
	pthread_cond_broadcast(&rt_cv);
	pthread_mutex_unlock(&rt_mtx);
	if (conf.live_restore) {
		log_info("live-restore: plugins keep running");
		return;
	}
	for (r = rts; r != NULL; r = r->next)
		if (r->pid > 0 && !r->exited) {
			rt_signal(r, SIGTERM);
			n++;
		}
	if (n == 0)
		return;
	log_info("stopping %d plugins", n);
	end = pd_now_ms() + (uint64_t)conf.stop_timeout * 1000;
	for (r = rts; r != NULL; r = r->next)
		if (r->pid > 0) {
			if (!rt_wait_exit(r, pd_now_ms() < end ? end - pd_now_ms() : 1)) {
				rt_signal(r, SIGKILL);
				(void)rt_wait_exit(r, 5000);
			}
			if (rt_cleanup(r->id, &e) == -1)
				log_warnx("plugin %s: %s", r->name, e.msg);
			rt_detach(r, RT_STOPPED);
		}
}

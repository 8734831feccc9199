/*
 * Helper processes: spawn, SETUP handshake, outside verification of the
 * sandbox, typed receive with a per-call set of permitted messages, and
 * teardown.  Whatever a helper sends or does costs its job only: every
 * failure here is returned as an error, never fatal to the broker.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc/proc.h"
#include "log.h"
#include "privdrop.h"
#include "role.h"
#include "sandbox.h"
#include "util.h"

/*
 * Helper pids whose exit status belongs to a job thread.  The main loop's
 * orphan reaper (the broker is a child subreaper) leaves these alone.
 */
static pthread_mutex_t	 owned_mtx = PTHREAD_MUTEX_INITIALIZER;
static pid_t		 owned[256];

/* Caller holds owned_mtx. */
static void
owned_put(pid_t pid, pid_t val)
{
	size_t i;

	for (i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
		if (owned[i] == pid) {
			owned[i] = val;
			break;
		}
}

static int
owned_has(pid_t pid)
{
	size_t i;

	for (i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
		if (owned[i] == pid)
			return 1;
	return 0;
}

static void
owned_set(pid_t pid, pid_t val)
{
	pthread_mutex_lock(&owned_mtx);
	owned_put(pid, val);
	pthread_mutex_unlock(&owned_mtx);
}

int
helper_owned(pid_t pid)
{
	int r;

	pthread_mutex_lock(&owned_mtx);
	r = owned_has(pid);
	pthread_mutex_unlock(&owned_mtx);
	return r;
}

/*
 * Reap children nobody waits for: processes orphaned into the broker
 * (it is a subreaper), e.g. anything a killed helper left behind, and
 * plugin processes (runc run -d leaves them to us).  The check that a pid
 * is not owned and its reaping happen under owned_mtx, and owned children
 * are registered under the same lock at fork time, so a job thread never
 * loses its child's status to this loop.  Plugin exits are handed to the
 * callbacks the supervisor registered (helper_on_orphan), which record the
 * status.
 */
static void	(*orphan_known)(void);
static void	(*orphan_exited)(pid_t);

void
helper_on_orphan(void (*known)(void), void (*exited)(pid_t))
{
	orphan_known = known;
	orphan_exited = exited;
}

void
helper_reap_orphans(void)
{
	siginfo_t si;

	if (orphan_known != NULL)
		orphan_known();
	for (;;) {
		pthread_mutex_lock(&owned_mtx);
		memset(&si, 0, sizeof(si));
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == -1 ||
		    si.si_pid == 0 || owned_has(si.si_pid)) {
			/* nothing, or an owned child its job thread reaps */
			pthread_mutex_unlock(&owned_mtx);
			return;
		}
		if (orphan_exited != NULL)
			orphan_exited(si.si_pid);
		else
			(void)waitpid(si.si_pid, NULL, WNOHANG);
		pthread_mutex_unlock(&owned_mtx);
	}
}

/*
 * fork() a child whose exit status belongs to the calling thread: it is
 * registered as owned before any other thread can see it exit.  The child
 * must only make async-signal-safe calls (owned_mtx is held at the fork).
 * Reap it with helper_wait_owned().
 */
pid_t
helper_fork_owned(void)
{
	pid_t pid;

	pthread_mutex_lock(&owned_mtx);
	pid = fork();
	if (pid > 0)
		owned_put(0, pid);
	if (pid != 0)
		pthread_mutex_unlock(&owned_mtx);
	return pid;
}

/*
 * Wait up to timeout_ms (-1: forever) for an owned child; on timeout it
 * is killed.  Returns 0 with its wait status, or -1 if it was killed.
 */
int
helper_wait_owned(pid_t pid, int *status, int timeout_ms)
{
	struct pollfd pfd;
	int pidfd, rc = 0;
	pid_t r;

	*status = -1;
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd >= 0) {
		pfd.fd = pidfd;
		pfd.events = POLLIN;
		while (poll(&pfd, 1, timeout_ms) == -1 && errno == EINTR)
			;
		if (!(pfd.revents & POLLIN)) {
			(void)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
			rc = -1;
		}
		close(pidfd);
	}
	while ((r = waitpid(pid, status, 0)) == -1 && errno == EINTR)
		;
	owned_set(pid, 0);
	return r == pid ? rc : -1;
}

const char *
helper_path(int role, char *buf, size_t len)
{
	snprintf(buf, len, "%s/plugind-%s", conf.libexec_dir, pd_role_name(role));
	return buf;
}

int
helper_lookup_user(int role, uid_t *uid, gid_t *gid, struct pd_err *e)
{
	const char *name = role > PD_ROLE_BROKER && role < PD_ROLE_MAX ?
	    conf.users[role] : NULL;
	struct passwd *pw;

	if (name == NULL)
		return pd_errf(e, PD_E_INTERNAL, "no user for role %d", role);

	/* Looked up here, before any chroot: helpers never use NSS for ids. */
	if ((pw = getpwnam(name)) == NULL)
		return pd_errf(e, PD_E_UNAVAIL, "user %s for the %s does not exist "
		    "(create it with `make install` or useradd --system %s)", name,
		    pd_role_name(role), name);
	if (pw->pw_uid == 0 || pw->pw_gid == 0)
		return pd_errf(e, PD_E_UNAVAIL, "user %s must not have uid or gid 0",
		    name);
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

/* A walk from "/" to a binary that is to run as root (trusted_exec_open). */
struct exec_walk {
	const char	*path;		/* the whole path, for errors */
	const char	*what;		/* names the binary in errors */
	const char	*p;		/* the part of path not walked yet */
	char		 dir[4096];	/* the directories walked so far */
	size_t		 dlen;
	char		 comp[256];	/* the component being looked at */
	int		 dfd;		/* O_PATH fd of dir */
};

/* The directory we hold: root's, and writable by root alone (or sticky). */
static int
walk_check_dir(struct exec_walk *w, struct pd_err *e)
{
	const char *dir = w->dlen ? w->dir : "/";
	struct stat st;

	if (fstat(w->dfd, &st) == -1)
		return pd_errno(e, PD_E_UNAVAIL, "%s directory %s", w->what,
		    dir);
	if (st.st_uid != 0)
		return pd_errf(e, PD_E_UNAVAIL, "%s directory %s: owned by uid "
		    "%u, not root", w->what, dir, (unsigned)st.st_uid);
	if ((st.st_mode & 0022) != 0 && (st.st_mode & S_ISVTX) == 0)
		return pd_errf(e, PD_E_UNAVAIL, "%s directory %s: writable by "
		    "group or others (mode %03o)", w->what, dir,
		    (unsigned)(st.st_mode & 07777));
	return 0;
}

/*
 * Take the next component of the path into w->comp.  Returns 1 when it
 * is the file, 0 when it is a directory (then added to w->dir), -1 on
 * a component we refuse.
 */
static int
walk_next(struct exec_walk *w, struct pd_err *e)
{
	const char *end;
	size_t n;

	while (*w->p == '/')
		w->p++;
	end = w->p + strcspn(w->p, "/");
	n = (size_t)(end - w->p);
	if (n == 0 || n >= sizeof(w->comp) || (n == 2 && w->p[0] == '.' &&
	    w->p[1] == '.') || (n == 1 && w->p[0] == '.'))
		return pd_errf(e, PD_E_UNAVAIL, "%s path %s must name a file "
		    "without \".\" or \"..\" components", w->what, w->path);
	memcpy(w->comp, w->p, n);
	w->comp[n] = '\0';
	if (w->dlen + 1 + n >= sizeof(w->dir))
		return pd_errf(e, PD_E_UNAVAIL, "%s path too long", w->what);
	w->p = end;
	while (*w->p == '/')
		w->p++;
	if (*w->p == '\0')
		return 1;
	w->dir[w->dlen++] = '/';
	memcpy(w->dir + w->dlen, w->comp, n + 1);
	w->dlen += n;
	return 0;
}

/* Step into the directory w->comp names, never through a symbolic link. */
static int
walk_descend(struct exec_walk *w, struct pd_err *e)
{
	struct stat st;
	int fd;

	fd = openat(w->dfd, w->comp, O_PATH | O_NOFOLLOW | O_DIRECTORY |
	    O_CLOEXEC);
	if (fd == -1) {
		if (errno == ENOTDIR && fstatat(w->dfd, w->comp, &st,
		    AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
			errno = ELOOP;
		if (errno == ELOOP)
			return pd_errf(e, PD_E_UNAVAIL, "%s directory %s: is a "
			    "symbolic link", w->what, w->dir);
		return pd_errno(e, PD_E_UNAVAIL, "%s directory %s", w->what,
		    w->dir);
	}
	close(w->dfd);
	w->dfd = fd;
	return 0;
}

/*
 * The file itself, on the fd that will be executed: a root-owned
 * executable regular file nobody else may write.  Returns fd, or -1
 * (fd closed).
 */
static int
exec_file_check(int fd, const char *path, const char *what, struct pd_err *e)
{
	struct stat st;

	if (fstat(fd, &st) == -1) {
		close(fd);
		return pd_errno(e, PD_E_UNAVAIL, "%s %s", what, path);
	}
	if (S_ISLNK(st.st_mode)) {
		close(fd);
		return pd_errf(e, PD_E_UNAVAIL, "%s %s: is a symbolic link", what,
		    path);
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 0111) == 0) {
		close(fd);
		return pd_errf(e, PD_E_UNAVAIL, "%s %s: not an executable regular "
		    "file", what, path);
	}
	if (st.st_uid != 0) {
		close(fd);
		return pd_errf(e, PD_E_UNAVAIL, "%s %s: owned by uid %u, not root",
		    what, path, (unsigned)st.st_uid);
	}
	if ((st.st_mode & 0022) != 0) {
		close(fd);
		return pd_errf(e, PD_E_UNAVAIL, "%s %s: writable by group or others "
		    "(mode %03o)", what, path, (unsigned)(st.st_mode & 07777));
	}
	return fd;
}

/*
 * Open `path` for exec as root without trusting any name on the way:
 * walk it from "/" one component at a time with O_PATH|O_NOFOLLOW and
 * check each directory on the fd we hold: root-owned and not writable by
 * group or others.  A sticky directory (/tmp) is allowed writable: others
 * cannot rename or replace root's entries in it, and the next component
 * must be root-owned itself.  The file must be a root-owned executable
 * regular file, not group/world-writable, and not a symbolic link.  The
 * O_PATH fd returned is what execveat(AT_EMPTY_PATH) runs, so what was
 * checked is what runs: no name is looked up twice.  `what` names the
 * binary in errors ("helper", "OCI runtime").
 */
int
trusted_exec_open(const char *path, const char *what, struct pd_err *e)
{
	struct exec_walk w;
	int fd, r;

	if (path[0] != '/')
		return pd_errf(e, PD_E_UNAVAIL, "%s path %s is not absolute", what,
		    path);
	w.path = path;
	w.what = what;
	w.p = path;
	w.dir[0] = '\0';
	w.dlen = 0;
	if ((w.dfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1)
		return pd_errno(e, PD_E_UNAVAIL, "open /");
	/* Each directory is checked before anything is looked up in it. */
	while ((r = walk_check_dir(&w, e)) == 0 &&
	    (r = walk_next(&w, e)) == 0 && (r = walk_descend(&w, e)) == 0)
		;
	if (r == -1) {
		close(w.dfd);
		return -1;
	}
	/* O_PATH|O_NOFOLLOW opens a symbolic link itself: fstat tells. */
	fd = openat(w.dfd, w.comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	close(w.dfd);
	if (fd == -1)
		return pd_errno(e, PD_E_UNAVAIL, "%s %s", what, path);
	return exec_file_check(fd, path, what, e);
}

/*
 * At start: every helper the broker may run must pass the exec checks,
 * so a missing or unsafe --helper-dir is found now, not at the first job.
 */
int
helper_check_all(struct pd_err *e)
{
	char path[4096];
	int role, fd;

	for (role = PD_ROLE_FETCHER; role < PD_ROLE_MAX; role++) {
		helper_path(role, path, sizeof(path));
		if ((fd = trusted_exec_open(path, "helper", e)) == -1) {
			snprintf(e->msg + strlen(e->msg), sizeof(e->msg) -
			    strlen(e->msg), " (--helper-dir / helper-dir)");
			return -1;
		}
		close(fd);
	}
	return 0;
}

static void
reap(struct helper *h, int *status, int wait_ms)
{
	*status = -1;
	if (h->pid <= 0)
		return;
	/* Whatever the helper started dies with it (its own process group). */
	(void)kill(-h->pid, SIGKILL);
	/* Woken by its pidfd the moment it exits, not at a sleep's tick. */
	(void)helper_wait_owned(h->pid, status, wait_ms);
	h->pid = -1;
}

static void
describe_exit(int status, char *buf, size_t len)
{
	if (status == -1)
		snprintf(buf, len, "exited");
	else if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
		snprintf(buf, len, "was killed by its seccomp policy (SIGSYS)");
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "was killed by signal %d (%s)", WTERMSIG(status),
		    strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "ended (status 0x%x)", status);
}

static void	spare_returned(struct helper *);

static void
teardown(struct helper *h, int status_wait_ms, int *status)
{
	if (h->sock >= 0) {
		close(h->sock);
		h->sock = -1;
	}
	pd_chan_free(&h->chan);
	reap(h, status, status_wait_ms);
	spare_returned(h);	/* after it is gone: never both at once */
}

void
helper_kill(struct helper *h)
{
	int status;

	if (h->pid > 0)
		kill(h->pid, SIGKILL);
	teardown(h, 2000, &status);
}

void
helper_stop(struct helper *h)
{
	int status;

	if (h->sock >= 0)
		(void)pd_msg_send(h->sock, PD_MSG_STOP, 0, -1, NULL, 0, NULL);
	teardown(h, 2000, &status);
}

/*
 * Let a started helper go on without us: close our end of its channel
 * and leave its exit to the orphan reaper.  The log writer (logs.c)
 * outlives the request that started it, and the broker too.
 */
void
helper_release(struct helper *h)
{
	if (h->sock >= 0) {
		pd_chan_free(&h->chan);
		close(h->sock);
		h->sock = -1;
	}
	owned_set(h->pid, 0);
}

/*
 * Has our (unreaped) child exited, or is it about to: a zombie, gone, or
 * with a SIGKILL pending that it has not yet acted on (killed a moment
 * ago, it would take the job down with it).
 */
static int
helper_dead(pid_t pid)
{
	char path[64], buf[2048], *p;
	unsigned long long m;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (pd_read_small(path, buf, sizeof(buf)) == -1)
		return 1;
	/* "pid (comm) S ...": comm may hold anything; the state follows ')' */
	p = strrchr(buf, ')');
	if (p == NULL || p[1] == '\0' || p[2] == 'Z' || p[2] == 'X')
		return 1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (pd_read_small(path, buf, sizeof(buf)) == -1)
		return 1;
	/* SigPnd (the thread's) and ShdPnd (the process's): bit SIGKILL-1 */
	for (p = buf; (p = strstr(p, "Pnd:")) != NULL; p += 4)
		if (sscanf(p + 4, "%llx", &m) == 1 && (m & (1ULL << (SIGKILL - 1))))
			return 1;
	return 0;
}

/* The helper is gone or broken: collect why, then fail the job with it. */
static int
helper_fail(struct helper *h, int killit, struct pd_err *e, const char *fmt,
    const char *detail)
{
	char why[128];
	int status;

	if (killit && h->pid > 0)
		kill(h->pid, SIGKILL);
	teardown(h, 2000, &status);
	describe_exit(status, why, sizeof(why));
	if (killit)
		return pd_errf(e, PD_E_PROTO, "%s helper %s: %s (helper killed)",
		    pd_role_name(h->role), fmt, detail);
	return pd_errf(e, PD_E_UNAVAIL, "%s helper %s: %s (%s)",
	    pd_role_name(h->role), fmt, detail, why);
}

/*
 * A request could not be sent to the helper.  Usually it has died (the
 * send fails with EPIPE): reap it and say how it ended, rather than
 * reporting only the broken pipe.  A live one is killed.
 */
int
helper_send_failed(struct helper *h, struct pd_err *e, const char *detail)
{
	return helper_fail(h, !helper_dead(h->pid), e, "did not take the request",
	    detail);
}

/* The client whose request this thread serves (ops.c sets it). */
static __thread struct ctl_client *job_client;

void
helper_job_client(struct ctl_client *c)
{
	job_client = c;
}

/*
 * Kill the helper and fail its job with a message of ours (a deadline
 * passed, a flood, a cancelled job).
 */
int
helper_abort(struct helper *h, struct pd_err *e, int code, const char *fmt, ...)
{
	char msg[PD_ERR_MSGLEN];
	va_list ap;
	int status;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (h->pid > 0)
		kill(h->pid, SIGKILL);
	teardown(h, 2000, &status);
	return pd_errf(e, code, "%s helper %s (helper killed)",
	    pd_role_name(h->role), msg);
}

/*
 * poll() the given fds until `deadline` (monotonic ms), watching the
 * job's client too: a client that hung up cancels the job, and the
 * helper is killed.  Returns the number of ready fds, 0 when the
 * deadline passed, -1 (helper torn down, *e set) when cancelled.
 */
int
helper_poll(struct helper *h, struct pollfd *pfd, int n, uint64_t deadline,
    struct pd_err *e)
{
	struct pollfd all[8];
	uint64_t now;
	int i, r, nall = n;

	if (n > 7)
		return pd_errf(e, PD_E_INTERNAL, "helper_poll: too many fds");
	for (i = 0; i < n; i++) {
		all[i] = pfd[i];
		all[i].revents = 0;
	}
	if (h->client != NULL) {
		/*
		 * Only a hang-up counts: the API process sends LOG lines on
		 * this connection while its request runs.
		 */
		all[nall].fd = h->client->fd;
		all[nall].events = POLLRDHUP;
		all[nall].revents = 0;
		nall++;
	}
	for (;;) {
		now = pd_now_ms();
		if (now >= deadline)
			return 0;
		r = poll(all, (nfds_t)nall, deadline - now > 60000 ? 60000 :
		    (int)(deadline - now));
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return helper_abort(h, e, PD_E_INTERNAL, "poll: %s",
			    strerror(errno));
		if (r == 0)
			continue;	/* a 60 s slice: recheck the deadline */
		if (nall > n && (all[n].revents & (POLLRDHUP | POLLHUP | POLLERR |
		    POLLNVAL))) {
			log_info("control client pid %d hung up: job cancelled, "
			    "%s[%d] killed", (int)h->client->pid,
			    pd_role_name(h->role), (int)h->pid);
			return helper_abort(h, e, PD_E_UNAVAIL, "stopped: the job "
			    "was cancelled (its client disconnected)");
		}
		for (i = 0; i < n; i++)
			pfd[i].revents = all[i].revents;
		return r;
	}
}

/*
 * LOG and PROGRESS messages are rate-limited: a helper may send a burst
 * of HELPER_CHATTER_BURST, then HELPER_CHATTER_RATE a second on average.
 * The fetcher sends PROGRESS at most every 100 ms (fetcher/registry.h
 * REG_PROGRESS_MS); a flood costs its job at once.
 */
#define HELPER_CHATTER_BURST	2000
#define HELPER_CHATTER_RATE	200

int
helper_chatter(struct helper *h, struct pd_err *e)
{
	uint64_t now = pd_now_ms();

	if (h->chatter_t0 == 0)
		h->chatter_t0 = now;
	if (++h->chatter > HELPER_CHATTER_BURST + (now - h->chatter_t0) *
	    HELPER_CHATTER_RATE / 1000)
		return helper_abort(h, e, PD_E_PROTO, "flooded the broker with "
		    "%llu LOG/PROGRESS messages in %llu ms",
		    (unsigned long long)h->chatter,
		    (unsigned long long)(now - h->chatter_t0));
	return 0;
}

/*
 * Take the next complete message out of the channel's buffer, if any.
 * Returns 1 with *m (a permitted type, carrying the id of the current
 * request, h->want_id), 0 when more bytes are needed, -1 when the job
 * fails (the helper's ERROR, or a violation: the helper is killed).
 * LOG lines are logged and skipped (their id is not checked: helpers
 * log outside requests too).
 */
int
helper_take(struct helper *h, const uint32_t *allowed, size_t nallowed,
    struct pd_msg *m, struct pd_err *e)
{
	struct pd_error_msg em;
	struct pd_log l;
	struct pd_err ie;
	char prefix[128];
	size_t i;
	int r;

	for (;;) {
		if ((r = pd_msg_parse(&h->chan, m, &ie)) == 0)
			return 0;
		if (r == -1)
			return helper_fail(h, 1, e, "failed", ie.msg);
		if (m->type == PD_MSG_LOG) {
			if (pd_dec_log(m, &l, &ie) == -1) {
				pd_msg_clear(m);
				return helper_fail(h, 1, e, "sent a bad message", ie.msg);
			}
			pd_msg_clear(m);
			if (helper_chatter(h, e) == -1) {
				pd_log_free(&l);
				return -1;
			}
			snprintf(prefix, sizeof(prefix), "%s[%d]", pd_role_name(h->role),
			    (int)h->pid);
			pd_strvis(l.line);
			log_emit((int)l.level, prefix, l.line);
			pd_log_free(&l);
			continue;
		}
		/* The roles table bounds what this helper may ever send. */
		if (!pd_role_replies(h->role, m->type)) {
			snprintf(prefix, sizeof(prefix), "%s (%u), which no %s "
			    "sends", pd_msg_name(m->type), m->type,
			    pd_role_name(h->role));
			pd_msg_clear(m);
			return helper_fail(h, 1, e, "sent an unexpected message",
			    prefix);
		}
		if (m->id != h->want_id) {
			snprintf(prefix, sizeof(prefix), "%s for request %u, want %u",
			    pd_msg_name(m->type), m->id, h->want_id);
			pd_msg_clear(m);
			return helper_fail(h, 1, e, "sent a reply with a wrong id",
			    prefix);
		}
		if (m->type == PD_MSG_ERROR) {
			if (pd_dec_error(m, &em, &ie) == -1) {
				pd_msg_clear(m);
				return helper_fail(h, 1, e, "sent a bad message", ie.msg);
			}
			pd_msg_clear(m);
			pd_strvis(em.msg);
			pd_errf(e, (int)em.code, "%s", em.msg);
			pd_error_msg_free(&em);
			return -1;
		}
		if (m->type == PD_MSG_PROGRESS && helper_chatter(h, e) == -1) {
			pd_msg_clear(m);
			return -1;
		}
		for (i = 0; i < nallowed; i++)
			if (allowed[i] == m->type)
				return 1;
		snprintf(prefix, sizeof(prefix), "%s (%u)", pd_msg_name(m->type),
		    m->type);
		pd_msg_clear(m);
		return helper_fail(h, 1, e, "sent an unexpected message", prefix);
	}
}

/*
 * Read from the helper's channel (it polled readable).  Returns 0, or -1
 * with the job failed: the channel closed (mid-message: killed), or an
 * error on it.
 */
int
helper_fill(struct helper *h, struct pd_err *e)
{
	struct pd_err ie;
	int r;

	r = pd_chan_fill(&h->chan, &ie);
	if (r == 1)
		return 0;
	if (r == 0 && h->chan.buflen == 0)
		return helper_fail(h, 0, e, "closed its channel", "no reply");
	if (r == 0)
		return helper_fail(h, 1, e, "closed its channel",
		    "in the middle of a message");
	return helper_fail(h, ie.code == PD_E_PROTO, e, "failed", ie.msg);
}

/*
 * Receive the next message a helper may send now, waiting at most
 * timeout_ms for it (LOG lines do not extend the wait).  ERROR ends the
 * job with the helper's message; any type not in `allowed`, a reply to
 * another request, a flood, a broken frame or the deadline kill it.
 */
int
helper_recv(struct helper *h, const uint32_t *allowed, size_t nallowed,
    int timeout_ms, struct pd_msg *m, struct pd_err *e)
{
	uint64_t deadline = pd_now_ms() + (uint64_t)(timeout_ms >= 0 ?
	    timeout_ms : 1000 * (int)conf.limits.helper_timeout);
	struct pollfd pfd;
	int r;

	for (;;) {
		if (h->sock < 0)
			return pd_errf(e, PD_E_INTERNAL, "%s helper is gone",
			    pd_role_name(h->role));
		if ((r = helper_take(h, allowed, nallowed, m, e)) != 0)
			return r;
		pfd.fd = h->sock;
		pfd.events = POLLIN;
		if ((r = helper_poll(h, &pfd, 1, deadline, e)) == -1)
			return -1;
		if (r == 0)
			return helper_abort(h, e, PD_E_UNAVAIL, "timed out: no "
			    "answer within %d s%s", (timeout_ms + 999) / 1000,
			    h->chan.buflen ? " (it sent part of a message)" : "");
		if (helper_fill(h, e) == -1)
			return -1;
	}
}

static int
status_field(const char *status, const char *key, char *out, size_t len)
{
	const char *p = status;
	size_t klen = strlen(key), n;

	while ((p = strstr(p, key)) != NULL) {
		if ((p == status || p[-1] == '\n') && p[klen] == ':') {
			p += klen + 1;
			p += strspn(p, " \t");
			n = strcspn(p, "\n");
			if (n >= len)
				n = len - 1;
			memcpy(out, p, n);
			out[n] = '\0';
			return 0;
		}
		p += klen;
	}
	return -1;
}

/*
 * Verify from outside, in /proc, what the helper claims to have done:
 * ids, no groups, capabilities exactly the role's set, no_new_privs,
 * seccomp filter mode, and its root directory.  A helper that fails any
 * of these is killed before it gets any work.
 */
int
helper_check_outside(struct helper *h, struct pd_err *e)
{
	char path[64], buf[8192], v[256], want[64], root[4096];
	unsigned long long capeff;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)h->pid);
	if (pd_read_small(path, buf, sizeof(buf)) == -1)
		return pd_errno(e, PD_E_INTERNAL, "cannot read %s", path);
	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", h->uid, h->uid, h->uid, h->uid);
	if (status_field(buf, "Uid", v, sizeof(v)) == -1 || strcmp(v, want) != 0)
		return pd_errf(e, PD_E_INTERNAL, "uids are \"%s\", want %u", v, h->uid);
	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", h->gid, h->gid, h->gid, h->gid);
	if (status_field(buf, "Gid", v, sizeof(v)) == -1 || strcmp(v, want) != 0)
		return pd_errf(e, PD_E_INTERNAL, "gids are \"%s\", want %u", v, h->gid);
	if (status_field(buf, "Groups", v, sizeof(v)) == -1 || v[0] != '\0')
		return pd_errf(e, PD_E_INTERNAL, "supplementary groups \"%s\" kept", v);
	if (status_field(buf, "NoNewPrivs", v, sizeof(v)) == -1 || strcmp(v, "1") != 0)
		return pd_errf(e, PD_E_INTERNAL, "no_new_privs is not set");
	if (status_field(buf, "Seccomp", v, sizeof(v)) == -1 || strcmp(v, "2") != 0)
		return pd_errf(e, PD_E_INTERNAL, "seccomp filter mode is \"%s\", want 2",
		    v);
	if (status_field(buf, "CapEff", v, sizeof(v)) == -1)
		return pd_errf(e, PD_E_INTERNAL, "no CapEff line");
	capeff = strtoull(v, NULL, 16);
	if (capeff != pd_role_caps_mask(h->role))
		return pd_errf(e, PD_E_INTERNAL, "effective capabilities %s, want %016llx",
		    v, (unsigned long long)pd_role_caps_mask(h->role));
	if (status_field(buf, "CapBnd", v, sizeof(v)) == -1 ||
	    (strtoull(v, NULL, 16) & ~pd_role_caps_mask(h->role)) != 0)
		return pd_errf(e, PD_E_INTERNAL, "bounding set %s is wider than the "
		    "role's capabilities", v);
	if (h->rootdir[0] != '\0') {
		snprintf(path, sizeof(path), "/proc/%d/root", (int)h->pid);
		n = readlink(path, root, sizeof(root) - 1);
		if (n < 0)
			return pd_errno(e, PD_E_INTERNAL, "readlink %s", path);
		root[n] = '\0';
		if (strcmp(root, h->rootdir) != 0)
			return pd_errf(e, PD_E_INTERNAL, "root is %s, want %s", root,
			    h->rootdir);
	}
	snprintf(h->sandbox, sizeof(h->sandbox), "ok: uid %u gid %u, capabilities "
	    "%s, seccomp filter (%d syscalls allowed), no_new_privs, chroot %s",
	    h->uid, h->gid, pd_role_caps_str(h->role), pd_sandbox_count(h->role),
	    h->rootdir[0] ? h->rootdir : "(none)");
	return 0;
}

/*
 * Start a helper for `role`, chrooted into the directory rootfd refers to
 * (rootpath is that directory's path, used only for the outside check).
 */
int
helper_spawn(struct helper *h, int role, int rootfd, const char *rootpath,
    struct pd_err *e)
{
	return helper_spawn_fd(h, role, rootfd, rootpath, -1, e);
}

/*
 * The helper's environment, NULL-terminated in envp (room for 4); returns
 * how many entries were allocated.
 */
static int
spawn_env(char *envp[])
{
	int nenv = 0;
#ifdef PD_SANITIZE
	const char *v;

	/*
	 * Sanitizer builds only: a helper's environment is otherwise empty.
	 * The runtime options reach it so its reports are fatal and logged
	 * where the test looks (common/child.c); symbolizing would exec a
	 * program, which the filter forbids, so the report keeps addresses.
	 */
	if ((v = getenv("ASAN_OPTIONS")) != NULL)
		envp[nenv++] = xasprintf("ASAN_OPTIONS=%s:symbolize=0", v);
	if ((v = getenv("UBSAN_OPTIONS")) != NULL)
		envp[nenv++] = xasprintf("UBSAN_OPTIONS=%s:symbolize=0", v);
#endif
	envp[nenv] = NULL;
	return nenv;
}

/*
 * Child: only async-signal-safe calls until execve.  The channel goes to
 * fd 3, stdin to /dev/null, stderr stays the broker's so an early crash
 * is visible; every other fd is closed.  The helper dies with the broker
 * (PDEATHSIG).
 */
static void __dead
spawn_child(int chanfd, int devnull, int xfd, int exfd, int newnet,
    char *argv[], char *envp[])
{
	sigset_t none;
	int lo;

	signal(SIGPIPE, SIG_DFL);
	(void)setpgid(0, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(devnull, 0) == -1 || dup2(devnull, 1) == -1)
		_exit(126);
	/*
	 * xfd (the API process's HTTP connection) becomes fd 4: a socket
	 * the helper is meant to own, nothing else leaks.  Park it above 4
	 * first so placing fd 3 cannot clobber it.
	 */
	if (xfd >= 0 && (xfd = fcntl(xfd, F_DUPFD, 5)) == -1)
		_exit(126);
	/* The checked binary's fd too; it closes on exec (O_CLOEXEC). */
	if ((exfd = fcntl(exfd, F_DUPFD_CLOEXEC, 5)) == -1)
		_exit(126);
	if (chanfd == 3) {
		if (fcntl(3, F_SETFD, 0) == -1)
			_exit(126);
	} else if (dup2(chanfd, 3) == -1)
		_exit(126);
	if (xfd >= 0 && dup2(xfd, 4) == -1)
		_exit(126);
	lo = xfd >= 0 ? 5 : 4;
	if ((exfd > lo && syscall(SYS_close_range, (unsigned)lo,
	    (unsigned)exfd - 1, 0) == -1) ||
	    syscall(SYS_close_range, (unsigned)exfd + 1, ~0U, 0) == -1)
		_exit(126);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1)
		_exit(126);
	/*
	 * Safety: an empty network namespace of its own (the roles table's
	 * newnet) puts the host's abstract unix sockets out of the helper's
	 * reach; fd 4, bound by us, works across namespaces.
	 */
	if (newnet && unshare(CLONE_NEWNET) == -1)
		_exit(126);
	/* Safety: runs the file trusted_exec_open() checked, by fd. */
	syscall(SYS_execveat, exfd, "", argv, envp, AT_EMPTY_PATH);
	_exit(127);
}

/*
 * Fork and exec the helper binary open on exfd (always closed here),
 * `path` being its name for argv[0].  On success h->pid and h->sock (our
 * end of the channel) are set.
 */
static int
spawn_fork(struct helper *h, char *path, int exfd, int xfd, struct pd_err *e)
{
	char *envp[4], *argv[2];
	int sv[2], devnull, nenv;
	pid_t pid;

	argv[0] = path;
	argv[1] = NULL;
	if ((devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1) {
		close(exfd);
		return pd_errno(e, PD_E_INTERNAL, "open /dev/null");
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		close(devnull);
		close(exfd);
		return pd_errno(e, PD_E_INTERNAL, "socketpair");
	}
	nenv = spawn_env(envp);
	/* Safety: the child makes only async-signal-safe calls until exec. */
	if ((pid = helper_fork_owned()) == 0)
		spawn_child(sv[1], devnull, xfd, exfd, pd_role(h->role)->newnet,
		    argv, envp);
	if (pid == -1) {
		(void)pd_errno(e, PD_E_INTERNAL, "fork");
		close(sv[0]);
	} else {
		h->pid = pid;
		h->sock = sv[0];
	}
	close(sv[1]);
	close(devnull);
	close(exfd);
	while (nenv > 0)
		free(envp[--nenv]);
	return pid == -1 ? -1 : 0;
}

/*
 * The SETUP handshake: tell the fresh helper who it is and how to sandbox
 * itself (chrooted into rootfd), and wait for its SETUP_DONE.  Any
 * failure tears the helper down.
 */
static int
spawn_setup(struct helper *h, int rootfd, struct pd_err *e)
{
	static const uint32_t setup_done[] = { PD_MSG_SETUP_DONE };
	struct pd_setup_done sd;
	struct pd_setup s;
	struct pd_msg m;
	struct pd_err ie;
	int role = h->role;

	memset(&s, 0, sizeof(s));
	s.version = PD_PROTO_VERSION;
	s.role = (uint32_t)role;
	s.uid = h->uid;
	s.gid = h->gid;
	s.loglevel = (uint32_t)log_getlevel();
	s.rlim_nofile = pd_role(role)->nofile;
	/* What depends on configuration, not on the role alone: */
	s.proxy = role == PD_ROLE_FETCHER ? conf.proxy : NULL;
	if (role == PD_ROLE_EXTRACTOR)
		s.rlim_fsize = conf.limits.max_file > conf.limits.max_compressed ?
		    conf.limits.max_file : conf.limits.max_compressed;
	/* The log writer's files never grow past the rotation size. */
	if (role == PD_ROLE_LOGGER)
		s.rlim_fsize = conf.plugin_log_max;
	if (pd_send_setup(h->sock, 0, rootfd, &s, &ie) == -1)
		return helper_fail(h, !helper_dead(h->pid), e, "did not take SETUP",
		    ie.msg);
	if (helper_recv(h, setup_done, 1, (int)conf.limits.helper_timeout * 1000,
	    &m, e) == -1) {
		helper_kill(h);
		return -1;
	}
	if (pd_dec_setup_done(&m, &sd, &ie) == -1 || sd.version != PD_PROTO_VERSION) {
		pd_msg_clear(&m);
		return helper_fail(h, 1, e, "answered SETUP wrongly",
		    ie.code ? ie.msg : "protocol version mismatch");
	}
	pd_msg_clear(&m);
	return 0;
}

/*
 * The same, with `xfd` (if >= 0) as the helper's fd 4 from exec on: the
 * API process gets the HTTP connection the broker accepted this way.
 */
int
helper_spawn_fd(struct helper *h, int role, int rootfd, const char *rootpath,
    int xfd, struct pd_err *e)
{
	char path[4096];
	struct pd_err ie;
	struct timeval tv;
	int exfd;

	memset(h, 0, sizeof(*h));
	h->pid = -1;
	h->sock = -1;
	h->role = role;
	h->client = job_client;
	snprintf(h->rootdir, sizeof(h->rootdir), "%s", rootpath ? rootpath : "");
	if (helper_lookup_user(role, &h->uid, &h->gid, e) == -1)
		return -1;
	helper_path(role, path, sizeof(path));
	if ((exfd = trusted_exec_open(path, "helper", e)) == -1)
		return -1;
	if (spawn_fork(h, path, exfd, xfd, e) == -1)
		return -1;
	/* A helper that stops reading fails a send after helper-timeout. */
	tv.tv_sec = conf.limits.helper_timeout;
	tv.tv_usec = 0;
	(void)setsockopt(h->sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (pd_chan_init(&h->chan, h->sock, 0) == -1) {
		helper_kill(h);
		return pd_errf(e, PD_E_INTERNAL, "out of memory");
	}
	if (spawn_setup(h, rootfd, e) == -1)
		return -1;
	/* Single-request helpers number their request 1 (registry.c counts). */
	h->want_id = 1;
	if (helper_check_outside(h, &ie) == -1) {
		/* Killed from outside meanwhile: say so, not "not sandboxed". */
		if (helper_dead(h->pid))
			return helper_fail(h, 0, e, "died during start-up", ie.msg);
		return helper_fail(h, 1, e, "is not sandboxed as required", ie.msg);
	}
	log_debug("%s[%d] ready: %s", pd_role_name(role), (int)h->pid,
	    h->sandbox);
	return 0;
}

/*
 * Warm spares (docs/PRIVSEP.md "Warm spares").  For each role with a
 * `spare` count in the roles table the broker keeps that many helpers
 * started, sandboxed and checked from outside, each waiting for its first
 * request.  helper_get() hands one to a job, which uses it for that job
 * alone as before; when the job tears it down (an API spare: at once),
 * the spare thread is woken and starts a replacement, off the job's
 * path.  The thread also watches the idle spares: one that dies or sends
 * anything but a LOG line is reaped and replaced.  A spare holds no lock
 * and no fd but its channel.
 *
 * An extractor spare starts chrooted into a staging rootfs made for it
 * alone (tmp/spare-XXXXXX/rootfs), renamed for the job that takes it, so
 * every extractor still starts in a fresh, empty root that no other
 * process ever had: the job's staging rootfs for a layer extractor, an
 * empty directory for a parser.
 */
struct spare {
	struct helper	 h;
	struct stage	 st;
};

#define SPARE_RETRY_MS	5000	/* after a failed start */
/*
 * Spares start niced (the thread's nice, inherited by the fork), so a
 * replacement takes no CPU from the job that took its predecessor; the
 * job's own helper is set back to 0 when taken.
 */
#define SPARE_NICE	10
#define SPARE_API_HOLD_MS 250	/* see spare_hold */

static pthread_mutex_t	 spare_mtx = PTHREAD_MUTEX_INITIALIZER;
static struct spare	*spares[PD_ROLE_MAX][PD_ROLE_MAXSPARE];
/*
 * Job helpers (fetcher, extractor) started or taken and not yet torn
 * down, per role.  Replacements of job spares start when no job helper
 * of any role is left, not when a spare is taken nor when the job's
 * parser is done: no replacement is spawned, or sits in memory, while a
 * job it would compete with runs (a big install's peak RSS: a fresh
 * extractor spare is 8 MB of it; a small install's CPU on a 2-core
 * host).  An API spare lives as long as its connection, which may be a
 * keep-alive client's: its replacement starts when the connection ends
 * or SPARE_API_HOLD_MS after it was taken, whichever comes first, so
 * that a docker CLI verb (a few connections of a few ms each) never
 * shares the CPUs with the exec, sandbox and check of the next API
 * process.
 */
static int		 spare_busy[PD_ROLE_MAX];
static uint64_t		 spare_hold[PD_ROLE_MAX];	/* no replacement before */
static int		 spare_run;
static int		 spare_pipe[2] = { -1, -1 };	/* wakes the thread */
static pthread_t	 spare_tid;

/* How many spares of `role` the broker keeps now. */
static int
spare_count(int role)
{
	int n = pd_role(role)->spare;

	if (!conf.helper_spares || (role == PD_ROLE_API &&
	    conf.docker_api == NULL))
		return 0;
	return n > PD_ROLE_MAXSPARE ? PD_ROLE_MAXSPARE : n;
}

/*
 * The root a helper of `role` starts in, opened; its path in `path`.  An
 * extractor's is a staging rootfs made now (in *st), named after `kind`.
 */
static int
helper_root(int role, const char *kind, struct stage *st, char *path,
    size_t len, struct pd_err *e)
{
	int fd;

	if (role == PD_ROLE_EXTRACTOR) {
		if (stage_create(kind, st, e) == -1)
			return -1;
		snprintf(path, len, "%.4095s", st->rootfs);
		if ((fd = fcntl(st->rootfd, F_DUPFD_CLOEXEC, 0)) == -1) {
			stage_discard(st);
			return pd_errno(e, PD_E_INTERNAL, "dup");
		}
		return fd;
	}
	if (role == PD_ROLE_FETCHER)
		snprintf(path, len, "%s/fetch-root", conf.data_root);
	else if (role == PD_ROLE_API) {
		/*
		 * The API process's chroot: an empty root-owned directory
		 * (0755 less the broker's umask).  Safe: the process can
		 * neither write it (root-owned) nor open files at all (no
		 * openat in its policy).
		 */
		snprintf(path, len, "%s/api-root", conf.data_root);
		if (mkdir(path, 0755) == -1 && errno != EEXIST)
			return pd_errno(e, PD_E_IO, "mkdir %s", path);
	} else
		return pd_errf(e, PD_E_INTERNAL, "no root for the %s",
		    pd_role_name(role));
	if ((fd = open(path, O_DIRECTORY | O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW)) == -1)
		return pd_errno(e, PD_E_IO, "open %s", path);
	return fd;
}

static int
spare_start(int role, const char *kind, struct spare *s, struct pd_err *e)
{
	char root[4096];
	int rootfd, rc;

	memset(&s->st, 0, sizeof(s->st));
	s->st.rootfd = -1;
	if ((rootfd = helper_root(role, kind, &s->st, root, sizeof(root),
	    e)) == -1)
		return -1;
	rc = helper_spawn(&s->h, role, rootfd, root, e);
	close(rootfd);
	if (rc == -1)
		stage_discard(&s->st);
	return rc;
}

static void
spare_free(struct spare *s)
{
	helper_kill(&s->h);
	stage_discard(&s->st);
	free(s);
}

static void
spare_wake(void)
{
	char c = 0;

	/* A full pipe is a thread already woken. */
	if (spare_pipe[1] >= 0 && write(spare_pipe[1], &c, 1) == -1)
		return;
}

/* A ready spare of `role`, out of the table; NULL if none. */
static struct spare *
spare_take(int role)
{
	struct spare *s = NULL;
	int i;

	pthread_mutex_lock(&spare_mtx);
	for (i = 0; i < PD_ROLE_MAXSPARE && s == NULL; i++) {
		s = spares[role][i];
		spares[role][i] = NULL;
	}
	pthread_mutex_unlock(&spare_mtx);
	return s;
}

/*
 * A started, sandboxed and checked helper of `role` for the calling job:
 * a warm spare if one is ready (alive), else one started now.  An
 * extractor comes with its staging rootfs in *st, named after `kind`.
 */
int
helper_get(struct helper *h, int role, const char *kind, struct stage *st,
    struct pd_err *e)
{
	struct spare *s;

	while ((s = spare_take(role)) != NULL) {
		if (!helper_dead(s->h.pid))
			break;
		spare_wake();
		log_info("warm spare %s[%d] had died: not used",
		    pd_role_name(role), (int)s->h.pid);
		spare_free(s);
	}
	if (s == NULL) {
		s = xcalloc(1, sizeof(*s));
		if (spare_start(role, kind, s, e) == -1) {
			free(s);
			return -1;
		}
	} else {
		if (role == PD_ROLE_EXTRACTOR && stage_rename(&s->st, kind) == 0)
			snprintf(s->h.rootdir, sizeof(s->h.rootdir), "%.4095s",
			    s->st.rootfs);
		s->h.client = job_client;
		/* Privileged (CAP_SYS_NICE): back to the broker's priority. */
		(void)setpriority(PRIO_PROCESS, (id_t)s->h.pid, 0);
		log_debug("%s[%d]: a warm spare, taken", pd_role_name(role),
		    (int)s->h.pid);
	}
	*h = s->h;
	pthread_mutex_lock(&spare_mtx);
	if (role == PD_ROLE_API)
		spare_hold[role] = pd_now_ms() + SPARE_API_HOLD_MS;
	else
		spare_busy[role]++;
	pthread_mutex_unlock(&spare_mtx);
	h->spare_out = 1;
	if (st != NULL)
		*st = s->st;
	else
		stage_discard(&s->st);
	free(s);
	return 0;
}

/* A job is done with a spare it took: its replacement may start now. */
static void
spare_returned(struct helper *h)
{
	if (!h->spare_out)
		return;
	h->spare_out = 0;
	pthread_mutex_lock(&spare_mtx);
	if (h->role == PD_ROLE_API)
		spare_hold[h->role] = 0;
	else if (spare_busy[h->role] > 0)
		spare_busy[h->role]--;
	pthread_mutex_unlock(&spare_mtx);
	spare_wake();
}

/* Start what is missing; failed starts are retried after a pause. */
static void
spare_fill(uint64_t retry[PD_ROLE_MAX])
{
	struct spare *s;
	struct pd_err e;
	int role, i, placed;

	for (role = PD_ROLE_FETCHER; role < PD_ROLE_MAX; role++)
		for (i = 0; i < spare_count(role); i++) {
			pthread_mutex_lock(&spare_mtx);
			placed = spares[role][i] != NULL || !spare_run ||
			    (role != PD_ROLE_API && (spare_busy[PD_ROLE_FETCHER] > 0 ||
			    spare_busy[PD_ROLE_EXTRACTOR] > 0)) ||
			    pd_now_ms() < spare_hold[role];
			pthread_mutex_unlock(&spare_mtx);
			if (placed || pd_now_ms() < retry[role])
				continue;
			s = xcalloc(1, sizeof(*s));
			if (spare_start(role, "spare", s, &e) == -1) {
				log_warnx("warm spare %s: %s (retried in %d s)",
				    pd_role_name(role), e.msg,
				    SPARE_RETRY_MS / 1000);
				retry[role] = pd_now_ms() + SPARE_RETRY_MS;
				free(s);
				continue;
			}
			pthread_mutex_lock(&spare_mtx);
			placed = spare_run && spares[role][i] == NULL;
			if (placed)
				spares[role][i] = s;
			pthread_mutex_unlock(&spare_mtx);
			if (!placed)
				spare_free(s);
		}
}

/*
 * An idle spare's channel is readable: a LOG line is logged, and the
 * spare goes back; anything else, or its death, costs the spare.  It is
 * out of the table meanwhile (a job may not take it half-read).
 */
static void
spare_check(int role, int i, pid_t pid)
{
	struct spare *s;
	struct pd_msg m;
	struct pd_err e;

	pthread_mutex_lock(&spare_mtx);
	s = spares[role][i];
	if (s != NULL && s->h.pid == pid)
		spares[role][i] = NULL;
	else
		s = NULL;	/* taken meanwhile: the job's now */
	pthread_mutex_unlock(&spare_mtx);
	if (s == NULL)
		return;
	if (helper_fill(&s->h, &e) == 0 &&
	    helper_take(&s->h, NULL, 0, &m, &e) == 0) {
		pthread_mutex_lock(&spare_mtx);
		if (spare_run && spares[role][i] == NULL) {
			spares[role][i] = s;
			s = NULL;
		}
		pthread_mutex_unlock(&spare_mtx);
		if (s != NULL)
			spare_free(s);
		return;
	}
	log_info("warm spare %s[%d]: %s; starting another", pd_role_name(role),
	    (int)pid, e.msg);
	spare_free(s);
}

static void *
spare_thread(void *arg)
{
	struct pollfd pfd[1 + PD_ROLE_MAX * PD_ROLE_MAXSPARE];
	int rs[1 + PD_ROLE_MAX * PD_ROLE_MAXSPARE][2];
	pid_t pids[1 + PD_ROLE_MAX * PD_ROLE_MAXSPARE];
	uint64_t retry[PD_ROLE_MAX];
	char buf[64];
	uint64_t now;
	int role, i, n, run, wait;

	(void)arg;
	/* This thread only: Linux applies a tid's nice to that thread. */
	(void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), SPARE_NICE);
	memset(retry, 0, sizeof(retry));
	for (;;) {
		spare_fill(retry);
		pfd[0].fd = spare_pipe[0];
		pfd[0].events = POLLIN;
		n = 1;
		pthread_mutex_lock(&spare_mtx);
		run = spare_run;
		/* A failed start is retried within a second of its pause. */
		wait = 1000;
		now = pd_now_ms();
		for (role = 0; role < PD_ROLE_MAX; role++) {
			if (spare_hold[role] > now &&
			    spare_hold[role] - now < (uint64_t)wait)
				wait = (int)(spare_hold[role] - now);
			for (i = 0; i < PD_ROLE_MAXSPARE; i++)
				if (spares[role][i] != NULL) {
					pfd[n].fd = spares[role][i]->h.sock;
					pfd[n].events = POLLIN;
					pids[n] = spares[role][i]->h.pid;
					rs[n][0] = role;
					rs[n++][1] = i;
				}
		}
		pthread_mutex_unlock(&spare_mtx);
		if (!run)
			break;
		if (poll(pfd, (nfds_t)n, wait) <= 0)
			continue;
		if (pfd[0].revents & POLLIN)
			while (read(spare_pipe[0], buf, sizeof(buf)) > 0)
				;
		for (i = 1; i < n; i++)
			if (pfd[i].revents)
				spare_check(rs[i][0], rs[i][1], pids[i]);
	}
	return NULL;
}

/* After start-up: the spares' thread; it starts the first ones. */
void
helper_spares_start(void)
{
	if (pipe2(spare_pipe, O_CLOEXEC | O_NONBLOCK) == -1) {
		log_warn("warm spares: pipe");
		return;
	}
	spare_run = 1;
	if (pthread_create(&spare_tid, NULL, spare_thread, NULL) != 0) {
		log_warnx("warm spares: cannot start their thread");
		spare_run = 0;
	}
}

/* At shutdown: no more spares; those kept are killed and reaped. */
void
helper_spares_stop(void)
{
	struct spare *s;
	int role, i, joined;

	pthread_mutex_lock(&spare_mtx);
	joined = spare_run;
	spare_run = 0;
	pthread_mutex_unlock(&spare_mtx);
	if (joined) {
		spare_wake();
		pthread_join(spare_tid, NULL);
	}
	for (role = 0; role < PD_ROLE_MAX; role++)
		for (i = 0; i < PD_ROLE_MAXSPARE; i++)
			if ((s = spares[role][i]) != NULL) {
				spares[role][i] = NULL;
				spare_free(s);
			}
}

/* Is pid a live process named comm (its binary) chrooted into root? */
int
helper_is(pid_t pid, const char *comm, const char *root)
{
	char path[64], buf[4200];
	size_t n = strlen(comm);
	ssize_t r;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	if (pd_read_small(path, buf, sizeof(buf)) == -1)
		return 0;
	if (strncmp(buf, comm, n) != 0 || strcmp(buf + n, "\n") != 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
	if ((r = readlink(path, buf, sizeof(buf) - 1)) <= 0)
		return 0;
	buf[r] = '\0';
	return strcmp(buf, root) == 0;
}

/*
 * Wait, ms at most, until the processes behind the pidfds fds[0..n-1]
 * have exited (a pidfd turns readable then, reaped or not); each gone
 * one's fd is closed and set to -1.  How many are left.
 */
int
helper_wait_gone(int *fds, int n, int ms)
{
	struct pollfd pfd[16];
	uint64_t end = pd_now_ms() + (uint64_t)ms, now;
	int i, left;

	if (n > 16)
		n = 16;
	for (;;) {
		for (i = 0, left = 0; i < n; i++) {
			pfd[i].fd = fds[i];	/* poll skips the -1s */
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
			left += fds[i] >= 0;
		}
		if (left == 0 || (now = pd_now_ms()) >= end ||
		    (poll(pfd, (nfds_t)n, (int)(end - now)) == -1 && errno != EINTR))
			return left;
		for (i = 0; i < n; i++)
			if (fds[i] >= 0 && (pfd[i].revents & (POLLIN | POLLHUP))) {
				close(fds[i]);
				fds[i] = -1;
			}
	}
}

/*
 * The processes named comm chrooted into root (at most npids of them);
 * how many.  Long-lived helpers (log writers, gateways) are found again
 * this way, by a restarted broker too: no pid files.
 */
int
helper_find(const char *comm, const char *root, pid_t *pids, int npids)
{
	struct dirent *de;
	int n = 0;
	DIR *d;
	long v;

	if ((d = opendir("/proc")) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		v = strtol(de->d_name, NULL, 10);
		if (v > 0 && helper_is((pid_t)v, comm, root)) {
			if (n < npids)
				pids[n] = (pid_t)v;
			n++;
		}
	}
	closedir(d);
	return n;
}

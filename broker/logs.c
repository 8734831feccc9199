/*
 * Plugin output.  A plugin's stdout and stderr are the write end of a
 * pipe; its read end belongs to the plugin's log writer, plugind-logger
 * (logger/logger.c), started here before `runc run`.  The writer runs as
 * the logger user without capabilities under its seccomp policy,
 * chrooted into <data-root>/plugins/<id>/logs, and appends to "log",
 * renaming it to "log.1" (one generation) when the next write would take
 * it past plugin-log-max-bytes: the two files never hold more than twice
 * that.  It survives the broker (a restarted broker adopts the plugin and
 * its output keeps flowing) and exits when the plugin's last process is
 * gone.  Plugins are found again by their writer's root directory
 * (/proc/PID/root), so no pid file is needed.
 *
 * `logs` streams the files to the client as CTL_DATA (clients never
 * receive file descriptors), CHUNK bytes at a time from an offset: the
 * broker never holds more than one chunk per client, and a client that
 * does not read is dropped after one send timeout (pd_msg_send).
 * `--tail N` finds the start of the last N lines by reading backwards.
 * `logs -f` keeps reading until the client disconnects or the plugin is
 * removed, and follows "log" across a rotation.
 */
#include <sys/stat.h>
#include <sys/syscall.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "log.h"
#include "role.h"
#include "util.h"

#define CHUNK		16384	/* bytes read and sent at a time */
#define LOG_MIN		4096	/* smallest rotation size */

uint64_t
plugin_log_cap(void)
{
	return conf.plugin_log_max < LOG_MIN ? LOG_MIN : conf.plugin_log_max;
}

static int
plugdir_fd(const char *id)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/plugins/%s", conf.data_root, id);
	return open(path, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
}

/*
 * Start the log writer for plugin id; *wfd is the pipe end the plugin's
 * stdout and stderr go to.  The caller closes it once the runtime has it.
 */
int
plugin_logger_start(const char *id, int *wfd, struct pd_err *e)
{
	char path[4200];
	struct helper h;
	uid_t uid;
	gid_t gid;
	int pfd, lfd = -1, p[2] = { -1, -1 }, rc = -1;

	*wfd = -1;
	if (helper_lookup_user(PD_ROLE_LOGGER, &uid, &gid, e) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/plugins/%s/logs", conf.data_root, id);
	if ((pfd = plugdir_fd(id)) == -1)
		return pd_errno(e, PD_E_IO, "plugin directory of %s", id);
	/* The flat log files of earlier versions go: logs/ replaces them. */
	(void)unlinkat(pfd, "log", 0);
	(void)unlinkat(pfd, "log.1", 0);
	if (mkdirat(pfd, "logs", 0700) == -1 && errno != EEXIST) {
		pd_errno(e, PD_E_IO, "mkdir %s", path);
		goto out;
	}
	if ((lfd = openat(pfd, "logs", O_DIRECTORY | O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		pd_errno(e, PD_E_IO, "open %s", path);
		goto out;
	}
	/*
	 * Give the directory (and the files a writer under another
	 * logger-user made) to the writer's user.  Safety: lfd was opened
	 * without following a link inside the root-owned plugin directory;
	 * fchownat does not follow symlinks, and a hard link to a file the
	 * user does not own cannot have been made (protected_hardlinks, and
	 * the writer is chrooted here).  The broker only ever reads these
	 * files, with O_NOFOLLOW, and refuses a hard-linked one.
	 */
	if (fchown(lfd, uid, gid) == -1 || fchmod(lfd, 0700) == -1) {
		pd_errno(e, PD_E_IO, "chown %s", path);
		goto out;
	}
	if ((fchownat(lfd, "log", uid, gid, AT_SYMLINK_NOFOLLOW) == -1 &&
	    errno != ENOENT) || (fchownat(lfd, "log.1", uid, gid,
	    AT_SYMLINK_NOFOLLOW) == -1 && errno != ENOENT)) {
		pd_errno(e, PD_E_IO, "chown the files in %s", path);
		goto out;
	}
	if (pipe2(p, O_CLOEXEC) == -1) {
		pd_errno(e, PD_E_INTERNAL, "pipe");
		goto out;
	}
	if (helper_spawn_fd(&h, PD_ROLE_LOGGER, lfd, path, p[0], e) == -1)
		goto out;
	helper_release(&h);
	*wfd = p[1];
	p[1] = -1;
	rc = 0;
out:
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	if (lfd >= 0)
		close(lfd);
	close(pfd);
	return rc;
}

/* Is pid a log writer chrooted into `root`?  Zombies are not. */
static int
is_logger(pid_t pid, const char *root)
{
	char path[64], buf[4200];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if (strcmp(buf, "plugind-logger\n") != 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
	if ((n = readlink(path, buf, sizeof(buf) - 1)) <= 0)
		return 0;
	buf[n] = '\0';
	return strcmp(buf, root) == 0;
}

/* The log writers of plugin id (at most npids of them); how many. */
static int
find_loggers(const char *id, pid_t *pids, int npids)
{
	char root[4200];
	struct dirent *de;
	int n = 0;
	DIR *d;
	long v;

	snprintf(root, sizeof(root), "%s/plugins/%s/logs", conf.data_root, id);
	if ((d = opendir("/proc")) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		v = strtol(de->d_name, NULL, 10);
		if (v > 0 && is_logger((pid_t)v, root)) {
			if (n < npids)
				pids[n] = (pid_t)v;
			n++;
		}
	}
	closedir(d);
	return n;
}

int
plugin_logger_count(const char *id)
{
	pid_t pids[8];

	return find_loggers(id, pids, 8);
}

/*
 * After the plugin is gone: give its writer up to ms to drain the pipe
 * and exit, then kill what is left (something kept the pipe open).  The
 * kill goes through a pidfd opened and re-checked first, so a recycled
 * pid is never signalled.
 */
void
plugin_logger_wait(const char *id, int ms)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	char root[4200];
	pid_t pids[8];
	int n, i, pfd, waited = 0;

	for (;;) {
		if ((n = find_loggers(id, pids, 8)) == 0)
			return;
		if (waited >= ms)
			break;
		nanosleep(&ts, NULL);
		waited += 10;
	}
	snprintf(root, sizeof(root), "%s/plugins/%s/logs", conf.data_root, id);
	for (i = 0; i < n && i < 8; i++) {
		if ((pfd = (int)syscall(SYS_pidfd_open, pids[i], 0)) == -1)
			continue;
		if (is_logger(pids[i], root)) {
			log_warnx("plugin %.12s: log writer %d still runs after the "
			    "plugin stopped: killed", id, (int)pids[i]);
			(void)syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0);
		}
		close(pfd);
	}
	for (waited = 0; waited < 1000 && find_loggers(id, pids, 8) > 0;
	    waited += 10)
		nanosleep(&ts, NULL);
}

/*
 * Open name in the logs directory for reading: a regular file with one
 * link (the writer cannot pass another file off as its log), or -1.
 */
static int
open_gen(int lfd, const char *name, struct stat *st)
{
	int fd;

	if (lfd < 0 || (fd = openat(lfd, name, O_RDONLY | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, st) == -1 || !S_ISREG(st->st_mode) || st->st_nlink != 1) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * log.1 and log as one consistent pair: if the writer rotated between
 * the two opens, try again (log.1 would be what we opened as log).
 */
static void
open_pair(int lfd, int fds[2], off_t sizes[2])
{
	struct stat a, b, again;
	int tries;

	for (tries = 0; tries < 5; tries++) {
		fds[0] = open_gen(lfd, "log.1", &a);
		fds[1] = open_gen(lfd, "log", &b);
		if (fds[0] == -1 || (fstatat(lfd, "log.1", &again,
		    AT_SYMLINK_NOFOLLOW) == 0 && again.st_ino == a.st_ino))
			break;
		close(fds[0]);
		if (fds[1] >= 0)
			close(fds[1]);
	}
	sizes[0] = fds[0] >= 0 ? a.st_size : 0;
	sizes[1] = fds[1] >= 0 ? b.st_size : 0;
	if (tries == 5) {
		fds[0] = fds[1] = -1;
		sizes[0] = sizes[1] = 0;
	}
}

/*
 * Where the last `lines` lines of log.1 + log start: *which (0 log.1,
 * 1 log) and *off.  Reads backwards one chunk at a time; a newline that
 * ends the last line does not start another.
 */
static void
tail_find(const int fds[2], const off_t sizes[2], uint64_t lines, int *which,
    off_t *off)
{
	char buf[CHUNK];
	uint64_t seen = 0;
	int i, last = 1;
	off_t end, at;
	size_t n, k;

	*which = 0;
	*off = 0;
	for (i = 1; i >= 0; i--) {
		if (fds[i] < 0)
			continue;
		for (end = sizes[i]; end > 0; end = at) {
			n = end > CHUNK ? CHUNK : (size_t)end;
			at = end - (off_t)n;
			if (pread(fds[i], buf, n, at) != (ssize_t)n) {
				*which = i;
				*off = end;
				return;
			}
			for (k = n; k > 0; k--) {
				if (buf[k - 1] != '\n')
					last = 0;
				else if (last)
					last = 0;
				else if (++seen == lines) {
					*which = i;
					*off = at + (off_t)k;
					return;
				}
			}
		}
	}
}

/* Send fd from *off to `to` (-1: to its end) in chunks; -1 if the client left. */
static int
send_range(struct ctl_client *c, int fd, off_t *off, off_t to)
{
	char buf[CHUNK];
	struct stat st;
	ssize_t n;
	size_t want;

	for (;;) {
		want = sizeof(buf);
		if (to >= 0) {
			if (*off >= to)
				return 0;
			if ((off_t)want > to - *off)
				want = (size_t)(to - *off);
		}
		if ((n = pread(fd, buf, want, *off)) <= 0)
			return 0;
		if (ctl_reply_data(c, buf, (size_t)n) == -1)
			return -1;
		*off += n;
		/* Two rotations behind: this generation is gone, move on. */
		if (fstat(fd, &st) == 0 && st.st_nlink == 0)
			return 0;
	}
}

static int
dir_gone(int fd)
{
	struct stat st;

	return fd >= 0 && fstat(fd, &st) == 0 && st.st_nlink == 0;
}

/*
 * Stream what the writer appends to "log" from fd/off on, across
 * rotations: when "log" is another file than ours, ours has become
 * log.1 and is complete; finish it and go on with the new "log".
 */
static int
follow(struct ctl_client *c, int pfd, int lfd, int fd, off_t off)
{
	struct stat cur, now;
	int rc = 0, nfd;

	for (;;) {
		if (lfd < 0)
			lfd = openat(pfd, "logs", O_DIRECTORY | O_RDONLY | O_NOFOLLOW |
			    O_CLOEXEC);
		if (fd >= 0 && send_range(c, fd, &off, -1) == -1) {
			rc = -1;
			break;
		}
		if (lfd >= 0 && (fd < 0 || (fstat(fd, &cur) == 0 &&
		    (fstatat(lfd, "log", &now, AT_SYMLINK_NOFOLLOW) == 0 &&
		    now.st_ino != cur.st_ino)))) {
			if ((nfd = open_gen(lfd, "log", &now)) >= 0) {
				if (fd >= 0) {
					if (send_range(c, fd, &off, -1) == -1) {
						close(nfd);
						rc = -1;
						break;
					}
					close(fd);
				}
				fd = nfd;
				off = 0;
				continue;
			}
		}
		if (dir_gone(pfd) || dir_gone(lfd))
			break;			/* the plugin was removed */
		if (pd_quit || ctl_client_gone(c, 200))
			break;
	}
	if (fd >= 0)
		close(fd);
	if (lfd >= 0)
		close(lfd);
	return rc;
}

int
op_logs(struct ctl_client *c, struct pd_ctlreq *q, struct pd_err *e)
{
	char id[PD_PLUGIN_ID_LEN + 1];
	uint64_t tail = UINT64_MAX;
	int pfd, lfd, fds[2], which = 0, rc = 0;
	off_t sizes[2], off = 0;
	struct plugin *p;

	if (q->nargs == 2) {
		if (strncmp(q->args[1], "tail=", 5) != 0)
			return pd_errf(e, PD_E_INVAL, "bad logs option \"%s\"", q->args[1]);
		if (strcmp(q->args[1] + 5, "all") != 0 &&
		    pd_parse_u64(q->args[1] + 5, &tail) == -1)
			return pd_errf(e, PD_E_INVAL, "--tail: \"%s\" is not a number",
			    q->args[1] + 5);
	}
	pthread_rwlock_rdlock(&plugins_lock);
	if ((p = plugin_resolve(q->args[0], e)) != NULL)
		snprintf(id, sizeof(id), "%s", p->id);
	pthread_rwlock_unlock(&plugins_lock);
	if (p == NULL)
		return -1;
	if ((pfd = plugdir_fd(id)) == -1)
		return pd_errno(e, PD_E_IO, "plugin %s", q->args[0]);
	lfd = openat(pfd, "logs", O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	open_pair(lfd, fds, sizes);
	if (tail != 0) {
		if (tail != UINT64_MAX)
			tail_find(fds, sizes, tail, &which, &off);
		if (which == 0 && fds[0] >= 0) {
			rc = send_range(c, fds[0], &off, sizes[0]);
			off = 0;
		}
		if (rc == 0 && fds[1] >= 0)
			rc = send_range(c, fds[1], &off, sizes[1]);
	}
	/* Follow from what we sent of `log`. */
	off = sizes[1];
	if (fds[0] >= 0)
		close(fds[0]);
	if (rc == 0 && (q->flags & PD_CTLF_FOLLOW)) {
		rc = follow(c, pfd, lfd, fds[1], off);
		fds[1] = -1;
		lfd = -1;
	}
	if (fds[1] >= 0)
		close(fds[1]);
	if (lfd >= 0)
		close(lfd);
	close(pfd);
	if (rc == -1)
		return pd_errf(e, PD_E_IO, "client went away");
	return 0;
}

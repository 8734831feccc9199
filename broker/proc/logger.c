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
 * The `logs` verb that reads them is ops/logs.c.
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

#include "proc/proc.h"
#include "log.h"
#include "role.h"
#include "util.h"

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
	if ((pfd = plugin_dir_open(id)) == -1)
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

/* The log writers of plugin id (at most npids of them); how many. */
static int
find_loggers(const char *id, pid_t *pids, int npids)
{
	char root[4200];

	snprintf(root, sizeof(root), "%s/plugins/%s/logs", conf.data_root, id);
	return helper_find("plugind-logger", root, pids, npids);
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
	char root[4200];
	pid_t pids[8];
	int fds[8], n, i, k = 0;

	snprintf(root, sizeof(root), "%s/plugins/%s/logs", conf.data_root, id);
	n = find_loggers(id, pids, 8);
	for (i = 0; i < n && i < 8; i++)
		if ((fds[k] = (int)syscall(SYS_pidfd_open, pids[i], 0)) != -1) {
			/* Safety: re-checked through the pidfd it is pinned by. */
			if (helper_is(pids[i], "plugind-logger", root))
				pids[k++] = pids[i];
			else
				close(fds[k]);
		}
	/* Woken when each exits (the pipe's EOF), not at a sleep's tick. */
	if (k == 0 || helper_wait_gone(fds, k, ms) == 0)
		return;
	for (i = 0; i < k; i++)
		if (fds[i] >= 0) {
			log_warnx("plugin %.12s: log writer %d still runs after the "
			    "plugin stopped: killed", id, (int)pids[i]);
			(void)syscall(SYS_pidfd_send_signal, fds[i], SIGKILL, NULL, 0);
		}
	if (helper_wait_gone(fds, k, 1000) > 0)
		for (i = 0; i < k; i++)
			if (fds[i] >= 0)
				close(fds[i]);
}

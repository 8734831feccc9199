/*
 * `logs`: a plugin's log files (written by its plugind-logger, see
 * proc/logger.c) streamed to the client as CTL_DATA (clients never
 * receive file descriptors), CHUNK bytes at a time from an offset: the
 * broker never holds more than one chunk per client, and a client that
 * does not read is dropped after one send timeout (pd_msg_send).
 * `--tail N` finds the start of the last N lines by reading backwards.
 * `logs -f` keeps reading until the client disconnects or the plugin is
 * removed, and follows "log" across a rotation.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ops/ops.h"
#include "util.h"

#define CHUNK		16384	/* bytes read and sent at a time */

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
op_logs(struct ctl_client *c, struct pd_ctlreq *q, int reqfd,
    struct pd_err *e)
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
	if ((pfd = plugin_dir_open(id)) == -1)
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

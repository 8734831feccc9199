/*
 * Plugin output.  A plugin's stdout and stderr are one O_APPEND file,
 * <data-root>/plugins/<id>/log, handed to the runtime at start (runc
 * run -d passes its stdio to the plugin).  The plugin writes to it
 * directly, so its output survives a broker restart and an adopted
 * plugin keeps logging.  The broker checks the size once a second and
 * rotates by copy-and-truncate into log.1 (one generation): the plugin's
 * fd stays valid, and with O_APPEND its next write lands at offset 0.
 * Lines written between the copy and the truncate are lost.
 *
 * `logs` streams the content to the client as CTL_DATA (clients never
 * receive file descriptors); `logs -f` keeps reading until the client
 * disconnects or the plugin is removed.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"
#include "log.h"
#include "util.h"

#define READ_CAP	(16 * 1024 * 1024)

static pthread_mutex_t	 rot_mtx = PTHREAD_MUTEX_INITIALIZER;

static int
plugdir_fd(const char *id)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/plugins/%s", conf.data_root, id);
	return open(path, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
}

static int
copy_fd(int in, int out, off_t len)
{
	char buf[65536];
	off_t off = 0;
	ssize_t n;

	while (off < len) {
		n = pread(in, buf, (size_t)(len - off) < sizeof(buf) ?
		    (size_t)(len - off) : sizeof(buf), off);
		if (n <= 0)
			return n == 0 ? 0 : -1;
		if (pd_write_full(out, buf, (size_t)n) == -1)
			return -1;
		off += n;
	}
	return 0;
}

/* log -> log.1 when log is over the configured size. */
void
plugin_log_rotate(const char *id)
{
	struct stat st;
	int dfd, fd, tfd;

	if ((dfd = plugdir_fd(id)) == -1)
		return;
	pthread_mutex_lock(&rot_mtx);
	fd = openat(dfd, "log", O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 || fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size <= conf.plugin_log_max)
		goto out;
	tfd = openat(dfd, ".log.1.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (tfd == -1) {
		log_warn("plugin %.12s: rotate log", id);
		goto out;
	}
	if (copy_fd(fd, tfd, st.st_size) == -1 || close(tfd) == -1 ||
	    renameat(dfd, ".log.1.tmp", dfd, "log.1") == -1) {
		log_warn("plugin %.12s: rotate log", id);
		(void)unlinkat(dfd, ".log.1.tmp", 0);
		goto out;
	}
	if (ftruncate(fd, 0) == -1)
		log_warn("plugin %.12s: truncate log", id);
out:
	if (fd >= 0)
		close(fd);
	pthread_mutex_unlock(&rot_mtx);
	close(dfd);
}

/* Read at most READ_CAP bytes from the end of dfd/name; NULL if absent. */
static char *
slurp(int dfd, const char *name, size_t *len, off_t *end)
{
	struct stat st;
	off_t from;
	char *buf;
	ssize_t n;
	int fd;

	*len = 0;
	*end = 0;
	if ((fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return NULL;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return NULL;
	}
	from = st.st_size > READ_CAP ? st.st_size - READ_CAP : 0;
	buf = xmalloc((size_t)(st.st_size - from) + 1);
	n = pread(fd, buf, (size_t)(st.st_size - from), from);
	close(fd);
	if (n < 0)
		n = 0;
	buf[n] = '\0';
	*len = (size_t)n;
	*end = from + n;
	return buf;
}

/* Start of the last `lines` lines of buf (a trailing newline ends a line). */
static size_t
tail_start(const char *buf, size_t len, uint64_t lines)
{
	size_t i = len;
	uint64_t seen = 0;

	if (i > 0 && buf[i - 1] == '\n')
		i--;
	while (i > 0) {
		if (buf[i - 1] == '\n' && ++seen == lines)
			return i;
		i--;
	}
	return 0;
}

static int
follow(struct ctl_client *c, int dfd, off_t off)
{
	char buf[65536];
	struct stat st;
	ssize_t n;
	int fd = -1, old;

	for (;;) {
		if (fd == -1)
			fd = openat(dfd, "log", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && fstat(fd, &st) == 0) {
			if (st.st_nlink == 0)
				break;			/* the plugin was removed */
			if (st.st_size < off) {
				/* Rotated: the rest of what we had is in log.1. */
				if ((old = openat(dfd, "log.1", O_RDONLY | O_NOFOLLOW |
				    O_CLOEXEC)) >= 0) {
					while ((n = pread(old, buf, sizeof(buf), off)) > 0) {
						if (ctl_reply_data(c, buf, (size_t)n) == -1) {
							close(old);
							close(fd);
							return -1;
						}
						off += n;
					}
					close(old);
				}
				off = 0;
			}
			while ((n = pread(fd, buf, sizeof(buf), off)) > 0) {
				if (ctl_reply_data(c, buf, (size_t)n) == -1) {
					close(fd);
					return -1;
				}
				off += n;
			}
		}
		if (pd_quit || ctl_client_gone(c, 200))
			break;
	}
	if (fd >= 0)
		close(fd);
	return 0;
}

int
op_logs(struct ctl_client *c, struct pd_ctlreq *q, struct pd_err *e)
{
	char id[PD_PLUGIN_ID_LEN + 1];
	char *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0, start;
	uint64_t tail = UINT64_MAX;
	struct plugin *p;
	off_t aend, bend;
	int dfd, rc = 0;

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
	if ((dfd = plugdir_fd(id)) == -1)
		return pd_errno(e, PD_E_IO, "plugin %s", q->args[0]);
	pthread_mutex_lock(&rot_mtx);
	a = slurp(dfd, "log.1", &alen, &aend);
	b = slurp(dfd, "log", &blen, &bend);
	pthread_mutex_unlock(&rot_mtx);
	/* The offset to follow from is what we read of `log`. */
	if (tail != 0) {
		start = tail_start(b ? b : "", blen, tail);
		if (start == 0 && a != NULL) {
			uint64_t have = 0;
			size_t i;

			for (i = 0; i < blen; i++)
				if (b[i] == '\n')
					have++;
			if (blen > 0 && b[blen - 1] != '\n')
				have++;
			if (have < tail) {
				size_t s2 = tail_start(a, alen, tail - have);

				rc = ctl_reply_data(c, a + s2, alen - s2);
			}
		}
		if (rc == 0 && blen > start)
			rc = ctl_reply_data(c, b + start, blen - start);
	}
	free(a);
	free(b);
	if (rc == -1) {
		close(dfd);
		return pd_errf(e, PD_E_IO, "client went away");
	}
	if (q->flags & PD_CTLF_FOLLOW) {
		rc = follow(c, dfd, bend);
		if (rc == -1)
			pd_errf(e, PD_E_IO, "client went away");
	}
	close(dfd);
	return rc;
}

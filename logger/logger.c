/*
 * plugind-logger: one per running plugin.  Its fd 4 is the read end of
 * the pipe the plugin's stdout and stderr write into; it is chrooted into
 * <data-root>/plugins/<id>/logs (a directory its user owns), has no
 * capabilities and runs under the "logger" seccomp policy.  It appends
 * what it reads to "log" and, when the next write would take "log" past
 * the rotation size (SETUP's rlim_fsize, also its RLIMIT_FSIZE), renames
 * "log" to "log.1" and starts a new "log": the two files never hold more
 * than twice that size.  It reads one 64 KiB buffer at a time and writes
 * it before reading more, so a plugin that writes faster than the disk
 * takes waits on a full pipe: memory stays bounded, nothing is dropped.
 *
 * It does not talk to the broker after SETUP_DONE and does not die with
 * it: a restarted broker finds the plugin still logging.  It exits when
 * the last holder of the pipe's write end (the plugin) is gone.  It never
 * interprets the bytes it copies.  docs/LIFECYCLE.md, docs/PRIVSEP.md.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "child.h"
#include "log.h"
#include "role.h"

#define IN_FD	4

static char	buf[65536];

static int
open_log(uint64_t *size)
{
	struct stat st;
	int fd;

	fd = openat(AT_FDCWD, "log", O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd == -1 || fstat(fd, &st) == -1)
		return -1;
	*size = (uint64_t)st.st_size;
	return fd;
}

static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
main(void)
{
	struct pd_setup s;
	struct pd_chan ch;
	uint64_t max, size;
	size_t n, off, room, chunk;
	ssize_t r;
	char *nl;
	int fd;

	pd_child_init(PD_ROLE_LOGGER, &ch, &s);
	/* Nothing more to say to the broker, nor on its stderr. */
	close(PD_CHILD_FD);
	close(2);
	max = s.rlim_fsize;
	if (max < 4096)
		return 1;
	if ((fd = open_log(&size)) == -1)
		return 1;
	for (;;) {
		r = read(IN_FD, buf, sizeof(buf));
		if (r == 0)
			return 0;	/* the plugin is gone */
		if (r == -1) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		n = (size_t)r;
		for (off = 0; off < n; off += chunk) {
			if (size >= max) {
				/* Rotate: the old log.1 goes, log becomes log.1. */
				close(fd);
				if (renameat(AT_FDCWD, "log", AT_FDCWD, "log.1") == -1 ||
				    (fd = open_log(&size)) == -1)
					return 1;
				if (size != 0)
					return 1;	/* someone else wrote "log" */
			}
			room = (size_t)(max - size);
			chunk = n - off;
			if (chunk > room) {
				/* Cut at the last full line that fits, if any. */
				chunk = room;
				if ((nl = memrchr(buf + off, '\n', room)) != NULL)
					chunk = (size_t)(nl - (buf + off)) + 1;
			}
			/*
			 * A failed write (disk full) drops this chunk: the
			 * plugin keeps running and its later output is kept
			 * once there is room again.
			 */
			(void)write_all(fd, buf + off, chunk);
			size += chunk;
			if (chunk < n - off)
				size = max;	/* cut: the rest starts a new log */
		}
	}
}

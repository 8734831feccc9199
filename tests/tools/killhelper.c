/*
 * killhelper PPID EXE [ROOT] [TIMEOUT-MS] [DELAY-MS]: wait for a child of
 * PPID whose executable's name is EXE (and whose root directory contains
 * ROOT, if given), wait DELAY-MS more, then SIGKILL it by pid.  Prints the
 * pid.  Exit 0 when a process was killed, 1 on timeout.  For the
 * crash-safety tests (tests/reliability/test_crash.sh): helper jobs are
 * too short-lived to catch from a shell loop.  A helper with a positive
 * nice value is an idle warm spare (broker/proc/helper.c: spares wait
 * niced, the one a job takes is set back to 0): never the one sought.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* The ppid of the process, and its nice value in *nice. */
static long
ppid_of(const char *pid, long *nice)
{
	char path[64], buf[1024], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* pid (comm) state ppid: comm may hold anything, skip to the last ')' */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	*nice = 0;
	/* state ppid ... priority nice: the 17th field after ')' */
	if (sscanf(p + 2, "%*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
	    "%*s %*s %*s %*s %ld", nice) != 1)
		*nice = 0;
	return strtol(p + 3, NULL, 10);
}

static int
link_matches(const char *pid, const char *what, const char *want, int base)
{
	char path[64], target[PATH_MAX], *s;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%s/%s", pid, what);
	if ((n = readlink(path, target, sizeof(target) - 1)) == -1)
		return 0;
	target[n] = '\0';
	if (base) {
		s = strrchr(target, '/');
		return strcmp(s ? s + 1 : target, want) == 0;
	}
	return strstr(target, want) != NULL;
}

static long
find_child(long ppid, const char *exe, const char *root)
{
	struct dirent *de;
	DIR *d;
	long pid = -1, nice;

	if ((d = opendir("/proc")) == NULL)
		return -1;
	while (pid == -1 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		if (ppid_of(de->d_name, &nice) != ppid || nice > 0 ||
		    !link_matches(de->d_name, "exe", exe, 1))
			continue;
		if (root != NULL && root[0] != '\0' &&
		    !link_matches(de->d_name, "root", root, 0))
			continue;
		pid = strtol(de->d_name, NULL, 10);
	}
	closedir(d);
	return pid;
}

int
main(int argc, char *argv[])
{
	long ppid, pid, end, delay;
	struct timespec ts;

	if (argc < 3 || argc > 6) {
		fprintf(stderr, "usage: killhelper PPID EXE [ROOT] [TIMEOUT-MS] "
		    "[DELAY-MS]\n");
		return 2;
	}
	ppid = strtol(argv[1], NULL, 10);
	end = now_ms() + (argc > 4 ? strtol(argv[4], NULL, 10) : 10000);
	delay = argc > 5 ? strtol(argv[5], NULL, 10) : 0;
	while ((pid = find_child(ppid, argv[2], argc > 3 ? argv[3] : NULL)) == -1)
		if (now_ms() > end)
			return 1;
	if (delay > 0) {
		ts.tv_sec = delay / 1000;
		ts.tv_nsec = (delay % 1000) * 1000000L;
		nanosleep(&ts, NULL);
	}
	if (kill((pid_t)pid, SIGKILL) == -1) {
		fprintf(stderr, "killhelper: kill %ld: %s\n", pid, strerror(errno));
		return 1;
	}
	printf("%ld\n", pid);
	return 0;
}

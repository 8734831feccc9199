/*
 * plugind: the privileged broker.  It owns the data root, the content
 * store and plugin state, and runs every helper.  It never parses registry
 * bytes or tar data itself.  See docs/PRIVSEP.md.
 */
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "log.h"
#include "util.h"



static void __dead
usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "Usage: plugind [OPTIONS]\n\n"
	    "Privilege-separated plugin manager daemon (Docker managed plugins).\n\n"
	    "Options:\n"
	    "      --config FILE       JSON configuration file\n"
	    "      --data-root DIR     root of persisted state (default %s)\n"
	    "      --exec-root DIR     root of runtime state (default %s)\n"
	    "  -H, --host unix://PATH  control socket (default unix://%s)\n"
	    "      --docker-api unix://PATH\n"
	    "                          also serve the Docker Engine API (plugins)\n"
	    "                          there (default off; docs/DOCKER_API.md)\n"
	    "      --helper-dir DIR    where plugind-fetcher/-extractor live\n"
	    "                          (default %s)\n"
	    "  -D, --debug             debug logging\n"
	    "  -l, --log-level LEVEL   debug, info, warn or error (default info)\n"
	    "  -v, --version           print the version and exit\n"
	    "      --check             verify the data root offline and exit\n"
	    "      --repair            with --check: move broken pieces aside\n",
	    PD_DEFAULT_DATA_ROOT, PD_DEFAULT_EXEC_ROOT, PD_DEFAULT_SOCKET,
	    LIBEXECDIR);
	exit(code);
}

/*
 * One broker per data root.  A POSIX record lock, not flock(): it belongs
 * to this process and is not inherited by fork().  With flock() a child
 * forked just before a SIGKILL of the broker (a helper or runc, between
 * fork and exec) held the lock on, and the restarted broker refused to
 * start (found by tests/reliability/test_crash.sh).
 */
static void
take_lock(void)
{
	struct flock fl;
	char path[4096], buf[32];
	int fd;

	snprintf(path, sizeof(path), "%s/plugind.lock", conf.data_root);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) == -1)
		fatal("open %s", path);
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_SETLK, &fl) == -1) {
		if (errno != EACCES && errno != EAGAIN)
			fatal("lock %s", path);
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
			snprintf(buf, sizeof(buf), "%ld", (long)fl.l_pid);
		else
			snprintf(buf, sizeof(buf), "?");
		fatalx("another plugind (pid %s) is already using data root %s",
		    buf, conf.data_root);
	}
	snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, buf, strlen(buf), 0) < 0)
		fatal("write %s", path);
	/* fd stays open (and locked) for the life of the process. */
}

/*
 * The fetcher's chroot: a root-owned directory holding only the files
 * glibc's resolver reads.  Copied from the host at every start so that
 * resolver changes are picked up; nothing else of the host is visible.
 */
static void
prepare_fetch_root(void)
{
	static const char *files[] = { "resolv.conf", "hosts", "nsswitch.conf",
	    "gai.conf" };
	static const char hostconf[] = "multi on\n";
	char dir[4096], src[64];
	struct pd_err e;
	size_t i;
	int dfd, sfd;
	char *data;
	ssize_t n;

	snprintf(dir, sizeof(dir), "%s/fetch-root/etc", conf.data_root);
	if (pd_mkdirs(dir, 0755, &e) == -1)
		fatalx("%s", e.msg);
	if ((dfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC)) == -1)
		fatal("open %s", dir);
	/*
	 * The umask (077) made both directories 0700, so the fetcher, which
	 * runs as _pd_fetch inside this chroot, could not read the resolver
	 * files and resolved no name at all.  0755 is safe: they are
	 * root-owned and hold only copies of the host's world-readable
	 * resolver configuration.
	 */
	if (fchmod(dfd, 0755) == -1 || fchmodat(dfd, "..", 0755, 0) == -1)
		fatal("chmod %s and its parent", dir);
	data = xmalloc(65536);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(src, sizeof(src), "/etc/%s", files[i]);
		if ((sfd = open(src, O_RDONLY | O_CLOEXEC)) == -1) {
			(void)unlinkat(dfd, files[i], 0);
			continue;
		}
		n = pd_read_full(sfd, data, 65536);
		close(sfd);
		if (n < 0 || pd_atomic_write(dfd, files[i], data, (size_t)n, 0644,
		    &e) == -1)
			log_warnx("fetch-root: cannot copy %s", src);
	}
	/* glibc returns only the first address of a name without this. */
	if (pd_atomic_write(dfd, "host.conf", hostconf, sizeof(hostconf) - 1, 0644,
	    &e) == -1)
		log_warnx("fetch-root: %s", e.msg);
	free(data);
	close(dfd);
}

static void
prepare_dirs(void)
{
	static const char *sub[] = { "plugins", "storage/blobs/sha256", "tmp" };
	char path[4096];
	struct pd_err e;
	size_t i;

	if (conf.data_root[0] != '/' || conf.exec_root[0] != '/' ||
	    conf.socket_path[0] != '/')
		fatalx("--data-root, --exec-root and -H need absolute paths");
	if (pd_mkdirs(conf.data_root, 0711, &e) == -1 ||
	    pd_mkdirs(conf.exec_root, 0711, &e) == -1)
		fatalx("%s", e.msg);
	for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", conf.data_root, sub[i]);
		if (pd_mkdirs(path, 0700, &e) == -1)
			fatalx("%s", e.msg);
	}
	snprintf(path, sizeof(path), "%s/plugins", conf.exec_root);
	if (pd_mkdirs(path, 0700, &e) == -1)
		fatalx("%s", e.msg);
	/*
	 * The control socket lives in the exec root: others may traverse it
	 * (0711) but not list it; the socket itself is 0660 root:plugind.
	 */
	if (chmod(conf.exec_root, 0711) == -1)
		fatal("chmod %s", conf.exec_root);
}

/* Leftovers of interrupted jobs: tmp/ only ever holds job scratch. */
static void
clean_tmp(void)
{
	char path[4096];
	struct pd_err e;
	int dfd;

	snprintf(path, sizeof(path), "%s", conf.data_root);
	if ((dfd = open(path, O_DIRECTORY | O_RDONLY | O_CLOEXEC)) == -1)
		fatal("open %s", path);
	if (pd_rm_rf_at(dfd, "tmp", &e) == -1)
		log_warnx("cleaning tmp: %s", e.msg);
	if (mkdirat(dfd, "tmp", 0700) == -1 && errno != EEXIST)
		fatal("mkdir %s/tmp", path);
	close(dfd);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config",	required_argument, NULL, 'c' },
		{ "data-root",	required_argument, NULL, 'd' },
		{ "exec-root",	required_argument, NULL, 'e' },
		{ "host",	required_argument, NULL, 'H' },
		{ "helper-dir",	required_argument, NULL, 'x' },
		{ "docker-api",	required_argument, NULL, 'a' },
		{ "debug",	no_argument,	   NULL, 'D' },
		{ "log-level",	required_argument, NULL, 'l' },
		{ "version",	no_argument,	   NULL, 'v' },
		{ "check",	no_argument,	   NULL, 'k' },
		{ "repair",	no_argument,	   NULL, 'r' },
		{ "help",	no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *cfgfile = NULL, *o_data = NULL, *o_exec = NULL,
	    *o_host = NULL, *o_helper = NULL, *o_api = NULL;
	int ch, o_level = -1, sfd, lfd, afd = -1, r, o_check = 0, o_repair = 0;
	struct signalfd_siginfo si;
	struct pollfd pfd[3];
	struct pd_err e;
	sigset_t set;

	log_init("plugind", PD_LOG_INFO);
	while ((ch = getopt_long(argc, argv, "H:Dl:vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': cfgfile = optarg; break;
		case 'd': o_data = optarg; break;
		case 'e': o_exec = optarg; break;
		case 'H': o_host = optarg; break;
		case 'x': o_helper = optarg; break;
		case 'a': o_api = optarg; break;
		case 'D': o_level = PD_LOG_DEBUG; break;
		case 'l':
			if ((o_level = log_parselevel(optarg)) < 0)
				fatalx("invalid --log-level \"%s\"", optarg);
			break;
		case 'v':
			printf("plugind version %s, protocol %d\n", PD_VERSION,
			    PD_PROTO_VERSION);
			return 0;
		case 'k': o_check = 1; break;
		case 'r': o_repair = 1; break;
		case 'h': usage(0);
		default: usage(2);
		}
	}
	if (optind != argc)
		usage(2);
	conf_defaults(&conf);
	if (cfgfile != NULL && conf_load_file(&conf, cfgfile, &e) == -1)
		fatalx("%s", e.msg);
	if (o_data) { free(conf.data_root); conf.data_root = xstrdup(o_data); }
	if (o_exec) { free(conf.exec_root); conf.exec_root = xstrdup(o_exec); }
	if (o_helper) { free(conf.libexec_dir); conf.libexec_dir = xstrdup(o_helper); }
	if (o_host) {
		if (strncmp(o_host, "unix://", 7) != 0 || o_host[7] != '/')
			fatalx("-H %s: only unix:///absolute/path is supported", o_host);
		free(conf.socket_path);
		conf.socket_path = xstrdup(o_host + 7);
	} else if (o_exec != NULL && (cfgfile == NULL ||
	    strcmp(conf.socket_path, PD_DEFAULT_SOCKET) == 0)) {
		free(conf.socket_path);
		conf.socket_path = xasprintf("%s/plugind.sock", conf.exec_root);
	}
	if (o_api != NULL) {
		if (strncmp(o_api, "unix://", 7) != 0 || o_api[7] != '/')
			fatalx("--docker-api %s: only unix:///absolute/path is supported",
			    o_api);
		free(conf.docker_api);
		conf.docker_api = xstrdup(o_api + 7);
	}
	if (conf.docker_api != NULL && strcmp(conf.docker_api,
	    conf.socket_path) == 0)
		fatalx("--docker-api and -H name the same socket %s",
		    conf.socket_path);
	if (o_level >= 0)
		conf.log_level = o_level;
	log_setlevel(conf.log_level);
	if (geteuid() != 0)
		fatalx("plugind must run as root (it mounts, chroots and drops "
		    "privileges for its helpers)");

	if (o_check || o_repair) {
		/* Offline: the lock keeps a running broker's data root out. */
		umask(077);
		take_lock();
		return check_data_root(o_repair);
	}
	/* Every helper passes the exec checks now, or the broker does not start. */
	if (helper_check_all(&e) == -1)
		fatalx("%s", e.msg);

	umask(077);
	/* All threads inherit this mask; signals are read from a signalfd. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((sfd = signalfd(-1, &set, SFD_CLOEXEC)) == -1)
		fatal("signalfd");
	/*
	 * Subreaper: detached plugin processes (runc run -d) are reparented
	 * to us rather than to PID 1, so the broker can wait for them.
	 */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		log_warn("PR_SET_CHILD_SUBREAPER");

	prepare_dirs();
	take_lock();
	clean_tmp();
	prepare_fetch_root();
	if (store_init(&e) == -1)
		fatalx("%s", e.msg);
	if (plugins_load(&e) == -1)
		fatalx("%s", e.msg);
	blobs_gc();	/* blobs an interrupted job stored but never recorded */
	if (lifecycle_init(&e) == -1)
		fatalx("%s", e.msg);
	lifecycle_restore();
	if ((lfd = control_listen(conf.socket_path, &e)) == -1)
		fatalx("%s", e.msg);
	/* Same rules as the control socket: 0660 root:plugind. */
	if (conf.docker_api != NULL &&
	    (afd = control_listen(conf.docker_api, &e)) == -1)
		fatalx("docker api: %s", e.msg);
	if (afd != -1)
		log_info("serving the Docker Engine API (plugins) on unix://%s",
		    conf.docker_api);
	log_info("plugind %s ready: data root %s, exec root %s, listening on "
	    "unix://%s", PD_VERSION, conf.data_root, conf.exec_root,
	    conf.socket_path);

	pfd[0].fd = sfd;
	pfd[0].events = POLLIN;
	pfd[1].fd = lfd;
	pfd[1].events = POLLIN;
	pfd[2].fd = afd;
	pfd[2].events = POLLIN;
	pfd[2].revents = 0;
	while (!pd_quit) {
		r = poll(pfd, afd == -1 ? 2 : 3, 1000);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		if (r == 0) {
			helper_reap_orphans();
			continue;
		}
		if (pfd[0].revents & POLLIN) {
			if (read(sfd, &si, sizeof(si)) != sizeof(si))
				continue;
			if (si.ssi_signo == SIGCHLD) {
				helper_reap_orphans();
				continue;
			}
			if (si.ssi_signo == SIGHUP) {
				log_info("SIGHUP: nothing to reload");
				continue;
			}
			log_info("received %s, shutting down", strsignal((int)si.ssi_signo));
			pd_quit = 1;
			break;
		}
		if (pfd[1].revents & POLLIN)
			control_accept(lfd);
		if (afd != -1 && (pfd[2].revents & POLLIN))
			api_accept(afd);
	}
	close(lfd);
	unlink(conf.socket_path);
	if (afd != -1) {
		close(afd);
		unlink(conf.docker_api);
		api_shutdown();
	}
	control_drain(10);
	lifecycle_shutdown();
	log_info("plugind stopped");
	return 0;
}

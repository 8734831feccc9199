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



/*
 * The command line: one row per option, read by getopt (parse_opts), by
 * --help (usage) and by the manual page (plugind --man 8, manpage.c).
 * A row whose val is below 256 has that short form too; '\n' in a
 * description continues it on the next line of --help.
 */
enum {
	O_CONFIG = 256, O_DATA, O_EXEC, O_HELPER, O_API, O_CHECK, O_REPAIR,
	O_PRINT, O_MAN, O_POLICY, O_PUBLISH, O_PODMAN
};

static const struct pd_optdoc opts_doc[] = {
	{ "config", O_CONFIG, 1, "FILE",
	    "JSON configuration file (plugind.json(5))" },
	{ "data-root", O_DATA, 1, "DIR",
	    "root of persisted state (default " PD_DEFAULT_DATA_ROOT ")" },
	{ "exec-root", O_EXEC, 1, "DIR",
	    "root of runtime state (default " PD_DEFAULT_EXEC_ROOT ")" },
	{ "host", 'H', 1, "unix://PATH",
	    "control socket (default unix://" PD_DEFAULT_SOCKET ")" },
	{ "docker-api", O_API, 1, "unix://PATH",
	    "also serve the Docker Engine API (plugins)\n"
	    "there (default off; docs/DOCKER_API.md)" },
	{ "helper-dir", O_HELPER, 1, "DIR",
	    "where plugind-fetcher/-extractor live\n(default " LIBEXECDIR ")" },
	{ "publish-docker-dir", O_PUBLISH, 1, "DIR",
	    "engines' plugin sockets, \"\" none\n"
	    "(default " PD_DEFAULT_PUBLISH_DIR "; docs/CONSUMERS.md)" },
	{ "publish-podman-conf", O_PODMAN, 1, "FILE",
	    "Podman's drop-in naming volume plugins,\n"
	    "\"\" none (default " PD_DEFAULT_PODMAN_CONF ")" },
	{ "policy", O_POLICY, 1, "FILE",
	    "the trust policy (default " PD_DEFAULT_POLICY ";\n"
	    "docs/POLICY.md); no file: accept every plugin" },
	{ "debug", 'D', 0, NULL, "debug logging" },
	{ "log-level", 'l', 1, "LEVEL",
	    "debug, info, warn or error (default info)" },
	{ "version", 'v', 0, NULL, "print the version and exit" },
	{ "check", O_CHECK, 0, NULL, "verify the data root offline and exit" },
	{ "repair", O_REPAIR, 0, NULL,
	    "with --check: move broken pieces aside" },
	{ "print-config", O_PRINT, 0, NULL,
	    "print the configuration the other options\n"
	    "give, every key, as JSON, and exit" },
	{ "man", O_MAN, 1, "SECTION",
	    "print plugind(8) or plugind.json(5) and exit" },
	{ "help", 'h', 0, NULL, "print this help and exit" },
	{ NULL, 0, 0, NULL, NULL }
};

static void __dead
usage(int code)
{
	FILE *f = code ? stderr : stdout;
	const struct pd_optdoc *o;
	int n;

	fprintf(f, "Usage: plugind [OPTIONS]\n\n"
	    "Privilege-separated plugin manager daemon (Docker managed plugins).\n\n"
	    "Options:\n");
	for (o = opts_doc; o->name != NULL; o++) {
		if (o->val < 256)
			n = fprintf(f, "  -%c, --%s", o->val, o->name);
		else
			n = fprintf(f, "      --%s", o->name);
		if (o->arg != NULL)
			n += fprintf(f, " %s", o->arg);
		/* The description starts in column 26, on a line of its own
		 * after a long option. */
		if (n > 24)
			fprintf(f, "\n%26s", "");
		else
			fprintf(f, "%*s", 26 - n, "");
		pd_help_desc(f, o->doc, 26);
	}
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

/* The command line, before it is merged into conf (apply_opts). */
struct opts {
	const char	*cfgfile, *data, *exec, *host, *helper, *api, *policy;
	const char	*publish, *podman;
	int		 level, check, repair, print;
};

/* getopt's tables, from opts_doc. */
static void
getopt_tables(struct option *lo, char *shorts)
{
	const struct pd_optdoc *o;

	for (o = opts_doc; o->name != NULL; o++, lo++) {
		lo->name = o->name;
		lo->has_arg = o->has_arg ? required_argument : no_argument;
		lo->flag = NULL;
		lo->val = o->val;
		if (o->val < 256) {
			*shorts++ = (char)o->val;
			if (o->has_arg)
				*shorts++ = ':';
		}
	}
	memset(lo, 0, sizeof(*lo));
	*shorts = '\0';
}

static void
parse_opts(int argc, char *argv[], struct opts *o)
{
	struct option longopts[sizeof(opts_doc) / sizeof(opts_doc[0])];
	char shorts[2 * sizeof(opts_doc) / sizeof(opts_doc[0]) + 1];
	int ch;

	getopt_tables(longopts, shorts);
	memset(o, 0, sizeof(*o));
	o->level = -1;
	while ((ch = getopt_long(argc, argv, shorts, longopts, NULL)) != -1) {
		switch (ch) {
		case O_CONFIG: o->cfgfile = optarg; break;
		case O_DATA: o->data = optarg; break;
		case O_EXEC: o->exec = optarg; break;
		case 'H': o->host = optarg; break;
		case O_HELPER: o->helper = optarg; break;
		case O_API: o->api = optarg; break;
		case O_POLICY: o->policy = optarg; break;
		case O_PUBLISH: o->publish = optarg; break;
		case O_PODMAN: o->podman = optarg; break;
		case 'D': o->level = PD_LOG_DEBUG; break;
		case 'l':
			if ((o->level = log_parselevel(optarg)) < 0)
				fatalx("invalid --log-level \"%s\"", optarg);
			break;
		case 'v':
			printf("plugind version %s, protocol %d\n", PD_VERSION,
			    PD_PROTO_VERSION);
			exit(0);
		case O_CHECK: o->check = 1; break;
		case O_REPAIR: o->repair = 1; break;
		case O_PRINT: o->print = 1; break;
		case O_MAN:
			/* Needs no root, no configuration: the build runs it. */
			exit(print_man(stdout, optarg, opts_doc) == -1 ? 2 : 0);
		case 'h': usage(0);
		default: usage(2);
		}
	}
	if (optind != argc)
		usage(2);
}

/* The socket path of a unix:///absolute/path option (`flag` names it). */
static char *
unix_sock_arg(const char *flag, const char *arg)
{
	if (strncmp(arg, "unix://", 7) != 0 || arg[7] != '/')
		fatalx("%s %s: only unix:///absolute/path is supported", flag,
		    arg);
	return xstrdup(arg + 7);
}

/* Defaults, then the configuration file, then the command line. */
static void
apply_opts(const struct opts *o)
{
	struct pd_err e;

	conf_defaults(&conf);
	if (o->cfgfile != NULL && conf_load_file(&conf, o->cfgfile, &e) == -1)
		fatalx("%s", e.msg);
	if (o->data) { free(conf.data_root); conf.data_root = xstrdup(o->data); }
	if (o->exec) { free(conf.exec_root); conf.exec_root = xstrdup(o->exec); }
	if (o->helper) {
		free(conf.libexec_dir);
		conf.libexec_dir = xstrdup(o->helper);
	}
	if (o->host) {
		free(conf.socket_path);
		conf.socket_path = unix_sock_arg("-H", o->host);
	} else if (o->exec != NULL && (o->cfgfile == NULL ||
	    strcmp(conf.socket_path, PD_DEFAULT_SOCKET) == 0)) {
		free(conf.socket_path);
		conf.socket_path = xasprintf("%s/plugind.sock", conf.exec_root);
	}
	if (o->publish != NULL) {
		if (o->publish[0] != '\0' && o->publish[0] != '/')
			fatalx("--publish-docker-dir needs an absolute path or \"\"");
		free(conf.publish_dir);
		conf.publish_dir = xstrdup(o->publish);
	}
	if (o->podman != NULL) {
		if (o->podman[0] != '\0' && (o->podman[0] != '/' ||
		    strlen(o->podman) < 6 ||
		    strcmp(o->podman + strlen(o->podman) - 5, ".conf") != 0))
			fatalx("--publish-podman-conf needs an absolute path of a "
			    "*.conf file or \"\"");
		free(conf.podman_conf);
		conf.podman_conf = xstrdup(o->podman);
	}
	if (o->api != NULL) {
		free(conf.docker_api);
		conf.docker_api = unix_sock_arg("--docker-api", o->api);
	}
	if (conf.docker_api != NULL && strcmp(conf.docker_api,
	    conf.socket_path) == 0)
		fatalx("--docker-api and -H name the same socket %s",
		    conf.socket_path);
	if (o->policy) {
		free(conf.policy_path);
		conf.policy_path = xstrdup(o->policy);
	}
	if (o->level >= 0)
		conf.log_level = o->level;
	log_setlevel(conf.log_level);
}

/* Returns the signalfd the main loop reads signals from. */
static int
block_signals(void)
{
	sigset_t set;
	int sfd;

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
	return sfd;
}

/* The data root, the store, plugin state and the plugins that ran. */
static void
start_broker(void)
{
	struct pd_err e;

	prepare_dirs();
	take_lock();
	runtime_quiesce();
	clean_tmp();
	prepare_fetch_root();
	if (store_init(&e) == -1)
		fatalx("%s", e.msg);
	if (plugins_load(&e) == -1 || inuse_load_all(&e) == -1)
		fatalx("%s", e.msg);
	blobs_gc();	/* blobs an interrupted job stored but never recorded */
	if (lifecycle_init(&e) == -1)
		fatalx("%s", e.msg);
	lifecycle_restore();
	policy_enforce("start");
}

/* The control socket, and the Docker Engine API socket if configured. */
static void
open_listeners(int *lfd, int *afd)
{
	struct pd_err e;

	*afd = -1;
	if ((*lfd = control_listen(conf.socket_path, &e)) == -1)
		fatalx("%s", e.msg);
	/* Same rules as the control socket: 0660 root:plugind. */
	if (conf.docker_api != NULL &&
	    (*afd = control_listen(conf.docker_api, &e)) == -1)
		fatalx("docker api: %s", e.msg);
	if (*afd != -1)
		log_info("serving the Docker Engine API (plugins) on unix://%s",
		    conf.docker_api);
}

/* SIGHUP: the policy file again; a bad one leaves the old in force. */
static void
policy_reload(void)
{
	struct pd_err e;

	if (policy_load(conf.policy_path, &e) == -1) {
		log_warnx("SIGHUP: %s; the policy in force stays", e.msg);
		return;
	}
	log_info("SIGHUP: policy %s loaded", conf.policy_path);
	policy_enforce_async();
}

/* A signal arrived: 1 if it ends the broker. */
static int
on_signal(int sfd)
{
	struct signalfd_siginfo si;

	if (read(sfd, &si, sizeof(si)) != sizeof(si))
		return 0;
	if (si.ssi_signo == SIGCHLD) {
		helper_reap_orphans();
		return 0;
	}
	if (si.ssi_signo == SIGHUP) {
		policy_reload();
		return 0;
	}
	log_info("received %s, shutting down", strsignal((int)si.ssi_signo));
	pd_quit = 1;
	return 1;
}

static void
main_loop(int sfd, int lfd, int afd)
{
	struct pollfd pfd[3];
	int r;

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
			if (on_signal(sfd))
				break;
			continue;
		}
		if (pfd[1].revents & POLLIN)
			control_accept(lfd);
		if (afd != -1 && (pfd[2].revents & POLLIN))
			api_accept(afd);
	}
}

static void
stop_broker(int lfd, int afd)
{
	close(lfd);
	unlink(conf.socket_path);
	if (afd != -1) {
		close(afd);
		unlink(conf.docker_api);
		api_shutdown();
	}
	control_drain(10);
	helper_spares_stop();
	lifecycle_shutdown();
	log_info("plugind stopped");
}

int
main(int argc, char *argv[])
{
	struct opts o;
	struct pd_err e;
	int sfd, lfd, afd;

	log_init("plugind", PD_LOG_INFO);
	parse_opts(argc, argv, &o);
	apply_opts(&o);
	if (o.print) {
		/* Before the root check: anyone may read the defaults. */
		json_t *j = conf_json(&conf);

		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(j);
		return 0;
	}
	if (geteuid() != 0)
		fatalx("plugind must run as root (it mounts, chroots and drops "
		    "privileges for its helpers)");

	if (o.check || o.repair) {
		/* Offline: the lock keeps a running broker's data root out. */
		umask(077);
		take_lock();
		return check_data_root(o.repair);
	}
	/* Every helper passes the exec checks now, or the broker does not start. */
	if (helper_check_all(&e) == -1)
		fatalx("%s", e.msg);

	/* What may be installed and run is decided before anything runs. */
	if (policy_load(conf.policy_path, &e) == -1)
		fatalx("%s", e.msg);
	umask(077);
	sfd = block_signals();
	/*
	 * Subreaper: detached plugin processes (runc run -d) are reparented
	 * to us rather than to PID 1, so the broker can wait for them.
	 */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		log_warn("PR_SET_CHILD_SUBREAPER");

	start_broker();
	open_listeners(&lfd, &afd);
	helper_spares_start();
	log_info("plugind %s ready: data root %s, exec root %s, listening on "
	    "unix://%s", PD_VERSION, conf.data_root, conf.exec_root,
	    conf.socket_path);
	main_loop(sfd, lfd, afd);
	stop_broker(lfd, afd);
	return 0;
}

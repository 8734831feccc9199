/*
 * fetch_tool: drive the registry client (fetcher/reg_*.c) directly,
 * without the sandbox, for tests/fetcher/test_fetch.sh.
 *
 * fetch_tool [options] manifest|blob|login SCHEME HOST REPO REF MAXSIZE OUTFILE
 *	(login: docker login's check; REPO, REF and MAXSIZE are ignored, the
 *	identity token, if any, is written to OUTFILE)
 *	--ca FILE		CA PEM for every host (like the system store)
 *	--ca-for HOST FILE	CA PEM for HOST:PORT only (like certs.d)
 *	--cert FILE --key FILE	client certificate and key for HOST
 *	--user U --pass P	credentials
 *	--idtoken T		identity token (OAuth refresh-token grant)
 *	--proxy URL		proxy ("" or absent: none)
 *	--connect-timeout S, --low-speed-time S, --deadline S
 *	--repeat N		do the same fetch N times with one client
 *	--pipe			write into a pipe read by a child process
 *	--pipe-limit N		the child closes the pipe after N bytes
 *	--progress		print PROGRESS callbacks to stderr
 * On success prints "status size media_type digest" (one line per fetch)
 * and exits 0; on error the last stderr line is "error: CODE: message"
 * and the exit status is 1.
 */
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "error.h"
#include "log.h"
#include "proto.h"
#include "registry.h"
#include "util.h"

static void
usage(void)
{
	fprintf(stderr, "usage: fetch_tool [options] manifest|blob|login SCHEME HOST "
	    "REPO REF MAXSIZE OUTFILE\n");
	exit(2);
}

static void
progress(void *arg, const char *id, uint64_t cur, uint64_t total)
{
	fprintf(stderr, "progress %s Downloading %llu/%llu\n", id,
	    (unsigned long long)cur, (unsigned long long)total);
}

static void
add_file(struct reg_client *c, int kind, const char *host, const char *path)
{
	struct pd_err e;
	char *pem;
	size_t len;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "error: io: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	if (reg_read_pem(fd, &pem, &len, &e) == -1 ||
	    reg_client_add_tls(c, kind, host, pem, len, &e) == -1) {
		fprintf(stderr, "error: %s: %s\n", pd_errcode_str(e.code), e.msg);
		exit(1);
	}
	close(fd);
}

/* Reader child: copy up to `limit` bytes (-1: all) to path, then exit. */
static pid_t
pipe_reader(int rfd, int wfd, const char *path, long long limit)
{
	char buf[65536];
	long long total = 0;
	ssize_t n;
	size_t want;
	pid_t pid;
	int out;

	if ((pid = fork()) != 0)
		return pid;
	close(wfd);
	if ((out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1)
		_exit(1);
	for (;;) {
		want = sizeof(buf);
		if (limit >= 0 && (long long)want > limit - total)
			want = (size_t)(limit - total);
		if (want == 0)
			break;
		if ((n = read(rfd, buf, want)) <= 0)
			break;
		if (pd_write_full(out, buf, (size_t)n) == -1)
			_exit(1);
		total += n;
	}
	_exit(0);
}

int
main(int argc, char **argv)
{
	struct reg_timeouts to = { 0, 0, 0 };
	struct reg_client *c;
	struct reg_req r;
	struct reg_res res;
	struct pd_err e;
	const char *user = "", *pass = "", *idtoken = NULL, *proxy = "";
	long long pipe_limit = -1;
	int repeat = 1, use_pipe = 0, show_progress = 0, i, fd, pfd[2], rc = 0;
	int status;
	pid_t reader = -1;
	const char *o;

	log_init("fetch_tool", PD_LOG_INFO);
	if (getenv("FETCH_DEBUG") != NULL)
		log_setlevel(PD_LOG_DEBUG);
	signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	if ((c = reg_client_new()) == NULL)
		return 1;
	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		o = argv[i];
		if (strcmp(o, "--progress") == 0)
			show_progress = 1;
		else if (strcmp(o, "--pipe") == 0)
			use_pipe = 1;
		else if (i + 1 >= argc)
			usage();
		else if (strcmp(o, "--ca") == 0)
			add_file(c, PD_TLS_CA, "", argv[++i]);
		else if (strcmp(o, "--ca-for") == 0 && i + 2 < argc) {
			add_file(c, PD_TLS_CA, argv[i + 1], argv[i + 2]);
			i += 2;
		} else if (strcmp(o, "--cert-for") == 0 && i + 2 < argc) {
			add_file(c, PD_TLS_CERT, argv[i + 1], argv[i + 2]);
			i += 2;
		} else if (strcmp(o, "--key-for") == 0 && i + 2 < argc) {
			add_file(c, PD_TLS_KEY, argv[i + 1], argv[i + 2]);
			i += 2;
		} else if (strcmp(o, "--user") == 0)
			user = argv[++i];
		else if (strcmp(o, "--pass") == 0)
			pass = argv[++i];
		else if (strcmp(o, "--idtoken") == 0)
			idtoken = argv[++i];
		else if (strcmp(o, "--proxy") == 0)
			proxy = argv[++i];
		else if (strcmp(o, "--connect-timeout") == 0)
			to.connect = atol(argv[++i]);
		else if (strcmp(o, "--low-speed-time") == 0)
			to.low_speed_time = atol(argv[++i]);
		else if (strcmp(o, "--deadline") == 0)
			to.deadline = atol(argv[++i]);
		else if (strcmp(o, "--repeat") == 0)
			repeat = atoi(argv[++i]);
		else if (strcmp(o, "--pipe-limit") == 0) {
			use_pipe = 1;
			pipe_limit = atoll(argv[++i]);
		} else
			usage();
	}
	if (argc - i != 7)
		usage();
	reg_client_timeouts(c, &to);
	memset(&r, 0, sizeof(r));
	if (strcmp(argv[i], "manifest") == 0)
		r.kind = REG_MANIFEST;
	else if (strcmp(argv[i], "blob") == 0)
		r.kind = REG_BLOB;
	else if (strcmp(argv[i], "login") == 0)
		r.kind = REG_LOGIN;
	else
		usage();
	r.scheme = argv[i + 1];
	r.host = argv[i + 2];
	r.repo = argv[i + 3];
	r.reference = argv[i + 4];
	if (pd_parse_u64(argv[i + 5], &r.max_size) == -1)
		usage();
	r.username = user;
	r.secret = idtoken != NULL ? idtoken : pass;
	r.idtoken = idtoken != NULL;
	r.proxy = proxy;
	if (show_progress) {
		r.progress = progress;
		r.progress_arg = NULL;
	}
	for (; repeat > 0 && rc == 0; repeat--) {
		if (use_pipe) {
			if (pipe2(pfd, O_CLOEXEC) == -1)
				return 1;
			reader = pipe_reader(pfd[0], pfd[1], argv[i + 6],
			    pipe_limit);
			close(pfd[0]);
			fd = pfd[1];
		} else if ((fd = open(argv[i + 6], O_WRONLY | O_CREAT | O_TRUNC |
		    O_CLOEXEC, 0644)) == -1) {
			fprintf(stderr, "error: io: %s: %s\n", argv[i + 6],
			    strerror(errno));
			return 1;
		}
		r.outfd = fd;
		rc = r.kind == REG_LOGIN ? reg_login(c, &r, &res, &e) :
		    reg_fetch(c, &r, &res, &e);
		close(fd);
		if (reader > 0)
			(void)waitpid(reader, &status, 0);
		if (rc == -1) {
			fprintf(stderr, "error: %s: %s\n", pd_errcode_str(e.code),
			    e.msg);
			break;
		}
		printf("%ld %llu %s %s\n", res.http_status,
		    (unsigned long long)res.size,
		    res.media_type[0] ? res.media_type : "-",
		    res.digest[0] ? res.digest : "-");
		fflush(stdout);
	}
	reg_client_free(c);
	curl_global_cleanup();
	return rc == 0 ? 0 : 1;
}

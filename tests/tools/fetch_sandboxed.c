/*
 * fetch_sandboxed: run the real plugind-fetcher, sandboxed, the way the
 * broker does (broker/proc/helper.c helper_spawn: exec, SETUP, chroot,
 * privdrop, seccomp, outside check), and drive it over the protocol.
 *
 * fetch_sandboxed [options] DATA_ROOT FETCH...
 *	FETCH is "manifest|blob SCHEME HOST REPO REF MAXSIZE OUTFILE" (seven
 *	words); several FETCHes run one after the other in one fetcher
 *	process, as in one install job.
 *	--libexec DIR		where plugind-fetcher is ($PD_BUILD)
 *	--ca FILE		FETCH_TLS CA for every host ("")
 *	--ca-for HOST FILE	FETCH_TLS CA for HOST:PORT
 *	--user U --pass P, --idtoken T
 *	--proxy URL
 * DATA_ROOT/fetch-root is the chroot (etc/ resolver files only).  For
 * each FETCH prints "status size media_type digest progress=N" or
 * "error: CODE: message", and first a "sandbox: ..." line with the
 * outside check.  Exit status 0 when every FETCH succeeded.
 */
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc/proc.h"
#include "log.h"
#include "proto.h"
#include "role.h"
#include "util.h"

static void
usage(void)
{
	fprintf(stderr, "usage: fetch_sandboxed [options] DATA_ROOT "
	    "manifest|blob SCHEME HOST REPO REF MAXSIZE OUTFILE...\n");
	exit(2);
}

static int
send_tls(struct helper *h, int kind, const char *host, const char *path)
{
	struct pd_fetch_tls t;
	struct pd_err e;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	t.kind = (uint32_t)kind;
	t.host = (char *)(uintptr_t)host;
	if (pd_send_fetch_tls(h->sock, 1, fd, &t, &e) == -1) {
		fprintf(stderr, "FETCH_TLS: %s\n", e.msg);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* One FETCH: copy the pipe into outfile while handling messages. */
static int
do_fetch(struct helper *h, uint32_t id, struct pd_fetch_req *q,
    const char *outfile)
{
	static const uint32_t ok[] = { PD_MSG_FETCH_RESULT, PD_MSG_PROGRESS };
	struct pd_fetch_result res;
	struct pd_progress pr;
	struct pollfd pfd[2];
	struct pd_msg m;
	struct pd_err e;
	char buf[65536];
	int p[2], out, eof = 0, done = 0, failed = 0, nprog = 0, buffered;
	ssize_t n;

	if ((out = open(outfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1 || pipe2(p, O_CLOEXEC) == -1) {
		fprintf(stderr, "%s: %s\n", outfile, strerror(errno));
		return -1;
	}
	h->want_id = id;	/* replies must carry it (helper_take) */
	if (pd_send_fetch(h->sock, id, p[1], q, &e) == -1) {
		printf("error: %s: %s\n", pd_errcode_str(e.code), e.msg);
		return -1;
	}
	close(p[1]);
	memset(&res, 0, sizeof(res));
	while (!eof || !done) {
		/*
		 * helper_recv may have read more than one message into the
		 * channel buffer (PROGRESS and FETCH_RESULT back to back):
		 * take those before polling, or poll waits for nothing.
		 */
		buffered = !done && h->chan.buflen > 0;
		pfd[0].fd = eof ? -1 : p[0];
		pfd[0].events = POLLIN;
		pfd[0].revents = 0;
		pfd[1].fd = done ? -1 : h->sock;
		pfd[1].events = POLLIN;
		pfd[1].revents = 0;
		if (!buffered && poll(pfd, 2, 120 * 1000) <= 0) {
			printf("error: test: fetcher stalled\n");
			return -1;
		}
		if (buffered)
			pfd[1].revents = POLLIN;
		if (pfd[0].revents) {
			n = read(p[0], buf, sizeof(buf));
			if (n <= 0)
				eof = 1;
			else if (pd_write_full(out, buf, (size_t)n) == -1)
				return -1;
		}
		if (pfd[1].revents) {
			if (helper_recv(h, ok, 2, 60 * 1000, &m, &e) == -1) {
				printf("error: %s: %s\n", pd_errcode_str(e.code), e.msg);
				done = failed = 1;
				if (h->pid <= 0)
					return -1;	/* the helper is gone */
				continue;
			}
			if (m.type == PD_MSG_PROGRESS) {
				if (pd_dec_progress(&m, &pr, &e) == 0) {
					if (strcmp(pr.status, "Downloading") == 0 &&
					    strlen(pr.id) == 12 && m.id == id)
						nprog++;
					pd_progress_free(&pr);
				}
			} else if (pd_dec_fetch_result(&m, &res, &e) == -1 ||
			    m.id != id) {
				printf("error: test: bad FETCH_RESULT\n");
				return -1;
			} else
				done = 1;
			pd_msg_clear(&m);
		}
	}
	close(p[0]);
	close(out);
	if (failed)
		return -1;
	printf("%u %llu %s %s progress=%d\n", res.http_status,
	    (unsigned long long)res.size, res.media_type[0] ? res.media_type : "-",
	    res.digest[0] ? res.digest : "-", nprog);
	pd_fetch_result_free(&res);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *user = "", *secret = "", *proxy = "", *libexec;
	char root[4096];
	struct pd_fetch_req q;
	struct helper h;
	struct pd_err e;
	uint32_t id = 100;
	int i, t, rootfd, rc = 0, idtoken = 0, ntls = 0;
	const char *tls[16][2];

	log_init("fetch_sandboxed", getenv("FETCH_DEBUG") ? PD_LOG_DEBUG :
	    PD_LOG_INFO);
	conf_defaults(&conf);
	/* SETUP's proxy; NULL would hit memcpy(NULL, 0) in proto.c's wb_raw. */
	conf.proxy = xstrdup("");
	libexec = getenv("PD_BUILD");
	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--libexec") == 0)
			libexec = argv[++i];
		else if (strcmp(argv[i], "--ca") == 0 && ntls < 16) {
			tls[ntls][0] = "";
			tls[ntls++][1] = argv[++i];
		} else if (strcmp(argv[i], "--ca-for") == 0 && i + 2 < argc &&
		    ntls < 16) {
			tls[ntls][0] = argv[++i];
			tls[ntls++][1] = argv[++i];
		} else if (strcmp(argv[i], "--user") == 0)
			user = argv[++i];
		else if (strcmp(argv[i], "--pass") == 0)
			secret = argv[++i];
		else if (strcmp(argv[i], "--idtoken") == 0) {
			secret = argv[++i];
			idtoken = 1;
		} else if (strcmp(argv[i], "--proxy") == 0)
			proxy = argv[++i];
		else
			usage();
	}
	if (argc - i < 8 || (argc - i - 1) % 7 != 0 || libexec == NULL)
		usage();
	free(conf.libexec_dir);
	conf.libexec_dir = xstrdup(libexec);
	free(conf.data_root);
	conf.data_root = xstrdup(argv[i]);
	snprintf(root, sizeof(root), "%s/fetch-root", argv[i]);
	if ((rootfd = open(root, O_DIRECTORY | O_RDONLY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "%s: %s\n", root, strerror(errno));
		return 1;
	}
	if (helper_spawn(&h, PD_ROLE_FETCHER, rootfd, root, &e) == -1) {
		printf("error: %s: %s\n", pd_errcode_str(e.code), e.msg);
		return 1;
	}
	close(rootfd);
	printf("sandbox: %s\n", h.sandbox);
	fflush(stdout);
	for (t = 0; t < ntls; t++)
		if (send_tls(&h, PD_TLS_CA, tls[t][0], tls[t][1]) == -1)
			return 1;
	for (i++; i + 7 <= argc; i += 7) {
		memset(&q, 0, sizeof(q));
		if (strcmp(argv[i], "manifest") == 0)
			q.kind = PD_FETCH_MANIFEST;
		else if (strcmp(argv[i], "blob") == 0)
			q.kind = PD_FETCH_BLOB;
		else
			usage();
		q.t.flags = idtoken ? PD_FETCHF_IDTOKEN : 0;
		q.t.scheme = argv[i + 1];
		q.t.host = argv[i + 2];
		q.t.repo = argv[i + 3];
		q.t.reference = argv[i + 4];
		q.t.username = (char *)(uintptr_t)user;
		q.t.secret = (char *)(uintptr_t)secret;
		q.t.proxy = (char *)(uintptr_t)proxy;
		if (pd_parse_u64(argv[i + 5], &q.max_size) == -1)
			usage();
		if (do_fetch(&h, id++, &q, argv[i + 6]) == -1)
			rc = 1;
		fflush(stdout);
		if (h.pid <= 0)
			break;
	}
	if (h.pid > 0)
		helper_stop(&h);
	return rc;
}

/*
 * A hostile helper for the robustness tests (test_broker.sh,
 * test_hostile_helper.sh).  The broker execs it in place of
 * plugind-fetcher or plugind-extractor (the name it is run as picks the
 * role); the mode is read from the file "mode" next to it, as the broker
 * passes no environment.
 *
 * Modes before SETUP (the helper never sandboxes itself):
 *	garbage, die, hang, oversize, wrongtype, unsandboxed
 * Modes after a real SETUP (pd_child_init: the privilege drop and
 * seccomp policy of the role, so the broker's outside check passes),
 * applied to the first request (FETCH, PARSE, UNTAR, BUNDLE):
 *	stall	  say nothing, keep every fd open
 *	half	  send half a message header, then nothing
 *	flood	  PROGRESS messages as fast as possible
 *	logflood  LOG messages as fast as possible
 *	order	  answer with a valid SETUP_DONE (out of order)
 *	badid	  answer with the right message type but another request id
 *	foreign	  (FETCH) answer with the right id but an UNTAR_DONE, a
 *		  message only an extractor sends
 *	holdpipe  (FETCH) write the body, send FETCH_RESULT, keep the pipe open
 *	midstream (FETCH) write part of the body, then exit
 * Any other mode: exit after SETUP.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "child.h"
#include "proto.h"
#include "role.h"
#include "util.h"

static void
nap(int ms)
{
	(void)poll(NULL, 0, ms);
}

static void
forever(void)
{
	for (;;)
		nap(1000);
}

static void
raw(const void *p, size_t n)
{
	(void)pd_write_full(PD_CHILD_FD, p, n);
}

static void
pre_setup(const char *mode)
{
	static const unsigned char oversize[16] = { 3, 0, 0, 0, 0xff, 0xff,
	    0xff, 0x7f };
	static const unsigned char wrongtype[16] = { 0xe7, 3 };
	unsigned char junk[3000], done[24] = { 3, 0, 0, 0, 8 };
	uint32_t v = PD_PROTO_VERSION;
	size_t i;

	if (strcmp(mode, "garbage") == 0) {
		for (i = 0; i < sizeof(junk); i++)
			junk[i] = (unsigned char)(i * 131 + 7);
		raw(junk, sizeof(junk));
		nap(30000);
		exit(0);
	}
	if (strcmp(mode, "die") == 0)
		exit(3);
	if (strcmp(mode, "hang") == 0) {
		nap(30000);
		exit(0);
	}
	if (strcmp(mode, "oversize") == 0 || strcmp(mode, "wrongtype") == 0) {
		raw(mode[0] == 'o' ? oversize : wrongtype, 16);
		nap(30000);
		exit(0);
	}
	if (strcmp(mode, "unsandboxed") == 0) {
		/* SETUP_DONE without dropping anything */
		memcpy(done + 16, &v, 4);
		done[20] = 1;
		raw(done, sizeof(done));
		nap(30000);
		exit(0);
	}
}

static void
fetch(const char *mode, struct pd_msg *m)
{
	static const char body[] = "{\"schemaVersion\":2}";
	struct pd_fetch_result res;
	struct pd_err e;
	int fd = pd_msg_take_fd(m);

	memset(&res, 0, sizeof(res));
	res.http_status = 200;
	res.size = sizeof(body) - 1;
	res.media_type = (char *)(uintptr_t)"application/vnd.docker.distribution."
	    "manifest.v2+json";
	res.digest = (char *)(uintptr_t)"";
	if (strcmp(mode, "holdpipe") == 0) {
		(void)pd_write_full(fd, body, sizeof(body) - 1);
		(void)pd_send_fetch_result(PD_CHILD_FD, m->id, &res, &e);
		forever();
	}
	if (strcmp(mode, "midstream") == 0) {
		(void)pd_write_full(fd, body, 5);
		exit(0);
	}
	if (strcmp(mode, "foreign") == 0) {
		struct pd_untar_done ud = { 1, 1, (char *)(uintptr_t)"" };

		(void)pd_send_untar_done(PD_CHILD_FD, m->id, &ud, &e);
		forever();
	}
	if (strcmp(mode, "badid") == 0) {
		(void)pd_write_full(fd, body, sizeof(body) - 1);
		close(fd);
		(void)pd_send_fetch_result(PD_CHILD_FD, m->id + 7, &res, &e);
		forever();
	}
}

int
main(int argc, char *argv[])
{
	char mode[64] = "", path[4096];
	const char *slash, *name;
	struct pd_progress pr;
	struct pd_setup_done sd;
	struct pd_setup s;
	struct pd_chan ch;
	struct pd_msg m;
	struct pd_err e;
	ssize_t n;
	int fd, role;

	signal(SIGPIPE, SIG_IGN);
	if (argc < 1)
		return 2;
	slash = strrchr(argv[0], '/');
	name = slash ? slash + 1 : argv[0];
	snprintf(path, sizeof(path), "%.*s/mode", slash ? (int)(slash - argv[0]) :
	    1, slash ? argv[0] : ".");
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		n = read(fd, mode, sizeof(mode) - 1);
		close(fd);
		mode[n > 0 ? n : 0] = '\0';
		mode[strcspn(mode, "\n")] = '\0';
	}
	pre_setup(mode);
	role = strcmp(name, "plugind-extractor") == 0 ? PD_ROLE_EXTRACTOR :
	    PD_ROLE_FETCHER;
	pd_child_init(role, &ch, &s);
	for (;;) {
		if (pd_msg_recv(&ch, &m, -1, &e) != 1)
			exit(0);
		if (m.type == PD_MSG_FETCH_TLS || m.type == PD_MSG_BUNDLE_OUT) {
			pd_msg_clear(&m);
			continue;
		}
		if (m.type == PD_MSG_STOP)
			exit(0);
		break;
	}
	/* m is the first request: keep its fd open while misbehaving. */
	if (strcmp(mode, "stall") == 0)
		forever();
	if (strcmp(mode, "half") == 0) {
		raw("\x07\0\0\0\x20\0\0", 7);
		forever();
	}
	if (strcmp(mode, "flood") == 0) {
		pr.id = (char *)(uintptr_t)"flood";
		pr.status = (char *)(uintptr_t)"Downloading";
		pr.current = pr.total = 1;
		for (;;)
			if (pd_send_progress(PD_CHILD_FD, m.id, &pr, &e) == -1)
				exit(0);
	}
	if (strcmp(mode, "logflood") == 0)
		for (;;)
			if (pd_send_log(PD_CHILD_FD, 0, 2, "flood", &e) == -1)
				exit(0);
	if (strcmp(mode, "order") == 0) {
		sd.version = PD_PROTO_VERSION;
		sd.pid = (uint32_t)getpid();
		(void)pd_send_setup_done(PD_CHILD_FD, m.id, &sd, &e);
		forever();
	}
	if (m.type == PD_MSG_FETCH)
		fetch(mode, &m);
	if (strcmp(mode, "badid") == 0 && m.type == PD_MSG_PARSE) {
		(void)pd_send_parse_done(PD_CHILD_FD, m.id + 7, "{}", &e);
		forever();
	}
	return 0;
}

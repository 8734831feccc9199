/*
 * Framing and payload decoding: every truncation and oversize, fd
 * passing, and the decoders' exactness (no trailing bytes, no NULs,
 * bounded strings, required fds).
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msg.h"
#include "proto.h"
#include "../tap.h"

static int
pair(int sv[2])
{
	return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
}

/* Write raw bytes as a peer would, optionally with an fd attached. */
static void
raw_send(int s, const void *p, size_t n, int fd)
{
	struct msghdr mh;
	struct iovec iov;
	union {
		struct cmsghdr	h;
		char		b[CMSG_SPACE(sizeof(int))];
	} cm;

	memset(&mh, 0, sizeof(mh));
	iov.iov_base = (void *)(uintptr_t)p;
	iov.iov_len = n;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (fd >= 0) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.b;
		mh.msg_controllen = sizeof(cm.b);
		cm.h.cmsg_level = SOL_SOCKET;
		cm.h.cmsg_type = SCM_RIGHTS;
		cm.h.cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(&cm.h), &fd, sizeof(int));
	}
	if (sendmsg(s, &mh, 0) != (ssize_t)n)
		abort();
}

static void
test_framing(void)
{
	struct pd_msghdr h = { PD_MSG_STOP, 0, 7, 0 };
	struct pd_chan ch;
	struct pd_msg m;
	struct pd_err e;
	uint8_t buf[64];
	int sv[2], r;
	size_t cut;

	/* A well-formed empty message round-trips. */
	pair(sv);
	pd_chan_init(&ch, sv[1], 0);
	ASSERT(pd_msg_send(sv[0], PD_MSG_STOP, 7, -1, NULL, 0, &e) == 0, "send empty");
	r = pd_msg_recv(&ch, &m, 1000, &e);
	ASSERT(r == 1 && m.type == PD_MSG_STOP && m.id == 7 && m.len == 0 &&
	    m.fd == -1, "recv empty message");
	pd_msg_clear(&m);
	close(sv[0]);
	ASSERT_INT_EQ(pd_msg_recv(&ch, &m, 1000, &e), 0, "clean EOF between messages");
	pd_chan_free(&ch);
	close(sv[1]);

	/* Every truncation of header + payload is an error, never a message. */
	h.len = 8;
	memcpy(buf, &h, sizeof(h));
	memset(buf + sizeof(h), 'x', 8);
	for (cut = 1; cut < sizeof(h) + 8; cut++) {
		char what[64];

		pair(sv);
		pd_chan_init(&ch, sv[1], 0);
		raw_send(sv[0], buf, cut, -1);
		close(sv[0]);
		r = pd_msg_recv(&ch, &m, 1000, &e);
		snprintf(what, sizeof(what), "truncated at %zu bytes is an error", cut);
		ASSERT(r == -1 && e.code == PD_E_PROTO, what);
		pd_chan_free(&ch);
		close(sv[1]);
	}

	/* Oversized lengths are refused from the header alone. */
	{
		uint32_t lens[] = { PD_MSG_MAXPAYLOAD + 1, 0x7fffffff, 0xffffffff };
		size_t i;

		for (i = 0; i < 3; i++) {
			pair(sv);
			pd_chan_init(&ch, sv[1], 0);
			h.len = lens[i];
			raw_send(sv[0], &h, sizeof(h), -1);
			r = pd_msg_recv(&ch, &m, 1000, &e);
			ASSERT(r == -1 && strstr(e.msg, "exceeds") != NULL,
			    "oversized length refused");
			pd_chan_free(&ch);
			close(sv[0]);
			close(sv[1]);
		}
	}
	/* Exactly the maximum payload is accepted. */
	{
		uint8_t *big = calloc(1, PD_MSG_MAXPAYLOAD);

		pair(sv);
		pd_chan_init(&ch, sv[1], 0);
		if (fork() == 0) {
			pd_msg_send(sv[0], PD_CTL_DATA, 1, -1, big, PD_MSG_MAXPAYLOAD, &e);
			_exit(0);
		}
		r = pd_msg_recv(&ch, &m, 5000, &e);
		ASSERT(r == 1 && m.len == PD_MSG_MAXPAYLOAD, "max payload accepted");
		pd_msg_clear(&m);
		ASSERT(pd_msg_send(sv[0], PD_CTL_DATA, 1, -1, big,
		    PD_MSG_MAXPAYLOAD + 1, &e) == -1, "sender refuses oversize");
		pd_chan_free(&ch);
		close(sv[0]);
		close(sv[1]);
		free(big);
	}
	/* Unknown flags are refused. */
	pair(sv);
	pd_chan_init(&ch, sv[1], 0);
	h.len = 0;
	h.flags = 0x80;
	raw_send(sv[0], &h, sizeof(h), -1);
	ASSERT(pd_msg_recv(&ch, &m, 1000, &e) == -1, "unknown flag refused");
	pd_chan_free(&ch);
	close(sv[0]);
	close(sv[1]);
	h.flags = 0;

	/* Timeout on a peer that sends half a header. */
	pair(sv);
	pd_chan_init(&ch, sv[1], 0);
	raw_send(sv[0], &h, 5, -1);
	r = pd_msg_recv(&ch, &m, 100, &e);
	ASSERT(r == -1 && strstr(e.msg, "timed out") != NULL, "slow peer times out");
	pd_chan_free(&ch);
	close(sv[0]);
	close(sv[1]);
}

static int
nfds_open(void)
{
	int fd, n = 0;

	for (fd = 0; fd < 256; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			n++;
	return n;
}

static void
test_fds(void)
{
	struct pd_msghdr h = { PD_MSG_STOP, 0, 1, 0 };
	struct pd_chan ch;
	struct pd_msg m;
	struct pd_err e;
	struct stat a, b;
	int sv[2], fd, before, flags;

	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	fstat(fd, &a);
	pair(sv);
	pd_chan_init(&ch, sv[1], 1);
	ASSERT(pd_msg_send(sv[0], PD_CTL_DATA, 3, fd, "ab", 2, &e) == 0,
	    "send with fd");
	ASSERT(pd_msg_recv(&ch, &m, 1000, &e) == 1 && m.fd >= 0, "fd received");
	fstat(m.fd, &b);
	ASSERT(a.st_ino == b.st_ino && a.st_dev == b.st_dev, "same file arrives");
	flags = fcntl(m.fd, F_GETFD);
	ASSERT(flags & FD_CLOEXEC, "received fd is close-on-exec");
	pd_msg_clear(&m);
	pd_chan_free(&ch);
	close(sv[0]);
	close(sv[1]);

	/* A channel that does not allow fds closes them and fails. */
	before = nfds_open();
	pair(sv);
	pd_chan_init(&ch, sv[1], 0);
	pd_msg_send(sv[0], PD_CTL_DATA, 3, fd, "ab", 2, &e);
	ASSERT(pd_msg_recv(&ch, &m, 1000, &e) == -1 &&
	    strstr(e.msg, "file descriptors") != NULL, "unexpected fd refused");
	pd_chan_free(&ch);
	close(sv[0]);
	close(sv[1]);
	ASSERT_INT_EQ(nfds_open(), before, "refused fd was closed (no leak)");

	/* A header announcing an fd without one is refused. */
	pair(sv);
	pd_chan_init(&ch, sv[1], 1);
	h.flags = PD_MSGF_FD;
	raw_send(sv[0], &h, sizeof(h), -1);
	ASSERT(pd_msg_recv(&ch, &m, 1000, &e) == -1, "announced fd missing");
	pd_chan_free(&ch);
	close(sv[0]);
	close(sv[1]);

	/* More fds than a channel queues are closed and refused. */
	before = nfds_open();
	pair(sv);
	pd_chan_init(&ch, sv[1], 1);
	{
		int i, r = 0;

		h.flags = 0;
		for (i = 0; i < PD_CHAN_MAXFDS + 2 && r == 0; i++)
			raw_send(sv[0], &h, sizeof(h), fd);
		for (i = 0; i < PD_CHAN_MAXFDS + 2; i++) {
			r = pd_msg_recv(&ch, &m, 200, &e);
			if (r != 1)
				break;
			pd_msg_clear(&m);
		}
		ASSERT(r == -1, "fd flood refused");
	}
	pd_chan_free(&ch);
	close(sv[0]);
	close(sv[1]);
	ASSERT_INT_EQ(nfds_open(), before, "flooded fds all closed");
	close(fd);
}

/* Build a message from raw payload bytes for the decoders. */
static struct pd_msg
mk(uint32_t type, const void *p, size_t n, int fd)
{
	struct pd_msg m;

	m.type = type;
	m.id = 1;
	m.fd = fd;
	m.len = n;
	m.data = n ? malloc(n) : NULL;
	if (n)
		memcpy(m.data, p, n);
	return m;
}

static void
test_decoders(void)
{
	uint8_t buf[256];
	struct pd_ctlreq q;
	struct pd_log l;
	struct pd_hello hl;
	struct pd_untar_done ud;
	struct pd_msg m;
	struct pd_err e;
	uint32_t v;
	size_t n = 0, cut;
	int ok;

	/* HELLO: u32 version, str agent */
	v = 1; memcpy(buf, &v, 4);
	v = 3; memcpy(buf + 4, &v, 4);
	memcpy(buf + 8, "abc", 3);
	n = 11;
	m = mk(PD_MSG_HELLO, buf, n, -1);
	ASSERT(pd_dec_hello(&m, &hl, &e) == 0 && strcmp(hl.agent, "abc") == 0 &&
	    hl.version == 1, "HELLO decodes");
	pd_hello_free(&hl);
	pd_msg_clear(&m);
	for (cut = 0, ok = 1; cut < n; cut++) {
		m = mk(PD_MSG_HELLO, buf, cut, -1);
		if (pd_dec_hello(&m, &hl, &e) != -1)
			ok = 0;
		pd_msg_clear(&m);
	}
	ASSERT(ok, "HELLO: every truncation refused");
	buf[n] = 'z';
	m = mk(PD_MSG_HELLO, buf, n + 1, -1);
	ASSERT(pd_dec_hello(&m, &hl, &e) == -1 && strstr(e.msg, "trailing"),
	    "HELLO: trailing byte refused");
	pd_msg_clear(&m);
	buf[9] = '\0';
	m = mk(PD_MSG_HELLO, buf, n, -1);
	ASSERT(pd_dec_hello(&m, &hl, &e) == -1 && strstr(e.msg, "NUL"),
	    "HELLO: NUL inside string refused");
	pd_msg_clear(&m);
	v = 65; memcpy(buf + 4, &v, 4);
	memset(buf + 8, 'a', 65);
	m = mk(PD_MSG_HELLO, buf, 8 + 65, -1);
	ASSERT(pd_dec_hello(&m, &hl, &e) == -1, "HELLO: agent over 64 refused");
	pd_msg_clear(&m);
	v = 0xffffffff; memcpy(buf + 4, &v, 4);
	m = mk(PD_MSG_HELLO, buf, 8, -1);
	ASSERT(pd_dec_hello(&m, &hl, &e) == -1, "HELLO: huge string length refused");
	pd_msg_clear(&m);

	/* LOG: level must be known. */
	v = 9; memcpy(buf, &v, 4);
	v = 1; memcpy(buf + 4, &v, 4);
	buf[8] = 'x';
	m = mk(PD_MSG_LOG, buf, 9, -1);
	ASSERT(pd_dec_log(&m, &l, &e) == -1, "LOG: unknown level refused");
	pd_msg_clear(&m);

	/* Control request: argument counts per verb, fd rules. */
	{
		uint32_t hdr[3] = { 0, 0, 0 };

		m = mk(PD_CTL_LIST, hdr, sizeof(hdr), -1);
		ASSERT(pd_dec_ctlreq(&m, &q, &e) == 0 && q.nargs == 0, "ls: no args ok");
		pd_ctlreq_free(&q);
		pd_msg_clear(&m);
		m = mk(PD_CTL_INSPECT, hdr, sizeof(hdr), -1);
		ASSERT(pd_dec_ctlreq(&m, &q, &e) == -1, "inspect: missing arg refused");
		pd_msg_clear(&m);
		hdr[2] = 1000000;
		m = mk(PD_CTL_LIST, hdr, sizeof(hdr), -1);
		ASSERT(pd_dec_ctlreq(&m, &q, &e) == -1, "ls: huge nargs refused");
		pd_msg_clear(&m);
		hdr[2] = 0;
		m = mk(PD_CTL_LIST, hdr, sizeof(hdr), open("/dev/null", O_RDONLY));
		ASSERT(pd_dec_ctlreq(&m, &q, &e) == -1, "ls: unexpected fd refused");
		pd_msg_clear(&m);
		m = mk(999, hdr, sizeof(hdr), -1);
		ASSERT(pd_dec_ctlreq(&m, &q, &e) == -1, "unknown verb refused");
		pd_msg_clear(&m);
	}

	/* Round trip through a socket for each sender. */
	{
		struct pd_ctlreq out;
		char *args[] = { (char *)(uintptr_t)"vieux/sshfs", (char *)(uintptr_t)"DEBUG=1" };
		struct pd_chan ch;
		int sv[2];

		pair(sv);
		pd_chan_init(&ch, sv[1], 1);
		out.flags = PD_CTLF_FORCE;
		out.timeout = 5;
		out.nargs = 2;
		out.args = args;
		ASSERT(pd_send_ctlreq(sv[0], PD_CTL_SET, 9, -1, &out, &e) == 0,
		    "send ctl request");
		ASSERT(pd_msg_recv(&ch, &m, 1000, &e) == 1 &&
		    pd_dec_ctlreq(&m, &q, &e) == 0 && q.nargs == 2 &&
		    strcmp(q.args[1], "DEBUG=1") == 0 && q.flags == PD_CTLF_FORCE &&
		    q.timeout == 5, "ctl request round trip");
		pd_ctlreq_free(&q);
		pd_msg_clear(&m);

		ud.entries = 3;
		ud.bytes = 1ULL << 40;
		ud.diff_id = (char *)(uintptr_t)"sha256:00";
		pd_send_untar_done(sv[0], 4, &ud, &e);
		ASSERT(pd_msg_recv(&ch, &m, 1000, &e) == 1 &&
		    pd_dec_untar_done(&m, &ud, &e) == 0 && ud.bytes == 1ULL << 40 &&
		    strcmp(ud.diff_id, "sha256:00") == 0, "UNTAR_DONE round trip");
		pd_untar_done_free(&ud);
		pd_msg_clear(&m);

		pd_send_error(sv[0], PD_MSG_ERROR, 4, 0, "x", &e);
		{
			struct pd_error_msg em;

			ASSERT(pd_msg_recv(&ch, &m, 1000, &e) == 1 &&
			    pd_dec_error(&m, &em, &e) == -1, "ERROR with code 0 refused");
		}
		pd_msg_clear(&m);
		pd_chan_free(&ch);
		close(sv[0]);
		close(sv[1]);
	}
}

/* PUSH_BLOB carries an fd and round-trips; PUSH_RESULT is exact. */
static void
test_push_msgs(void)
{
	struct pd_push_req q, d;
	struct pd_push_result r, dr;
	struct pd_chan ch;
	struct pd_msg m;
	struct pd_err e;
	int sv[2], p[2];

	if (pair(sv) == -1 || pipe(p) == -1 || pd_chan_init(&ch, sv[1], 1) == -1) {
		ASSERT(0, "socketpair for push messages");
		return;
	}
	memset(&q, 0, sizeof(q));
	q.t.flags = PD_FETCHF_IDTOKEN;
	q.t.scheme = (char *)(uintptr_t)"http";
	q.t.host = (char *)(uintptr_t)"127.0.0.1:5000";
	q.t.repo = (char *)(uintptr_t)"test/x";
	q.t.reference = (char *)(uintptr_t)"sha256:ab";
	q.t.username = (char *)(uintptr_t)"";
	q.t.secret = (char *)(uintptr_t)"tok";
	q.t.proxy = (char *)(uintptr_t)"";
	q.mount_from = (char *)(uintptr_t)"test/y";
	q.media_type = (char *)(uintptr_t)"application/octet-stream";
	q.size = 1ULL << 33;
	ASSERT(pd_send_push(sv[0], PD_MSG_PUSH_BLOB, 9, p[0], &q, &e) == 0,
	    "send PUSH_BLOB");
	ASSERT(pd_msg_recv(&ch, &m, 1000, &e) == 1 && m.fd >= 0 &&
	    pd_dec_push(&m, &d, &e) == 0 && d.size == 1ULL << 33 &&
	    strcmp(d.mount_from, "test/y") == 0 && d.t.flags == PD_FETCHF_IDTOKEN,
	    "PUSH_BLOB round trip with its fd");
	pd_push_req_free(&d);
	pd_msg_clear(&m);
	ASSERT(pd_send_push(sv[0], PD_MSG_FETCH, 9, p[0], &q, &e) == -1,
	    "pd_send_push refuses other message types");
	ASSERT(pd_send_push(sv[0], PD_MSG_PUSH_MANIFEST, 10, -1, &q, &e) == 0 &&
	    pd_msg_recv(&ch, &m, 1000, &e) == 1 && pd_dec_push(&m, &d, &e) == -1,
	    "PUSH_MANIFEST without an fd refused");
	pd_msg_clear(&m);
	r.outcome = PD_PUSHED_MOUNTED;
	r.size = 0;
	r.digest = (char *)(uintptr_t)"";
	r.detail = (char *)(uintptr_t)"test/y";
	ASSERT(pd_send_push_result(sv[0], 11, &r, &e) == 0 &&
	    pd_msg_recv(&ch, &m, 1000, &e) == 1 &&
	    pd_dec_push_result(&m, &dr, &e) == 0 && dr.outcome == PD_PUSHED_MOUNTED &&
	    strcmp(dr.detail, "test/y") == 0, "PUSH_RESULT round trip");
	pd_push_result_free(&dr);
	m.len--;
	ASSERT(pd_dec_push_result(&m, &dr, &e) == -1, "short PUSH_RESULT refused");
	m.len++;
	pd_msg_clear(&m);
	r.outcome = 9;
	ASSERT(pd_send_push_result(sv[0], 12, &r, &e) == 0 &&
	    pd_msg_recv(&ch, &m, 1000, &e) == 1 &&
	    pd_dec_push_result(&m, &dr, &e) == -1, "unknown push outcome refused");
	pd_msg_clear(&m);
	pd_chan_free(&ch);
	close(sv[0]);
	close(sv[1]);
	close(p[0]);
	close(p[1]);
}

int
main(void)
{
	test_framing();
	test_fds();
	test_decoders();
	test_push_msgs();
	TAP_DONE();
}

/*
 * ctlfuzz SOCKET COUNT [SEED]: open COUNT connections to a plugind control
 * socket and send each a malformed or random conversation: random bytes,
 * truncated headers, oversized lengths, bad versions, unknown verbs,
 * wrong argument counts, stray fds, NULs in strings, disconnects in the
 * middle of a frame.  Prints how many connections got an error reply.
 * The caller checks that the broker is alive and serves others after.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msg.h"
#include "proto.h"

static int
dial(const char *path)
{
	struct sockaddr_un sun;
	struct timeval tv = { 2, 0 };
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		perror("connect");
		exit(2);
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

static void
hello(int fd, uint32_t version)
{
	struct pd_hello h = { version, (char *)(uintptr_t)"ctlfuzz" };

	pd_send_hello(fd, 1, &h, NULL);
}

static void
rnd(uint8_t *p, size_t n)
{
	while (n-- > 0)
		*p++ = (uint8_t)random();
}

int
main(int argc, char *argv[])
{
	uint8_t buf[4096];
	struct pd_msghdr h;
	int i, fd, kind, replies = 0, nullfd;
	long count;
	char c;

	if (argc < 3)
		return 2;
	/* The broker may hang up on garbage before the next write. */
	signal(SIGPIPE, SIG_IGN);
	count = atol(argv[2]);
	srandom(argc > 3 ? (unsigned)atoi(argv[3]) : 1);
	nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	for (i = 0; i < count; i++) {
		fd = dial(argv[1]);
		kind = (int)(random() % 12);
		h.id = (uint32_t)random();
		h.flags = 0;
		switch (kind) {
		case 0:		/* pure noise */
			rnd(buf, (size_t)(random() % sizeof(buf)) + 1);
			(void)!write(fd, buf, (size_t)(random() % sizeof(buf)) + 1);
			break;
		case 1:		/* truncated header, then close */
			h.type = PD_MSG_HELLO;
			h.len = 8;
			(void)!write(fd, &h, (size_t)(random() % 15) + 1);
			break;
		case 2:		/* oversized length */
			h.type = PD_MSG_HELLO;
			h.len = PD_MSG_MAXPAYLOAD + 1 + (uint32_t)random() % 1000000;
			(void)!write(fd, &h, sizeof(h));
			break;
		case 3:		/* wrong protocol version */
			hello(fd, (uint32_t)random() | 2);
			break;
		case 4:		/* no HELLO, straight to a request */
			h.type = PD_CTL_LIST;
			h.len = 0;
			(void)!write(fd, &h, sizeof(h));
			break;
		case 5:		/* unknown verb after HELLO */
			hello(fd, PD_PROTO_VERSION);
			h.type = 100 + (uint32_t)random() % 1000;
			if (h.type <= PD_CTL_HELPERCHECK)
				h.type = 777;
			h.len = 12;
			memset(buf, 0, 12);
			(void)!write(fd, &h, sizeof(h));
			(void)!write(fd, buf, 12);
			break;
		case 6:		/* inspect with a bogus arg count */
			hello(fd, PD_PROTO_VERSION);
			{
				uint32_t p[4] = { 0, 0, 0xfffffff0u, 5 };

				h.type = PD_CTL_INSPECT;
				h.len = sizeof(p);
				(void)!write(fd, &h, sizeof(h));
				(void)!write(fd, p, sizeof(p));
			}
			break;
		case 7:		/* an fd on a verb that takes none */
			hello(fd, PD_PROTO_VERSION);
			{
				uint32_t p[3] = { 0, 0, 0 };

				pd_msg_send(fd, PD_CTL_LIST, 3, nullfd, p, sizeof(p), NULL);
			}
			break;
		case 8:		/* NUL inside a string argument */
			hello(fd, PD_PROTO_VERSION);
			{
				uint8_t p[20] = { 0 };
				uint32_t one = 1, four = 4;

				memcpy(p + 8, &one, 4);
				memcpy(p + 12, &four, 4);
				memcpy(p + 16, "a\0b", 4);
				pd_msg_send(fd, PD_CTL_INSPECT, 3, -1, p, sizeof(p), NULL);
			}
			break;
		case 9:		/* HELLO then random frames */
			hello(fd, PD_PROTO_VERSION);
			h.type = (uint32_t)random() % 400;
			h.len = (uint32_t)random() % 64;
			rnd(buf, h.len);
			(void)!write(fd, &h, sizeof(h));
			(void)!write(fd, buf, h.len);
			break;
		case 10:	/* trailing bytes after a valid ls request */
			hello(fd, PD_PROTO_VERSION);
			{
				uint32_t p[4] = { 0, 0, 0, 0xdeadbeef };

				pd_msg_send(fd, PD_CTL_LIST, 3, -1, p, sizeof(p), NULL);
			}
			break;
		default:	/* half a payload, then hang up */
			hello(fd, PD_PROTO_VERSION);
			h.type = PD_CTL_INSPECT;
			h.len = 100;
			(void)!write(fd, &h, sizeof(h));
			(void)!write(fd, buf, 10);
			break;
		}
		shutdown(fd, SHUT_WR);
		while (read(fd, &c, 1) == 1)
			replies = replies + 0;
		replies++;
		close(fd);
	}
	printf("%d connections done\n", replies);
	return 0;
}

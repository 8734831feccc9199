/*
 * rawctl SOCKET VERB-NUMBER FLAGS [ARG...]: send one control request
 * exactly as given (no client-side checks) and print the reply body, or
 * the broker's error on stderr with exit 1.  For tests that play a
 * client pluginctl would never be (e.g. granting the wrong privileges).
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msg.h"
#include "proto.h"

int
main(int argc, char *argv[])
{
	struct sockaddr_un sun;
	struct pd_error_msg em;
	struct pd_hello h = { PD_PROTO_VERSION, (char *)(uintptr_t)"rawctl" };
	struct pd_ctlreq q;
	struct pd_chan ch;
	struct pd_msg m;
	struct pd_err e;
	int fd, r, got;

	if (argc < 4) {
		fprintf(stderr, "usage: rawctl SOCKET VERB FLAGS [ARG...]\n");
		return 2;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", argv[1]);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		perror("connect");
		return 1;
	}
	pd_chan_init(&ch, fd, 0);
	if (pd_send_hello(fd, 1, &h, &e) == -1 || pd_msg_recv(&ch, &m, 10000, &e) != 1)
		return 1;
	pd_msg_clear(&m);
	q.flags = (uint32_t)strtoul(argv[3], NULL, 0);
	q.timeout = 0;
	q.nargs = (uint32_t)(argc - 4);
	q.args = argv + 4;
	if (pd_send_ctlreq(fd, (uint32_t)atoi(argv[2]), 2, -1, &q, &e) == -1) {
		fprintf(stderr, "%s\n", e.msg);
		return 1;
	}
	for (r = -1; r == -1;) {
		if ((got = pd_msg_recv(&ch, &m, -1, &e)) != 1) {
			fprintf(stderr, "%s\n", got ? e.msg : "connection closed");
			r = 1;
			break;
		}
		if (m.type == PD_CTL_DATA)
			fwrite(m.data, 1, m.len, stdout);
		else if (m.type == PD_CTL_OK)
			r = 0;
		else if (m.type == PD_CTL_FAIL) {
			if (pd_dec_error(&m, &em, &e) == 0) {
				fprintf(stderr, "%s\n", em.msg);
				pd_error_msg_free(&em);
			}
			r = 1;
		}
		pd_msg_clear(&m);
	}
	/* Free everything: the ASan build's leak check must not fail us. */
	pd_chan_free(&ch);
	close(fd);
	return r;
}

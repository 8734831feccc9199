#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "msg.h"

int
pd_chan_init(struct pd_chan *c, int fd, int allow_fd)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->allow_fd = allow_fd;
	c->buf = malloc(PD_MSG_HDRLEN + PD_MSG_MAXPAYLOAD);
	return c->buf == NULL ? -1 : 0;
}

void
pd_chan_free(struct pd_chan *c)
{
	int i;

	for (i = 0; i < c->nfds; i++)
		close(c->fds[i]);
	c->nfds = 0;
	free(c->buf);
	c->buf = NULL;
}

/*
 * Send one message; blocks until all of it is written (or the socket's
 * send timeout expires).  At most one fd, attached to the first byte.
 */
int
pd_msg_send(int sock, uint32_t type, uint32_t id, int passfd, const void *data,
    size_t len, struct pd_err *e)
{
	struct pd_msghdr h;
	struct msghdr mh;
	struct iovec iov[2];
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cm;
	size_t total, off = 0;
	ssize_t n;

	if (len > PD_MSG_MAXPAYLOAD)
		return pd_errf(e, PD_E_INTERNAL, "message %u too large (%zu bytes)",
		    type, len);
	h.type = type;
	h.len = (uint32_t)len;
	h.id = id;
	h.flags = passfd >= 0 ? PD_MSGF_FD : 0;
	total = sizeof(h) + len;
	while (off < total) {
		memset(&mh, 0, sizeof(mh));
		if (off < sizeof(h)) {
			iov[0].iov_base = (char *)&h + off;
			iov[0].iov_len = sizeof(h) - off;
			iov[1].iov_base = (void *)(uintptr_t)data;
			iov[1].iov_len = len;
			mh.msg_iovlen = len ? 2 : 1;
		} else {
			iov[0].iov_base = (char *)(uintptr_t)data + (off - sizeof(h));
			iov[0].iov_len = total - off;
			mh.msg_iovlen = 1;
		}
		mh.msg_iov = iov;
		if (off == 0 && passfd >= 0) {
			memset(&cm, 0, sizeof(cm));
			mh.msg_control = cm.buf;
			mh.msg_controllen = sizeof(cm.buf);
			cm.hdr.cmsg_level = SOL_SOCKET;
			cm.hdr.cmsg_type = SCM_RIGHTS;
			cm.hdr.cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(&cm.hdr), &passfd, sizeof(int));
		}
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return pd_errf(e, PD_E_IO, "peer is not reading (send timed out)");
			return pd_errno(e, PD_E_IO, "sendmsg");
		}
		off += (size_t)n;
	}
	return 0;
}

/*
 * Try to take one complete message out of the channel's buffer.
 * Returns 1 with *m filled, 0 when more bytes are needed, -1 on a
 * framing violation.
 */
int
pd_msg_parse(struct pd_chan *c, struct pd_msg *m, struct pd_err *e)
{
	struct pd_msghdr h;

	m->fd = -1;
	m->data = NULL;
	m->len = 0;
	if (c->buflen < PD_MSG_HDRLEN)
		return 0;
	memcpy(&h, c->buf, sizeof(h));
	if (h.len > PD_MSG_MAXPAYLOAD)
		return pd_errf(e, PD_E_PROTO, "message length %u exceeds %u",
		    h.len, PD_MSG_MAXPAYLOAD);
	if ((h.flags & ~PD_MSGF_FD) != 0)
		return pd_errf(e, PD_E_PROTO, "unknown message flags 0x%x", h.flags);
	if (c->buflen < PD_MSG_HDRLEN + h.len)
		return 0;
	if (h.flags & PD_MSGF_FD) {
		if (c->nfds == 0)
			return pd_errf(e, PD_E_PROTO,
			    "message %u announces an fd but none arrived", h.type);
		m->fd = c->fds[0];
		memmove(c->fds, c->fds + 1, (size_t)(c->nfds - 1) * sizeof(int));
		c->nfds--;
	}
	if (h.len > 0) {
		m->data = malloc(h.len);
		if (m->data == NULL) {
			pd_msg_clear(m);
			return pd_errf(e, PD_E_INTERNAL, "out of memory");
		}
		memcpy(m->data, c->buf + PD_MSG_HDRLEN, h.len);
	}
	m->type = h.type;
	m->id = h.id;
	m->len = h.len;
	c->buflen -= PD_MSG_HDRLEN + h.len;
	memmove(c->buf, c->buf + PD_MSG_HDRLEN + h.len, c->buflen);
	return 1;
}

/*
 * Read what the peer sent into the channel's buffer (one recvmsg; the
 * caller polled).  Returns 1 if bytes arrived, 0 on EOF, -1 on error.
 */
int
pd_chan_fill(struct pd_chan *c, struct pd_err *e)
{
	struct msghdr mh;
	struct iovec iov;
	struct cmsghdr *cmsg;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(PD_CHAN_MAXFDS * sizeof(int))];
	} cm;
	size_t room = PD_MSG_HDRLEN + PD_MSG_MAXPAYLOAD - c->buflen;
	int bad = 0, i, nfd, fds[PD_CHAN_MAXFDS];
	ssize_t n;

	memset(&mh, 0, sizeof(mh));
	iov.iov_base = c->buf + c->buflen;
	iov.iov_len = room;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	do
		n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return pd_errf(e, PD_E_IO, "timed out waiting for peer");
		return pd_errno(e, PD_E_IO, "recvmsg");
	}
	/* Take every passed fd first so none leaks, whatever happens next. */
	for (cmsg = CMSG_FIRSTHDR(&mh); cmsg != NULL; cmsg = CMSG_NXTHDR(&mh, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) {
			bad = 1;
			continue;
		}
		nfd = (int)((cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		memcpy(fds, CMSG_DATA(cmsg), (size_t)nfd * sizeof(int));
		for (i = 0; i < nfd; i++) {
			if (!c->allow_fd || c->nfds >= PD_CHAN_MAXFDS) {
				close(fds[i]);
				bad = 1;
			} else
				c->fds[c->nfds++] = fds[i];
		}
	}
	if (mh.msg_flags & MSG_CTRUNC)
		bad = 1;
	if (bad)
		return pd_errf(e, PD_E_PROTO, "peer passed unexpected file descriptors");
	if (n == 0)
		return 0;
	c->buflen += (size_t)n;
	return 1;
}

/*
 * Receive one message, waiting at most timeout_ms (-1: forever).
 * Returns 1 with *m filled, 0 on a clean EOF between messages, -1 on
 * error (including EOF in the middle of a message and time-outs).
 */
int
pd_msg_recv(struct pd_chan *c, struct pd_msg *m, int timeout_ms,
    struct pd_err *e)
{
	struct pollfd pfd;
	struct timespec ts;
	long long deadline = 0, now;
	int r, wait;

	if (timeout_ms >= 0) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		deadline = ts.tv_sec * 1000LL + ts.tv_nsec / 1000000 + timeout_ms;
	}
	for (;;) {
		if ((r = pd_msg_parse(c, m, e)) != 0)
			return r;
		wait = -1;
		if (timeout_ms >= 0) {
			clock_gettime(CLOCK_MONOTONIC, &ts);
			now = ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
			if (now >= deadline)
				return pd_errf(e, PD_E_IO, "timed out waiting for peer");
			wait = (int)(deadline - now);
		}
		pfd.fd = c->fd;
		pfd.events = POLLIN;
		r = poll(&pfd, 1, wait);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return pd_errno(e, PD_E_IO, "poll");
		if (r == 0)
			continue;
		r = pd_chan_fill(c, e);
		if (r < 0)
			return -1;
		if (r == 0) {
			if (c->buflen != 0)
				return pd_errf(e, PD_E_PROTO,
				    "peer closed the channel in the middle of a message");
			return 0;
		}
	}
}

int
pd_msg_take_fd(struct pd_msg *m)
{
	int fd = m->fd;

	m->fd = -1;
	return fd;
}

void
pd_msg_clear(struct pd_msg *m)
{
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
	free(m->data);
	m->data = NULL;
	m->len = 0;
}

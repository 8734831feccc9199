/*
 * Replies to a control client: data, JSON, progress, and whether a
 * streaming client has gone away.
 */

#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "proc/proc.h"

int
ctl_reply_data(struct ctl_client *c, const void *data, size_t len)
{
	const uint8_t *p = data;
	struct pd_err e;
	size_t n;

	if (c->gone)
		return -1;
	while (len > 0) {
		n = len > PD_MSG_MAXPAYLOAD ? PD_MSG_MAXPAYLOAD : len;
		if (pd_msg_send(c->fd, PD_CTL_DATA, c->reqid, -1, p, n, &e) == -1) {
			c->gone = 1;	/* not reading: one send timeout, no more */
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

/* Send a JSON document as the reply body; steals the reference. */
int
ctl_reply_json(struct ctl_client *c, json_t *j)
{
	char *s;
	int rc;

	s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(j);
	if (s == NULL)
		return -1;
	rc = ctl_reply_data(c, s, strlen(s));
	free(s);
	return rc;
}

int
ctl_progress(struct ctl_client *c, const char *id, const char *status,
    uint64_t cur, uint64_t total)
{
	if (c->gone)
		return -1;
	if (pd_send_progress_of(c->fd, c->reqid, id, status, cur, total) == -1) {
		c->gone = 1;
		return -1;
	}
	return 0;
}

/*
 * Has the client gone away?  A streaming client sends nothing after its
 * request, so readability means EOF (or a protocol breach: also the end).
 */
int
ctl_client_gone(const struct ctl_client *c, int wait_ms)
{
	struct pollfd p = { c->fd, POLLIN | POLLRDHUP, 0 };

	if (poll(&p, 1, wait_ms) <= 0)
		return 0;
	return (p.revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))
	    != 0;
}

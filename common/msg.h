/*
 * Framing for every plugind channel: broker <-> helpers (socketpair on
 * fd 3) and pluginctl <-> broker (the control socket).  Written for
 * plugind; the shape follows OpenBSD's imsg.
 *
 * A message is a fixed 16-byte header followed by `len` payload bytes:
 *
 *	uint32_t type	 enum pd_msg_type (proto.h)
 *	uint32_t len	 payload length, 0 .. PD_MSG_MAXPAYLOAD
 *	uint32_t id	 request/job id; replies carry the id of the request
 *	uint32_t flags	 PD_MSGF_FD: exactly one fd travels with this message
 *
 * All fields are in host byte order: channels never leave the machine.
 * Payloads are decoded only in proto.c.  A channel accepts passed fds only
 * when the receiver enabled it (pd_chan_init's allow_fd); fds arrive with
 * MSG_CMSG_CLOEXEC.  Any framing violation is an error on the channel:
 * the caller drops the peer, never itself.
 */
#ifndef PD_MSG_H
#define PD_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define PD_MSG_HDRLEN		16
#define PD_MSG_MAXPAYLOAD	(64 * 1024)
#define PD_MSGF_FD		0x1u
#define PD_CHAN_MAXFDS		4

struct pd_msghdr {
	uint32_t	type;
	uint32_t	len;
	uint32_t	id;
	uint32_t	flags;
};

struct pd_msg {
	uint32_t	 type;
	uint32_t	 id;
	int		 fd;		/* -1 unless PD_MSGF_FD; owned by the msg */
	size_t		 len;
	uint8_t		*data;		/* len bytes, malloc'd (NULL when len 0) */
};

struct pd_chan {
	int		 fd;
	int		 allow_fd;
	uint8_t		*buf;		/* PD_MSG_HDRLEN + PD_MSG_MAXPAYLOAD */
	size_t		 buflen;
	int		 fds[PD_CHAN_MAXFDS];
	int		 nfds;
};

int	pd_chan_init(struct pd_chan *, int, int);
void	pd_chan_free(struct pd_chan *);
int	pd_msg_send(int, uint32_t, uint32_t, int, const void *, size_t,
	    struct pd_err *);
int	pd_msg_recv(struct pd_chan *, struct pd_msg *, int, struct pd_err *);
int	pd_msg_parse(struct pd_chan *, struct pd_msg *, struct pd_err *);
int	pd_chan_fill(struct pd_chan *, struct pd_err *);
int	pd_msg_take_fd(struct pd_msg *);
void	pd_msg_clear(struct pd_msg *);

#endif

/*
 * plugind-fetcher: the registry client.  Unprivileged, no capabilities,
 * chrooted into <data-root>/fetch-root, seccomp-filtered.  It writes only
 * into file descriptors the broker hands it; the broker verifies every
 * byte it produces.
 */
#include <stdlib.h>
#include <unistd.h>

#include "child.h"
#include "log.h"
#include "role.h"

int
main(void)
{
	struct pd_setup s;
	struct pd_chan ch;
	struct pd_msg m;
	struct pd_err e;
	int r;

	pd_child_init(PD_ROLE_FETCHER, &ch, &s);
	for (;;) {
		r = pd_msg_recv(&ch, &m, -1, &e);
		if (r == 0)
			break;
		if (r == -1)
			fatalx("%s", e.msg);
		switch (m.type) {
		case PD_MSG_STOP:
			pd_msg_clear(&m);
			exit(0);
		default:
			fatalx("unexpected %s message from the broker",
			    pd_msg_name(m.type));
		}
	}
	return 0;
}

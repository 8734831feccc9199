#include "helper_loop.h"
#include "log.h"
#include "proto.h"

/*
 * Returns when the broker closes the channel or sends STOP.  A broken
 * channel or a type the table lacks is fatal: the broker and the helper
 * no longer agree on the protocol, and the broker sees the exit.
 */
void
pd_helper_loop(struct pd_chan *ch, const struct pd_handler *tab, void *arg)
{
	const struct pd_handler *h;
	struct pd_msg m;
	struct pd_err e;
	int r;

	for (;;) {
		r = pd_msg_recv(ch, &m, -1, &e);
		if (r == 0)
			return;
		if (r == -1)
			fatalx("%s", e.msg);
		if (m.type == PD_MSG_STOP) {
			pd_msg_clear(&m);
			return;
		}
		for (h = tab; h->fn != NULL && h->type != m.type; h++)
			;
		if (h->fn == NULL)
			fatalx("unexpected %s message from the broker",
			    pd_msg_name(m.type));
		h->fn(&m, arg);
		pd_msg_clear(&m);
	}
}

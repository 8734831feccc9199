/*
 * The request loop every helper (fetcher, extractor) runs after
 * pd_child_init(): receive a request from the broker, hand it to the
 * handler for its type, repeat.  A helper's main is its set-up and its
 * table of handlers.
 */
#ifndef PD_HELPER_LOOP_H
#define PD_HELPER_LOOP_H

#include <stdint.h>

#include "msg.h"

typedef void pd_handler_fn(struct pd_msg *, void *);

struct pd_handler {
	uint32_t	 type;		/* PD_MSG_* */
	pd_handler_fn	*fn;		/* NULL ends the table */
};

void	pd_helper_loop(struct pd_chan *, const struct pd_handler *, void *);

#endif

/*
 * Start-up shared by every helper (fetcher, extractor): the SETUP round
 * trip on fd 3 and the fixed privilege-drop order.  Nothing from the
 * network or a tarball is touched before pd_child_init() returns.
 */
#ifndef PD_CHILD_H
#define PD_CHILD_H

#include "msg.h"
#include "proto.h"

#define PD_CHILD_FD	3

int	pd_child_init(int, struct pd_chan *, struct pd_setup *);
void	pd_child_fail(int, uint32_t, const struct pd_err *);

#endif

#ifndef PD_BUNDLE_H
#define PD_BUNDLE_H

#include "error.h"
#include "proto.h"

int	bundle_split(int, int, struct pd_bundle_done *, struct pd_err *);

#endif

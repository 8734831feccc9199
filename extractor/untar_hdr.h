/* Raw header chain checks (untar_hdr.c), below untar.c. */
#ifndef PD_UNTAR_HDR_H
#define PD_UNTAR_HDR_H

#include "untar_impl.h"

/* Raw view of the headers that make up one entry. */
struct hdrinfo {
	int		 typeflag;	/* of the main header */
	int		 nhdr;		/* extension headers before it */
	uint64_t	 mainoff;	/* offset of the main header */
};

int	hdr_walk(struct untar *, uint64_t, uint64_t, int, struct hdrinfo *);

#endif

/*
 * The untar engine's input (untar_src.c): the layer read from the
 * broker's fd, decompressed, hashed (the diff ID) and held to the stream
 * limits, handed to libarchive in slots of a small ring.
 */
#ifndef PD_UNTAR_SRC_H
#define PD_UNTAR_SRC_H

#include <archive.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "untar_base.h"

/* Uncompressed stream: handed to libarchive in slots of a small ring. */
#define SRC_SLOT	(1024 * 1024)
#define SRC_NSLOT	5
#define SRC_INBUF	(256 * 1024)
/* The ratio limit applies once this much has been produced. */
#define SRC_RATIO_FLOOR	(8ULL << 20)

struct src {
	int			 fd;
	enum untar_compression	 comp;
	const struct untar_limits *lim;
	z_stream		 z;
	int			 zinit;
	int			 zstate;
	uint64_t		 members;
	struct archive		*zar;
	EVP_MD_CTX		*md;
	unsigned char		*in;
	size_t			 inoff;
	size_t			 inlen;
	int			 ineof;
	uint64_t		 rawin;		/* bytes read from fd */
	uint64_t		 cin;		/* compressed bytes consumed */
	uint64_t		 out;		/* uncompressed bytes produced */
	unsigned char		*ring;
	uint64_t		 slot_off[SRC_NSLOT];
	size_t			 slot_len[SRC_NSLOT];
	int			 cur;
	int			 done;
	int			 failed;
	struct pd_err		 err;
	/* While libarchive parses headers it may not read past hdrlimit. */
	int			 inhdr;
	uint64_t		 hdrstart;
	uint64_t		 hdrlimit;
};

int	src_init(struct src *, int, enum untar_compression,
	    const struct untar_limits *, const EVP_MD *, struct pd_err *);
void	src_free(struct src *);
la_ssize_t src_archive_read(struct archive *, void *, const void **);
int	src_drain(struct src *);
int	src_copy(const struct src *, uint64_t, void *, size_t);
int	src_digest(struct src *, char *, size_t);

#endif

/*
 * The uncompressed tar stream: read the layer fd, decompress (zlib for
 * gzip, a raw-format libarchive reader for zstd), hash, enforce the stream
 * limits, and hand the bytes to libarchive's tar reader in slots of a ring
 * so that the header checks in untar_hdr.c can look back at them.
 */
#include <sys/types.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "untar_src.h"

enum {
	ZS_BETWEEN,		/* at a member boundary (or the start) */
	ZS_MEMBER		/* inside a gzip member */
};

static int
src_limit_in(struct src *s)
{
	if (s->lim->max_compressed != 0 && s->rawin > s->lim->max_compressed)
		return ERR_LIMIT(&s->err, "compressed layer exceeds limits.max-compressed "
		    "(%" PRIu64 " bytes)", s->lim->max_compressed);
	return 0;
}

/* Move unread input to the front of the buffer and read more. */
static int
src_fill(struct src *s)
{
	ssize_t n;

	if (s->inoff > 0) {
		memmove(s->in, s->in + s->inoff, s->inlen - s->inoff);
		s->inlen -= s->inoff;
		s->inoff = 0;
	}
	if (s->ineof || s->inlen == SRC_INBUF)
		return 0;
	do
		n = read(s->fd, s->in + s->inlen, SRC_INBUF - s->inlen);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return ERR_IO(&s->err, "reading the layer");
	if (n == 0)
		s->ineof = 1;
	s->inlen += (size_t)n;
	s->rawin += (uint64_t)n;
	return src_limit_in(s);
}

static const char *
sniff(const unsigned char *p, size_t n)
{
	if (n >= 6 && memcmp(p, "\xfd" "7zXZ\0", 6) == 0)
		return "it is xz data";
	if (n >= 4 && memcmp(p, "\x28\xb5\x2f\xfd", 4) == 0)
		return "it is zstd data";
	if (n >= 3 && memcmp(p, "BZh", 3) == 0)
		return "it looks like bzip2 data";
	if (n >= 4 && memcmp(p, "PK\3\4", 4) == 0)
		return "it is a zip archive";
	if (n >= 262 && memcmp(p + 257, "ustar", 5) == 0)
		return "it is an uncompressed tar archive";
	return "bad magic";
}

/* At a member boundary: start the next member or verify the end. */
static int
gz_boundary(struct src *s)
{
	const unsigned char *p;
	size_t i, avail;

	while (s->inlen - s->inoff < 2 && !s->ineof)
		if (src_fill(s) == -1)
			return -1;
	avail = s->inlen - s->inoff;
	if (avail == 0) {
		if (s->members == 0)
			return ERR_COMP(&s->err, "empty layer blob");
		s->done = 1;
		return 0;
	}
	p = s->in + s->inoff;
	if (p[0] == 0 && s->members > 0) {
		/* Zero padding after the last member is tolerated (umoci). */
		for (;;) {
			for (i = s->inoff; i < s->inlen; i++)
				if (s->in[i] != 0)
					return ERR_COMP(&s->err, "garbage after the "
					    "zero padding that follows gzip member %" PRIu64,
					    s->members);
			s->cin += s->inlen - s->inoff;
			s->inoff = s->inlen;
			if (s->ineof)
				break;
			if (src_fill(s) == -1)
				return -1;
		}
		s->done = 1;
		return 0;
	}
	if (avail < 2 || p[0] != 0x1f || p[1] != 0x8b) {
		if (s->members == 0)
			return ERR_COMP(&s->err, "layer is not gzip-compressed (%s)",
			    sniff(p, avail));
		return ERR_COMP(&s->err, "trailing garbage after gzip member %"
		    PRIu64 " at compressed offset %" PRIu64, s->members, s->cin);
	}
	if (!s->zinit) {
		memset(&s->z, 0, sizeof(s->z));
		if (inflateInit2(&s->z, 16 + MAX_WBITS) != Z_OK)
			return ERR_INTERNAL(&s->err, "inflateInit2 failed");
		s->zinit = 1;
	} else if (inflateReset(&s->z) != Z_OK)
		return ERR_INTERNAL(&s->err, "inflateReset failed");
	s->zstate = ZS_MEMBER;
	return 0;
}

static int
gz_produce(struct src *s, unsigned char *buf, size_t cap, size_t *np)
{
	size_t n = 0, in, out;
	int rc;

	while (n < cap && !s->done) {
		if (s->zstate == ZS_BETWEEN) {
			if (gz_boundary(s) == -1)
				return -1;
			continue;
		}
		if (s->inoff == s->inlen) {
			if (src_fill(s) == -1)
				return -1;
			if (s->inlen == 0)
				return ERR_COMP(&s->err, "gzip stream truncated after %"
				    PRIu64 " compressed bytes", s->cin);
		}
		in = s->inlen - s->inoff;
		out = cap - n;
		s->z.next_in = s->in + s->inoff;
		s->z.avail_in = in > UINT32_MAX ? UINT32_MAX : (uInt)in;
		s->z.next_out = buf + n;
		s->z.avail_out = out > UINT32_MAX ? UINT32_MAX : (uInt)out;
		in = s->z.avail_in;
		out = s->z.avail_out;
		rc = inflate(&s->z, Z_NO_FLUSH);
		in -= s->z.avail_in;
		out -= s->z.avail_out;
		s->inoff += in;
		s->cin += in;
		n += out;
		if (rc == Z_STREAM_END) {
			s->members++;
			s->zstate = ZS_BETWEEN;
		} else if (rc != Z_OK)
			return ERR_COMP(&s->err, "gzip member %" PRIu64 ": %s",
			    s->members + 1, s->z.msg != NULL ? s->z.msg :
			    "inflate failed");
	}
	*np = n;
	return 0;
}

static la_ssize_t
zstd_client_read(struct archive *a, void *arg, const void **bufp)
{
	struct src *s = arg;
	ssize_t n;

	do
		n = read(s->fd, s->in, SRC_INBUF);
	while (n == -1 && errno == EINTR);
	if (n == -1) {
		ERR_IO(&s->err, "reading the layer");
		s->failed = 1;
		archive_set_error(a, EIO, "read error");
		return -1;
	}
	s->rawin += (uint64_t)n;
	if (src_limit_in(s) == -1) {
		s->failed = 1;
		archive_set_error(a, EFBIG, "limit");
		return -1;
	}
	*bufp = s->in;
	return n;
}

static int
zstd_open(struct src *s)
{
	struct archive_entry *ae;

	if ((s->zar = archive_read_new()) == NULL)
		return ERR_INTERNAL(&s->err, "archive_read_new failed");
	/* Only the native zstd filter: never an external program. */
	if (archive_read_support_filter_zstd(s->zar) != ARCHIVE_OK ||
	    archive_read_support_format_raw(s->zar) != ARCHIVE_OK)
		return ERR_INTERNAL(&s->err, "libarchive lacks native zstd");
	if (archive_read_open(s->zar, s, NULL, zstd_client_read, NULL) !=
	    ARCHIVE_OK || archive_read_next_header(s->zar, &ae) != ARCHIVE_OK) {
		if (s->failed)
			return -1;
		if (s->rawin == 0)
			return ERR_COMP(&s->err, "empty layer blob");
		return ERR_COMP(&s->err, "zstd: %s",
		    archive_error_string(s->zar) != NULL ?
		    archive_error_string(s->zar) : "cannot open stream");
	}
	if (archive_filter_count(s->zar) != 2 ||
	    archive_filter_code(s->zar, 0) != ARCHIVE_FILTER_ZSTD) {
		if (s->rawin == 0)
			return ERR_COMP(&s->err, "empty layer blob");
		return ERR_COMP(&s->err, "layer is not zstd-compressed (%s)",
		    sniff(s->in, s->rawin < SRC_INBUF ? (size_t)s->rawin :
		    SRC_INBUF));
	}
	return 0;
}

static int
zstd_produce(struct src *s, unsigned char *buf, size_t cap, size_t *np)
{
	la_ssize_t r;
	size_t n = 0;

	if (s->zar == NULL && zstd_open(s) == -1)
		return -1;
	while (n < cap) {
		r = archive_read_data(s->zar, buf + n, cap - n);
		if (r < 0) {
			if (s->failed)
				return -1;
			return ERR_COMP(&s->err, "zstd: %s",
			    archive_error_string(s->zar) != NULL ?
			    archive_error_string(s->zar) : "decompression failed");
		}
		if (r == 0) {
			s->done = 1;
			break;
		}
		n += (size_t)r;
	}
	s->cin = s->rawin;
	*np = n;
	return 0;
}

static int
plain_produce(struct src *s, unsigned char *buf, size_t cap, size_t *np)
{
	ssize_t r;
	size_t n = 0;

	while (n < cap) {
		do
			r = read(s->fd, buf + n, cap - n);
		while (r == -1 && errno == EINTR);
		if (r == -1)
			return ERR_IO(&s->err, "reading the layer");
		if (r == 0) {
			s->done = 1;
			break;
		}
		n += (size_t)r;
		s->rawin += (uint64_t)r;
		if (src_limit_in(s) == -1)
			return -1;
	}
	s->cin = s->rawin;
	*np = n;
	return 0;
}

static int
src_produce(struct src *s, unsigned char *buf, size_t cap, size_t *np)
{
	uint32_t ratio = s->lim->max_ratio;
	size_t n = 0;
	int r;

	*np = 0;
	if (s->failed)
		return -1;
	if (s->done)
		return 0;
	switch (s->comp) {
	case UNTAR_GZIP:
		r = gz_produce(s, buf, cap, &n);
		break;
	case UNTAR_ZSTD:
		r = zstd_produce(s, buf, cap, &n);
		break;
	default:
		r = plain_produce(s, buf, cap, &n);
		break;
	}
	if (r == -1)
		goto fail;
	if (n > 0 && EVP_DigestUpdate(s->md, buf, n) != 1) {
		ERR_INTERNAL(&s->err, "EVP_DigestUpdate failed");
		goto fail;
	}
	s->out += n;
	if (s->out > s->lim->max_bytes) {
		ERR_LIMIT(&s->err, "uncompressed layer exceeds limits.max-layer-bytes (%"
		    PRIu64 " bytes)", s->lim->max_bytes);
		goto fail;
	}
	if (ratio != 0 && s->comp != UNTAR_NONE && s->out > SRC_RATIO_FLOOR &&
	    s->out / ratio > s->cin) {
		ERR_LIMIT(&s->err, "compression ratio exceeds limits.max-ratio (%" PRIu32
		    "): %" PRIu64 " bytes from %" PRIu64 " compressed bytes",
		    ratio, s->out, s->cin);
		goto fail;
	}
	*np = n;
	return 0;
fail:
	s->failed = 1;
	return -1;
}

la_ssize_t
src_archive_read(struct archive *a, void *arg, const void **bufp)
{
	struct src *s = arg;
	uint64_t start = s->out;
	unsigned char *p;
	size_t n;

	/*
	 * libarchive reads GNU sparse maps (and old GNU sparse extension
	 * blocks) while parsing a header and allocates per chunk; bound the
	 * bytes one entry's headers may span.
	 */
	if (s->inhdr && start > s->hdrlimit) {
		ERR_LIMIT(&s->err, "headers of the entry at offset %" PRIu64
		    " span more than %" PRIu64 " bytes", s->hdrstart,
		    s->hdrlimit - s->hdrstart);
		s->failed = 1;
		archive_set_error(a, EFBIG, "layer stream: %s", s->err.msg);
		return -1;
	}
	s->cur = (s->cur + 1) % SRC_NSLOT;
	s->slot_len[s->cur] = 0;
	p = s->ring + (size_t)s->cur * SRC_SLOT;
	if (src_produce(s, p, SRC_SLOT, &n) == -1) {
		archive_set_error(a, EIO, "layer stream: %s", s->err.msg);
		return -1;
	}
	s->slot_off[s->cur] = start;
	s->slot_len[s->cur] = n;
	*bufp = p;
	return (la_ssize_t)n;
}

/* Read the rest of the stream (after the tar end marker) to its end. */
int
src_drain(struct src *s)
{
	unsigned char *p;
	size_t n;

	while (!s->done) {
		s->cur = (s->cur + 1) % SRC_NSLOT;
		s->slot_len[s->cur] = 0;
		p = s->ring + (size_t)s->cur * SRC_SLOT;
		if (src_produce(s, p, SRC_SLOT, &n) == -1)
			return -1;
	}
	return s->failed ? -1 : 0;
}

/* Copy stream bytes [off, off + len) from the ring; -1 if not retained. */
int
src_copy(const struct src *s, uint64_t off, void *dst, size_t len)
{
	unsigned char *d = dst;
	size_t k, m;
	int i;

	while (len > 0) {
		for (i = 0; i < SRC_NSLOT; i++)
			if (s->slot_len[i] > 0 && off >= s->slot_off[i] &&
			    off - s->slot_off[i] < s->slot_len[i])
				break;
		if (i == SRC_NSLOT)
			return -1;
		k = (size_t)(off - s->slot_off[i]);
		m = s->slot_len[i] - k;
		if (m > len)
			m = len;
		memcpy(d, s->ring + (size_t)i * SRC_SLOT + k, m);
		d += m;
		off += m;
		len -= m;
	}
	return 0;
}

int
src_digest(struct src *s, char *out, size_t outlen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen, i;
	size_t n;

	if (EVP_DigestFinal_ex(s->md, md, &mdlen) != 1 || mdlen != 32 ||
	    outlen < 7 + 2 * 32 + 1)
		return -1;
	n = (size_t)snprintf(out, outlen, "sha256:");
	for (i = 0; i < mdlen; i++)
		n += (size_t)snprintf(out + n, outlen - n, "%02x", md[i]);
	return 0;
}

int
src_init(struct src *s, int fd, enum untar_compression comp,
    const struct untar_limits *lim, const EVP_MD *md, struct pd_err *e)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->comp = comp;
	s->lim = lim;
	s->zstate = ZS_BETWEEN;
	s->cur = SRC_NSLOT - 1;
	if ((s->in = malloc(SRC_INBUF)) == NULL ||
	    (s->ring = malloc((size_t)SRC_NSLOT * SRC_SLOT)) == NULL)
		return ERR_IO(e, "allocating stream buffers");
	if ((s->md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(s->md, md, NULL) != 1)
		return ERR_INTERNAL(e, "cannot initialise sha256");
	return 0;
}

void
src_free(struct src *s)
{
	if (s->zinit)
		inflateEnd(&s->z);
	if (s->zar != NULL)
		archive_read_free(s->zar);
	EVP_MD_CTX_free(s->md);
	free(s->in);
	free(s->ring);
	memset(s, 0, sizeof(*s));
}

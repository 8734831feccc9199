/*
 * A second look at the raw header blocks of each entry.  libarchive parses
 * the entry; afterwards the blocks it consumed for the headers ([start,
 * end) of the uncompressed stream, still in the ring) are walked here to
 * learn what libarchive does not report: the raw type flag (libarchive
 * turns unknown ones into regular files), NUL bytes in pax/GNU names
 * (libarchive truncates), pax and xattr sizes.  On a libarchive failure
 * the same walk names the cause.  Nothing here decides a path; it can
 * only reject.
 */
#include <sys/types.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "untar_hdr.h"

#define HDR_MAX_EXT	32	/* libarchive's nesting limit */

/* A numeric header field: octal or GNU base-256.  -1 if invalid. */
static int
tar_num(const unsigned char *p, size_t n, int64_t *v)
{
	uint64_t x = 0;
	size_t i = 0;

	if (p[0] & 0x80) {
		if (p[0] != 0x80)
			return -1;
		for (i = 1; i < n; i++) {
			if (x > (UINT64_MAX >> 8))
				return -1;
			x = (x << 8) | p[i];
		}
		if (x > INT64_MAX)
			return -1;
		*v = (int64_t)x;
		return 0;
	}
	while (i < n && p[i] == ' ')
		i++;
	for (; i < n && p[i] >= '0' && p[i] <= '7'; i++) {
		if (x > (UINT64_MAX >> 3))
			return -1;
		x = (x << 3) | (uint64_t)(p[i] - '0');
	}
	for (; i < n; i++)
		if (p[i] != ' ' && p[i] != '\0')
			return -1;
	if (x > INT64_MAX)
		return -1;
	*v = (int64_t)x;
	return 0;
}

static int
checksum_ok(const unsigned char *h)
{
	int64_t want;
	long us = 0, ss = 0;
	size_t i;

	if (tar_num(h + 148, 8, &want) == -1)
		return 0;
	for (i = 0; i < TAR_BLOCK; i++) {
		if (i >= 148 && i < 156) {
			us += ' ';
			ss += ' ';
		} else {
			us += h[i];
			ss += (signed char)h[i];
		}
	}
	return want == us || want == ss;
}

static int
is_zero(const unsigned char *h)
{
	size_t i;

	for (i = 0; i < TAR_BLOCK; i++)
		if (h[i] != 0)
			return 0;
	return 1;
}

static int
is_name_key(const char *k, size_t n)
{
	static const char *keys[] = {
		"path", "linkpath", "GNU.sparse.name", "GNU.sparse.path"
	};
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strlen(keys[i]) == n && memcmp(k, keys[i], n) == 0)
			return 1;
	return 0;
}

static int
has_prefix(const char *k, size_t n, const char *pfx)
{
	size_t m = strlen(pfx);

	return n >= m && memcmp(k, pfx, m) == 0;
}

static int
check_pax(struct untar *u, const unsigned char *b, size_t size, int local,
    uint64_t off)
{
	const char *rec, *key, *val, *eq;
	size_t len, i, klen, vlen, left = size;
	char eb[ESCBUF];

	rec = (const char *)b;
	while (left > 0) {
		len = 0;
		for (i = 0; i < left && rec[i] >= '0' && rec[i] <= '9'; i++) {
			if (len > size)
				break;
			len = len * 10 + (size_t)(rec[i] - '0');
		}
		if (i == 0 || i >= left || rec[i] != ' ' || len <= i + 1 ||
		    len > left || rec[len - 1] != '\n')
			return ERR_MALFORMED(u->e, "malformed pax record in the "
			    "header at offset %" PRIu64, off);
		key = rec + i + 1;
		eq = memchr(key, '=', len - i - 2);
		if (eq == NULL || eq == key)
			return ERR_MALFORMED(u->e, "malformed pax record in the "
			    "header at offset %" PRIu64, off);
		klen = (size_t)(eq - key);
		val = eq + 1;
		vlen = (size_t)(rec + len - 1 - val);
		if (local && is_name_key(key, klen) && memchr(val, '\0', vlen))
			return ERR_NAME(u->e, "pax %.*s %s contains a NUL byte",
			    (int)klen, key, esc(val, vlen, eb, sizeof(eb)));
		/* LIBARCHIVE.xattr values are base64. */
		if (local && has_prefix(key, klen, "LIBARCHIVE.xattr."))
			vlen = vlen / 4 * 3;
		if (local && (has_prefix(key, klen, "SCHILY.xattr.") ||
		    has_prefix(key, klen, "LIBARCHIVE.xattr.") ||
		    has_prefix(key, klen, "RHT.security.")) &&
		    vlen > u->lim->max_xattr)
			return ERR_LIMIT(u->e, "xattr %s value of %zu bytes exceeds "
			    "limits.max-xattr (%" PRIu64 " bytes)", esc(key, klen, eb,
			    sizeof(eb)), vlen, u->lim->max_xattr);
		rec += len;
		left -= len;
	}
	return 0;
}

static int
check_longname(struct untar *u, const unsigned char *b, size_t size, int kind)
{
	const unsigned char *nul;
	char eb[ESCBUF];
	size_t i;

	if ((nul = memchr(b, '\0', size)) == NULL)
		return 0;
	for (i = (size_t)(nul - b); i < size; i++)
		if (b[i] != '\0')
			return ERR_NAME(u->e, "GNU long %s %s contains a NUL byte",
			    kind == 'L' ? "name" : "link name",
			    esc((const char *)b, size, eb, sizeof(eb)));
	return 0;
}

static int
scratch(struct untar *u, size_t n)
{
	unsigned char *p;

	if (n <= u->scratchcap)
		return 0;
	if ((p = realloc(u->scratch, n)) == NULL)
		return ERR_IO(u->e, "allocating a header buffer");
	u->scratch = p;
	u->scratchcap = n;
	return 0;
}

/*
 * Walk the headers in [start, end).  With failing set, libarchive already
 * rejected the entry: report a more precise cause if one is found,
 * otherwise return 0 and let the caller use libarchive's message.
 */
int
hdr_walk(struct untar *u, uint64_t start, uint64_t end, int failing,
    struct hdrinfo *hi)
{
	unsigned char h[TAR_BLOCK];
	uint64_t off = start, body;
	int64_t size;
	int tf;

	memset(hi, 0, sizeof(*hi));
	for (;;) {
		if (off + TAR_BLOCK > end || src_copy(&u->src, off, h,
		    TAR_BLOCK) == -1) {
			if (failing)
				return 0;
			if (off + TAR_BLOCK > end)
				return ERR_MALFORMED(u->e, "headers at offset %"
				    PRIu64 " do not end in an entry header", start);
			return ERR_LIMIT(u->e, "extension headers of the entry at "
			    "offset %" PRIu64 " are too large", start);
		}
		if (is_zero(h)) {
			if (failing)
				return 0;
			return ERR_MALFORMED(u->e, "unexpected zero block at offset %"
			    PRIu64, off);
		}
		if (!checksum_ok(h))
			return ERR_MALFORMED(u->e, "bad header checksum at offset %"
			    PRIu64, off);
		tf = h[156];
		if (tf == 'A')
			return ERR_TYPE(u->e, "Solaris ACL header at offset %" PRIu64,
			    off);
		if (tf == 'V')
			return ERR_TYPE(u->e, "GNU volume header at offset %" PRIu64,
			    off);
		if (tar_num(h + 124, 12, &size) == -1)
			return ERR_MALFORMED(u->e, "invalid size field in the header "
			    "at offset %" PRIu64, off);
		if (tf != 'x' && tf != 'X' && tf != 'g' && tf != 'L' && tf != 'K')
			break;
		if ((uint64_t)size > u->lim->max_pax)
			return ERR_LIMIT(u->e, "%s header of %" PRId64 " bytes at "
			    "offset %" PRIu64 " exceeds max_pax (%" PRIu64 " bytes)",
			    tf == 'L' || tf == 'K' ? "GNU long-name" : "pax", size,
			    off, u->lim->max_pax);
		if (++hi->nhdr > HDR_MAX_EXT)
			return ERR_MALFORMED(u->e, "more than %d extension headers "
			    "at offset %" PRIu64, HDR_MAX_EXT, start);
		body = off + TAR_BLOCK;
		if (body + (uint64_t)size > end || scratch(u, (size_t)size + 1) ==
		    -1 || src_copy(&u->src, body, u->scratch, (size_t)size) == -1) {
			if (failing)
				return 0;
			if (body + (uint64_t)size > end)
				return ERR_MALFORMED(u->e, "header at offset %" PRIu64
				    " runs past its entry", off);
			return ERR_LIMIT(u->e, "extension headers of the entry at "
			    "offset %" PRIu64 " are too large", start);
		}
		if (tf == 'L' || tf == 'K') {
			if (check_longname(u, u->scratch, (size_t)size, tf) == -1)
				return -1;
		} else if (check_pax(u, u->scratch, (size_t)size, tf != 'g',
		    off) == -1)
			return -1;
		off = body + (((uint64_t)size + TAR_BLOCK - 1) &
		    ~(uint64_t)(TAR_BLOCK - 1));
	}
	hi->typeflag = tf;
	hi->mainoff = off;
	return 0;
}

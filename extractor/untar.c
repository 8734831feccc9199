/*
 * Layer untar engine: libarchive's tar reader (and nothing else) parses the
 * stream, every entry is checked against the extraction policy of a
 * hostile-layer corpus (tests/extractor/test_corpus.sh), and the
 * files are created here, fd-relative below rootfd.
 */
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <langinfo.h>
#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <linux/capability.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "untar_fs.h"
#include "untar_hdr.h"

enum etype {
	T_REG,
	T_DIR,
	T_SYMLINK,
	T_HARDLINK
};

static EVP_MD	*untar_md;
static locale_t	 untar_locale;

static const struct {
	const char		*mt;
	enum untar_compression	 comp;
} media_types[] = {
	{ "application/vnd.oci.image.layer.v1.tar", UNTAR_NONE },
	{ "application/vnd.oci.image.layer.v1.tar+gzip", UNTAR_GZIP },
	{ "application/vnd.oci.image.layer.v1.tar+zstd", UNTAR_ZSTD },
	{ "application/vnd.oci.image.layer.nondistributable.v1.tar",
	    UNTAR_NONE },
	{ "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
	    UNTAR_GZIP },
	{ "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
	    UNTAR_ZSTD },
	{ "application/vnd.docker.image.rootfs.diff.tar", UNTAR_NONE },
	{ "application/vnd.docker.image.rootfs.diff.tar.gzip", UNTAR_GZIP },
	{ "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
	    UNTAR_GZIP },
};

int
untar_init(struct pd_err *e)
{
	if (untar_md != NULL)
		return 0;
	/* Before chroot: never read openssl.cnf (it can load modules). */
	if (OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL) != 1)
		return ERR_INTERNAL(e, "cannot initialise OpenSSL");
	if ((untar_md = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
		return ERR_INTERNAL(e, "no sha256 in OpenSSL");
	untar_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	if (untar_locale == (locale_t)0 &&
	    strcmp(nl_langinfo(CODESET), "UTF-8") != 0)
		return ERR_INTERNAL(e, "the C.UTF-8 locale is not available");
	return 0;
}

void
untar_default_limits(struct untar_limits *l)
{
	memset(l, 0, sizeof(*l));
	l->max_bytes = 512ULL << 20;
	l->max_entries = 100000;
	l->max_path = 4096;
	l->max_depth = 128;
	l->max_name = 255;
	l->max_xattr = 64 << 10;
	l->max_pax = 1 << 20;
	l->max_ratio = 100;
	l->max_compressed = 64ULL << 20;
	l->max_file = 256ULL << 20;
	l->max_links = 1000;
}

int
untar_compression_from_media_type(const char *mt,
    enum untar_compression *out, struct pd_err *e)
{
	char eb[ESCBUF];
	size_t i;

	for (i = 0; mt != NULL && i < sizeof(media_types) /
	    sizeof(media_types[0]); i++) {
		if (strcmp(mt, media_types[i].mt) == 0) {
			*out = media_types[i].comp;
			return 0;
		}
	}
	return ERR_COMP(e, "unsupported layer media type %s", mt == NULL ?
	    "(none)" : esc(mt, strlen(mt), eb, sizeof(eb)));
}

static int
src_error(struct untar *u)
{
	if (u->e != NULL)
		*u->e = u->src.err;
	return -1;
}

/* Classify a libarchive failure by its message. */
static int
archive_failed(struct untar *u, const char *what)
{
	const char *m = archive_error_string(u->a);

	if (u->src.failed)
		return src_error(u);
	if (m == NULL)
		m = "unknown libarchive error";
	if (strstr(m, "too large") != NULL || strstr(m, "> 1MB") != NULL)
		return ERR_LIMIT(u->e, "%s: extension header too large (%s)",
		    what, m);
	if (strstr(m, "can't be converted") != NULL)
		return ERR_NAME(u->e, "%s: %s", what, m);
	return ERR_MALFORMED(u->e, "%s: %s", what, m);
}

static int
header_failed(struct untar *u, uint64_t pos)
{
	struct hdrinfo hi;
	char what[64];

	if (u->src.failed)
		return src_error(u);
	if (hdr_walk(u, pos, u->src.out, 1, &hi) == -1)
		return -1;
	snprintf(what, sizeof(what), "entry at offset %" PRIu64, pos);
	return archive_failed(u, what);
}

/*
 * Normalize a tar path into np: components joined by '/', with "." and
 * empty components dropped.  ".." is never accepted.
 */
static int
norm(struct untar *u, struct npath *np, const char *raw, int link)
{
	const struct untar_limits *l = u->lim;
	const char *what = link ? "hardlink target" : "entry";
	size_t len = strlen(raw), i, j, clen;
	char eb[ESCBUF];

	np->n = np->len = 0;
	np->buf[0] = '\0';
	if (len == 0)
		return ERR_NAME(u->e, "%s with an empty name", what);
	if (len > l->max_path)
		return ERR_LIMIT(u->e, "%s %s is %zu bytes long, more than "
		    "limits.max-path (%" PRIu32 ")", what, esc(raw, len, eb, sizeof(eb)),
		    len, l->max_path);
	for (i = 0; i < len; i++)
		if ((unsigned char)raw[i] < 0x20 || raw[i] == 0x7f)
			return ERR_NAME(u->e, "%s %s contains control characters",
			    what, esc(raw, len, eb, sizeof(eb)));
	for (i = 0; i < len; i = j + 1) {
		for (j = i; j < len && raw[j] != '/'; j++)
			;
		clen = j - i;
		if (clen == 0 || (clen == 1 && raw[i] == '.'))
			continue;
		if (clen == 2 && raw[i] == '.' && raw[i + 1] == '.') {
			if (link)
				return ERR_LINK(u->e, "hardlink target %s leaves "
				    "the rootfs", esc(raw, len, eb, sizeof(eb)));
			return ERR_TRAV(u->e, "entry %s leaves the rootfs",
			    esc(raw, len, eb, sizeof(eb)));
		}
		if (clen > l->max_name)
			return ERR_LIMIT(u->e, "%s %s has a component of %zu "
			    "bytes, more than max_name (%" PRIu32 ")", what,
			    esc(raw, len, eb, sizeof(eb)), clen, l->max_name);
		if (np->n >= l->max_depth)
			return ERR_LIMIT(u->e, "%s %s is deeper than limits.max-depth (%"
			    PRIu32 " components)", what, esc(raw, len, eb,
			    sizeof(eb)), l->max_depth);
		if (np->n > 0)
			np->buf[np->len++] = '/';
		np->off[np->n++] = np->len;
		memcpy(np->buf + np->len, raw + i, clen);
		np->len += (uint32_t)clen;
	}
	np->buf[np->len] = '\0';
	if (np->len >= PATH_MAX)
		return ERR_LIMIT(u->e, "%s %s is too long", what,
		    esc(raw, len, eb, sizeof(eb)));
	return 0;
}

static const char *
lastname(const struct npath *np)
{
	return np->buf + np->off[np->n - 1];
}

static int
apply_owner(struct untar *u, int fd, const char *name, const struct meta *m)
{
	char eb[ESCBUF];

	if (!u->owner)
		return 0;
	/* Numeric ids only (checked < 2^31), on the fd we created. */
	if (fchown(fd, m->uid, m->gid) == -1)
		return ERR_IO(u->e, "chown %s", esc(name, strlen(name), eb,
		    sizeof(eb)));
	return 0;
}

static int
write_data(struct untar *u, int fd, int64_t size, int sparse)
{
	char eb[ESCBUF];
	const void *buf;
	const char *p;
	size_t len;
	int64_t off, end = 0;
	ssize_t w;
	int r;

	for (;;) {
		r = archive_read_data_block(u->a, &buf, &len, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK)
			return archive_failed(u, "entry data");
		if (off < 0 || off > size || (uint64_t)len > (uint64_t)(size -
		    off))
			return ERR_MALFORMED(u->e, "data of %s lies outside its "
			    "declared size", esc(u->p.buf, u->p.len, eb,
			    sizeof(eb)));
		for (p = buf; len > 0; p += w, len -= (size_t)w, off += w) {
			w = pwrite(fd, p, len, off);
			if (w == -1 && errno == EINTR) {
				w = 0;
				continue;
			}
			if (w <= 0)
				return ERR_IO(u->e, "writing %s", esc(u->p.buf,
				    u->p.len, eb, sizeof(eb)));
		}
		if (off > end)
			end = off;
	}
	/* Only a sparse file may end in a hole; its size was checked. */
	if (sparse && end < size && ftruncate(fd, size) == -1)
		return ERR_IO(u->e, "extending sparse file %s", esc(u->p.buf,
		    u->p.len, eb, sizeof(eb)));
	return 0;
}

static int
do_file(struct untar *u, struct archive_entry *ae, const struct meta *m)
{
	const char *name = lastname(&u->p);
	int64_t size = archive_entry_size(ae);
	int sparse = archive_entry_sparse_count(ae) > 0;
	char eb[ESCBUF];
	struct stat st;
	int pfd, fd;

	if (!archive_entry_size_is_set(ae) || size < 0)
		return ERR_MALFORMED(u->e, "file %s has no valid size",
		    esc(u->p.buf, u->p.len, eb, sizeof(eb)));
	if ((uint64_t)size > u->lim->max_file)
		return ERR_LIMIT(u->e, "file %s declares %" PRId64 " bytes, more "
		    "than limits.max-file (%" PRIu64 ")", esc(u->p.buf, u->p.len, eb,
		    sizeof(eb)), size, u->lim->max_file);
	if (fs_open_parent(u, &u->p, 1, &pfd) == -1)
		return -1;
	/*
	 * O_CREAT|O_EXCL in a parent resolved in-root: never follows a
	 * symlink nor writes into an existing inode (a planted hardlink);
	 * whatever holds the name is removed first.
	 */
	fd = openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd == -1 && errno == EEXIST) {
		if (fs_make_room(u, pfd, name, 0) == -1)
			goto fail;
		fd = openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
	}
	if (fd == -1) {
		ERR_IO(u->e, "creating %s", esc(u->p.buf, u->p.len, eb,
		    sizeof(eb)));
		goto fail;
	}
	if (fs_count_object(u) == -1 || write_data(u, fd, size, sparse) == -1 ||
	    apply_owner(u, fd, u->p.buf, m) == -1)
		goto failfd;
	if (fchmod(fd, m->mode) == -1 || futimens(fd, m->ts) == -1 ||
	    fstat(fd, &st) == -1) {
		ERR_IO(u->e, "setting metadata of %s", esc(u->p.buf, u->p.len,
		    eb, sizeof(eb)));
		goto failfd;
	}
	if (fs_note_inode(u, st.st_ino) == -1)
		goto failfd;
	close(fd);
	fs_close_parent(u, pfd);
	return 0;
failfd:
	close(fd);
fail:
	fs_close_parent(u, pfd);
	return -1;
}

static int
do_dir(struct untar *u, const struct meta *m)
{
	const char *name = lastname(&u->p);
	char eb[ESCBUF];
	struct stat st;
	int pfd, r;

	if (fs_open_parent(u, &u->p, 1, &pfd) == -1)
		return -1;
	r = mkdirat(pfd, name, 0700);
	if (r == -1 && errno == EEXIST) {
		if ((r = fs_make_room(u, pfd, name, 1)) == -1)
			goto fail;
		if (r == 0)
			r = mkdirat(pfd, name, 0700);
		else
			r = 1;
	}
	if (r == -1) {
		ERR_IO(u->e, "creating directory %s", esc(u->p.buf, u->p.len,
		    eb, sizeof(eb)));
		goto fail;
	}
	if (r == 0 && fs_count_object(u) == -1)
		goto fail;
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    !S_ISDIR(st.st_mode)) {
		ERR_IO(u->e, "stat directory %s", esc(u->p.buf, u->p.len, eb,
		    sizeof(eb)));
		goto fail;
	}
	if (fs_note_inode(u, st.st_ino) == -1 ||
	    fs_defer_dir(u, st.st_ino, m) == -1)
		goto fail;
	fs_close_parent(u, pfd);
	return 0;
fail:
	fs_close_parent(u, pfd);
	return -1;
}

static int
do_symlink(struct untar *u, const char *target, const struct meta *m)
{
	const char *name = lastname(&u->p);
	size_t i, tlen = strlen(target);
	char eb[ESCBUF];
	struct stat st;
	int pfd, r;

	if (tlen == 0)
		return ERR_NAME(u->e, "symlink %s has an empty target",
		    esc(u->p.buf, u->p.len, eb, sizeof(eb)));
	if (tlen > u->lim->max_path || tlen >= PATH_MAX)
		return ERR_LIMIT(u->e, "symlink %s has a target of %zu bytes, "
		    "more than limits.max-path", esc(u->p.buf, u->p.len, eb,
		    sizeof(eb)), tlen);
	for (i = 0; i < tlen; i++)
		if ((unsigned char)target[i] < 0x20 || target[i] == 0x7f)
			return ERR_NAME(u->e, "symlink target %s contains control "
			    "characters", esc(target, tlen, eb, sizeof(eb)));
	if (fs_open_parent(u, &u->p, 1, &pfd) == -1)
		return -1;
	/* The target is stored verbatim; it is only ever resolved in-root. */
	r = symlinkat(target, pfd, name);
	if (r == -1 && errno == EEXIST) {
		if (fs_make_room(u, pfd, name, 0) == -1)
			goto fail;
		r = symlinkat(target, pfd, name);
	}
	if (r == -1) {
		ERR_IO(u->e, "creating symlink %s", esc(u->p.buf, u->p.len, eb,
		    sizeof(eb)));
		goto fail;
	}
	if (fs_count_object(u) == -1)
		goto fail;
	/* AT_SYMLINK_NOFOLLOW: the link itself, never its target. */
	if ((u->owner && fchownat(pfd, name, m->uid, m->gid,
	    AT_SYMLINK_NOFOLLOW) == -1) ||
	    utimensat(pfd, name, m->ts, AT_SYMLINK_NOFOLLOW) == -1 ||
	    fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		ERR_IO(u->e, "setting metadata of symlink %s", esc(u->p.buf,
		    u->p.len, eb, sizeof(eb)));
		goto fail;
	}
	if (fs_note_inode(u, st.st_ino) == -1)
		goto fail;
	fs_close_parent(u, pfd);
	return 0;
fail:
	fs_close_parent(u, pfd);
	return -1;
}

static int
do_hardlink(struct untar *u, const char *target, int64_t size)
{
	const char *name = lastname(&u->p), *tname;
	char eb[ESCBUF], tb[ESCBUF];
	struct stat st, tst;
	int pfd = -1, tfd = -1, r;

	if (norm(u, &u->lp, target, 1) == -1)
		return -1;
	esc(target, strlen(target), tb, sizeof(tb));
	esc(u->p.buf, u->p.len, eb, sizeof(eb));
	if (u->lp.n == 0)
		return ERR_LINK(u->e, "hardlink %s points at the root directory",
		    eb);
	if ((r = fs_open_parent(u, &u->lp, 0, &tfd)) == -1)
		return -1;
	tname = lastname(&u->lp);
	if (r == 1 || fstatat(tfd, tname, &tst, AT_SYMLINK_NOFOLLOW) == -1) {
		if (r == 1 || errno == ENOENT || errno == ENOTDIR) {
			ERR_LINK(u->e, "hardlink %s: target %s does not exist "
			    "inside the rootfs", eb, tb);
			goto fail;
		}
		ERR_IO(u->e, "stat hardlink target %s", tb);
		goto fail;
	}
	if (!S_ISREG(tst.st_mode)) {
		ERR_LINK(u->e, "hardlink %s: target %s is not a regular file",
		    eb, tb);
		goto fail;
	}
	if (size > 0) {
		ERR_LINK(u->e, "hardlink %s carries %" PRId64 " bytes of data",
		    eb, size);
		goto fail;
	}
	if (tst.st_nlink >= u->lim->max_links) {
		ERR_LIMIT(u->e, "hardlink %s: target %s already has %ju links "
		    "(limits.max-links %" PRIu32 ")", eb, tb, (uintmax_t)tst.st_nlink,
		    u->lim->max_links);
		goto fail;
	}
	if (fs_open_parent(u, &u->p, 1, &pfd) == -1)
		goto fail;
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    st.st_dev == tst.st_dev && st.st_ino == tst.st_ino)
		goto done;
	if (fs_make_room(u, pfd, name, 0) == -1)
		goto fail;
	/*
	 * flags 0: linkat() does not follow tname, which was just checked
	 * to be a regular file inside a directory resolved in-root; the new
	 * name is created in pfd, also resolved in-root.
	 */
	if (linkat(tfd, tname, pfd, name, 0) == -1) {
		if (errno == EMLINK)
			ERR_LIMIT(u->e, "hardlink %s: too many links to %s", eb,
			    tb);
		else
			ERR_IO(u->e, "creating hardlink %s", eb);
		goto fail;
	}
	if (fs_count_object(u) == -1 || fs_note_inode(u, tst.st_ino) == -1)
		goto fail;
done:
	fs_close_parent(u, tfd);
	fs_close_parent(u, pfd);
	return 0;
fail:
	fs_close_parent(u, tfd);
	fs_close_parent(u, pfd);
	return -1;
}

/* ".wh.NAME": remove NAME left by earlier layers. */
static int
do_whiteout(struct untar *u, const char *target)
{
	struct stat st;
	int pfd, r;

	if ((r = fs_open_parent(u, &u->p, 0, &pfd)) != 0)
		return r == 1 ? 0 : -1;
	r = 0;
	if (fstatat(pfd, target, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    !u64map_get(&u->layer, st.st_ino, NULL))
		r = fs_remove_tree(u, pfd, target, 0);
	fs_close_parent(u, pfd);
	return r;
}

/* ".wh..wh..opq": empty the directory of what earlier layers put there. */
static int
do_opaque(struct untar *u)
{
	int pfd, dfd, r;

	if ((r = fs_open_parent(u, &u->p, 0, &pfd)) != 0)
		return r == 1 ? 0 : -1;
	dfd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fs_close_parent(u, pfd);
	if (dfd == -1)
		return ERR_IO(u->e, "opening opaque directory");
	r = fs_clear_opaque(u, dfd, 0);
	close(dfd);
	return r;
}

static int
entry_type(struct untar *u, struct archive_entry *ae, int tf,
    enum etype *t)
{
	mode_t ft = archive_entry_filetype(ae);
	char eb[ESCBUF];

	esc(u->p.buf, u->p.len, eb, sizeof(eb));
	switch (tf) {
	case '0':
	case '\0':
	case '7':
		if (archive_entry_hardlink(ae) != NULL ||
		    archive_entry_symlink(ae) != NULL)
			return ERR_MALFORMED(u->e, "regular entry %s carries a "
			    "link name", eb);
		if (ft == AE_IFDIR)
			*t = T_DIR;
		else if (ft == AE_IFREG)
			*t = T_REG;
		else
			break;
		return 0;
	case '1':
		if (archive_entry_hardlink(ae) == NULL)
			break;
		*t = T_HARDLINK;
		return 0;
	case '2':
		if (ft != AE_IFLNK || archive_entry_symlink(ae) == NULL)
			break;
		*t = T_SYMLINK;
		return 0;
	case '5':
		if (ft != AE_IFDIR)
			break;
		*t = T_DIR;
		return 0;
	case '3':
		return ERR_TYPE(u->e, "entry %s is a character device", eb);
	case '4':
		return ERR_TYPE(u->e, "entry %s is a block device", eb);
	case '6':
		return ERR_TYPE(u->e, "entry %s is a FIFO", eb);
	default:
		if (tf > 0x20 && tf < 0x7f)
			return ERR_TYPE(u->e, "entry %s has unsupported type '%c'",
			    eb, tf);
		return ERR_TYPE(u->e, "entry %s has unsupported type 0x%02x",
		    eb, tf);
	}
	return ERR_MALFORMED(u->e, "entry %s: type flag '%c' and libarchive "
	    "disagree", eb, tf);
}

static int
entry_meta(struct untar *u, struct archive_entry *ae, struct meta *m)
{
	int64_t uid = archive_entry_uid(ae), gid = archive_entry_gid(ae);
	char eb[ESCBUF];

	if (uid < 0 || uid > INT32_MAX || gid < 0 || gid > INT32_MAX)
		return ERR_MALFORMED(u->e, "entry %s has uid/gid %" PRId64 "/%"
		    PRId64 " outside 0..2^31-1", esc(u->p.buf, u->p.len, eb,
		    sizeof(eb)), uid, gid);
	m->uid = (uint32_t)uid;
	m->gid = (uint32_t)gid;
	/* allow_setid=false: setuid/setgid bits are dropped, sticky kept. */
	m->mode = archive_entry_perm(ae) & 07777 & ~(S_ISUID | S_ISGID);
	m->ts[1].tv_sec = archive_entry_mtime(ae);
	m->ts[1].tv_nsec = archive_entry_mtime_nsec(ae);
	if (m->ts[1].tv_nsec < 0 || m->ts[1].tv_nsec >= 1000000000L)
		m->ts[1].tv_nsec = 0;
	m->ts[0] = m->ts[1];
	if (archive_entry_atime_is_set(ae)) {
		m->ts[0].tv_sec = archive_entry_atime(ae);
		m->ts[0].tv_nsec = archive_entry_atime_nsec(ae);
		if (m->ts[0].tv_nsec < 0 || m->ts[0].tv_nsec >= 1000000000L)
			m->ts[0].tv_nsec = 0;
	}
	return 0;
}

static int
do_entry(struct untar *u, struct archive_entry *ae, uint64_t pos)
{
	const char *raw = archive_entry_pathname(ae), *c;
	uint64_t ds = (uint64_t)archive_filter_bytes(u->a, 0);
	struct hdrinfo hi;
	struct meta m;
	enum etype t = T_REG;
	char eb[ESCBUF];
	uint32_t i, clen;

	if (archive_read_header_position(u->a) != (la_int64_t)pos)
		return ERR_MALFORMED(u->e, "entry at offset %" PRIu64 ": header "
		    "position mismatch", pos);
	if (hdr_walk(u, pos, ds, 0, &hi) == -1)
		return -1;
	if (raw == NULL)
		return ERR_NAME(u->e, "entry at offset %" PRIu64 " has no usable "
		    "name", pos);
	if (norm(u, &u->p, raw, 0) == -1 || entry_type(u, ae, hi.typeflag,
	    &t) == -1 || entry_meta(u, ae, &m) == -1)
		return -1;
	esc(raw, strlen(raw), eb, sizeof(eb));
	if (u->p.n == 0) {
		if (t == T_DIR)
			return 0;
		return ERR_ROOT(u->e, "entry %s would replace the root "
		    "directory", eb);
	}
	if (raw[0] == '/')
		return ERR_ABS(u->e, "entry %s is an absolute path", eb);
	for (i = 0; i < u->p.n; i++) {
		c = u->p.buf + u->p.off[i];
		clen = (i + 1 < u->p.n ? u->p.off[i + 1] - 1 : u->p.len) -
		    u->p.off[i];
		if (clen < 4 || memcmp(c, ".wh.", 4) != 0)
			continue;
		if (clen >= 8 && memcmp(c, ".wh..wh.", 8) == 0) {
			if (i + 1 == u->p.n && strcmp(c, ".wh..wh..opq") == 0)
				break;
			/* AUFS metadata (.wh..wh.plnk, ...): never extracted. */
			return 0;
		}
		if (i + 1 < u->p.n)
			return ERR_WHITEOUT(u->e, "entry %s uses a whiteout name "
			    "as a directory", eb);
		break;
	}
	if (i < u->p.n) {
		c = lastname(&u->p);
		if (t != T_REG || archive_entry_size(ae) != 0)
			return ERR_WHITEOUT(u->e, "whiteout %s is not an empty "
			    "regular file", eb);
		if (strcmp(c, ".wh..wh..opq") == 0)
			return do_opaque(u);
		c += 4;
		if (*c == '\0' || strcmp(c, ".") == 0 || strcmp(c, "..") == 0)
			return ERR_WHITEOUT(u->e, "whiteout %s names no file", eb);
		return do_whiteout(u, c);
	}
	switch (t) {
	case T_REG:
		return do_file(u, ae, &m);
	case T_DIR:
		return do_dir(u, &m);
	case T_SYMLINK:
		return do_symlink(u, archive_entry_symlink(ae), &m);
	default:
		return do_hardlink(u, archive_entry_hardlink(ae),
		    archive_entry_size(ae));
	}
}

static int
npath_alloc(struct npath *np, const struct untar_limits *l)
{
	np->buf = malloc((size_t)l->max_path + 1);
	np->off = calloc((size_t)l->max_depth + 1, sizeof(*np->off));
	return np->buf == NULL || np->off == NULL ? -1 : 0;
}

/* Up to two extension headers and a sparse map of two slots. */
static void
hdr_phase(struct untar *u, uint64_t pos)
{
	u->src.inhdr = 1;
	u->src.hdrstart = pos;
	u->src.hdrlimit = pos + 2 * u->lim->max_pax + 2 * SRC_SLOT;
}

static int
run(struct untar *u, int infd, enum untar_compression comp)
{
	struct archive_entry *ae;
	uint64_t pos;
	int r;

	if (src_init(&u->src, infd, comp, u->lim, untar_md, u->e) == -1)
		return -1;
	if (npath_alloc(&u->p, u->lim) == -1 ||
	    npath_alloc(&u->lp, u->lim) == -1)
		return ERR_IO(u->e, "allocating path buffers");
	if ((u->a = archive_read_new()) == NULL ||
	    archive_read_support_format_tar(u->a) != ARCHIVE_OK)
		return ERR_INTERNAL(u->e, "cannot set up libarchive");
	hdr_phase(u, 0);
	if (archive_read_open(u->a, &u->src, NULL, src_archive_read, NULL) !=
	    ARCHIVE_OK) {
		if (u->src.failed)
			return src_error(u);
		if (u->src.out == 0)
			return ERR_MALFORMED(u->e, "the layer holds no tar data");
		return header_failed(u, 0);
	}
	u->src.inhdr = 0;
	if (archive_filter_count(u->a) != 1)
		return ERR_INTERNAL(u->e, "unexpected libarchive filter");
	for (;;) {
		pos = (uint64_t)archive_filter_bytes(u->a, 0);
		hdr_phase(u, pos);
		r = archive_read_next_header(u->a, &ae);
		u->src.inhdr = 0;
		if (u->src.failed)
			return src_error(u);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK)
			return header_failed(u, pos);
		if (++u->entries > u->lim->max_entries)
			return ERR_LIMIT(u->e, "entry count exceeds limits.max-entries (%"
			    PRIu64 ")", u->lim->max_entries);
		if (do_entry(u, ae, pos) == -1)
			return -1;
		if (archive_read_data_skip(u->a) != ARCHIVE_OK)
			return archive_failed(u, "skipping entry data");
	}
	if (src_drain(&u->src) == -1)
		return src_error(u);
	return fs_apply_dirs(u);
}

/* Whether CAP_CHOWN is in our effective set (uid 0 alone is not enough). */
static int
can_chown(void)
{
	struct __user_cap_header_struct h;
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	memset(&h, 0, sizeof(h));
	memset(d, 0, sizeof(d));
	h.version = _LINUX_CAPABILITY_VERSION_3;
	if (syscall(SYS_capget, &h, d) == -1)
		return geteuid() == 0;
	return (d[CAP_TO_INDEX(CAP_CHOWN)].effective &
	    CAP_TO_MASK(CAP_CHOWN)) != 0;
}

static int
check_limits(const struct untar_limits *l, struct pd_err *e)
{
	if (l->max_bytes == 0 || l->max_entries == 0 ||
	    l->max_entries > UINT32_MAX || l->max_path == 0 ||
	    l->max_path > 65536 || l->max_depth == 0 ||
	    l->max_depth > 65536 || l->max_name == 0 || l->max_name > NAME_MAX ||
	    l->max_pax == 0 || l->max_pax > (64U << 20) ||
	    l->max_file == 0 || l->max_links == 0 ||
	    (l->flags & ~(uint32_t)(UNTAR_F_OWNER | UNTAR_F_NO_OWNER)) != 0 ||
	    (l->flags & UNTAR_F_OWNER && l->flags & UNTAR_F_NO_OWNER))
		return ERR_INTERNAL(e, "invalid untar limits");
	return 0;
}

int
untar(int rootfd, int infd, enum untar_compression comp,
    const struct untar_limits *lim, struct untar_result *res,
    struct pd_err *e)
{
	locale_t old = (locale_t)0;
	struct untar *u;
	mode_t omask;
	int r;

	if (lim == NULL || res == NULL || check_limits(lim, e) == -1)
		return ERR_INTERNAL(e, "invalid untar arguments");
	if (comp != UNTAR_NONE && comp != UNTAR_GZIP && comp != UNTAR_ZSTD)
		return ERR_INTERNAL(e, "invalid compression");
	if (untar_md == NULL)
		return ERR_INTERNAL(e, "untar_init() was not called");
	if (untar_locale != (locale_t)0)
		old = uselocale(untar_locale);
	if (strcmp(nl_langinfo(CODESET), "UTF-8") != 0) {
		if (old != (locale_t)0)
			uselocale(old);
		return ERR_INTERNAL(e, "LC_CTYPE is not UTF-8");
	}
	if ((u = calloc(1, sizeof(*u))) == NULL) {
		if (old != (locale_t)0)
			uselocale(old);
		return ERR_IO(e, "allocating untar state");
	}
	u->rootfd = rootfd;
	u->lim = lim;
	u->e = e;
	if (lim->flags & UNTAR_F_OWNER)
		u->owner = 1;
	else if (lim->flags & UNTAR_F_NO_OWNER)
		u->owner = 0;
	else
		u->owner = can_chown();
	/* Modes are set explicitly; the umask must not clip them. */
	omask = umask(0);
	r = run(u, infd, comp);
	umask(omask);
	if (r == 0) {
		memset(res, 0, sizeof(*res));
		res->entries = u->entries;
		res->bytes = u->src.out;
		if (src_digest(&u->src, res->diff_id, sizeof(res->diff_id)) ==
		    -1)
			r = ERR_INTERNAL(e, "cannot finish sha256");
	}
	if (u->a != NULL)
		archive_read_free(u->a);
	src_free(&u->src);
	u64map_free(&u->layer);
	u64map_free(&u->dirmap);
	free(u->dirs);
	free(u->arena);
	free(u->p.buf);
	free(u->p.off);
	free(u->lp.buf);
	free(u->lp.off);
	free(u->scratch);
	free(u);
	if (old != (locale_t)0)
		uselocale(old);
	return r;
}

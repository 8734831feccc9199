/*
 * Unit tests of the untar engine.  Layers are built in memory with
 * libarchive's write API and applied to a fresh rootfs under /tmp.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <linux/capability.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "error.h"
#include "../tap.h"
#include "../../extractor/untar.h"

#define MTIME	1700000000

/* One tar entry: type 'f' file, 'd' dir, 'l' symlink, 'h' hardlink, 'c' chr. */
struct ent {
	char		 type;
	const char	*name;
	const char	*data;		/* content, or link target */
	int		 mode;
};

struct wbuf {
	unsigned char	*p;
	size_t		 len;
	size_t		 cap;
};

static char	 tmproot[] = "/tmp/pd-test-untar.XXXXXX";
static int	 nroot;

static la_ssize_t
wcb(struct archive *a, void *arg, const void *buf, size_t n)
{
	struct wbuf *w = arg;
	unsigned char *p;

	if (w->len + n > w->cap) {
		w->cap = (w->len + n) * 2 + 65536;
		if ((p = realloc(w->p, w->cap)) == NULL)
			abort();
		w->p = p;
	}
	memcpy(w->p + w->len, buf, n);
	w->len += n;
	return (la_ssize_t)n;
}

static struct archive *
wnew(struct wbuf *w, int filter)
{
	struct archive *a = archive_write_new();

	memset(w, 0, sizeof(*w));
	archive_write_set_format_pax_restricted(a);
	if (filter != ARCHIVE_FILTER_NONE &&
	    archive_write_add_filter(a, filter) != ARCHIVE_OK)
		abort();
	archive_write_set_bytes_in_last_block(a, 1);
	if (archive_write_open(a, w, NULL, wcb, NULL) != ARCHIVE_OK)
		abort();
	return a;
}

static void
wadd(struct archive *a, const struct ent *e)
{
	struct archive_entry *ae = archive_entry_new();
	size_t len = 0;

	archive_entry_set_pathname(ae, e->name);
	archive_entry_set_mtime(ae, MTIME, 0);
	archive_entry_set_uid(ae, 0);
	archive_entry_set_gid(ae, 0);
	switch (e->type) {
	case 'f':
		len = e->data != NULL ? strlen(e->data) : 0;
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_size(ae, (la_int64_t)len);
		break;
	case 'd':
		archive_entry_set_filetype(ae, AE_IFDIR);
		break;
	case 'l':
		archive_entry_set_filetype(ae, AE_IFLNK);
		archive_entry_set_symlink(ae, e->data);
		break;
	case 'h':
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_hardlink(ae, e->data);
		break;
	case 'c':
		archive_entry_set_filetype(ae, AE_IFCHR);
		archive_entry_set_rdev(ae, makedev(1, 3));
		break;
	case 'p':
		archive_entry_set_filetype(ae, AE_IFIFO);
		break;
	}
	archive_entry_set_perm(ae, (mode_t)(e->mode != 0 ? e->mode :
	    e->type == 'd' ? 0755 : 0644));
	if (archive_write_header(a, ae) != ARCHIVE_OK)
		abort();
	if (len > 0 && archive_write_data(a, e->data, len) != (la_ssize_t)len)
		abort();
	archive_entry_free(ae);
}

static void
wend(struct archive *a)
{
	if (archive_write_close(a) != ARCHIVE_OK)
		abort();
	archive_write_free(a);
}

static struct wbuf
layer(const struct ent *e, size_t n, int filter)
{
	struct archive *a;
	struct wbuf w;
	size_t i;

	a = wnew(&w, filter);
	for (i = 0; i < n; i++)
		wadd(a, &e[i]);
	wend(a);
	return w;
}

#define LAYER(arr, f)	layer((arr), sizeof(arr) / sizeof((arr)[0]), (f))

static int
memfd(const void *p, size_t n)
{
	int fd = memfd_create("layer", MFD_CLOEXEC);

	if (fd == -1 || (n > 0 && write(fd, p, n) != (ssize_t)n) ||
	    lseek(fd, 0, SEEK_SET) == -1)
		abort();
	return fd;
}

static int
apply_lim(int rootfd, const struct wbuf *w, enum untar_compression c,
    const struct untar_limits *l, struct untar_result *res, struct pd_err *e)
{
	struct untar_result r;
	int fd, rv;

	fd = memfd(w->p, w->len);
	pd_err_clear(e);
	rv = untar(rootfd, fd, c, l, res != NULL ? res : &r, e);
	close(fd);
	if (rv == -1)
		printf("# untar: %s\n", e->msg);
	return rv;
}

static int
apply(int rootfd, const struct wbuf *w, enum untar_compression c,
    struct pd_err *e)
{
	struct untar_limits l;

	untar_default_limits(&l);
	return apply_lim(rootfd, w, c, &l, NULL, e);
}

static int
newroot(void)
{
	char p[256];
	int fd;

	snprintf(p, sizeof(p), "%s/r%d", tmproot, nroot++);
	if (mkdir(p, 0755) == -1 || (fd = open(p, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		abort();
	return fd;
}

static int
ftype(int rootfd, const char *path)
{
	struct stat st;

	if (fstatat(rootfd, path, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return 0;
	if (S_ISREG(st.st_mode))
		return 'f';
	if (S_ISDIR(st.st_mode))
		return 'd';
	if (S_ISLNK(st.st_mode))
		return 'l';
	return '?';
}

static int
content_is(int rootfd, const char *path, const char *want)
{
	char buf[4096];
	ssize_t n;
	int fd;

	if ((fd = openat(rootfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	return n == (ssize_t)strlen(want) && memcmp(buf, want, (size_t)n) == 0;
}

static int
link_is(int rootfd, const char *path, const char *want)
{
	char buf[4096];
	ssize_t n;

	n = readlinkat(rootfd, path, buf, sizeof(buf));
	return n == (ssize_t)strlen(want) && memcmp(buf, want, (size_t)n) == 0;
}

static int
class_is(const struct pd_err *e, const char *cls, const char *needle)
{
	size_t n = strlen(cls);

	if (strncmp(e->msg, cls, n) != 0 || e->msg[n] != ':')
		return 0;
	return needle == NULL || strstr(e->msg, needle) != NULL;
}

static void
test_whiteouts(void)
{
	static const struct ent l1[] = {
		{ 'd', "etc", NULL, 0 },
		{ 'f', "etc/passwd", "p\n", 0 },
		{ 'f', "etc/group", "g\n", 0 },
		{ 'd', "d", NULL, 0 },
		{ 'f', "d/x", "x\n", 0 },
		{ 'd', "t", NULL, 0 },
		{ 'f', "t/keep", "k\n", 0 },
		{ 'l', "l", "t", 0 },
		{ 'l', "abs", "/etc", 0 },
	};
	static const struct ent l2[] = {
		{ 'f', "etc/.wh.passwd", NULL, 0 },
		{ 'f', ".wh.d", NULL, 0 },
		{ 'f', ".wh.l", NULL, 0 },
		{ 'f', ".wh.abs", NULL, 0 },
		{ 'f', "new", "n\n", 0 },
		{ 'f', ".wh.new", NULL, 0 },
		{ 'f', ".wh.notthere", NULL, 0 },
		{ 'f', "nodir/.wh.x", NULL, 0 },
	};
	static const struct ent l3[] = {
		{ 'd', "d", NULL, 0 },
		{ 'f', "d/y", "y\n", 0 },
		{ 'f', "etc/.wh.group", NULL, 0 },
	};
	struct wbuf w1 = LAYER(l1, ARCHIVE_FILTER_GZIP);
	struct wbuf w2 = LAYER(l2, ARCHIVE_FILTER_GZIP);
	struct wbuf w3 = LAYER(l3, ARCHIVE_FILTER_GZIP);
	struct pd_err e;
	int r = newroot();

	ASSERT(apply(r, &w1, UNTAR_GZIP, &e) == 0, "whiteout: layer 1 applies");
	ASSERT(apply(r, &w2, UNTAR_GZIP, &e) == 0, "whiteout: layer 2 applies");
	ASSERT(ftype(r, "etc/passwd") == 0, "whiteout: etc/passwd removed");
	ASSERT(content_is(r, "etc/group", "g\n"), "whiteout: etc/group kept");
	ASSERT(ftype(r, "d") == 0, "whiteout: directory d removed recursively");
	ASSERT(ftype(r, "l") == 0 && content_is(r, "t/keep", "k\n"),
	    "whiteout: symlink removed, its target untouched");
	ASSERT(ftype(r, "abs") == 0, "whiteout: absolute symlink removed");
	ASSERT(content_is(r, "new", "n\n"),
	    "whiteout: same-layer file is not whited out");
	ASSERT(ftype(r, "etc/.wh.passwd") == 0 && ftype(r, ".wh.d") == 0 &&
	    ftype(r, "nodir") == 0, "whiteout: markers never materialised");
	ASSERT(apply(r, &w3, UNTAR_GZIP, &e) == 0, "whiteout: layer 3 applies");
	ASSERT(ftype(r, "d") == 'd' && ftype(r, "d/x") == 0 &&
	    content_is(r, "d/y", "y\n"), "whiteout: layer 3 recreates d empty");
	ASSERT(ftype(r, "etc/group") == 0 && ftype(r, "etc") == 'd',
	    "whiteout: layer 3 whites out etc/group");
	close(r);
	free(w1.p);
	free(w2.p);
	free(w3.p);
}

static void
test_opaque(void)
{
	static const struct ent l1[] = {
		{ 'd', "d", NULL, 0 },
		{ 'f', "d/a", "a\n", 0 },
		{ 'd', "d/sub", NULL, 0 },
		{ 'f', "d/sub/b", "b\n", 0 },
		{ 'd', "d/keepdir", NULL, 0 },
		{ 'f', "d/keepdir/old", "o\n", 0 },
		{ 'f', "other", "x\n", 0 },
	};
	static const struct ent l2[] = {
		{ 'd', "d", NULL, 0 },
		{ 'f', "d/c", "c\n", 0 },
		{ 'd', "d/keepdir", NULL, 0 },
		{ 'f', "d/keepdir/new", "n\n", 0 },
		{ 'f', "d/.wh..wh..opq", NULL, 0 },
		{ 'f', "d/e", "e\n", 0 },
	};
	static const struct ent l3[] = {
		{ 'f', "d/.wh..wh..opq", NULL, 0 },
	};
	struct wbuf w1 = LAYER(l1, ARCHIVE_FILTER_GZIP);
	struct wbuf w2 = LAYER(l2, ARCHIVE_FILTER_GZIP);
	struct wbuf w3 = LAYER(l3, ARCHIVE_FILTER_GZIP);
	struct pd_err e;
	int r = newroot();

	ASSERT(apply(r, &w1, UNTAR_GZIP, &e) == 0 &&
	    apply(r, &w2, UNTAR_GZIP, &e) == 0, "opaque: layers 1, 2 apply");
	ASSERT(ftype(r, "d/a") == 0 && ftype(r, "d/sub") == 0,
	    "opaque: lower content of d removed");
	ASSERT(content_is(r, "d/c", "c\n") && content_is(r, "d/e", "e\n"),
	    "opaque: this layer's files kept (before and after the marker)");
	ASSERT(content_is(r, "d/keepdir/new", "n\n") &&
	    ftype(r, "d/keepdir/old") == 0,
	    "opaque: merged directory keeps only this layer's content");
	ASSERT(ftype(r, "d/.wh..wh..opq") == 0, "opaque: marker not materialised");
	ASSERT(content_is(r, "other", "x\n"), "opaque: siblings untouched");
	ASSERT(apply(r, &w3, UNTAR_GZIP, &e) == 0 && ftype(r, "d") == 'd' &&
	    ftype(r, "d/c") == 0 && ftype(r, "d/keepdir") == 0,
	    "opaque: layer 3 marker alone empties d");
	close(r);
	free(w1.p);
	free(w2.p);
	free(w3.p);
}

static void
test_merged_usr(void)
{
	static const struct ent l1[] = {
		{ 'd', "usr", NULL, 0 },
		{ 'd', "usr/bin", NULL, 0 },
		{ 'd', "usr/lib", NULL, 0 },
		{ 'l', "bin", "usr/bin", 0 },
		{ 'l', "lib", "/usr/lib", 0 },
		{ 'l', "escape", "/", 0 },
	};
	static const struct ent l2[] = {
		{ 'f', "usr/bin/x", "x\n", 0755 },
		{ 'f', "bin/y", "y\n", 0755 },
		{ 'f', "lib/libz.so.1", "z\n", 0 },
		{ 'f', "escape/tmp/pd-untar-breakout", "b\n", 0 },
		{ 'h', "bin/x2", "bin/x", 0 },
	};
	static const struct ent l3[] = {
		{ 'd', "bin", NULL, 0 },
		{ 'f', "bin/z", "z\n", 0 },
	};
	struct wbuf w1 = LAYER(l1, ARCHIVE_FILTER_GZIP);
	struct wbuf w2 = LAYER(l2, ARCHIVE_FILTER_GZIP);
	struct wbuf w3 = LAYER(l3, ARCHIVE_FILTER_GZIP);
	struct stat a, b;
	struct pd_err e;
	int r = newroot();

	ASSERT(apply(r, &w1, UNTAR_GZIP, &e) == 0 &&
	    apply(r, &w2, UNTAR_GZIP, &e) == 0, "merged-usr: layers apply");
	ASSERT(link_is(r, "bin", "usr/bin") && link_is(r, "lib", "/usr/lib"),
	    "merged-usr: symlinks kept verbatim");
	ASSERT(content_is(r, "usr/bin/x", "x\n") &&
	    content_is(r, "usr/bin/y", "y\n"),
	    "merged-usr: bin/y written through bin -> usr/bin");
	ASSERT(content_is(r, "usr/lib/libz.so.1", "z\n"),
	    "merged-usr: absolute symlink lib -> /usr/lib resolved in-root");
	ASSERT(content_is(r, "tmp/pd-untar-breakout", "b\n") &&
	    access("/tmp/pd-untar-breakout", F_OK) == -1,
	    "merged-usr: escape -> / lands inside the rootfs");
	ASSERT(fstatat(r, "usr/bin/x", &a, 0) == 0 &&
	    fstatat(r, "usr/bin/x2", &b, 0) == 0 && a.st_ino == b.st_ino,
	    "merged-usr: hardlink through the symlinked parent");
	/* A directory entry replaces a symlink (Docker semantics). */
	ASSERT(apply(r, &w3, UNTAR_GZIP, &e) == 0 && ftype(r, "bin") == 'd' &&
	    content_is(r, "bin/z", "z\n") && content_is(r, "usr/bin/x", "x\n"),
	    "merged-usr: a later 'bin/' directory entry replaces the symlink");
	close(r);
	free(w1.p);
	free(w2.p);
	free(w3.p);
}

static void
sha256hex(const void *p, size_t n, char *out)
{
	unsigned char md[32];
	unsigned int len = 0, i;

	EVP_Digest(p, n, md, &len, EVP_sha256(), NULL);
	strcpy(out, "sha256:");
	for (i = 0; i < len; i++)
		sprintf(out + 7 + 2 * i, "%02x", md[i]);
}

static size_t
gz(const unsigned char *in, size_t n, unsigned char **out)
{
	z_stream z;
	size_t cap = n + n / 10 + 1024;

	memset(&z, 0, sizeof(z));
	*out = malloc(cap);
	if (*out == NULL || deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		abort();
	z.next_in = (unsigned char *)(uintptr_t)in;
	z.avail_in = (uInt)n;
	z.next_out = *out;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END)
		abort();
	deflateEnd(&z);
	return cap - z.avail_out;
}

static void
test_diffid_and_gzip(void)
{
	static const struct ent l[] = {
		{ 'd', "a", NULL, 0 },
		{ 'f', "a/b.txt", "hello\n", 0 },
		{ 'f', "c.txt", "world\n", 0 },
	};
	struct wbuf plain = LAYER(l, ARCHIVE_FILTER_NONE), w, two;
	struct untar_limits lim;
	struct untar_result res;
	char want[80];
	struct pd_err e;
	unsigned char *g, *g2;
	size_t n, n2;
	int r;

	untar_default_limits(&lim);
	sha256hex(plain.p, plain.len, want);
	n = gz(plain.p, plain.len, &g);
	w.p = g;
	w.len = n;
	r = newroot();
	ASSERT(apply_lim(r, &w, UNTAR_GZIP, &lim, &res, &e) == 0,
	    "diff_id: gzip layer applies");
	ASSERT_STR_EQ(res.diff_id, want,
	    "diff_id: sha256 of the uncompressed tar");
	ASSERT_INT_EQ(res.bytes, plain.len, "diff_id: byte count");
	ASSERT_INT_EQ(res.entries, 3, "diff_id: entry count");
	close(r);

	r = newroot();
	ASSERT(apply_lim(r, &plain, UNTAR_NONE, &lim, &res, &e) == 0 &&
	    strcmp(res.diff_id, want) == 0, "diff_id: same for the plain tar");
	close(r);

	/* Two gzip members (pigz style) are one stream. */
	n2 = gz(plain.p, 512, &g2);
	two.p = malloc(n2 + n);
	two.len = n2;
	memcpy(two.p, g2, n2);
	free(g2);
	n2 = gz(plain.p + 512, plain.len - 512, &g2);
	memcpy(two.p + two.len, g2, n2);
	two.len += n2;
	free(g2);
	r = newroot();
	ASSERT(apply_lim(r, &two, UNTAR_GZIP, &lim, &res, &e) == 0 &&
	    strcmp(res.diff_id, want) == 0 && content_is(r, "c.txt", "world\n"),
	    "gzip: multi-member stream, same diff_id");
	close(r);
	free(two.p);

	/* Trailing garbage after the member. */
	w.p = malloc(n + 64);
	memcpy(w.p, g, n);
	memcpy(w.p + n, "GARBAGE", 7);
	w.len = n + 7;
	r = newroot();
	ASSERT(apply(r, &w, UNTAR_GZIP, &e) == -1 &&
	    class_is(&e, "compression_error", "trailing garbage"),
	    "gzip: trailing garbage is compression_error");
	close(r);

	/* Zero padding after the member is tolerated. */
	memset(w.p + n, 0, 64);
	w.len = n + 64;
	r = newroot();
	ASSERT(apply(r, &w, UNTAR_GZIP, &e) == 0, "gzip: zero padding accepted");
	close(r);

	/* Corrupt CRC32 in the trailer. */
	memcpy(w.p, g, n);
	w.len = n;
	w.p[n - 8] ^= 0xff;
	r = newroot();
	ASSERT(apply(r, &w, UNTAR_GZIP, &e) == -1 &&
	    class_is(&e, "compression_error", "incorrect data check"),
	    "gzip: corrupt CRC is compression_error");
	close(r);

	/* Corrupt ISIZE. */
	w.p[n - 8] ^= 0xff;
	w.p[n - 1] ^= 0x01;
	r = newroot();
	ASSERT(apply(r, &w, UNTAR_GZIP, &e) == -1 &&
	    class_is(&e, "compression_error", NULL),
	    "gzip: corrupt length is compression_error");
	close(r);

	/* Truncated. */
	w.p[n - 1] ^= 0x01;
	w.len = n - 4;
	r = newroot();
	ASSERT(apply(r, &w, UNTAR_GZIP, &e) == -1 &&
	    class_is(&e, "compression_error", "truncated"),
	    "gzip: truncated stream is compression_error");
	close(r);

	/* A plain tar under a gzip media type. */
	r = newroot();
	ASSERT(apply(r, &plain, UNTAR_GZIP, &e) == -1 &&
	    class_is(&e, "compression_error", "not gzip"),
	    "gzip: uncompressed tar refused as gzip");
	close(r);
	free(w.p);
	free(g);
	free(plain.p);
}

static void
test_zstd(void)
{
	static const struct ent l[] = {
		{ 'd', "z", NULL, 0 },
		{ 'f', "z/data", "zstd layer\n", 0 },
	};
	struct wbuf plain = LAYER(l, ARCHIVE_FILTER_NONE);
	struct wbuf w = LAYER(l, ARCHIVE_FILTER_ZSTD);
	struct wbuf g = LAYER(l, ARCHIVE_FILTER_GZIP);
	struct untar_limits lim;
	struct untar_result res;
	char want[80];
	struct pd_err e;
	int r = newroot();

	untar_default_limits(&lim);
	sha256hex(plain.p, plain.len, want);
	ASSERT(apply_lim(r, &w, UNTAR_ZSTD, &lim, &res, &e) == 0 &&
	    content_is(r, "z/data", "zstd layer\n"), "zstd: layer applies");
	ASSERT_STR_EQ(res.diff_id, want, "zstd: diff_id of the uncompressed tar");
	close(r);
	r = newroot();
	ASSERT(apply(r, &g, UNTAR_ZSTD, &e) == -1 &&
	    class_is(&e, "compression_error", NULL),
	    "zstd: gzip data under a zstd media type refused");
	close(r);
	w.len -= 3;
	r = newroot();
	ASSERT(apply(r, &w, UNTAR_ZSTD, &e) == -1 &&
	    class_is(&e, "compression_error", NULL),
	    "zstd: truncated stream refused");
	close(r);
	free(plain.p);
	free(w.p);
	free(g.p);
}

static void
test_media_types(void)
{
	static const struct {
		const char		*mt;
		int			 ok;
		enum untar_compression	 c;
	} t[] = {
		{ "application/vnd.docker.image.rootfs.diff.tar.gzip", 1,
		    UNTAR_GZIP },
		{ "application/vnd.oci.image.layer.v1.tar", 1, UNTAR_NONE },
		{ "application/vnd.oci.image.layer.v1.tar+gzip", 1, UNTAR_GZIP },
		{ "application/vnd.oci.image.layer.v1.tar+zstd", 1, UNTAR_ZSTD },
		{ "application/vnd.docker.image.rootfs.diff.tar", 1, UNTAR_NONE },
		{ "application/vnd.oci.image.layer.v1.tar+xz", 0, UNTAR_NONE },
		{ "application/vnd.oci.image.layer.v1.tar+gzip; x=y", 0,
		    UNTAR_NONE },
		{ "application/zip", 0, UNTAR_NONE },
		{ "", 0, UNTAR_NONE },
	};
	enum untar_compression c;
	struct pd_err e;
	size_t i;
	int ok = 1;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		c = UNTAR_NONE;
		if ((untar_compression_from_media_type(t[i].mt, &c, &e) == 0) !=
		    t[i].ok || (t[i].ok && c != t[i].c)) {
			printf("# media type %s\n", t[i].mt);
			ok = 0;
		}
		if (!t[i].ok && !class_is(&e, "compression_error", NULL))
			ok = 0;
	}
	ASSERT(ok, "media types map to compressions, others refused");
}

static struct wbuf
zeros_layer(size_t size)
{
	struct archive_entry *ae = archive_entry_new();
	static char chunk[65536];
	struct archive *a;
	struct wbuf w;
	size_t done;

	a = wnew(&w, ARCHIVE_FILTER_GZIP);
	archive_entry_set_pathname(ae, "zeros");
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_perm(ae, 0644);
	archive_entry_set_size(ae, (la_int64_t)size);
	if (archive_write_header(a, ae) != ARCHIVE_OK)
		abort();
	for (done = 0; done < size; done += sizeof(chunk))
		archive_write_data(a, chunk, sizeof(chunk));
	archive_entry_free(ae);
	wend(a);
	return w;
}

static void
test_limits(void)
{
	static const struct ent five[] = {
		{ 'f', "1", "1", 0 }, { 'f', "2", "2", 0 }, { 'f', "3", "3", 0 },
		{ 'f', "4", "4", 0 }, { 'f', "5", "5", 0 },
	};
	static const struct ent deep[] = {
		{ 'f', "a/b/c/d/e/f", "deep", 0 },
	};
	static const struct ent longname[] = {
		{ 'f', "dir/0123456789012345678901234567890123456789", "x", 0 },
	};
	static const struct ent links[] = {
		{ 'f', "t", "t", 0 }, { 'h', "l1", "t", 0 }, { 'h', "l2", "t", 0 },
		{ 'h', "l3", "t", 0 },
	};
	static const struct ent big[] = {
		{ 'f', "big", "0123456789abcdef0123456789abcdef", 0 },
	};
	struct wbuf w5 = LAYER(five, ARCHIVE_FILTER_GZIP);
	struct wbuf wd = LAYER(deep, ARCHIVE_FILTER_GZIP);
	struct wbuf wn = LAYER(longname, ARCHIVE_FILTER_GZIP);
	struct wbuf wl = LAYER(links, ARCHIVE_FILTER_GZIP);
	struct wbuf wb = LAYER(big, ARCHIVE_FILTER_GZIP);
	struct wbuf wz = zeros_layer(24 << 20), wx;
	struct archive_entry *ae;
	struct untar_limits lim;
	struct archive *a;
	struct pd_err e;
	char *xv;
	int r;

	untar_default_limits(&lim);
	lim.max_entries = 3;
	r = newroot();
	ASSERT(apply_lim(r, &w5, UNTAR_GZIP, &lim, NULL, &e) == -1 &&
	    class_is(&e, "limit_exceeded", "limits.max-entries (3)"),
	    "limit: max_entries named");
	close(r);

	untar_default_limits(&lim);
	lim.max_depth = 4;
	r = newroot();
	ASSERT(apply_lim(r, &wd, UNTAR_GZIP, &lim, NULL, &e) == -1 &&
	    class_is(&e, "limit_exceeded", "limits.max-depth (4"),
	    "limit: max_depth named");
	close(r);

	untar_default_limits(&lim);
	lim.max_path = 20;
	r = newroot();
	ASSERT(apply_lim(r, &wn, UNTAR_GZIP, &lim, NULL, &e) == -1 &&
	    class_is(&e, "limit_exceeded", "limits.max-path (20)"),
	    "limit: max_path named");
	close(r);

	untar_default_limits(&lim);
	lim.max_name = 30;
	r = newroot();
	ASSERT(apply_lim(r, &wn, UNTAR_GZIP, &lim, NULL, &e) == -1 &&
	    class_is(&e, "limit_exceeded", "max_name (30)"),
	    "limit: max_name named");
	close(r);

	untar_default_limits(&lim);
	lim.max_links = 3;
	r = newroot();
	ASSERT(apply_lim(r, &wl, UNTAR_GZIP, &lim, NULL, &e) == -1 &&
	    class_is(&e, "limit_exceeded", "limits.max-links 3"),
	    "limit: max_links named");
	close(r);

	untar_default_limits(&lim);
	lim.max_file = 16;
	r = newroot();
	ASSERT(apply_lim(r, &wb, UNTAR_GZIP, &lim, NULL, &e) == -1 &&
	    class_is(&e, "limit_exceeded", "limits.max-file (16)") &&
	    ftype(r, "big") == 0,
	    "limit: max_file named, checked before the file is created");
	close(r);

	untar_default_limits(&lim);
	lim.max_bytes = 1024;
	r = newroot();
	ASSERT(apply_lim(r, &wb, UNTAR_GZIP, &lim, NULL, &e) == -1 &&
	    class_is(&e, "limit_exceeded", "limits.max-layer-bytes (1024"),
	    "limit: max_bytes named");
	close(r);

	untar_default_limits(&lim);
	lim.max_compressed = 64;
	r = newroot();
	ASSERT(apply_lim(r, &wb, UNTAR_GZIP, &lim, NULL, &e) == -1 &&
	    class_is(&e, "limit_exceeded", "limits.max-compressed (64"),
	    "limit: max_compressed named");
	close(r);

	untar_default_limits(&lim);
	r = newroot();
	ASSERT(apply_lim(r, &wz, UNTAR_GZIP, &lim, NULL, &e) == -1 &&
	    class_is(&e, "limit_exceeded", "limits.max-ratio (100)"),
	    "limit: 24 MiB of zeros hits max_ratio");
	close(r);
	lim.max_ratio = 0;
	r = newroot();
	ASSERT(apply_lim(r, &wz, UNTAR_GZIP, &lim, NULL, &e) == 0,
	    "limit: max_ratio 0 disables the ratio check");
	close(r);

	/* A 100 KiB xattr value (max_xattr 64 KiB) */
	if ((xv = malloc(100 << 10)) == NULL)
		abort();
	memset(xv, 'v', 100 << 10);
	a = wnew(&wx, ARCHIVE_FILTER_GZIP);
	ae = archive_entry_new();
	archive_entry_set_pathname(ae, "f");
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_perm(ae, 0644);
	archive_entry_set_size(ae, 0);
	archive_entry_xattr_add_entry(ae, "user.big", xv, 100 << 10);
	archive_write_header(a, ae);
	archive_entry_free(ae);
	wend(a);
	untar_default_limits(&lim);
	r = newroot();
	ASSERT(apply_lim(r, &wx, UNTAR_GZIP, &lim, NULL, &e) == -1 &&
	    class_is(&e, "limit_exceeded", "limits.max-xattr"),
	    "limit: max_xattr named");
	close(r);
	lim.max_pax = 4096;
	r = newroot();
	ASSERT(apply_lim(r, &wx, UNTAR_GZIP, &lim, NULL, &e) == -1 &&
	    class_is(&e, "limit_exceeded", "max_pax (4096"),
	    "limit: max_pax named");
	close(r);
	free(xv);
	free(w5.p);
	free(wd.p);
	free(wn.p);
	free(wl.p);
	free(wb.p);
	free(wz.p);
	free(wx.p);
}

/* A raw ustar header block (for entries libarchive's writer won't make). */
static void
rawhdr(struct wbuf *w, const char *name, int type, size_t size)
{
	unsigned char h[512];
	unsigned int sum = 0;
	size_t i;

	memset(h, 0, sizeof(h));
	snprintf((char *)h, 100, "%s", name);
	memcpy(h + 100, "0000644", 7);
	memcpy(h + 108, "0000000", 7);
	memcpy(h + 116, "0000000", 7);
	snprintf((char *)h + 124, 12, "%011zo", size);
	snprintf((char *)h + 136, 12, "%011o", MTIME);
	memset(h + 148, ' ', 8);
	h[156] = (unsigned char)type;
	memcpy(h + 257, "ustar\0" "00", 8);
	for (i = 0; i < sizeof(h); i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	wcb(NULL, w, h, sizeof(h));
}

static void
rawdata(struct wbuf *w, const void *p, size_t n)
{
	static const unsigned char zero[512];

	wcb(NULL, w, p, n);
	if (n % 512 != 0)
		wcb(NULL, w, zero, 512 - n % 512);
}

/* Append one pax record "LEN key=value\n" (LEN counts itself). */
static size_t
paxrec(char *out, const char *key, const char *val)
{
	size_t body = strlen(key) + strlen(val) + 3, n = body + 1, d;

	for (;;) {
		d = (size_t)snprintf(NULL, 0, "%zu", n);
		if (d + body == n)
			break;
		n = d + body;
	}
	return (size_t)sprintf(out, "%zu %s=%s\n", n, key, val);
}

/* A pax 1.0 GNU sparse file of n one-byte chunks, one byte apart. */
static struct wbuf
sparse_layer(size_t n)
{
	static const unsigned char eof[1024];
	char pax[512], num[32], *map, *p;
	struct wbuf w;
	size_t i, plen = 0, mlen;

	memset(&w, 0, sizeof(w));
	snprintf(num, sizeof(num), "%zu", 2 * n);
	plen += paxrec(pax + plen, "GNU.sparse.major", "1");
	plen += paxrec(pax + plen, "GNU.sparse.minor", "0");
	plen += paxrec(pax + plen, "GNU.sparse.name", "s");
	plen += paxrec(pax + plen, "GNU.sparse.realsize", num);
	if ((map = malloc(32 * n + 512)) == NULL)
		abort();
	p = map + sprintf(map, "%zu\n", n);
	for (i = 0; i < n; i++)
		p += sprintf(p, "%zu\n1\n", 2 * i);
	mlen = (size_t)(p - map) + 511;
	mlen -= mlen % 512;
	memset(p, 0, mlen - (size_t)(p - map));
	rawhdr(&w, "PaxHeaders/s", 'x', plen);
	rawdata(&w, pax, plen);
	rawhdr(&w, "GNUSparseFile.0/s", '0', mlen + n);
	wcb(NULL, &w, map, mlen);
	for (i = 0; i < n; i++)
		wcb(NULL, &w, "d", 1);
	wcb(NULL, &w, eof, (512 - (mlen + n) % 512) % 512);
	wcb(NULL, &w, eof, sizeof(eof));
	free(map);
	return w;
}

static void
test_sparse(void)
{
	struct wbuf small = sparse_layer(100), big = sparse_layer(1 << 20);
	struct stat st;
	struct pd_err e;
	char buf[8];
	int r, fd;

	r = newroot();
	ASSERT(apply(r, &small, UNTAR_NONE, &e) == 0 &&
	    fstatat(r, "s", &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_size == 200 &&
	    (fd = openat(r, "s", O_RDONLY)) != -1 &&
	    pread(fd, buf, 3, 198) == 2 && buf[0] == 'd' && buf[1] == '\0' &&
	    close(fd) == 0, "sparse: pax 1.0 sparse file extracted with holes");
	close(r);
	r = newroot();
	ASSERT(apply(r, &big, UNTAR_NONE, &e) == -1 &&
	    class_is(&e, "limit_exceeded", "headers of the entry"),
	    "sparse: a 1M-chunk sparse map is refused while being read");
	close(r);
	free(small.p);
	free(big.p);
}

static void
test_policy(void)
{
	static const struct ent ro[] = {
		{ 'd', "ro", NULL, 0555 },
		{ 'f', "ro/f", "f\n", 0 },
		{ 'd', "ro/sub", NULL, 0500 },
		{ 'f', "ro/sub/g", "g\n", 0 },
		{ 'f', "suid", "s\n", 06755 },
		{ 'd', "tmp", NULL, 01777 },
		{ 'f', "t", "t\n", 0 },
		{ 'h', "t2", "/t", 0 },
	};
	static const struct ent abs[] = { { 'f', "/abs", "a", 0 } };
	static const struct ent dotdot[] = { { 'f', "a/../../x", "a", 0 } };
	static const struct ent chr[] = { { 'c', "null", NULL, 0666 } };
	static const struct ent fifo[] = { { 'p', "fifo", NULL, 0666 } };
	static const struct ent dot[] = { { 'l', ".", "/tmp", 0 } };
	static const struct ent hlout[] = { { 'h', "h", "../../etc/passwd", 0 } };
	static const struct ent hldir[] = {
		{ 'd', "d", NULL, 0 }, { 'h', "h", "d", 0 },
	};
	static const struct ent loop[] = {
		{ 'l', "a", "b", 0 }, { 'l', "b", "a", 0 }, { 'f', "a/x", "x", 0 },
	};
	static const struct ent wh[] = { { 'd', "x/.wh.d", NULL, 0 } };
	struct wbuf w = LAYER(ro, ARCHIVE_FILTER_GZIP), b;
	struct stat st, st2;
	struct pd_err e;
	int r = newroot();

	ASSERT(apply(r, &w, UNTAR_GZIP, &e) == 0, "policy: layer applies");
	ASSERT(content_is(r, "ro/f", "f\n") && content_is(r, "ro/sub/g", "g\n"),
	    "policy: files inside read-only directories created");
	ASSERT(fstatat(r, "ro", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    (st.st_mode & 07777) == 0555 && st.st_mtime == MTIME,
	    "policy: directory mode and mtime applied after its contents");
	ASSERT(fstatat(r, "suid", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    (st.st_mode & 07777) == 0755, "policy: setuid/setgid stripped");
	ASSERT(fstatat(r, "tmp", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    (st.st_mode & 07777) == 01777, "policy: sticky bit kept");
	ASSERT(fstatat(r, "t", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    fstatat(r, "t2", &st2, AT_SYMLINK_NOFOLLOW) == 0 &&
	    st.st_ino == st2.st_ino, "policy: absolute hardlink target in-root");
	free(w.p);
	close(r);

#define REJECT(arr, cls, what) do {					\
	b = LAYER(arr, ARCHIVE_FILTER_GZIP);				\
	r = newroot();							\
	ASSERT(apply(r, &b, UNTAR_GZIP, &e) == -1 &&			\
	    class_is(&e, cls, NULL), what);				\
	close(r);							\
	free(b.p);							\
} while (0)
	REJECT(abs, "absolute_path", "policy: absolute name refused");
	REJECT(dotdot, "path_traversal", "policy: '..' refused");
	REJECT(chr, "forbidden_type", "policy: character device refused");
	REJECT(fifo, "forbidden_type", "policy: FIFO refused");
	REJECT(dot, "root_replacement", "policy: '.' symlink refused");
	REJECT(hlout, "link_escape", "policy: escaping hardlink refused");
	REJECT(hldir, "link_escape", "policy: hardlink to a directory refused");
	REJECT(loop, "symlink_traversal", "policy: symlink loop refused");
	REJECT(wh, "whiteout_invalid", "policy: whiteout directory refused");
#undef REJECT
}

static void
test_owner(void)
{
	static const struct ent l[] = { { 'f', "owned", "o", 0 } };
	struct wbuf w;
	struct archive *a;
	struct archive_entry *ae;
	struct untar_limits lim;
	struct stat st;
	struct pd_err e;
	int r, status = -1;

	a = wnew(&w, ARCHIVE_FILTER_GZIP);
	ae = archive_entry_new();
	archive_entry_set_pathname(ae, l[0].name);
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_perm(ae, 0640);
	archive_entry_set_uid(ae, 1234);
	archive_entry_set_gid(ae, 5678);
	archive_entry_set_uname(ae, "root");
	archive_entry_set_size(ae, 1);
	archive_write_header(a, ae);
	archive_write_data(a, "o", 1);
	archive_entry_free(ae);
	wend(a);

	untar_default_limits(&lim);
	lim.flags = UNTAR_F_NO_OWNER;
	r = newroot();
	ASSERT(apply_lim(r, &w, UNTAR_GZIP, &lim, NULL, &e) == 0 &&
	    fstatat(r, "owned", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    st.st_uid == geteuid(), "owner: UNTAR_F_NO_OWNER keeps our uid");
	close(r);
	r = newroot();
	if (geteuid() != 0)
		SKIP("owner: uid 0 without CAP_CHOWN (needs root)");
	else if (fork() == 0) {
		/* uid 0 without CAP_CHOWN: ownership is not attempted. */
		struct __user_cap_header_struct h = {
			_LINUX_CAPABILITY_VERSION_3, 0 };
		struct __user_cap_data_struct d[2];

		if (syscall(SYS_capget, &h, d) == -1)
			_exit(2);
		d[0].effective &= ~CAP_TO_MASK(CAP_CHOWN);
		if (syscall(SYS_capset, &h, d) == -1)
			_exit(2);
		untar_default_limits(&lim);
		_exit(apply_lim(r, &w, UNTAR_GZIP, &lim, NULL, &e) == 0 &&
		    fstatat(r, "owned", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    st.st_uid == 0 ? 0 : 1);
	} else {
		wait(&status);
		ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "owner: uid 0 without CAP_CHOWN extracts without chown");
	}
	close(r);
	if (geteuid() != 0)
		SKIP("owner: numeric uid/gid applied (needs root)");
	else {
		untar_default_limits(&lim);
		r = newroot();
		ASSERT(apply_lim(r, &w, UNTAR_GZIP, &lim, NULL, &e) == 0 &&
		    fstatat(r, "owned", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    st.st_uid == 1234 && st.st_gid == 5678 &&
		    (st.st_mode & 07777) == 0640,
		    "owner: numeric uid/gid applied as root, uname ignored");
		close(r);
	}
	free(w.p);
}

static void
test_pipe(void)
{
	static const struct ent l[] = {
		{ 'd', "p", NULL, 0 },
		{ 'f', "p/q", "through a pipe\n", 0 },
	};
	struct wbuf w = LAYER(l, ARCHIVE_FILTER_GZIP);
	struct untar_limits lim;
	struct untar_result res;
	struct pd_err e;
	int pfd[2], r, st;
	size_t i;
	pid_t pid;

	untar_default_limits(&lim);
	if (pipe(pfd) == -1 || (pid = fork()) == -1)
		abort();
	if (pid == 0) {
		close(pfd[0]);
		for (i = 0; i < w.len; i++)	/* one byte at a time */
			if (write(pfd[1], w.p + i, 1) != 1)
				_exit(1);
		_exit(0);
	}
	close(pfd[1]);
	r = newroot();
	ASSERT(untar(r, pfd[0], UNTAR_GZIP, &lim, &res, &e) == 0 &&
	    content_is(r, "p/q", "through a pipe\n"),
	    "pipe: layer streamed through a pipe in 1-byte writes");
	close(pfd[0]);
	waitpid(pid, &st, 0);
	close(r);
	free(w.p);
}

int
main(void)
{
	struct pd_err e;
	char cmd[300];

	if (untar_init(&e) == -1) {
		printf("not ok 1 - untar_init: %s\n", e.msg);
		return 1;
	}
	if (mkdtemp(tmproot) == NULL) {
		printf("not ok 1 - mkdtemp\n");
		return 1;
	}
	test_whiteouts();
	test_opaque();
	test_merged_usr();
	test_diffid_and_gzip();
	test_zstd();
	test_media_types();
	test_limits();
	test_sparse();
	test_policy();
	test_owner();
	test_pipe();
	rmdir("/tmp/pd-untar-breakout");
	snprintf(cmd, sizeof(cmd), "chmod -R u+rwx %s; rm -rf %s", tmproot,
	    tmproot);
	if (system(cmd) != 0)
		printf("# cleanup of %s failed\n", tmproot);
	TAP_DONE();
}

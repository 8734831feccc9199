/*
 * SHA-256 vectors.  The 1 MiB and larger values were computed with
 * coreutils sha256sum when this test was written.
 */
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "digest.h"
#include "error.h"
#include "../tap.h"

#define H_EMPTY	"e3b0c44298fc1c149afbf4c8996fb924" \
		"27ae41e4649b934ca495991b7852b855"
#define H_EMPTYU "E3B0C44298FC1C149AFBF4C8996FB924" \
		"27AE41E4649B934CA495991B7852B855"
#define D_EMPTY	"sha256:" H_EMPTY
#define D_ABC	"sha256:ba7816bf8f01cfea414140de5dae2223" \
		"b00361a396177a9cb410ff61f20015ad"
#define D_448	"sha256:248d6a61d20638b8e5c026930c3e6039" \
		"a33ce45964ff2167f6ecedd419db06c1"
#define D_ZERO1M "sha256:30e14955ebf1352266dc2ff8067e6810" \
		"4607e750abb9d3b36582b8af909fcb58"
#define D_X1M3	"sha256:dfc9339ad63a4fa659f7a3566b1d59f4" \
		"604a724dc93042b2bc8121800f8340e2"
#define D_ZERO3M "sha256:bbd05cf6097ac9b1f89ea29d2542c1b7" \
		"b67ee46848393895f5a9e43fa1f621e5"

#define MIB	(1024 * 1024)

static const struct buf_test {
	const char	*in;
	const char	*want;
} buf_data[] = {
	{ "", D_EMPTY },
	{ "abc", D_ABC },
	{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", D_448 },
};

static const struct valid_test {
	const char	*in;
	int		 valid;
} valid_data[] = {
	{ D_EMPTY, 1 },
	{ D_ABC, 1 },
	{ "sha256:", 0 },
	{ "", 0 },
	{ "sha256", 0 },
	{ H_EMPTY, 0 },
	{ "sha256:" H_EMPTYU, 0 },
	{ D_EMPTY "5", 0 },
	{ "sha256:e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b85", 0 },
	{ "sha256:e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b85g", 0 },
	{ "SHA256:" H_EMPTY, 0 },
	{ "sha512:" H_EMPTY, 0 },
	{ "sha256 :" H_EMPTY, 0 },
	{ " " D_EMPTY, 0 },
	{ D_EMPTY "\n", 0 },
	{ "sha256:../../../../etc/passwd", 0 },
	{ NULL, 0 },
};

static int
tmpfile_with(const void *p, size_t len)
{
	char path[] = "/tmp/pd-test-digest.XXXXXX";
	int fd;

	if ((fd = mkstemp(path)) == -1)
		return -1;
	unlink(path);
	if (len > 0 && write(fd, p, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
test_buf(void)
{
	char out[PD_DIGEST_BUFLEN], what[96];
	unsigned char *big;
	size_t i;

	for (i = 0; i < sizeof(buf_data) / sizeof(buf_data[0]); i++) {
		snprintf(what, sizeof(what), "buf \"%.20s\"", buf_data[i].in);
		ASSERT_INT_EQ(pd_sha256_buf(buf_data[i].in,
		    strlen(buf_data[i].in), out), 0, what);
		ASSERT_STR_EQ(out, buf_data[i].want, what);
	}
	big = calloc(1, MIB);
	ASSERT_INT_EQ(pd_sha256_buf(big, MIB, out), 0, "buf 1 MiB zeros");
	ASSERT_STR_EQ(out, D_ZERO1M, "buf 1 MiB zeros value");
	free(big);
}

static void
test_stream(void)
{
	struct pd_sha256 *h;
	char out[PD_DIGEST_BUFLEN];
	const char *msg = buf_data[2].in;
	size_t i;

	h = pd_sha256_new();
	ASSERT(h != NULL, "stream: new");
	for (i = 0; msg[i] != '\0'; i++)
		pd_sha256_update(h, msg + i, 1);
	pd_sha256_final(h, out);
	ASSERT_STR_EQ(out, D_448, "stream: byte at a time");
	pd_sha256_free(h);

	h = pd_sha256_new();
	pd_sha256_update(h, NULL, 0);
	pd_sha256_final(h, out);
	ASSERT_STR_EQ(out, D_EMPTY, "stream: empty");
	pd_sha256_final(h, out);
	ASSERT_STR_EQ(out, "", "stream: second final yields nothing");
	pd_sha256_free(h);
	pd_sha256_free(NULL);
}

static void
test_fd(void)
{
	struct pd_err e;
	char out[PD_DIGEST_BUFLEN];
	unsigned char *big;
	uint64_t size = 0;
	off_t pos;
	int fd;

	fd = tmpfile_with("", 0);
	ASSERT_INT_EQ(pd_sha256_fd(fd, out, &size, &e), 0, "fd: empty file");
	ASSERT_STR_EQ(out, D_EMPTY, "fd: empty value");
	ASSERT_INT_EQ(size, 0, "fd: empty size");
	close(fd);

	fd = tmpfile_with("abc", 3);
	pos = lseek(fd, 0, SEEK_CUR);
	ASSERT_INT_EQ(pd_sha256_fd(fd, out, &size, &e), 0, "fd: abc");
	ASSERT_STR_EQ(out, D_ABC, "fd: hashes from offset 0");
	ASSERT_INT_EQ(size, 3, "fd: abc size");
	ASSERT_INT_EQ(lseek(fd, 0, SEEK_CUR), pos, "fd: offset untouched");
	ASSERT_INT_EQ(pd_sha256_fd(fd, out, NULL, &e), 0, "fd: NULL size");
	close(fd);

	big = malloc(3 * MIB);
	memset(big, 'x', MIB + 3);
	fd = tmpfile_with(big, MIB + 3);
	ASSERT_INT_EQ(pd_sha256_fd(fd, out, &size, &e), 0,
	    "fd: 1 MiB + 3 crosses the buffer");
	ASSERT_STR_EQ(out, D_X1M3, "fd: 1 MiB + 3 value");
	ASSERT_INT_EQ(size, MIB + 3, "fd: 1 MiB + 3 size");
	close(fd);

	memset(big, 0, 3 * MIB);
	fd = tmpfile_with(big, 3 * MIB);
	ASSERT_INT_EQ(pd_sha256_fd(fd, out, &size, &e), 0, "fd: 3 MiB zeros");
	ASSERT_STR_EQ(out, D_ZERO3M, "fd: 3 MiB zeros value");
	ASSERT_INT_EQ(size, 3 * MIB, "fd: 3 MiB size");
	close(fd);
	free(big);

	ASSERT_INT_EQ(pd_sha256_fd(-1, out, &size, &e), -1, "fd: bad fd");
	ASSERT_INT_EQ(e.code, PD_E_IO, "fd: bad fd is an I/O error");
	ASSERT_STR_EQ(out, "", "fd: no digest on error");

	fd = open("/tmp", O_RDONLY | O_DIRECTORY);
	ASSERT_INT_EQ(pd_sha256_fd(fd, out, &size, &e), -1, "fd: directory");
	close(fd);
}

static void
test_valid(void)
{
	const char *d;
	char what[96];
	size_t i;

	for (i = 0; i < sizeof(valid_data) / sizeof(valid_data[0]); i++) {
		snprintf(what, sizeof(what), "valid[%zu] %.24s", i,
		    valid_data[i].in ? valid_data[i].in : "(null)");
		ASSERT_INT_EQ(pd_digest_valid(valid_data[i].in),
		    valid_data[i].valid, what);
	}
	d = D_ABC;
	ASSERT(pd_digest_hex(d) == &d[7], "hex: points into input");
	ASSERT(pd_digest_hex("sha256:zz") == NULL, "hex: NULL when invalid");
}

int
main(void)
{
	test_buf();
	test_stream();
	test_fd();
	test_valid();
	TAP_DONE();
}

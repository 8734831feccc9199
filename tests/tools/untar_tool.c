/*
 * untar_tool [-m MEDIA_TYPE] [--owner] LAYER_FILE ROOTFS_DIR
 *
 * Runs untar() on one layer file (default media type: Docker gzip) into
 * ROOTFS_DIR, unchrooted.  Prints "diff_id entries bytes" on success; on
 * failure the error message is the last line on stderr and the exit
 * status is 1.
 */
#include <sys/types.h>

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "../../extractor/untar.h"

static void
usage(void)
{
	fprintf(stderr, "usage: untar_tool [-m MEDIA_TYPE] [--owner] "
	    "LAYER_FILE ROOTFS_DIR\n");
}

int
main(int argc, char **argv)
{
	const char *mt = "application/vnd.docker.image.rootfs.diff.tar.gzip";
	enum untar_compression comp;
	struct untar_limits lim;
	struct untar_result res;
	struct pd_err err;
	int i, owner = 0, rootfd, infd;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--owner") == 0)
			owner = 1;
		else if (strcmp(argv[i], "-m") == 0 && i + 1 < argc)
			mt = argv[++i];
		else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else {
			usage();
			return 2;
		}
	}
	if (argc - i != 2) {
		usage();
		return 2;
	}
	pd_err_clear(&err);
	untar_default_limits(&lim);
	if (owner)
		lim.flags |= UNTAR_F_OWNER;
	if (untar_init(&err) == -1 ||
	    untar_compression_from_media_type(mt, &comp, &err) == -1)
		goto fail;
	if ((infd = open(argv[i], O_RDONLY | O_CLOEXEC)) == -1) {
		pd_errno(&err, PD_E_IO, "io_error: %s", argv[i]);
		goto fail;
	}
	if ((rootfd = open(argv[i + 1], O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1) {
		pd_errno(&err, PD_E_IO, "io_error: %s", argv[i + 1]);
		goto fail;
	}
	if (untar(rootfd, infd, comp, &lim, &res, &err) == -1)
		goto fail;
	printf("%s %" PRIu64 " %" PRIu64 "\n", res.diff_id, res.entries,
	    res.bytes);
	return 0;
fail:
	fflush(stdout);
	fprintf(stderr, "%s\n", err.msg);
	return 1;
}

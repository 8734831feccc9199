/*
 * extract_tool [-m MEDIA_TYPE] [-x HELPER_DIR] LAYER ROOTFS: apply one
 * layer to ROOTFS through the real, sandboxed plugind-extractor, exactly
 * as the broker does (helper_spawn + UNTAR).  Prints "diff_id entries
 * bytes", or the error on stderr's last line and exits 1.  Used to run
 * the layer corpus against the production path.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc/proc.h"
#include "log.h"

int
main(int argc, char *argv[])
{
	const char *mt = "application/vnd.docker.image.rootfs.diff.tar.gzip";
	struct extract_result res;
	char root[4096];
	struct helper h;
	struct pd_err e;
	int ch, rootfd, layerfd;

	conf_defaults(&conf);
	log_init("extract_tool", PD_LOG_WARN);
	if (getenv("PD_BUILD") != NULL)
		conf.libexec_dir = getenv("PD_BUILD");
	while ((ch = getopt(argc, argv, "m:x:")) != -1) {
		switch (ch) {
		case 'm': mt = optarg; break;
		case 'x': conf.libexec_dir = optarg; break;
		default: return 2;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "usage: extract_tool [-m MT] [-x DIR] LAYER ROOTFS\n");
		return 2;
	}
	if (realpath(argv[optind + 1], root) == NULL) {
		perror(argv[optind + 1]);
		return 1;
	}
	if ((layerfd = open(argv[optind], O_RDONLY | O_CLOEXEC)) == -1 ||
	    (rootfd = open(root, O_DIRECTORY | O_RDONLY | O_CLOEXEC)) == -1) {
		perror("open");
		return 1;
	}
	if (extract_begin(&h, rootfd, root, &e) == -1 ||
	    extract_layer(&h, layerfd, mt, &res, &e) == -1) {
		fprintf(stderr, "%s\n", e.msg);
		return 1;
	}
	extract_end(&h);
	printf("%s %llu %llu\n", res.diff_id, (unsigned long long)res.entries,
	    (unsigned long long)res.bytes);
	return 0;
}

/*
 * plugind-extractor: applies one layer to one staging rootfs.  Chrooted
 * into that rootfs, unprivileged but for the file-ownership capabilities
 * (docs/SANDBOX.md), seccomp-filtered, one job per process.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "child.h"
#include "helper_loop.h"
#include "log.h"
#include "role.h"
#include "bundle.h"
#include "manifest.h"
#include "plugincfg.h"
#include "sigattach.h"
#include "util.h"
#include "untar.h"

/* The BUNDLE_OUT fd, kept for the BUNDLE that follows it. */
struct extractor {
	int	 outfd;
};

static void
do_untar(struct pd_msg *m, void *arg)
{
	struct untar_limits lim;
	struct untar_result res;
	struct pd_untar_req u;
	struct pd_untar_done d;
	enum untar_compression comp;
	struct pd_err e;
	int rootfd, infd;

	pd_err_clear(&e);
	if (pd_dec_untar(m, &u, &e) == -1)
		fatalx("%s", e.msg);
	infd = pd_msg_take_fd(m);
	untar_default_limits(&lim);
	lim.max_bytes = u.max_bytes;
	lim.max_entries = u.max_entries;
	lim.max_path = u.max_path;
	lim.max_depth = u.max_depth;
	lim.max_name = u.max_name;
	lim.max_ratio = u.max_ratio;
	lim.max_xattr = u.max_xattr;
	lim.max_pax = u.max_pax;
	lim.max_compressed = u.max_compressed;
	lim.max_file = u.max_file;
	lim.max_links = u.max_links;
	/* "/" is the staging rootfs: we are chrooted into it. */
	if ((rootfd = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC)) == -1)
		fatal("open /");
	if (untar_compression_from_media_type(u.media_type, &comp, &e) == -1 ||
	    untar(rootfd, infd, comp, &lim, &res, &e) == -1) {
		pd_child_fail(PD_CHILD_FD, m->id, &e);
	} else {
		d.entries = res.entries;
		d.bytes = res.bytes;
		d.diff_id = res.diff_id;
		if (pd_send_untar_done(PD_CHILD_FD, m->id, &d, &e) == -1)
			fatalx("%s", e.msg);
	}
	close(rootfd);
	close(infd);
	pd_untar_req_free(&u);
}

static void
do_bundle_out(struct pd_msg *m, void *arg)
{
	struct extractor *x = arg;
	struct pd_err e;

	if (pd_dec_fd_only(m, &e) == -1)
		fatalx("%s", e.msg);
	if (x->outfd >= 0)
		close(x->outfd);
	x->outfd = pd_msg_take_fd(m);
}

static void
do_bundle(struct pd_msg *m, void *arg)
{
	struct extractor *x = arg;
	int outfd = x->outfd;
	struct pd_bundle_done d;
	struct pd_err e;
	uint32_t flags;
	int infd;

	pd_err_clear(&e);
	if (outfd < 0)
		fatalx("BUNDLE without BUNDLE_OUT");
	if (pd_dec_bundle(m, &flags, &e) == -1)
		fatalx("%s", e.msg);
	infd = pd_msg_take_fd(m);
	if (bundle_split(infd, outfd, &d, &e) == -1)
		pd_child_fail(PD_CHILD_FD, m->id, &e);
	else if (pd_send_bundle_done(PD_CHILD_FD, m->id, &d, &e) == -1)
		fatalx("%s", e.msg);
	pd_bundle_done_free(&d);
	close(infd);
	close(outfd);
	x->outfd = -1;
}

/* Decode a registry document; the broker only sees the canonical form. */
static void
do_parse(struct pd_msg *m, void *arg)
{
	struct pd_parse_req p;
	struct pd_err e;
	json_t *out = NULL;
	char *buf = NULL, *txt = NULL;
	size_t len = 0, cap;
	ssize_t n;
	int fd;

	pd_err_clear(&e);
	if (pd_dec_parse(m, &p, &e) == -1)
		fatalx("%s", e.msg);
	fd = pd_msg_take_fd(m);
	cap = p.max_size < PD_CONFIG_MAX * 8 ? (size_t)p.max_size : PD_CONFIG_MAX * 8;
	buf = xmalloc(cap + 1);
	while (len <= cap && (n = read(fd, buf + len, cap + 1 - len)) > 0)
		len += (size_t)n;
	if (len > cap)
		pd_errf(&e, PD_E_LIMIT, "document larger than %zu bytes", cap);
	else if (p.kind == PD_PARSE_MANIFEST)
		out = pd_manifest_summary(buf, len, p.content_type[0] ?
		    p.content_type : NULL, &e);
	else if (p.kind == PD_PARSE_SIGNATURES)
		out = pd_sigmanifest_summary(buf, len, &e);
	else if (p.kind == PD_PARSE_SIGPAYLOAD)
		out = pd_sigpayload_summary(buf, len, &e);
	else
		out = pd_config_canonical(buf, len, &e);
	if (out != NULL && ((txt = json_dumps(out, JSON_COMPACT)) == NULL ||
	    strlen(txt) > PD_BUNDLE_CONFIG_MAX))
		pd_errf(&e, PD_E_LIMIT, "document too large once decoded");
	else if (out != NULL && pd_send_parse_done(PD_CHILD_FD, m->id, txt, &e) == -1)
		fatalx("%s", e.msg);
	if (e.code != PD_E_OK)
		pd_child_fail(PD_CHILD_FD, m->id, &e);
	json_decref(out);
	free(txt);
	free(buf);
	close(fd);
	pd_parse_req_free(&p);
}

/* Layers of one job go into the same rootfs, in order. */
static const struct pd_handler handlers[] = {
	{ PD_MSG_BUNDLE_OUT,	do_bundle_out },
	{ PD_MSG_BUNDLE,	do_bundle },
	{ PD_MSG_PARSE,		do_parse },
	{ PD_MSG_UNTAR,		do_untar },
	{ 0,			NULL }
};

int
main(void)
{
	struct extractor x = { .outfd = -1 };
	struct pd_setup s;
	struct pd_chan ch;
	struct pd_err e;

	/*
	 * libarchive converts names with the C library's multibyte functions;
	 * the locale must be loaded before the chroot hides its files.
	 */
	if (untar_init(&e) == -1)
		fatalx("%s", e.msg);
	pd_child_init(PD_ROLE_EXTRACTOR, &ch, &s);
	pd_helper_loop(&ch, handlers, &x);
	return 0;
}

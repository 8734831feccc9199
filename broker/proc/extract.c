/*
 * Driving the extractor: one process per staging rootfs, layers applied
 * in order, each as an fd.  The broker never reads the tar stream; it
 * only checks what the extractor reports against what it expects.
 */
#include <stdio.h>
#include <string.h>

#include "proc/proc.h"
#include "digest.h"
#include "role.h"

void
extract_limits(struct pd_untar_req *u, const char *media_type)
{
	memset(u, 0, sizeof(*u));
	u->media_type = (char *)(uintptr_t)media_type;
	u->max_bytes = conf.limits.max_layer_bytes;
	u->max_entries = conf.limits.max_entries;
	u->max_path = conf.limits.max_path;
	u->max_depth = conf.limits.max_depth;
	u->max_name = 255;
	u->max_ratio = conf.limits.max_ratio;
	u->max_xattr = conf.limits.max_xattr;
	u->max_pax = conf.limits.max_pax;
	u->max_compressed = conf.limits.max_compressed;
	u->max_file = conf.limits.max_file;
	u->max_links = conf.limits.max_links;
}

int
extract_begin(struct helper *h, int rootfd, const char *rootpath,
    struct pd_err *e)
{
	return helper_spawn(h, PD_ROLE_EXTRACTOR, rootfd, rootpath, e);
}

/*
 * A fresh staging rootfs named after `kind` (its dir in *st, the
 * caller's to discard) and an extractor chrooted into it: a warm spare
 * with the staging made for it, or both made now (helper_get).
 */
int
extract_begin_staged(struct helper *h, const char *kind, struct stage *st,
    struct pd_err *e)
{
	return helper_get(h, PD_ROLE_EXTRACTOR, kind, st, e);
}

/* Send one layer (read from layerfd to EOF) to the extractor. */
int
extract_layer_start(struct helper *h, int layerfd, const char *media_type,
    struct pd_err *e)
{
	struct pd_untar_req u;
	struct pd_err ie;

	extract_limits(&u, media_type);
	if (pd_send_untar(h->sock, 1, layerfd, &u, &ie) == -1)
		return helper_send_failed(h, e, ie.msg);
	return 0;
}

/*
 * Wait for the extractor's verdict on the layer.  On success fills *res
 * (diff_id is "sha256:<hex>" of the uncompressed stream, as the extractor
 * computed it).  On failure the helper is gone and the caller must
 * discard the staging tree.
 */
int
extract_layer_wait(struct helper *h, struct extract_result *res,
    struct pd_err *e)
{
	static const uint32_t done[] = { PD_MSG_UNTAR_DONE };
	struct pd_untar_done d;
	struct pd_msg m;
	struct pd_err ie;

	pd_err_clear(&ie);
	if (helper_recv(h, done, 1, (int)conf.limits.extract_timeout * 1000, &m,
	    e) == -1) {
		helper_kill(h);
		return -1;
	}
	if (pd_dec_untar_done(&m, &d, &ie) == -1 || !pd_digest_valid(d.diff_id)) {
		pd_msg_clear(&m);
		if (ie.msg[0] == '\0')
			snprintf(ie.msg, sizeof(ie.msg), "invalid diff_id");
		pd_untar_done_free(&d);
		helper_kill(h);
		return pd_errf(e, PD_E_PROTO, "extractor sent a bad UNTAR_DONE: %s",
		    ie.msg);
	}
	pd_msg_clear(&m);
	res->entries = d.entries;
	res->bytes = d.bytes;
	snprintf(res->diff_id, sizeof(res->diff_id), "%s", d.diff_id);
	pd_untar_done_free(&d);
	return 0;
}

int
extract_layer(struct helper *h, int layerfd, const char *media_type,
    struct extract_result *res, struct pd_err *e)
{
	if (extract_layer_start(h, layerfd, media_type, e) == -1)
		return -1;
	return extract_layer_wait(h, res, e);
}

void
extract_end(struct helper *h)
{
	helper_stop(h);
}

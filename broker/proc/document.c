/*
 * Registry documents (manifests, indexes, plugin configs) are decoded by
 * a helper, never by the broker: a fresh extractor process, chrooted into
 * an empty directory, reads the bytes from a sealed memfd and answers with
 * a small canonical JSON summary.  The broker decodes only that.
 */
#include <sys/mman.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc/proc.h"
#include "role.h"
#include "util.h"

json_t *
parse_document(int kind, const void *buf, size_t len, const char *ctype,
    struct pd_err *e)
{
	static const uint32_t done[] = { PD_MSG_PARSE_DONE };
	struct pd_parse_req req;
	char root[4096], *txt = NULL;
	json_error_t jerr;
	struct helper h;
	struct pd_msg m;
	struct pd_err ie;
	json_t *out = NULL;
	int memfd = -1, rootfd = -1;

	snprintf(root, sizeof(root), "%s/tmp/parse-XXXXXX", conf.data_root);
	if (mkdtemp(root) == NULL) {
		pd_errno(e, PD_E_IO, "mkdtemp %s", root);
		return NULL;
	}
	memfd = memfd_create("pd-document", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (memfd == -1 || pd_write_full(memfd, buf, len) == -1 ||
	    lseek(memfd, 0, SEEK_SET) == -1 ||
	    fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE |
	    F_SEAL_SEAL) == -1) {
		pd_errno(e, PD_E_INTERNAL, "memfd");
		goto out;
	}
	if ((rootfd = open(root, O_DIRECTORY | O_RDONLY | O_CLOEXEC)) == -1) {
		pd_errno(e, PD_E_IO, "open %s", root);
		goto out;
	}
	if (helper_spawn(&h, PD_ROLE_EXTRACTOR, rootfd, root, e) == -1)
		goto out;
	req.kind = (uint32_t)kind;
	req.max_size = conf.limits.max_manifest;
	req.content_type = (char *)(uintptr_t)(ctype ? ctype : "");
	if (pd_send_parse(h.sock, 1, memfd, &req, &ie) == -1) {
		(void)helper_send_failed(&h, e, ie.msg);
		goto out;
	}
	if (helper_recv(&h, done, 1, (int)conf.limits.helper_timeout * 1000, &m,
	    e) == -1) {
		helper_kill(&h);
		goto out;
	}
	if (pd_dec_parse_done(&m, &txt, &ie) == -1) {
		pd_msg_clear(&m);
		helper_kill(&h);
		pd_errf(e, PD_E_PROTO, "extractor: %s", ie.msg);
		goto out;
	}
	pd_msg_clear(&m);
	helper_stop(&h);
	out = json_loads(txt, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(out)) {
		json_decref(out);
		out = NULL;
		pd_errf(e, PD_E_PROTO, "extractor returned an invalid summary");
	}
out:
	free(txt);
	if (memfd >= 0)
		close(memfd);
	if (rootfd >= 0)
		close(rootfd);
	(void)rmdir(root);
	return out;
}

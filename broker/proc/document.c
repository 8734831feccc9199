/*
 * Registry documents (manifests, indexes, plugin configs) are decoded by
 * a helper, never by the broker: an extractor process chrooted into an
 * empty directory made for it reads the bytes from a sealed memfd and
 * answers with a small canonical JSON summary.  The broker decodes only
 * that.  The documents of one job (its manifests, then its config) go
 * to the same parser, one request each (docs/PRIVSEP.md "The parser").
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

/* The document's bytes in a sealed memfd: the parser cannot change them. */
static int
document_memfd(const void *buf, size_t len, struct pd_err *e)
{
	int fd;

	fd = memfd_create("pd-document", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd == -1 || pd_write_full(fd, buf, len) == -1 ||
	    lseek(fd, 0, SEEK_SET) == -1 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE |
	    F_SEAL_SEAL) == -1) {
		pd_errno(e, PD_E_INTERNAL, "memfd");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Send one document, wait for its summary: its text, or NULL. */
static char *
parser_request(struct parser *p, int kind, int memfd, const char *ctype,
    struct pd_err *e)
{
	static const uint32_t done[] = { PD_MSG_PARSE_DONE };
	struct pd_parse_req req;
	struct pd_msg m;
	struct pd_err ie;
	char *txt = NULL;

	req.kind = (uint32_t)kind;
	req.max_size = conf.limits.max_manifest;
	req.content_type = (char *)(uintptr_t)(ctype ? ctype : "");
	if (pd_send_parse(p->h.sock, p->h.want_id, memfd, &req, &ie) == -1) {
		(void)helper_send_failed(&p->h, e, ie.msg);
		return NULL;
	}
	if (helper_recv(&p->h, done, 1, (int)conf.limits.helper_timeout * 1000,
	    &m, e) == -1) {
		helper_kill(&p->h);
		return NULL;
	}
	if (pd_dec_parse_done(&m, &txt, &ie) == -1) {
		pd_msg_clear(&m);
		helper_kill(&p->h);
		pd_errf(e, PD_E_PROTO, "extractor: %s", ie.msg);
		return NULL;
	}
	pd_msg_clear(&m);
	p->h.want_id++;
	return txt;
}

/*
 * Parse one document with the job's parser, started (or taken warm) at
 * its first document.  On failure the parser is gone: close it.
 */
json_t *
parser_parse(struct parser *p, int kind, const void *buf, size_t len,
    const char *ctype, struct pd_err *e)
{
	json_error_t jerr;
	json_t *out;
	char *txt;
	int memfd;

	if ((memfd = document_memfd(buf, len, e)) == -1)
		return NULL;
	if (!p->open && helper_get(&p->h, PD_ROLE_EXTRACTOR, "parse", &p->st,
	    e) == 0)
		p->open = 1;
	txt = p->open ? parser_request(p, kind, memfd, ctype, e) : NULL;
	close(memfd);
	if (txt == NULL)
		return NULL;
	out = json_loads(txt, JSON_REJECT_DUPLICATES, &jerr);
	free(txt);
	if (!json_is_object(out)) {
		json_decref(out);
		pd_errf(e, PD_E_PROTO, "extractor returned an invalid summary");
		return NULL;
	}
	return out;
}

/* Stop the parser (if it still runs) and remove its empty root. */
void
parser_close(struct parser *p)
{
	if (p->open) {
		if (p->h.pid > 0)
			helper_stop(&p->h);
		stage_discard(&p->st);
	}
	p->open = 0;
}

/* One document, one parser. */
json_t *
parse_document(int kind, const void *buf, size_t len, const char *ctype,
    struct pd_err *e)
{
	struct parser p;
	json_t *out;

	memset(&p, 0, sizeof(p));
	out = parser_parse(&p, kind, buf, len, ctype, e);
	parser_close(&p);
	return out;
}

/*
 * libFuzzer harnesses for every decoder that reads bytes from a peer:
 * message framing, each message payload, control requests, references,
 * manifests/indexes, plugin configs, and HTTP requests as plugind-api
 * reads them (api/http.c, fed through a socketpair).  One source, the target picked
 * with -DFUZZ_<NAME>.  Built by tests/fuzz/test_fuzz_decoders.sh.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "manifest.h"
#include "msg.h"
#include "plugincfg.h"
#include "proto.h"
#include "ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#if defined(FUZZ_PROTO)
/* Framing from a byte stream, then every decoder on every message. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct pd_chan ch;
	struct pd_msg m;
	struct pd_err e;
	size_t n = len > PD_MSG_HDRLEN + PD_MSG_MAXPAYLOAD ?
	    PD_MSG_HDRLEN + PD_MSG_MAXPAYLOAD : len;

	if (pd_chan_init(&ch, -1, 1) == -1)
		return 0;
	memcpy(ch.buf, data, n);
	ch.buflen = n;
	while (pd_msg_parse(&ch, &m, &e) == 1) {
		struct pd_hello h;
		struct pd_setup s;
		struct pd_setup_done sd;
		struct pd_log l;
		struct pd_error_msg em;
		struct pd_progress p;
		struct pd_ctlreq q;
		struct pd_untar_req u;
		struct pd_untar_done ud;
		struct pd_fetch_tls ft;
		struct pd_fetch_req fr;
		struct pd_fetch_result fres;
		struct pd_bundle_done bd;
		struct pd_parse_req pr;
		uint32_t flags;
		char *txt;

		if (pd_dec_hello(&m, &h, &e) == 0)
			pd_hello_free(&h);
		if (pd_dec_setup(&m, &s, &e) == 0)
			pd_setup_free(&s);
		(void)pd_dec_setup_done(&m, &sd, &e);
		if (pd_dec_log(&m, &l, &e) == 0)
			pd_log_free(&l);
		if (pd_dec_error(&m, &em, &e) == 0)
			pd_error_msg_free(&em);
		if (pd_dec_progress(&m, &p, &e) == 0)
			pd_progress_free(&p);
		if (pd_dec_ctlreq(&m, &q, &e) == 0)
			pd_ctlreq_free(&q);
		if (pd_dec_untar(&m, &u, &e) == 0)
			pd_untar_req_free(&u);
		if (pd_dec_untar_done(&m, &ud, &e) == 0)
			pd_untar_done_free(&ud);
		if (pd_dec_fetch_tls(&m, &ft, &e) == 0)
			pd_fetch_tls_free(&ft);
		if (pd_dec_fetch(&m, &fr, &e) == 0)
			pd_fetch_req_free(&fr);
		if (pd_dec_fetch_result(&m, &fres, &e) == 0)
			pd_fetch_result_free(&fres);
		if (pd_dec_bundle_done(&m, &bd, &e) == 0)
			pd_bundle_done_free(&bd);
		if (pd_dec_parse(&m, &pr, &e) == 0)
			pd_parse_req_free(&pr);
		if (pd_dec_parse_done(&m, &txt, &e) == 0)
			free(txt);
		(void)pd_dec_bundle(&m, &flags, &e);
		(void)pd_dec_fd_only(&m, &e);
		(void)pd_dec_empty(&m, &e);
		pd_msg_clear(&m);
	}
	ch.nfds = 0;
	pd_chan_free(&ch);
	return 0;
}
#elif defined(FUZZ_REF)
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char s[1024], out[1200];
	struct pd_ref r;
	struct pd_err e;

	if (len >= sizeof(s))
		return 0;
	memcpy(s, data, len);
	s[len] = '\0';
	if (pd_ref_parse(s, &r, &e) == 0) {
		pd_ref_tag_default(&r);
		(void)pd_ref_full(&r, out, sizeof(out));
		(void)pd_ref_familiar(&r, out, sizeof(out));
		(void)pd_ref_repo_url_host(&r, out, sizeof(out));
	}
	return 0;
}
#elif defined(FUZZ_MANIFEST)
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct pd_err e;
	json_t *j;

	j = pd_manifest_summary((const char *)data, len, NULL, &e);
	if (j != NULL && strcmp(json_string_value(json_object_get(j, "kind")),
	    "index") == 0)
		(void)pd_index_select(j, "linux", "amd64", &e);
	json_decref(j);
	return 0;
}
#elif defined(FUZZ_CONFIG)
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct pd_err e;
	json_t *j, *p;

	if ((j = pd_config_canonical((const char *)data, len, &e)) != NULL) {
		p = pd_config_privileges(j);
		json_decref(p);
		p = pd_config_settings(j);
		json_decref(p);
		json_decref(j);
	}
	return 0;
}
#elif defined(FUZZ_HTTP)
#include <sys/socket.h>
#include <fcntl.h>

#include "apid.h"
#include "http.h"

static struct http_conn	fc;
static struct http_req	fr;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct pd_err e;
	char *body, v[256];
	size_t n;
	int sv[2], i;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		return 0;
	n = 256 * 1024;
	(void)setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &n, sizeof(n));
	if (write(sv[1], data, len) != (ssize_t)len) {
		close(sv[0]);
		close(sv[1]);
		return 0;
	}
	close(sv[1]);
	memset(&fc, 0, sizeof(fc));
	fc.fd = sv[0];
	(void)fcntl(sv[0], F_SETFL, O_NONBLOCK);
	/* up to four pipelined requests, bodies read as the routes do */
	for (i = 0; i < 4 && http_read_request(&fc, &fr, &e) == 1; i++) {
		(void)http_query(&fr, "name", v, sizeof(v));
		(void)http_query_bool(&fr, "force");
		if ((body = (char *)(uintptr_t)http_header(&fr, "X-Registry-Auth")))
			free(api_b64url_decode(body, &n));
		if (http_body_all(&fc, &fr, 65536, &body, &n, &e) == 0)
			free(body);
		if (fc.desync || fc.broken)
			break;
	}
	close(sv[0]);
	return 0;
}
#else
#error "define one of FUZZ_PROTO, FUZZ_REF, FUZZ_MANIFEST, FUZZ_CONFIG, FUZZ_HTTP"
#endif

/*
 * libFuzzer harnesses for every decoder that reads bytes from a peer:
 * message framing and each message payload (PROTO), the control socket
 * conversation (CTLREQ), references (REF), manifests (MANIFEST), indexes
 * and platform selection (INDEX), plugin configs (CONFIG), token server
 * answers (TOKEN), WWW-Authenticate headers (WWWAUTH), the trust policy
 * file and its checks (POLICY), and HTTP requests
 * as plugind-api reads them (HTTP: api/http.c, fed through a socketpair),
 * terminal-safe text (TERMSAFE: common/termsafe.c, which pluginctl
 * runs over every hostile string it prints), sigstore signature
 * payloads (SIGPAYLOAD: common/sigpayload.c) and sigstore attachment
 * manifests (SIGMANIFEST: common/sigattach.c).
 * The tar path has its own harness, fuzz_untar.c.  One source, the target
 * picked with -DFUZZ_<NAME>.  Built and run by
 * tests/fuzz/test_fuzz_decoders.sh, which also replays
 * tests/fuzz/regress/<name>/.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "digest.h"
#include "manifest.h"
#include "msg.h"
#include "plugincfg.h"
#include "proto.h"
#include "ref.h"
#include "sigattach.h"
#include "sigpayload.h"
#include "sigverify.h"
#include "termsafe.h"
#include "registry.h"
#include "wwwauth.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#if defined(FUZZ_PROTO) || defined(FUZZ_CTLREQ)
/*
 * A channel holding len bytes as if received, with PD_CHAN_MAXFDS open
 * descriptors queued so messages that announce an fd reach their payload
 * decoder.  Returns -1 when the fds or the buffer can't be had.
 */
static int
chan_fill(struct pd_chan *ch, const uint8_t *data, size_t len)
{
	size_t n = len > PD_MSG_HDRLEN + PD_MSG_MAXPAYLOAD ?
	    PD_MSG_HDRLEN + PD_MSG_MAXPAYLOAD : len;

	if (pd_chan_init(ch, -1, 1) == -1)
		return -1;
	memcpy(ch->buf, data, n);
	ch->buflen = n;
	while (ch->nfds < PD_CHAN_MAXFDS) {
		if ((ch->fds[ch->nfds] = open("/dev/null", O_RDONLY |
		    O_CLOEXEC)) == -1) {
			pd_chan_free(ch);
			return -1;
		}
		ch->nfds++;
	}
	return 0;
}
#endif

#if defined(FUZZ_PROTO)
/* Framing from a byte stream, then every decoder on every message. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct pd_chan ch;
	struct pd_msg m;
	struct pd_err e;

	if (chan_fill(&ch, data, len) == -1)
		return 0;
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
		struct pd_push_req pu;
		struct pd_push_result pres;
		struct pd_gateway_req gw;
		uint32_t flags, op;
		char *txt, *vol, *mnt;

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
		if (pd_dec_push(&m, &pu, &e) == 0)
			pd_push_req_free(&pu);
		if (pd_dec_push_result(&m, &pres, &e) == 0)
			pd_push_result_free(&pres);
		if (pd_dec_gateway(&m, &gw, &e) == 0)
			pd_gateway_req_free(&gw);
		if (pd_dec_use(&m, &op, &vol, &mnt, &e) == 0) {
			free(vol);
			free(mnt);
		}
		(void)pd_dec_bundle(&m, &flags, &e);
		(void)pd_dec_fd_only(&m, &e);
		(void)pd_dec_empty(&m, &e);
		pd_msg_clear(&m);
	}
	pd_chan_free(&ch);
	return 0;
}
#elif defined(FUZZ_CTLREQ)
/*
 * The broker's side of a control connection (broker/ctl/control.c): HELLO
 * first, then requests until one does not decode.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct pd_chan ch;
	struct pd_ctlreq q;
	struct pd_hello h;
	struct pd_msg m;
	struct pd_err e;
	int fd;

	if (chan_fill(&ch, data, len) == -1)
		return 0;
	if (pd_msg_parse(&ch, &m, &e) != 1)
		goto out;
	if (m.type != PD_MSG_HELLO || pd_dec_hello(&m, &h, &e) == -1) {
		pd_msg_clear(&m);
		goto out;
	}
	pd_msg_clear(&m);
	pd_hello_free(&h);
	while (pd_msg_parse(&ch, &m, &e) == 1) {
		if (pd_dec_ctlreq(&m, &q, &e) == -1) {
			pd_msg_clear(&m);
			break;
		}
		if (pd_verb_lookup(m.type) == NULL)
			abort();	/* decoded a request of no known verb */
		if ((fd = pd_msg_take_fd(&m)) != -1)
			close(fd);
		pd_msg_clear(&m);
		pd_ctlreq_free(&q);
	}
out:
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
#elif defined(FUZZ_INDEX)
/* The first byte picks the platform asked for; the rest is the index. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const char *const plat[][2] = {
		{ "linux", "amd64" }, { "linux", "arm64" }, { "windows", "amd64" },
		{ "linux", "" }, { "", "" },
	};
	const char *const *p;
	struct pd_err e;
	const json_t *m;
	json_t *j;

	if (len == 0)
		return 0;
	p = plat[data[0] % (sizeof(plat) / sizeof(plat[0]))];
	j = pd_manifest_summary((const char *)data + 1, len - 1, MT_OCI_INDEX, &e);
	if (j == NULL)
		return 0;
	if (strcmp(json_string_value(json_object_get(j, "kind")), "index") == 0 &&
	    (m = pd_index_select(j, p[0], p[1], &e)) != NULL &&
	    !pd_digest_valid(json_string_value(json_object_get(m, "digest"))))
		abort();	/* selected an entry without a valid digest */
	json_decref(j);
	return 0;
}
#elif defined(FUZZ_TOKEN)
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct pd_err e;
	char *tok;
	long ttl = 0;

	if (reg_parse_token((const char *)data, len, &tok, &ttl, &e) == 0) {
		if (tok == NULL || strlen(tok) > REG_TOKEN_MAX ||
		    ttl < REG_TOKEN_TTL_MIN || ttl > REG_TOKEN_TTL_MAX)
			abort();	/* accepted something out of contract */
		free(tok);
	} else if (tok != NULL)
		abort();	/* failed but handed out a token */
	return 0;
}
#elif defined(FUZZ_WWWAUTH)
/* The first input byte selects how the rest is split into header lines. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct wwwauth w;
	struct pd_err e;
	const struct wwwauth_chal *ch;
	const char *p, *nl, *end;
	size_t i;

	if (size == 0)
		return 0;
	wwwauth_init(&w);
	p = (const char *)data + 1;
	end = (const char *)data + size;
	if (data[0] & 1) {
		/* one header line per '\n' */
		while (p < end) {
			nl = memchr(p, '\n', (size_t)(end - p));
			if (nl == NULL)
				nl = end;
			if (wwwauth_parse(&w, p, (size_t)(nl - p), &e) == -1)
				break;
			p = nl + 1;
		}
	} else
		(void)wwwauth_parse(&w, p, (size_t)(end - p), &e);
	/* Touch every string: ASan checks they are inside the arena. */
	for (i = 0; i < w.nchal; i++) {
		ch = &w.chal[i];
		(void)strlen(ch->scheme_name);
		if (ch->token68 != NULL)
			(void)strlen(ch->token68);
		(void)wwwauth_param(ch, "realm");
	}
	(void)wwwauth_find(&w, WWWAUTH_BEARER);
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
#elif defined(FUZZ_POLICY)
#include "state/policy.h"

/*
 * The trust policy's decoder (broker/state/policy.c), and what it
 * accepts judged against a few references and a config with every
 * privilege: scope matching and every ceiling check.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const char *refs[] = { "127.0.0.1:5000/acme/vol:v1", "busybox",
	    "docker.io/library/busybox", "localhost/a/b/c", "h.io/acme/",
	    "vieux/sshfs:next" };
	static const char cfgtext[] = "{\"entrypoint\": [\"/p\"], "
	    "\"interface\": {\"socket\": \"p.sock\", \"types\": "
	    "[\"docker.volumedriver/1.0\"]}, \"network\": {\"type\": "
	    "\"host\"}, \"pidhost\": true, \"ipchost\": true, "
	    "\"propagatedmount\": \"/data\", \"linux\": {\"capabilities\": "
	    "[\"CAP_SYS_ADMIN\"], \"allowAllDevices\": true, \"devices\": "
	    "[{\"path\": \"/dev/fuse\"}]}, \"mounts\": [{\"source\": "
	    "\"/srv/a\", \"destination\": \"/srv\", \"type\": \"bind\", "
	    "\"options\": [\"ro\"]}, {\"destination\": \"/t\", \"type\": "
	    "\"tmpfs\"}]}";
	static json_t *cfg;
	struct pd_err e;
	json_t *pol;
	size_t i;

	if (cfg == NULL &&
	    (cfg = pd_config_canonical(cfgtext, strlen(cfgtext), &e)) == NULL)
		abort();
	if ((pol = policy_decode((const char *)data, len, "fuzz", &e)) == NULL)
		return 0;
	for (i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
		(void)policy_judge(pol, refs[i], NULL, NULL, &e);
		(void)policy_judge(pol, refs[i], cfg, "", &e);
	}
	json_decref(pol);
	return 0;
}
#elif defined(FUZZ_HTTP)
#include <sys/socket.h>

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
#elif defined(FUZZ_TERMSAFE)
/*
 * Terminal-safe text (common/termsafe.c) under every flag combination:
 * the output must hold no byte a terminal interprets (C0 but the kept
 * \n and \t, DEL), must be valid UTF-8 without C1 controls or bidi
 * overrides, must fit PD_TS_MAXLEN and report its own length; a cut
 * buffer must hold a prefix of the whole text.
 */
static void
ts_check(const char *o, size_t n, int flags)
{
	const unsigned char *s = (const unsigned char *)o;
	size_t i = 0, k, len;
	uint32_t c;

	while (i < n) {
		if (s[i] < 0x80) {
			if ((s[i] < 0x20 && !((s[i] == '\n' || s[i] == '\t') &&
			    (flags & (PD_TS_MULTILINE | PD_TS_JSON)))) || s[i] == 0x7f)
				abort();
			i++;
			continue;
		}
		len = s[i] >= 0xf0 ? 4 : s[i] >= 0xe0 ? 3 : s[i] >= 0xc2 ? 2 : 0;
		if (len == 0 || i + len > n)
			abort();
		c = s[i] & (0xff >> (len + 1));
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				abort();
			c = (c << 6) | (s[i + k] & 0x3f);
		}
		if (c <= 0x9f || (c >= 0x202a && c <= 0x202e) ||
		    (c >= 0x2066 && c <= 0x2069) || c == 0x200e || c == 0x200f ||
		    c == 0x061c || (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
			abort();
		if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000))
			abort();
		i += len;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char *full, cut[17];
	size_t n;
	int flags;

	if (len == 0)
		return 0;
	flags = data[0] & (PD_TS_MULTILINE | PD_TS_QUOTE | PD_TS_JSON);
	data++, len--;
	full = pd_termsafe_dup((const char *)data, len, flags);
	n = strlen(full);
	if (n >= PD_TS_MAXLEN(len) || pd_termsafe(NULL, 0, (const char *)data,
	    len, flags) != n)
		abort();
	ts_check(full, n, flags);
	(void)pd_termsafe(cut, sizeof(cut), (const char *)data, len, flags);
	if (strncmp(full, cut, strlen(cut)) != 0)
		abort();
	ts_check(cut, strlen(cut), flags);
	if (pd_termsafe_tail((const char *)data, len) > 3)
		abort();
	free(full);
	return 0;
}
#elif defined(FUZZ_SIGPAYLOAD)
/* A decoded payload has a valid digest and a NUL-free, bounded reference. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct pd_sigpayload p;
	struct pd_err e;

	if (pd_sigpayload_decode((const char *)data, len, &p, &e) == 0 &&
	    (!pd_digest_valid(p.digest) || p.reference[0] == '\0' ||
	    strlen(p.reference) >= sizeof(p.reference)))
		abort();
	return 0;
}
#elif defined(FUZZ_SIGMANIFEST)
/*
 * A summary holds at most PD_SIG_MAX entries, each a valid digest, a
 * size within PD_SIGPAYLOAD_MAX and a bounded signature, and fits the
 * PARSE_DONE message.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	const json_t *s;
	struct pd_err e;
	json_t *j, *sigs;
	char *txt;
	size_t i;

	if ((j = pd_sigmanifest_summary((const char *)data, len, &e)) == NULL)
		return 0;
	sigs = json_object_get(j, "signatures");
	if (!json_is_array(sigs) || json_array_size(sigs) > PD_SIG_MAX)
		abort();
	json_array_foreach(sigs, i, s)
		if (!pd_digest_valid(json_string_value(json_object_get(s,
		    "digest"))) || json_integer_value(json_object_get(s,
		    "size")) > PD_SIGPAYLOAD_MAX || json_string_length(
		    json_object_get(s, "signature")) > PD_SIG_B64_MAX)
			abort();
	if ((txt = json_dumps(j, JSON_COMPACT)) == NULL ||
	    strlen(txt) > PD_BUNDLE_CONFIG_MAX)
		abort();
	free(txt);
	json_decref(j);
	return 0;
}
#else
#error "define one of FUZZ_PROTO, FUZZ_CTLREQ, FUZZ_REF, FUZZ_MANIFEST, FUZZ_INDEX, FUZZ_CONFIG, FUZZ_POLICY, FUZZ_TOKEN, FUZZ_WWWAUTH, FUZZ_HTTP, FUZZ_TERMSAFE, FUZZ_SIGPAYLOAD, FUZZ_SIGMANIFEST"
#endif

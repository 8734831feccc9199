/*
 * pluginctl: the command-line client.  It mirrors `docker plugin`: same
 * verbs, flags and output.  It talks to plugind over the control socket;
 * files the user names (create's context) are opened here, with the
 * user's own rights, and passed as file descriptors.  The verbs are
 * here; the command table, help and main() are in main.c.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <pwd.h>

#include "pluginctl.h"
#include "log.h"
#include "proto.h"
#include "ref.h"
#include "sigsign.h"
#include "sigpayload.h"
#include "sigverify.h"
#include "termsafe.h"
#include "util.h"

const char	*host;

/*
 * Every string that came from the broker, a registry, a plugin config or
 * a plugin is printed through these (common/termsafe.h): control bytes,
 * C1, bidi overrides and invalid UTF-8 become visible escapes.  The
 * results live in a small ring, so a printf may use several at once.
 */
static char	*ts_ring[16];
static unsigned	 ts_next;

static const char *
ts_keep(char *s)
{
	unsigned i = ts_next++ % (sizeof(ts_ring) / sizeof(ts_ring[0]));

	free(ts_ring[i]);
	return ts_ring[i] = s;
}

/* One line of text; NULL prints as "". */
const char *
tsafe(const char *s)
{
	return ts_keep(pd_termsafe_dup(s ? s : "", s ? strlen(s) : 0, 0));
}

/* A value in the privileges prompt: quoted, so its bounds show. */
static const char *
tquote(const char *s)
{
	return ts_keep(pd_termsafe_dup(s ? s : "", s ? strlen(s) : 0,
	    PD_TS_QUOTE));
}

/* JSON text (jansson escaped C0 already; DEL, C1 and bidi as \uXXXX). */
static void
put_json(FILE *f, const char *json)
{
	char *s = pd_termsafe_dup(json, strlen(json), PD_TS_JSON);

	fputs(s, f);
	free(s);
}

/* The whole message is escaped: broker errors quote hostile strings. */
void __dead
die(const char *fmt, ...)
{
	va_list ap;
	char *msg;

	fflush(stdout);
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		msg = NULL;
	va_end(ap);
	fprintf(stderr, "pluginctl: error: %s\n", msg ? tsafe(msg) : fmt);
	free(msg);
	exit(1);
}

static void __dead
usage_fail(const char *cmd, const char *synopsis)
{
	fprintf(stderr, "\"pluginctl %s\" requires arguments.\n\nUsage:  pluginctl "
	    "%s\n", cmd, synopsis);
	exit(1);
}

static const char *
socket_path(void)
{
	const char *h = host;

	if (h == NULL && (h = getenv("PLUGIND_HOST")) == NULL)
		return PD_DEFAULT_SOCKET;
	if (strncmp(h, "unix://", 7) != 0 || h[7] != '/')
		die("invalid host \"%s\": only unix:///absolute/path is supported", h);
	return h + 7;
}

static int
connect_broker(void)
{
	const char *path = socket_path();
	struct sockaddr_un sun;
	struct pd_hello hello;
	struct pd_chan ch;
	struct pd_msg m;
	struct pd_err e;
	char senderr[PD_ERR_MSGLEN];
	struct stat st;
	int fd, r, sent;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		die("socket path %s is too long", path);
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		die("socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		int err = errno;

		if (err == ENOENT && stat(path, &st) == -1)
			die("cannot connect to plugind at unix://%s: the socket does not "
			    "exist (is plugind running?)", path);
		if (err == EACCES || err == EPERM)
			die("cannot connect to plugind at unix://%s: permission denied "
			    "(root or group " PD_CTL_GROUP " required)", path);
		if (err == ECONNREFUSED)
			die("cannot connect to plugind at unix://%s: connection refused "
			    "(stale socket; is plugind running?)", path);
		die("cannot connect to plugind at unix://%s: %s", path, strerror(err));
	}
	hello.version = PD_PROTO_VERSION;
	hello.agent = (char *)(uintptr_t)"pluginctl " PD_VERSION;
	/*
	 * A broker over its connection limits answers CTL_FAIL and closes
	 * without reading: the HELLO may then fail with EPIPE, but the reason
	 * is waiting to be read, so read before reporting the send error.
	 */
	if ((sent = pd_send_hello(fd, 1, &hello, &e)) == -1 && e.code != PD_E_IO)
		die("%s", e.msg);
	if (pd_chan_init(&ch, fd, 0) == -1)
		die("out of memory");
	if (sent == -1)
		snprintf(senderr, sizeof(senderr), "%s", e.msg);
	r = pd_msg_recv(&ch, &m, 30000, &e);
	if (r != 1)
		die("no answer from plugind at unix://%s%s%s", path,
		    sent == -1 || r ? ": " : "", sent == -1 ? senderr : r ? e.msg : "");
	if (m.type == PD_CTL_FAIL) {
		struct pd_error_msg em;

		if (pd_dec_error(&m, &em, &e) == 0)
			die("%s", em.msg);
		die("plugind refused the connection");
	}
	if (m.type != PD_MSG_HELLO || pd_dec_hello(&m, &hello, &e) == -1)
		die("unexpected answer from plugind");
	pd_hello_free(&hello);
	pd_msg_clear(&m);
	pd_chan_free(&ch);
	return fd;
}

struct reply {
	char	*data;
	size_t	 len;
};

/*
 * Progress: on a terminal, one line per layer redrawn in place with a
 * bar; otherwise a plain line per status change (as docker does).
 */
#define MAXLINES	64
static char	 prog_ids[MAXLINES][64];
static char	 prog_last[MAXLINES][64];
static int	 prog_n;
static int	 prog_tty = -1;

static void
bar(char *out, size_t len, uint64_t cur, uint64_t total)
{
	char a[32], b[32];
	int w = 30, fill = total ? (int)(cur * (uint64_t)w / total) : 0, i;
	size_t o = 0;

	if (fill > w)
		fill = w;
	out[o++] = '[';
	for (i = 0; i < w && o + 2 < len; i++)
		out[o++] = i < fill ? '=' : (i == fill ? '>' : ' ');
	out[o++] = ']';
	out[o] = '\0';
	pd_human_size(cur, a, sizeof(a));
	pd_human_size(total, b, sizeof(b));
	snprintf(out + o, len - o, " %s/%s", a, b);
}

static void
progress_line(const struct pd_progress *p)
{
	char detail[128] = "";
	int i;

	if (prog_tty == -1)
		prog_tty = isatty(1);
	if (p->id[0] == '\0') {
		printf("%s\n", tsafe(p->status));
		fflush(stdout);
		return;
	}
	for (i = 0; i < prog_n; i++)
		if (strcmp(prog_ids[i], p->id) == 0)
			break;
	if (i == prog_n && prog_n < MAXLINES) {
		snprintf(prog_ids[prog_n], sizeof(prog_ids[0]), "%s", p->id);
		prog_last[prog_n][0] = '\0';
		prog_n++;
		if (prog_tty)
			printf("\n");
	}
	if (i == MAXLINES)
		return;
	if (p->total > 0 && (strcmp(p->status, "Downloading") == 0 ||
	    strcmp(p->status, "Pushing") == 0))
		bar(detail, sizeof(detail), p->current, p->total);
	if (!prog_tty) {
		/* plain output: one line per status change */
		if (strcmp(prog_last[i], p->status) != 0)
			printf("%s: %s\n", tsafe(p->id), tsafe(p->status));
	} else
		printf("\033[%dA\r\033[2K%s: %s %s\033[%dB\r", prog_n - i,
		    tsafe(p->id), tsafe(p->status), detail, prog_n - i);
	snprintf(prog_last[i], sizeof(prog_last[0]), "%s", p->status);
	fflush(stdout);
}

/* When set, CTL_DATA goes here as it arrives instead of into the reply. */
static void	(*data_sink)(const char *, size_t);

/* Send one request and collect the reply; dies with the broker's error. */
static void
request(uint32_t type, uint32_t flags, uint32_t timeout, int fd, char **args,
    int nargs, struct reply *out)
{
	struct pd_error_msg em;
	struct pd_progress pr;
	struct pd_ctlreq q;
	struct pd_chan ch;
	struct pd_msg m;
	struct pd_err e;
	int sock, r;

	sock = connect_broker();
	q.flags = flags;
	q.timeout = timeout;
	q.nargs = (uint32_t)nargs;
	q.args = args;
	if (pd_send_ctlreq(sock, type, 2, fd, &q, &e) == -1)
		die("%s", e.msg);
	if (fd >= 0)
		close(fd);
	if (pd_chan_init(&ch, sock, 0) == -1)
		die("out of memory");
	out->data = NULL;
	out->len = 0;
	for (;;) {
		r = pd_msg_recv(&ch, &m, -1, &e);
		if (r == 0)
			die("plugind closed the connection");
		if (r == -1)
			die("%s", e.msg);
		switch (m.type) {
		case PD_CTL_DATA:
			if (data_sink != NULL) {
				data_sink((const char *)m.data, m.len);
				break;
			}
			if (out->len + m.len > 256 * 1024 * 1024)
				die("reply too large");
			out->data = realloc(out->data, out->len + m.len + 1);
			if (out->data == NULL)
				die("out of memory");
			memcpy(out->data + out->len, m.data, m.len);
			out->len += m.len;
			out->data[out->len] = '\0';
			break;
		case PD_MSG_PROGRESS:
			if (pd_dec_progress(&m, &pr, &e) == 0) {
				if (!(flags & PD_CTLF_QUIET))
					progress_line(&pr);
				pd_progress_free(&pr);
			}
			break;
		case PD_CTL_OK:
			pd_msg_clear(&m);
			pd_chan_free(&ch);
			close(sock);
			return;
		case PD_CTL_FAIL:
			if (pd_dec_error(&m, &em, &e) == -1)
				die("%s", e.msg);
			die("%s", em.msg);
		default:
			die("unexpected %s message from plugind", pd_msg_name(m.type));
		}
		pd_msg_clear(&m);
	}
}

/* Parse the reply and release its bytes (found by the ASan leak check). */
static json_t *
reply_json(struct reply *r)
{
	json_error_t jerr;
	json_t *j;

	if (r->data == NULL)
		die("empty reply from plugind");
	if ((j = json_loadb(r->data, r->len, JSON_DECODE_ANY, &jerr)) == NULL)
		die("bad reply from plugind: %s", jerr.text);
	free(r->data);
	r->data = NULL;
	r->len = 0;
	return j;
}

/* ---- a small subset of Go templates: {{.A.B}}, {{json .X}}, {{.}} ---- */

static const json_t *
lookup_path(const json_t *j, const char *path, size_t len)
{
	char key[256];
	size_t n;

	while (len > 0 && j != NULL) {
		if (*path == '.') {
			path++;
			len--;
			continue;
		}
		n = strcspn(path, ".");
		if (n > len)
			n = len;
		snprintf(key, sizeof(key), "%.*s", (int)n, path);
		j = json_object_get(j, key);
		path += n;
		len -= n;
	}
	return j;
}

static void
print_value(FILE *f, const json_t *v, int as_json)
{
	char *s;

	if (v == NULL) {
		fputs("<no value>", f);
		return;
	}
	if (!as_json && json_is_string(v)) {
		fputs(tsafe(json_string_value(v)), f);
		return;
	}
	if (!as_json && json_is_null(v)) {
		fputs("<nil>", f);
		return;
	}
	s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (s != NULL)
		put_json(f, s);
	free(s);
}

static void
render(FILE *f, const char *tmpl, const json_t *obj)
{
	const char *p = tmpl, *end, *x;
	size_t n;
	int as_json;

	while (*p != '\0') {
		if (p[0] == '\\' && p[1] == 't') {
			fputc('\t', f);
			p += 2;
			continue;
		}
		if (p[0] == '\\' && p[1] == 'n') {
			fputc('\n', f);
			p += 2;
			continue;
		}
		if (p[0] != '{' || p[1] != '{' || (end = strstr(p, "}}")) == NULL) {
			fputc(*p++, f);
			continue;
		}
		x = p + 2;
		while (x < end && isspace((unsigned char)*x))
			x++;
		as_json = strncmp(x, "json ", 5) == 0;
		if (as_json)
			x += 5;
		while (x < end && isspace((unsigned char)*x))
			x++;
		n = (size_t)(end - x);
		while (n > 0 && isspace((unsigned char)x[n - 1]))
			n--;
		if (n == 0 || x[0] != '.')
			die("template parsing error: unsupported expression \"%.*s\"",
			    (int)(end - p - 2), p + 2);
		print_value(f, lookup_path(obj, x, n), as_json);
		p = end + 2;
	}
}

/* ---- commands ---- */

/* One rule of the policy: "accept", "reject", "signed by K", + ceiling. */
static void
print_rule(const char *scope, const json_t *r)
{
	const json_t *k, *ceil;
	size_t i;
	char *s;

	printf(" %s: %s", tsafe(scope), tsafe(json_string_value(
	    json_object_get(r, "rule"))));
	json_array_foreach(json_object_get(r, "keys"), i, k)
		printf("%s%s", i ? ", " : " by ", tsafe(json_string_value(k)));
	if ((ceil = json_object_get(r, "ceiling")) != NULL) {
		s = json_dumps(ceil, JSON_COMPACT | JSON_SORT_KEYS);
		fputs(", ceiling ", stdout);
		if (s != NULL)
			put_json(stdout, s);
		free(s);
	}
	putchar('\n');
}

static int
str_ptr_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The trust policy in force (docs/POLICY.md), scopes in name order. */
static void
print_policy(const json_t *pol)
{
	const json_t *scopes = json_object_get(pol, "Scopes");
	const char **names, *k;
	json_t *v;
	size_t i, n = 0;

	printf("Policy: %s", tsafe(json_string_value(json_object_get(pol,
	    "File"))));
	if (!json_is_true(json_object_get(pol, "Present"))) {
		printf(" (no file: every plugin is accepted, no ceiling)\n");
		return;
	}
	putchar('\n');
	print_rule("default", json_object_get(pol, "Default"));
	names = xcalloc(json_object_size(scopes) + 1, sizeof(*names));
	json_object_foreach((json_t *)(uintptr_t)scopes, k, v)
		names[n++] = k;
	qsort(names, n, sizeof(*names), str_ptr_cmp);
	for (i = 0; i < n; i++)
		print_rule(names[i], json_object_get(scopes, names[i]));
	free(names);
}

int
cmd_info(int argc, char **argv)
{
	const char *format = NULL;
	struct reply r;
	json_t *j, *h;
	size_t i;
	int ch;

	static const struct option lo[] = {
		{ "format", required_argument, NULL, 'f' }, { NULL, 0, NULL, 0 } };
	while ((ch = getopt_long(argc, argv, "f:", lo, NULL)) != -1)
		if (ch == 'f')
			format = optarg;
		else
			return 2;
	request(PD_CTL_INFO, 0, 0, -1, NULL, 0, &r);
	j = reply_json(&r);
	if (format != NULL) {
		if (strcmp(format, "json") == 0)
			render(stdout, "{{json .}}", j);
		else
			render(stdout, format, j);
		putchar('\n');
		return 0;
	}
	printf("Server Version: %s\n", tsafe(json_string_value(json_object_get(j,
	    "ServerVersion"))));
	printf("Data Root: %s\n", tsafe(json_string_value(json_object_get(j,
	    "DataRoot"))));
	printf("Exec Root: %s\n", tsafe(json_string_value(json_object_get(j,
	    "ExecRoot"))));
	printf("Socket: unix://%s\n", tsafe(json_string_value(json_object_get(j,
	    "Socket"))));
	printf("Runtime: %s\n", tsafe(json_string_value(json_object_get(j,
	    "Runtime"))));
	printf("Plugins: %lld (%lld enabled)\n",
	    json_integer_value(json_object_get(j, "Plugins")),
	    json_integer_value(json_object_get(j, "PluginsEnabled")));
	printf("Blobs: %lld (%lld bytes)\n",
	    json_integer_value(json_object_get(j, "Blobs")),
	    json_integer_value(json_object_get(j, "BlobBytes")));
	if (json_object_get(j, "Policy") != NULL)
		print_policy(json_object_get(j, "Policy"));
	printf("Helpers:\n");
	json_array_foreach(json_object_get(j, "Helpers"), i, h) {
		printf(" %s: %s\n", tsafe(json_string_value(json_object_get(h,
		    "Role"))), tsafe(json_string_value(json_object_get(h, "Path"))));
		if (json_object_get(h, "Error") != NULL)
			printf("  sandbox: FAILED: %s\n",
			    tsafe(json_string_value(json_object_get(h, "Error"))));
		else
			printf("  sandbox: %s\n",
			    tsafe(json_string_value(json_object_get(h, "Sandbox"))));
	}
	json_decref(j);
	return 0;
}

/* Natural order, as the docker CLI sorts plugin names. */
static int
natural_cmp(const char *a, const char *b)
{
	while (*a && *b) {
		if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
			char *ea, *eb;
			unsigned long long x = strtoull(a, &ea, 10);
			unsigned long long y = strtoull(b, &eb, 10);

			if (x != y)
				return x < y ? -1 : 1;
			a = ea;
			b = eb;
			continue;
		}
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		a++;
		b++;
	}
	return (unsigned char)*a - (unsigned char)*b;
}

static int
name_cmp(const void *x, const void *y)
{
	const json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;

	return natural_cmp(json_string_value(json_object_get(a, "Name")),
	    json_string_value(json_object_get(b, "Name")));
}

/* The plugins of a list reply, in the docker CLI's order. */
static json_t **
ls_sorted(const json_t *j, size_t *np)
{
	json_t **items;
	size_t i, n = json_array_size(j);

	items = xcalloc(n + 1, sizeof(*items));
	for (i = 0; i < n; i++)
		items[i] = json_array_get(j, i);
	qsort(items, n, sizeof(*items), name_cmp);
	*np = n;
	return items;
}

/* --format: each plugin as the docker CLI's row object. */
static void
ls_print_format(json_t **items, size_t n, const char *format)
{
	json_t *row;
	size_t i;

	for (i = 0; i < n; i++) {
		row = json_pack("{s:O, s:O, s:O, s:O, s:O}",
		    "ID", json_object_get(items[i], "Id"),
		    "Name", json_object_get(items[i], "Name"),
		    "Description", json_object_get(json_object_get(items[i],
		    "Config"), "Description"),
		    "Enabled", json_object_get(items[i], "Enabled"),
		    "PluginReference", json_object_get(items[i],
		    "PluginReference") ? json_object_get(items[i],
		    "PluginReference") : json_string(""));
		if (strcmp(format, "json") == 0)
			render(stdout, "{{json .}}", row);
		else
			render(stdout, format, row);
		putchar('\n');
		json_decref(row);
	}
}

static void
ls_print_row(struct table *t, const json_t *item, int notrunc, int quiet)
{
	char desc[64], id[65], *ed;
	const char *d, *row[4];

	snprintf(id, notrunc ? 65 : 13, "%s", tsafe(json_string_value(
	    json_object_get(item, "Id"))));
	if (quiet) {
		printf("%s\n", id);
		return;
	}
	d = json_string_value(json_object_get(json_object_get(item, "Config"),
	    "Description"));
	if (d == NULL)
		d = "";
	/* Escaped first, then cut at a character boundary. */
	ed = pd_termsafe_dup(d, strlen(d), 0);
	if (!notrunc && strlen(ed) > 45) {
		(void)pd_termsafe(desc, 45, ed, strlen(ed), 0);
		strcat(desc, "…");
		d = desc;
	} else
		d = ed;
	row[0] = id;
	row[1] = tsafe(json_string_value(json_object_get(item, "Name")));
	row[2] = d;
	row[3] = json_is_true(json_object_get(item, "Enabled")) ? "true" : "false";
	table_row(t, row);
	free(ed);
}

int
cmd_ls(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "filter", required_argument, NULL, 'f' },
		{ "format", required_argument, NULL, 'F' },
		{ "no-trunc", no_argument, NULL, 'n' },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 } };
	char *filters[16];
	const char *format = NULL;
	int ch, nfilters = 0, notrunc = 0, quiet = 0;
	json_t *j, **items;
	struct reply r;
	size_t i, n;

	while ((ch = getopt_long(argc, argv, "f:qn", lo, NULL)) != -1) {
		switch (ch) {
		case 'f':
			if (nfilters == 16)
				die("too many filters");
			filters[nfilters++] = optarg;
			break;
		case 'F': format = optarg; break;
		case 'n': notrunc = 1; break;
		case 'q': quiet = 1; break;
		default: return 2;
		}
	}
	if (optind != argc)
		die("\"pluginctl ls\" accepts no arguments");
	request(PD_CTL_LIST, 0, 0, -1, filters, nfilters, &r);
	j = reply_json(&r);
	items = ls_sorted(j, &n);
	if (format != NULL && strncmp(format, "table", 5) != 0)
		ls_print_format(items, n, format);
	else {
		static const char *const head[] = { "ID", "NAME", "DESCRIPTION",
		    "ENABLED" };
		struct table *t = table_new(4);

		if (!quiet)
			table_row(t, head);
		for (i = 0; i < n; i++)
			ls_print_row(t, items[i], notrunc, quiet);
		table_print(t, stdout);
	}
	free(items);
	json_decref(j);
	return 0;
}

int
cmd_inspect(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "format", required_argument, NULL, 'f' }, { NULL, 0, NULL, 0 } };
	const char *format = NULL;
	json_t *all, *j;
	struct reply r;
	int ch, i;
	char *s;

	while ((ch = getopt_long(argc, argv, "f:", lo, NULL)) != -1)
		if (ch == 'f')
			format = optarg;
		else
			return 2;
	if (optind >= argc)
		usage_fail("inspect", "inspect [OPTIONS] PLUGIN [PLUGIN...]");
	all = json_array();
	for (i = optind; i < argc; i++) {
		request(PD_CTL_INSPECT, 0, 0, -1, &argv[i], 1, &r);
		j = reply_json(&r);
		free(r.data);
		if (format != NULL) {
			render(stdout, format, j);
			putchar('\n');
			json_decref(j);
		} else
			json_array_append_new(all, j);
	}
	if (format == NULL) {
		s = json_dumps(all, JSON_INDENT(4));
		put_json(stdout, s);
		putchar('\n');
		free(s);
	}
	json_decref(all);
	return 0;
}

int
cmd_debug(int argc, char **argv)
{
	struct reply r;
	json_t *j;
	char *s;

	if (argc != 3 || strcmp(argv[1], "check-helper") != 0)
		usage_fail("debug", "debug check-helper fetcher|extractor|api|logger|gateway");
	request(PD_CTL_HELPERCHECK, 0, 0, -1, &argv[2], 1, &r);
	j = reply_json(&r);
	s = json_dumps(j, JSON_INDENT(4));
	put_json(stdout, s);
	putchar('\n');
	free(s);
	json_decref(j);
	return 0;
}

/*
 * Write a tar of DIR's config.json and rootfs/ into fd, as the invoking
 * user (this runs in pluginctl's child, with the user's rights).
 */
static int
write_context(const char *dir, int fd, int compress)
{
	static const char *top[] = { "config.json", "rootfs" };
	struct archive_entry_linkresolver *lr;
	struct archive *out, *disk;
	struct archive_entry *ent, *spare;
	char buf[65536];
	const char *src;
	ssize_t n;
	int i, r, in;

	if (chdir(dir) == -1) {
		fprintf(stderr, "pluginctl: error: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	out = archive_write_new();
	archive_write_set_format_pax_restricted(out);
	if (compress)
		archive_write_add_filter_gzip(out);
	if (archive_write_open_fd(out, fd) != ARCHIVE_OK)
		return 1;
	/* Hard links in the directory stay hard links in the plugin. */
	lr = archive_entry_linkresolver_new();
	archive_entry_linkresolver_set_strategy(lr, archive_format(out));
	for (i = 0; i < 2; i++) {
		disk = archive_read_disk_new();
		archive_read_disk_set_symlink_physical(disk);
		if (archive_read_disk_open(disk, top[i]) != ARCHIVE_OK) {
			fprintf(stderr, "pluginctl: error: %s/%s: %s\n", dir, top[i],
			    archive_error_string(disk));
			return 1;
		}
		for (;;) {
			ent = archive_entry_new();
			r = archive_read_next_header2(disk, ent);
			if (r == ARCHIVE_EOF) {
				archive_entry_free(ent);
				break;
			}
			if (r != ARCHIVE_OK) {
				fprintf(stderr, "pluginctl: error: %s: %s\n", dir,
				    archive_error_string(disk));
				return 1;
			}
			archive_read_disk_descend(disk);
			archive_entry_unset_atime(ent);
			archive_entry_unset_ctime(ent);
			spare = NULL;
			archive_entry_linkify(lr, &ent, &spare);
			if (ent == NULL)
				continue;
			if (archive_write_header(out, ent) != ARCHIVE_OK)
				return 1;
			if (archive_entry_filetype(ent) == AE_IFREG &&
			    archive_entry_size(ent) > 0) {
				src = archive_entry_sourcepath(ent);
				if ((in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
					fprintf(stderr, "pluginctl: error: %s/%s: %s\n", dir,
					    src, strerror(errno));
					return 1;
				}
				while ((n = read(in, buf, sizeof(buf))) > 0)
					if (archive_write_data(out, buf, (size_t)n) != n)
						return 1;
				close(in);
			}
			archive_entry_free(ent);
		}
		archive_read_free(disk);
	}
	archive_entry_linkresolver_free(lr);
	if (archive_write_close(out) != ARCHIVE_OK)
		return 1;
	archive_write_free(out);
	return 0;
}

int
cmd_create(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "compress", no_argument, NULL, 'z' }, { NULL, 0, NULL, 0 } };
	char path[4096];
	struct reply r;
	struct stat st;
	int ch, compress = 0, p[2], status;
	pid_t pid;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1)
		if (ch == 'z')
			compress = 1;
		else
			return 2;
	if (argc - optind != 2)
		usage_fail("create", "create [OPTIONS] PLUGIN PLUGIN-DATA-DIR");
	if (stat(argv[optind + 1], &st) == -1)
		die("%s: %s", argv[optind + 1], strerror(errno));
	if (!S_ISDIR(st.st_mode))
		die("%s is not a directory", argv[optind + 1]);
	snprintf(path, sizeof(path), "%s/config.json", argv[optind + 1]);
	if (stat(path, &st) == -1)
		die("%s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/rootfs", argv[optind + 1]);
	if (stat(path, &st) == -1 || !S_ISDIR(st.st_mode))
		die("%s: the plugin directory needs a rootfs/ directory", path);
	if (pipe2(p, O_CLOEXEC) == -1)
		die("pipe: %s", strerror(errno));
	if ((pid = fork()) == -1)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		close(p[0]);
		signal(SIGPIPE, SIG_DFL);
		_exit(write_context(argv[optind + 1], p[1], compress));
	}
	close(p[1]);
	signal(SIGPIPE, SIG_IGN);
	request(PD_CTL_CREATE, 0, 0, p[0], &argv[optind], 1, &r);
	if (waitpid(pid, &status, 0) == -1 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		die("could not read the plugin directory %s", argv[optind + 1]);
	printf("%s\n", tsafe(argv[optind]));
	free(r.data);
	return 0;
}

/*
 * Credentials for `remote`, as a JSON string for the broker: from
 * --username/--password-stdin, else what the invoking user's docker
 * configuration holds for its registry (creds.c: credHelpers, credsStore,
 * auths; read and run here, as that user).  They travel with the request
 * only; nothing is written anywhere.
 */
static char *
credentials(const char *remote, const char *user, int pass_stdin)
{
	char key[512], line[4096];
	json_t *out;
	char *s;

	if (user != NULL || pass_stdin) {
		line[0] = '\0';
		if (pass_stdin && fgets(line, sizeof(line), stdin) == NULL)
			die("--password-stdin: nothing on standard input");
		line[strcspn(line, "\r\n")] = '\0';
		if (user == NULL || user[0] == '\0')
			die("--password-stdin needs --username");
		out = json_pack("{s:s, s:s}", "username", user, "password", line);
		explicit_bzero(line, sizeof(line));
	} else {
		registry_key(remote, key, sizeof(key));
		out = key[0] != '\0' ? cred_lookup(key) : NULL;
	}
	if (out == NULL)
		return xstrdup("");
	s = json_dumps(out, JSON_COMPACT);
	json_decref(out);
	return s;
}

/* docker login's prompt: stdin must be a terminal; no echo for secrets. */
static void
prompt(const char *what, int secret, char *buf, size_t len)
{
	struct termios t, quiet;
	int restore = 0;

	if (!isatty(0))
		die("Cannot perform an interactive login from a non TTY device");
	printf("%s: ", what);
	fflush(stdout);
	if (secret && tcgetattr(0, &t) == 0) {
		quiet = t;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		restore = tcsetattr(0, TCSAFLUSH, &quiet) == 0;
	}
	if (fgets(buf, (int)len, stdin) == NULL)
		buf[0] = '\0';
	if (restore) {
		(void)tcsetattr(0, TCSAFLUSH, &t);
		printf("\n");
	}
	buf[strcspn(buf, "\r\n")] = '\0';
}

/* --password-stdin: all of stdin, less one trailing "\n", then "\r". */
static void
password_stdin(char *buf, size_t len)
{
	size_t n = fread(buf, 1, len - 1, stdin);

	if (n == len - 1 && !feof(stdin))
		die("--password-stdin: the password is longer than %zu bytes",
		    len - 2);
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (n > 0 && buf[n - 1] == '\r')
		buf[--n] = '\0';
}

/*
 * The credentials a login checks: -u with -p / --password-stdin / a
 * prompt; with neither user nor password, the stored ones (*stored set)
 * or prompts, as docker login.
 */
static json_t *
login_creds(const char *key, const char *user, const char *pass, int pstdin,
    int *stored)
{
	char u[1024], p[PD_STR_SECRET];
	json_t *c;

	*stored = 0;
	if (pass != NULL && pstdin)
		die("--password and --password-stdin are mutually exclusive");
	if (pass != NULL)
		fprintf(stderr, "WARNING! Using --password via the CLI is "
		    "insecure. Use --password-stdin.\n");
	if (pstdin && (user == NULL || user[0] == '\0'))
		die("Must provide --username with --password-stdin");
	if (user == NULL && pass == NULL && (c = cred_lookup(key)) != NULL) {
		printf("Authenticating with existing credentials...\n");
		*stored = 1;
		return c;
	}
	snprintf(u, sizeof(u), "%s", user ? user : "");
	if (u[0] == '\0')
		prompt("Username", 0, u, sizeof(u));
	if (u[0] == '\0')
		die("Username is required");
	if (pstdin)
		password_stdin(p, sizeof(p));
	else if (pass != NULL)
		snprintf(p, sizeof(p), "%s", pass);
	else
		prompt("Password", 1, p, sizeof(p));
	if (p[0] == '\0')
		die("Password is required");
	c = json_pack("{s:s, s:s}", "username", u, "password", p);
	explicit_bzero(p, sizeof(p));
	if (c == NULL)
		die("the user name or password is not valid UTF-8");
	return c;
}

/*
 * pluginctl login: plugind checks the credentials with the registry
 * (PD_CTL_LOGIN, which stores nothing); they are saved here, as the
 * user, where docker login saves them (creds.c).
 */
int
cmd_login(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "username", required_argument, NULL, 'u' },
		{ "password", required_argument, NULL, 'p' },
		{ "password-stdin", no_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 } };
	const char *user = NULL, *pass = NULL, *tok;
	char key[512], *args[2];
	int ch, pstdin = 0, stored;
	struct reply r;
	json_t *c, *res;

	while ((ch = getopt_long(argc, argv, "u:p:", lo, NULL)) != -1) {
		switch (ch) {
		case 'u': user = optarg; break;
		case 'p': pass = optarg; break;
		case 's': pstdin = 1; break;
		default: return 2;
		}
	}
	if (argc - optind > 1)
		usage_fail("login", "login [OPTIONS] [SERVER]");
	cred_server_key(optind < argc ? argv[optind] : CRED_HUB_KEY, key,
	    sizeof(key));
	c = login_creds(key, user, pass, pstdin, &stored);
	args[0] = key;
	args[1] = json_dumps(c, JSON_COMPACT);
	request(PD_CTL_LOGIN, 0, 0, -1, args, 2, &r);
	res = reply_json(&r);
	free(r.data);
	tok = json_string_value(json_object_get(res, "IdentityToken"));
	if (!stored)
		cred_save(key, json_string_value(json_object_get(c, "username")),
		    json_string_value(json_object_get(c, "password")),
		    tok ? tok : "");
	printf("Login Succeeded\n");
	explicit_bzero(args[1], strlen(args[1]));
	free(args[1]);
	json_decref(c);
	json_decref(res);
	return 0;
}

/* pluginctl logout: docker logout's erase, here, as the user. */
int
cmd_logout(int argc, char **argv)
{
	char key[512];

	if (getopt_long(argc, argv, "", NULL, NULL) != -1)
		return 2;
	if (argc - optind > 1)
		usage_fail("logout", "logout [SERVER]");
	cred_server_key(optind < argc ? argv[optind] : CRED_HUB_KEY, key,
	    sizeof(key));
	if (cred_erase(key) == 1)
		printf("Not logged in to %s\n", tsafe(key));
	else
		printf("Removing login credentials for %s\n", tsafe(key));
	return 0;
}

static void
print_privileges(const char *remote, json_t *privs)
{
	const json_t *p, *v;
	size_t i, j;

	printf("Plugin %s is requesting the following privileges:\n",
	    tquote(remote));
	json_array_foreach(privs, i, p) {
		printf(" - %s: [", tsafe(json_string_value(json_object_get(p,
		    "Name"))));
		json_array_foreach(json_object_get(p, "Value"), j, v)
			printf("%s%s", j ? " " : "", tquote(json_string_value(v)));
		printf("]\n");
	}
}

/*
 * Show what a plugin asks for and get the user's consent: a prompt on a
 * terminal, --grant-all-permissions otherwise (as docker does).
 */
static void
grant_privileges(const char *remote, json_t *privs, int grant)
{
	char answer[16];

	/* Listed only when asked about, as docker does. */
	if (json_array_size(privs) == 0 || grant)
		return;
	print_privileges(remote, privs);
	if (!isatty(0))
		die("plugin %s requires the privileges listed above; grant them with "
		    "--grant-all-permissions (standard input is not a terminal)", remote);
	printf("Do you grant the above permissions? [y/N] ");
	fflush(stdout);
	if (fgets(answer, sizeof(answer), stdin) == NULL ||
	    (answer[0] != 'y' && answer[0] != 'Y'))
		die("permission denied: the privileges were not granted");
}

int
cmd_install(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "alias", required_argument, NULL, 'a' },
		{ "disable", no_argument, NULL, 'd' },
		{ "grant-all-permissions", no_argument, NULL, 'g' },
		{ "disable-content-trust", optional_argument, NULL, 'c' },
		{ "username", required_argument, NULL, 'u' },
		{ "password-stdin", no_argument, NULL, 'p' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 } };
	const char *alias = "", *user = NULL;
	int ch, grant = 0, disable = 0, pass_stdin = 0, dry = 0, quiet = 0, i, nargs;
	char *auth, *privtxt, **args;
	struct reply r;
	json_t *privs, *res;

	while ((ch = getopt_long(argc, argv, "q", lo, NULL)) != -1) {
		switch (ch) {
		case 'a': alias = optarg; break;
		case 'd': disable = 1; break;
		case 'g': grant = 1; break;
		case 'c': break;	/* accepted, as docker; no content trust */
		case 'u': user = optarg; break;
		case 'p': pass_stdin = 1; break;
		case 'n': dry = 1; break;
		case 'q': quiet = 1; break;
		default: return 2;
		}
	}
	if (argc - optind < 1)
		usage_fail("install", "install [OPTIONS] PLUGIN [KEY=VALUE...]");
	auth = credentials(argv[optind], user, pass_stdin);
	if (grant && !dry) {
		/* All granted: the install job resolves once, for itself. */
		privs = json_array();
		privtxt = xstrdup(PD_GRANT_ALL);
	} else {
		char *pa[2] = { argv[optind], auth };

		request(PD_CTL_PRIVILEGES, PD_CTLF_QUIET, 0, -1, pa, 2, &r);
		privs = reply_json(&r);
		free(r.data);
		if (dry) {
			print_privileges(argv[optind], privs);
			return 0;
		}
		grant_privileges(argv[optind], privs, grant);
		privtxt = json_dumps(privs, JSON_COMPACT);
	}
	nargs = 4 + (argc - optind - 1);
	args = xcalloc((size_t)nargs + 1, sizeof(char *));
	args[0] = argv[optind];
	args[1] = (char *)(uintptr_t)alias;
	args[2] = privtxt;
	args[3] = auth;
	for (i = optind + 1; i < argc; i++)
		args[4 + i - optind - 1] = argv[i];
	request(PD_CTL_INSTALL, (quiet ? PD_CTLF_QUIET : 0) |
	    (disable ? PD_CTLF_DISABLE : 0), 0, -1, args, nargs, &r);
	explicit_bzero(auth, strlen(auth));
	res = reply_json(&r);
	if (!quiet)
		printf("Digest: %s\n", tsafe(json_string_value(json_object_get(res,
		    "Digest"))));
	printf("Installed plugin %s\n", tsafe(json_string_value(json_object_get(res,
	    "Name"))));
	json_decref(res);
	json_decref(privs);
	free(privtxt);
	free(args);
	free(auth);
	free(r.data);
	return 0;
}

/* The repository of a reference, without tag or digest, for comparison. */
static void
repo_of(const char *s, char *out, size_t len)
{
	struct pd_ref ref;
	struct pd_err e;

	out[0] = '\0';
	if (pd_ref_parse(s, &ref, &e) == 0)
		snprintf(out, len, "%s/%s", ref.domain, ref.path);
}

int
cmd_upgrade(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "grant-all-permissions", no_argument, NULL, 'g' },
		{ "skip-remote-check", no_argument, NULL, 's' },
		{ "disable-content-trust", optional_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 } };
	char *args[4], *auth, *privtxt, old_repo[600], new_repo[600];
	const char *remote;
	int ch, grant = 0, skip = 0;
	uint32_t timeout = 0;
	struct reply r;
	json_t *cur, *privs, *res;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'g': grant = 1; break;
		case 's': skip = 1; break;
		case 'c': break;
		case 't': timeout = (uint32_t)atoi(optarg); break;
		default: return 2;
		}
	}
	if (argc - optind < 1 || argc - optind > 2)
		usage_fail("upgrade", "upgrade [OPTIONS] PLUGIN [REMOTE]");
	request(PD_CTL_INSPECT, 0, 0, -1, &argv[optind], 1, &r);
	cur = reply_json(&r);
	free(r.data);
	remote = argc - optind == 2 ? argv[optind + 1] :
	    json_string_value(json_object_get(cur, "PluginReference"));
	repo_of(json_string_value(json_object_get(cur, "PluginReference")), old_repo,
	    sizeof(old_repo));
	repo_of(remote, new_repo, sizeof(new_repo));
	if (!skip && strcmp(old_repo, new_repo) != 0)
		die("remote reference %s does not match the plugin's reference %s; use "
		    "--skip-remote-check to upgrade anyway", remote,
		    json_string_value(json_object_get(cur, "PluginReference")));
	printf("Upgrading plugin %s from %s to %s\n", tsafe(json_string_value(
	    json_object_get(cur, "Name"))), tsafe(json_string_value(
	    json_object_get(cur, "PluginReference"))), tsafe(remote));
	auth = credentials(remote, NULL, 0);
	args[0] = (char *)(uintptr_t)remote;
	args[1] = auth;
	if (grant) {
		/* All granted: the upgrade job resolves once, for itself. */
		privs = json_array();
		privtxt = xstrdup(PD_GRANT_ALL);
	} else {
		request(PD_CTL_PRIVILEGES, PD_CTLF_QUIET, 0, -1, args, 2, &r);
		privs = reply_json(&r);
		free(r.data);
		grant_privileges(remote, privs, grant);
		privtxt = json_dumps(privs, JSON_COMPACT);
	}
	args[0] = argv[optind];
	args[1] = (char *)(uintptr_t)remote;
	args[2] = privtxt;
	args[3] = auth;
	request(PD_CTL_UPGRADE, 0, timeout, -1, args, 4, &r);
	res = reply_json(&r);
	printf("Upgraded plugin %s to %s\n", tsafe(json_string_value(
	    json_object_get(cur, "Name"))), tsafe(remote));
	explicit_bzero(auth, strlen(auth));
	free(auth);
	free(privtxt);
	free(r.data);
	json_decref(res);
	json_decref(privs);
	json_decref(cur);
	return 0;
}

int
cmd_privileges(int argc, char **argv)
{
	char *auth, *pa[2];
	struct reply r;
	json_t *privs;

	if (argc != 2)
		usage_fail("privileges", "privileges PLUGIN");
	auth = credentials(argv[1], NULL, 0);
	pa[0] = argv[1];
	pa[1] = auth;
	request(PD_CTL_PRIVILEGES, PD_CTLF_QUIET, 0, -1, pa, 2, &r);
	privs = reply_json(&r);
	if (json_array_size(privs) == 0)
		printf("Plugin %s requests no privileges\n", tquote(argv[1]));
	else
		print_privileges(argv[1], privs);
	json_decref(privs);
	free(auth);
	free(r.data);
	return 0;
}

int
cmd_verify(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "key", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 } };
	char key[PATH_MAX] = "", *auth, *pa[3];
	struct reply r;
	json_t *j;
	int ch;

	while ((ch = getopt_long(argc, argv, "k:", lo, NULL)) != -1) {
		switch (ch) {
		case 'k':
			/* The broker reads it: an absolute path, as the policy's. */
			if (realpath(optarg, key) == NULL)
				die("--key %s: %s", optarg, strerror(errno));
			break;
		default: return 2;
		}
	}
	if (argc - optind != 1)
		usage_fail("verify", "verify [OPTIONS] PLUGIN");
	auth = credentials(argv[optind], NULL, 0);
	pa[0] = argv[optind];
	pa[1] = auth;
	pa[2] = key;
	request(PD_CTL_VERIFY, PD_CTLF_QUIET, 0, -1, pa, 3, &r);
	j = reply_json(&r);
	printf("%s: signed by %s (%s)\n", tsafe(json_string_value(
	    json_object_get(j, "Reference"))), tsafe(json_string_value(
	    json_object_get(j, "Key"))), tsafe(json_string_value(
	    json_object_get(j, "Digest"))));
	json_decref(j);
	free(auth);
	free(r.data);
	return 0;
}

/*
 * Verbs sent as one typed request per plugin: enable, disable, rm (any
 * number of names, as docker), set, push, upgrade.  Like docker, the
 * name is printed for each plugin done.
 */
int
cmd_simple(uint32_t type, const char *synopsis, int argc, char **argv)
{
	/* Each verb accepts exactly docker's options for it. */
	static const struct option lo_enable[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 } };
	/* disable: docker's -f, and --timeout for stop-timeout (ours). */
	static const struct option lo_disable[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 } };
	static const struct option lo_force[] = {	/* rm */
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 } };
	static const struct option lo_none[] = { { NULL, 0, NULL, 0 } };
	const struct option *lo = type == PD_CTL_ENABLE ? lo_enable :
	    type == PD_CTL_DISABLE ? lo_disable :
	    type == PD_CTL_SET ? lo_none : lo_force;
	const char *so = type == PD_CTL_DISABLE || type == PD_CTL_REMOVE ?
	    "f" : "";
	const struct pd_verb *v = pd_verb_lookup(type);
	uint32_t flags = 0, timeout = 0;
	struct reply r;
	uint64_t t;
	int ch, i, failed = 0, status;
	pid_t pid;

	while ((ch = getopt_long(argc, argv, so, lo, NULL)) != -1) {
		switch (ch) {
		case 'f': flags |= PD_CTLF_FORCE; break;
		case 't':
			if (pd_parse_u64(optarg, &t) == -1 || t > 86400)
				die("invalid --timeout \"%s\": seconds expected", optarg);
			timeout = t == 0 ? 1 : (uint32_t)t;
			break;
		default: return 2;
		}
	}
	if ((uint32_t)(argc - optind) < v->minargs)
		usage_fail(v->name, synopsis);
	if (type != PD_CTL_REMOVE) {
		request(type, flags, timeout, -1, argv + optind, argc - optind, &r);
		free(r.data);
		if (type == PD_CTL_ENABLE || type == PD_CTL_DISABLE)
			printf("%s\n", tsafe(argv[optind]));
		return 0;
	}
	/* request() dies on an error: one child per name keeps going. */
	for (i = optind; i < argc; i++) {
		fflush(stdout);
		if ((pid = fork()) == -1)
			die("fork: %s", strerror(errno));
		if (pid == 0) {
			request(type, flags, timeout, -1, &argv[i], 1, &r);
			printf("%s\n", tsafe(argv[i]));
			exit(0);
		}
		if (waitpid(pid, &status, 0) == -1 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			failed = 1;
	}
	return failed;
}

/* The passphrase: the file's first line, as skopeo's --sign-passphrase-file. */
static char *
passphrase_read(const char *path)
{
	char buf[1024], *nl;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		die("--sign-passphrase-file %s: %s", path, strerror(errno));
	n = pd_read_full(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		die("--sign-passphrase-file %s: %s", path, strerror(errno));
	buf[n] = '\0';
	if ((nl = strchr(buf, '\n')) != NULL)
		*nl = '\0';
	nl = xstrdup(buf);
	explicit_bzero(buf, sizeof(buf));
	return nl;
}

/*
 * push --sign-by, after the push: sign the payload naming the pushed
 * manifest as the reference pushed, with the operator's key, here and
 * as the operator (the key never reaches the broker), check the
 * signature with the key's public half, and have the broker attach it.
 */
static void
push_sign(EVP_PKEY *k, const char *keypath, const char *name, char *auth,
    const json_t *res, int quiet)
{
	const char *dg = json_string_value(json_object_get(res, "Digest"));
	const char *ref = json_string_value(json_object_get(res, "Reference"));
	char b64[PD_SIG_B64_MAX + 1], *payload, *pem, *args[5];
	struct reply r;
	struct pd_err e;
	size_t pemlen;
	json_t *j;

	if (dg == NULL || ref == NULL || ref[0] == '\0')
		die("push %s: the broker named no digest and reference to sign",
		    name);
	if ((payload = pd_sigpayload_encode(dg, ref, "plugind " PD_VERSION)) ==
	    NULL)
		die("out of memory");
	if (pd_sig_sign(k, payload, strlen(payload), b64, sizeof(b64), &e) == -1 ||
	    pd_sig_public_pem(k, &pem, &pemlen, &e) == -1)
		die("--sign-by %s: %s", keypath, e.msg);
	if (pd_sig_verify(pem, pemlen, payload, strlen(payload), b64, &e) == -1)
		die("--sign-by %s: the signature made does not verify: %s",
		    keypath, e.msg);
	free(pem);
	args[0] = (char *)(uintptr_t)name;
	args[1] = auth;
	args[2] = (char *)(uintptr_t)dg;
	args[3] = payload;
	args[4] = b64;
	request(PD_CTL_SIGN, quiet ? PD_CTLF_QUIET : 0, 0, -1, args, 5, &r);
	j = reply_json(&r);
	if (!quiet)
		printf("Signed %s as %s with %s (%s, %lld signatures)\n",
		    tsafe(dg), tsafe(ref), tsafe(keypath), tsafe(json_string_value(
		    json_object_get(j, "Tag"))), (long long)json_integer_value(
		    json_object_get(j, "Signatures")));
	json_decref(j);
	free(payload);
	free(r.data);
}

int
cmd_push(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "disable-content-trust", optional_argument, NULL, 'c' },
		{ "username", required_argument, NULL, 'u' },
		{ "password-stdin", no_argument, NULL, 'p' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "sign-by", required_argument, NULL, 's' },
		{ "sign-passphrase-file", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 } };
	const char *user = NULL, *signby = NULL, *passfile = NULL;
	int ch, pass_stdin = 0, quiet = 0;
	EVP_PKEY *key = NULL;
	struct pd_ref ref;
	struct pd_err e;
	struct reply r;
	char *auth, *args[2], *pass = NULL;
	json_t *res;

	while ((ch = getopt_long(argc, argv, "q", lo, NULL)) != -1) {
		switch (ch) {
		case 'c': break;	/* accepted, as docker; no content trust */
		case 'u': user = optarg; break;
		case 'p': pass_stdin = 1; break;
		case 'q': quiet = 1; break;
		case 's': signby = optarg; break;
		case 'P': passfile = optarg; break;
		default: return 2;
		}
	}
	if (argc - optind != 1)
		usage_fail("push", "push [OPTIONS] PLUGIN[:TAG]");
	if (passfile != NULL && signby == NULL)
		die("--sign-passphrase-file needs --sign-by");
	/* The key first: a key that cannot sign pushes nothing. */
	if (signby != NULL) {
		if (passfile != NULL)
			pass = passphrase_read(passfile);
		key = pd_sig_load_private(signby, pass, &e);
		if (pass != NULL) {
			explicit_bzero(pass, strlen(pass));
			free(pass);
		}
		if (key == NULL)
			die("%s", e.msg);
	}
	if (pd_ref_parse(argv[optind], &ref, &e) == 0 &&
	    strcmp(ref.domain, "docker.io") == 0)
		fprintf(stderr, "WARNING: %s is pushed to Docker Hub "
		    "(docker.io/%s)\n", tsafe(argv[optind]), tsafe(ref.path));
	auth = credentials(argv[optind], user, pass_stdin);
	args[0] = argv[optind];
	args[1] = auth;
	request(PD_CTL_PUSH, quiet ? PD_CTLF_QUIET : 0, 0, -1, args, 2, &r);
	res = reply_json(&r);
	if (key != NULL)
		push_sign(key, signby, argv[optind], auth, res, quiet);
	explicit_bzero(auth, strlen(auth));
	free(auth);
	EVP_PKEY_free(key);
	if (quiet)
		printf("%s\n", tsafe(json_string_value(json_object_get(res,
		    "Digest"))));
	json_decref(res);
	free(r.data);
	return 0;
}

static void
sink_stdout(const char *data, size_t len)
{
	if (fwrite(data, 1, len, stdout) != len)
		exit(1);
	fflush(stdout);
}

/*
 * Text for a terminal: escaped, lines and tabs kept.  A character split
 * between two chunks waits in `carry` for the rest; sink_term_end
 * escapes what is left when the reply ends.
 */
static char	 carry[4];
static size_t	 ncarry;

static void
sink_term(const char *data, size_t len)
{
	char *buf, *s;
	size_t n, keep;

	buf = xmalloc(ncarry + len);
	memcpy(buf, carry, ncarry);
	memcpy(buf + ncarry, data, len);
	n = ncarry + len;
	keep = pd_termsafe_tail(buf, n);
	s = pd_termsafe_dup(buf, n - keep, PD_TS_MULTILINE);
	memcpy(carry, buf + n - keep, keep);
	ncarry = keep;
	free(buf);
	sink_stdout(s, strlen(s));
	free(s);
}

static void
sink_term_end(void)
{
	char *s;

	if (ncarry == 0)
		return;
	s = pd_termsafe_dup(carry, ncarry, PD_TS_MULTILINE);
	ncarry = 0;
	sink_stdout(s, strlen(s));
	free(s);
}

int
cmd_logs(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "tail", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 } };
	char tailarg[64], *args[2];
	uint32_t flags = 0;
	struct reply r;
	uint64_t n;
	int ch, nargs = 1;

	tailarg[0] = '\0';
	while ((ch = getopt_long(argc, argv, "fn:", lo, NULL)) != -1) {
		switch (ch) {
		case 'f': flags |= PD_CTLF_FOLLOW; break;
		case 'n':
			if (strcmp(optarg, "all") != 0 && pd_parse_u64(optarg, &n) == -1)
				die("invalid --tail \"%s\": a number or \"all\"", optarg);
			snprintf(tailarg, sizeof(tailarg), "tail=%s", optarg);
			break;
		default: return 2;
		}
	}
	if (argc - optind != 1)
		usage_fail("logs", "logs [OPTIONS] PLUGIN");
	args[0] = argv[optind];
	if (tailarg[0] != '\0')
		args[nargs++] = tailarg;
	signal(SIGPIPE, SIG_DFL);
	/* Raw bytes into a file or pipe; escaped only for a terminal. */
	data_sink = isatty(1) ? sink_term : sink_stdout;
	request(PD_CTL_LOGS, flags, 0, -1, args, nargs, &r);
	sink_term_end();
	return 0;
}

/*
 * A time for --since/--until: Unix seconds (fractions allowed), an
 * RFC 3339 time, or a duration before now ("10m", "1h30m", "45s").
 */
static uint64_t
parse_time(const char *s)
{
	struct timespec now;
	struct tm tm;
	const char *p;
	char *end;
	double d, mult, total = 0;
	long long off = 0;
	time_t t;

	clock_gettime(CLOCK_REALTIME, &now);
	d = strtod(s, &end);
	if (end != s && *end == '\0' && d >= 0)
		return (uint64_t)(d * 1e9);
	memset(&tm, 0, sizeof(tm));
	if ((p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) != NULL) {
		double frac = 0;

		if (*p == '.') {
			frac = strtod(p, &end);
			p = end;
		}
		if (*p == '+' || *p == '-') {
			int hh = 0, mm = 0;

			if (sscanf(p + 1, "%d:%d", &hh, &mm) != 2)
				die("invalid time \"%s\"", s);
			off = (long long)(hh * 3600 + mm * 60) * (*p == '+' ? 1 : -1);
		} else if (*p != 'Z' && *p != '\0')
			die("invalid time \"%s\"", s);
		t = timegm(&tm) - off;
		return (uint64_t)t * 1000000000ULL + (uint64_t)(frac * 1e9);
	}
	for (p = s; *p != '\0';) {
		d = strtod(p, &end);
		if (end == p)
			die("invalid time or duration \"%s\"", s);
		p = end;
		if (strncmp(p, "ms", 2) == 0) {
			mult = 1e-3;
			p += 2;
		} else if (*p == 'h' || *p == 'm' || *p == 's') {
			mult = *p == 'h' ? 3600 : *p == 'm' ? 60 : 1;
			p++;
		} else
			die("invalid time or duration \"%s\"", s);
		total += d * mult;
	}
	return (uint64_t)now.tv_sec * 1000000000ULL + (uint64_t)now.tv_nsec -
	    (uint64_t)(total * 1e9);
}

static const char	*ev_format;
static char		 ev_buf[65536 * 2];
static size_t		 ev_len;

static void
print_event(const char *line)
{
	const json_t *attrs, *v;
	char ts[64];
	const char *k;
	json_t *j;
	time_t t;
	struct tm tm;
	int first = 1;
	long long ns;

	if (ev_format != NULL && strcmp(ev_format, "json") == 0) {
		put_json(stdout, line);
		putchar('\n');
		fflush(stdout);
		return;
	}
	if ((j = json_loads(line, 0, NULL)) == NULL)
		return;
	if (ev_format != NULL) {
		render(stdout, ev_format, j);
		putchar('\n');
	} else {
		ns = json_integer_value(json_object_get(j, "timeNano"));
		t = (time_t)(ns / 1000000000LL);
		gmtime_r(&t, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		printf("%s.%09lldZ %s %s %s (", ts, ns % 1000000000LL,
		    tsafe(json_string_value(json_object_get(j, "Type"))),
		    tsafe(json_string_value(json_object_get(j, "Action"))),
		    tsafe(json_string_value(json_object_get(json_object_get(j,
		    "Actor"), "ID"))));
		attrs = json_object_get(json_object_get(j, "Actor"), "Attributes");
		json_object_foreach((json_t *)(uintptr_t)attrs, k, v) {
			printf("%s%s=%s", first ? "" : ", ", tsafe(k),
			    tsafe(json_string_value(v)));
			first = 0;
		}
		printf(")\n");
	}
	fflush(stdout);
	json_decref(j);
}

static void
sink_events(const char *data, size_t len)
{
	char *nl;

	if (ev_len + len >= sizeof(ev_buf))
		die("event too large");
	memcpy(ev_buf + ev_len, data, len);
	ev_len += len;
	ev_buf[ev_len] = '\0';
	while ((nl = memchr(ev_buf, '\n', ev_len)) != NULL) {
		*nl = '\0';
		print_event(ev_buf);
		ev_len -= (size_t)(nl + 1 - ev_buf);
		memmove(ev_buf, nl + 1, ev_len);
	}
}

int
cmd_events(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "filter", required_argument, NULL, 'f' },
		{ "format", required_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 } };
	char *args[32], since[64], until[64];
	struct reply r;
	int ch, nargs = 0;

	while ((ch = getopt_long(argc, argv, "f:", lo, NULL)) != -1) {
		if (nargs >= 30)
			die("too many options");
		switch (ch) {
		case 's':
			snprintf(since, sizeof(since), "since=%llu",
			    (unsigned long long)parse_time(optarg));
			args[nargs++] = since;
			break;
		case 'u':
			snprintf(until, sizeof(until), "until=%llu",
			    (unsigned long long)parse_time(optarg));
			args[nargs++] = until;
			break;
		case 'f':
			args[nargs++] = optarg;
			break;
		case 'F':
			ev_format = optarg;
			break;
		default:
			return 2;
		}
	}
	if (optind != argc)
		die("\"pluginctl events\" accepts no arguments");
	signal(SIGPIPE, SIG_DFL);
	data_sink = sink_events;
	request(PD_CTL_EVENTS, 0, 0, -1, args, nargs, &r);
	return 0;
}

int
cmd_check(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "repair", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 } };
	uint32_t flags = 0;
	struct reply r;
	int ch;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'r': flags |= PD_CTLF_REPAIR; break;
		default: return 2;
		}
	}
	if (argc != optind)
		die("\"pluginctl check\" accepts no arguments (usage: pluginctl "
		    "check [--repair])");
	/* The report quotes names and paths from plugin configs. */
	data_sink = sink_term;
	request(PD_CTL_CHECK, flags, 0, -1, NULL, 0, &r);
	sink_term_end();
	return 0;
}

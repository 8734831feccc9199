/*
 * plugind-gateway: one per enabled plugin.  Container engines (dockerd,
 * Podman) connect to the socket the broker published for the plugin,
 * <publish-docker-dir>/<NAME>.sock, which is this process's fd 4; it is
 * chrooted into the plugin's socket directory, has no capabilities, its
 * own empty network namespace and the "gateway" seccomp policy.  Each
 * engine connection is one Docker plugin protocol call (HTTP POST, JSON),
 * read with api/http.c's limits and forwarded to the plugin's socket by
 * its name in the chroot, with caps on the plugin's answer (headers
 * GW_HDR_MAX, body GW_BODY_MAX) and one deadline for the whole call.
 *
 * It answers /Plugin.Activate itself from Interface.Types when the
 * plugin does not, and for volume drivers it rewrites the Mountpoint of
 * VolumeDriver.Mount, .Path, .Get and .List from the plugin's path under
 * PropagatedMount to the host path of that directory, refusing anything
 * else (rewrite.c).  This is the only place plugind parses what a plugin
 * answers.  After a VolumeDriver Create, Remove, Mount or Unmount the
 * plugin did, it reports what the engine now holds to the broker (USE on
 * fd 3, use.c); while that channel is gone (the broker restarts) it
 * refuses those four calls rather than let the count go wrong.
 *
 * Started "off" for a disabled plugin, it answers every call with an
 * error naming the plugin, so an engine never falls back to a volume
 * of its own of the same name.  docs/CONSUMERS.md.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "child.h"
#include "gateway.h"
#include "http.h"
#include "log.h"
#include "role.h"
#include "util.h"

#define GW_LISTEN_FD	4
#define GW_CTYPE	"application/vnd.docker.plugins.v1+json"

static struct pd_gateway_req	 gw;
static json_t			*implements;	/* what Activate answers */
static int			 volume;	/* a volume driver */
static struct http_conn		 conn;
static struct http_req		 req;

/* Wait for `ev` on fd until the deadline; 0 ready, -1 timed out. */
static int
wait_fd(int fd, short ev, uint64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = ev };
	uint64_t now;
	int r;

	for (;;) {
		if ((now = pd_now_ms()) >= deadline)
			return -1;
		r = poll(&p, 1, (int)(deadline - now));
		if (r > 0)
			return 0;
		if (r == -1 && errno != EINTR)
			return -1;
	}
}

/* Interface.Types ("docker.volumedriver/1.0,...") as Activate's list. */
static void
types_init(const char *types)
{
	static const struct { const char *cap, *name; } map[] = {
		{ "volumedriver", "VolumeDriver" },
		{ "networkdriver", "NetworkDriver" },
		{ "ipamdriver", "IpamDriver" },
		{ "authz", "authz" },
		{ "logdriver", "LogDriver" },
		{ "metricscollector", "MetricsCollector" },
	};
	char one[256];
	const char *p = types;
	size_t n, i, pl;

	implements = json_array();
	while (*p != '\0') {
		n = strcspn(p, ",");
		snprintf(one, sizeof(one), "%.*s", (int)n, p);
		p += n + (p[n] == ',');
		if (strncmp(one, "docker.", 7) != 0)
			continue;
		pl = strcspn(one + 7, "/");
		for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
			if (strlen(map[i].cap) == pl &&
			    strncmp(one + 7, map[i].cap, pl) == 0) {
				json_array_append_new(implements,
				    json_string(map[i].name));
				if (i == 0)
					volume = 1;
			}
	}
}

static int
write_all(int fd, const char *p, size_t n, uint64_t deadline)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN || wait_fd(fd, POLLOUT, deadline) == -1)
				return -1;
			continue;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Connect to the plugin's socket, by its name in our chroot. */
static int
plugin_connect(uint64_t deadline)
{
	struct sockaddr_un sun;
	int s;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "/%s", gw.socket);
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1)
		return -1;
	/* A full backlog is EAGAIN on a non-blocking unix socket: retry. */
	while (connect(s, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		if ((errno != EAGAIN && errno != EINTR) || pd_now_ms() >= deadline) {
			close(s);
			return -1;
		}
		(void)poll(NULL, 0, 10);
	}
	return s;
}

/*
 * One call to the plugin: the request, then its whole answer into *out
 * (gw_answer_parse() frames it).  0, or -1 with why in err.
 */
static int
plugin_call(const char *path, const char *body, size_t blen,
    struct gw_answer *a, char *err, size_t errlen)
{
	uint64_t deadline = pd_now_ms() + gw.timeout_ms;
	char *head;
	ssize_t n;
	int s, rc;

	if ((s = plugin_connect(deadline)) == -1) {
		snprintf(err, errlen, "cannot connect to the plugin: %s",
		    strerror(errno));
		return -1;
	}
	head = xasprintf("POST %s HTTP/1.1\r\nHost: plugin\r\nAccept: "
	    "application/vnd.docker.plugins.v1.2+json\r\nContent-Type: "
	    "application/json\r\nContent-Length: %zu\r\nConnection: close\r\n"
	    "\r\n", path, blen);
	rc = write_all(s, head, strlen(head), deadline);
	free(head);
	if (rc == -1 || write_all(s, body, blen, deadline) == -1) {
		close(s);
		snprintf(err, errlen, "cannot send the call to the plugin");
		return -1;
	}
	gw_answer_init(a);
	for (;;) {
		if ((rc = gw_answer_parse(a, err, errlen)) != 0)
			break;
		if (a->len == a->cap) {
			snprintf(err, errlen, "the plugin's answer is too large");
			rc = -1;
			break;
		}
		n = read(s, a->buf + a->len, a->cap - a->len);
		if (n > 0) {
			a->len += (size_t)n;
			continue;
		}
		if (n == 0) {
			a->eof = 1;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN || wait_fd(s, POLLIN, deadline) == -1) {
			snprintf(err, errlen, "%s", errno == EAGAIN ?
			    "the plugin did not answer in time" :
			    "reading the plugin's answer failed");
			rc = -1;
			break;
		}
	}
	close(s);
	return rc == 1 ? 0 : -1;
}

static void
answer_err(int status, const char *msg)
{
	char *s;
	json_t *j;

	j = json_pack("{s:s}", "Err", msg);
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	req.keepalive = 0;
	(void)http_respond(&conn, &req, status, GW_CTYPE, NULL, s ? s : "{}",
	    s ? strlen(s) : 2);
	free(s);
}

/* Activate: the plugin's own answer if it names what it implements. */
static void
activate(const struct gw_answer *a, int ok)
{
	json_t *j = NULL, *imp;
	char *s;

	if (ok && a->status == 200)
		j = json_loadb(a->body, a->blen, 0, NULL);
	imp = json_object_get(j, "Implements");
	if (!json_is_array(imp) || json_array_size(imp) == 0) {
		json_decref(j);
		j = json_pack("{s:O}", "Implements", implements);
	}
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	(void)http_respond(&conn, &req, 200, GW_CTYPE, NULL, s ? s : "{}",
	    s ? strlen(s) : 2);
	free(s);
}

/* Is the broker still at the other end of fd 3? */
static int
broker_here(void)
{
	struct pollfd p = { .fd = PD_CHILD_FD, .events = POLLIN | POLLRDHUP };

	/* It never writes after GATEWAY: anything readable is its close. */
	return poll(&p, 1, 0) == 0;
}

/* The engine's Create/Remove/Mount/Unmount the plugin did, to the broker. */
static void
report_use(int op, const char *body, size_t blen, const struct gw_answer *a)
{
	char vol[GW_USE_NAME_MAX + 1], mnt[GW_USE_NAME_MAX + 1];

	if (gw_answer_done(a) &&
	    gw_use_names(body, blen, op, vol, sizeof(vol), mnt, sizeof(mnt)) ==
	    0)
		(void)pd_send_use(PD_CHILD_FD, (uint32_t)op, vol,
		    op == 2 || op == 3 ? mnt : "", NULL);
}

/* Only "/Name.Call"-like paths go to the plugin. */
static int
path_ok(const char *p)
{
	if (p[0] != '/' || p[1] == '\0' || strlen(p) > 200)
		return 0;
	for (p++; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
		    *p == '-'))
			return 0;
	return 1;
}

static void
serve_call(void)
{
	static struct gw_answer a;
	char err[512], *body = NULL, *out = NULL;
	size_t blen = 0, olen;
	struct pd_err e;
	int ok, op;

	/*
	 * Off: Activate succeeds, so the engine goes on to the call and
	 * shows its error (Podman shows only the status of a failed
	 * Activate); every call fails, naming the plugin.
	 */
	if (gw.mode == PD_GW_OFF) {
		if (strcmp(req.path, "/Plugin.Activate") == 0) {
			activate(NULL, 0);
			return;
		}
		snprintf(err, sizeof(err), "plugin %s found but disabled "
		    "(plugind: pluginctl enable %s)", gw.name, gw.name);
		answer_err(500, err);
		return;
	}
	if (strcmp(req.method, "POST") != 0) {
		answer_err(405, "plugin calls are POST");
		return;
	}
	if (!path_ok(req.path)) {
		answer_err(404, "not a plugin call");
		return;
	}
	/*
	 * A log driver is handed a fifo by its host path (StartLogging's
	 * File), which is not in the plugin's mount namespace: refused
	 * plainly rather than failing inside the plugin.
	 */
	if (strncmp(req.path, "/LogDriver.", 11) == 0) {
		answer_err(501, "log driver plugins are not supported through "
		    "plugind's gateway: the engine's log fifo is not mapped into "
		    "the plugin (docs/CONSUMERS.md)");
		return;
	}
	if ((op = volume ? gw_use_op(req.path) : -1) != -1 && !broker_here()) {
		answer_err(503, "plugind is restarting: the plugin's in-use "
		    "count cannot be kept now, try again");
		return;
	}
	if (http_body_all(&conn, &req, GW_BODY_MAX, &body, &blen, &e) == -1) {
		answer_err(e.code >= 400 ? e.code : 400, e.msg);
		return;
	}
	ok = plugin_call(req.path, body ? body : "", blen, &a, err,
	    sizeof(err)) == 0;
	if (ok && op != -1)
		report_use(op, body ? body : "", blen, &a);
	free(body);
	if (strcmp(req.path, "/Plugin.Activate") == 0)
		activate(&a, ok);
	else if (!ok)
		answer_err(502, err);
	else if (gw_rewrite(req.path, volume, gw.pm, gw.host, &a, &out, &olen,
	    err, sizeof(err)) == -1)
		answer_err(502, err);
	else
		(void)http_respond(&conn, &req, a.status >= 200 && a.status < 600 ?
		    a.status : 502, GW_CTYPE, NULL, out, olen);
	free(out);
	gw_answer_free(&a);
}

static void
serve(int c)
{
	struct pd_err e;
	int r;

	memset(&conn, 0, sizeof(conn));
	conn.fd = c;
	if (pd_set_nonblock(c) == -1)
		return;
	r = http_read_request(&conn, &req, &e);
	if (r == -1 && e.code >= 400 && !conn.broken) {
		if (req.method[0] == '\0')
			strcpy(req.method, "POST");
		req.body_done = 1;
		answer_err(e.code, e.msg);
	}
	if (r != 1)
		return;
	req.keepalive = 0;	/* one call per connection */
	serve_call();
}

/* The one GATEWAY request; a STOP (the broker's probe) ends us. */
static void
configure(struct pd_chan *ch)
{
	struct pd_msg m;
	struct pd_err e;

	if (pd_msg_recv(ch, &m, 30000, &e) != 1)
		exit(1);
	if (m.type == PD_MSG_STOP)
		exit(0);
	if (m.type != PD_MSG_GATEWAY || pd_dec_gateway(&m, &gw, &e) == -1)
		fatalx("bad GATEWAY request");
	pd_msg_clear(&m);
	if (gw.mode == PD_GW_OFF ? gw.name[0] == '\0' :
	    gw.mode != PD_GW_SERVE || gw.socket[0] == '\0' ||
	    strchr(gw.socket, '/') != NULL || gw.timeout_ms == 0)
		fatalx("bad GATEWAY request");
	types_init(gw.types);
}

int
main(void)
{
	struct pd_setup s;
	struct pd_chan ch;
	struct stat st;
	int c;

	signal(SIGPIPE, SIG_IGN);
	/* jansson seeds its hash from /dev/urandom: before the sandbox */
	json_object_seed(0);
	if (fstat(GW_LISTEN_FD, &st) == -1 || !S_ISSOCK(st.st_mode))
		fatalx("fd %d is not the listening socket", GW_LISTEN_FD);
	pd_child_init(PD_ROLE_GATEWAY, &ch, &s);
	pd_setup_free(&s);
	configure(&ch);
	/* Only USE reports from now on (serve mode), and nothing on stderr. */
	pd_chan_free(&ch);
	if (gw.mode == PD_GW_OFF)
		close(PD_CHILD_FD);
	close(2);
	for (;;) {
		if ((c = accept4(GW_LISTEN_FD, NULL, NULL, SOCK_CLOEXEC)) == -1) {
			if (errno != EINTR && errno != ECONNABORTED)
				(void)poll(NULL, 0, 100);	/* EMFILE: breathe */
			continue;
		}
		serve(c);
		close(c);
	}
}

/*
 * Engines' access to a plugin.  For each running plugin the broker binds
 * <publish-docker-dir>/<NAME>.sock (NAME: the plugin's name without
 * ":latest"; where dockerd looks for plugins, and what Podman's
 * containers.conf names) and hands the listening socket to a
 * plugind-gateway (gateway/gateway.c), started once the plugin listens:
 * the gateway's user, no capabilities, its own network namespace, its
 * seccomp policy, chrooted into the plugin's socket directory
 * <exec-root>/plugins/<id>.  The gateway parses what the plugin answers;
 * the broker never does.  Like the log writer it outlives the broker and
 * is found again by its root directory.  docs/CONSUMERS.md.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proc/proc.h"
#include "log.h"
#include "role.h"
#include "util.h"

#define GW_COMM	"plugind-gateway"

/*
 * The directory fd the published socket of `name` goes in, and its last
 * component in base ("<last>.sock").  A name with '/' (user/plugin) gets
 * subdirectories, as dockerd looks up <dir>/<user>/<plugin>.sock.
 */
static int
publish_dir(const char *name, char *base, size_t blen, int mk,
    struct pd_err *e)
{
	char n[600], *p, *s;
	size_t l;
	int dfd, nfd;

	snprintf(n, sizeof(n), "%s", name);
	l = strlen(n);
	if (l > 7 && strcmp(n + l - 7, ":latest") == 0)
		n[l - 7] = '\0';
	if (mk && pd_mkdirs(conf.publish_dir, 0755, e) == -1)
		return -1;
	if ((dfd = open(conf.publish_dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC)) ==
	    -1)
		return pd_errno(e, PD_E_IO, "open %s", conf.publish_dir);
	for (p = n; (s = strchr(p, '/')) != NULL; p = s + 1) {
		*s = '\0';
		if (p[0] == '\0' || strcmp(p, ".") == 0 || strcmp(p, "..") == 0)
			break;
		/* Safety: no symlink is followed below the publish dir. */
		if (mk && mkdirat(dfd, p, 0755) == -1 && errno != EEXIST)
			break;
		nfd = openat(dfd, p, O_DIRECTORY | O_RDONLY | O_NOFOLLOW |
		    O_CLOEXEC);
		close(dfd);
		if ((dfd = nfd) == -1)
			return pd_errno(e, PD_E_IO, "open %s/%s", conf.publish_dir, n);
	}
	if (s != NULL || p[0] == '\0' || p[0] == '.') {
		close(dfd);
		return pd_errf(e, PD_E_INVAL, "plugin name %s cannot be published",
		    name);
	}
	snprintf(base, blen, "%s.sock", p);
	return dfd;
}

/* Does something listen on the socket base in dfd? */
static int
listening(int dfd, const char *base)
{
	struct sockaddr_un sun;
	int s, ok;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path),
	    "/proc/self/fd/%d/%s", dfd, base) >= sizeof(sun.sun_path))
		return 0;
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1)
		return 0;
	ok = connect(s, (struct sockaddr *)&sun, sizeof(sun)) == 0 ||
	    errno == EAGAIN;
	close(s);
	return ok;
}

/* Bind and listen on base in dfd, replacing a stale socket only. */
static int
publish_bind(int dfd, const char *base, const char *name, struct pd_err *e)
{
	struct sockaddr_un sun;
	struct stat st;
	int s;

	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return pd_errf(e, PD_E_CONFLICT, "%s/%s exists and is not a "
			    "socket: plugin %s is not published", conf.publish_dir,
			    base, name);
		if (listening(dfd, base))
			return pd_errf(e, PD_E_CONFLICT, "%s/%s is in use by another "
			    "program: plugin %s is not published", conf.publish_dir,
			    base, name);
		/* Safety: a socket nobody listens on, in a root-owned dir. */
		(void)unlinkat(dfd, base, 0);
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path),
	    "/proc/self/fd/%d/%s", dfd, base) >= sizeof(sun.sun_path))
		return pd_errf(e, PD_E_INVAL, "plugin name %s is too long to "
		    "publish", name);
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return pd_errno(e, PD_E_INTERNAL, "socket");
	if (bind(s, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    fchmodat(dfd, base, 0660, AT_SYMLINK_NOFOLLOW) == -1 ||
	    listen(s, 128) == -1) {
		pd_errno(e, PD_E_IO, "listen on %s/%s", conf.publish_dir, base);
		close(s);
		return -1;
	}
	return s;
}

/*
 * Let the gateway's user reach the plugin's socket `sock` in sfd: the
 * directory becomes root:<gateway group> 0710, the socket the gateway
 * user's.  Safety: the socket is opened without following a link and
 * changed through that fd only if it is a socket with one link (no host
 * file hard-linked in by the plugin).  The directory, the gateway's
 * chroot, is made empty by the broker at each start (run_prepare), bound
 * rprivate into the plugin (no mount the plugin makes there reaches the
 * host), so it holds only what the plugin made, and is removed when the
 * plugin stops.  A symlink the plugin plants resolves inside the chroot.
 * The gateway can do no more there than connect to a socket its user
 * may write: its filter has no open, and it can change nothing.
 */
static int
give_socket(int sfd, const char *sock, uid_t uid, gid_t gid,
    struct pd_err *e)
{
	struct stat st;
	int fd, rc = 0;

	if (fchown(sfd, 0, gid) == -1 || fchmod(sfd, 0710) == -1)
		return pd_errno(e, PD_E_IO, "socket directory");
	if ((fd = openat(sfd, sock, O_PATH | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return pd_errno(e, PD_E_IO, "plugin socket %s", sock);
	if (fstat(fd, &st) == -1 || !S_ISSOCK(st.st_mode) || st.st_nlink != 1)
		rc = pd_errf(e, PD_E_IO, "plugin socket %s is not a socket", sock);
	else if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH) == -1)
		rc = pd_errno(e, PD_E_IO, "chown plugin socket %s", sock);
	close(fd);
	return rc;
}

/* Interface.Types as "docker.volumedriver/1.0,...". */
static char *
types_list(const json_t *iface)
{
	const json_t *t;
	char *s = xstrdup(""), *n;
	size_t i;

	json_array_foreach(json_object_get(iface, "Types"), i, t) {
		if (!json_is_string(t))
			continue;
		n = xasprintf("%s%s%s", s, s[0] ? "," : "", json_string_value(t));
		free(s);
		s = n;
	}
	return s;
}

static int
gateway_spawn(const char *id, const json_t *cfg, int sfd, int lfd,
    struct pd_err *e)
{
	const json_t *iface = json_object_get(cfg, "Interface");
	struct pd_gateway_req g;
	struct rt_paths rp;
	struct helper h;
	struct pd_err ie;
	char *host;
	int rc = 0;

	rt_paths(id, &rp);
	if (helper_spawn_fd(&h, PD_ROLE_GATEWAY, sfd, rp.sockdir, lfd, e) == -1)
		return -1;
	host = xasprintf("%s/propagated-mount", rp.plugdir);
	memset(&g, 0, sizeof(g));
	g.socket = xstrdup(json_string_value(json_object_get(iface, "Socket")));
	g.types = types_list(iface);
	g.pm = xstrdup(json_string_value(json_object_get(cfg,
	    "PropagatedMount")) ? json_string_value(json_object_get(cfg,
	    "PropagatedMount")) : "");
	g.host = host;
	g.timeout_ms = conf.gateway_timeout * 1000;
	if (pd_send_gateway(h.sock, 1, &g, &ie) == -1) {
		rc = pd_errf(e, PD_E_INTERNAL, "gateway: %s", ie.msg);
		helper_kill(&h);
	} else
		helper_release(&h);
	pd_gateway_req_free(&g);
	return rc;
}

/*
 * Publish plugin id (named name, plugin object pobj) for engines, once it
 * listens: bind its socket and start its gateway.  Nothing if
 * publish-docker-dir is "".
 */
int
gateway_start(const char *id, const char *name, const json_t *pobj,
    struct pd_err *e)
{
	const json_t *cfg = json_object_get(pobj, "Config");
	const char *sock = json_string_value(json_object_get(json_object_get(cfg,
	    "Interface"), "Socket"));
	char base[600];
	struct rt_paths rp;
	uid_t uid;
	gid_t gid;
	int dfd, sfd = -1, lfd = -1, rc = -1;

	if (conf.publish_dir[0] == '\0' || sock == NULL)
		return 0;
	if (helper_lookup_user(PD_ROLE_GATEWAY, &uid, &gid, e) == -1)
		return -1;
	rt_paths(id, &rp);
	if ((dfd = publish_dir(name, base, sizeof(base), 1, e)) == -1)
		return -1;
	if ((sfd = open(rp.sockdir, O_DIRECTORY | O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		pd_errno(e, PD_E_IO, "socket directory %s", rp.sockdir);
	else if (give_socket(sfd, sock, uid, gid, e) == 0 &&
	    (lfd = publish_bind(dfd, base, name, e)) != -1 &&
	    gateway_spawn(id, cfg, sfd, lfd, e) == 0)
		rc = 0;
	if (rc == -1 && lfd != -1)
		(void)unlinkat(dfd, base, 0);
	if (lfd != -1)
		close(lfd);
	if (sfd != -1)
		close(sfd);
	close(dfd);
	if (rc == 0)
		log_info("plugin %s (%.12s) published as %s/%s", name, id,
		    conf.publish_dir, base);
	return rc;
}

int
gateway_count(const char *id)
{
	struct rt_paths rp;
	pid_t pids[8];

	rt_paths(id, &rp);
	return helper_find(GW_COMM, rp.sockdir, pids, 8);
}

/*
 * Stop plugin id's gateways (through pidfds, re-checked: a recycled pid
 * is never signalled) and remove its published socket if nobody else
 * listens there.
 */
void
gateway_stop(const char *id, const char *name)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	struct rt_paths rp;
	struct pd_err e;
	struct stat st;
	char base[600];
	pid_t pids[8];
	int n, i, pfd, dfd, waited;

	rt_paths(id, &rp);
	n = helper_find(GW_COMM, rp.sockdir, pids, 8);
	for (i = 0; i < n && i < 8; i++) {
		if ((pfd = (int)syscall(SYS_pidfd_open, pids[i], 0)) == -1)
			continue;
		if (helper_is(pids[i], GW_COMM, rp.sockdir))
			(void)syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0);
		close(pfd);
	}
	for (waited = 0; n > 0 && waited < 1000 &&
	    helper_find(GW_COMM, rp.sockdir, pids, 8) > 0; waited += 10)
		nanosleep(&ts, NULL);
	if (conf.publish_dir[0] == '\0' || name == NULL || name[0] == '\0')
		return;
	if ((dfd = publish_dir(name, base, sizeof(base), 0, &e)) == -1)
		return;
	/* Safety: only a socket, and only if nobody listens on it. */
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISSOCK(st.st_mode) && !listening(dfd, base))
		(void)unlinkat(dfd, base, 0);
	close(dfd);
}

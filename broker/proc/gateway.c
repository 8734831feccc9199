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
 * is found again by its root directory.
 *
 * A serving gateway reports what engines hold (USE) on its channel, read
 * by a thread of ours per gateway (use_thread) into inuse.c.  A broker
 * that restarts has lost those channels, so it replaces every adopted
 * gateway: the new one listens on a temporary name that is renamed over
 * NAME.sock, then the old one is killed; engines never see the name go.
 * The same rename turns a disabled plugin's socket over to an "off"
 * gateway (chrooted into the empty <exec-root>/gateways/<id>) that
 * answers every call with an error: the name stays published from the
 * first enable until rm, so an engine never silently falls back to a
 * volume of its own.  docs/CONSUMERS.md.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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

/* One serving gateway's channel, read by use_thread. */
struct gw_chan {
	char		 id[65];
	char		 name[256];
	int		 sock;
	int		 pidfd;
	struct pd_chan	 chan;
};

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

/* The root an off gateway of plugin id is chrooted into. */
static void
off_root(const char *id, char *buf, size_t len)
{
	snprintf(buf, len, "%s/gateways/%s", conf.exec_root, id);
}

/*
 * Kill gateway pid (chrooted into root), re-checked through its pidfd;
 * the pidfd, to wait on, or -1 when there was nothing to kill.
 */
static int
gw_kill_one(pid_t pid, const char *root)
{
	int pfd;

	if ((pfd = (int)syscall(SYS_pidfd_open, pid, 0)) == -1)
		return -1;
	/* Safety: the pidfd pins the process checked; no recycled pid. */
	if (helper_is(pid, GW_COMM, root) &&
	    syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0) == 0)
		return pfd;
	close(pfd);
	return -1;
}

/*
 * Kill the gateways chrooted into root but pid `keep` (through pidfds,
 * re-checked: a recycled pid is never signalled), and wait, at most 1 s,
 * until each has exited (its pidfd turns readable); how many there were.
 * One pass over /proc, and no wait at all when there is nothing to kill.
 */
static int
gw_kill(const char *root, pid_t keep)
{
	int fds[8], i, k = 0, n;
	pid_t pids[8];

	n = helper_find(GW_COMM, root, pids, 8);
	for (i = 0; i < n && i < 8; i++)
		if (pids[i] != keep && (fds[k] = gw_kill_one(pids[i], root)) != -1)
			k++;
	(void)helper_wait_gone(fds, k, 1000);	/* SIGKILLed: gone at once */
	for (i = 0; i < k; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return n;
}

/* Any gateway of plugin id, serving or off? */
static int
gw_any(const char *id)
{
	char off[4200];
	pid_t pids[1];

	off_root(id, off, sizeof(off));
	return gateway_count(id) > 0 || helper_find(GW_COMM, off, pids, 1) > 0;
}

/*
 * Listen on a temporary name beside base in dfd (tmp, ".<base>.new"),
 * for the caller to rename over base once a gateway serves it.  base
 * may be a socket only, and only one nobody listens on or one of plugin
 * id's own gateways serves.
 */
static int
publish_bind(int dfd, const char *id, const char *base, char *tmp,
    size_t tlen, const char *name, struct pd_err *e)
{
	struct sockaddr_un sun;
	struct stat st;
	int s;

	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return pd_errf(e, PD_E_CONFLICT, "%s/%s exists and is not a "
			    "socket: plugin %s is not published", conf.publish_dir,
			    base, name);
		if (listening(dfd, base) && !gw_any(id))
			return pd_errf(e, PD_E_CONFLICT, "%s/%s is in use by another "
			    "program: plugin %s is not published", conf.publish_dir,
			    base, name);
	}
	snprintf(tmp, tlen, ".%s.new", base);
	/* Safety: a leftover of ours, in a root-owned dir, and a socket. */
	if (fstatat(dfd, tmp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISSOCK(st.st_mode))
		(void)unlinkat(dfd, tmp, 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path),
	    "/proc/self/fd/%d/%s", dfd, tmp) >= sizeof(sun.sun_path))
		return pd_errf(e, PD_E_INVAL, "plugin name %s is too long to "
		    "publish", name);
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return pd_errno(e, PD_E_INTERNAL, "socket");
	if (bind(s, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    fchmodat(dfd, tmp, 0660, AT_SYMLINK_NOFOLLOW) == -1 ||
	    listen(s, 128) == -1) {
		pd_errno(e, PD_E_IO, "listen on %s/%s", conf.publish_dir, tmp);
		(void)unlinkat(dfd, tmp, 0);
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

/*
 * Read one serving gateway's USE reports until its channel closes.  A
 * report is taken for this gateway's plugin only; anything else on the
 * channel is a gateway gone wrong, which is killed.
 */
static void *
use_thread(void *arg)
{
	struct gw_chan *g = arg;
	struct pd_msg m;
	struct pd_err e;
	char *vol, *mnt;
	uint32_t op;

	while (pd_msg_recv(&g->chan, &m, -1, &e) == 1) {
		if (m.type != PD_MSG_USE ||
		    pd_dec_use(&m, &op, &vol, &mnt, &e) == -1 ||
		    op > PD_USE_UNMOUNT) {
			log_warnx("plugin %s: its gateway sent %s, not a USE "
			    "report: killed", g->name, pd_msg_name(m.type));
			(void)syscall(SYS_pidfd_send_signal, g->pidfd, SIGKILL,
			    NULL, 0);
			pd_msg_clear(&m);
			break;
		}
		if (inuse_apply(g->id, (enum pd_use)op, vol, mnt, &e) == -1)
			log_warnx("plugin %s: in-use report: %s", g->name, e.msg);
		free(vol);
		free(mnt);
		pd_msg_clear(&m);
	}
	pd_chan_free(&g->chan);
	close(g->sock);
	close(g->pidfd);
	free(g);
	return NULL;
}

/* Hand h's channel to a use_thread; on failure the gateway is killed. */
static int
use_watch(struct helper *h, const char *id, const char *name,
    struct pd_err *e)
{
	struct gw_chan *g;
	pthread_attr_t at;
	pthread_t t;
	int rc;

	g = xcalloc(1, sizeof(*g));
	snprintf(g->id, sizeof(g->id), "%s", id);
	snprintf(g->name, sizeof(g->name), "%s", name);
	if ((g->pidfd = (int)syscall(SYS_pidfd_open, h->pid, 0)) == -1) {
		free(g);
		return pd_errno(e, PD_E_INTERNAL, "gateway: pidfd_open");
	}
	g->sock = h->sock;
	g->chan = h->chan;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &at, use_thread, g);
	pthread_attr_destroy(&at);
	if (rc != 0) {
		close(g->pidfd);
		free(g);
		return pd_errf(e, PD_E_INTERNAL, "gateway: cannot start its "
		    "reader thread");
	}
	/* The thread owns the channel now; release only disowns the pid. */
	h->sock = -1;
	memset(&h->chan, 0, sizeof(h->chan));
	helper_release(h);
	return 0;
}

/* Start a gateway on listening socket lfd, chrooted at rootfd (root). */
static int
gateway_spawn(const char *id, const char *name, const json_t *cfg, int mode,
    int rootfd, const char *root, int lfd, pid_t *pid, struct pd_err *e)
{
	const json_t *iface = json_object_get(cfg, "Interface");
	const char *pm = json_string_value(json_object_get(cfg,
	    "PropagatedMount"));
	struct pd_gateway_req g;
	struct rt_paths rp;
	struct helper h;
	struct pd_err ie;
	int rc = 0;

	rt_paths(id, &rp);
	if (helper_spawn_fd(&h, PD_ROLE_GATEWAY, rootfd, root, lfd, e) == -1)
		return -1;
	*pid = h.pid;
	memset(&g, 0, sizeof(g));
	g.mode = (uint32_t)mode;
	g.name = xstrdup(name);
	g.socket = xstrdup(mode == PD_GW_SERVE ? json_string_value(
	    json_object_get(iface, "Socket")) : "");
	g.types = types_list(iface);
	g.pm = xstrdup(mode == PD_GW_SERVE && pm != NULL ? pm : "");
	g.host = xasprintf("%s/propagated-mount", rp.plugdir);
	g.timeout_ms = conf.gateway_timeout * 1000;
	if (pd_send_gateway(h.sock, 1, &g, &ie) == -1) {
		rc = pd_errf(e, PD_E_INTERNAL, "gateway: %s", ie.msg);
		helper_kill(&h);
	} else if (mode == PD_GW_OFF)
		helper_release(&h);
	else if ((rc = use_watch(&h, id, name, e)) == -1)
		helper_kill(&h);
	pd_gateway_req_free(&g);
	return rc;
}

/* The directory a gateway of plugin id in `mode` is chrooted into. */
static int
gw_root(const char *id, const json_t *cfg, int mode, char *root, size_t len,
    struct pd_err *e)
{
	const char *sock = json_string_value(json_object_get(json_object_get(cfg,
	    "Interface"), "Socket"));
	struct rt_paths rp;
	uid_t uid;
	gid_t gid;
	int fd;

	if (helper_lookup_user(PD_ROLE_GATEWAY, &uid, &gid, e) == -1)
		return -1;
	rt_paths(id, &rp);
	if (mode == PD_GW_OFF) {
		off_root(id, root, len);
		/* Safety: a directory of ours under exec-root, kept empty. */
		if (pd_mkdirs(root, 0755, e) == -1)
			return -1;
	} else
		snprintf(root, len, "%s", rp.sockdir);
	if ((fd = open(root, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) ==
	    -1)
		return pd_errno(e, PD_E_IO, "gateway root %s", root);
	if (mode == PD_GW_SERVE && give_socket(fd, sock, uid, gid, e) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Publish plugin id (named name, plugin object pobj) for
 * engines: a gateway in `mode` on a new socket, renamed over NAME.sock,
 * then every other gateway of the plugin killed.  Nothing if
 * publish-docker-dir is "" or the plugin has no socket.
 */
static int
gw_publish(const char *id, const char *name, const json_t *pobj, int mode,
    struct pd_err *e)
{
	const json_t *cfg = json_object_get(pobj, "Config");
	char base[600], tmp[620], root[4200], other[4200], shown[600];
	struct rt_paths rp;
	pid_t pid = -1;
	int dfd, rfd, lfd, pfd, rc = -1;

	if (conf.publish_dir[0] == '\0' || (mode == PD_GW_SERVE &&
	    json_string_value(json_object_get(json_object_get(cfg,
	    "Interface"), "Socket")) == NULL))
		return 0;
	if ((dfd = publish_dir(name, base, sizeof(base), 1, e)) == -1)
		return -1;
	/* The name as engines use it: without ":latest". */
	snprintf(shown, sizeof(shown), "%s", name);
	if (strlen(shown) > 7 && strcmp(shown + strlen(shown) - 7, ":latest") == 0)
		shown[strlen(shown) - 7] = '\0';
	if ((rfd = gw_root(id, cfg, mode, root, sizeof(root), e)) == -1) {
		close(dfd);
		return -1;
	}
	if ((lfd = publish_bind(dfd, id, base, tmp, sizeof(tmp), name, e)) != -1 &&
	    gateway_spawn(id, shown, cfg, mode, rfd, root, lfd, &pid, e) == 0) {
		/* Safety: both names are ours, in the root-owned publish dir. */
		if (renameat(dfd, tmp, dfd, base) == -1)
			pd_errno(e, PD_E_IO, "publish %s/%s", conf.publish_dir, base);
		else
			rc = 0;
	}
	if (rc == -1 && lfd != -1)
		(void)unlinkat(dfd, tmp, 0);
	if (lfd != -1)
		close(lfd);
	close(rfd);
	close(dfd);
	rt_paths(id, &rp);
	if (rc == -1) {
		/* Only the new one: the old gateway keeps the name served. */
		if (pid > 0 && (pfd = gw_kill_one(pid, root)) != -1)
			close(pfd);
		return -1;
	}
	/* NAME.sock is the new gateway's: the others serve nothing now. */
	off_root(id, other, sizeof(other));
	(void)gw_kill(mode == PD_GW_SERVE ? rp.sockdir : other, pid);
	if (mode == PD_GW_SERVE) {
		(void)gw_kill(other, -1);
		(void)rmdir(other);
	}
	log_info("plugin %s (%.12s) published as %s/%s%s", name, id,
	    conf.publish_dir, base, mode == PD_GW_OFF ? " (disabled)" : "");
	podman_sync();
	return 0;
}

int
gateway_start(const char *id, const char *name, const json_t *pobj,
    struct pd_err *e)
{
	return gw_publish(id, name, pobj, PD_GW_SERVE, e);
}

/* At disable: the name stays, answering that the plugin is disabled. */
int
gateway_off(const char *id, const char *name, const json_t *pobj,
    struct pd_err *e)
{
	return gw_publish(id, name, pobj, PD_GW_OFF, e);
}

int
gateway_count(const char *id)
{
	struct rt_paths rp;
	pid_t pids[8];

	rt_paths(id, &rp);
	return helper_find(GW_COMM, rp.sockdir, pids, 8);
}

/* Remove plugin id's NAME.sock if it is a socket nobody listens on. */
static void
unpublish(const char *name)
{
	struct pd_err e;
	struct stat st;
	char base[600];
	int dfd;

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

/*
 * The plugin stops: its serving gateways go, and its published socket
 * unless an off gateway (a disable) took the name over.
 */
void
gateway_stop(const char *id, const char *name)
{
	struct rt_paths rp;

	rt_paths(id, &rp);
	(void)gw_kill(rp.sockdir, -1);
	unpublish(name);
	podman_sync();
}

/* rm: the plugin's name is no longer published at all. */
void
gateway_unpublish(const char *id, const char *name)
{
	char off[4200];

	off_root(id, off, sizeof(off));
	(void)gw_kill(off, -1);
	(void)rmdir(off);
	gateway_stop(id, name);
}

/*
 * At broker start, for a disabled plugin: its name was published (an
 * off gateway killed with the broker's unit, say): answer it again.
 */
void
gateway_restore_off(const char *id, const char *name, const json_t *pobj)
{
	char off[4200], base[600];
	struct pd_err e;
	struct stat st;
	pid_t pids[1];
	int dfd, was;

	off_root(id, off, sizeof(off));
	if (conf.publish_dir[0] == '\0' || helper_find(GW_COMM, off, pids, 1) > 0)
		return;
	if ((dfd = publish_dir(name, base, sizeof(base), 0, &e)) == -1)
		return;
	was = fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISSOCK(st.st_mode);
	close(dfd);
	if (was && gateway_off(id, name, pobj, &e) == -1)
		log_warnx("plugin %s: %s", name, e.msg);
}

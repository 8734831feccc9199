/*
 * The read-only verbs: info (with its helper probes), ls, inspect and
 * helper-check.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <regex.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ops/ops.h"
#include "privdrop.h"
#include "role.h"
#include "sandbox.h"
/*
 * Start the helper for `role` in a throw-away root, check it from the
 * outside, and stop it.  Used by `info` and `debug check-helper`.
 */
static int
probe_helper(int role, json_t **out, struct pd_err *e)
{
	char path[4096], root[4096];
	struct helper h;
	int rootfd, rc, sv[2] = { -1, -1 };
	uid_t uid;
	gid_t gid;

	/*
	 * The API process wants a connection on fd 4, the gateway a socket
	 * (it gets STOP before it would accept): an unconnected pair.
	 */
	if ((role == PD_ROLE_API || role == PD_ROLE_GATEWAY) && socketpair(AF_UNIX, SOCK_STREAM |
	    SOCK_CLOEXEC, 0, sv) == -1)
		return pd_errno(e, PD_E_IO, "socketpair");
	/* The log writer reads a pipe on fd 4 (sv[1]), EOF when we close sv[0]. */
	if (role == PD_ROLE_LOGGER) {
		if (pipe2(sv, O_CLOEXEC) == -1)
			return pd_errno(e, PD_E_IO, "pipe");
		rc = sv[0];
		sv[0] = sv[1];
		sv[1] = rc;
	}
	if (role == PD_ROLE_FETCHER)
		snprintf(root, sizeof(root), "%s/fetch-root", conf.data_root);
	else {
		snprintf(root, sizeof(root), "%s/tmp/probe-XXXXXX", conf.data_root);
		if (mkdtemp(root) == NULL)
			return pd_errno(e, PD_E_IO, "mkdtemp %s", root);
	}
	/*
	 * The log writer creates its "log" in its root, as in a plugin's
	 * logs directory.  Safety: a directory we just made, removed below.
	 */
	if (role == PD_ROLE_LOGGER && helper_lookup_user(role, &uid, &gid,
	    e) == -1)
		rc = -1;
	else if (role == PD_ROLE_LOGGER && chown(root, uid, gid) == -1)
		rc = pd_errno(e, PD_E_IO, "chown %s", root);
	else if ((rootfd = open(root, O_DIRECTORY | O_RDONLY | O_CLOEXEC)) == -1)
		rc = pd_errno(e, PD_E_IO, "open %s", root);
	else {
		rc = helper_spawn_fd(&h, role, rootfd, root, sv[1], e);
		close(rootfd);
	}
	*out = json_pack("{s:s, s:s}", "Role", pd_role_name(role), "Path",
	    helper_path(role, path, sizeof(path)));
	if (rc == 0) {
		json_object_set_new(*out, "Pid", json_integer(h.pid));
		json_object_set_new(*out, "Uid", json_integer(h.uid));
		json_object_set_new(*out, "Gid", json_integer(h.gid));
		json_object_set_new(*out, "Capabilities",
		    json_string(pd_role_caps_str(role)));
		json_object_set_new(*out, "Syscalls",
		    json_integer(pd_sandbox_count(role)));
		json_object_set_new(*out, "Sandbox", json_string(h.sandbox));
		if (role == PD_ROLE_LOGGER) {
			close(sv[0]);		/* EOF: the writer exits */
			sv[0] = -1;
		}
		helper_stop(&h);
	} else
		json_object_set_new(*out, "Error", json_string(e->msg));
	if (sv[0] != -1)
		close(sv[0]);
	if (sv[1] != -1)
		close(sv[1]);
	if (role == PD_ROLE_LOGGER) {
		char lp[4200];

		snprintf(lp, sizeof(lp), "%s/log", root);
		(void)unlink(lp);
	}
	if (role != PD_ROLE_FETCHER)
		(void)rmdir(root);
	return rc;
}

/*
 * info's helper probes start three sandboxed processes; a member asking
 * in a loop must not make the broker do that each time.  Members get the
 * last probe's result while it is younger than INFO_PROBE_TTL seconds
 * and no helper binary changed (device, inode, size, mtime); one member
 * probes while the others wait for its result (info_mtx).  Root always
 * probes afresh, and its result refreshes the cache.
 */
#define INFO_PROBE_TTL	60

static pthread_mutex_t	 info_mtx = PTHREAD_MUTEX_INITIALIZER;
static json_t		*info_cache;	/* the Helpers array */
static time_t		 info_cache_at;	/* monotonic */
static time_t		 info_cache_wall;
static char		 info_cache_ids[512];

static time_t
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* What identifies the helper binaries now, as one string. */
static void
helper_ids(char *buf, size_t len)
{
	char path[4096];
	struct stat st;
	size_t o = 0;
	int role;

	buf[0] = '\0';
	for (role = PD_ROLE_FETCHER; role <= PD_ROLE_LOGGER && o < len; role++) {
		if (stat(helper_path(role, path, sizeof(path)), &st) == -1)
			memset(&st, 0, sizeof(st));
		o += (size_t)snprintf(buf + o, len - o, "%llx:%llx:%llx:%lld.%ld;",
		    (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
		    (unsigned long long)st.st_size, (long long)st.st_mtim.tv_sec,
		    st.st_mtim.tv_nsec);
	}
}

static json_t *
probe_all(struct pd_err *e)
{
	json_t *helpers = json_array(), *h;
	int role;

	for (role = PD_ROLE_FETCHER; role <= PD_ROLE_LOGGER; role++) {
		(void)probe_helper(role, &h, e);
		json_array_append_new(helpers, h);
	}
	return helpers;
}

/* The Helpers array for c (a new reference) and when it was probed. */
static json_t *
info_helpers(const struct ctl_client *c, time_t *probed, struct pd_err *e)
{
	char ids[sizeof(info_cache_ids)];
	json_t *helpers;

	helper_ids(ids, sizeof(ids));
	if (c->uid == 0) {
		helpers = probe_all(e);
		pthread_mutex_lock(&info_mtx);
	} else {
		pthread_mutex_lock(&info_mtx);
		if (info_cache != NULL && mono_now() - info_cache_at <
		    INFO_PROBE_TTL && strcmp(ids, info_cache_ids) == 0) {
			helpers = json_deep_copy(info_cache);
			*probed = info_cache_wall;
			pthread_mutex_unlock(&info_mtx);
			return helpers;
		}
		helpers = probe_all(e);
	}
	json_decref(info_cache);
	info_cache = json_deep_copy(helpers);
	info_cache_at = mono_now();
	info_cache_wall = *probed = time(NULL);
	snprintf(info_cache_ids, sizeof(info_cache_ids), "%s", ids);
	pthread_mutex_unlock(&info_mtx);
	return helpers;
}

int
op_info(struct ctl_client *c, struct pd_ctlreq *q, int reqfd,
    struct pd_err *e)
{
	unsigned total, enabled;
	uint64_t nblobs, bytes;
	json_t *j, *helpers;
	time_t probed = 0;

	pthread_rwlock_rdlock(&plugins_lock);
	plugins_counts(&total, &enabled);
	pthread_rwlock_unlock(&plugins_lock);
	(void)store_stats(&nblobs, &bytes);
	j = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:i, s:i, s:I, s:I, s:o}",
	    "ServerVersion", PD_VERSION, "ProtocolVersion", PD_PROTO_VERSION,
	    "DataRoot", conf.data_root, "ExecRoot", conf.exec_root,
	    "Socket", conf.socket_path, "Runtime", conf.runtime,
	    "Plugins", (int)total, "PluginsEnabled", (int)enabled,
	    "Blobs", (json_int_t)nblobs, "BlobBytes", (json_int_t)bytes,
	    "Host", host_facts());
	json_object_set_new(j, "Policy", policy_info());
	/* The Docker API's /info wants no sandbox report, only the facts. */
	if (!(q->flags & PD_CTLF_NOPROBE)) {
		helpers = info_helpers(c, &probed, e);
		json_object_set_new(j, "Helpers", helpers);
		json_object_set_new(j, "HelpersProbed", json_integer(probed));
	}
	pd_err_clear(e);
	return ctl_reply_json(c, j) == -1 ? pd_errf(e, PD_E_IO, "reply") : 0;
}

int
op_check_helper(struct ctl_client *c, struct pd_ctlreq *q, int reqfd,
    struct pd_err *e)
{
	const char *which = q->args[0];
	json_t *h;
	int role;

	if (strcmp(which, "fetcher") == 0)
		role = PD_ROLE_FETCHER;
	else if (strcmp(which, "extractor") == 0)
		role = PD_ROLE_EXTRACTOR;
	else if (strcmp(which, "api") == 0)
		role = PD_ROLE_API;
	else if (strcmp(which, "logger") == 0)
		role = PD_ROLE_LOGGER;
	else if (strcmp(which, "gateway") == 0)
		role = PD_ROLE_GATEWAY;
	else
		return pd_errf(e, PD_E_INVAL, "unknown helper \"%s\" (fetcher, "
		    "extractor, api, logger or gateway)", which);
	if (probe_helper(role, &h, e) == -1) {
		json_decref(h);
		return -1;
	}
	return ctl_reply_json(c, h) == -1 ? pd_errf(e, PD_E_IO, "reply") : 0;
}

struct list_filter {
	int		 enabled;	/* -1 any, 0, 1 */
	regex_t		 caps[16];
	size_t		 ncaps;
};

static int
parse_filters(struct pd_ctlreq *q, struct list_filter *f, struct pd_err *e)
{
	const char *arg, *val;
	uint32_t i;
	int want;

	f->enabled = -1;
	f->ncaps = 0;
	for (i = 0; i < q->nargs; i++) {
		arg = q->args[i];
		if ((val = strchr(arg, '=')) == NULL)
			return pd_errf(e, PD_E_INVAL, "bad format of filter (expected "
			    "name=value): \"%s\"", arg);
		val++;
		if (strncmp(arg, "enabled=", 8) == 0) {
			if (strcmp(val, "true") == 0 || strcmp(val, "1") == 0)
				want = 1;
			else if (strcmp(val, "false") == 0 || strcmp(val, "0") == 0)
				want = 0;
			else
				return pd_errf(e, PD_E_INVAL, "invalid filter 'enabled=%s'",
				    val);
			if (f->enabled != -1 && f->enabled != want)
				return pd_errf(e, PD_E_INVAL, "invalid filter 'enabled=[%s "
				    "%s]'", f->enabled ? "true" : "false", val);
			f->enabled = want;
		} else if (strncmp(arg, "capability=", 11) == 0) {
			if (f->ncaps == sizeof(f->caps) / sizeof(f->caps[0]))
				return pd_errf(e, PD_E_INVAL, "too many capability filters");
			if (regcomp(&f->caps[f->ncaps], val, REG_EXTENDED | REG_NOSUB) != 0)
				return pd_errf(e, PD_E_INVAL, "invalid filter 'capability=%s'",
				    val);
			f->ncaps++;
		} else
			return pd_errf(e, PD_E_INVAL, "invalid filter '%.*s'",
			    (int)(val - arg - 1), arg);
	}
	return 0;
}

/* Docker's rule: every type's capability must match one filter value. */
static int
filter_match(const struct list_filter *f, const struct plugin *p)
{
	const json_t *types, *t;
	const char *s, *cap, *slash, *dot;
	char capbuf[256];
	size_t i, k;
	int ok;

	if (f->enabled != -1 && plugin_enabled(p) != f->enabled)
		return 0;
	if (f->ncaps == 0)
		return 1;
	types = json_object_get(json_object_get(json_object_get(json_object_get(
	    p->state, "plugin"), "Config"), "Interface"), "Types");
	json_array_foreach(types, i, t) {
		if ((s = json_string_value(t)) == NULL)
			continue;
		slash = strchr(s, '/');
		snprintf(capbuf, sizeof(capbuf), "%.*s",
		    (int)(slash ? (size_t)(slash - s) : strlen(s)), s);
		dot = strrchr(capbuf, '.');
		cap = dot ? dot + 1 : capbuf;
		for (ok = 0, k = 0; k < f->ncaps && !ok; k++)
			ok = regexec(&f->caps[k], cap, 0, NULL, 0) == 0;
		if (!ok)
			return 0;
	}
	return 1;
}

int
op_list(struct ctl_client *c, struct pd_ctlreq *q, int reqfd,
    struct pd_err *e)
{
	struct list_filter f;
	struct plugin *p;
	json_t *arr;
	size_t i;
	int rc;

	rc = parse_filters(q, &f, e);
	if (rc == 0) {
		arr = json_array();
		pthread_rwlock_rdlock(&plugins_lock);
		for (p = plugins; p != NULL; p = p->next)
			if (filter_match(&f, p))
				json_array_append_new(arr, plugin_api_object(p,
				    c->uid != 0));
		pthread_rwlock_unlock(&plugins_lock);
		if (ctl_reply_json(c, arr) == -1)
			rc = pd_errf(e, PD_E_IO, "reply");
	}
	for (i = 0; i < f.ncaps; i++)
		regfree(&f.caps[i]);
	return rc;
}

int
op_inspect(struct ctl_client *c, struct pd_ctlreq *q, int reqfd,
    struct pd_err *e)
{
	const char *name = q->args[0];
	struct plugin *p;
	json_t *o = NULL;

	pthread_rwlock_rdlock(&plugins_lock);
	if ((p = plugin_resolve(name, e)) != NULL)
		o = plugin_api_object(p, c->uid != 0);
	pthread_rwlock_unlock(&plugins_lock);
	if (o == NULL)
		return -1;
	return ctl_reply_json(c, o) == -1 ? pd_errf(e, PD_E_IO, "reply") : 0;
}

/* The id a name resolves to now, or "" (for events). */

/* Broker configuration: built-in defaults, then --config FILE, then flags. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "state/state.h"
#include "log.h"
#include "util.h"

struct pd_conf conf;
volatile int pd_quit;	/* set by the main loop at shutdown */

/* Frees what conf_defaults and conf_load_file allocated; c is zeroed. */
void
conf_release(struct pd_conf *c)
{
	char **s[] = { &c->data_root, &c->exec_root, &c->socket_path,
	    &c->libexec_dir, &c->docker_api, &c->runtime, &c->certs_dir,
	    &c->proxy, &c->policy_path, &c->publish_dir, &c->podman_conf };
	size_t i;

	for (i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		free(*s[i]);
	for (i = 0; i < PD_ROLE_MAX; i++)
		free(c->users[i]);
	json_decref(c->insecure_registries);
	memset(c, 0, sizeof(*c));
}

/*
 * The "limits" object: one row per key, with its field and its default.
 * Layer limits are sized for real plugins (many are 50-300 MB, some a
 * few GB): 1 GiB compressed and 4 GiB uncompressed per layer; what stops
 * a bomb is the ratio, the entry count and the path bounds, which stay
 * tight (docs/SANDBOX.md).  Read by conf_limits, conf_defaults and
 * `plugind --print-config`.
 */
#define LIMIT(k, f, d, doc)	{ k, offsetof(struct pd_limits, f), \
    sizeof(((struct pd_limits *)0)->f) == 8, d, doc }
const struct pd_limit_key pd_limit_keys[] = {
	LIMIT("max-compressed", max_compressed, 1ULL << 30,
	    "bytes of one compressed layer"),
	LIMIT("max-layer-bytes", max_layer_bytes, 4ULL << 30,
	    "bytes of one layer once uncompressed"),
	LIMIT("max-file", max_file, 4ULL << 30, "bytes of one file in a layer"),
	LIMIT("max-ratio", max_ratio, 100,
	    "uncompressed / compressed bytes of a layer"),
	LIMIT("max-entries", max_entries, 100000, "entries of one layer"),
	LIMIT("max-path", max_path, 4096, "bytes of one path in a layer"),
	LIMIT("max-depth", max_depth, 128, "directory levels of one path"),
	LIMIT("max-links", max_links, 1000, "hard links to one file"),
	LIMIT("max-xattr", max_xattr, 64 * 1024, "bytes of one xattr value"),
	LIMIT("max-pax", max_pax, 1024 * 1024,
	    "bytes of one entry's extension headers"),
	LIMIT("max-manifest", max_manifest, 4 * 1024 * 1024,
	    "bytes of a manifest, index or config"),
	/* docs/PRIVSEP.md, "Control connections", for these five. */
	LIMIT("max-clients", max_clients, 128, "control connections in all"),
	LIMIT("max-clients-per-uid", max_clients_per_uid, 32,
	    "control connections of one non-root uid"),
	LIMIT("reserved-root-clients", reserved_root_clients, 32,
	    "of max-clients, kept for root"),
	LIMIT("helper-timeout", helper_timeout, 60,
	    "seconds a helper may be silent"),
	LIMIT("client-timeout", client_timeout, 30,
	    "seconds for a client's HELLO and request"),
	LIMIT("idle-timeout", idle_timeout, 300,
	    "seconds between a client's requests"),
	LIMIT("send-timeout", send_timeout, 10,
	    "seconds a reply may make no progress"),
	LIMIT("extract-timeout", extract_timeout, 1800,
	    "seconds one layer may take to extract"),
	/* docs/PRIVSEP.md, "What members cost". */
	LIMIT("max-jobs-per-uid", max_jobs_per_uid, 2,
	    "costly requests of one non-root uid at once"),
	LIMIT("member-check-interval", member_check_interval, 10,
	    "seconds between group membership checks"),
	{ NULL, 0, 0, 0, NULL }
};
#undef LIMIT

static void
conf_limits_defaults(struct pd_limits *l)
{
	const struct pd_limit_key *lk;

	for (lk = pd_limit_keys; lk->key != NULL; lk++)
		if (lk->u64)
			*(uint64_t *)(void *)((char *)l + lk->off) = lk->def;
		else
			*(uint32_t *)(void *)((char *)l + lk->off) =
			    (uint32_t)lk->def;
}

void
conf_defaults(struct pd_conf *c)
{
	int i;

	memset(c, 0, sizeof(*c));
	c->data_root = xstrdup(PD_DEFAULT_DATA_ROOT);
	c->exec_root = xstrdup(PD_DEFAULT_EXEC_ROOT);
	c->socket_path = xstrdup(PD_DEFAULT_SOCKET);
	c->libexec_dir = xstrdup(LIBEXECDIR);
	for (i = PD_ROLE_BROKER + 1; i < PD_ROLE_MAX; i++)
		c->users[i] = xstrdup(pd_role(i)->user);
	c->runtime = xstrdup("runc");
	c->publish_dir = xstrdup(PD_DEFAULT_PUBLISH_DIR);
	c->podman_conf = xstrdup(PD_DEFAULT_PODMAN_CONF);
	c->gateway_timeout = 60;
	c->certs_dir = xstrdup("/etc/plugind/certs.d");
	c->policy_path = xstrdup(PD_DEFAULT_POLICY);
	c->insecure_registries = json_array();
	c->log_level = PD_LOG_INFO;
	c->helper_spares = 1;
	c->enable_timeout = 30;
	c->stop_timeout = 10;
	c->plugin_log_max = 1024 * 1024;
	/* Per-plugin cgroup limits; docs/SANDBOX.md, "The plugin runtime". */
	c->plugin_pids_limit = PD_PLUGIN_PIDS_DEFAULT;
	c->plugin_memory_limit = PD_PLUGIN_MEMORY_DEFAULT;
	conf_limits_defaults(&c->limits);
}

static int
conf_str(json_t *v, const char *key, char **out, struct pd_err *e)
{
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) >= 4096)
		return pd_errf(e, PD_E_INVAL, "config: \"%s\" must be a non-empty string",
		    key);
	free(*out);
	*out = xstrdup(json_string_value(v));
	return 0;
}

/* An absolute path, or "" (none) into *out. */
static int
conf_path_or_none(json_t *v, const char *k, char **out, struct pd_err *e)
{
	const char *s = json_string_value(v);

	if (s == NULL || (s[0] != '\0' && s[0] != '/') ||
	    json_string_length(v) >= 4096 || strlen(s) != json_string_length(v))
		return pd_errf(e, PD_E_INVAL, "config: \"%s\" must be an "
		    "absolute path or \"\"", k);
	free(*out);
	*out = xstrdup(s);
	return 0;
}

/* publish-docker-dir: "" gives engines no sockets. */
static int
conf_publish(struct pd_conf *c, const char *k, json_t *v, struct pd_err *e)
{
	return conf_path_or_none(v, k, &c->publish_dir, e);
}

/* publish-podman-conf: "" writes no drop-in. */
static int
conf_podman(struct pd_conf *c, const char *k, json_t *v, struct pd_err *e)
{
	if (conf_path_or_none(v, k, &c->podman_conf, e) == -1)
		return -1;
	if (c->podman_conf[0] != '\0' && (strlen(c->podman_conf) < 6 ||
	    strcmp(c->podman_conf + strlen(c->podman_conf) - 5, ".conf") != 0))
		return pd_errf(e, PD_E_INVAL, "config: \"%s\" must name a "
		    "*.conf file (Podman reads only those) or be \"\"", k);
	return 0;
}

static int
conf_u64(json_t *v, const char *key, uint64_t *out, struct pd_err *e)
{
	if (!json_is_integer(v) || json_integer_value(v) <= 0)
		return pd_errf(e, PD_E_INVAL, "config: \"%s\" must be a positive integer",
		    key);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int
conf_u32(json_t *v, const char *key, uint32_t *out, struct pd_err *e)
{
	uint64_t x = 0;

	if (conf_u64(v, key, &x, e) == -1)
		return -1;
	if (x > UINT32_MAX)
		return pd_errf(e, PD_E_INVAL, "config: \"%s\" is too large", key);
	*out = (uint32_t)x;
	return 0;
}

/*
 * A per-plugin limit: a positive number at least min, or 0 or -1 for no
 * limit.  With units, a string "<digits>[kmgt][i][b]" (binary multiples,
 * as Docker's memory flags).
 */
static int
conf_plugin_limit(json_t *v, const char *key, int units, int64_t min,
    int64_t max, const char *why, int64_t *out, struct pd_err *e)
{
	const char *s, *p;
	json_int_t x;
	int shift = 0;
	char *end;

	if (json_is_integer(v))
		x = json_integer_value(v);
	else if (units && json_is_string(v)) {
		s = json_string_value(v);
		if (s[0] < '0' || s[0] > '9')
			goto bad;
		errno = 0;
		x = strtoll(s, &end, 10);
		if (errno != 0)
			return pd_errf(e, PD_E_INVAL, "config: \"%s\" is too large "
			    "(at most %lld)", key, (long long)max);
		p = end;
		switch (*p) {
		case 'k': case 'K': shift = 10; p++; break;
		case 'm': case 'M': shift = 20; p++; break;
		case 'g': case 'G': shift = 30; p++; break;
		case 't': case 'T': shift = 40; p++; break;
		}
		if (shift != 0 && (*p == 'i' || *p == 'I'))
			p++;
		if (*p == 'b' || *p == 'B')
			p++;
		if (*p != '\0')
			goto bad;
		if (x > (max >> shift))
			return pd_errf(e, PD_E_INVAL, "config: \"%s\" is too large "
			    "(at most %lld)", key, (long long)max);
		x <<= shift;
	} else
		goto bad;
	if (x == 0 || x == -1) {
		*out = 0;
		return 0;
	}
	if (x < 0)
		goto bad;
	if (x < min)
		return pd_errf(e, PD_E_INVAL, "config: \"%s\" is %lld, below the "
		    "minimum %lld%s%s%s; 0 or -1 means no limit", key, (long long)x,
		    (long long)min, why[0] ? " (" : "", why, why[0] ? ")" : "");
	if (x > max)
		return pd_errf(e, PD_E_INVAL, "config: \"%s\" is too large (at most "
		    "%lld)", key, (long long)max);
	*out = x;
	return 0;
bad:
	return pd_errf(e, PD_E_INVAL, "config: \"%s\" must be %s, or 0 or -1 for "
	    "no limit", key, units ? "a number of bytes (an integer, or a string "
	    "such as \"512m\" or \"2g\")" : "a positive integer");
}

static int
conf_limits(struct pd_conf *c, json_t *obj, struct pd_err *e)
{
	struct pd_limits *l = &c->limits;
	const struct pd_limit_key *lk;
	const char *k;
	json_t *v;
	int rc;

	if (!json_is_object(obj))
		return pd_errf(e, PD_E_INVAL, "config: \"limits\" must be an object");
	json_object_foreach(obj, k, v) {
		for (lk = pd_limit_keys; lk->key != NULL; lk++)
			if (strcmp(lk->key, k) == 0)
				break;
		if (lk->key == NULL)
			return pd_errf(e, PD_E_INVAL, "config: unknown limit \"%s\"",
			    k);
		if (lk->u64)
			rc = conf_u64(v, k, (uint64_t *)(void *)((char *)l +
			    lk->off), e);
		else
			rc = conf_u32(v, k, (uint32_t *)(void *)((char *)l +
			    lk->off), e);
		if (rc == -1)
			return -1;
	}
	if (l->reserved_root_clients >= l->max_clients)
		return pd_errf(e, PD_E_INVAL, "config: \"reserved-root-clients\" (%u) "
		    "must be less than \"max-clients\" (%u)", l->reserved_root_clients,
		    l->max_clients);
	if (l->member_check_interval > 86400)
		return pd_errf(e, PD_E_INVAL, "config: \"member-check-interval\" "
		    "is at most 86400 seconds");
	/* Timeouts become milliseconds in an int. */
	if (l->client_timeout > 86400 || l->idle_timeout > 86400 ||
	    l->send_timeout > 86400 || l->helper_timeout > 86400)
		return pd_errf(e, PD_E_INVAL, "config: client, idle, send and helper "
		    "timeouts are at most 86400 seconds");
	/* docs/PRIVSEP.md "Deadlines": every wait on a helper uses these. */
	if (l->helper_timeout == 0 || l->extract_timeout == 0 ||
	    l->extract_timeout > 86400)
		return pd_errf(e, PD_E_INVAL, "config: \"helper-timeout\" and "
		    "\"extract-timeout\" must be 1 to 86400 seconds");
	return 0;
}

/* "unix://" is optional in "host", as in dockerd's --host. */
static int
conf_host(struct pd_conf *c, const char *k, json_t *v, struct pd_err *e)
{
	if (json_is_array(v) && json_array_size(v) == 1)
		v = json_array_get(v, 0);
	if (conf_str(v, k, &c->socket_path, e) == -1)
		return -1;
	if (strncmp(c->socket_path, "unix://", 7) == 0)
		memmove(c->socket_path, c->socket_path + 7,
		    strlen(c->socket_path + 7) + 1);
	return 0;
}

static int
conf_docker_api(struct pd_conf *c, const char *k, json_t *v,
    struct pd_err *e)
{
	if (json_is_null(v)) {
		free(c->docker_api);
		c->docker_api = NULL;
		return 0;
	}
	if (conf_str(v, k, &c->docker_api, e) == -1)
		return -1;
	if (strncmp(c->docker_api, "unix://", 7) != 0 ||
	    c->docker_api[7] != '/')
		return pd_errf(e, PD_E_INVAL, "config: \"docker-api\" must be "
		    "unix:///absolute/path");
	memmove(c->docker_api, c->docker_api + 7,
	    strlen(c->docker_api + 7) + 1);
	return 0;
}

static int
conf_debug(struct pd_conf *c, const char *k, json_t *v, struct pd_err *e)
{
	if (!json_is_boolean(v))
		return pd_errf(e, PD_E_INVAL,
		    "config: \"debug\" must be a boolean");
	if (json_is_true(v))
		c->log_level = PD_LOG_DEBUG;
	return 0;
}

static int
conf_log_level(struct pd_conf *c, const char *k, json_t *v,
    struct pd_err *e)
{
	int lvl;

	if (!json_is_string(v) ||
	    (lvl = log_parselevel(json_string_value(v))) < 0)
		return pd_errf(e, PD_E_INVAL,
		    "config: \"log-level\" must be debug, info, warn or error");
	c->log_level = lvl;
	return 0;
}

static int
conf_insecure(struct pd_conf *c, const char *k, json_t *v, struct pd_err *e)
{
	size_t i;

	if (!json_is_array(v))
		return pd_errf(e, PD_E_INVAL,
		    "config: \"insecure-registries\" must be an array");
	for (i = 0; i < json_array_size(v); i++)
		if (!json_is_string(json_array_get(v, i)))
			return pd_errf(e, PD_E_INVAL,
			    "config: \"insecure-registries\" must hold strings");
	json_decref(c->insecure_registries);
	c->insecure_registries = json_incref(v);
	return 0;
}

static int
conf_bool(json_t *v, const char *k, int *out, struct pd_err *e)
{
	if (!json_is_boolean(v))
		return pd_errf(e, PD_E_INVAL, "config: \"%s\" must be a boolean",
		    k);
	*out = json_is_true(v);
	return 0;
}

static int
conf_log_max(struct pd_conf *c, const char *k, json_t *v, struct pd_err *e)
{
	if (conf_u64(v, k, &c->plugin_log_max, e) == -1)
		return -1;
	if (c->plugin_log_max < PD_PLUGIN_LOG_MIN)
		return pd_errf(e, PD_E_INVAL, "config: "
		    "\"plugin-log-max-bytes\" is %llu, below the "
		    "minimum %u", (unsigned long long)
		    c->plugin_log_max, PD_PLUGIN_LOG_MIN);
	return 0;
}

static int
conf_pids_limit(struct pd_conf *c, const char *k, json_t *v,
    struct pd_err *e)
{
	return conf_plugin_limit(v, k, 0, PD_PLUGIN_PIDS_MIN, 4194304, "",
	    &c->plugin_pids_limit, e);
}

static int
conf_memory_limit(struct pd_conf *c, const char *k, json_t *v,
    struct pd_err *e)
{
	return conf_plugin_limit(v, k, 1, PD_PLUGIN_MEMORY_MIN, INT64_MAX,
	    "runc's init alone is charged about 2.5 MiB before the plugin "
	    "starts", &c->plugin_memory_limit, e);
}

static int
conf_limits_key(struct pd_conf *c, const char *k, json_t *v,
    struct pd_err *e)
{
	return conf_limits(c, v, e);
}

/* Each key's value, for --print-config (conf_json). */
static json_t *
get_host(const struct pd_conf *c)
{
	return json_sprintf("unix://%s", c->socket_path);
}

static json_t *
get_docker_api(const struct pd_conf *c)
{
	return c->docker_api ? json_sprintf("unix://%s", c->docker_api) :
	    json_null();
}

static json_t *
get_debug(const struct pd_conf *c)
{
	return json_boolean(c->log_level == PD_LOG_DEBUG);
}

static json_t *
get_log_level(const struct pd_conf *c)
{
	return json_string(log_levelname(c->log_level));
}

static json_t *
get_limits(const struct pd_conf *c)
{
	const struct pd_limit_key *lk;
	const char *l = (const char *)&c->limits;
	json_t *o = json_object();

	for (lk = pd_limit_keys; lk->key != NULL; lk++)
		json_object_set_new(o, lk->key, json_integer((json_int_t)
		    (lk->u64 ? *(const uint64_t *)(const void *)(l + lk->off) :
		    *(const uint32_t *)(const void *)(l + lk->off))));
	return o;
}

/*
 * One row per top-level key: a plain string or integer field of struct
 * pd_conf, or a function for a key with its own checks and one that
 * reads it back; its type and meaning for plugind.json(5) (plugind
 * --man 5).  The helpers' user keys come from the roles table instead
 * (role_of_user_key).  A row without a getter is an alias.
 */
#define CONF_FIELD(k, kind, f, t, d) \
	{ k, kind, offsetof(struct pd_conf, f), NULL, kind, NULL, t, d }
#define CONF_FUNC(k, fn, get, t, d) \
	{ k, CK_FUNC, 0, fn, CK_FUNC, get, t, d }
/* Checked by fn, read back from field f as kind rd. */
#define CONF_FUNCF(k, fn, rd, f, t, d) \
	{ k, CK_FUNC, offsetof(struct pd_conf, f), fn, rd, NULL, t, d }

const struct conf_key pd_conf_keys[] = {
	CONF_FIELD("data-root", CK_STR, data_root, "path",
	    "Root of persisted state: plugin records, the content store, the "
	    "audit log (--data-root)."),
	CONF_FIELD("exec-root", CK_STR, exec_root, "path",
	    "Root of runtime state: plugin bundles and sockets (--exec-root); "
	    "with --exec-root and no host, the control socket is "
	    "EXEC-ROOT/plugind.sock."),
	CONF_FUNC("host", conf_host, get_host, "unix:///path",
	    "The control socket, 0660 root:" PD_CTL_GROUP " (-H); \"unix://\" "
	    "may be left out."),
	CONF_FUNC("hosts", conf_host, NULL, "array of one unix:///path",
	    "The same as host, as dockerd spells it."),
	CONF_FIELD("helper-dir", CK_STR, libexec_dir, "path",
	    "Where plugind-fetcher, -extractor, -api and -logger are "
	    "(--helper-dir).  It, every directory above it and each helper "
	    "must be changeable by root only, or plugind does not start."),
	CONF_FIELD("helper-spares", CK_BOOL, helper_spares, "boolean",
	    "Keep a started, sandboxed and checked helper ready for the next "
	    "job (a fetcher, two extractors and, with docker-api, an API "
	    "process), so no job waits for one to start; false: start each "
	    "when needed, for debugging.  Each helper still does one job."),
	CONF_FUNC("docker-api", conf_docker_api, get_docker_api,
	    "unix:///path or null",
	    "Also serve the Docker Engine API (plugins) on this socket, 0660 "
	    "root:" PD_CTL_GROUP " (--docker-api); null: off."),
	CONF_FIELD("certs-dir", CK_STR, certs_dir, "path",
	    "Registry TLS files, one directory per host:port (ca.crt, "
	    "client.cert, client.key), as Docker's certs.d."),
	CONF_FIELD("policy", CK_STR, policy_path, "path",
	    "The trust policy: which plugins this host accepts, and the most "
	    "any may be granted (docs/POLICY.md; --policy).  Root's, writable "
	    "by no one else; read at start and on SIGHUP.  No file: every "
	    "plugin is accepted, with no ceiling."),
	CONF_FIELD("runtime", CK_STR, runtime, "string",
	    "The OCI runtime, a name looked up in PATH or an absolute path; "
	    "held to the same ownership rule as helper-dir."),
	CONF_FIELD("proxy", CK_STR, proxy, "URL or null",
	    "The proxy the fetcher uses for every registry (the environment's "
	    "http_proxy and the like are ignored); null: none."),
	CONF_FUNC("debug", conf_debug, get_debug, "boolean",
	    "true: log-level debug (-D)."),
	CONF_FUNC("log-level", conf_log_level, get_log_level,
	    "debug, info, warn or error", "What plugind logs to stderr (-l)."),
	CONF_FUNCF("insecure-registries", conf_insecure, CK_JSON,
	    insecure_registries,
	    "array of host:port",
	    "Registries spoken to over plain HTTP (loopback ones always may)."),
	CONF_FIELD("live-restore", CK_BOOL, live_restore, "boolean",
	    "Leave plugins running when plugind stops; the next plugind adopts "
	    "them."),
	CONF_FIELD("enable-timeout", CK_U32, enable_timeout, "seconds",
	    "How long enable waits for a plugin's socket (enable --timeout "
	    "overrides)."),
	CONF_FIELD("stop-timeout", CK_U32, stop_timeout, "seconds",
	    "From SIGTERM to SIGKILL when a plugin stops (disable --timeout "
	    "overrides)."),
	CONF_FUNCF("publish-docker-dir", conf_publish, CK_STR, publish_dir,
	    "path or \"\"",
	    "Where engines find plugind's plugins: each running plugin's "
	    "gateway socket is NAME.sock here, as dockerd looks them up "
	    "(--publish-docker-dir; docs/CONSUMERS.md); \"\": publish none."),
	CONF_FUNCF("publish-podman-conf", conf_podman, CK_STR, podman_conf,
	    "path or \"\"",
	    "The Podman drop-in plugind keeps: [engine.volume_plugins] names "
	    "each published volume plugin's socket, as containers.conf(5) "
	    "reads it; written whole (temp, fsync, rename), removed when "
	    "empty (--publish-podman-conf; docs/CONSUMERS.md); \"\": none."),
	CONF_FIELD("gateway-timeout", CK_U32, gateway_timeout, "seconds",
	    "How long a plugin may take to answer one call an engine makes "
	    "through its gateway."),
	CONF_FUNCF("plugin-log-max-bytes", conf_log_max, CK_U64,
	    plugin_log_max, "bytes",
	    "Size at which a plugin's log becomes log.1 (at least 4096); a "
	    "plugin's log takes at most twice this."),
	CONF_FUNCF("plugin-pids-limit", conf_pids_limit, CK_I64,
	    plugin_pids_limit, "integer", "Processes and threads per plugin (cgroup pids.max); "
	    "0 or -1: no limit."),
	CONF_FUNCF("plugin-memory-limit", conf_memory_limit, CK_I64,
	    plugin_memory_limit, "bytes, or a string such as \"512m\", \"2g\"",
	    "Memory per plugin (cgroup); at least 6 MiB; 0 or -1: no limit."),
	CONF_FUNC("limits", conf_limits_key, get_limits, "object",
	    "Bounds on what registries, layers and clients may cost: the keys "
	    "below."),
	{ NULL, 0, 0, NULL, 0, NULL, NULL, NULL }
};

static const struct conf_key *
conf_find(const struct conf_key *tab, const char *k)
{
	for (; tab->key != NULL; tab++)
		if (strcmp(tab->key, k) == 0)
			return tab;
	return NULL;
}

/* Check v and store it in c as row ck says. */
static int
conf_set(struct pd_conf *c, const struct conf_key *ck, const char *k,
    json_t *v, struct pd_err *e)
{
	void *field = (char *)c + ck->off;

	switch (ck->kind) {
	case CK_STR:
		/* null: unset, for the keys that may be (--print-config). */
		if (json_is_null(v) &&
		    ck->off == offsetof(struct pd_conf, proxy)) {
			free(c->proxy);
			c->proxy = NULL;
			return 0;
		}
		return conf_str(v, k, field, e);
	case CK_U32:
		return conf_u32(v, k, field, e);
	case CK_U64:
		return conf_u64(v, k, field, e);
	case CK_BOOL:
		return conf_bool(v, k, field, e);
	default:
		break;
	}
	return ck->fn(c, k, v, e);
}

/*
 * The configuration as a config file would give it: every key of
 * pd_conf_keys but the aliases, then the helpers' users.  Loading what
 * this prints gives c again (tests/integration/test_man.sh).
 */
json_t *
conf_json(const struct pd_conf *c)
{
	const struct conf_key *ck;
	const void *field;
	json_t *o = json_object(), *v;
	int i;

	for (ck = pd_conf_keys; ck->key != NULL; ck++) {
		field = (const char *)c + ck->off;
		switch (ck->rd) {
		case CK_STR:
			v = *(char *const *)field ? json_string(*(char *const *)
			    field) : json_null();
			break;
		case CK_U32:
			v = json_integer(*(const uint32_t *)field);
			break;
		case CK_U64:
			v = json_integer((json_int_t)*(const uint64_t *)field);
			break;
		case CK_I64:
			v = json_integer(*(const int64_t *)field);
			break;
		case CK_BOOL:
			v = json_boolean(*(const int *)field);
			break;
		case CK_JSON:
			v = json_deep_copy(*(json_t *const *)field);
			break;
		default:
			v = ck->get ? ck->get(c) : NULL;
			break;
		}
		if (v != NULL)
			json_object_set_new(o, ck->key, v);
	}
	for (i = PD_ROLE_BROKER + 1; i < PD_ROLE_MAX; i++)
		json_object_set_new(o, pd_role(i)->user_key,
		    json_string(c->users[i]));
	return o;
}

/* The helper role whose user key (roles table, role.c) k is, or -1. */
static int
role_of_user_key(const char *k)
{
	int i;

	for (i = PD_ROLE_BROKER + 1; i < PD_ROLE_MAX; i++)
		if (strcmp(k, pd_role(i)->user_key) == 0)
			return i;
	return -1;
}

/*
 * Load a JSON config file (daemon.json style).  Unknown keys are errors:
 * a typo must not silently fall back to a default.
 */
int
conf_load_file(struct pd_conf *c, const char *path, struct pd_err *e)
{
	const struct conf_key *ck;
	json_error_t jerr;
	json_t *root, *v;
	const char *k;
	int rc = 0, role;

	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return pd_errf(e, PD_E_INVAL, "config %s: line %d: %s", path,
		    jerr.line, jerr.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return pd_errf(e, PD_E_INVAL, "config %s: not a JSON object", path);
	}
	json_object_foreach(root, k, v) {
		if ((ck = conf_find(pd_conf_keys, k)) != NULL)
			rc = conf_set(c, ck, k, v, e);
		else if ((role = role_of_user_key(k)) > 0)
			rc = conf_str(v, k, &c->users[role], e);
		else
			rc = pd_errf(e, PD_E_INVAL, "config %s: unknown key \"%s\"",
			    path, k);
		if (rc == -1)
			break;
	}
	json_decref(root);
	return rc;
}

/*
 * The path of name's published socket (config publish-docker-dir), as
 * engines are told it: the gateway (proc/gateway.c) binds it and
 * Podman's drop-in (proc/podman.c) names it.  -1: nothing is published.
 */
int
conf_sockpath(const char *name, char *buf, size_t len)
{
	char n[600], *s;
	size_t l;

	if (conf.publish_dir[0] == '\0')
		return -1;
	snprintf(n, sizeof(n), "%s", name);
	l = strlen(n);
	if (l > 7 && strcmp(n + l - 7, ":latest") == 0)
		n[l - 7] = '\0';
	for (s = n; *s != '\0'; s++)
		if (s[0] == '.' && (s == n || s[-1] == '/'))
			return -1;	/* what gateway.c publish_dir() refuses */
	if ((size_t)snprintf(buf, len, "%s/%s.sock", conf.publish_dir, n) >= len)
		return -1;
	return 0;
}

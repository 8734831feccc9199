/*
 * The broker's state layer: configuration, the content store, plugin
 * records, staging directories, the event ring and audit log, and the
 * admission limits.  Nothing here starts a process or talks to a client;
 * proc/, ops/ and ctl/ build on it (docs/ARCHITECTURE.md).
 */
#ifndef PD_STATE_H
#define PD_STATE_H

#include <sys/types.h>
#include <sys/socket.h>

#include <pthread.h>
#include <stdint.h>

#include <jansson.h>

#include "defaults.h"
#include "error.h"
#include "msg.h"
#include "proto.h"
#include "role.h"
#include "state/policy.h"

#define PD_DEFAULT_DATA_ROOT	"/var/lib/plugind"
#define PD_DEFAULT_EXEC_ROOT	"/run/plugind"
#define PD_API_MAXCONN		32	/* concurrent Docker API connections */
#define PD_API_ROOTCONN		8	/* of which kept for root */

struct ctl_client;

struct pd_limits {
	uint64_t	 max_layer_bytes;	/* uncompressed bytes per layer */
	uint64_t	 max_entries;
	uint32_t	 max_path;
	uint32_t	 max_depth;
	uint32_t	 max_ratio;
	uint64_t	 max_xattr;
	uint64_t	 max_pax;
	uint64_t	 max_manifest;		/* manifest/index/config bytes */
	uint64_t	 max_compressed;	/* compressed bytes per layer */
	uint64_t	 max_file;		/* one file in a layer */
	uint32_t	 max_links;		/* hard links to one inode */
	uint32_t	 max_clients;		/* control connections, all users */
	uint32_t	 max_clients_per_uid;	/* each non-root uid */
	uint32_t	 reserved_root_clients;	/* of max_clients, root only */
	uint32_t	 helper_timeout;	/* seconds for SETUP round trip */
	uint32_t	 client_timeout;	/* seconds for HELLO, and for a request
						   once its first byte arrived */
	uint32_t	 idle_timeout;		/* seconds between requests */
	uint32_t	 send_timeout;		/* seconds a reply may make no progress */
	uint32_t	 extract_timeout;	/* seconds one layer may take */
	uint32_t	 max_jobs_per_uid;	/* costly requests of a non-root uid */
	uint32_t	 member_check_interval;	/* seconds between non-root checks */
};

/*
 * Per-plugin limits: config plugin-pids-limit, plugin-memory-limit
 * (cgroup) and plugin-log-max-bytes (log rotation size).
 */
#define PD_PLUGIN_PIDS_DEFAULT		1024
#define PD_PLUGIN_PIDS_MIN		1
#define PD_PLUGIN_MEMORY_DEFAULT	(1LL << 30)
#define PD_PLUGIN_MEMORY_MIN		(6LL << 20)	/* as Docker's */
#define PD_DEFAULT_PUBLISH_DIR		"/run/docker/plugins"
#define PD_DEFAULT_PODMAN_CONF		"/etc/containers/containers.conf.d/plugind.conf"
#define PD_PLUGIN_LOG_MIN		4096	/* plugin-log-max-bytes */

/* Every string below is freed by conf_release (state/conf.c). */
struct pd_conf {
	char		*data_root;
	char		*exec_root;
	char		*socket_path;
	char		*libexec_dir;
	char		*users[PD_ROLE_MAX];	/* each helper role's user, from
						   its key in the roles table */
	char		*docker_api;		/* Docker API socket path, or NULL */
	char		*runtime;
	char		*certs_dir;
	json_t		*insecure_registries;	/* array of "host:port" */
	char		*proxy;
	int		 log_level;
	int		 live_restore;		/* leave plugins running at exit */
	int		 helper_spares;		/* keep warm spares (proc/helper.c) */
	uint32_t	 enable_timeout;	/* seconds to wait for the socket */
	uint32_t	 stop_timeout;		/* seconds from SIGTERM to SIGKILL */
	char		*publish_dir;		/* engines' sockets; "": none */
	char		*podman_conf;		/* Podman's drop-in; "": none */
	uint32_t	 gateway_timeout;	/* seconds for one plugin call */
	uint64_t	 plugin_log_max;	/* bytes before log -> log.1 */
	int64_t		 plugin_pids_limit;	/* per plugin; 0: none */
	int64_t		 plugin_memory_limit;	/* bytes per plugin; 0: none */
	struct pd_limits limits;
	char		*policy_path;		/* the trust policy (policy.c) */
};

extern struct pd_conf	 conf;
extern volatile int	 pd_quit;

/* The "limits" keys of the config: key, field, default (conf.c). */
struct pd_limit_key {
	const char	*key;
	size_t		 off;		/* in struct pd_limits */
	int		 u64;		/* uint64_t, else uint32_t */
	uint64_t	 def;
	const char	*doc;
};
extern const struct pd_limit_key pd_limit_keys[];

/*
 * The top-level config keys (conf.c): a plain field of struct pd_conf,
 * or a function that checks and stores the value; read back from the
 * field as rd says, or by get (CK_FUNC; no get: an alias).  type and doc
 * are plugind.json(5)'s.
 */
enum conf_kind { CK_STR, CK_U32, CK_U64, CK_I64, CK_BOOL, CK_JSON, CK_FUNC };

struct conf_key {
	const char	*key;
	enum conf_kind	 kind;	/* CK_STR, CK_U32, CK_U64 or CK_FUNC */
	size_t		 off;	/* the field, unless rd is CK_FUNC */
	int		(*fn)(struct pd_conf *, const char *, json_t *,
			    struct pd_err *);
	enum conf_kind	 rd;
	json_t		*(*get)(const struct pd_conf *);
	const char	*type;
	const char	*doc;
};
extern const struct conf_key pd_conf_keys[];

/* conf.c */
json_t	*conf_json(const struct pd_conf *);
void	conf_defaults(struct pd_conf *);
void	conf_release(struct pd_conf *);
int	conf_load_file(struct pd_conf *, const char *, struct pd_err *);
int	conf_sockpath(const char *, char *, size_t);

/* store.c: content-addressed blobs under <data-root>/storage. */
int	store_init(struct pd_err *);
int	store_tmpfile(struct pd_err *);
int	store_commit(int, const char *, uint64_t, struct pd_err *);
int	store_has(const char *);
int	store_open(const char *, struct pd_err *);
int	store_stats(uint64_t *, uint64_t *);
int	store_gc(const json_t *, unsigned *, struct pd_err *);

/* plugin.c: plugin records and their state files. */
struct plugin {
	char		 id[65];
	json_t		*state;		/* the persisted wrapper (moby's v2.Plugin) */
	json_t		*inuse;		/* inuse.c: volumes, mounts; NULL: none */
	int		 rolled_back;	/* an interrupted upgrade was undone */
	struct plugin	*next;
};

extern pthread_rwlock_t	 plugins_lock;
extern struct plugin	*plugins;

/*
 * Written into the plugin directory before an upgrade touches it:
 * {"old": state}.  While it exists the upgrade is not committed, and the
 * next start rolls the plugin back to "old" (plugins_load).
 */
#define PD_UPGRADE_JOURNAL	"upgrade.json"

int	plugins_load(struct pd_err *);
void	plugin_forget(struct plugin *);
int	plugin_save(struct plugin *, struct pd_err *);
struct plugin *plugin_resolve(const char *, struct pd_err *);
int	plugin_resolve_id(const char *, char *, char *, size_t, struct pd_err *);
/* inuse.c: what engines hold of a plugin, as its gateway reports it. */
enum pd_use { PD_USE_CREATE, PD_USE_REMOVE, PD_USE_MOUNT, PD_USE_UNMOUNT };
#define PD_USE_NAME_MAX	255	/* bytes of a volume name or mount id */
#define PD_USE_MAX	1024	/* volumes, and mounts, one plugin may hold */
int	inuse_load_all(struct pd_err *);
int	inuse_apply(const char *, enum pd_use, const char *, const char *,
	    struct pd_err *);
void	inuse_count(const struct plugin *, size_t *, size_t *);
int	inuse_refuse(const char *, const char *, struct pd_err *);
/* What non-root peers see instead of a setting's value. */
#define PD_REDACTED	"<redacted>"
json_t	*plugin_api_object(const struct plugin *, int);
const char *plugin_name(const struct plugin *);
int	plugin_enabled(const struct plugin *);
json_t	*plugins_used_blobs(void);
void	plugins_counts(unsigned *, unsigned *);

/* stage.c: staging directories, their commit, the blob GC. */
struct stage {
	char		 dir[4096];	/* <data-root>/tmp/<kind>-XXXXXX */
	char		 rootfs[4112];	/* dir/rootfs */
	int		 rootfd;
};

extern pthread_rwlock_t	 jobs_lock;

int	store_put(const void *, size_t, char [72], struct pd_err *);
int	stage_create(const char *, struct stage *, struct pd_err *);
int	stage_rename(struct stage *, const char *);
void	stage_discard(struct stage *);
void	blobs_gc(void);
int	plugin_new_name(const char *, char *, size_t, struct pd_err *);
int	plugin_name_taken(const char *);
int	plugin_commit_staged(struct stage *, struct plugin *, struct pd_err *);
int	plugin_dir_open(const char *);

/*
 * A control connection.  control.c (ctl/) owns it; the state layer keeps
 * per-peer counts and audit lines keyed by it.
 */
struct ctl_client {
	int		 fd;
	uid_t		 uid;
	gid_t		 gid;
	pid_t		 pid;
	int		 member;	/* in group plugind when it connected */
	uint32_t	 reqid;
	int		 gone;		/* a send failed: stop talking to it */
	pid_t		 api_pid;	/* > 0: requests come from this API process */
};


/* events.c: the event ring and the audit log. */
void	event_emit(const char *, const char *, const char *, json_t *);
uint64_t event_now_ns(void);
uint64_t event_start(int);
json_t	*event_next(uint64_t *, int);
void	audit_log(const struct ctl_client *, const char *, const char *, int,
	    const char *);
void	audit_request(const struct ctl_client *, const struct pd_verb *,
	    const struct pd_ctlreq *, int, const char *);
json_t	*setting_keys(uint32_t, const struct pd_ctlreq *);

/* admit.c: limits on costly requests of non-root peers. */
int	admit_job(const struct ctl_client *, struct pd_err *);
void	admit_job_done(const struct ctl_client *);
int	admit_check(const struct ctl_client *, struct pd_err *);
void	admit_check_done(const struct ctl_client *);

#endif

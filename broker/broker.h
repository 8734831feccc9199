/*
 * Broker-only types and functions.  The broker (plugind, root) owns the
 * data root, the content store, plugin state and every helper process.
 */
#ifndef PD_BROKER_H
#define PD_BROKER_H

#include <sys/types.h>
#include <sys/socket.h>

#include <pthread.h>
#include <stdint.h>

#include <jansson.h>

#include "defaults.h"
#include "error.h"
#include "msg.h"
#include "proto.h"

#define PD_DEFAULT_DATA_ROOT	"/var/lib/plugind"
#define PD_DEFAULT_EXEC_ROOT	"/run/plugind"
#define PD_FETCH_USER		"_pd_fetch"
#define PD_EXTRACT_USER		"_pd_extract"
#define PD_API_USER		"_pd_api"
#define PD_LOGGER_USER		"_pd_log"
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

/* Per-plugin cgroup limits (config plugin-pids-limit, plugin-memory-limit). */
#define PD_PLUGIN_PIDS_DEFAULT		1024
#define PD_PLUGIN_PIDS_MIN		1
#define PD_PLUGIN_MEMORY_DEFAULT	(1LL << 30)
#define PD_PLUGIN_MEMORY_MIN		(6LL << 20)	/* as Docker's */

/* Every string below is freed by conf_release (broker/conf.c). */
struct pd_conf {
	char		*data_root;
	char		*exec_root;
	char		*socket_path;
	char		*libexec_dir;
	char		*fetch_user;
	char		*extract_user;
	char		*api_user;
	char		*logger_user;		/* the log writers' user */
	char		*docker_api;		/* Docker API socket path, or NULL */
	char		*runtime;
	char		*certs_dir;
	json_t		*insecure_registries;	/* array of "host:port" */
	char		*proxy;
	int		 log_level;
	int		 live_restore;		/* leave plugins running at exit */
	uint32_t	 enable_timeout;	/* seconds to wait for the socket */
	uint32_t	 stop_timeout;		/* seconds from SIGTERM to SIGKILL */
	uint64_t	 plugin_log_max;	/* bytes before log -> log.1 */
	int64_t		 plugin_pids_limit;	/* per plugin; 0: none */
	int64_t		 plugin_memory_limit;	/* bytes per plugin; 0: none */
	struct pd_limits limits;
};

extern struct pd_conf	 conf;
extern volatile int	 pd_quit;

/* conf.c */
void	conf_defaults(struct pd_conf *);
void	conf_release(struct pd_conf *);
int	conf_load_file(struct pd_conf *, const char *, struct pd_err *);

/* helper.c: one helper process, one job. */
struct helper {
	pid_t		 pid;
	int		 role;
	int		 sock;
	uid_t		 uid;
	gid_t		 gid;
	struct pd_chan	 chan;
	char		 rootdir[4096];
	char		 sandbox[5120];	/* outside check summary */
	uint32_t	 want_id;	/* replies carry this request id */
	struct ctl_client *client;	/* the job's client: a hang-up cancels */
	uint64_t	 chatter_t0;	/* LOG/PROGRESS rate limit (helper.c) */
	uint64_t	 chatter;
};

int	helper_spawn(struct helper *, int, int, const char *, struct pd_err *);
int	helper_spawn_fd(struct helper *, int, int, const char *, int,
	    struct pd_err *);
int	helper_recv(struct helper *, const uint32_t *, size_t, int,
	    struct pd_msg *, struct pd_err *);
void	helper_stop(struct helper *);
void	helper_kill(struct helper *);
void	helper_release(struct helper *);
int	helper_send_failed(struct helper *, struct pd_err *, const char *);
const char *helper_path(int, char *, size_t);
int	helper_lookup_user(int, uid_t *, gid_t *, struct pd_err *);
int	helper_check_outside(struct helper *, struct pd_err *);
int	helper_owned(pid_t);
void	helper_reap_orphans(void);
pid_t	helper_fork_owned(void);
int	helper_wait_owned(pid_t, int *, int);
int	trusted_exec_open(const char *, const char *, struct pd_err *);
int	helper_check_all(struct pd_err *);
struct pollfd;
void	helper_job_client(struct ctl_client *);
int	helper_abort(struct helper *, struct pd_err *, int, const char *, ...)
	    __attribute__((format(printf, 4, 5)));
int	helper_poll(struct helper *, struct pollfd *, int, uint64_t,
	    struct pd_err *);
int	helper_chatter(struct helper *, struct pd_err *);
int	helper_take(struct helper *, const uint32_t *, size_t, struct pd_msg *,
	    struct pd_err *);
int	helper_fill(struct helper *, struct pd_err *);

/* extract.c: the extractor, one process per staging rootfs. */
struct extract_result {
	uint64_t	 entries;
	uint64_t	 bytes;
	char		 diff_id[72];
};

void	extract_limits(struct pd_untar_req *, const char *);
int	extract_begin(struct helper *, int, const char *, struct pd_err *);
int	extract_layer(struct helper *, int, const char *, struct extract_result *,
	    struct pd_err *);
int	extract_layer_start(struct helper *, int, const char *, struct pd_err *);
int	extract_layer_wait(struct helper *, struct extract_result *,
	    struct pd_err *);
void	extract_end(struct helper *);

/* registry.c: one fetcher per job. */
struct fetcher {
	struct helper	 h;
	int		 open;
	uint32_t	 reqid;
	char		 scheme[8];
	char		 host[256];
	char		 repo[256];
	char		 user[1024];
	char		 secret[4096];
	int		 idtoken;
};

struct pd_ref;
int	fetcher_open(struct fetcher *, const struct pd_ref *, const char *,
	    const char *, int, struct pd_err *);
int	fetcher_open_tls(struct fetcher *, const struct pd_ref *, const char *,
	    const char *, int, int, struct pd_err *);
void	fetcher_close(struct fetcher *);
int	fetch_manifest(struct fetcher *, const char *, char **, size_t *, char *,
	    size_t, struct pd_err *);
int	fetch_blob(struct fetcher *, struct ctl_client *, const char *, uint64_t,
	    int, int, struct pd_err *);
int	fetcher_push(struct fetcher *, struct ctl_client *, uint32_t,
	    const char *, const char *, const char *, int, uint64_t,
	    struct pd_push_result *, struct pd_err *);

/* push.c */
int	op_push(struct ctl_client *, struct pd_ctlreq *, struct pd_err *);

/* parse.c */
json_t	*parse_document(int, const void *, size_t, const char *, struct pd_err *);

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
/* What non-root peers see instead of a setting's value. */
#define PD_REDACTED	"<redacted>"
json_t	*plugin_api_object(const struct plugin *, int);
const char *plugin_name(const struct plugin *);
int	plugin_enabled(const struct plugin *);
json_t	*plugins_used_blobs(void);
void	plugins_counts(unsigned *, unsigned *);

/* create.c: staging, commit, create. */
struct stage {
	char		 dir[4096];	/* <data-root>/tmp/<kind>-XXXXXX */
	char		 rootfs[4112];	/* dir/rootfs */
	int		 rootfd;
};

extern pthread_rwlock_t	 jobs_lock;

int	store_put(const void *, size_t, char [72], struct pd_err *);
int	stage_create(const char *, struct stage *, struct pd_err *);
void	stage_discard(struct stage *);
void	blobs_gc(void);
int	plugin_new_name(const char *, char *, size_t, struct pd_err *);
int	plugin_name_taken(const char *);
int	plugin_commit_staged(struct stage *, struct plugin *, struct pd_err *);
int	op_create(struct ctl_client *, const char *, int, struct pd_err *);

/* install.c */
int	op_install(struct ctl_client *, struct pd_ctlreq *, struct pd_err *);
int	op_privileges(struct ctl_client *, struct pd_ctlreq *, struct pd_err *);
int	op_upgrade(struct ctl_client *, struct pd_ctlreq *, struct pd_err *);
int	privileges_equal(const json_t *, const json_t *);
int	host_path_exact(const char *, const char *, int, int, struct pd_err *);
int	host_paths_check(const json_t *, int, struct pd_err *);
int	config_grantable(const json_t *, struct pd_err *);

/* settings.c */
int	settings_apply(json_t *, char *const *, size_t, struct pd_err *);
int	op_set(struct ctl_client *, struct pd_ctlreq *, struct pd_err *);

/*
 * runtime.c: the OCI bundle of a plugin (moby's InitSpec), preflight checks,
 * rootfs protection, the OCI runtime's command line and mount helpers.
 */
struct rt_paths {
	char		 plugdir[4096];		/* <data-root>/plugins/<id> */
	char		 sockdir[4096];		/* <exec-root>/plugins/<id> */
	char		 bundle[4096];		/* <exec-root>/bundles/<id> */
	char		 runc_root[4096];	/* <exec-root>/runc */
};

void	rt_paths(const char *, struct rt_paths *);
int	runtime_spec(const char *, const json_t *, json_t **, struct pd_err *);
int	runtime_preflight(int, const json_t *, struct pd_err *);
int	runtime_initlayer(int, const json_t *, struct pd_err *);
int	runtime_propagated_mount(const char *, struct pd_err *);
int	runtime_runc(const char *const *, int, char *, size_t, int, int *,
	    struct pd_err *);
int	runtime_state(const char *, pid_t *, char *, size_t);
int	runtime_delete(const char *, struct pd_err *);
int	runtime_unmount_under(const char *, struct pd_err *);
int	runtime_mounted_under(const char *);
void	runtime_last_error(const char *, char *, size_t);

/* plugin-seccomp.c: a plugin's seccomp profile, from its capability set. */
json_t	*plugin_seccomp(uint64_t);

/*
 * lifecycle.c: enable, disable, rm, restart recovery, supervision.
 * plugin_enable() is for other broker code (install): the caller must not
 * hold plugins_lock; the plugin must already be committed.
 */
int	plugin_enable(struct plugin *, int, struct pd_err *);
int	plugin_disable(const char *, struct pd_err *);
int	lifecycle_init(struct pd_err *);
void	lifecycle_restore(void);
void	lifecycle_shutdown(void);
int	lifecycle_quiescent(const char *);
const char *lifecycle_describe(const char *);
void	runtime_reap(pid_t);
void	runtime_reap_known(void);
int	op_enable(struct ctl_client *, struct pd_ctlreq *, struct pd_err *);
int	op_disable(struct ctl_client *, struct pd_ctlreq *, struct pd_err *);
int	op_remove(struct ctl_client *, struct pd_ctlreq *, struct pd_err *);
int	op_logs(struct ctl_client *, struct pd_ctlreq *, struct pd_err *);
uint64_t plugin_log_cap(void);
int	plugin_logger_start(const char *, int *, struct pd_err *);
int	plugin_logger_count(const char *);
void	plugin_logger_wait(const char *, int);

/* events.c: the event ring, `events`, and the audit log. */
void	event_emit(const char *, const char *, const char *, json_t *);
int	op_events(struct ctl_client *, struct pd_ctlreq *, struct pd_err *);
void	audit_log(const struct ctl_client *, const char *, const char *, int,
	    const char *);
void	audit_request(const struct ctl_client *, const struct pd_verb *,
	    const struct pd_ctlreq *, int, const char *);
json_t	*setting_keys(uint32_t, const struct pd_ctlreq *);
int	ctl_client_gone(const struct ctl_client *, int);

/* admit.c: limits on costly requests of non-root peers. */
int	admit_costly(uint32_t);
int	admit_job(const struct ctl_client *, struct pd_err *);
void	admit_job_done(const struct ctl_client *);
int	admit_check(const struct ctl_client *, struct pd_err *);
void	admit_check_done(const struct ctl_client *);

/* check.c */
int	check_data_root(int);
int	op_check(struct ctl_client *, struct pd_ctlreq *, struct pd_err *);

/* control.c */
int	control_listen(const char *, struct pd_err *);
void	control_accept(int);
void	control_drain(int);
const char *control_count(uid_t, int);
void	control_accept_each(int, const char *, void (*)(int, const char *),
	    void (*)(int, const struct ucred *, int));
int	control_thread(void *(*)(void *), void *);
void	control_serve(struct ctl_client *, struct pd_chan *);

/* api.c: the Docker Engine API socket (docs/DOCKER_API.md). */
void	api_accept(int);
void	api_shutdown(void);

/* ops.c: verbs */
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

int	ctl_reply_data(struct ctl_client *, const void *, size_t);
int	ctl_reply_json(struct ctl_client *, json_t *);
int	ctl_progress(struct ctl_client *, const char *, const char *, uint64_t,
	    uint64_t);
int	op_dispatch(struct ctl_client *, uint32_t, struct pd_ctlreq *, int,
	    struct pd_err *);

#endif

/*
 * The broker's process layer: helper processes (fetcher, extractor,
 * parser, API), the plugin runtime and its supervision, the log writers,
 * the grant checks and replies to a client.  Built on state/; ops/ uses
 * it (docs/ARCHITECTURE.md).
 */
#ifndef PD_PROC_H
#define PD_PROC_H

#include "state/state.h"

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
	int		 spare_out;	/* a job's spare: refilled at teardown */
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
void	helper_on_orphan(void (*)(void), void (*)(pid_t));
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
struct stage;
int	helper_get(struct helper *, int, const char *, struct stage *,
	    struct pd_err *);
void	helper_spares_start(void);
void	helper_spares_stop(void);
int	helper_is(pid_t, const char *, const char *);
int	helper_find(const char *, const char *, pid_t *, int);
int	helper_wait_gone(int *, int, int);

/* extract.c: the extractor, one process per staging rootfs. */
struct extract_result {
	uint64_t	 entries;
	uint64_t	 bytes;
	char		 diff_id[72];
};

void	extract_limits(struct pd_untar_req *, const char *);
int	extract_begin(struct helper *, int, const char *, struct pd_err *);
int	extract_begin_staged(struct helper *, const char *, struct stage *,
	    struct pd_err *);
int	extract_layer(struct helper *, int, const char *, struct extract_result *,
	    struct pd_err *);
int	extract_layer_start(struct helper *, int, const char *, struct pd_err *);
int	extract_layer_wait(struct helper *, struct extract_result *,
	    struct pd_err *);
void	extract_end(struct helper *);

/* fetch.c: one fetcher per job. */
struct fetcher {
	struct helper	 h;
	int		 open;
	uint32_t	 reqid;
	char		 scheme[PD_STR_SCHEME];
	char		 host[PD_STR_SHORT];
	char		 repo[PD_STR_SHORT];
	char		 user[PD_STR_USER];
	char		 secret[PD_STR_SECRET];
	int		 idtoken;
};

struct pd_ref;
int	fetcher_open(struct fetcher *, const struct pd_ref *, const char *, int,
	    struct pd_err *);
void	fetcher_close(struct fetcher *);
int	fetch_manifest(struct fetcher *, const char *, char **, size_t *, char *,
	    size_t, struct pd_err *);
int	fetch_blob(struct fetcher *, struct ctl_client *, const char *, uint64_t,
	    int, int, struct pd_err *);
int	fetch_login(struct fetcher *, char *, size_t, struct pd_err *);
int	fetcher_push(struct fetcher *, struct ctl_client *, uint32_t,
	    const char *, const char *, const char *, int, uint64_t,
	    struct pd_push_result *, struct pd_err *);

/*
 * document.c: manifests and configs, parsed by a sandboxed helper; the
 * documents of one job by one parser, one after the other.
 */
struct parser {
	struct helper	 h;
	struct stage	 st;
	int		 open;
};

json_t	*parse_document(int, const void *, size_t, const char *, struct pd_err *);
json_t	*parser_parse(struct parser *, int, const void *, size_t, const char *,
	    struct pd_err *);
void	parser_close(struct parser *);

/* signature.c: sigstore signatures of a remote manifest, verified. */
int	signature_verify(struct fetcher *, const struct pd_ref *, const char *,
	    const json_t *, const char *, char *, size_t, struct pd_err *);

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
void	runtime_quiesce(void);

/* plugin-seccomp.c: a plugin's seccomp profile, from its capability set. */
json_t	*plugin_seccomp(uint64_t);

/*
 * lifecycle.c: enable, disable, rm, restart recovery, supervision.
 * plugin_enable() is for other broker code (install): the caller must not
 * hold plugins_lock; the plugin must already be committed.
 */
int	plugin_enable(struct plugin *, int, struct pd_err *);
int	plugin_disable(const char *, struct pd_err *);
int	lifecycle_enable(const char *, unsigned, struct pd_err *);
int	lifecycle_disable(const char *, unsigned, int, struct pd_err *);
int	lifecycle_remove(const char *, const char *, int, struct pd_err *);
int	lifecycle_init(struct pd_err *);
void	lifecycle_restore(void);
void	lifecycle_shutdown(void);
void	lifecycle_janitor_drain(void);
int	lifecycle_quiescent(const char *);
const char *lifecycle_describe(const char *);
void	runtime_reap(pid_t);
void	runtime_reap_known(void);

/* logger.c: one log writer (plugind-logger) per running plugin. */
int	plugin_logger_start(const char *, int *, struct pd_err *);
int	plugin_logger_count(const char *);
void	plugin_logger_wait(const char *, int);

/*
 * gateway.c: one plugind-gateway per running plugin, serving the socket
 * published for engines (publish-docker-dir).
 */
int	gateway_start(const char *, const char *, const json_t *,
	    struct pd_err *);
int	gateway_off(const char *, const char *, const json_t *,
	    struct pd_err *);
void	gateway_stop(const char *, const char *);
void	gateway_unpublish(const char *, const char *);
void	gateway_restore_off(const char *, const char *, const json_t *);
int	gateway_count(const char *);

/* podman.c: Podman's drop-in naming the published volume plugins. */
void	podman_sync(void);

/* grant.c: what a plugin config may ask for, and host paths it names. */
int	host_path_exact(const char *, const char *, int, int, struct pd_err *);
int	host_paths_check(const json_t *, int, struct pd_err *);
int	config_grantable(const json_t *, struct pd_err *);

/* policycheck.c: the trust policy against the enabled plugins. */
void	policy_enforce(const char *);
void	policy_enforce_async(void);

/* reply.c: replies and progress to a control client. */
int	ctl_reply_data(struct ctl_client *, const void *, size_t);
int	ctl_reply_json(struct ctl_client *, json_t *);
int	ctl_progress(struct ctl_client *, const char *, const char *, uint64_t,
	    uint64_t);
int	ctl_client_gone(const struct ctl_client *, int);

#endif

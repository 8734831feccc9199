/*
 * plugind wire protocol: every message type and its payload layout.
 *
 * This file is the protocol's reference; proto.c is the only place that
 * encodes or decodes payloads.  Framing (header, size cap, fd passing) is
 * in msg.h.  Bump PD_PROTO_VERSION on any change to this file.
 *
 * Payload primitives, all host byte order (channels are local):
 *	u32	4 bytes
 *	u64	8 bytes
 *	str	u32 length N, then N bytes; no NUL inside, no terminator on the
 *		wire; every str field has a documented maximum N
 * Decoders check every length, reject strings with NUL bytes or over
 * their maximum, and reject trailing bytes.  A message that does not
 * decode is a protocol violation by its sender.
 *
 * Message numbers are grouped: 1-99 common, 100-199 control socket,
 * 200-299 fetcher, 300-399 extractor, 400-499 gateway.  Retired numbers
 * are never reused.
 */
#ifndef PD_PROTO_H
#define PD_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "msg.h"

#define PD_PROTO_VERSION	6

#define PD_STR_SHORT		256	/* names, media types, digests */
#define PD_STR_LINE		2048	/* log lines */
#define PD_STR_ARG		4096	/* one control argument */
/*
 * The privileges argument of install and upgrade that grants what the
 * manifest fetched by that very job requires (--grant-all-permissions):
 * one resolve instead of privileges + install, and nothing shown that
 * could differ from what runs.  Not JSON, so no body can mean it.
 */
#define PD_GRANT_ALL		"*"
#define PD_STR_AGENT		64	/* HELLO's agent */
#define PD_STR_SCHEME		8	/* "http", "https" */
#define PD_STR_USER		1024	/* registry user name */
#define PD_STR_SECRET		4096	/* registry password or identity token */
#define PD_CTL_MAXARGS		256

enum pd_msg_type {
	/* ---- common: 1-99 ---- */

	/*
	 * HELLO, first message of a control connection (client -> broker),
	 * answered with HELLO by the broker or CTL_FAIL and close.
	 *	u32	version		PD_PROTO_VERSION
	 *	str	agent		<= 64, e.g. "pluginctl 0.1.0"
	 */
	PD_MSG_HELLO = 1,

	/*
	 * SETUP, broker -> helper, first message on a helper channel.
	 * Carries an fd: the directory the helper chroots into.
	 *	u32	version		PD_PROTO_VERSION
	 *	u32	role		enum pd_role the broker spawned
	 *	u32	uid, gid	ids to drop to, looked up by the broker
	 *	u32	loglevel	enum pd_loglevel
	 *	u64	rlim_nofile	RLIMIT_NOFILE (0: leave)
	 *	u64	rlim_fsize	RLIMIT_FSIZE (0: leave)
	 *	u64	rlim_as		RLIMIT_AS (0: leave)
	 *	str	proxy		<= 256, fetcher only, "" for none
	 */
	PD_MSG_SETUP = 2,

	/*
	 * SETUP_DONE, helper -> broker, once the helper is chrooted, has
	 * dropped its ids and capabilities and loaded its seccomp policy.
	 *	u32	version
	 *	u32	pid		informative; the broker knows the pid
	 */
	PD_MSG_SETUP_DONE = 3,

	/*
	 * LOG, helper -> broker, at any time after SETUP.
	 *	u32	level		enum pd_loglevel
	 *	str	line		<= 2048
	 */
	PD_MSG_LOG = 4,

	/*
	 * ERROR, helper -> broker: the current request failed.
	 *	u32	code		enum pd_errcode
	 *	str	msg		<= 1023
	 */
	PD_MSG_ERROR = 5,

	/* STOP, broker -> helper: exit now.  Empty payload. */
	PD_MSG_STOP = 6,

	/*
	 * PROGRESS, broker -> client (and helper -> broker for transfers).
	 *	str	id		<= 256, e.g. short layer digest
	 *	str	status		<= 256, "Downloading", "Extracting"...
	 *	u64	current, total	bytes; total 0 when unknown
	 */
	PD_MSG_PROGRESS = 7,

	/*
	 * CONN, broker -> API process, its first message after SETUP_DONE:
	 * carries the accepted HTTP connection as its fd.  Empty.  The
	 * process is started before there is a connection: a warm spare
	 * (broker/proc/helper.c).
	 */
	PD_MSG_CONN = 8,

	/* ---- control socket: 100-199 ---- */

	/*
	 * Control requests, client -> broker.  All share one layout:
	 *	u32	flags		PD_CTLF_* bits
	 *	u32	timeout		seconds, 0 for the default
	 *	u32	nargs		<= PD_CTL_MAXARGS
	 *	str	args[nargs]	each <= PD_STR_ARG
	 * The verb table in proto.c fixes each verb's argument count,
	 * whether it mutates state and whether group members may use it.
	 * The broker answers with zero or more CTL_DATA / PROGRESS messages
	 * and exactly one CTL_OK or CTL_FAIL, all with the request's id.
	 */
	PD_CTL_INFO = 100,	/* args: none */
	PD_CTL_LIST = 101,	/* args: filter "key=value"... */
	PD_CTL_INSPECT = 102,	/* args: name-or-id */
	PD_CTL_INSTALL = 103,	/* args: remote, alias, privileges JSON
				   (or PD_GRANT_ALL), credentials JSON,
				   KEY=VALUE... */
	PD_CTL_ENABLE = 104,	/* args: name */
	PD_CTL_DISABLE = 105,	/* args: name */
	PD_CTL_REMOVE = 106,	/* args: name */
	PD_CTL_SET = 107,	/* args: name, KEY=VALUE... */
	PD_CTL_PUSH = 108,	/* args: name[:tag], credentials JSON */
	PD_CTL_CREATE = 109,	/* args: name; fd: tar of the bundle */
	PD_CTL_UPGRADE = 110,	/* args: name, remote ("" = its reference),
				   privileges JSON (or PD_GRANT_ALL),
				   credentials JSON */
	PD_CTL_PRIVILEGES = 111,	/* args: remote, credentials JSON */
	PD_CTL_HELPERCHECK = 112,	/* args: role name ("fetcher"...) */
	PD_CTL_LOGS = 113,	/* args: name, optional "tail=N"; flag FOLLOW.
				   The plugin's output as CTL_DATA; with
				   FOLLOW until the client disconnects. */
	PD_CTL_EVENTS = 114,	/* args: "since=NS", "until=NS" (Unix ns),
				   filters "event=", "plugin=", "type=".
				   One JSON event per line as CTL_DATA, until
				   `until` passes or the client disconnects. */
	PD_CTL_CHECK = 115,	/* args: none; flag REPAIR (root only).
				   The checker's report as CTL_DATA, then
				   CTL_OK when the data root is sound, else
				   CTL_FAIL (conflict) "N problems found". */
	PD_CTL_LOGIN = 116,	/* args: server ("host[:port]" or a URL),
				   credentials JSON.  Checks them against the
				   registry (PD_FETCH_LOGIN) and stores
				   nothing; CTL_DATA {"Status",
				   "IdentityToken"}. */
	PD_CTL_VERIFY = 117,	/* args: remote, credentials JSON, key file
				   ("" for the policy's keys of remote's
				   scope).  Verifies its signatures as a
				   signed rule does (docs/POLICY.md);
				   CTL_DATA {"Reference", "Key",
				   "Digest"}. */
	PD_CTL_SIGN = 118,	/* args: name[:tag], credentials JSON,
				   manifest digest, payload, base64
				   signature.  Appends one signature to the
				   sha256-<hex>.sig attachment of the
				   plugin's repository (push --sign-by;
				   pluginctl signed it, docs/POLICY.md);
				   CTL_DATA {"Tag", "Digest", "Signatures"}. */

	/* CTL_DATA, broker -> client: a chunk of the reply document. */
	PD_CTL_DATA = 150,
	/* CTL_OK, broker -> client: the request succeeded.  Empty. */
	PD_CTL_OK = 151,
	/*
	 * CTL_FAIL, broker -> client: the request failed.
	 *	u32	code		enum pd_errcode
	 *	str	msg		<= 1023
	 */
	PD_CTL_FAIL = 152,

	/* ---- fetcher: 200-299 ---- */

	/*
	 * FETCH_TLS, broker -> fetcher, before FETCH.  Carries an fd to read
	 * PEM data from (the fetcher cannot open files: it is chrooted).
	 *	u32	kind		PD_TLS_CA, PD_TLS_CERT, PD_TLS_KEY
	 *	str	host		<= 256, "host:port" it applies to
	 */
	PD_MSG_FETCH_TLS = 200,

	/*
	 * FETCH, broker -> fetcher: GET one manifest or blob from a registry
	 * and write the body into the passed fd (a pipe's write end).  Kind
	 * PD_FETCH_LOGIN checks the credentials as `docker login` does (GET
	 * /v2/, a token without scopes); repo and reference are "", and the
	 * body written is the token server's refresh token, if it sent one.
	 *	u32	kind		PD_FETCH_MANIFEST, _BLOB or _LOGIN
	 *	u32	flags		PD_FETCHF_*
	 *	str	scheme		"https" or "http"
	 *	str	host		<= 256, "host[:port]" of the registry
	 *	str	repo		<= 256, repository path
	 *	str	reference	<= 256, tag or "sha256:<hex>"
	 *	str	username	<= 1024, "" for anonymous
	 *	str	secret		<= 4096, password or identity token
	 *	str	proxy		<= 256, "" for none
	 *	u64	max_size	manifest cap, or the blob's exact size
	 * Answered by PROGRESS* (blobs), then FETCH_RESULT or ERROR.
	 */
	PD_MSG_FETCH = 201,

	/*
	 * FETCH_RESULT, fetcher -> broker: the body was written in full.
	 *	u32	http_status
	 *	u64	size		bytes written
	 *	str	media_type	<= 256, Content-Type of the response
	 *	str	digest		<= 256, Docker-Content-Digest ("" if none);
	 *				advisory: the broker hashes the bytes
	 */
	PD_MSG_FETCH_RESULT = 202,

	/*
	 * PUSH_BLOB, broker -> fetcher: upload one blob to a registry unless
	 * it is there already.  Carries a read-only fd of the blob (the
	 * broker opened it from the store); the fetcher reads `size` bytes
	 * from offset 0 with pread.
	 *	u32	flags		PD_FETCHF_*
	 *	str	scheme		"https" or "http"
	 *	str	host		<= 256, "host[:port]"
	 *	str	repo		<= 256, target repository path
	 *	str	reference	<= 256, the blob's "sha256:<hex>"
	 *	str	username	<= 1024
	 *	str	secret		<= 4096
	 *	str	proxy		<= 256
	 *	str	mount_from	<= 256, repository on the same registry to
	 *				mount from, "" for none
	 *	str	media_type	<= 256, for the HEAD's Accept
	 *	u64	size		exact blob size
	 * Answered by PROGRESS* ("Pushing"), then PUSH_RESULT or ERROR.
	 */
	PD_MSG_PUSH_BLOB = 203,

	/*
	 * PUSH_MANIFEST, broker -> fetcher: PUT the manifest (the fd holds
	 * its exact bytes) under the tag `reference`.  Same layout as
	 * PUSH_BLOB; mount_from is "", media_type the manifest's.
	 * Answered by PUSH_RESULT or ERROR.
	 */
	PD_MSG_PUSH_MANIFEST = 204,

	/*
	 * PUSH_RESULT, fetcher -> broker.
	 *	u32	outcome		PD_PUSHED_*
	 *	u64	size		bytes uploaded (0 if none)
	 *	str	digest		<= 256, Docker-Content-Digest ("" if none)
	 *	str	detail		<= 256, PD_PUSHED_MOUNTED: the source repo
	 */
	PD_MSG_PUSH_RESULT = 205,

	/* ---- extractor: 300-399 ---- */

	/*
	 * UNTAR, broker -> extractor.  Carries the layer fd (read to EOF).
	 *	str	media_type	<= 256, selects the decompressor
	 *	u64	max_bytes, max_entries
	 *	u32	max_path, max_depth, max_name, max_ratio
	 *	u64	max_xattr, max_pax, max_compressed, max_file
	 *	u32	max_links
	 */
	PD_MSG_UNTAR = 300,

	/*
	 * UNTAR_DONE, extractor -> broker: the layer was applied.
	 *	u64	entries
	 *	u64	bytes		uncompressed tar bytes
	 *	str	diff_id		<= 256, "sha256:<hex>" of the tar stream
	 */
	PD_MSG_UNTAR_DONE = 301,

	/*
	 * BUNDLE_OUT, broker -> extractor, before BUNDLE.  Carries the fd
	 * the re-rooted, gzip-compressed layer is written into.  Empty.
	 */
	PD_MSG_BUNDLE_OUT = 302,

	/*
	 * BUNDLE, broker -> extractor: split a `plugin create` context tar
	 * (plain or gzip; carried as the fd) into its config and its rootfs
	 * layer (written to the BUNDLE_OUT fd).  Nothing is extracted.
	 *	u32	flags		reserved, 0
	 */
	PD_MSG_BUNDLE = 303,

	/*
	 * BUNDLE_DONE, extractor -> broker.
	 *	u64	entries		rootfs entries written to the layer
	 *	str	config		<= 61440, the canonical config JSON
	 */
	PD_MSG_BUNDLE_DONE = 304,

	/*
	 * PARSE, broker -> extractor (a parse-only process in an empty
	 * chroot): decode a registry document read from the fd to EOF.
	 *	u32	kind		PD_PARSE_MANIFEST, PD_PARSE_CONFIG,
	 *				PD_PARSE_SIGNATURES (a sigstore
	 *				attachment manifest) or
	 *				PD_PARSE_SIGPAYLOAD (a verified
	 *				signature's payload)
	 *	u64	max_size	bytes; larger input is refused
	 *	str	content_type	<= 256, the registry's Content-Type
	 */
	PD_MSG_PARSE = 305,

	/*
	 * PARSE_DONE, extractor -> broker.
	 *	str	json		<= 61440, the canonical summary (manifest,
	 *				index), canonical config, signature list
	 *				{signatures: [{digest, size, signature}]}
	 *				or payload {digest, reference}
	 */
	PD_MSG_PARSE_DONE = 306,

	/*
	 * GATEWAY, broker -> gateway, the one request after SETUP: serve
	 * the Docker plugin protocol on the listening socket (its fd 4).
	 * Mode PD_GW_SERVE: for the plugin whose socket is `socket` in the
	 * gateway's chroot; the channel stays open for USE reports.  Mode
	 * PD_GW_OFF: the plugin `name` is disabled, every call is answered
	 * with an error saying so; the gateway closes the channel.  No
	 * answer; the gateway serves until killed.
	 *	u32	mode		PD_GW_SERVE or PD_GW_OFF
	 *	str	name		<= 256, the plugin's name
	 *	str	socket		<= 256, Interface.Socket ("" when off)
	 *	str	types		<= 2048, Interface.Types, comma-separated
	 *	str	pm		<= 4096, PropagatedMount ("" if none)
	 *	str	host		<= 4096, its host path
	 *	u32	timeout_ms	one call, connect to last byte
	 */
	PD_MSG_GATEWAY = 400,

	/*
	 * USE, gateway -> broker, after the plugin answered a VolumeDriver
	 * Create, Remove, Mount or Unmount without an error: what engines
	 * now hold of the plugin (broker/state/inuse.c).  Accepted only on
	 * a PD_GW_SERVE gateway's channel, for that gateway's plugin.
	 *	u32	op		enum pd_use (broker/state/state.h order:
	 *				0 create, 1 remove, 2 mount, 3 unmount)
	 *	str	volume		<= 255, the volume's Name
	 *	str	mount		<= 255, the engine's mount ID ("" for
	 *				create and remove)
	 */
	PD_MSG_USE = 401,
};

#define PD_PARSE_MANIFEST	1
#define PD_PARSE_CONFIG		2
#define PD_PARSE_SIGNATURES	3
#define PD_PARSE_SIGPAYLOAD	4

#define PD_BUNDLE_CONFIG_MAX	61440

#define PD_TLS_CA		1
#define PD_TLS_CERT		2
#define PD_TLS_KEY		3
#define PD_FETCH_MANIFEST	1
#define PD_FETCH_BLOB		2
#define PD_FETCH_LOGIN		3	/* check credentials: GET /v2/ */
#define PD_FETCHF_IDTOKEN	0x01	/* secret is an identity token */
#define PD_PUSHED_UPLOADED	1
#define PD_PUSHED_EXISTS	2	/* HEAD said 200 */
#define PD_PUSHED_MOUNTED	3	/* cross-repository mount, 201 */

/* Control request flags. */
#define PD_CTLF_FORCE		0x01	/* rm -f, disable -f */
#define PD_CTLF_GRANT_ALL	0x02	/* --grant-all-permissions */
#define PD_CTLF_DISABLE		0x04	/* install --disable */
#define PD_CTLF_QUIET		0x08
#define PD_CTLF_DRYRUN		0x10
#define PD_CTLF_FOLLOW		0x20	/* logs -f */
#define PD_CTLF_REPAIR		0x40	/* check --repair */
#define PD_CTLF_NOPROBE		0x80	/* info without the helper probes */

struct pd_hello {
	uint32_t	 version;
	char		*agent;
};

struct pd_setup {
	uint32_t	 version;
	uint32_t	 role;
	uint32_t	 uid;
	uint32_t	 gid;
	uint32_t	 loglevel;
	uint64_t	 rlim_nofile;
	uint64_t	 rlim_fsize;
	uint64_t	 rlim_as;
	char		*proxy;
};

struct pd_setup_done {
	uint32_t	 version;
	uint32_t	 pid;
};

struct pd_log {
	uint32_t	 level;
	char		*line;
};

struct pd_error_msg {
	uint32_t	 code;
	char		*msg;
};

struct pd_progress {
	char		*id;
	char		*status;
	uint64_t	 current;
	uint64_t	 total;
};

struct pd_ctlreq {
	uint32_t	 flags;
	uint32_t	 timeout;
	uint32_t	 nargs;
	char		**args;
};

struct pd_untar_req {
	char		*media_type;
	uint64_t	 max_bytes;
	uint64_t	 max_entries;
	uint32_t	 max_path;
	uint32_t	 max_depth;
	uint32_t	 max_name;
	uint32_t	 max_ratio;
	uint64_t	 max_xattr;
	uint64_t	 max_pax;
	uint64_t	 max_compressed;
	uint64_t	 max_file;
	uint32_t	 max_links;
};

struct pd_untar_done {
	uint64_t	 entries;
	uint64_t	 bytes;
	char		*diff_id;
};

struct pd_fetch_tls {
	uint32_t	 kind;
	char		*host;
};

/* Where a FETCH or PUSH_* goes and as whom: the part both requests share. */
struct pd_reg_target {
	uint32_t	 flags;		/* PD_FETCHF_* */
	char		*scheme;	/* "http", "https" */
	char		*host;
	char		*repo;
	char		*reference;
	char		*username;
	char		*secret;
	char		*proxy;
};

struct pd_fetch_req {
	uint32_t	 kind;
	struct pd_reg_target t;
	uint64_t	 max_size;
};

struct pd_fetch_result {
	uint32_t	 http_status;
	uint64_t	 size;
	char		*media_type;
	char		*digest;
};

struct pd_push_req {
	struct pd_reg_target t;
	char		*mount_from;
	char		*media_type;
	uint64_t	 size;
};

struct pd_push_result {
	uint32_t	 outcome;
	uint64_t	 size;
	char		*digest;
	char		*detail;
};

#define PD_GW_SERVE	0
#define PD_GW_OFF	1
#define PD_USE_STR	255

struct pd_gateway_req {
	uint32_t	 mode;
	char		*name;
	char		*socket;
	char		*types;
	char		*pm;
	char		*host;
	uint32_t	 timeout_ms;
};

struct pd_parse_req {
	uint32_t	 kind;
	uint64_t	 max_size;
	char		*content_type;
};

struct pd_bundle_done {
	uint64_t	 entries;
	char		*config;
};

/*
 * The control verbs: the one table of what each verb is.  Columns:
 *	T	PD_CTL_<T>, the message type
 *	fn	the broker's handler, op_<fn> (broker/ops/ops.h)
 *	name	the verb's name in logs, audit lines and events
 *	min max	argument count bounds (each argument <= PD_STR_ARG)
 *	mut	mutates state: audited (broker/state/events.c)
 *	fd	carries a file descriptor, which the handler then owns
 *	mem	members of group plugind may use it (else root only;
 *		docs/PRIVSEP.md lists the same set).  logs is root-only
 *		although it changes nothing: plugin output can hold secrets.
 *	cost	costly: bounded per non-root uid (broker/state/admit.c)
 *	ev	the event the dispatcher emits on success, for verbs whose
 *		code emits none (enable, disable and rm emit their own)
 * Expanded by common/proto.c (pd_verb_lookup) and broker/ctl/dispatch.c.
 */
enum pd_verb_event {
	PD_VEV_NONE,		/* none, or the verb's code emits it */
	PD_VEV_PLUGIN,		/* "<name>" on the plugin named by args[0] */
	PD_VEV_CREATE,		/* "create" on the plugin it made */
	PD_VEV_PULL,		/* "install" with the remote as actor */
};

#define PD_VERBS(V)							\
	/* T		fn		name		min max	mut fd mem cost ev */ \
	V(INFO,		info,		"info",		0, 0,	0, 0, 1, 1, NONE)   \
	V(LIST,		list,		"ls",		0, 16,	0, 0, 1, 0, NONE)   \
	V(INSPECT,	inspect,	"inspect",	1, 1,	0, 0, 1, 0, NONE)   \
	V(INSTALL,	install,	"install",	4, PD_CTL_MAXARGS, 1, 0, 0, 0, PULL) \
	V(ENABLE,	enable,		"enable",	1, 1,	1, 0, 0, 0, NONE)   \
	V(DISABLE,	disable,	"disable",	1, 1,	1, 0, 0, 0, NONE)   \
	V(REMOVE,	remove,		"rm",		1, 1,	1, 0, 0, 0, NONE)   \
	V(SET,		set,		"set",		2, PD_CTL_MAXARGS, 1, 0, 0, 0, PLUGIN) \
	V(PUSH,		push,		"push",		1, 2,	1, 0, 0, 0, PLUGIN) \
	V(CREATE,	create,		"create",	1, 1,	1, 1, 0, 0, CREATE) \
	V(UPGRADE,	upgrade,	"upgrade",	4, 4,	1, 0, 0, 0, PLUGIN) \
	V(PRIVILEGES,	privileges,	"privileges",	2, 2,	0, 0, 1, 1, NONE)   \
	V(HELPERCHECK,	check_helper,	"helper-check",	1, 1,	1, 0, 0, 0, NONE)   \
	V(LOGS,		logs,		"logs",		1, 2,	0, 0, 0, 0, NONE)   \
	V(EVENTS,	events,		"events",	0, 32,	0, 0, 1, 0, NONE)   \
	V(CHECK,	check,		"check",	0, 0,	0, 0, 1, 1, NONE)   \
	V(LOGIN,	login,		"login",	2, 2,	0, 0, 1, 1, NONE)   \
	V(VERIFY,	verify,		"verify",	3, 3,	0, 0, 0, 1, NONE)   \
	V(SIGN,		sign,		"sign",		5, 5,	1, 0, 0, 0, NONE)

struct pd_verb {
	uint32_t	 type;
	const char	*name;
	uint32_t	 minargs;
	uint32_t	 maxargs;
	int		 mutating;
	int		 takes_fd;
	int		 member;
	int		 costly;
	enum pd_verb_event event;
};
const struct pd_verb *pd_verb_lookup(uint32_t);
const char	*pd_msg_name(uint32_t);

/*
 * Encoders build the payload and send it; decoders fill the struct from a
 * received message (allocating strings) and fail on any malformation.
 * Every decoded struct is released with its _free function.
 */
int	pd_send_hello(int, uint32_t, const struct pd_hello *, struct pd_err *);
int	pd_dec_hello(const struct pd_msg *, struct pd_hello *, struct pd_err *);
void	pd_hello_free(struct pd_hello *);

int	pd_send_setup(int, uint32_t, int, const struct pd_setup *, struct pd_err *);
int	pd_dec_setup(const struct pd_msg *, struct pd_setup *, struct pd_err *);
void	pd_setup_free(struct pd_setup *);

int	pd_send_setup_done(int, uint32_t, const struct pd_setup_done *,
	    struct pd_err *);
int	pd_dec_setup_done(const struct pd_msg *, struct pd_setup_done *,
	    struct pd_err *);

int	pd_send_log(int, uint32_t, uint32_t, const char *, struct pd_err *);
int	pd_dec_log(const struct pd_msg *, struct pd_log *, struct pd_err *);
void	pd_log_free(struct pd_log *);

int	pd_send_error(int, uint32_t, uint32_t, uint32_t, const char *,
	    struct pd_err *);
int	pd_dec_error(const struct pd_msg *, struct pd_error_msg *, struct pd_err *);
void	pd_error_msg_free(struct pd_error_msg *);

int	pd_send_progress_of(int, uint32_t, const char *, const char *, uint64_t,
	    uint64_t);
int	pd_send_progress(int, uint32_t, const struct pd_progress *,
	    struct pd_err *);
int	pd_dec_progress(const struct pd_msg *, struct pd_progress *,
	    struct pd_err *);
void	pd_progress_free(struct pd_progress *);

int	pd_send_ctlreq(int, uint32_t, uint32_t, int, const struct pd_ctlreq *,
	    struct pd_err *);
int	pd_dec_ctlreq(const struct pd_msg *, struct pd_ctlreq *, struct pd_err *);
void	pd_ctlreq_free(struct pd_ctlreq *);

int	pd_dec_empty(const struct pd_msg *, struct pd_err *);

int	pd_send_untar(int, uint32_t, int, const struct pd_untar_req *,
	    struct pd_err *);
int	pd_dec_untar(const struct pd_msg *, struct pd_untar_req *, struct pd_err *);
void	pd_untar_req_free(struct pd_untar_req *);

int	pd_send_untar_done(int, uint32_t, const struct pd_untar_done *,
	    struct pd_err *);
int	pd_dec_untar_done(const struct pd_msg *, struct pd_untar_done *,
	    struct pd_err *);
void	pd_untar_done_free(struct pd_untar_done *);

int	pd_send_bundle(int, uint32_t, int, uint32_t, struct pd_err *);
int	pd_dec_bundle(const struct pd_msg *, uint32_t *, struct pd_err *);
int	pd_send_bundle_done(int, uint32_t, const struct pd_bundle_done *,
	    struct pd_err *);
int	pd_dec_bundle_done(const struct pd_msg *, struct pd_bundle_done *,
	    struct pd_err *);
void	pd_bundle_done_free(struct pd_bundle_done *);
int	pd_dec_fd_only(const struct pd_msg *, struct pd_err *);
int	pd_send_parse(int, uint32_t, int, const struct pd_parse_req *,
	    struct pd_err *);
int	pd_dec_parse(const struct pd_msg *, struct pd_parse_req *, struct pd_err *);
void	pd_parse_req_free(struct pd_parse_req *);
int	pd_send_gateway(int, uint32_t, const struct pd_gateway_req *,
	    struct pd_err *);
int	pd_dec_gateway(const struct pd_msg *, struct pd_gateway_req *,
	    struct pd_err *);
void	pd_gateway_req_free(struct pd_gateway_req *);
int	pd_send_use(int, uint32_t, const char *, const char *,
	    struct pd_err *);
int	pd_dec_use(const struct pd_msg *, uint32_t *, char **, char **,
	    struct pd_err *);
int	pd_send_parse_done(int, uint32_t, const char *, struct pd_err *);
int	pd_dec_parse_done(const struct pd_msg *, char **, struct pd_err *);

int	pd_send_fetch_tls(int, uint32_t, int, const struct pd_fetch_tls *,
	    struct pd_err *);
int	pd_dec_fetch_tls(const struct pd_msg *, struct pd_fetch_tls *,
	    struct pd_err *);
void	pd_fetch_tls_free(struct pd_fetch_tls *);

int	pd_send_fetch(int, uint32_t, int, const struct pd_fetch_req *,
	    struct pd_err *);
int	pd_dec_fetch(const struct pd_msg *, struct pd_fetch_req *, struct pd_err *);
void	pd_fetch_req_free(struct pd_fetch_req *);

int	pd_send_fetch_result(int, uint32_t, const struct pd_fetch_result *,
	    struct pd_err *);
int	pd_dec_fetch_result(const struct pd_msg *, struct pd_fetch_result *,
	    struct pd_err *);
void	pd_fetch_result_free(struct pd_fetch_result *);

/* type: PD_MSG_PUSH_BLOB or PD_MSG_PUSH_MANIFEST */
int	pd_send_push(int, uint32_t, uint32_t, int, const struct pd_push_req *,
	    struct pd_err *);
int	pd_dec_push(const struct pd_msg *, struct pd_push_req *, struct pd_err *);
void	pd_push_req_free(struct pd_push_req *);
int	pd_send_push_result(int, uint32_t, const struct pd_push_result *,
	    struct pd_err *);
int	pd_dec_push_result(const struct pd_msg *, struct pd_push_result *,
	    struct pd_err *);
void	pd_push_result_free(struct pd_push_result *);

#endif

/*
 * The data-root checker: every blob's digest, every plugin's state, blobs
 * and rootfs, orphans and leftovers of interrupted jobs.  Repair moves
 * broken or orphaned pieces aside into <data-root>/lost+found/<time>/ and
 * never deletes anything.
 *
 * Offline (`plugind --check [--repair]`) it runs on a stopped data root;
 * problems the next start cleans up by itself are marked so.  Online
 * (`pluginctl check`, PD_CTL_CHECK) it also compares the runtime with the
 * state: enabled plugins running, nothing left of disabled ones, no stray
 * runtime state.  Online with --repair (root only) it holds jobs_lock for
 * writing (no job in flight) and plugins_lock for the whole run.  Online
 * without it, the costly part, hashing every blob, takes no lock at all
 * (blobs are immutable and appear whole, by linkat; one the GC removes
 * meanwhile is skipped), and only the cheap rest, a few directory
 * listings, holds jobs_lock for writing, so that tmp/ and the store show
 * no job half done.  Root's jobs wait milliseconds for it, not the
 * length of a hash of the store; members' checks are rate-limited
 * besides (admit.c).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ops/ops.h"
#include "digest.h"
#include "ref.h"
#include "util.h"

/* Appended to problems that the broker's start-up recovery removes. */
#define AT_START	" [cleaned at start]"

struct chk {
	FILE		*out;
	int		 repair;
	int		 online;
	int		 unlocked;	/* hashing outside jobs_lock */
	int		 nproblems;
	char		 lostdir[4096];
};

static void
problem(struct chk *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
problem(struct chk *k, const char *fmt, ...)
{
	va_list ap;

	k->nproblems++;
	va_start(ap, fmt);
	vfprintf(k->out, fmt, ap);
	va_end(ap);
	fputc('\n', k->out);
}

/* Offline, a leftover the next start removes is marked as such. */
static const char *
at_start(const struct chk *k)
{
	return k->online ? "" : AT_START;
}

/*
 * A new lost+found/<time>[.N] for this run: two repairs within one second
 * must not share a directory, or the second could meet the first's names.
 */
static int
make_lostdir(struct chk *k)
{
	char parent[3900];
	struct pd_err e;
	long long now = (long long)time(NULL);
	int i;

	snprintf(parent, sizeof(parent), "%s/lost+found", conf.data_root);
	if (pd_mkdirs(parent, 0700, &e) == -1) {
		fprintf(k->out, "  cannot create %s: %s\n", parent, e.msg);
		return -1;
	}
	for (i = 0; i < 1000; i++) {
		if (i == 0)
			snprintf(k->lostdir, sizeof(k->lostdir), "%s/%lld", parent,
			    now);
		else
			snprintf(k->lostdir, sizeof(k->lostdir), "%s/%lld.%d",
			    parent, now, i);
		if (mkdir(k->lostdir, 0700) == 0)
			return 0;
		if (errno != EEXIST)
			break;
	}
	fprintf(k->out, "  cannot create %s: %s\n", k->lostdir, strerror(errno));
	k->lostdir[0] = '\0';
	return -1;
}

/* Move <dir>/<name> into lost+found under <tag>; rename only. */
static int
set_aside(struct chk *k, const char *dir, const char *name, const char *tag)
{
	char from[8192], to[8192];

	if (k->lostdir[0] == '\0' && make_lostdir(k) == -1)
		return -1;
	snprintf(from, sizeof(from), "%s/%s", dir, name);
	snprintf(to, sizeof(to), "%s/%s-%s", k->lostdir, tag, name);
	/*
	 * Safety: both paths are inside our data root; rename never copies,
	 * and never replaces what an earlier repair set aside.
	 */
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == -1) {
		fprintf(k->out, "  cannot move %s aside: %s\n", from, strerror(errno));
		return -1;
	}
	fprintf(k->out, "  moved to %s\n", to);
	return 0;
}

static int
blob_present(const char *digest)
{
	char path[4200];
	struct stat st;
	const char *hex = pd_digest_hex(digest);

	if (hex == NULL)
		return 0;
	snprintf(path, sizeof(path), "%s/storage/blobs/sha256/%s", conf.data_root,
	    hex);
	return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Leftovers inside one plugin directory; `journal`: an upgrade is open. */
static void
check_plugin_leftovers(struct chk *k, const char *pdir, const char *id,
    const char *name, int journal)
{
	char dir[4400];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/%s", pdir, id);
	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (de->d_name[0] == '.' && strstr(de->d_name, ".tmp-") != NULL)
			problem(k, "plugin %s (%s): %s: a temporary file of an "
			    "interrupted write%s", name, id, de->d_name, at_start(k));
		else if (!journal && (strcmp(de->d_name, "rootfs-old") == 0 ||
		    strcmp(de->d_name, "rootfs-failed") == 0))
			problem(k, "plugin %s (%s): %s: left by an upgrade%s", name, id,
			    de->d_name, at_start(k));
	}
	closedir(d);
}

/*
 * The state a plugin directory stands for: config.json, or, while an
 * upgrade journal is there, the version the next start rolls back to.
 */
static json_t *
load_state(struct chk *k, const char *pdir, const char *id, int *journal)
{
	char path[8400];
	json_error_t jerr;
	json_t *j, *old;

	snprintf(path, sizeof(path), "%s/%s/%s", pdir, id, PD_UPGRADE_JOURNAL);
	*journal = access(path, F_OK) == 0;
	if (*journal) {
		if ((j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr)) == NULL ||
		    !json_is_object(old = json_object_get(j, "old"))) {
			problem(k, "plugin %s: upgrade journal %s: %s", id, path,
			    j == NULL ? jerr.text : "no \"old\" state");
			json_decref(j);
			return NULL;
		}
		json_incref(old);
		json_decref(j);
		return old;
	}
	snprintf(path, sizeof(path), "%s/%s/config.json", pdir, id);
	if ((j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		problem(k, "plugin %s: state file %s: %s", id, path, jerr.text);
	return j;
}

/* Check one plugin dir; add its blobs to `used`.  Returns 0 if sound. */
static int
check_plugin(struct chk *k, const char *pdir, const char *id, json_t *used)
{
	char path[8400], name[600] = "?";
	json_t *st, *p, *v, *b;
	struct stat sb;
	size_t i;
	int bad = 0, journal;

	if ((st = load_state(k, pdir, id, &journal)) == NULL)
		return -1;
	p = json_object_get(st, "plugin");
	if (json_is_string(json_object_get(p, "Name")))
		snprintf(name, sizeof(name), "%s", json_string_value(json_object_get(p,
		    "Name")));
	if (!json_is_object(p) || !json_is_string(json_object_get(p, "Id")) ||
	    strcmp(json_string_value(json_object_get(p, "Id")), id) != 0 ||
	    !json_is_object(json_object_get(p, "Config"))) {
		problem(k, "plugin %s (%s): state file is not a plugin record", id,
		    name);
		json_decref(st);
		return -1;
	}
	if (journal)
		problem(k, "plugin %s (%s): an interrupted upgrade (the next start "
		    "rolls it back)%s", name, id, at_start(k));
	check_plugin_leftovers(k, pdir, id, name, journal);
	/* Rolled back, the rootfs is rootfs-old when that exists. */
	snprintf(path, sizeof(path), "%s/%s/rootfs-old", pdir, id);
	if (!journal || lstat(path, &sb) == -1)
		snprintf(path, sizeof(path), "%s/%s/rootfs", pdir, id);
	if (lstat(path, &sb) == -1 || !S_ISDIR(sb.st_mode)) {
		problem(k, "plugin %s (%s): rootfs %s is missing", name, id, path);
		bad = 1;
	}
	v = json_object_get(st, "Config");
	if (json_is_string(v)) {
		json_object_set_new(used, json_string_value(v), json_true());
		if (!blob_present(json_string_value(v))) {
			problem(k, "plugin %s (%s): config blob %s is missing", name, id,
			    json_string_value(v));
			bad = 1;
		}
	}
	v = json_object_get(st, "Manifest");
	if (json_is_string(v) && json_string_length(v) > 0) {
		json_object_set_new(used, json_string_value(v), json_true());
		if (!blob_present(json_string_value(v)))
			problem(k, "plugin %s (%s): manifest blob %s is missing (push "
			    "will rebuild it)", name, id, json_string_value(v));
	}
	json_array_foreach(json_object_get(st, "Blobsums"), i, b) {
		if (!json_is_string(b))
			continue;
		json_object_set_new(used, json_string_value(b), json_true());
		if (!blob_present(json_string_value(b))) {
			problem(k, "plugin %s (%s): layer blob %s is missing", name, id,
			    json_string_value(b));
			bad = 1;
		}
	}
	json_decref(st);
	return bad ? -1 : 0;
}

/* Blobs: the content must hash to the name. */
static unsigned
check_blobs(struct chk *k, const char *bdir)
{
	char got[72], want[320];
	struct dirent *de;
	struct pd_err e;
	unsigned n = 0;
	uint64_t size;
	DIR *d;
	int fd;

	if ((d = opendir(bdir)) == NULL) {
		problem(k, "content store %s: %s", bdir, strerror(errno));
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		n++;
		snprintf(want, sizeof(want), "sha256:%s", de->d_name);
		if (!pd_digest_valid(want)) {
			problem(k, "blob %s: not a sha256 name", de->d_name);
			if (k->repair)
				(void)set_aside(k, bdir, de->d_name, "blob");
			continue;
		}
		fd = openat(dirfd(d), de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd == -1 && errno == ENOENT && k->unlocked) {
			n--;	/* the GC removed it since readdir */
			continue;
		}
		if (fd == -1 || pd_sha256_fd(fd, got, &size, &e) == -1) {
			problem(k, "blob %s: unreadable", want);
			if (fd >= 0)
				close(fd);
			continue;
		}
		close(fd);
		if (strcmp(got, want) != 0) {
			problem(k, "blob %s: content hashes to %s (corrupt)", want, got);
			if (k->repair)
				(void)set_aside(k, bdir, de->d_name, "corrupt-blob");
		}
	}
	closedir(d);
	return n;
}

/* Online, a plugin may only be moved aside when nothing runs it. */
static void
set_plugin_aside(struct chk *k, const char *pdir, const char *id)
{
	struct plugin *p = NULL;

	if (k->online) {
		for (p = plugins; p != NULL; p = p->next)
			if (strcmp(p->id, id) == 0)
				break;
		if (p != NULL && (plugin_enabled(p) || !lifecycle_quiescent(id))) {
			fprintf(k->out, "  not moved: the plugin is enabled or busy "
			    "(disable it first)\n");
			return;
		}
	}
	if (set_aside(k, pdir, id, "plugin") == 0 && p != NULL)
		plugin_forget(p);
}

static unsigned
check_plugins(struct chk *k, const char *pdir, json_t *used)
{
	struct dirent *de;
	unsigned n = 0;
	DIR *d;

	if ((d = opendir(pdir)) == NULL) {
		problem(k, "plugin directory %s: %s", pdir, strerror(errno));
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (pd_valid_plugin_id(de->d_name)) {
			json_t *mine = json_object();

			n++;
			/*
			 * A plugin moved aside no longer holds its blobs:
			 * they become orphans in the same run.
			 */
			if (check_plugin(k, pdir, de->d_name, mine) == -1 && k->repair)
				set_plugin_aside(k, pdir, de->d_name);
			else
				json_object_update(used, mine);
			json_decref(mine);
		} else if (strlen(de->d_name) == 73 &&
		    strcmp(de->d_name + 64, "-removing") == 0) {
			problem(k, "plugins/%s: an interrupted removal%s", de->d_name,
			    at_start(k));
			if (k->repair)
				(void)set_aside(k, pdir, de->d_name, "removing");
		} else
			problem(k, "plugins/%s: not a plugin directory", de->d_name);
	}
	closedir(d);
	return n;
}

/* Orphans: blobs no plugin names (GC deletes them at the next start). */
static void
check_orphans(struct chk *k, const char *bdir, const json_t *used)
{
	char want[320];
	struct dirent *de;
	DIR *d;

	if ((d = opendir(bdir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(want, sizeof(want), "sha256:%s", de->d_name);
		if (pd_digest_valid(want) && json_object_get(used, want) == NULL) {
			problem(k, "blob %s: referenced by no plugin%s", want,
			    at_start(k));
			if (k->repair)
				(void)set_aside(k, bdir, de->d_name, "orphan-blob");
		}
	}
	closedir(d);
}

/*
 * Leftovers of interrupted jobs.  Online, the scratch directories of
 * `info` probes, of `privileges` (which run outside jobs_lock) and of
 * warm spares (proc/helper.c) are skipped: their owners remove them.
 */
static void
check_tmp(struct chk *k, const char *tdir)
{
	struct dirent *de;
	DIR *d;

	if ((d = opendir(tdir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (k->online && (strncmp(de->d_name, "probe-", 6) == 0 ||
		    strncmp(de->d_name, "parse-", 6) == 0 ||
		    strncmp(de->d_name, "spare-", 6) == 0))
			continue;
		problem(k, "tmp/%s: left by an interrupted job%s", de->d_name,
		    at_start(k));
		if (k->repair)
			(void)set_aside(k, tdir, de->d_name, "tmp");
	}
	closedir(d);
}

static int
known_id(const char *id)
{
	struct plugin *p;

	for (p = plugins; p != NULL; p = p->next)
		if (strcmp(p->id, id) == 0)
			return 1;
	return 0;
}

/* Runtime state under <exec-root>/<sub> that belongs to no plugin. */
static void
check_stray_runtime(struct chk *k, const char *sub, const char *what)
{
	char dir[4200];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/%s", conf.exec_root, sub);
	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && !known_id(de->d_name))
			problem(k, "%s/%s: %s of no known plugin", dir, de->d_name, what);
	closedir(d);
}

/* Online: does the runtime match the state?  Caller holds plugins_lock. */
static void
check_runtime(struct chk *k)
{
	char status[32];
	struct rt_paths rp;
	struct plugin *p;
	pid_t pid;
	int n;

	for (p = plugins; p != NULL; p = p->next) {
		rt_paths(p->id, &rp);
		if (access(rp.plugdir, F_OK) == -1) {
			problem(k, "plugin %s (%s): loaded, but %s is gone", plugin_name(p),
			    p->id, rp.plugdir);
			continue;
		}
		if (!lifecycle_quiescent(p->id) && !plugin_enabled(p))
			continue;	/* an enable or disable is under way */
		if (runtime_state(p->id, &pid, status, sizeof(status)) == -1)
			snprintf(status, sizeof(status), "no container");
		if (plugin_enabled(p)) {
			if (strcmp(status, "running") != 0)
				problem(k, "plugin %s (%s): enabled but not running (%s; "
				    "%s)", plugin_name(p), p->id, status,
				    lifecycle_describe(p->id));
			continue;
		}
		if (strcmp(status, "no container") != 0)
			problem(k, "plugin %s (%s): disabled but its container exists "
			    "(%s)", plugin_name(p), p->id, status);
		if (access(rp.sockdir, F_OK) == 0)
			problem(k, "plugin %s (%s): disabled but %s exists", plugin_name(p),
			    p->id, rp.sockdir);
		if (access(rp.bundle, F_OK) == 0)
			problem(k, "plugin %s (%s): disabled but %s exists", plugin_name(p),
			    p->id, rp.bundle);
		if ((n = runtime_mounted_under(rp.plugdir)) > 0)
			problem(k, "plugin %s (%s): disabled but %d mount%s below %s",
			    plugin_name(p), p->id, n, n == 1 ? "" : "s", rp.plugdir);
		if ((n = plugin_logger_count(p->id)) > 0)
			problem(k, "plugin %s (%s): disabled but %d log writer%s "
			    "(plugind-logger) still run%s", plugin_name(p), p->id, n,
			    n == 1 ? "" : "s", n == 1 ? "s" : "");
		if ((n = gateway_count(p->id)) > 0)
			problem(k, "plugin %s (%s): disabled but %d gateway%s "
			    "(plugind-gateway) still run%s", plugin_name(p), p->id, n,
			    n == 1 ? "" : "s", n == 1 ? "s" : "");
	}
	check_stray_runtime(k, "runc", "container state");
	check_stray_runtime(k, "plugins", "socket directory");
	check_stray_runtime(k, "bundles", "bundle");
}

/* Online: plugin directories the broker has not loaded. */
static void
check_unloaded(struct chk *k, const char *pdir)
{
	struct dirent *de;
	DIR *d;

	if ((d = opendir(pdir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (pd_valid_plugin_id(de->d_name) && !known_id(de->d_name))
			problem(k, "plugins/%s: on disk, but not loaded by the broker",
			    de->d_name);
	closedir(d);
}

/*
 * Online without --repair: wait for jobs_lock for writing, at most
 * `secs` seconds for a non-root peer (jobs that keep overlapping must not
 * pin a member's request forever; glibc's rwlock prefers readers, so the
 * waiting writer never holds a job up), without a bound for root.
 */
static int
lock_jobs(const struct ctl_client *c, unsigned secs)
{
	struct timespec ts;

	if (c == NULL || c->uid == 0)
		return pthread_rwlock_wrlock(&jobs_lock);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += secs;
	return pthread_rwlock_timedwrlock(&jobs_lock, &ts);
}

/*
 * One run.  Offline and with --repair the caller holds whatever locks
 * apply; online without --repair, `c` is the client and the cheap
 * second part takes the locks here (see the top of this file).
 * Returns the number of problems, or -1 with e set.
 */
static int
check_run(FILE *out, int repair, int online, const struct ctl_client *c,
    struct pd_err *e)
{
	char pdir[4200], bdir[4200], tdir[4200];
	struct chk k;
	json_t *used;
	unsigned nplugins, nblobs;
	unsigned wait = conf.limits.client_timeout;

	memset(&k, 0, sizeof(k));
	k.out = out;
	k.repair = repair;
	k.online = online;
	k.unlocked = online && !repair;
	snprintf(pdir, sizeof(pdir), "%s/plugins", conf.data_root);
	snprintf(bdir, sizeof(bdir), "%s/storage/blobs/sha256", conf.data_root);
	snprintf(tdir, sizeof(tdir), "%s/tmp", conf.data_root);

	/* A removal rm has answered is not a problem: it is awaited. */
	if (online)
		lifecycle_janitor_drain();
	nblobs = check_blobs(&k, bdir);
	if (k.unlocked) {
		if (lock_jobs(c, wait) != 0)
			return pd_errf(e, PD_E_LIMIT, "check: jobs kept running for "
			    "%u s (client-timeout); try again later", wait);
		pthread_rwlock_rdlock(&plugins_lock);
	}
	used = json_object();
	nplugins = check_plugins(&k, pdir, used);
	check_orphans(&k, bdir, used);
	check_tmp(&k, tdir);
	if (online) {
		check_unloaded(&k, pdir);
		check_runtime(&k);
	}
	if (k.unlocked) {
		pthread_rwlock_unlock(&plugins_lock);
		pthread_rwlock_unlock(&jobs_lock);
	}
	json_decref(used);
	if (k.nproblems == 0) {
		fprintf(out, "data root %s: OK (%u plugins, %u blobs verified)\n",
		    conf.data_root, nplugins, nblobs);
		return 0;
	}
	fprintf(out, "data root %s: %d problem%s found%s\n", conf.data_root,
	    k.nproblems, k.nproblems == 1 ? "" : "s", repair ?
	    "; broken pieces moved aside" : online ?
	    " (pluginctl check --repair moves broken pieces aside)" :
	    " (plugind --check --repair moves broken pieces aside)");
	return k.nproblems;
}

/* plugind --check: the data root is locked by the caller. */
int
check_data_root(int repair)
{
	struct pd_err e;

	return check_run(stdout, repair, 0, NULL, &e) == 0 ? 0 : 1;
}

/*
 * pluginctl check [--repair] (PD_CTL_CHECK).  --repair (root only) holds
 * jobs_lock for writing throughout: it waits for every job in flight and
 * keeps new ones out, so the content store, tmp/ and plugins/ hold only
 * committed state while it moves things.  A plain check locks only its
 * cheap part (check_run); a non-root one is rate-limited (admit_check).
 */
int
op_check(struct ctl_client *c, struct pd_ctlreq *q, int reqfd,
    struct pd_err *e)
{
	int repair = (q->flags & PD_CTLF_REPAIR) != 0, n;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (repair && c->uid != 0)
		return pd_errf(e, PD_E_PERM, "permission denied: check --repair "
		    "needs root");
	if (!repair && admit_check(c, e) == -1)
		return -1;
	if ((f = open_memstream(&buf, &len)) == NULL) {
		if (!repair)
			admit_check_done(c);
		return pd_errno(e, PD_E_INTERNAL, "open_memstream");
	}
	if (repair) {
		pthread_rwlock_wrlock(&jobs_lock);
		pthread_rwlock_wrlock(&plugins_lock);
		n = check_run(f, 1, 1, c, e);
		pthread_rwlock_unlock(&plugins_lock);
		pthread_rwlock_unlock(&jobs_lock);
	} else {
		n = check_run(f, 0, 1, c, e);
		admit_check_done(c);
	}
	fclose(f);
	if (n == -1) {
		free(buf);
		return -1;
	}
	if (repair)
		audit_log(c, "check --repair", conf.data_root, n == 0,
		    n == 0 ? NULL : "problems found");
	if (ctl_reply_data(c, buf, len) == -1) {
		free(buf);
		return pd_errf(e, PD_E_IO, "reply");
	}
	free(buf);
	if (n > 0)
		return pd_errf(e, PD_E_CONFLICT, "%d problem%s found in the data root",
		    n, n == 1 ? "" : "s");
	return 0;
}

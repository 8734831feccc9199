/*
 * plugind --check [--repair]: verify a (stopped) data root offline.
 * Every blob's digest, every plugin's state, blobs and rootfs, orphans
 * and leftovers.  --repair moves broken or orphaned pieces aside into
 * <data-root>/lost+found/<time>/ and never deletes anything.
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

#include "broker.h"
#include "digest.h"
#include "log.h"
#include "ref.h"
#include "util.h"

static int	nproblems;
static char	lostdir[4096];

static void
problem(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
problem(const char *fmt, ...)
{
	va_list ap;

	nproblems++;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* Move <dir>/<name> into lost+found under <tag>; rename only. */
static void
set_aside(const char *dir, const char *name, const char *tag)
{
	char from[8192], to[8192];
	struct pd_err e;

	if (lostdir[0] == '\0') {
		snprintf(lostdir, sizeof(lostdir), "%s/lost+found/%lld", conf.data_root,
		    (long long)time(NULL));
		if (pd_mkdirs(lostdir, 0700, &e) == -1) {
			printf("  cannot create %s: %s\n", lostdir, e.msg);
			return;
		}
	}
	snprintf(from, sizeof(from), "%s/%s", dir, name);
	snprintf(to, sizeof(to), "%s/%s-%s", lostdir, tag, name);
	if (rename(from, to) == -1)
		printf("  cannot move %s aside: %s\n", from, strerror(errno));
	else
		printf("  moved to %s\n", to);
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

/* Check one plugin dir; add its blobs to `used`.  Returns 0 if sound. */
static int
check_plugin(const char *pdir, const char *id, json_t *used)
{
	char path[8400], name[600] = "?";
	json_error_t jerr;
	json_t *st, *p, *v, *b;
	struct stat sb;
	size_t i;
	int bad = 0;

	snprintf(path, sizeof(path), "%s/%s/config.json", pdir, id);
	if ((st = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		problem("plugin %s: state file %s: %s", id, path, jerr.text);
		return -1;
	}
	p = json_object_get(st, "plugin");
	if (json_is_string(json_object_get(p, "Name")))
		snprintf(name, sizeof(name), "%s", json_string_value(json_object_get(p,
		    "Name")));
	if (!json_is_object(p) || !json_is_string(json_object_get(p, "Id")) ||
	    strcmp(json_string_value(json_object_get(p, "Id")), id) != 0 ||
	    !json_is_object(json_object_get(p, "Config"))) {
		problem("plugin %s (%s): state file is not a plugin record", id, name);
		json_decref(st);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s/rootfs", pdir, id);
	if (lstat(path, &sb) == -1 || !S_ISDIR(sb.st_mode)) {
		problem("plugin %s (%s): rootfs %s is missing", name, id, path);
		bad = 1;
	}
	v = json_object_get(st, "Config");
	if (json_is_string(v)) {
		json_object_set_new(used, json_string_value(v), json_true());
		if (!blob_present(json_string_value(v))) {
			problem("plugin %s (%s): config blob %s is missing", name, id,
			    json_string_value(v));
			bad = 1;
		}
	}
	v = json_object_get(st, "Manifest");
	if (json_is_string(v) && json_string_length(v) > 0) {
		json_object_set_new(used, json_string_value(v), json_true());
		if (!blob_present(json_string_value(v)))
			problem("plugin %s (%s): manifest blob %s is missing (push will "
			    "rebuild it)", name, id, json_string_value(v));
	}
	json_array_foreach(json_object_get(st, "Blobsums"), i, b) {
		if (!json_is_string(b))
			continue;
		json_object_set_new(used, json_string_value(b), json_true());
		if (!blob_present(json_string_value(b))) {
			problem("plugin %s (%s): layer blob %s is missing", name, id,
			    json_string_value(b));
			bad = 1;
		}
	}
	json_decref(st);
	return bad ? -1 : 0;
}

int
check_data_root(int repair)
{
	char pdir[4200], bdir[4200], tdir[4200], got[72], want[320];
	json_t *used = json_object();
	struct dirent *de;
	struct pd_err e;
	unsigned nplugins = 0, nblobs = 0;
	uint64_t size;
	DIR *d;
	int fd;

	snprintf(pdir, sizeof(pdir), "%s/plugins", conf.data_root);
	snprintf(bdir, sizeof(bdir), "%s/storage/blobs/sha256", conf.data_root);
	snprintf(tdir, sizeof(tdir), "%s/tmp", conf.data_root);

	/* Blobs: the content must hash to the name. */
	if ((d = opendir(bdir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			nblobs++;
			snprintf(want, sizeof(want), "sha256:%s", de->d_name);
			if (!pd_digest_valid(want)) {
				problem("blob %s: not a sha256 name", de->d_name);
				if (repair)
					set_aside(bdir, de->d_name, "blob");
				continue;
			}
			fd = openat(dirfd(d), de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			if (fd == -1 || pd_sha256_fd(fd, got, &size, &e) == -1) {
				problem("blob %s: unreadable", want);
				if (fd >= 0)
					close(fd);
				continue;
			}
			close(fd);
			if (strcmp(got, want) != 0) {
				problem("blob %s: content hashes to %s (corrupt)", want, got);
				if (repair)
					set_aside(bdir, de->d_name, "corrupt-blob");
			}
		}
		closedir(d);
	} else
		problem("content store %s: %s", bdir, strerror(errno));

	/* Plugins. */
	if ((d = opendir(pdir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			if (pd_valid_plugin_id(de->d_name)) {
				json_t *mine = json_object();

				nplugins++;
				/*
				 * A plugin moved aside no longer holds its blobs:
				 * they become orphans in the same run.
				 */
				if (check_plugin(pdir, de->d_name, mine) == -1 && repair)
					set_aside(pdir, de->d_name, "plugin");
				else
					json_object_update(used, mine);
				json_decref(mine);
			} else if (strlen(de->d_name) == 73 &&
			    strcmp(de->d_name + 64, "-removing") == 0) {
				problem("plugins/%s: an interrupted removal", de->d_name);
				if (repair)
					set_aside(pdir, de->d_name, "removing");
			} else
				problem("plugins/%s: not a plugin directory", de->d_name);
		}
		closedir(d);
	} else
		problem("plugin directory %s: %s", pdir, strerror(errno));

	/* Orphans: blobs no plugin names (GC would delete them). */
	if ((d = opendir(bdir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(want, sizeof(want), "sha256:%s", de->d_name);
			if (pd_digest_valid(want) && json_object_get(used, want) == NULL) {
				problem("blob %s: referenced by no plugin", want);
				if (repair)
					set_aside(bdir, de->d_name, "orphan-blob");
			}
		}
		closedir(d);
	}
	/* Leftovers of interrupted jobs. */
	if ((d = opendir(tdir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			problem("tmp/%s: left by an interrupted job", de->d_name);
			if (repair)
				set_aside(tdir, de->d_name, "tmp");
		}
		closedir(d);
	}
	json_decref(used);
	if (nproblems == 0) {
		printf("data root %s: OK (%u plugins, %u blobs verified)\n",
		    conf.data_root, nplugins, nblobs);
		return 0;
	}
	printf("data root %s: %d problem%s found%s\n", conf.data_root, nproblems,
	    nproblems == 1 ? "" : "s", repair ? "; broken pieces moved aside" :
	    " (plugind --check --repair moves broken pieces aside)");
	return 1;
}

/*
 * Content store and plugin state: a blob is linked in only under the
 * digest its bytes have; GC keeps what plugins name; state files are
 * written atomically and a corrupt one is set aside at load.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc/proc.h"
#include "digest.h"
#include "util.h"
#include "../tap.h"

static int
count_entries(const char *dir)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

int
main(void)
{
	char tmpl[] = "/tmp/pd-store.XXXXXX", path[4096], digest[72], other[72];
	const char *data = "hello plugind\n";
	struct pd_err e;
	struct plugin *p;
	unsigned removed;
	json_t *used;
	int fd, rc;

	conf_defaults(&conf);
	if (mkdtemp(tmpl) == NULL)
		return 1;
	free(conf.data_root);
	conf.data_root = tmpl;
	snprintf(path, sizeof(path), "%s/storage/blobs/sha256", tmpl);
	pd_mkdirs(path, 0700, &e);
	snprintf(path, sizeof(path), "%s/tmp", tmpl);
	pd_mkdirs(path, 0700, &e);
	snprintf(path, sizeof(path), "%s/plugins", tmpl);
	pd_mkdirs(path, 0700, &e);
	ASSERT(store_init(&e) == 0, "store_init");

	pd_sha256_buf(data, strlen(data), digest);
	pd_sha256_buf("other", 5, other);
	snprintf(path, sizeof(path), "%s/storage/blobs/sha256", tmpl);

	fd = store_tmpfile(&e);
	ASSERT(fd >= 0, "tmpfile in the store's tmp");
	pd_write_full(fd, data, strlen(data));
	rc = store_commit(fd, other, 0, &e);
	ASSERT(rc == -1 && e.code == PD_E_DIGEST, "wrong digest refused");
	ASSERT(strstr(e.msg, other) && strstr(e.msg, digest), "error names expected and got");
	ASSERT_INT_EQ(count_entries(path), 0, "nothing linked after a mismatch");
	rc = store_commit(fd, digest, strlen(data) + 1, &e);
	ASSERT(rc == -1 && strstr(e.msg, "size mismatch"), "wrong size refused");
	ASSERT_INT_EQ(count_entries(path), 0, "nothing linked after a size mismatch");
	ASSERT(store_commit(fd, "sha256:zz", 0, &e) == -1 && e.code == PD_E_INVAL,
	    "malformed digest refused");
	ASSERT(store_commit(fd, digest, strlen(data), &e) == 0, "right digest linked");
	ASSERT(store_has(digest), "blob present");
	ASSERT(!store_has(other), "other blob absent");
	ASSERT(store_commit(fd, digest, 0, &e) == 0, "committing twice is fine");
	close(fd);
	snprintf(path, sizeof(path), "%s/tmp", tmpl);
	ASSERT_INT_EQ(count_entries(path), 0, "no temp files left");
	fd = store_open(digest, &e);
	{
		char buf[64] = "";

		ASSERT(fd >= 0 && read(fd, buf, sizeof(buf)) == (ssize_t)strlen(data) &&
		    memcmp(buf, data, strlen(data)) == 0, "blob content");
		close(fd);
	}
	ASSERT(store_open(other, &e) == -1 && e.code == PD_E_NOTFOUND,
	    "open of a missing blob: not found");

	/* GC keeps used blobs and removes the rest. */
	used = json_object();
	json_object_set_new(used, digest, json_true());
	ASSERT(store_gc(used, &removed, &e) == 0 && removed == 0, "gc keeps a used blob");
	json_decref(used);
	used = json_object();
	ASSERT(store_gc(used, &removed, &e) == 0 && removed == 1, "gc removes an unused blob");
	json_decref(used);
	ASSERT(!store_has(digest), "collected blob gone");

	/* State: save, load, corrupt. */
	p = xcalloc(1, sizeof(*p));
	pd_plugin_id_new(p->id);
	p->state = json_pack("{s:{s:{}, s:b, s:s, s:s, s:s, s:{}}, s:s, s:[s]}",
	    "plugin", "Config", "Enabled", 0, "Id", p->id, "Name", "x/y:latest",
	    "PluginReference", "docker.io/x/y:latest", "Settings",
	    "Config", digest, "Blobsums", digest);
	ASSERT(plugin_save(p, &e) == 0, "plugin_save");
	snprintf(path, sizeof(path), "%s/plugins/%s", tmpl, p->id);
	ASSERT_INT_EQ(count_entries(path), 1, "only config.json in the plugin dir");
	ASSERT(plugins_load(&e) == 0 && plugins != NULL &&
	    strcmp(plugins->id, p->id) == 0 &&
	    strcmp(plugin_name(plugins), "x/y:latest") == 0, "state reloads");
	ASSERT(plugin_resolve("x/y", &e) == plugins, "resolve by familiar name");
	ASSERT(plugin_resolve(p->id, &e) == plugins, "resolve by id");
	ASSERT(plugin_resolve("nothere", &e) == NULL && e.code == PD_E_NOTFOUND,
	    "resolve miss: not found");
	used = plugins_used_blobs();
	ASSERT(json_object_get(used, digest) != NULL, "used blobs include Config");
	json_decref(used);

	/* A truncated state file is moved aside, the broker still loads. */
	snprintf(path, sizeof(path), "%s/plugins/%s/config.json", tmpl, p->id);
	fd = open(path, O_WRONLY | O_TRUNC);
	(void)!write(fd, "{\"plugin\":", 10);
	close(fd);
	json_decref(plugins->state);
	free(plugins);
	plugins = NULL;
	ASSERT(plugins_load(&e) == 0 && plugins == NULL, "corrupt state skipped");
	snprintf(path, sizeof(path), "%s/plugins/%s", tmpl, p->id);
	{
		struct dirent *de;
		DIR *d = opendir(path);
		int aside = 0;

		while (d && (de = readdir(d)) != NULL)
			if (strncmp(de->d_name, "config.json.corrupt-", 20) == 0)
				aside = 1;
		if (d)
			closedir(d);
		ASSERT(aside, "corrupt state moved aside, not deleted");
	}
	{
		int dfd = open("/tmp", O_DIRECTORY | O_RDONLY);

		pd_rm_rf_at(dfd, strrchr(tmpl, '/') + 1, &e);
		close(dfd);
	}
	json_decref(p->state);
	free(p);
	TAP_DONE();
}

/*
 * The in-use record (broker/state/inuse.c): reports change it only once
 * on disk, are idempotent, bounded and checked; the record survives a
 * reload (a broker restart); a corrupt one is moved aside; disable and rm
 * get Docker's text while anything is held.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc/proc.h"
#include "util.h"
#include "../tap.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static size_t
vols_of(const struct plugin *p)
{
	size_t v, m;

	inuse_count(p, &v, &m);
	return v;
}

static size_t
mounts_of(const struct plugin *p)
{
	size_t v, m;

	inuse_count(p, &v, &m);
	return m;
}

static char *
file_of(const char *root)
{
	static char buf[65536];
	char path[4200];

	snprintf(path, sizeof(path), "%s/plugins/" ID "/inuse.json", root);
	return pd_read_small(path, buf, sizeof(buf)) == -1 ? NULL : buf;
}

int
main(void)
{
	char tmpl[] = "/tmp/pd-inuse.XXXXXX", path[4200], big[300], *s;
	struct plugin *p;
	struct pd_err e;
	int pdfd, i, rc;

	conf_defaults(&conf);
	if (mkdtemp(tmpl) == NULL)
		return 1;
	free(conf.data_root);
	conf.data_root = tmpl;
	snprintf(path, sizeof(path), "%s/plugins/" ID, tmpl);
	pd_mkdirs(path, 0700, &e);
	p = xcalloc(1, sizeof(*p));
	snprintf(p->id, sizeof(p->id), "%s", ID);
	p->state = json_pack("{s:{s:s}}", "plugin", "Name", "vol:latest");
	plugins = p;

	ASSERT(vols_of(p) == 0 && mounts_of(p) == 0, "a new plugin holds nothing");
	ASSERT(inuse_refuse(ID, "vol:latest", &e) == 0, "nothing held: no refusal");
	ASSERT(inuse_apply(ID, PD_USE_CREATE, "v1", "", &e) == 0 &&
	    inuse_apply(ID, PD_USE_CREATE, "v1", "", &e) == 0 && vols_of(p) == 1,
	    "Create twice: one volume");
	ASSERT((s = file_of(tmpl)) != NULL && strstr(s, "\"v1\"") != NULL,
	    "the volume is on disk");
	rc = inuse_refuse(ID, "vol:latest", &e);
	ASSERT(rc == -1 && e.code == PD_E_CONFLICT &&
	    strcmp(e.msg, "plugin vol:latest is in use") == 0,
	    "held: Docker's text, a conflict");
	ASSERT(inuse_apply(ID, PD_USE_MOUNT, "v1", "m-1", &e) == 0 &&
	    mounts_of(p) == 1, "a mount in flight");
	ASSERT(inuse_apply(ID, PD_USE_UNMOUNT, "v1", "nope", &e) == 0 &&
	    mounts_of(p) == 1, "Unmount of an unknown mount id changes nothing");

	/* A restart: the record is read back. */
	json_decref(p->inuse);
	p->inuse = NULL;
	ASSERT(inuse_load_all(&e) == 0, "inuse_load_all");
	ASSERT(vols_of(p) == 1 && mounts_of(p) == 1,
	    "after a reload: one volume, one mount");

	ASSERT(inuse_apply(ID, PD_USE_UNMOUNT, "v1", "m-1", &e) == 0 &&
	    inuse_apply(ID, PD_USE_REMOVE, "v1", "", &e) == 0 &&
	    vols_of(p) == 0 && mounts_of(p) == 0 &&
	    inuse_refuse(ID, "vol:latest", &e) == 0,
	    "Unmount and Remove: nothing held, no refusal");

	/* Names: empty, too long, control bytes, spaces are refused. */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ASSERT(inuse_apply(ID, PD_USE_CREATE, "", "", &e) == -1 &&
	    inuse_apply(ID, PD_USE_CREATE, big, "", &e) == -1 &&
	    inuse_apply(ID, PD_USE_CREATE, "a\nb", "", &e) == -1 &&
	    inuse_apply(ID, PD_USE_CREATE, "a b", "", &e) == -1 &&
	    inuse_apply(ID, PD_USE_MOUNT, "v", "", &e) == -1 &&
	    e.code == PD_E_INVAL && vols_of(p) == 0 && mounts_of(p) == 0,
	    "bad names are refused and change nothing");
	ASSERT(inuse_apply("f123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", PD_USE_CREATE, "v", "", &e) == -1 &&
	    e.code == PD_E_NOTFOUND, "a report for an unknown plugin");

	/* Bounded: PD_USE_MAX volumes, then a limit error. */
	for (i = 0, rc = 0; i < PD_USE_MAX && rc == 0; i++) {
		snprintf(big, sizeof(big), "v%d", i);
		rc = inuse_apply(ID, PD_USE_CREATE, big, "", &e);
	}
	ASSERT(rc == 0 && vols_of(p) == PD_USE_MAX, "PD_USE_MAX volumes recorded");
	if (rc != 0)
		printf("# %d: %s\n", i, e.msg);
	ASSERT(inuse_apply(ID, PD_USE_CREATE, "one-more", "", &e) == -1 &&
	    e.code == PD_E_LIMIT && vols_of(p) == PD_USE_MAX,
	    "one more: a limit error, nothing changed");

	/* A corrupt record: set aside, the plugin holds nothing. */
	snprintf(path, sizeof(path), "%s/plugins/" ID "/inuse.json", tmpl);
	{
		int fd = open(path, O_WRONLY | O_TRUNC);

		ASSERT(fd != -1 && write(fd, "{\"Volumes\": [", 13) == 13,
		    "a torn record");
		close(fd);
	}
	ASSERT(inuse_load_all(&e) == 0, "inuse_load_all of a corrupt record");
	snprintf(path, sizeof(path), "%s/plugins/" ID "/inuse.json.corrupt", tmpl);
	ASSERT(vols_of(p) == 0 && access(path, F_OK) == 0,
	    "a corrupt record is moved aside");

	json_decref(p->state);
	json_decref(p->inuse);
	free(p);
	plugins = NULL;
	pdfd = open("/tmp", O_DIRECTORY | O_RDONLY);
	(void)pd_rm_rf_at(pdfd, tmpl + 5, &e);
	close(pdfd);
	TAP_DONE();
}

/*
 * Volume drivers answer Mountpoint as a path inside the plugin's mount
 * namespace (say /data/volumes/v1, under PropagatedMount /data).  The
 * engine needs the host's path of that directory, which is
 * <data-root>/plugins/<id>/propagated-mount/volumes/v1: the broker binds
 * the plugin's PropagatedMount there, shared.  A Mountpoint is rewritten
 * only if it is an absolute path under PropagatedMount with no "." or
 * ".." component and no NUL; anything else, and any Mountpoint of a
 * plugin without PropagatedMount (nothing on the host to map it to),
 * makes the whole answer an error.  Other answers pass unchanged, but
 * must be JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gateway.h"
#include "util.h"

static int
bad(char *err, size_t len, const char *why, const char *what)
{
	snprintf(err, len, "refused the plugin's Mountpoint%s%.200s%s: %s",
	    what ? " \"" : "", what ? what : "", what ? "\"" : "", why);
	return -1;
}

/* Rewrite the string member "Mountpoint" of o, if any. */
static int
mountpoint(json_t *o, const char *pm, const char *host, char *err,
    size_t errlen)
{
	json_t *v = json_object_get(o, "Mountpoint");
	const char *s, *p, *rest;
	size_t n, pl;
	char *nv;

	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return bad(err, errlen, "not a string", NULL);
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v))
		return bad(err, errlen, "it holds a NUL", NULL);
	if (s[0] == '\0')
		return 0;	/* with an Err: nothing mounted */
	if (pm == NULL || pm[0] == '\0')
		return bad(err, errlen, "the plugin has no PropagatedMount", s);
	if (s[0] != '/')
		return bad(err, errlen, "not an absolute path", s);
	for (p = s; *p != '\0'; p += n) {
		p += strspn(p, "/");
		n = strcspn(p, "/");
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' &&
		    p[1] == '.'))
			return bad(err, errlen, "a \".\" or \"..\" component", s);
	}
	pl = strlen(pm);
	while (pl > 1 && pm[pl - 1] == '/')
		pl--;
	if (strncmp(s, pm, pl) != 0 || (s[pl] != '\0' && s[pl] != '/' &&
	    pl != 1))
		return bad(err, errlen, "not under the plugin's PropagatedMount",
		    s);
	rest = s + (pl == 1 ? 0 : pl);
	rest += strspn(rest, "/");
	nv = xasprintf("%s%s%s", host, rest[0] ? "/" : "", rest);
	json_object_set_new(o, "Mountpoint", json_string(nv));
	free(nv);
	return 0;
}

static int
rewrite_json(const char *call, json_t *j, const char *pm, const char *host,
    char *err, size_t errlen)
{
	json_t *vols, *v;
	size_t i;

	if (!json_is_object(j))
		return bad(err, errlen, "the answer is not a JSON object", NULL);
	if (strcmp(call, "/VolumeDriver.Mount") == 0 ||
	    strcmp(call, "/VolumeDriver.Path") == 0)
		return mountpoint(j, pm, host, err, errlen);
	if (strcmp(call, "/VolumeDriver.Get") == 0) {
		v = json_object_get(j, "Volume");
		return json_is_object(v) ? mountpoint(v, pm, host, err, errlen) :
		    0;
	}
	vols = json_object_get(j, "Volumes");
	if (vols != NULL && !json_is_array(vols))
		return bad(err, errlen, "Volumes is not a list", NULL);
	json_array_foreach(vols, i, v)
		if (json_is_object(v) && mountpoint(v, pm, host, err,
		    errlen) == -1)
			return -1;
	return 0;
}

/*
 * The body to give the engine for the plugin's answer a to `call`, in
 * *out (malloc'd, *olen bytes); -1 with why in err.
 */
int
gw_rewrite(const char *call, int volume, const char *pm, const char *host,
    const struct gw_answer *a, char **out, size_t *olen, char *err,
    size_t errlen)
{
	json_t *j;
	int rw;

	*out = NULL;
	*olen = 0;
	if (a->blen == 0)
		return 0;
	if ((j = json_loadb(a->body, a->blen, JSON_ALLOW_NUL, NULL)) == NULL) {
		snprintf(err, errlen, "refused the plugin's answer: not JSON");
		return -1;
	}
	rw = volume && (strcmp(call, "/VolumeDriver.Mount") == 0 ||
	    strcmp(call, "/VolumeDriver.Path") == 0 ||
	    strcmp(call, "/VolumeDriver.Get") == 0 ||
	    strcmp(call, "/VolumeDriver.List") == 0);
	if (!rw) {
		json_decref(j);
		*out = xmalloc(a->blen);
		memcpy(*out, a->body, a->blen);
		*olen = a->blen;
		return 0;
	}
	if (rewrite_json(call, j, pm, host, err, errlen) == -1) {
		json_decref(j);
		return -1;
	}
	*out = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (*out == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	*olen = strlen(*out);
	return 0;
}

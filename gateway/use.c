/*
 * What an engine now holds of the plugin, from one VolumeDriver call
 * the plugin answered: the USE report the gateway sends the broker
 * (broker/state/inuse.c keeps the count).  The engine's request names
 * the volume (Name) and, for Mount and Unmount, the engine's mount ID;
 * the plugin's answer says whether the call did anything.  Both are
 * parsed here, in the sandbox; the broker only checks the names again.
 */
#include <string.h>

#include <jansson.h>

#include "gateway.h"

static const struct {
	const char	*path;
	int		 op;		/* PD_USE_*, in proto.h's USE order */
} use_calls[] = {
	{ "/VolumeDriver.Create", 0 },
	{ "/VolumeDriver.Remove", 1 },
	{ "/VolumeDriver.Mount", 2 },
	{ "/VolumeDriver.Unmount", 3 },
};

/* The USE op of a call, or -1 for one that changes no holding. */
int
gw_use_op(const char *path)
{
	size_t i;

	for (i = 0; i < sizeof(use_calls) / sizeof(use_calls[0]); i++)
		if (strcmp(path, use_calls[i].path) == 0)
			return use_calls[i].op;
	return -1;
}

/* A printable, bounded name, as the broker will check it again. */
static int
name_copy(const json_t *v, char *out, size_t outlen)
{
	const char *s;
	size_t i, n;

	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	n = json_string_length(v);
	if (n == 0 || n >= outlen || n > GW_USE_NAME_MAX)
		return -1;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return -1;
	memcpy(out, s, n + 1);
	return 0;
}

/*
 * The volume and mount ID an engine's request names; 0, or -1 if it
 * names none a count could hold.  A Mount without an ID (the protocol's
 * first version) is counted by the volume's name.
 */
int
gw_use_names(const char *body, size_t blen, int op, char *vol, size_t vlen,
    char *mnt, size_t mlen)
{
	json_t *j;
	int rc = -1;

	vol[0] = mnt[0] = '\0';
	if ((j = json_loadb(body, blen, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return -1;
	if (json_is_object(j) && name_copy(json_object_get(j, "Name"), vol,
	    vlen) == 0) {
		rc = 0;
		if ((op == 2 || op == 3) && name_copy(json_object_get(j, "ID"),
		    mnt, mlen) == -1) {
			if (strlen(vol) < mlen)
				memcpy(mnt, vol, strlen(vol) + 1);
			else
				rc = -1;
		}
	}
	json_decref(j);
	return rc;
}

/* Did the plugin do the call: 200 and an empty or missing Err? */
int
gw_answer_done(const struct gw_answer *a)
{
	const json_t *err;
	json_t *j;
	int ok;

	if (a->status != 200 ||
	    (j = json_loadb(a->body, a->blen, 0, NULL)) == NULL)
		return 0;
	err = json_object_get(j, "Err");
	ok = json_is_object(j) && (err == NULL || json_is_null(err) ||
	    (json_is_string(err) && json_string_length(err) == 0));
	json_decref(j);
	return ok;
}

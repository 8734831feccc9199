/*
 * Client JSON read as Docker reads it.  Go's encoding/json gives each
 * object member to the struct field whose name equals the member's name
 * case-insensitively (bytes.EqualFold: ASCII letters, and the two runes
 * that fold onto ASCII ones, U+017F LATIN SMALL LETTER LONG S onto "s"
 * and U+212A KELVIN SIGN onto "k"), and decodes every matching member
 * in turn, so the last one in the document wins.  A client may send
 * {"Username": ...} where the field is "username"; Ansible's
 * community.docker does.
 */
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "apid.h"

static int
lower(int ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch;
}

/* Does the member name fold onto key (ASCII, as the field names are)? */
int
api_name_fold_eq(const char *name, const char *key)
{
	const unsigned char *n = (const unsigned char *)name;
	const unsigned char *k = (const unsigned char *)key;
	int want;

	for (; *k != '\0'; k++) {
		want = lower(*k);
		if (lower(*n) == want && *n < 0x80)
			n++;
		else if (want == 's' && n[0] == 0xc5 && n[1] == 0xbf)
			n += 2;
		else if (want == 'k' && n[0] == 0xe2 && n[1] == 0x84 &&
		    n[2] == 0xaa)
			n += 3;
		else
			return 0;
	}
	return *n == '\0';
}

/*
 * The member of obj that Go would decode into the field named key, or
 * NULL.  jansson keeps members in document order, but a name repeated
 * exactly keeps its first place (with its last value): only there can
 * the choice differ from Go's.
 */
json_t *
json_get_ci(const json_t *obj, const char *key)
{
	const char *k;
	json_t *v, *found = NULL;

	if (!json_is_object(obj))
		return NULL;
	json_object_foreach((json_t *)(uintptr_t)obj, k, v)
		if (api_name_fold_eq(k, key))
			found = v;
	return found;
}

/*
 * A privileges body (Docker's []PluginPrivilege) with the field names
 * the broker compares exactly: Name, Description, Value.  Other members
 * go, as Go ignores them; anything but an object is left for the broker
 * to refuse.  Takes in's reference.
 */
json_t *
api_privileges_canon(json_t *in)
{
	static const char *const keys[] = { "Name", "Description", "Value" };
	json_t *out, *el, *o, *v;
	size_t i, k;

	if (!json_is_array(in))
		return in;
	out = json_array();
	json_array_foreach(in, i, el) {
		if (!json_is_object(el)) {
			json_array_append(out, el);
			continue;
		}
		o = json_object();
		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			/* null leaves a Go field unset */
			if ((v = json_get_ci(el, keys[k])) != NULL &&
			    !json_is_null(v))
				json_object_set(o, keys[k], v);
		json_array_append_new(out, o);
	}
	json_decref(in);
	return out;
}

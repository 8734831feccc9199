/*
 * The API process's reading of client JSON (api/json_ci.c) as Go's
 * encoding/json reads it, and the GET /info document (api/info.c).
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "apid.h"
#include "../tap.h"

static const struct fold_test {
	const char	*name;
	const char	*key;
	int		 want;
} fold_data[] = {
	{ "username", "username", 1 },
	{ "Username", "username", 1 },
	{ "USERNAME", "username", 1 },
	{ "uSeRnAmE", "username", 1 },
	{ "ServerAddress", "serveraddress", 1 },
	{ "IdentityToken", "identitytoken", 1 },
	{ "name", "Name", 1 },
	{ "user", "username", 0 },
	{ "usernames", "username", 0 },
	{ "", "username", 0 },
	{ "", "", 1 },
	{ "user_name", "username", 0 },
	/* U+017F and U+212A fold onto "s" and "k" in Go, nothing else does */
	{ "u\xc5\xbf" "ername", "username", 1 },
	{ "identityto\xe2\x84\xaa" "en", "identitytoken", 1 },
	{ "\xc5\xbf", "S", 1 },
	{ "\xc5\xbf", "t", 0 },
	{ "\xe2\x84\xaa", "s", 0 },
	{ "\xc3\xa9", "e", 0 },
	{ "\xc5", "s", 0 },		/* a cut-off sequence */
	{ "n\x80me", "name", 0 },
};

static const char *
str_of(const json_t *o, const char *key)
{
	return json_string_value(json_get_ci(o, key));
}

static void
test_get(void)
{
	json_t *o;

	o = json_loads("{\"Username\":\"u\",\"PASSWORD\":\"p\","
	    "\"serveraddress\":\"r\"}", 0, NULL);
	ASSERT_STR_EQ(str_of(o, "username"), "u", "Username for username");
	ASSERT_STR_EQ(str_of(o, "password"), "p", "PASSWORD for password");
	ASSERT_STR_EQ(str_of(o, "serveraddress"), "r", "exact name");
	ASSERT(json_get_ci(o, "identitytoken") == NULL, "absent: NULL");
	ASSERT(json_get_ci(o, "user") == NULL, "a prefix is no match");
	json_decref(o);
	/* Go decodes every matching member in turn: the last one wins */
	o = json_loads("{\"username\":\"a\",\"Username\":\"b\"}", 0, NULL);
	ASSERT_STR_EQ(str_of(o, "username"), "b", "last match wins (exact "
	    "first)");
	json_decref(o);
	o = json_loads("{\"Username\":\"b\",\"username\":\"a\"}", 0, NULL);
	ASSERT_STR_EQ(str_of(o, "username"), "a", "last match wins (exact "
	    "last)");
	json_decref(o);
	o = json_loads("[\"username\"]", 0, NULL);
	ASSERT(json_get_ci(o, "username") == NULL, "not an object: NULL");
	json_decref(o);
	ASSERT(json_get_ci(NULL, "username") == NULL, "NULL: NULL");
}

static void
test_privileges(void)
{
	json_t *in, *out;
	char *s;

	in = json_loads("[{\"name\":\"network\",\"DESCRIPTION\":\"d\","
	    "\"value\":[\"host\"],\"extra\":1},{\"Name\":\"mount\","
	    "\"Value\":null,\"Description\":\"\"},\"junk\"]", 0, NULL);
	out = api_privileges_canon(in);
	s = json_dumps(out, JSON_COMPACT);
	ASSERT_STR_EQ(s, "[{\"Name\":\"network\",\"Description\":\"d\","
	    "\"Value\":[\"host\"]},{\"Name\":\"mount\",\"Description\":\"\"},"
	    "\"junk\"]", "privileges: Docker's names, unknown members and "
	    "nulls dropped, non-objects kept");
	free(s);
	json_decref(out);
	in = json_loads("{\"Name\":\"x\"}", 0, NULL);
	out = api_privileges_canon(in);
	ASSERT(out == in, "privileges: not an array goes on unchanged");
	json_decref(out);
	ASSERT(api_privileges_canon(NULL) == NULL, "privileges: no body");
}

static void
test_info(void)
{
	json_t *bi, *pl, *j, *p;
	char *s;

	bi = json_loads("{\"ServerVersion\":\"9.9\",\"DataRoot\":\"/var/lib/x\","
	    "\"Host\":{\"ID\":\"id\",\"Name\":\"h\",\"OperatingSystem\":\"OS 1\","
	    "\"OSVersion\":\"1\",\"KernelVersion\":\"6.1\",\"Architecture\":"
	    "\"x86_64\",\"NCPU\":4,\"MemTotal\":1024}}", 0, NULL);
	pl = json_loads("[{\"Name\":\"v:latest\",\"Enabled\":true,\"Config\":"
	    "{\"Interface\":{\"Types\":[\"docker.volumedriver/1.0\","
	    "\"docker.authz/1.0\"]}}},{\"Name\":\"n:latest\",\"Enabled\":true,"
	    "\"Config\":{\"Interface\":{\"Types\":[\"docker.networkdriver/1.0\","
	    "\"docker.ipamdriver/1.0\"]}}},{\"Name\":\"l:1\",\"Enabled\":true,"
	    "\"Config\":{\"Interface\":{\"Types\":[\"docker.logdriver/1.0\"]}}},"
	    "{\"Name\":\"off:latest\",\"Enabled\":false,\"Config\":{\"Interface\":"
	    "{\"Types\":[\"docker.volumedriver/1.0\"]}}},{\"Name\":\"o:latest\","
	    "\"Enabled\":true,\"Config\":{\"Interface\":{\"Types\":["
	    "\"other.volumedriver/1.0\",\"docker.volumedriverx/1.0\"]}}}]", 0,
	    NULL);
	j = api_info_doc(bi, pl, 1700000000);
	ASSERT_STR_EQ(json_string_value(json_object_get(j, "ID")), "id", "ID");
	ASSERT_STR_EQ(json_string_value(json_object_get(j, "Name")), "h", "Name");
	ASSERT_STR_EQ(json_string_value(json_object_get(j, "ServerVersion")),
	    "9.9", "ServerVersion");
	ASSERT_STR_EQ(json_string_value(json_object_get(j, "DockerRootDir")),
	    "/var/lib/x", "DockerRootDir: the data root");
	ASSERT_STR_EQ(json_string_value(json_object_get(j, "OSType")), "linux",
	    "OSType");
	ASSERT_STR_EQ(json_string_value(json_object_get(j, "Architecture")),
	    "x86_64", "Architecture");
	ASSERT_INT_EQ(json_integer_value(json_object_get(j, "NCPU")), 4, "NCPU");
	ASSERT_INT_EQ(json_integer_value(json_object_get(j, "MemTotal")), 1024,
	    "MemTotal");
	ASSERT_INT_EQ(json_integer_value(json_object_get(j, "Containers")), 0,
	    "Containers: 0");
	ASSERT_STR_EQ(json_string_value(json_object_get(j, "SystemTime")),
	    "2023-11-14T22:13:20Z", "SystemTime: RFC 3339 UTC");
	ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(j,
	    "Swarm"), "LocalNodeState")), "inactive", "Swarm inactive");
	p = json_object_get(j, "Plugins");
	s = json_dumps(p, JSON_COMPACT);
	ASSERT_STR_EQ(s, "{\"Volume\":[\"v:latest\"],\"Network\":[\"n:latest\"],"
	    "\"Authorization\":[\"v:latest\"],\"Log\":[\"l:1\"]}", "Plugins: "
	    "enabled ones by their docker.* capabilities");
	free(s);
	json_decref(j);
	json_decref(bi);
	json_decref(pl);
	j = api_info_doc(NULL, NULL, 0);
	ASSERT_STR_EQ(json_string_value(json_object_get(j, "SystemTime")),
	    "1970-01-01T00:00:00Z", "no broker facts: still a document");
	ASSERT_STR_EQ(json_string_value(json_object_get(j, "ID")), "",
	    "no broker facts: empty ID");
	json_decref(j);
	j = api_info_doc(NULL, NULL, 951782400);
	ASSERT_STR_EQ(json_string_value(json_object_get(j, "SystemTime")),
	    "2000-02-29T00:00:00Z", "SystemTime: a leap day");
	json_decref(j);
}

int
main(void)
{
	size_t i;
	char what[128];

	for (i = 0; i < sizeof(fold_data) / sizeof(fold_data[0]); i++) {
		snprintf(what, sizeof(what), "fold %zu: \"%s\" %s \"%s\"", i,
		    fold_data[i].name, fold_data[i].want ? "is" : "is not",
		    fold_data[i].key);
		ASSERT_INT_EQ(api_name_fold_eq(fold_data[i].name,
		    fold_data[i].key), fold_data[i].want, what);
	}
	test_get();
	test_privileges();
	test_info();
	TAP_DONE();
}

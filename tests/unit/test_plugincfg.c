/* Plugin config decoding, canonical form, privileges and settings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugincfg.h"
#include "../tap.h"

static char *
canon(const char *in, struct pd_err *e)
{
	json_t *c = pd_config_canonical(in, strlen(in), e);
	char *s;

	if (c == NULL)
		return NULL;
	s = json_dumps(c, JSON_COMPACT);
	json_decref(c);
	return s;
}

static void
expect_err(const char *in, const char *want)
{
	struct pd_err e;
	char what[512], *s;

	pd_err_clear(&e);
	s = canon(in, &e);
	snprintf(what, sizeof(what), "rejected: %.60s -> %s", in, want);
	ASSERT(s == NULL && strstr(e.msg, want) != NULL, what);
	if (s == NULL && strstr(e.msg, want) == NULL)
		printf("# got: %s\n", e.msg);
	free(s);
}

int
main(void)
{
	const char *min = "{\"interface\":{\"socket\":\"x.sock\",\"types\":"
	    "[\"docker.volumedriver/1.0\"]},\"entrypoint\":[\"/x\"]}";
	struct pd_err e;
	json_t *c, *p, *st;
	char *s;

	s = canon(min, &e);
	ASSERT_STR_EQ(s, "{\"Args\":{\"Name\":\"\",\"Description\":\"\",\"Settable\""
	    ":null,\"Value\":null},\"Description\":\"\",\"Documentation\":\"\","
	    "\"Entrypoint\":[\"/x\"],\"Env\":null,\"Interface\":{\"Types\":"
	    "[\"docker.volumedriver/1.0\"],\"Socket\":\"x.sock\",\"ProtocolScheme\":"
	    "\"\"},\"IpcHost\":false,\"Linux\":{\"Capabilities\":null,"
	    "\"AllowAllDevices\":false,\"Devices\":null},\"Mounts\":null,\"Network\":"
	    "{\"Type\":\"\"},\"PidHost\":false,\"PropagatedMount\":\"\",\"User\":{},"
	    "\"WorkDir\":\"\"}", "lowercase keys decode; canonical names and order");
	free(s);

	s = canon("{\"Interface\":{\"Socket\":\"a.sock\",\"Types\":[\"docker.authz/1.0\"]},"
	    "\"Entrypoint\":[\"/a\"],\"Bogus\":1,\"DockerVersion\":\"17\","
	    "\"User\":{\"UID\":0,\"GID\":5},\"rootfs\":{\"type\":\"layers\","
	    "\"diff_ids\":[\"sha256:00\"]}}", &e);
	ASSERT(s && !strstr(s, "Bogus") && !strstr(s, "DockerVersion"),
	    "unknown and retired keys dropped");
	ASSERT(s && strstr(s, "\"User\":{\"GID\":5}"), "User ids omitempty");
	ASSERT(s && strstr(s, "\"rootfs\":{\"type\":\"layers\""), "rootfs kept");
	free(s);

	expect_err("[1]", "not a JSON object");
	expect_err("{\"entrypoint\":", "failed to parse plugin config");
	expect_err("{\"Entrypoint\":\"/x\",\"Interface\":{\"Socket\":\"s\"}}",
	    "\"Entrypoint\" must be an array");
	expect_err("{\"Entrypoint\":[1],\"Interface\":{\"Socket\":\"s\"}}",
	    "\"Entrypoint\" must be an array of strings");
	expect_err("{\"Entrypoint\":[\"/x\"],\"Interface\":{\"Socket\":\"../s\"}}",
	    "socket file name");
	expect_err("{\"Entrypoint\":[\"/x\"],\"Interface\":{\"Socket\":\"s\","
	    "\"Types\":[\"volumedriver\"]}}", "prefix.capability/version");
	expect_err("{\"Entrypoint\":[],\"Interface\":{\"Socket\":\"s\"}}",
	    "\"Entrypoint\" is empty");
	expect_err("{\"Entrypoint\":[\"/x\"],\"Interface\":{\"Socket\":\"s\"},"
	    "\"Mounts\":[{\"Source\":5}]}", "\"Mounts[0].Source\" must be a string");
	expect_err("{\"Entrypoint\":[\"/x\"],\"Interface\":{\"Socket\":\"s\"},"
	    "\"IpcHost\":\"yes\"}", "\"IpcHost\" must be a boolean");
	expect_err("{\"Entrypoint\":[\"/x\"],\"Interface\":{\"Socket\":\"s\"},"
	    "\"User\":{\"UID\":-1}}", "\"User.UID\" must be a 32-bit");
	expect_err("{\"a\":1,\"a\":2}", "failed to parse");
	/* M13: paths inside the plugin name a directory below / */
	expect_err("{\"Entrypoint\":[\"/x\"],\"Interface\":{\"Socket\":\"s\"},"
	    "\"PropagatedMount\":\"/\"}", "\"PropagatedMount\" \"/\" must be");
	expect_err("{\"Entrypoint\":[\"/x\"],\"Interface\":{\"Socket\":\"s\"},"
	    "\"PropagatedMount\":\"//\"}", "\"PropagatedMount\" \"//\" must be");
	expect_err("{\"Entrypoint\":[\"/x\"],\"Interface\":{\"Socket\":\"s\"},"
	    "\"PropagatedMount\":\"/a/./b\"}", "\"PropagatedMount\" \"/a/./b\"");
	expect_err("{\"Entrypoint\":[\"/x\"],\"Interface\":{\"Socket\":\"s\"},"
	    "\"PropagatedMount\":\"data\"}", "\"PropagatedMount\" \"data\"");
	expect_err("{\"Entrypoint\":[\"/x\"],\"Interface\":{\"Socket\":\"s\"},"
	    "\"Mounts\":[{\"Destination\":\"/ok\"},{\"Destination\":\"/a/..\"}]}",
	    "mount 1: \"Destination\" \"/a/..\"");
	{
		const char *okp = "{\"Entrypoint\":[\"/x\"],\"Interface\":{\"Socket\":"
		    "\"s\"},\"PropagatedMount\":\"/data/..x/\",\"Mounts\":[{"
		    "\"Destination\":\"/a//b\"},{\"Name\":\"unset\"}]}";

		c = pd_config_canonical(okp, strlen(okp), &e);
	}
	ASSERT(c != NULL, "M13: /data/..x/, /a//b and an unset destination are fine");
	json_decref(c);

	{
		const char *full = "{\"Entrypoint\":[\"/x\"],\"Interface\":{\"Socket\":"
		    "\"s\"},\"Network\":{\"Type\":\"host\"},\"PidHost\":true,\"IpcHost\":true,"
		    "\"Mounts\":[{\"Name\":\"m\",\"Source\":\"/data\",\"Type\":\"bind\"},"
		    "{\"Name\":\"t\",\"Source\":null,\"Type\":\"tmpfs\"}],\"Linux\":{"
		    "\"Capabilities\":[\"CAP_SYS_ADMIN\",\"CAP_NET_ADMIN\"],\"AllowAllDevices\""
		    ":true,\"Devices\":[{\"Name\":\"d\",\"Path\":\"/dev/fuse\"}]},"
		    "\"Env\":[{\"Name\":\"DEBUG\",\"Value\":\"0\"},{\"Name\":\"X\",\"Value\":null}],"
		    "\"Args\":{\"Value\":[\"-v\"]}}";

		c = pd_config_canonical(full, strlen(full), &e);
	}
	ASSERT(c != NULL, "full config decodes");
	p = pd_config_privileges(c);
	s = json_dumps(p, JSON_COMPACT);
	ASSERT_STR_EQ(s, "[{\"Name\":\"network\",\"Description\":\"permissions to access "
	    "a network\",\"Value\":[\"host\"]},{\"Name\":\"host ipc namespace\","
	    "\"Description\":\"allow access to host ipc namespace\",\"Value\":[\"true\"]},"
	    "{\"Name\":\"host pid namespace\",\"Description\":\"allow access to host pid "
	    "namespace\",\"Value\":[\"true\"]},{\"Name\":\"mount\",\"Description\":"
	    "\"host path to mount\",\"Value\":[\"/data\"]},{\"Name\":\"device\","
	    "\"Description\":\"host device to access\",\"Value\":[\"/dev/fuse\"]},"
	    "{\"Name\":\"allow-all-devices\",\"Description\":\"allow 'rwm' access to all "
	    "devices\",\"Value\":[\"true\"]},{\"Name\":\"capabilities\",\"Description\":"
	    "\"list of additional capabilities required\",\"Value\":[\"CAP_SYS_ADMIN\","
	    "\"CAP_NET_ADMIN\"]}]", "privileges: SPEC 6.1 order, names, descriptions");
	free(s);
	json_decref(p);
	st = pd_config_settings(c);
	s = json_dumps(json_object_get(st, "Env"), JSON_COMPACT);
	ASSERT_STR_EQ(s, "[\"DEBUG=0\"]", "settings: env from non-null values only");
	free(s);
	s = json_dumps(json_object_get(st, "Args"), JSON_COMPACT);
	ASSERT_STR_EQ(s, "[\"-v\"]", "settings: args from Args.Value");
	free(s);
	ASSERT(json_array_size(json_object_get(st, "Mounts")) == 2 &&
	    json_array_size(json_object_get(st, "Devices")) == 1, "settings: mounts, devices");
	json_decref(st);
	json_decref(c);

	{
		const char *b = "{\"Entrypoint\":[\"/x\"],\"Interface\":{\"Socket\":\"s\"},"
		    "\"Network\":{\"Type\":\"bridge\"}}";
		const char *n = "{\"Entrypoint\":[\"/x\"],\"Interface\":{\"Socket\":\"s\"},"
		    "\"Network\":{\"Type\":\"none\"}}";

		c = pd_config_canonical(b, strlen(b), &e);
		p = pd_config_privileges(c);
		ASSERT(json_array_size(p) == 0, "bridge network: no privilege");
		json_decref(p);
		json_decref(c);
		c = pd_config_canonical(n, strlen(n), &e);
		p = pd_config_privileges(c);
		ASSERT(json_array_size(p) == 1, "none network: a privilege (as Docker)");
		json_decref(p);
		json_decref(c);
		st = pd_config_settings(c = pd_config_canonical(b, strlen(b), &e));
		s = json_dumps(st, JSON_COMPACT);
		ASSERT_STR_EQ(s, "{\"Args\":[],\"Devices\":[],\"Env\":[],\"Mounts\":[]}",
		    "empty settings are [] not null");
		free(s);
		json_decref(st);
		json_decref(c);
	}
	{
		char *big = malloc(PD_CONFIG_MAX + 2);

		memset(big, ' ', PD_CONFIG_MAX + 1);
		ASSERT(pd_config_canonical(big, PD_CONFIG_MAX + 1, &e) == NULL &&
		    e.code == PD_E_LIMIT, "oversized config refused");
		free(big);
	}
	TAP_DONE();
}

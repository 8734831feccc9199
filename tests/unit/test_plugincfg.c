/* Plugin config decoding, canonical form, privileges and settings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugincfg.h"
#include "../tap.h"

/* The start of a minimal config, and mounts to put into one. */
#define C	"{\"Entrypoint\":[\"/x\"],\"Interface\":{\"Socket\":\"s\"},"
#define BIND(x)	"{\"Name\":\"b\",\"Source\":\"/tmp\",\"Destination\":\"/b\"," \
		"\"Type\":\"bind\"" x "}"
#define TMPFS(o) "{\"Name\":\"t\",\"Destination\":\"/t\",\"Type\":\"tmpfs\"," \
		"\"Options\":[" o "]}"

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
	/* M13 and the privilege model: clean paths, out of /proc, /sys, /dev */
	expect_err(C "\"PropagatedMount\":\"/\"}",
	    "PropagatedMount \"/\": must be a directory below /");
	expect_err(C "\"PropagatedMount\":\"//\"}", "PropagatedMount \"//\": must "
	    "be a clean path");
	expect_err(C "\"PropagatedMount\":\"/a/./b\"}", "PropagatedMount \"/a/./b\": "
	    "must be a clean path");
	expect_err(C "\"PropagatedMount\":\"/data/\"}", "PropagatedMount \"/data/\": "
	    "must be a clean path");
	expect_err(C "\"PropagatedMount\":\"data\"}", "PropagatedMount \"data\": "
	    "must be an absolute path");
	expect_err(C "\"PropagatedMount\":\"/sys/fs\"}", "PropagatedMount "
	    "\"/sys/fs\": must not be under /sys");
	expect_err(C "\"WorkDir\":\"/proc/self/fd/3\"}",
	    "WorkDir \"/proc/self/fd/3\": must not be under /proc");
	expect_err(C "\"WorkDir\":\"/a/../proc\"}", "WorkDir \"/a/../proc\": must "
	    "be a clean path");
	expect_err(C "\"WorkDir\":\"data\"}", "WorkDir \"data\": must be an "
	    "absolute path");
	expect_err(C "\"WorkDir\":\"/a\\nb\"}", "WorkDir must not contain control");
	expect_err("{\"Entrypoint\":[\"/proc/self/exe\"],\"Interface\":{\"Socket\":"
	    "\"s\"}}", "Entrypoint[0] \"/proc/self/exe\": must not be under /proc");
	expect_err("{\"Entrypoint\":[\"../bin/sh\"],\"Interface\":{\"Socket\":"
	    "\"s\"}}", "Entrypoint[0] \"../bin/sh\": must be an absolute path or a "
	    "command name");
	expect_err("{\"Entrypoint\":[\"/bin//sh\"],\"Interface\":{\"Socket\":"
	    "\"s\"}}", "Entrypoint[0] \"/bin//sh\": must be a clean path");
	{
		static const char *kernel[] = { "proc", "sysfs", "devtmpfs", "cgroup",
		    "cgroup2", "overlay", "debugfs", "mqueue", "securityfs", "bpf",
		    "tracefs", "devpts", "hugetlbfs", "nfs", "ext4", "plugindfs", "",
		    "BIND", NULL };
		char in[512], want[200];
		size_t i;

		for (i = 0; kernel[i] != NULL; i++) {
			snprintf(in, sizeof(in), C "\"Mounts\":[{\"Name\":\"hp\","
			    "\"Source\":\"\",\"Destination\":\"/hp\",\"Type\":\"%s\"}]}",
			    kernel[i]);
			snprintf(want, sizeof(want), "mount \"hp\" (Mounts[0]): type "
			    "\"%s\" is not allowed: a plugin may have bind and tmpfs "
			    "mounts only", kernel[i]);
			expect_err(in, want);
		}
	}
	expect_err(C "\"Mounts\":[" BIND(",\"Options\":[\"rbind\",\"suid\"]") "]}",
	    "mount \"b\" (Mounts[0]): bind mount option \"suid\" would honour "
	    "set-user-ID");
	expect_err(C "\"Mounts\":[" BIND(",\"Options\":[\"dev\"]") "]}",
	    "bind mount option \"dev\" would let the plugin open device nodes");
	expect_err(C "\"Mounts\":[" BIND(",\"Options\":[\"rshared\"]") "]}",
	    "bind mount option \"rshared\" would propagate");
	expect_err(C "\"Mounts\":[" BIND(",\"Options\":[\"remount\"]") "]}",
	    "bind mount option \"remount\" is not an option plugind allows");
	expect_err(C "\"Mounts\":[" BIND(",\"Options\":[\"ro,suid\"]") "]}",
	    "bind mount option \"ro,suid\" must be one non-empty option");
	expect_err(C "\"Mounts\":[" TMPFS("\"rbind\"") "]}",
	    "tmpfs mount option \"rbind\" would turn the tmpfs into a bind mount");
	expect_err(C "\"Mounts\":[" TMPFS("\"size=0\"") "]}",
	    "tmpfs mount option \"size=0\" must be a size above 0");
	expect_err(C "\"Mounts\":[" TMPFS("\"nr_inodes=0\"") "]}",
	    "tmpfs mount option \"nr_inodes=0\" must be a count above 0");
	expect_err(C "\"Mounts\":[" TMPFS("\"suid\"") "]}",
	    "tmpfs mount option \"suid\" would honour");
	expect_err(C "\"Mounts\":[" TMPFS("\"mode=999\"") "]}",
	    "tmpfs mount option \"mode=999\" must be an octal mode");
	expect_err(C "\"Mounts\":[" TMPFS("\"huge=always\"") "]}",
	    "\"huge=always\" is not an option plugind allows on a tmpfs");
	expect_err(C "\"Mounts\":[{\"Name\":\"b\",\"Source\":\"/proc\","
	    "\"Destination\":\"/x\",\"Type\":\"bind\"}]}",
	    "mount \"b\" (Mounts[0]): Source \"/proc\": must not be under /proc");
	expect_err(C "\"Mounts\":[{\"Name\":\"b\",\"Source\":\"/sys/kernel\","
	    "\"Destination\":\"/x\",\"Type\":\"bind\"}]}",
	    "Source \"/sys/kernel\": must not be under /sys");
	expect_err(C "\"Mounts\":[{\"Name\":\"b\",\"Source\":\"/a/../proc\","
	    "\"Destination\":\"/x\",\"Type\":\"bind\"}]}",
	    "Source \"/a/../proc\": must be a clean path");
	expect_err(C "\"Mounts\":[{\"Name\":\"b\",\"Source\":\"tmp\","
	    "\"Destination\":\"/x\",\"Type\":\"bind\"}]}",
	    "Source \"tmp\": must be an absolute path");
	expect_err(C "\"Mounts\":[{\"Name\":\"b\",\"Source\":\"/tmp\","
	    "\"Destination\":\"x\",\"Type\":\"bind\"}]}",
	    "mount \"b\" (Mounts[0]): Destination \"x\": must be an absolute path");
	expect_err(C "\"Mounts\":[{\"Name\":\"b\",\"Source\":\"/tmp\","
	    "\"Destination\":\"/a/..\",\"Type\":\"bind\"}]}",
	    "Destination \"/a/..\": must be a clean path");
	expect_err(C "\"Mounts\":[{\"Name\":\"b\",\"Source\":\"/tmp\","
	    "\"Destination\":\"/proc/sys\",\"Type\":\"bind\"}]}",
	    "Destination \"/proc/sys\": must not be under /proc");
	expect_err(C "\"Mounts\":[{\"Name\":\"b\",\"Source\":\"/tmp\","
	    "\"Destination\":\"/sys\",\"Type\":\"bind\"}]}",
	    "Destination \"/sys\": must not be under /sys");
	expect_err(C "\"Mounts\":[{\"Name\":\"b\",\"Source\":\"/tmp\","
	    "\"Destination\":\"/dev/shm\",\"Type\":\"bind\"}]}",
	    "Destination \"/dev/shm\": must not be under /dev");
	expect_err(C "\"Mounts\":[{\"Name\":\"b\",\"Source\":\"/tmp\","
	    "\"Destination\":\"/\",\"Type\":\"bind\"}]}",
	    "Destination \"/\": must be a directory below /");
	expect_err(C "\"Mounts\":[{\"Name\":\"b\",\"Source\":\"/tmp\","
	    "\"Type\":\"bind\"}]}", "Destination is empty");
	expect_err(C "\"Linux\":{\"Devices\":[{\"Name\":\"d\",\"Path\":"
	    "\"/dev/../dev/sda\"}]}}", "device \"d\" (Linux.Devices[0]): Path "
	    "\"/dev/../dev/sda\": must be a clean path");
	expect_err(C "\"Linux\":{\"Devices\":[{\"Name\":\"d\",\"Path\":"
	    "\"sda\"}]}}", "Path \"sda\": must be an absolute path");
	{
		const char *okp = C "\"PropagatedMount\":\"/data/..x\",\"WorkDir\":"
		    "\"/\",\"Mounts\":[{\"Name\":\"shm\",\"Destination\":\"/dev/shm\","
		    "\"Type\":\"tmpfs\",\"Options\":[\"size=1m\"]},{\"Name\":\"u\","
		    "\"Source\":null,\"Destination\":\"/u\",\"Options\":[\"rbind\"]}],"
		    "\"Linux\":{\"Devices\":[{\"Name\":\"d\",\"Path\":null}]}}";

		c = pd_config_canonical(okp, strlen(okp), &e);
		ASSERT(c != NULL, "/data/..x, WorkDir /, a tmpfs at /dev/shm, an "
		    "unset bind source and device path are fine");
		p = pd_config_privileges(c);
		s = json_dumps(p, JSON_COMPACT);
		ASSERT_STR_EQ(s, "[{\"Name\":\"mount\",\"Description\":\"memory-backed "
		    "tmpfs to mount\",\"Value\":[\"type=tmpfs\",\"source=tmpfs\","
		    "\"destination=/dev/shm\",\"options=size=1m,nosuid,nodev\"]},{"
		    "\"Name\":\"mount\",\"Description\":\"host path to mount\",\"Value\":"
		    "[\"type=bind\",\"source=\",\"destination=/u\",\"options=rbind,"
		    "nosuid,nodev\"]},{\"Name\":\"propagated mount\",\"Description\":"
		    "\"mounts the plugin makes below this path appear on the host\","
		    "\"Value\":[\"/data/..x\"]}]", "privileges: every mount whole (an "
		    "unset source shown empty), forced options shown, the propagated "
		    "mount");
		free(s);
		json_decref(p);
		json_decref(c);
	}
	{
		const char *ep = "{\"Entrypoint\":[\"volplugin\",\"../x\"],"
		    "\"Interface\":{\"Socket\":\"s\"}}";

		c = pd_config_canonical(ep, strlen(ep), &e);
		ASSERT(c != NULL, "Entrypoint[0] may be a command name (PATH lookup); "
		    "only [0] is a path");
		json_decref(c);
	}
	{
		const char *m = "{\"Type\":\"tmpfs\",\"Destination\":\"/t\","
		    "\"Options\":[\"noexec\",\"size=8m\",\"noexec\"]}";
		json_t *mj = json_loads(m, 0, NULL), *src = json_string("/x"), *eff;

		eff = pd_mount_effective(mj, src, "t", &e);
		json_decref(src);
		s = json_dumps(eff, JSON_COMPACT);
		ASSERT_STR_EQ(s, "{\"type\":\"tmpfs\",\"source\":\"tmpfs\","
		    "\"destination\":\"/t\",\"options\":[\"noexec\",\"size=8m\","
		    "\"nosuid\",\"nodev\"]}", "effective tmpfs: no host source, "
		    "duplicates dropped, its size kept, nosuid,nodev added");
		free(s);
		json_decref(eff);
		json_decref(mj);
	}

	{
		const char *full = "{\"Entrypoint\":[\"/x\"],\"Interface\":{\"Socket\":"
		    "\"s\"},\"Network\":{\"Type\":\"host\"},\"PidHost\":true,\"IpcHost\":true,"
		    "\"Mounts\":[{\"Name\":\"m\",\"Source\":\"/data\",\"Type\":\"bind\","
		    "\"Destination\":\"/m\",\"Options\":[\"ro\"]},"
		    "{\"Name\":\"t\",\"Source\":null,\"Type\":\"tmpfs\",\"Destination\":"
		    "\"/t\"}],\"Linux\":{"
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
	    "\"host path to mount\",\"Value\":[\"type=bind\",\"source=/data\","
	    "\"destination=/m\",\"options=ro,rbind,nosuid,nodev\"]},{\"Name\":"
	    "\"mount\",\"Description\":\"memory-backed tmpfs to mount\",\"Value\":"
	    "[\"type=tmpfs\",\"source=tmpfs\",\"destination=/t\",\"options="
	    "size=65536k,nosuid,nodev\"]},{\"Name\":\"device\","
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

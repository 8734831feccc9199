/*
 * GET /info: Docker's system info object (moby's api/types/system.Info)
 * from the broker's `info` and its list of enabled plugins.  The host's
 * facts come from the broker ("Host"): this process is chrooted.  What
 * plugind has no notion of (containers, images, storage drivers, swarm)
 * is zero, empty or inactive; docs/DOCKER_API.md lists every field.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "apid.h"

/* Docker's PluginsInfo lists, by the capability of a "docker." type. */
static const struct {
	const char	*cap;
	const char	*list;
} plugin_caps[] = {
	{ "volumedriver",	"Volume" },
	{ "networkdriver",	"Network" },
	{ "authz",		"Authorization" },
	{ "logdriver",		"Log" },
};
#define NCAPS	(sizeof(plugin_caps) / sizeof(plugin_caps[0]))

/* Does a type in types name cap with Docker's prefix (moby's FilterByCap)? */
static int
has_cap(const json_t *types, const char *cap)
{
	const char *s;
	size_t i, n, cl = strlen(cap);
	json_t *t;

	json_array_foreach(types, i, t) {
		if ((s = json_string_value(t)) == NULL ||
		    strncmp(s, "docker.", 7) != 0)
			continue;
		s += 7;
		n = strcspn(s, "/");
		if (n == cl && strncmp(s, cap, cl) == 0)
			return 1;
	}
	return 0;
}

static json_t *
plugins_info(const json_t *plugins)
{
	json_t *out = json_object(), *p, *name, *types;
	size_t i, k;

	for (k = 0; k < NCAPS; k++)
		json_object_set_new(out, plugin_caps[k].list, json_array());
	json_array_foreach(plugins, i, p) {
		name = json_object_get(p, "Name");
		if (!json_is_string(name) ||
		    !json_is_true(json_object_get(p, "Enabled")))
			continue;
		types = json_object_get(json_object_get(json_object_get(p,
		    "Config"), "Interface"), "Types");
		for (k = 0; k < NCAPS; k++)
			if (has_cap(types, plugin_caps[k].cap))
				json_array_append(json_object_get(out,
				    plugin_caps[k].list), name);
	}
	return out;
}

/*
 * RFC 3339 UTC by hand: glibc's gmtime_r reads /etc/localtime (tzset),
 * which the sandbox refuses.  Days to a civil date: H. Hinnant's
 * civil_from_days.
 */
static void
utc_time(time_t t, char *out, size_t len)
{
	long long days = (long long)t / 86400, secs = (long long)t % 86400;
	long long z, era, doe, yoe, y, doy, mp, d, m;

	if (secs < 0) {
		secs += 86400;
		days--;
	}
	z = days + 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	snprintf(out, len, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lldZ",
	    y + (m <= 2), m, d, secs / 3600, secs / 60 % 60, secs % 60);
}

static json_t *
host_str(const json_t *host, const char *key)
{
	const char *s = json_string_value(json_object_get(host, key));

	return json_string(s ? s : "");
}

json_t *
api_info_doc(const json_t *binfo, const json_t *plugins, time_t now)
{
	const json_t *host = json_object_get(binfo, "Host");
	const char *root = json_string_value(json_object_get(binfo, "DataRoot"));
	const char *ver = json_string_value(json_object_get(binfo,
	    "ServerVersion"));
	char stime[64];
	json_t *j;

	utc_time(now, stime, sizeof(stime));
	j = json_object();
	json_object_set_new(j, "ID", host_str(host, "ID"));
	/* plugind keeps no containers or images, and has no storage driver */
	json_object_set_new(j, "Containers", json_integer(0));
	json_object_set_new(j, "ContainersRunning", json_integer(0));
	json_object_set_new(j, "ContainersPaused", json_integer(0));
	json_object_set_new(j, "ContainersStopped", json_integer(0));
	json_object_set_new(j, "Images", json_integer(0));
	json_object_set_new(j, "Driver", json_string(""));
	json_object_set_new(j, "DriverStatus", json_array());
	json_object_set_new(j, "Plugins", plugins_info(plugins));
	json_object_set_new(j, "SystemTime", json_string(stime));
	json_object_set_new(j, "KernelVersion", host_str(host, "KernelVersion"));
	json_object_set_new(j, "OperatingSystem", host_str(host,
	    "OperatingSystem"));
	json_object_set_new(j, "OSVersion", host_str(host, "OSVersion"));
	json_object_set_new(j, "OSType", json_string("linux"));
	json_object_set_new(j, "Architecture", host_str(host, "Architecture"));
	/* a short name means Docker Hub in plugind too (common/ref.c) */
	json_object_set_new(j, "IndexServerAddress",
	    json_string("https://index.docker.io/v1/"));
	json_object_set_new(j, "NCPU", json_integer(json_integer_value(
	    json_object_get(host, "NCPU"))));
	json_object_set_new(j, "MemTotal", json_integer(json_integer_value(
	    json_object_get(host, "MemTotal"))));
	json_object_set_new(j, "DockerRootDir", json_string(root ? root : ""));
	json_object_set_new(j, "Name", host_str(host, "Name"));
	json_object_set_new(j, "Labels", json_array());
	json_object_set_new(j, "ExperimentalBuild", json_false());
	json_object_set_new(j, "ServerVersion", json_string(ver ? ver : ""));
	json_object_set_new(j, "Swarm", json_pack("{s:s, s:s, s:s, s:b, s:s, "
	    "s:n}", "NodeID", "", "NodeAddr", "", "LocalNodeState", "inactive",
	    "ControlAvailable", 0, "Error", "", "RemoteManagers"));
	json_object_set_new(j, "Warnings", json_array());
	return j;
}

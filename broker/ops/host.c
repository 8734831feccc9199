/*
 * The host facts `info` reports under "Host", which the Docker API's
 * GET /info needs (docs/DOCKER_API.md): the API process is chrooted and
 * sandboxed, so the broker reads them for it.  Each is read the way
 * Docker reads it, so that the answers agree on one machine.
 */
#include <sys/sysinfo.h>
#include <sys/utsname.h>

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ops/ops.h"
#include "digest.h"
#include "util.h"

/*
 * KEY's value in os-release as Docker reads it (moby's operatingsystem
 * package): the last KEY= line, quotes and blanks trimmed from both
 * ends; /usr/lib/os-release when /etc/os-release is missing.
 */
static void
os_release(const char *key, char *out, size_t len)
{
	char line[1024], *v, *end;
	size_t kl = strlen(key);
	FILE *f;

	out[0] = '\0';
	if ((f = fopen("/etc/os-release", "re")) == NULL &&
	    (f = fopen("/usr/lib/os-release", "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, key, kl) != 0 || line[kl] != '=')
			continue;
		line[strcspn(line, "\n")] = '\0';
		for (v = line + kl + 1; *v != '\0' && strchr("\"' ", *v); v++)
			;
		for (end = v + strlen(v); end > v && strchr("\"' ", end[-1]); end--)
			;
		snprintf(out, len, "%.*s", (int)(end - v), v);
	}
	fclose(f);
}

/*
 * A stable engine ID without new state: SHA-256 over a fixed label, the
 * machine id (the hostname when there is none) and the data root, shown
 * as a UUID.  Hashed, as systemd asks of programs that use the machine
 * id, so the id itself is not exposed; the data root keeps two brokers
 * on one host apart.
 */
static void
engine_id(const char *host, char *out, size_t len)
{
	char mid[128], dg[PD_DIGEST_BUFLEN], *in;
	const char *hex;
	FILE *f;

	mid[0] = '\0';
	if ((f = fopen("/etc/machine-id", "re")) != NULL) {
		if (fgets(mid, sizeof(mid), f) == NULL)
			mid[0] = '\0';
		mid[strcspn(mid, "\n")] = '\0';
		fclose(f);
	}
	in = xasprintf("plugind engine id\n%s\n%s\n", mid[0] ? mid : host,
	    conf.data_root);
	(void)pd_sha256_buf(in, strlen(in), dg);
	free(in);
	hex = pd_digest_hex(dg);
	snprintf(out, len, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12,
	    hex + 16, hex + 20);
}

/* A file's or the kernel's text need not be UTF-8: "" then, not NULL. */
static void
set_str(json_t *j, const char *key, const char *s)
{
	json_t *v = json_string(s);

	json_object_set_new(j, key, v ? v : json_string(""));
}

json_t *
host_facts(void)
{
	char host[256], os[256], osver[128], id[40];
	struct utsname u;
	struct sysinfo si;
	cpu_set_t cpus;
	json_int_t ncpu, mem = 0;
	json_t *j = json_object();

	if (gethostname(host, sizeof(host)) == -1)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	if (uname(&u) == -1)
		memset(&u, 0, sizeof(u));
	os_release("PRETTY_NAME", os, sizeof(os));
	os_release("VERSION_ID", osver, sizeof(osver));
	/* Docker's NCPU is Go's runtime.NumCPU(): the affinity mask. */
	if (sched_getaffinity(0, sizeof(cpus), &cpus) == 0)
		ncpu = CPU_COUNT(&cpus);
	else
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (sysinfo(&si) == 0)
		mem = (json_int_t)si.totalram * (json_int_t)si.mem_unit;
	engine_id(host, id, sizeof(id));
	set_str(j, "ID", id);
	set_str(j, "Name", host);
	set_str(j, "OperatingSystem", os[0] ? os : "Linux");
	set_str(j, "OSVersion", osver);
	set_str(j, "KernelVersion", u.release);
	set_str(j, "Architecture", u.machine);
	json_object_set_new(j, "NCPU", json_integer(ncpu));
	json_object_set_new(j, "MemTotal", json_integer(mem));
	return j;
}

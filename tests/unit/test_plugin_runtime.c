/*
 * The plugin runtime policy without a plugin: every syscall name in
 * broker/proc/plugin-seccomp.c is one libseccomp knows for some architecture
 * (runc silently ignores unknown names, so a typo would go unnoticed) or
 * one of the few that are newer than this libseccomp; capabilities widen
 * the profile and nothing else does; and the plugin-pids-limit and
 * plugin-memory-limit config values parse as documented.
 */
#include <linux/capability.h>

#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc/proc.h"
#include "../tap.h"

/* Newer than libseccomp 2.5.4 (Debian 12); runc ignores them there. */
static const char *const newer[] = { "cachestat", "fchmodat2", "futex_wait",
    "futex_wake", "futex_requeue", "map_shadow_stack", NULL };

static int
known(const char *name)
{
	static const uint32_t a[] = { SCMP_ARCH_X86_64, SCMP_ARCH_X86,
	    SCMP_ARCH_X32, SCMP_ARCH_AARCH64, SCMP_ARCH_ARM, SCMP_ARCH_S390X,
	    SCMP_ARCH_S390, SCMP_ARCH_PPC64LE, SCMP_ARCH_RISCV64 };
	size_t i;

	for (i = 0; i < sizeof(a) / sizeof(a[0]); i++)
		if (seccomp_syscall_resolve_name_arch(a[i], name) != __NR_SCMP_ERROR)
			return 1;
	for (i = 0; newer[i] != NULL; i++)
		if (strcmp(newer[i], name) == 0)
			return 1;
	return 0;
}

/* The rules of prof that name call with the given action. */
static int
rules_for(json_t *prof, const char *call, const char *action, int with_args)
{
	json_t *r, *n;
	size_t i, k;
	int count = 0;

	json_array_foreach(json_object_get(prof, "syscalls"), i, r) {
		if (strcmp(json_string_value(json_object_get(r, "action")), action) !=
		    0 || (json_object_get(r, "args") != NULL) != with_args)
			continue;
		json_array_foreach(json_object_get(r, "names"), k, n)
			if (strcmp(json_string_value(n), call) == 0)
				count++;
	}
	return count;
}

static int
load(const char *text, struct pd_err *e)
{
	char path[] = "/tmp/pd-conf.XXXXXX";
	int fd = mkstemp(path), rc;

	if (fd == -1 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return -2;
	close(fd);
	conf_release(&conf);
	conf_defaults(&conf);
	rc = conf_load_file(&conf, path, e);
	unlink(path);
	return rc;
}

int
main(void)
{
	json_t *all, *none, *admin, *r, *n;
	struct pd_err e;
	size_t i, k, bad = 0, names = 0;

	all = plugin_seccomp(~0ULL);
	none = plugin_seccomp(0);
	admin = plugin_seccomp(1ULL << CAP_SYS_ADMIN);
	json_array_foreach(json_object_get(all, "syscalls"), i, r)
		json_array_foreach(json_object_get(r, "names"), k, n) {
			names++;
			if (!known(json_string_value(n))) {
				printf("# unknown syscall name \"%s\"\n",
				    json_string_value(n));
				bad++;
			}
		}
	ASSERT(names > 300, "the profile names the allowlist and the groups");
	ASSERT_INT_EQ(bad, 0, "every name is a syscall libseccomp knows");
	ASSERT_STR_EQ(json_string_value(json_object_get(none, "defaultAction")),
	    "SCMP_ACT_ERRNO", "default action: fail");
	ASSERT_INT_EQ(json_integer_value(json_object_get(none,
	    "defaultErrnoRet")), 1, "with EPERM");
	ASSERT_INT_EQ(rules_for(none, "mount", "SCMP_ACT_ALLOW", 0), 0,
	    "no mount without CAP_SYS_ADMIN");
	ASSERT_INT_EQ(rules_for(admin, "mount", "SCMP_ACT_ALLOW", 0), 1,
	    "mount with CAP_SYS_ADMIN");
	ASSERT_INT_EQ(rules_for(none, "clone", "SCMP_ACT_ALLOW", 1), 1,
	    "clone with a flag filter without CAP_SYS_ADMIN");
	ASSERT_INT_EQ(rules_for(none, "clone", "SCMP_ACT_ALLOW", 0), 0,
	    "and no unfiltered clone");
	ASSERT_INT_EQ(rules_for(admin, "clone", "SCMP_ACT_ALLOW", 1) +
	    rules_for(admin, "clone3", "SCMP_ACT_ERRNO", 0), 0,
	    "CAP_SYS_ADMIN drops the clone filter and clone3's ENOSYS");
	ASSERT_INT_EQ(rules_for(none, "clone3", "SCMP_ACT_ERRNO", 0), 1,
	    "clone3 fails without CAP_SYS_ADMIN");
	ASSERT_INT_EQ(rules_for(all, "keyctl", "SCMP_ACT_ALLOW", 0) +
	    rules_for(all, "io_uring_setup", "SCMP_ACT_ALLOW", 0) +
	    rules_for(all, "kexec_load", "SCMP_ACT_ALLOW", 0), 0,
	    "keyctl, io_uring, kexec: not even with every capability");
	ASSERT_INT_EQ(rules_for(none, "ptrace", "SCMP_ACT_ALLOW", 0), 0,
	    "no ptrace without CAP_SYS_PTRACE");
	ASSERT_INT_EQ(rules_for(all, "ptrace", "SCMP_ACT_ALLOW", 0), 1,
	    "ptrace with it");
	ASSERT(json_array_size(json_object_get(none, "syscalls")) <
	    json_array_size(json_object_get(all, "syscalls")),
	    "capabilities widen the profile");
	json_decref(all);
	json_decref(none);
	json_decref(admin);

	ASSERT_INT_EQ(load("{}", &e), 0, "defaults load");
	ASSERT_INT_EQ(conf.plugin_pids_limit, 1024, "default pids limit");
	ASSERT_INT_EQ(conf.plugin_memory_limit, 1LL << 30, "default memory limit");
	ASSERT_INT_EQ(load("{\"plugin-memory-limit\": \"512m\", "
	    "\"plugin-pids-limit\": 64}", &e), 0, "512m and 64");
	ASSERT_INT_EQ(conf.plugin_memory_limit, 512LL << 20, "512m is 512 MiB");
	ASSERT_INT_EQ(conf.plugin_pids_limit, 64, "pids 64");
	ASSERT_INT_EQ(load("{\"plugin-memory-limit\": \"2GiB\"}", &e), 0, "2GiB");
	ASSERT_INT_EQ(conf.plugin_memory_limit, 2LL << 30, "2GiB is 2 GiB");
	ASSERT_INT_EQ(load("{\"plugin-memory-limit\": 7340032}", &e), 0, "bytes");
	ASSERT_INT_EQ(conf.plugin_memory_limit, 7340032, "7 MiB in bytes");
	ASSERT_INT_EQ(load("{\"plugin-memory-limit\": \"0\", "
	    "\"plugin-pids-limit\": -1}", &e), 0, "\"0\" and -1");
	ASSERT_INT_EQ(conf.plugin_memory_limit + conf.plugin_pids_limit, 0,
	    "mean no limit");
	ASSERT_INT_EQ(load("{\"plugin-memory-limit\": \"1.5g\"}", &e), -1,
	    "1.5g refused");
	ASSERT(strstr(e.msg, "\"plugin-memory-limit\" must be") != NULL,
	    "naming the key");
	ASSERT_INT_EQ(load("{\"plugin-memory-limit\": \"1g \"}", &e), -1,
	    "trailing garbage refused");
	ASSERT_INT_EQ(load("{\"plugin-pids-limit\": \"64\"}", &e), -1,
	    "a pids limit as a string refused");
	ASSERT(strstr(e.msg, "\"plugin-pids-limit\" must be a positive integer")
	    != NULL, "naming the key");
	ASSERT_INT_EQ(load("{\"plugin-pids-limit\": 5000000}", &e), -1,
	    "more pids than the kernel has refused");

	/* The limits table: every limit has a row, a default, a key. */
	{
		const struct pd_limit_key *lk;
		char js[256];
		size_t rows = 0;

		conf_release(&conf);
		conf_defaults(&conf);
		ASSERT(conf.limits.max_compressed == 1ULL << 30 &&
		    conf.limits.max_layer_bytes == 4ULL << 30 &&
		    conf.limits.max_file == 4ULL << 30,
		    "layer limits sized for real plugins: 1 GiB compressed, "
		    "4 GiB uncompressed and per file");
		ASSERT(conf.limits.max_ratio == 100 &&
		    conf.limits.max_entries == 100000,
		    "the bomb defences stay: ratio 100, 100000 entries");
		for (lk = pd_limit_keys; lk->key != NULL; lk++) {
			rows++;
			snprintf(js, sizeof(js), "{\"limits\": {\"%s\": 0}}",
			    lk->key);
			if (load(js, &e) != -1 || strstr(e.msg, lk->key) == NULL)
				break;
		}
		ASSERT(lk->key == NULL, "every limit key is parsed and a bad "
		    "value names it");
		ASSERT(rows >= 21, "the limits table has every limit");
		ASSERT_INT_EQ(load("{\"limits\": {\"max-bogus\": 1}}", &e), -1,
		    "an unknown limit is refused");
		ASSERT(strstr(e.msg, "unknown limit \"max-bogus\"") != NULL,
		    "naming it");
	}
	conf_release(&conf);
	return tap_failed != 0;
}

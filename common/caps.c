#include <stddef.h>
#include <strings.h>

#include "caps.h"

/* Without the "CAP_" prefix, in the kernel's order. */
static const char *cap_names[PD_CAP_COUNT] = {
	"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL",
	"SETGID", "SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE",
	"NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
	"SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
	"SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME",
	"SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL",
	"SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM",
	"BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE"
};

/* "CAP_SYS_ADMIN", "sys_admin", "SYS_ADMIN" -> 21; -1 if unknown. */
int
pd_cap_number(const char *s)
{
	int i;

	if (strncasecmp(s, "CAP_", 4) == 0)
		s += 4;
	for (i = 0; i < PD_CAP_COUNT; i++)
		if (strcasecmp(s, cap_names[i]) == 0)
			return i;
	return -1;
}

/* "SYS_ADMIN" for 21 (no prefix); NULL if n is not a capability. */
const char *
pd_cap_name(int n)
{
	return n >= 0 && n < PD_CAP_COUNT ? cap_names[n] : NULL;
}

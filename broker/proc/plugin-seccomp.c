/*
 * The seccomp profile of a plugin: the linux.seccomp object of its OCI
 * bundle, which runc loads into the plugin's first process just before
 * it executes the entrypoint (after no_new_privileges is set).  The
 * filter is inherited by everything the plugin starts and cannot be
 * removed by it.
 *
 * The policy follows the default profile Docker gives containers (moby
 * profiles/seccomp/default.json): an allowlist, every other call fails
 * with EPERM, and groups of calls that only make sense with a capability
 * are added when the plugin is granted that capability.  Since a plugin's
 * extra capabilities come from its config and are shown to the user at
 * install (Linux.Capabilities is a privilege), the user has seen every
 * widening of this profile.  Docker itself runs plugins with no seccomp
 * filter at all.
 *
 * This table is the whole policy.  docs/SANDBOX.md ("The plugin
 * runtime") lists where it differs from Docker's; tests/lifecycle/
 * test_hardening.sh checks from outside that a denied call fails inside
 * a running plugin and that a granted capability's calls work.
 *
 * Names libseccomp does not know are ignored by runc (they are newer than
 * the library, so the kernel is unlikely to be asked for them); runc also
 * answers ENOSYS for syscall numbers above the highest one the profile
 * knows, so that libc falls back from new calls.
 */
#include <linux/capability.h>

#include <stdint.h>
#include <stdio.h>

#include "proc/proc.h"

/* Architectures a group applies to. */
#define A_ANY		0u
#define A_X86		(1u << 0)	/* x86-64, x32, i386 */
#define A_X86_64	(1u << 1)	/* x86-64 and x32 only */
#define A_ARM		(1u << 2)	/* aarch64, arm */
#define A_S390		(1u << 3)
#define A_PPC		(1u << 4)
#define A_RISCV		(1u << 5)

#if defined(__x86_64__)
#define A_HOST		(A_X86 | A_X86_64)
static const char *const arches[] = { "SCMP_ARCH_X86_64", "SCMP_ARCH_X86",
    "SCMP_ARCH_X32", NULL };
#elif defined(__i386__)
#define A_HOST		A_X86
static const char *const arches[] = { "SCMP_ARCH_X86", NULL };
#elif defined(__aarch64__)
#define A_HOST		A_ARM
static const char *const arches[] = { "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM",
    NULL };
#elif defined(__arm__)
#define A_HOST		A_ARM
static const char *const arches[] = { "SCMP_ARCH_ARM", NULL };
#elif defined(__s390x__)
#define A_HOST		A_S390
static const char *const arches[] = { "SCMP_ARCH_S390X", "SCMP_ARCH_S390",
    NULL };
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define A_HOST		A_PPC
static const char *const arches[] = { "SCMP_ARCH_PPC64LE", NULL };
#elif defined(__riscv) && __riscv_xlen == 64
#define A_HOST		A_RISCV
static const char *const arches[] = { "SCMP_ARCH_RISCV64", NULL };
#else
/* The native architecture only (runc's default for an empty list). */
#define A_HOST		0u
static const char *const arches[] = { NULL };
#endif

/* clone(2) takes its flags first, except on s390 (stack first). */
#if defined(__s390x__)
#define CLONE_FLAGS_ARG	1
#else
#define CLONE_FLAGS_ARG	0
#endif

/*
 * CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC |
 * CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET, spelled out so that the
 * value does not depend on which <sched.h> defines them.
 */
#define CLONE_NEW_ANY	0x7e020000ULL
#define PD_AF_VSOCK	40
#define PD_ENOSYS	38

enum when {
	ALWAYS,		/* every plugin */
	WITH,		/* only when granted .cap */
	WITHOUT		/* only when not granted .cap (the narrow variant) */
};

struct sc_group {
	enum when		 when;
	int			 cap;
	unsigned		 arch;	/* A_ANY or the A_* it applies to */
	int			 err;	/* 0: allow; else fail with this errno */
	int			 argi;	/* -1: any arguments */
	const char		*op;	/* comparison on argument argi */
	uint64_t		 value, value2;
	const char *const	*names;
};

#define NAMES(...)	(const char *const[]){ __VA_ARGS__, NULL }
#define GROUP(w, c, a, ...) \
	{ .when = (w), .cap = (c), .arch = (a), .argi = -1, \
	    .names = NAMES(__VA_ARGS__) }
#define ALLOW(...)		GROUP(ALWAYS, -1, A_ANY, __VA_ARGS__)
#define ALLOW_ARCH(a, ...)	GROUP(ALWAYS, -1, (a), __VA_ARGS__)
#define ALLOW_CAP(c, ...)	GROUP(WITH, (c), A_ANY, __VA_ARGS__)
#define ALLOW_IF(w, c, i, o, v, v2, name) \
	{ .when = (w), .cap = (c), .arch = A_ANY, .argi = (i), .op = (o), \
	    .value = (v), .value2 = (v2), .names = NAMES(name) }
#define PERSONALITY(v) \
	ALLOW_IF(ALWAYS, -1, 0, "SCMP_CMP_EQ", (v), 0, "personality")

static const struct sc_group groups[] = {
	/*
	 * Processes and threads.  clone and clone3 are further down: their
	 * flags decide.  prctl and seccomp cannot widen anything (no new
	 * privileges is set; a filter only narrows); capset cannot leave the
	 * bounding set runc gave.
	 */
	ALLOW("fork", "vfork", "execve", "execveat", "exit", "exit_group",
	    "wait4", "waitid", "waitpid", "getpid", "getppid", "gettid",
	    "getpgid", "getpgrp", "setpgid", "getsid", "setsid",
	    "set_tid_address", "set_robust_list", "get_robust_list", "rseq",
	    "prctl", "seccomp", "capget", "capset", "getpriority",
	    "setpriority", "sched_yield", "sched_getaffinity",
	    "sched_setaffinity", "sched_getattr", "sched_setattr",
	    "sched_getparam", "sched_setparam", "sched_getscheduler",
	    "sched_setscheduler", "sched_get_priority_max",
	    "sched_get_priority_min", "sched_rr_get_interval",
	    "sched_rr_get_interval_time64", "ioprio_get", "ioprio_set",
	    "getrlimit", "setrlimit", "ugetrlimit", "prlimit64", "getrusage",
	    "times", "getcpu", "membarrier", "sysinfo", "uname", "pidfd_open",
	    "pidfd_send_signal", "process_mrelease", "restart_syscall",
	    "landlock_create_ruleset", "landlock_add_rule",
	    "landlock_restrict_self"),
	/* Credentials: a plugin is root, these only ever drop or keep. */
	ALLOW("getuid", "getuid32", "geteuid", "geteuid32", "getgid",
	    "getgid32", "getegid", "getegid32", "getgroups", "getgroups32",
	    "getresuid", "getresuid32", "getresgid", "getresgid32", "setuid",
	    "setuid32", "setgid", "setgid32", "setreuid", "setreuid32",
	    "setregid", "setregid32", "setresuid", "setresuid32", "setresgid",
	    "setresgid32", "setfsuid", "setfsuid32", "setfsgid", "setfsgid32",
	    "setgroups", "setgroups32"),
	/* Memory.  mlock* also need CAP_IPC_LOCK beyond RLIMIT_MEMLOCK. */
	ALLOW("brk", "mmap", "mmap2", "munmap", "mremap", "mprotect",
	    "madvise", "mincore", "msync", "mlock", "mlock2", "mlockall",
	    "munlock", "munlockall", "remap_file_pages", "memfd_create",
	    "memfd_secret", "pkey_alloc", "pkey_free", "pkey_mprotect",
	    "map_shadow_stack"),
	/* Signals. */
	ALLOW("kill", "tkill", "tgkill", "rt_sigaction", "rt_sigpending",
	    "rt_sigprocmask", "rt_sigqueueinfo", "rt_tgsigqueueinfo",
	    "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
	    "rt_sigtimedwait_time64", "sigaltstack", "sigreturn",
	    "sigprocmask", "signalfd", "signalfd4", "pause", "alarm"),
	/*
	 * Time and timers.  adjtimex and clock_adjtime only read the clock
	 * without CAP_SYS_TIME; setting it is the CAP_SYS_TIME group.
	 */
	ALLOW("clock_gettime", "clock_gettime64", "clock_getres",
	    "clock_getres_time64", "clock_nanosleep", "clock_nanosleep_time64",
	    "nanosleep", "gettimeofday", "time", "adjtimex", "clock_adjtime",
	    "clock_adjtime64", "getitimer", "setitimer", "timer_create",
	    "timer_delete", "timer_getoverrun", "timer_gettime",
	    "timer_gettime64", "timer_settime", "timer_settime64",
	    "timerfd_create", "timerfd_gettime", "timerfd_gettime64",
	    "timerfd_settime", "timerfd_settime64"),
	/*
	 * Files by path.  What a plugin may reach is decided by its mounts;
	 * mknod by the devices cgroup.
	 */
	ALLOW("open", "openat", "openat2", "creat", "access", "faccessat",
	    "faccessat2", "stat", "stat64", "lstat", "lstat64", "newfstatat",
	    "fstatat64", "statx", "statfs", "statfs64", "readlink",
	    "readlinkat", "chdir", "getcwd", "mkdir", "mkdirat", "mknod",
	    "mknodat", "rmdir", "unlink", "unlinkat", "rename", "renameat",
	    "renameat2", "link", "linkat", "symlink", "symlinkat", "chmod",
	    "fchmodat", "fchmodat2", "chown", "chown32", "lchown", "lchown32",
	    "fchownat", "truncate", "truncate64", "utime", "utimes",
	    "utimensat", "utimensat_time64", "futimesat", "umask", "getxattr",
	    "lgetxattr", "setxattr", "lsetxattr", "listxattr", "llistxattr",
	    "removexattr", "lremovexattr", "name_to_handle_at"),
	/* Files by descriptor, pipes and splicing. */
	ALLOW("read", "write", "readv", "writev", "pread64", "pwrite64",
	    "preadv", "preadv2", "pwritev", "pwritev2", "lseek", "_llseek",
	    "close", "close_range", "dup", "dup2", "dup3", "fcntl", "fcntl64",
	    "ioctl", "flock", "fstat", "fstat64", "fstatfs", "fstatfs64",
	    "fsync", "fdatasync", "syncfs", "sync", "sync_file_range",
	    "ftruncate", "ftruncate64", "fallocate", "fadvise64",
	    "fadvise64_64", "readahead", "fchdir", "fchmod", "fchown",
	    "fchown32", "fgetxattr", "fsetxattr", "flistxattr", "fremovexattr",
	    "getdents", "getdents64", "sendfile", "sendfile64", "splice",
	    "tee", "vmsplice", "copy_file_range", "cachestat", "pipe", "pipe2"),
	/*
	 * Waiting: poll, epoll, eventfd, inotify, futexes.  fanotify_mark
	 * is useless without fanotify_init (CAP_SYS_ADMIN).
	 */
	ALLOW("poll", "ppoll", "ppoll_time64", "select", "_newselect",
	    "pselect6", "pselect6_time64", "epoll_create", "epoll_create1",
	    "epoll_ctl", "epoll_ctl_old", "epoll_wait", "epoll_wait_old",
	    "epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2",
	    "inotify_init", "inotify_init1", "inotify_add_watch",
	    "inotify_rm_watch", "fanotify_mark", "futex", "futex_time64",
	    "futex_waitv", "futex_wait", "futex_wake", "futex_requeue"),
	/*
	 * Linux AIO.  The io_uring_* calls are left out (denied): a ring
	 * performs operations seccomp never sees, and io_uring has been a
	 * steady source of kernel exploits (moby removed it in #46762).
	 */
	ALLOW("io_setup", "io_destroy", "io_submit", "io_cancel",
	    "io_getevents", "io_pgetevents", "io_pgetevents_time64"),
	/*
	 * Sockets.  socket() itself is below: every family but AF_VSOCK,
	 * which reaches the hypervisor.  socketcall (the i386 multiplexer)
	 * hides its arguments in memory and stays allowed as in Docker, so
	 * a 32-bit plugin is not held to the AF_VSOCK rule.
	 */
	ALLOW("accept", "accept4", "bind", "connect", "listen", "getsockname",
	    "getpeername", "getsockopt", "setsockopt", "recv", "recvfrom",
	    "recvmsg", "recvmmsg", "recvmmsg_time64", "send", "sendto",
	    "sendmsg", "sendmmsg", "shutdown", "socketpair", "socketcall"),
	ALLOW_IF(ALWAYS, -1, 0, "SCMP_CMP_NE", PD_AF_VSOCK, 0, "socket"),
	/* System V and POSIX IPC, inside the plugin's IPC namespace. */
	ALLOW("ipc", "msgctl", "msgget", "msgrcv", "msgsnd", "semctl",
	    "semget", "semop", "semtimedop", "semtimedop_time64", "shmat",
	    "shmctl", "shmdt", "shmget", "mq_open", "mq_unlink",
	    "mq_getsetattr", "mq_notify", "mq_timedreceive",
	    "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64"),
	ALLOW("getrandom"),
	/*
	 * personality: only PER_LINUX, PER_LINUX32, either with
	 * UNAME26, and the query 0xffffffff.  Other personalities change
	 * what the kernel does for the process (READ_IMPLIES_EXEC,
	 * ADDR_NO_RANDOMIZE...).
	 */
	PERSONALITY(0x0), PERSONALITY(0x8), PERSONALITY(0x20000),
	PERSONALITY(0x20008), PERSONALITY(0xffffffffULL),
	/* Per-architecture calls libc needs (TLS, LDT, cache flushes). */
	ALLOW_ARCH(A_X86_64, "arch_prctl"),
	ALLOW_ARCH(A_X86, "modify_ldt", "get_thread_area", "set_thread_area"),
	ALLOW_ARCH(A_ARM, "arm_fadvise64_64", "arm_sync_file_range",
	    "sync_file_range2", "breakpoint", "cacheflush", "set_tls"),
	ALLOW_ARCH(A_S390, "s390_pci_mmio_read", "s390_pci_mmio_write",
	    "s390_runtime_instr"),
	ALLOW_ARCH(A_PPC, "sync_file_range2", "swapcontext"),
	ALLOW_ARCH(A_RISCV, "riscv_flush_icache"),

	/*
	 * clone without CAP_SYS_ADMIN: no CLONE_NEW* flag, so no new
	 * namespace (a user namespace would hand out a fresh full set of
	 * capabilities over kernel code that is otherwise out of reach).
	 * clone3 keeps its flags in memory where seccomp cannot look: it
	 * answers ENOSYS, and glibc (2.34+) falls back to clone.
	 */
	ALLOW_IF(WITHOUT, CAP_SYS_ADMIN, CLONE_FLAGS_ARG, "SCMP_CMP_MASKED_EQ",
	    CLONE_NEW_ANY, 0, "clone"),
	{ .when = WITHOUT, .cap = CAP_SYS_ADMIN, .arch = A_ANY,
	    .err = PD_ENOSYS, .argi = -1, .names = NAMES("clone3") },

	/*
	 * CAP_SYS_ADMIN: mounts (old and new API), namespaces, host and
	 * domain names, quotas, fanotify, and the BPF/perf/syslog calls
	 * CAP_SYS_ADMIN also governs.  A volume plugin needs mount.
	 */
	ALLOW_CAP(CAP_SYS_ADMIN, "clone", "clone3", "mount", "umount",
	    "umount2", "fsopen", "fsconfig", "fsmount", "fspick", "open_tree",
	    "move_mount", "mount_setattr", "unshare", "setns", "sethostname",
	    "setdomainname", "quotactl", "quotactl_fd", "fanotify_init",
	    "lookup_dcookie", "bpf", "perf_event_open", "syslog"),
	/* CAP_DAC_READ_SEARCH: open a file from a handle (shocker, 2014). */
	ALLOW_CAP(CAP_DAC_READ_SEARCH, "open_by_handle_at"),
	/*
	 * CAP_SYS_PTRACE: reading and writing other processes.  Docker
	 * allows ptrace and process_vm_* to every container on kernels
	 * >= 4.8; a plugin gets them only with CAP_SYS_PTRACE granted.
	 */
	ALLOW_CAP(CAP_SYS_PTRACE, "ptrace", "process_vm_readv",
	    "process_vm_writev", "process_madvise", "kcmp", "pidfd_getfd"),
	ALLOW_CAP(CAP_SYS_MODULE, "init_module", "finit_module",
	    "delete_module"),
	ALLOW_CAP(CAP_SYS_BOOT, "reboot"),
	ALLOW_CAP(CAP_SYS_CHROOT, "chroot"),
	ALLOW_CAP(CAP_SYS_PACCT, "acct"),
	ALLOW_CAP(CAP_SYS_RAWIO, "iopl", "ioperm"),
	ALLOW_CAP(CAP_SYS_TIME, "settimeofday", "stime", "clock_settime",
	    "clock_settime64"),
	ALLOW_CAP(CAP_SYS_TTY_CONFIG, "vhangup"),
	/* CAP_SYS_NICE: NUMA memory policy. */
	ALLOW_CAP(CAP_SYS_NICE, "get_mempolicy", "set_mempolicy",
	    "set_mempolicy_home_node", "mbind"),
	ALLOW_CAP(CAP_SYSLOG, "syslog"),
	ALLOW_CAP(CAP_BPF, "bpf"),
	ALLOW_CAP(CAP_PERFMON, "perf_event_open"),
};

static int
applies(const struct sc_group *g, uint64_t caps)
{
	int has = g->cap >= 0 && g->cap < 64 && (caps >> g->cap & 1);

	if (g->arch != A_ANY && (g->arch & A_HOST) == 0)
		return 0;
	switch (g->when) {
	case WITH:
		return has;
	case WITHOUT:
		return !has;
	default:
		return 1;
	}
}

/*
 * The linux.seccomp object for a plugin whose effective capabilities are
 * the set bits of caps (bit n: capability n).
 */
json_t *
plugin_seccomp(uint64_t caps)
{
	const struct sc_group *g;
	json_t *prof, *rules, *names, *rule, *a;
	size_t i, k;

	a = json_array();
	for (k = 0; arches[k] != NULL; k++)
		json_array_append_new(a, json_string(arches[k]));
	rules = json_array();
	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		g = &groups[i];
		if (!applies(g, caps))
			continue;
		names = json_array();
		for (k = 0; g->names[k] != NULL; k++)
			json_array_append_new(names, json_string(g->names[k]));
		if (g->err != 0)
			rule = json_pack("{s:o, s:s, s:i}", "names", names, "action",
			    "SCMP_ACT_ERRNO", "errnoRet", g->err);
		else
			rule = json_pack("{s:o, s:s}", "names", names, "action",
			    "SCMP_ACT_ALLOW");
		if (g->argi >= 0)
			json_object_set_new(rule, "args", json_pack("[{s:i, s:I, s:I, "
			    "s:s}]", "index", g->argi, "value", (json_int_t)g->value,
			    "valueTwo", (json_int_t)g->value2, "op", g->op));
		json_array_append_new(rules, rule);
	}
	prof = json_pack("{s:s, s:i, s:o, s:o}", "defaultAction",
	    "SCMP_ACT_ERRNO", "defaultErrnoRet", 1, "architectures", a,
	    "syscalls", rules);
	return prof;
}

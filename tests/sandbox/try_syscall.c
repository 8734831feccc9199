/*
 * try_syscall: check the seccomp policy from the outside, one syscall at
 * a time (the idea of bubblewrap's tests/try-syscall.c).
 *
 *	try_syscall [--drop UID] [--root DIR] ROLE PROBE
 *	try_syscall --list ROLE		print the role's rules
 *	try_syscall --count ROLE	print "ALLOWED SOFTDENIED SANALLOWED
 *					SANSOFTDENIED" (the last two: only
 *					in a SANITIZE=1 build, else 0)
 *	try_syscall --probes		print the probe names
 *
 * ROLE is fetcher, extractor, api, logger, gateway, or none (no sandbox: a baseline showing the
 * probe itself runs).  The program forks; the child optionally drops
 * privileges (pd_privdrop to UID, chrooted into DIR if given), applies
 * pd_sandbox_apply(ROLE) and makes the call with harmless arguments (bad
 * fds, NULL pointers, paths under /nonexistent-pd), so nothing happens even
 * unsandboxed as root.  The parent prints one line
 *	try_syscall ROLE PROBE: exit N		(0 ran, 2 soft-denied, 1 setup)
 *	try_syscall ROLE PROBE: signal N	(31 = SIGSYS: killed by seccomp)
 * and then ends the same way as the child did (exit N or the signal).
 *
 * "Soft-denied" means the call failed with the errno the policy documents
 * for it (the probe's softerr); any other result means the call ran.
 */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <linux/openat2.h>
#include <linux/vm_sockets.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "error.h"
#include "privdrop.h"
#include "role.h"
#include "sandbox.h"

#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT	0x40000000
#endif

#define NOPATH		"/nonexistent-pd"
#define NOPATH2		"/nonexistent-pd/x"

struct probe {
	const char	*name;
	long		(*fn)(void);
	int		 softerr;	/* errno of the policy's soft-deny */
};

static long
p_getpid(void)
{
	return getpid();
}

static long
p_mmap_rw(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? -1 : munmap(p, 4096);
}

static long
p_mmap_exec(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? -1 : munmap(p, 4096);
}

static long
p_mprotect_exec(void)
{
	void *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
	    -1, 0);

	if (p == MAP_FAILED)
		return -1;
	return mprotect(p, 4096, PROT_READ | PROT_EXEC);
}

/* getpid with the x32 bit set: a foreign ABI for an x86-64 filter. */
static long
p_x32_getpid(void)
{
	return syscall(__X32_SYSCALL_BIT | SYS_getpid);
}

/* getpid (20) through the i386 entry: AUDIT_ARCH_I386. */
static long
p_i386_getpid(void)
{
	long r;

	__asm__ volatile ("int $0x80" : "=a" (r) : "0" (20L)
	    : "r8", "r9", "r10", "r11", "memory");
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

static long
p_recvmsg_channel(void)
{
	struct msghdr mh;

	memset(&mh, 0, sizeof(mh));
	return recvmsg(PD_SANDBOX_CHANNEL_FD, &mh, MSG_DONTWAIT);
}

static long
p_recvmsg_other(void)
{
	struct msghdr mh;

	memset(&mh, 0, sizeof(mh));
	return recvmsg(PD_SANDBOX_CHANNEL_FD + 1, &mh, MSG_DONTWAIT);
}

static long
p_sendmsg_other(void)
{
	struct msghdr mh;

	memset(&mh, 0, sizeof(mh));
	return sendmsg(PD_SANDBOX_CHANNEL_FD + 1, &mh, MSG_DONTWAIT);
}

static long
p_prlimit_get(void)
{
	struct rlimit rl;

	return getrlimit(RLIMIT_NOFILE, &rl);
}

static long
p_prlimit_set(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return -1;
	return setrlimit(RLIMIT_NOFILE, &rl);
}

/* On fd -1 the kernel says EBADF; the soft-deny says ENOTTY. */
static long
p_ioctl_tcgets(void)
{
	struct termios t;

	return ioctl(-1, TCGETS, &t);
}

static long
p_ioctl_fionread(void)
{
	int n;

	return ioctl(-1, FIONREAD, &n);
}

static long
p_ioctl_other(void)
{
	char c = 0;

	return ioctl(-1, TIOCSTI, &c);
}

static long
p_tgkill_self(void)
{
	return syscall(SYS_tgkill, getpid(), getpid(), 0);
}

static long
p_tgkill_other(void)
{
	return syscall(SYS_tgkill, 1, 1, 0);
}

static long
p_kill(void)
{
	return kill(getpid(), 0);
}

static long
p_sysinfo(void)
{
	return syscall(SYS_sysinfo, NULL);
}

static long
sock(int dom, int type, int proto)
{
	int fd = socket(dom, type | SOCK_CLOEXEC, proto);

	return fd == -1 ? -1 : close(fd);
}

static long
p_socket_inet(void)
{
	return sock(AF_INET, SOCK_STREAM, 0);
}

static long
p_socket_tcp(void)
{
	return sock(AF_INET, SOCK_STREAM, IPPROTO_TCP);
}

static long
p_socket_inet6(void)
{
	return sock(AF_INET6, SOCK_STREAM, 0);
}

static long
p_socket_udp(void)
{
	return sock(AF_INET, SOCK_DGRAM, 0);
}

static long
p_socket_udp6(void)
{
	return sock(AF_INET6, SOCK_DGRAM, IPPROTO_UDP);
}

static long
p_socket_raw(void)
{
	return sock(AF_INET, SOCK_RAW, IPPROTO_ICMP);
}

static long
p_socket_icmp(void)
{
	return sock(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
}

static long
p_socket_sctp(void)
{
	return sock(AF_INET, SOCK_STREAM, IPPROTO_SCTP);
}

static long
p_socket_unix(void)
{
	return sock(AF_UNIX, SOCK_STREAM, 0);
}

static long
p_socket_netlink(void)
{
	return sock(AF_NETLINK, SOCK_RAW, 0);
}

static long
p_socket_packet(void)
{
	return sock(AF_PACKET, SOCK_DGRAM, 0);
}

static long
p_socket_vsock(void)
{
	return sock(AF_VSOCK, SOCK_STREAM, 0);
}

static long
p_socketpair_unix(void)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		return -1;
	close(sv[0]);
	return close(sv[1]);
}

static long
p_socket_unix_dgram(void)
{
	return sock(AF_UNIX, SOCK_DGRAM, 0);
}

/* accept4 on fd 4 (the gateway's listening socket: not open here) */
static long
p_accept4_fd4(void)
{
	return accept4(4, NULL, NULL, SOCK_CLOEXEC);
}

static long
p_accept4_other(void)
{
	return accept4(-1, NULL, NULL, SOCK_CLOEXEC);
}

static long
p_connect(void)
{
	struct sockaddr sa;

	memset(&sa, 0, sizeof(sa));
	return connect(-1, &sa, sizeof(sa));
}

static long
p_open_rdonly(void)
{
	return openat(AT_FDCWD, NOPATH, O_RDONLY | O_CLOEXEC);
}

static long
p_open_write(void)
{
	return openat(AT_FDCWD, NOPATH2, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
}

static long
p_open_trunc(void)
{
	return openat(AT_FDCWD, NOPATH2, O_RDONLY | O_TRUNC | O_CLOEXEC);
}

static long
p_open_tmpfile(void)
{
	return openat(AT_FDCWD, NOPATH, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
}

static long
p_open_legacy(void)
{
	return syscall(SYS_open, NOPATH, O_RDONLY);
}

static long
p_openat2(void)
{
	struct open_how how;

	memset(&how, 0, sizeof(how));
	how.flags = O_RDONLY | O_CLOEXEC;
	how.resolve = RESOLVE_IN_ROOT;
	return syscall(SYS_openat2, AT_FDCWD, NOPATH, &how, sizeof(how));
}

static long
p_mkdirat(void)
{
	return mkdirat(AT_FDCWD, NOPATH2, 0700);
}

static long
p_mkdir_legacy(void)
{
	return syscall(SYS_mkdir, NOPATH2, 0700);
}

static long
p_symlinkat(void)
{
	return symlinkat("x", AT_FDCWD, NOPATH2);
}

static long
p_linkat(void)
{
	return linkat(AT_FDCWD, NOPATH, AT_FDCWD, NOPATH2, 0);
}

static long
p_unlinkat(void)
{
	return unlinkat(AT_FDCWD, NOPATH2, 0);
}

static long
p_renameat(void)
{
	return syscall(SYS_renameat, AT_FDCWD, NOPATH, AT_FDCWD, NOPATH2);
}

static long
p_renameat2(void)
{
	return syscall(SYS_renameat2, AT_FDCWD, NOPATH, AT_FDCWD, NOPATH2, 0);
}

static long
p_fchownat(void)
{
	return fchownat(AT_FDCWD, NOPATH, 0, 0, AT_SYMLINK_NOFOLLOW);
}

static long
p_fchmodat(void)
{
	return fchmodat(AT_FDCWD, NOPATH, 0600, 0);
}

static long
p_chmod_legacy(void)
{
	return syscall(SYS_chmod, NOPATH, 0600);
}

static long
p_chown_legacy(void)
{
	return syscall(SYS_chown, NOPATH, 0, 0);
}

static long
p_utimensat(void)
{
	return utimensat(AT_FDCWD, NOPATH, NULL, 0);
}

static long
p_getdents64(void)
{
	char b[256];

	return syscall(SYS_getdents64, -1, b, sizeof(b));
}

static long
p_mknod_fifo(void)
{
	return mknodat(AT_FDCWD, NOPATH2, S_IFIFO | 0600, 0);
}

static long
p_mknod_chr(void)
{
	return mknodat(AT_FDCWD, NOPATH2, S_IFCHR | 0600, makedev(1, 3));
}

static long
p_uname(void)
{
	return syscall(SYS_uname, NULL);
}

static long
p_fchdir(void)
{
	return fchdir(-1);
}

static long
p_chdir(void)
{
	return chdir(NOPATH);
}

static long
p_dup(void)
{
	return dup(-1);
}

static long
p_pipe2(void)
{
	return syscall(SYS_pipe2, NULL, 0);
}

/* the API process's pipe for `create` bodies: only with O_CLOEXEC */
static long
p_pipe2_cloexec(void)
{
	return syscall(SYS_pipe2, NULL, O_CLOEXEC);
}

static long
p_umask(void)
{
	return (long)umask(022);
}

static void *
thread_main(void *arg)
{
	return arg;
}

static long
p_clone_thread(void)
{
	pthread_t t;
	int r;

	if ((r = pthread_create(&t, NULL, thread_main, NULL)) != 0) {
		errno = r;
		return -1;
	}
	return pthread_join(t, NULL);
}

static long
p_clone3(void)
{
	return syscall(SYS_clone3, NULL, 0);
}

/* A new process: the child leaves at once, the parent does not wait. */
static long
p_clone_process(void)
{
	long r = syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, 0);

	if (r == 0)
		_exit(0);
	return r;
}

static long
p_clone_newuser(void)
{
	long r = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL,
	    NULL, 0);

	if (r == 0)
		_exit(0);
	return r;
}

static long
p_fork(void)
{
	pid_t p = fork();

	if (p == 0)
		_exit(0);
	return p;
}

static long
p_execve(void)
{
	char *const argv[] = { NULL };

	return execve(NOPATH, argv, argv);
}

static long
p_execveat(void)
{
	char *const argv[] = { NULL };

	return syscall(SYS_execveat, AT_FDCWD, NOPATH, argv, argv, 0);
}

static long
p_wait4(void)
{
	return syscall(SYS_wait4, -1, NULL, WNOHANG, NULL);
}

static long
p_ptrace(void)
{
	return syscall(SYS_ptrace, 2 /* PEEKDATA */, 0, 0, 0);
}

static long
p_process_vm_readv(void)
{
	return syscall(SYS_process_vm_readv, getpid(), NULL, 0, NULL, 0, 0);
}

static long
p_process_vm_writev(void)
{
	return syscall(SYS_process_vm_writev, getpid(), NULL, 0, NULL, 0, 0);
}

static long
p_mount(void)
{
	return syscall(SYS_mount, NULL, NULL, NULL, 0, NULL);
}

static long
p_umount2(void)
{
	return syscall(SYS_umount2, NOPATH, 0);
}

static long
p_pivot_root(void)
{
	return syscall(SYS_pivot_root, NOPATH, NOPATH2);
}

static long
p_chroot(void)
{
	return chroot(NOPATH);
}

static long
p_unshare(void)
{
	return unshare(0);
}

static long
p_setns(void)
{
	return setns(-1, 0);
}

static long
p_setuid(void)
{
	return syscall(SYS_setuid, getuid());
}

static long
p_setgid(void)
{
	return syscall(SYS_setgid, getgid());
}

static long
p_setgroups(void)
{
	return syscall(SYS_setgroups, 0, NULL);
}

static long
p_capset(void)
{
	return syscall(SYS_capset, NULL, NULL);
}

static long
p_prctl(void)
{
	return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
}

static long
p_seccomp(void)
{
	return syscall(SYS_seccomp, 1 /* FILTER */, 0, NULL);
}

static long
p_personality(void)
{
	return syscall(SYS_personality, 0xffffffffUL);
}
/* Wrong architecture and too many segments: EINVAL, never an unload. */
static long
p_kexec_load(void)
{
	return syscall(SYS_kexec_load, 0, 1000, NULL, 40UL << 16);
}

static long
p_kexec_file_load(void)
{
	return syscall(SYS_kexec_file_load, -1, -1, 0, NULL, 0);
}

static long
p_init_module(void)
{
	return syscall(SYS_init_module, NULL, 0, "");
}

static long
p_finit_module(void)
{
	return syscall(SYS_finit_module, -1, "", 0);
}

static long
p_delete_module(void)
{
	return syscall(SYS_delete_module, "pd_nonexistent", O_NONBLOCK);
}

static long
p_bpf(void)
{
	return syscall(SYS_bpf, -1, NULL, 0);
}

static long
p_keyctl(void)
{
	return syscall(SYS_keyctl, -1, 0, 0, 0, 0);
}

static long
p_add_key(void)
{
	return syscall(SYS_add_key, NULL, NULL, NULL, 0, 0);
}

static long
p_request_key(void)
{
	return syscall(SYS_request_key, NULL, NULL, NULL, 0);
}

static long
p_perf_event_open(void)
{
	return syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0);
}

static long
p_io_uring_setup(void)
{
	return syscall(SYS_io_uring_setup, 0, NULL);
}

static long
p_userfaultfd(void)
{
	return syscall(SYS_userfaultfd, 0xffff);
}

static long
p_memfd_create(void)
{
	return syscall(SYS_memfd_create, NULL, 0);
}

static long
p_reboot(void)
{
	return syscall(SYS_reboot, 0, 0, 0, NULL);
}

static long
p_swapon(void)
{
	return syscall(SYS_swapon, NOPATH, 0);
}

static long
p_acct(void)
{
	return syscall(SYS_acct, NOPATH);
}

static long
p_clock_settime(void)
{
	return syscall(SYS_clock_settime, CLOCK_REALTIME, NULL);
}

static long
p_syslog(void)
{
	return syscall(SYS_syslog, 10 /* SIZE_BUFFER */, NULL, 0);
}

static long
p_open_by_handle_at(void)
{
	return syscall(SYS_open_by_handle_at, -1, NULL, 0);
}

static long
p_name_to_handle_at(void)
{
	return syscall(SYS_name_to_handle_at, -1, NULL, NULL, NULL, 0);
}

static long
p_fanotify_init(void)
{
	return syscall(SYS_fanotify_init, 0xffffffffU, 0);
}

static long
p_inotify_init1(void)
{
	return syscall(SYS_inotify_init1, -1);
}

static long
p_pidfd_open(void)
{
	return syscall(SYS_pidfd_open, -1, 0);
}

static long
p_pidfd_getfd(void)
{
	return syscall(SYS_pidfd_getfd, -1, -1, 0);
}

static long
p_fsopen(void)
{
	return syscall(SYS_fsopen, NULL, 0);
}

static long
p_move_mount(void)
{
	return syscall(SYS_move_mount, -1, NULL, -1, NULL, 0);
}

static long
p_iopl(void)
{
	return syscall(SYS_iopl, 0);
}

static long
p_ioperm(void)
{
	return syscall(SYS_ioperm, 0, 0, 0);
}

static long
p_modify_ldt(void)
{
	return syscall(SYS_modify_ldt, 0, NULL, 0);
}

static long
p_vmsplice(void)
{
	return syscall(SYS_vmsplice, -1, NULL, 0, 0);
}

static long
p_landlock(void)
{
	return syscall(SYS_landlock_create_ruleset, NULL, 0, 1);
}

#define P(n, f, e)	{ (n), (f), (e) }

static const struct probe probes[] = {
	P("getpid", p_getpid, 0),
	P("mmap-rw", p_mmap_rw, 0),
	P("mmap-exec", p_mmap_exec, 0),
	P("mprotect-exec", p_mprotect_exec, 0),
	P("x32-getpid", p_x32_getpid, 0),
	P("i386-getpid", p_i386_getpid, 0),
	P("recvmsg-channel", p_recvmsg_channel, 0),
	P("recvmsg-other", p_recvmsg_other, 0),
	P("sendmsg-other", p_sendmsg_other, 0),
	P("prlimit-get", p_prlimit_get, 0),
	P("prlimit-set", p_prlimit_set, EPERM),
	P("ioctl-tcgets", p_ioctl_tcgets, ENOTTY),
	P("ioctl-fionread", p_ioctl_fionread, 0),
	P("ioctl-other", p_ioctl_other, 0),
	P("tgkill-self", p_tgkill_self, 0),
	P("tgkill-other", p_tgkill_other, 0),
	P("kill", p_kill, 0),
	P("sysinfo", p_sysinfo, 0),
	P("socket-inet", p_socket_inet, 0),
	P("socket-tcp", p_socket_tcp, 0),
	P("socket-inet6", p_socket_inet6, 0),
	P("socket-udp", p_socket_udp, 0),
	P("socket-udp6", p_socket_udp6, 0),
	P("socket-raw", p_socket_raw, 0),
	P("socket-icmp", p_socket_icmp, 0),
	P("socket-sctp", p_socket_sctp, 0),
	P("socket-unix", p_socket_unix, EACCES),
	P("socket-netlink", p_socket_netlink, EACCES),
	P("socket-packet", p_socket_packet, 0),
	P("socket-vsock", p_socket_vsock, 0),
	P("socketpair-unix", p_socketpair_unix, 0),
	P("socket-unix-dgram", p_socket_unix_dgram, EACCES),
	P("accept4-fd4", p_accept4_fd4, 0),
	P("accept4-other", p_accept4_other, 0),
	P("connect", p_connect, 0),
	P("open-rdonly", p_open_rdonly, 0),
	P("open-write", p_open_write, 0),
	P("open-trunc", p_open_trunc, 0),
	P("open-tmpfile", p_open_tmpfile, 0),
#ifdef PD_SANITIZE
	P("open-legacy", p_open_legacy, EACCES),	/* sanitizer soft-deny */
#else
	P("open-legacy", p_open_legacy, 0),
#endif
	P("openat2", p_openat2, 0),
	P("mkdirat", p_mkdirat, 0),
	P("mkdir-legacy", p_mkdir_legacy, 0),
	P("symlinkat", p_symlinkat, 0),
	P("linkat", p_linkat, 0),
	P("unlinkat", p_unlinkat, 0),
	P("renameat", p_renameat, 0),
	P("renameat2", p_renameat2, 0),
	P("fchownat", p_fchownat, 0),
	P("fchmodat", p_fchmodat, 0),
	P("chmod-legacy", p_chmod_legacy, 0),
	P("chown-legacy", p_chown_legacy, 0),
	P("utimensat", p_utimensat, 0),
	P("getdents64", p_getdents64, 0),
	P("mknod-fifo", p_mknod_fifo, 0),
	P("mknod-chr", p_mknod_chr, EPERM),
	P("uname", p_uname, 0),
	P("fchdir", p_fchdir, 0),
	P("chdir", p_chdir, 0),
	P("dup", p_dup, 0),
	P("pipe2", p_pipe2, 0),
	P("pipe2-cloexec", p_pipe2_cloexec, 0),
	P("umask", p_umask, 0),
	P("clone-thread", p_clone_thread, 0),
	P("clone3", p_clone3, ENOSYS),
	P("clone-process", p_clone_process, 0),
	P("clone-newuser", p_clone_newuser, 0),
	P("fork", p_fork, 0),
	P("execve", p_execve, 0),
	P("execveat", p_execveat, 0),
	P("wait4", p_wait4, 0),
	P("ptrace", p_ptrace, 0),
	P("process_vm_readv", p_process_vm_readv, 0),
	P("process_vm_writev", p_process_vm_writev, 0),
	P("mount", p_mount, 0),
	P("umount2", p_umount2, 0),
	P("pivot_root", p_pivot_root, 0),
	P("chroot", p_chroot, 0),
	P("unshare", p_unshare, 0),
	P("setns", p_setns, 0),
	P("setuid", p_setuid, 0),
	P("setgid", p_setgid, 0),
	P("setgroups", p_setgroups, 0),
	P("capset", p_capset, 0),
	P("prctl", p_prctl, 0),
	P("seccomp", p_seccomp, 0),
	P("personality", p_personality, 0),
	P("kexec_load", p_kexec_load, 0),
	P("kexec_file_load", p_kexec_file_load, 0),
	P("init_module", p_init_module, 0),
	P("finit_module", p_finit_module, 0),
	P("delete_module", p_delete_module, 0),
	P("bpf", p_bpf, 0),
	P("keyctl", p_keyctl, 0),
	P("add_key", p_add_key, 0),
	P("request_key", p_request_key, 0),
	P("perf_event_open", p_perf_event_open, 0),
	P("io_uring_setup", p_io_uring_setup, 0),
	P("userfaultfd", p_userfaultfd, 0),
	P("memfd_create", p_memfd_create, 0),
	P("reboot", p_reboot, 0),
	P("swapon", p_swapon, 0),
	P("acct", p_acct, 0),
	P("clock_settime", p_clock_settime, 0),
	P("syslog", p_syslog, 0),
	P("open_by_handle_at", p_open_by_handle_at, 0),
	P("name_to_handle_at", p_name_to_handle_at, 0),
	P("fanotify_init", p_fanotify_init, 0),
	P("inotify_init1", p_inotify_init1, 0),
	P("pidfd_open", p_pidfd_open, 0),
	P("pidfd_getfd", p_pidfd_getfd, 0),
	P("fsopen", p_fsopen, 0),
	P("move_mount", p_move_mount, 0),
	P("iopl", p_iopl, 0),
	P("ioperm", p_ioperm, 0),
	P("modify_ldt", p_modify_ldt, 0),
	P("vmsplice", p_vmsplice, 0),
	P("landlock_create_ruleset", p_landlock, 0),
};

static void
usage(void)
{
	fprintf(stderr, "usage: try_syscall [--drop uid] [--root dir] "
	    "fetcher|extractor|api|logger|gateway|none probe\n"
	    "       try_syscall --list|--count role\n"
	    "       try_syscall --probes\n");
	exit(1);
}

static int
parse_role(const char *s)
{
	if (strcmp(s, "fetcher") == 0)
		return PD_ROLE_FETCHER;
	if (strcmp(s, "extractor") == 0)
		return PD_ROLE_EXTRACTOR;
	if (strcmp(s, "api") == 0)
		return PD_ROLE_API;
	if (strcmp(s, "logger") == 0)
		return PD_ROLE_LOGGER;
	if (strcmp(s, "gateway") == 0)
		return PD_ROLE_GATEWAY;
	if (strcmp(s, "none") == 0)
		return -1;
	usage();
	return -1;
}

static void
nocore(void)
{
	struct rlimit rl = { 0, 0 };

	setrlimit(RLIMIT_CORE, &rl);
}

/* The sandboxed child: exit 0 ran, 2 soft-denied, 1 setup failed. */
static void
child(const struct probe *p, int role, long dropuid, const char *root)
{
	struct pd_dropspec ds;
	struct pd_err e;
	char msg[160];
	long r;
	int err, n;

	nocore();
	if (dropuid >= 0) {
		memset(&ds, 0, sizeof(ds));
		ds.role = role;
		ds.uid = (uid_t)dropuid;
		ds.gid = (gid_t)dropuid;
		ds.rootfd = -1;
		if (root != NULL && (ds.rootfd = open(root,
		    O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
			perror(root);
			_exit(1);
		}
		if (pd_privdrop(&ds, &e) == -1) {
			fprintf(stderr, "try_syscall: %s\n", e.msg);
			_exit(1);
		}
	}
	if (role != -1 && pd_sandbox_apply(role, &e) == -1) {
		fprintf(stderr, "try_syscall: %s\n", e.msg);
		_exit(1);
	}
	errno = 0;
	r = p->fn();
	err = errno;
	n = snprintf(msg, sizeof(msg), "try_syscall %s: returned %ld (%s)\n",
	    p->name, r, r == -1 ? strerrorname_np(err) : "ok");
	if (n > 0)
		(void)!write(STDERR_FILENO, msg, (size_t)n);
	_exit(r == -1 && p->softerr != 0 && err == p->softerr ? 2 : 0);
}

int
main(int argc, char *argv[])
{
	const struct probe *p = NULL;
	const char *root = NULL, *rolename;
	long dropuid = -1;
	size_t i;
	pid_t pid;
	int role, status;

	if (argc == 2 && strcmp(argv[1], "--probes") == 0) {
		for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
			printf("%s\n", probes[i].name);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "--list") == 0)
		return pd_sandbox_dump(parse_role(argv[2]), stdout) == -1;
	if (argc == 3 && strcmp(argv[1], "--count") == 0) {
		role = parse_role(argv[2]);
		printf("%d %d %d %d\n", pd_sandbox_count(role),
		    pd_sandbox_softdeny_count(role),
		    pd_sandbox_sanitizer_count(role, 0),
		    pd_sandbox_sanitizer_count(role, 1));
		return 0;
	}
	for (argv++, argc--; argc > 2; argv += 2, argc -= 2) {
		if (strcmp(argv[0], "--drop") == 0)
			dropuid = strtol(argv[1], NULL, 10);
		else if (strcmp(argv[0], "--root") == 0)
			root = argv[1];
		else
			usage();
	}
	if (argc != 2)
		usage();
	rolename = argv[0];
	role = parse_role(rolename);
	for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
		if (strcmp(probes[i].name, argv[1]) == 0)
			p = &probes[i];
	if (p == NULL) {
		fprintf(stderr, "try_syscall: unknown probe %s\n", argv[1]);
		return 1;
	}
	if (dropuid == 0 || (dropuid > 0 && role == -1))
		usage();

	nocore();
	fflush(stdout);
	if ((pid = fork()) == -1) {
		perror("fork");
		return 1;
	}
	if (pid == 0)
		child(p, role, dropuid, root);
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR) {
			perror("waitpid");
			return 1;
		}
	if (WIFEXITED(status)) {
		printf("try_syscall %s %s: exit %d\n", rolename, p->name,
		    WEXITSTATUS(status));
		return WEXITSTATUS(status);
	}
	printf("try_syscall %s %s: signal %d\n", rolename, p->name,
	    WTERMSIG(status));
	fflush(stdout);
	signal(WTERMSIG(status), SIG_DFL);
	raise(WTERMSIG(status));
	return 128 + WTERMSIG(status);
}

/*
 * The seccomp policy of every plugind helper.  This file is the whole
 * review surface: one table per promise group, each role the union of its
 * groups, kill by default.  docs/SANDBOX.md has the per-role summary and
 * the checklist for adding a syscall; tests/sandbox/ checks from the
 * outside that forbidden calls kill and allowed ones run.
 *
 * Every entry names the libc or library call that needs it.  Soft-denies
 * (ERRNO rules) exist only where glibc, libcurl or OpenSSL probe for
 * something and cope with a failure; each says who probes and how they
 * cope.  Argument filters are used where they are cheap and the argument
 * decides the danger (socket families, clone flags, open modes, PROT_EXEC).
 *
 * x86-64 only.  The filter holds the native architecture alone, so i386
 * (int 0x80) and x32 (syscall numbers with bit 30 set) calls take the
 * bad-architecture action: kill.
 *
 * Built with -DPD_SANDBOX_DEBUG the default action becomes SIGSYS (TRAP)
 * and a handler prints the syscall number and lets the call fail with
 * ENOSYS, so one run lists every missing syscall.  *Never* ship that.
 */

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <netinet/in.h>

#include <linux/netlink.h>
#include <linux/sched.h>

#include "error.h"
#include "role.h"
#include "sandbox.h"
#include "sandbox_impl.h"

#if !defined(__x86_64__) || defined(__ILP32__)
#error "the plugind seccomp policy is written for x86-64 (LP64) only"
#endif


#define CMP(n, o, a, b)	{ .arg = (n), .op = (o), \
			    .datum_a = (scmp_datum_t)(a), \
			    .datum_b = (scmp_datum_t)(b) }
#define EQ(n, v)	CMP(n, SCMP_CMP_EQ, v, 0)
#define NE(n, v)	CMP(n, SCMP_CMP_NE, v, 0)
#define MEQ(n, m, v)	CMP(n, SCMP_CMP_MASKED_EQ, m, v)	/* (a & m) == v */

#define R(s, e, n)	.nr = SCMP_SYS(s), .name = #s, .err = (e), .nargs = (n)
#define ALLOW(s)		{ R(s, 0, 0) }
#define ALLOW1(s, a)		{ R(s, 0, 1), .arg = { a } }
#define ALLOW2(s, a, b)		{ R(s, 0, 2), .arg = { a, b } }
#define ALLOW3(s, a, b, c)	{ R(s, 0, 3), .arg = { a, b, c } }
#define DENY(s, e)		{ R(s, e, 0) }
#define DENY1(s, e, a)		{ R(s, e, 1), .arg = { a } }

#define SOCK_TYPE_MASK	0xf	/* type without SOCK_NONBLOCK/SOCK_CLOEXEC */

/*
 * clone() must carry these (glibc 2.36 pthread_create() also sets SYSVSEM,
 * SETTLS, PARENT_SETTID and CHILD_CLEARTID, which the mask leaves free) and
 * none of the other bits in the mask: no exit signal, no new namespace, no
 * ptrace, vfork, parent or pidfd.
 */
#define PD_CLONE_THREAD	(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | \
			    CLONE_THREAD)
#define PD_CLONE_MASK	(PD_CLONE_THREAD | CSIGNAL | CLONE_PTRACE | \
			    CLONE_VFORK | CLONE_PARENT | CLONE_NEWNS | \
			    CLONE_UNTRACED | CLONE_NEWCGROUP | CLONE_NEWUTS | \
			    CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | \
			    CLONE_NEWNET | CLONE_IO | CLONE_PIDFD)

/*
 * stdio: compute on memory and on fds we already hold.  Both roles.
 */
static const struct pd_rule pd_stdio[] = {
	ALLOW(read),		/* read(2): channel, blob/layer fd, fread() */
	ALLOW(write),		/* write(2): blob fd, stderr, fwrite() */
	ALLOW(lseek),		/* glibc fopen()/fread(), libarchive skip */
	ALLOW(pread64),		/* fetcher: push bodies read from the blob fd */
	ALLOW(close),		/* close(2) */
	ALLOW(newfstatat),	/* glibc 2.33+ fstat(), fstatat() */
	/* mmap/mprotect never with PROT_EXEC: nothing is loaded at run time */
	ALLOW1(mmap, MEQ(2, PROT_EXEC, 0)),	/* malloc(), thread stacks */
	ALLOW1(mprotect, MEQ(2, PROT_EXEC, 0)),	/* malloc() arenas, guards */
	ALLOW(munmap),		/* free() of mmap'd chunks */
	ALLOW(mremap),		/* realloc() of mmap'd chunks */
	ALLOW(brk),		/* malloc() */
	ALLOW(madvise),		/* free() trimming, thread exit */
	ALLOW(rt_sigaction),	/* sigaction(3); glibc pthread (SIGRT_1) */
	ALLOW(rt_sigprocmask),	/* glibc pthread_create(), raise() */
	ALLOW(rt_sigreturn),	/* return from any signal handler */
	ALLOW(restart_syscall),	/* poll() resumed after SIGSTOP/SIGCONT */
	ALLOW(clock_gettime),	/* clock_gettime(3) when the vDSO can't */
	ALLOW(gettimeofday),	/* gettimeofday(3) when the vDSO can't */
	ALLOW(getrandom),	/* OpenSSL RAND seeding, glibc malloc */
	ALLOW(futex),		/* every mutex, once and condvar */
	ALLOW(poll),		/* msg.c pd_msg_recv(), curl, glibc resolver */
	ALLOW(getpid),		/* OpenSSL fork check, glibc raise() */
	ALLOW1(tgkill, EQ(0, PD_SELF)),	/* glibc abort()/raise(): only us */
	ALLOW(exit),		/* end of curl's resolver thread */
	ALLOW(exit_group),	/* exit(3) */
	ALLOW(sysinfo),		/* glibc qsort() > 1 KiB, once */
	ALLOW1(fcntl, EQ(1, F_GETFL)),	/* curl non-blocking; fdopendir() */
	ALLOW1(fcntl, EQ(1, F_SETFL)),	/* curl O_NONBLOCK on its sockets */
	ALLOW1(fcntl, EQ(1, F_SETFD)),	/* fdopendir() sets FD_CLOEXEC */
	/* getrlimit(3) of ourselves only (glibc sysconf(_SC_OPEN_MAX)) */
	ALLOW2(prlimit64, EQ(0, 0), EQ(2, 0)),
	/*
	 * Soft-denies.  prlimit64 with a new limit: nothing may change its
	 * limits after the drop; glibc setrlimit() returns EPERM, as it
	 * would for raising a hard limit.  ioctl(TCGETS): glibc isatty(),
	 * called when a stdio stream such as stdout first allocates its
	 * buffer; ENOTTY is what it gets for a pipe or a file anyway.
	 */
	DENY1(prlimit64, EPERM, NE(2, 0)),
	DENY1(ioctl, ENOTTY, EQ(1, TCGETS)),
};

/*
 * ipc: the channel to the broker (msg.c pd_msg_send()/pd_msg_recv()),
 * fd passing included.  Only on PD_SANDBOX_CHANNEL_FD.
 */
static const struct pd_rule pd_ipc[] = {
	ALLOW1(sendmsg, EQ(0, PD_SANDBOX_CHANNEL_FD)),	/* pd_msg_send() */
	ALLOW1(recvmsg, EQ(0, PD_SANDBOX_CHANNEL_FD)),	/* pd_msg_recv() */
};

/*
 * inet: TCP to the registry, UDP and TCP to the DNS server.  socket() is
 * limited to IPv4/IPv6 stream and datagram sockets with the default
 * protocol or TCP/UDP: no raw, packet, ICMP, SCTP, MPTCP, no other family.
 */
static const struct pd_rule pd_inet[] = {
	/* curl Curl_socket() (IPPROTO_TCP), glibc res_send() TCP fallback */
	ALLOW3(socket, EQ(0, AF_INET), MEQ(1, SOCK_TYPE_MASK, SOCK_STREAM),
	    EQ(2, 0)),
	ALLOW3(socket, EQ(0, AF_INET), MEQ(1, SOCK_TYPE_MASK, SOCK_STREAM),
	    EQ(2, IPPROTO_TCP)),
	/* glibc res_send() queries, getaddrinfo() address sorting */
	ALLOW3(socket, EQ(0, AF_INET), MEQ(1, SOCK_TYPE_MASK, SOCK_DGRAM),
	    EQ(2, 0)),
	ALLOW3(socket, EQ(0, AF_INET), MEQ(1, SOCK_TYPE_MASK, SOCK_DGRAM),
	    EQ(2, IPPROTO_UDP)),
	ALLOW3(socket, EQ(0, AF_INET6), MEQ(1, SOCK_TYPE_MASK, SOCK_STREAM),
	    EQ(2, 0)),
	ALLOW3(socket, EQ(0, AF_INET6), MEQ(1, SOCK_TYPE_MASK, SOCK_STREAM),
	    EQ(2, IPPROTO_TCP)),
	/* and curl Curl_ipv6works(): socket(AF_INET6, SOCK_DGRAM, 0) */
	ALLOW3(socket, EQ(0, AF_INET6), MEQ(1, SOCK_TYPE_MASK, SOCK_DGRAM),
	    EQ(2, 0)),
	ALLOW3(socket, EQ(0, AF_INET6), MEQ(1, SOCK_TYPE_MASK, SOCK_DGRAM),
	    EQ(2, IPPROTO_UDP)),
	/*
	 * Soft-denies.  AF_UNIX: glibc's nscd client (getaddrinfo() via
	 * __nscd_getai) tries /var/run/nscd/socket twice and does its own
	 * lookup when it can't; a real AF_UNIX socket could also reach
	 * abstract sockets outside the chroot.  AF_NETLINK: glibc
	 * getaddrinfo() __check_pf() asks the kernel for local addresses and
	 * assumes "IPv4 and IPv6 present" when it can't.
	 */
	DENY1(socket, EACCES, EQ(0, AF_UNIX)),
	DENY1(socket, EACCES, EQ(0, AF_NETLINK)),
	/*
	 * curl Curl_socketpair(): the multi handle's wakeup pair and the
	 * threaded resolver's completion pair.  A connected pair reaches no
	 * one else.
	 */
	ALLOW1(socketpair, EQ(0, AF_UNIX)),
	ALLOW(connect),		/* curl; glibc res_send(), address sorting */
	ALLOW(getsockopt),	/* curl SO_ERROR after non-blocking connect */
	ALLOW(setsockopt),	/* curl TCP_NODELAY; glibc IP_RECVERR */
	ALLOW(getsockname),	/* curl local address; glibc address sorting */
	ALLOW(getpeername),	/* curl peer address */
	ALLOW(sendto),		/* curl send(); OpenSSL via curl's BIO */
	ALLOW(recvfrom),	/* curl recv(); glibc res_send() answers */
	ALLOW(sendmmsg),	/* glibc res_send(): A and AAAA in one call */
	ALLOW(writev),		/* glibc res_send() send_vc(): DNS over TCP */
	/* glibc res_send(): size the answer buffer before recvfrom() */
	ALLOW1(ioctl, EQ(1, FIONREAD)),
};

/*
 * dns: glibc's "files" and "dns" NSS modules (built into libc.so since
 * glibc 2.34, no dlopen) read /etc/{nsswitch.conf,hosts,resolv.conf,
 * host.conf,gai.conf} inside the fetcher's chroot.  Read-only opens only:
 * not O_WRONLY/O_RDWR, no O_CREAT, O_TMPFILE or O_TRUNC.
 */
static const struct pd_rule pd_dns[] = {
	ALLOW1(openat, MEQ(2, O_ACCMODE | O_CREAT | O_TRUNC |
	    (O_TMPFILE & ~O_DIRECTORY), O_RDONLY)),	/* fopen(3) "re" */
	ALLOW(uname),		/* res_init(): gethostname() for the domain */
};

/*
 * thread: libcurl's threaded resolver (Debian 12 builds curl without
 * c-ares: curl --version lists AsynchDNS).  One short-lived thread per
 * lookup.
 */
static const struct pd_rule pd_thread[] = {
	/* glibc pthread_create() after clone3 failed: thread flags only */
	ALLOW1(clone, MEQ(0, PD_CLONE_MASK, PD_CLONE_THREAD)),
	/*
	 * Soft-deny.  glibc 2.34+ pthread_create() tries clone3() first and
	 * falls back to clone() on ENOSYS.  clone3 takes its flags in
	 * memory, which seccomp cannot read, so it can't be filtered; make
	 * it "not implemented" and let the filtered clone() do the work.
	 */
	DENY(clone3, ENOSYS),
	ALLOW(set_robust_list),	/* glibc start_thread() */
	ALLOW(rseq),		/* glibc 2.35+ start_thread() registers rseq */
};

/*
 * wfile: the extractor recreates a layer inside its chroot with
 * fd-relative calls only: no open, mkdir, chmod, chown, ... by path from
 * the cwd, no fchdir.
 */
static const struct pd_rule pd_wfile[] = {
	ALLOW(openat),		/* files (O_CREAT|O_EXCL|O_NOFOLLOW), dirs */
	ALLOW(openat2),		/* parents by RESOLVE_IN_ROOT (no wrapper) */
	ALLOW(geteuid),		/* untar: apply tar ownership only as root */
	ALLOW(umask),		/* untar: exact modes from the tar (umask 0) */
	ALLOW(capget),		/* untar: is CAP_CHOWN effective (ownership) */
	ALLOW(mkdirat),		/* directories */
	ALLOW(symlinkat),	/* symlinks */
	ALLOW(linkat),		/* hard links */
	ALLOW(unlinkat),	/* whiteouts, replacing an entry */
	ALLOW(renameat),	/* temporary name -> final name */
	ALLOW(readlinkat),	/* checking a symlink */
	ALLOW(getdents64),	/* fdopendir()/readdir(): opaque whiteouts */
	ALLOW(pwrite64),	/* file data at the entry's offsets (sparse) */
	ALLOW(ftruncate),	/* final size of a sparse file */
	ALLOW(fchown),		/* owner of a file we hold open */
	ALLOW(fchownat),	/* owner by name (AT_SYMLINK_NOFOLLOW) */
	ALLOW(fchmod),		/* mode of a file we hold open */
	ALLOW(fchmodat),	/* mode of a directory or FIFO by name */
	ALLOW(utimensat),	/* futimens(), or by name for links and dirs */
	ALLOW(fsetxattr),	/* xattrs from PAX SCHILY.xattr headers */
	ALLOW(flistxattr),	/* listing the xattrs of a file we hold */
	/* mkfifo(3)/mknodat(2): FIFOs only; devices are soft-denied */
	ALLOW1(mknodat, MEQ(2, S_IFMT, S_IFIFO)),
	/*
	 * Soft-deny.  A layer entry that is a device node gets EPERM (what
	 * it would get without CAP_MKNOD) so the extractor can skip or
	 * report it instead of dying; runc creates /dev in the container.
	 */
	DENY1(mknodat, EPERM, MEQ(2, S_IFMT, S_IFCHR)),
	DENY1(mknodat, EPERM, MEQ(2, S_IFMT, S_IFBLK)),
};

/*
 * pipe: the API process streams a `plugin create` body to the broker
 * through a pipe it makes and passes on the channel (docs/PRIVSEP.md).
 * An unnamed pipe reaches no one but the holder of its other end.
 */
static const struct pd_rule pd_pipe[] = {
	ALLOW1(pipe2, EQ(1, O_CLOEXEC)),	/* api/http.c body_to_pipe() */
};

/*
 * log: the log writer (logger/logger.c) appends the plugin's output to
 * "log" and rotates it to "log.1" by rename, inside its chroot (the
 * plugin's logs directory, which it owns).  Opens are write-only, never
 * O_TMPFILE: nothing is read back.
 */
static const struct pd_rule pd_log[] = {
	ALLOW1(openat, MEQ(2, O_ACCMODE | (O_TMPFILE & ~O_DIRECTORY),
	    O_WRONLY)),		/* open "log" O_WRONLY|O_APPEND|O_CREAT */
	ALLOW(renameat),	/* rotation: "log" -> "log.1" */
};

/*
 * gateway: plugind-gateway (gateway/gateway.c) takes engine connections
 * on the listening socket the broker passed as fd 4 and opens one
 * stream connection per request to the plugin's socket, by its name in
 * the chroot (the plugin's socket directory).  Only AF_UNIX stream
 * sockets; abstract names are out of reach in the gateway's own network
 * namespace (role.c), pathnames outside the chroot by the chroot.
 */
static const struct pd_rule pd_gateway[] = {
	ALLOW1(accept4, EQ(0, 4)),	/* an engine's connection on fd 4 */
	/* the connection to the plugin: socket(AF_UNIX, SOCK_STREAM, 0) */
	ALLOW3(socket, EQ(0, AF_UNIX), MEQ(1, SOCK_TYPE_MASK, SOCK_STREAM),
	    EQ(2, 0)),
	ALLOW(connect),		/* to the plugin's socket in the chroot */
};

#ifdef PD_SANITIZE
/*
 * sanitizer: only in `make SANITIZE=1` builds (-DPD_SANITIZE), never in
 * a shipped binary.  What the ASan/UBSan runtimes call on their own in a
 * sandboxed helper (found with PD_SANDBOX_DEBUG on the sanitizer build:
 * test_fetch.sh's sandboxed DNS lookup, and a planted heap overflow for
 * the report path).  A report is written to the fd child.c handed the
 * runtime.  The exit-time leak check (ptrace, /proc) is skipped instead:
 * see __lsan_is_turned_off() below.
 */
static const struct pd_rule pd_sanitizer[] = {
	ALLOW(gettid),		/* thread registry, report headers */
	ALLOW(sigaltstack),	/* alternate signal stack of each new thread */
	ALLOW(sched_getaffinity),	/* each new thread (curl's resolver) */
	/*
	 * Soft-deny.  While printing a report the runtime open(2)s
	 * /proc/self/maps to name modules; there is no /proc in the chroot,
	 * and on failure it prints module+offset addresses instead of being
	 * killed by the filter halfway through the report.
	 */
	DENY(open, EACCES),
};
#endif

#define GROUP(n, t)	{ (n), (t), sizeof(t) / sizeof((t)[0]) }

/* The groups, at their PD_SG_* index (role.h): a role's bits pick them. */
static const struct pd_group pd_groups[PD_SG_MAX] = {
	[PD_SG_STDIO] = GROUP("stdio", pd_stdio),
	[PD_SG_IPC] = GROUP("ipc", pd_ipc),
	[PD_SG_INET] = GROUP("inet", pd_inet),
	[PD_SG_DNS] = GROUP("dns", pd_dns),
	[PD_SG_THREAD] = GROUP("thread", pd_thread),
	[PD_SG_WFILE] = GROUP("wfile", pd_wfile),
	[PD_SG_PIPE] = GROUP("pipe", pd_pipe),
	[PD_SG_LOG] = GROUP("log", pd_log),
	[PD_SG_GATEWAY] = GROUP("gateway", pd_gateway),
#ifdef PD_SANITIZE
	[PD_SG_SANITIZER] = GROUP("sanitizer", pd_sanitizer),
#endif
};
#define PD_NGROUPS	(sizeof(pd_groups) / sizeof(pd_groups[0]))

/*
 * A role's policy: its groups in the roles table (role.c).  The broker
 * has none (it is the trusted side): asking for one is an error.  The
 * sanitizer group is empty outside a SANITIZE=1 build.
 */
struct pd_policy {
	unsigned int	 groups;
};

static int
policy(int role, struct pd_policy *p)
{
	const struct pd_roleinfo *r = pd_role(role);

	if (r == NULL || r->sysgroups == 0)
		return -1;
	p->groups = r->sysgroups;
	return 0;
}

static int
walk(const struct pd_policy *p, pd_sandbox_cb *cb, void *arg)
{
	size_t g, i;

	for (g = 0; g < PD_NGROUPS; g++) {
		if ((p->groups & (1u << g)) == 0 || pd_groups[g].rules == NULL)
			continue;
		for (i = 0; i < pd_groups[g].nrules; i++)
			if (cb(&pd_groups[g], &pd_groups[g].rules[i], arg) == -1)
				return -1;
	}
	return 0;
}

struct pd_counter {
	int	 want_err;	/* count allow (0) or soft-deny (1) rules */
	int	 n;
	int	 seen[512];	/* distinct syscall numbers */
};

static int
count_cb(const struct pd_group *g, const struct pd_rule *r, void *arg)
{
	struct pd_counter *c = arg;
	int i;

	if ((r->err != 0) != c->want_err)
		return 0;
	for (i = 0; i < c->n; i++)
		if (c->seen[i] == r->nr)
			return 0;
	if (c->n < (int)(sizeof(c->seen) / sizeof(c->seen[0])))
		c->seen[c->n++] = r->nr;
	return 0;
}

/* Distinct syscalls of the role's groups, less those in `without`. */
static int
count(int role, int want_err, unsigned int without)
{
	struct pd_policy q;
	struct pd_counter c;

	if (policy(role, &q) == -1)
		return -1;
	q.groups &= ~without;
	memset(&c, 0, sizeof(c));
	c.want_err = want_err;
	walk(&q, count_cb, &c);
	return c.n;
}

int
pd_sandbox_count(int role)
{
	return count(role, 0, 0);
}

int
pd_sandbox_softdeny_count(int role)
{
	return count(role, 1, 0);
}

/* How many allowed (or soft-denied) syscalls only a sanitizer build has. */
int
pd_sandbox_sanitizer_count(int role, int softdeny)
{
	int all = count(role, softdeny, 0);

	return all == -1 ? -1 : all - count(role, softdeny, PD_SG(SANITIZER));
}

static const char *
opname(enum scmp_compare op)
{
	switch (op) {
	case SCMP_CMP_EQ:		return "==";
	case SCMP_CMP_NE:		return "!=";
	case SCMP_CMP_MASKED_EQ:	return "&";
	default:			return "?";
	}
}

static int
dump_cb(const struct pd_group *g, const struct pd_rule *r, void *arg)
{
	FILE *fp = arg;
	unsigned int i;

	fprintf(fp, "%-7s %-18s ", g->name, r->name);
	if (r->err == 0)
		fprintf(fp, "allow");
	else
		fprintf(fp, "errno %s", strerrorname_np(r->err));
	for (i = 0; i < r->nargs; i++) {
		const struct scmp_arg_cmp *a = &r->arg[i];

		fprintf(fp, "%s arg%u %s ", i == 0 ? " if" : " &&", a->arg,
		    opname(a->op));
		if (a->op == SCMP_CMP_MASKED_EQ)
			fprintf(fp, "%#llx == %#llx",
			    (unsigned long long)a->datum_a,
			    (unsigned long long)a->datum_b);
		else if (a->datum_a == PD_SELF)
			fprintf(fp, "getpid()");
		else
			fprintf(fp, "%#llx", (unsigned long long)a->datum_a);
	}
	fprintf(fp, "\n");
	return 0;
}

int
pd_sandbox_dump(int role, FILE *fp)
{
	struct pd_policy p;

	if (policy(role, &p) == -1)
		return -1;
	fprintf(fp, "# %s: %d syscalls allowed, %d soft-denied, "
	    "default kill\n", pd_role_name(role), pd_sandbox_count(role),
	    pd_sandbox_softdeny_count(role));
	return walk(&p, dump_cb, fp);
}

int
pd_sandbox_walk(int role, pd_sandbox_cb *cb, void *arg)
{
	struct pd_policy p;

	if (policy(role, &p) == -1)
		return -1;
	return walk(&p, cb, arg);
}

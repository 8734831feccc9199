#include <sys/socket.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef PD_SANITIZE
#include <sanitizer/common_interface_defs.h>
#endif

#include "child.h"
#include "log.h"
#include "privdrop.h"
#include "role.h"
#include "sandbox.h"

#ifdef PD_SANITIZE
/*
 * Sanitizer builds only.  The runtimes open their log_path file lazily, at
 * the first report, which inside the chroot and the filter can't work.
 * Open "<log_path>.<role>.<pid>" now, still root and outside the chroot,
 * and hand them the fd: a report in a helper then lands next to those of
 * every other process of the test (tests/run.sh).  The broker passes
 * ASAN_OPTIONS only in sanitizer builds (broker/proc/helper.c).
 */
static void
sanitizer_report_fd(int role)
{
	const char *o, *p;
	char path[4096];
	int fd;

	if ((o = getenv("ASAN_OPTIONS")) == NULL ||
	    (p = strstr(o, "log_path=")) == NULL)
		return;
	p += strlen("log_path=");
	snprintf(path, sizeof(path), "%.*s.%s.%d", (int)strcspn(p, ":"), p,
	    pd_role_name(role), (int)getpid());
	if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC |
	    O_NOFOLLOW, 0644)) == -1)
		return;		/* reports go to stderr, the broker's */
	__sanitizer_set_report_fd((void *)(intptr_t)fd);
}
#endif

/*
 * Receive SETUP, then: chroot into the directory the broker passed,
 * drop ids and capabilities, prove they cannot be regained, set rlimits,
 * no_new_privs and the seccomp policy (pd_privdrop, pd_sandbox_apply),
 * and only then answer SETUP_DONE.  Any failure exits: a helper without
 * its sandbox never runs.
 */
int
pd_child_init(int role, struct pd_chan *ch, struct pd_setup *s)
{
	struct pd_setup_done done;
	struct pd_dropspec ds;
	struct pd_msg m;
	struct pd_err e;
	struct stat st;
	int rootfd;

	log_init(pd_role_name(role), PD_LOG_INFO);
#ifdef PD_SANITIZE
	sanitizer_report_fd(role);
#endif
	if (geteuid() != 0)
		fatalx("must be started by plugind (as root)");
	if (fstat(PD_CHILD_FD, &st) == -1 || !S_ISSOCK(st.st_mode))
		fatalx("fd %d is not the broker's channel", PD_CHILD_FD);
	if (pd_chan_init(ch, PD_CHILD_FD, 1) == -1)
		fatalx("out of memory");
	if (pd_msg_recv(ch, &m, 30000, &e) != 1)
		fatalx("no SETUP from the broker");
	if (m.type != PD_MSG_SETUP || pd_dec_setup(&m, s, &e) == -1)
		fatalx("bad SETUP: %s", m.type == PD_MSG_SETUP ? e.msg : "wrong type");
	rootfd = pd_msg_take_fd(&m);
	pd_msg_clear(&m);
	if (s->version != PD_PROTO_VERSION)
		fatalx("protocol version %u, expected %d", s->version, PD_PROTO_VERSION);
	if (s->role != (uint32_t)role)
		fatalx("spawned as %s but set up as %s", pd_role_name(role),
		    pd_role_name((int)s->role));
	if (s->uid == 0 || s->gid == 0)
		fatalx("refusing to run as uid/gid 0");
	log_setlevel((int)s->loglevel);
	log_to_channel(PD_CHILD_FD);

	ds.role = role;
	ds.uid = s->uid;
	ds.gid = s->gid;
	ds.rootfd = rootfd;
	ds.rlim_nofile = s->rlim_nofile;
	ds.rlim_fsize = s->rlim_fsize;
	ds.rlim_as = s->rlim_as;
	if (pd_privdrop(&ds, &e) == -1)
		fatalx("privilege drop failed: %s", e.msg);
	close(rootfd);
	if (pd_sandbox_apply(role, &e) == -1)
		fatalx("sandbox failed: %s", e.msg);

	done.version = PD_PROTO_VERSION;
	done.pid = (uint32_t)getpid();
	if (pd_send_setup_done(PD_CHILD_FD, 0, &done, &e) == -1)
		fatalx("%s", e.msg);
	return 0;
}

/* Report a failed request to the broker. */
void
pd_child_fail(int fd, uint32_t id, const struct pd_err *e)
{
	(void)pd_send_error(fd, PD_MSG_ERROR, id,
	    (uint32_t)(e->code ? e->code : PD_E_INTERNAL), e->msg, NULL);
}

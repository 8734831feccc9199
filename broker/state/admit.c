/*
 * Admission of costly requests from non-root peers (docs/PRIVSEP.md,
 * "What members cost").  Group members may ask for work that starts
 * helpers or reads the whole store (check, privileges, info's probes);
 * these limits keep that work bounded per uid so a
 * member cannot slow root's jobs down.  Root is never limited here: it
 * is trusted and can stop the broker anyway.
 *
 *   max-jobs-per-uid       costly requests one non-root uid may have
 *                          running at once
 *   member-check-interval  seconds between the starts of two `check`s of
 *                          one non-root uid; and non-root checks run one
 *                          at a time in all
 */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "state/state.h"

#define ADMIT_SLOTS	256

struct admit_uid {
	uid_t		 uid;
	unsigned	 jobs;		/* costly requests running */
	time_t		 check_at;	/* monotonic start of the last check */
	int		 used;
};

static pthread_mutex_t	 admit_mtx = PTHREAD_MUTEX_INITIALIZER;
static struct admit_uid	 slots[ADMIT_SLOTS];
static int		 member_checking;	/* a non-root check is running */

static time_t
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/*
 * The slot of uid, or a free one (a slot with no job and no check within
 * the interval is free again).  NULL when all are busy.  Caller holds
 * admit_mtx.
 */
static struct admit_uid *
slot_of(uid_t uid, time_t now)
{
	struct admit_uid *free_slot = NULL;
	size_t i;

	for (i = 0; i < ADMIT_SLOTS; i++) {
		if (slots[i].used && slots[i].uid == uid)
			return &slots[i];
		if (free_slot == NULL && (!slots[i].used || (slots[i].jobs == 0 &&
		    now - slots[i].check_at >= (time_t)
		    conf.limits.member_check_interval)))
			free_slot = &slots[i];
	}
	if (free_slot != NULL) {
		memset(free_slot, 0, sizeof(*free_slot));
		free_slot->used = 1;
		free_slot->uid = uid;
		free_slot->check_at = now - (time_t)conf.limits.member_check_interval;
	}
	return free_slot;
}

/* Start a costly request for c; 0, or -1 with e naming the limit. */
int
admit_job(const struct ctl_client *c, struct pd_err *e)
{
	struct admit_uid *s;
	int rc = 0;

	if (c->uid == 0)
		return 0;
	pthread_mutex_lock(&admit_mtx);
	if ((s = slot_of(c->uid, mono_s())) == NULL)
		rc = pd_errf(e, PD_E_LIMIT, "too many users running jobs at once; "
		    "try again later");
	else if (s->jobs >= conf.limits.max_jobs_per_uid)
		rc = pd_errf(e, PD_E_LIMIT, "too many jobs running for this user "
		    "(limit max-jobs-per-uid %u)", conf.limits.max_jobs_per_uid);
	else
		s->jobs++;
	pthread_mutex_unlock(&admit_mtx);
	return rc;
}

void
admit_job_done(const struct ctl_client *c)
{
	struct admit_uid *s;

	if (c->uid == 0)
		return;
	pthread_mutex_lock(&admit_mtx);
	if ((s = slot_of(c->uid, mono_s())) != NULL && s->jobs > 0)
		s->jobs--;
	pthread_mutex_unlock(&admit_mtx);
}

/*
 * A non-root `check` may start when no other non-root check runs and
 * this uid started none within member-check-interval.  The refusal says
 * when to come back.
 */
int
admit_check(const struct ctl_client *c, struct pd_err *e)
{
	struct admit_uid *s;
	time_t now = mono_s(), wait;
	int rc = 0;

	if (c->uid == 0)
		return 0;
	pthread_mutex_lock(&admit_mtx);
	s = slot_of(c->uid, now);
	wait = s == NULL ? 1 : s->check_at +
	    (time_t)conf.limits.member_check_interval - now;
	if (s != NULL && wait <= 0 && member_checking)
		wait = 1;
	if (wait > 0)
		rc = pd_errf(e, PD_E_LIMIT, "check: rate limited, try again in %llds "
		    "(limit member-check-interval %u s%s)", (long long)wait,
		    conf.limits.member_check_interval, member_checking ?
		    "; one member check at a time" : "");
	else {
		s->check_at = now;
		member_checking = 1;
	}
	pthread_mutex_unlock(&admit_mtx);
	return rc;
}

void
admit_check_done(const struct ctl_client *c)
{
	if (c->uid == 0)
		return;
	pthread_mutex_lock(&admit_mtx);
	member_checking = 0;
	pthread_mutex_unlock(&admit_mtx);
}

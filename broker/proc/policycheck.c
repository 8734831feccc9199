/*
 * The trust policy against plugins already enabled (docs/POLICY.md): at
 * start, once recovery has adopted or scheduled them, and after SIGHUP
 * loaded a new policy, every enabled plugin the policy no longer
 * accepts is disabled, with a "policy" event, a log line and an audit
 * line that name the rule.  The checks themselves are state/policy.c's.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc/proc.h"
#include "log.h"

static pthread_mutex_t	 enforce_mtx = PTHREAD_MUTEX_INITIALIZER;

/* [{id, name, reason}] of the enabled plugins the policy refuses. */
static json_t *
out_of_policy(void)
{
	json_t *bad = json_array();
	struct plugin *p;
	struct pd_err e;

	pthread_rwlock_rdlock(&plugins_lock);
	for (p = plugins; p != NULL; p = p->next)
		if (plugin_enabled(p) && policy_check_plugin(json_object_get(
		    p->state, "plugin"), &e) == -1)
			json_array_append_new(bad, json_pack("{s:s, s:s, s:s}", "id",
			    p->id, "name", plugin_name(p), "reason", e.msg));
	pthread_rwlock_unlock(&plugins_lock);
	return bad;
}

/* The broker itself, as the peer of what it does on its own. */
static void
audit_self(const char *name, const char *reason)
{
	struct ctl_client self;

	memset(&self, 0, sizeof(self));
	self.fd = -1;
	self.pid = getpid();
	audit_log(&self, "policy-disable", name, 0, reason);
}

/* Disable every enabled plugin the policy in force refuses; why: "SIGHUP". */
void
policy_enforce(const char *why)
{
	const char *id, *name, *reason;
	struct pd_err e;
	json_t *bad, *v;
	size_t i;

	pthread_mutex_lock(&enforce_mtx);
	bad = out_of_policy();
	json_array_foreach(bad, i, v) {
		id = json_string_value(json_object_get(v, "id"));
		name = json_string_value(json_object_get(v, "name"));
		reason = json_string_value(json_object_get(v, "reason"));
		log_warnx("%s: plugin %s (%.12s) is outside the policy, disabling "
		    "it: %s", why, name, id, reason);
		if (lifecycle_disable(id, conf.stop_timeout, 1, &e) == -1)
			log_warnx("%s: disabling plugin %s: %s", why, name, e.msg);
		event_emit("policy", id, name, json_pack("{s:s}", "reason",
		    reason));
		audit_self(name, reason);
	}
	json_decref(bad);
	pthread_mutex_unlock(&enforce_mtx);
}

static void *
enforce_thread(void *arg)
{
	policy_enforce("SIGHUP");
	return NULL;
}

/*
 * After a reload: stopping a plugin takes up to stop-timeout, which the
 * main loop must not wait for.
 */
void
policy_enforce_async(void)
{
	pthread_attr_t attr;
	pthread_t t;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, enforce_thread, NULL) != 0) {
		log_warnx("SIGHUP: no thread to apply the policy: applying it now");
		policy_enforce("SIGHUP");
	}
	pthread_attr_destroy(&attr);
}

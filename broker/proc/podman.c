/*
 * Podman does not scan for plugin sockets: each volume plugin must be
 * named in containers.conf(5), [engine.volume_plugins] NAME = "socket".
 * plugind keeps one drop-in (config key publish-podman-conf, default
 * /etc/containers/containers.conf.d/plugind.conf) naming every volume
 * plugin whose name it publishes (gateway.c), enabled or disabled: the
 * entry follows the published socket, so it is rewritten wherever a
 * name is published or removed, and at start.  Written whole (temp,
 * fsync, rename) only when it changes, removed when empty.  The broker
 * reads nothing back but its own file, byte for byte.  docs/CONSUMERS.md.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc/proc.h"
#include "log.h"
#include "util.h"

#define PODMAN_MAX	(256 * 1024)

static pthread_mutex_t podman_mtx = PTHREAD_MUTEX_INITIALIZER;

static const char podman_head[] =
    "# Written by plugind (config key publish-podman-conf): the volume\n"
    "# plugins it publishes, for Podman (containers.conf(5)).  plugind\n"
    "# rewrites this file whenever one is published or removed; do not edit.\n"
    "[engine.volume_plugins]\n";

/* Is p a volume driver (Interface.Types has docker.volumedriver/...)? */
static int
is_volume(const struct plugin *p)
{
	const json_t *t;
	const char *s;
	size_t i;

	json_array_foreach(json_object_get(json_object_get(json_object_get(
	    json_object_get(p->state, "plugin"), "Config"), "Interface"),
	    "Types"), i, t)
		if ((s = json_string_value(t)) != NULL &&
		    strncmp(s, "docker.volumedriver/", 20) == 0)
			return 1;
	return 0;
}

/* A name that is a TOML basic string as it is (no quote, escape, control). */
static int
toml_plain(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == '"' || *s == '\\' ||
		    (unsigned char)*s == 0x7f)
			return 0;
	return 1;
}

/* The drop-in's text, or NULL when no volume plugin is published. */
static char *
podman_text(void)
{
	char path[4200], key[600], *out, *n;
	const struct plugin *p;
	struct stat st;
	size_t l;
	int any = 0;

	out = xstrdup(podman_head);
	pthread_rwlock_rdlock(&plugins_lock);
	for (p = plugins; p != NULL; p = p->next) {
		snprintf(key, sizeof(key), "%s", plugin_name(p));
		if ((l = strlen(key)) > 7 && strcmp(key + l - 7, ":latest") == 0)
			key[l - 7] = '\0';
		if (!is_volume(p) || !toml_plain(key) ||
		    conf_sockpath(plugin_name(p), path, sizeof(path)) == -1 ||
		    !toml_plain(path) || lstat(path, &st) == -1 ||
		    !S_ISSOCK(st.st_mode))
			continue;
		n = xasprintf("%s\"%s\" = \"%s\"\n", out, key, path);
		free(out);
		out = n;
		any = 1;
	}
	pthread_rwlock_unlock(&plugins_lock);
	if (!any) {
		free(out);
		return NULL;
	}
	return out;
}

/* What is in the drop-in now (NULL: none or unreadable). */
static char *
podman_read(int dfd, const char *base)
{
	char *buf;
	ssize_t n;
	int fd;

	if ((fd = openat(dfd, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return NULL;
	buf = xmalloc(PODMAN_MAX + 1);
	n = pd_read_full(fd, buf, PODMAN_MAX);
	close(fd);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

/* Bring the drop-in in step with the published names; errors are logged. */
void
podman_sync(void)
{
	char dir[4200], *base, *want, *have;
	struct pd_err e;
	struct stat st;
	int dfd;

	if (conf.podman_conf == NULL || conf.podman_conf[0] == '\0')
		return;
	pthread_mutex_lock(&podman_mtx);
	want = podman_text();
	snprintf(dir, sizeof(dir), "%s", conf.podman_conf);
	base = strrchr(dir, '/');
	*base++ = '\0';
	if (want != NULL && pd_mkdirs(dir[0] ? dir : "/", 0755, &e) == -1) {
		log_warnx("publish-podman-conf %s: %s", conf.podman_conf, e.msg);
		goto out;
	}
	if ((dfd = open(dir[0] ? dir : "/", O_DIRECTORY | O_RDONLY |
	    O_CLOEXEC)) == -1)
		goto out;	/* no directory: nothing to remove */
	have = podman_read(dfd, base);
	if (want == NULL) {
		/* Safety: only our file, a regular file, never a link. */
		if (have != NULL && fstatat(dfd, base, &st,
		    AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
		    unlinkat(dfd, base, 0) == 0)
			log_info("publish-podman-conf: %s removed (no volume "
			    "plugin published)", conf.podman_conf);
	} else if (have == NULL || strcmp(have, want) != 0) {
		if (pd_atomic_write(dfd, base, want, strlen(want), 0644, &e) == -1)
			log_warnx("publish-podman-conf %s: %s", conf.podman_conf,
			    e.msg);
	}
	free(have);
	close(dfd);
out:
	free(want);
	pthread_mutex_unlock(&podman_mtx);
}

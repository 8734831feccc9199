/*
 * Registry manifests and indexes (distribution and OCI image specs):
 * decoded from untrusted bytes in a helper into a small canonical summary
 * the broker can rely on.
 */
#ifndef PD_MANIFEST_H
#define PD_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "error.h"

#define MT_DOCKER_MANIFEST	"application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST		"application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_SCHEMA1	"application/vnd.docker.distribution.manifest.v1+prettyjws"
#define MT_OCI_MANIFEST		"application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX		"application/vnd.oci.image.index.v1+json"
#define MT_OCI_CONFIG		"application/vnd.oci.image.config.v1+json"
#define MT_PLUGIN_CONFIG	"application/vnd.docker.plugin.v1+json"
#define MT_LAYER_GZIP		"application/vnd.docker.image.rootfs.diff.tar.gzip"

#define PD_MANIFEST_MAX_LAYERS		128
#define PD_INDEX_MAX_MANIFESTS		256

json_t	*pd_manifest_summary(const char *, size_t, const char *, struct pd_err *);
const json_t *pd_index_select(const json_t *, const char *, const char *,
	    struct pd_err *);
const char *pd_host_arch(void);
char	*pd_plugin_manifest(const char *, uint64_t, const char *const *,
	    const uint64_t *, size_t);

#endif

/* plugind-api: the Docker Engine API process (docs/DOCKER_API.md). */
#ifndef PD_APID_H
#define PD_APID_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "http.h"

#define API_PLUGIND_VERSION	"0.1.0"

struct api_ctx {
	struct http_conn	*c;
	struct http_req		*r;
};

int	 api_broker_init(void);
void	 api_handle(struct api_ctx *);
char	*api_b64url_decode(const char *, size_t *);

/* json_ci.c: member names matched as Go's encoding/json matches them */
int	 api_name_fold_eq(const char *, const char *);
json_t	*json_get_ci(const json_t *, const char *);
json_t	*api_privileges_canon(json_t *);

/* info.c: GET /info from the broker's info and its enabled plugins */
json_t	*api_info_doc(const json_t *, const json_t *, time_t);

#endif

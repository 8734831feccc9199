/* plugind-api: the Docker Engine API process (docs/DOCKER_API.md). */
#ifndef PD_APID_H
#define PD_APID_H

#include <stddef.h>

#include "http.h"

#define API_PLUGIND_VERSION	"0.1.0"

struct api_ctx {
	struct http_conn	*c;
	struct http_req		*r;
};

int	 api_broker_init(void);
void	 api_handle(struct api_ctx *);
char	*api_b64url_decode(const char *, size_t *);

#endif

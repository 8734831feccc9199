/*
 * HTTP reason phrases (RFC 9110 §15), one table for the Engine-API
 * server (api/http.c) and the registry client's messages (fetcher/).
 */
#ifndef PD_HTTP_STATUS_H
#define PD_HTTP_STATUS_H

/* The phrase for `status`, or `dflt` for a code the table lacks. */
const char *pd_http_reason(long status, const char *dflt);

#endif

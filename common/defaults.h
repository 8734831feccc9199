/*
 * Defaults the broker and its client agree on: the version string, the
 * control socket's default path and the group allowed to connect to it.
 * Shared by broker/state/state.h and pluginctl/pluginctl.h, so the client
 * needs no broker-only header.
 */
#ifndef PD_DEFAULTS_H
#define PD_DEFAULTS_H

#define PD_VERSION		"0.1.0"
#define PD_DEFAULT_SOCKET	"/run/plugind/plugind.sock"
#define PD_CTL_GROUP		"plugind"

#endif

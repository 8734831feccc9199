/*
 * pluginctl: the command-line client.  Shared by its own sources only;
 * what it agrees on with the broker is in common/defaults.h and
 * common/proto.h.
 */
#ifndef PD_PLUGINCTL_H
#define PD_PLUGINCTL_H

#include <stdio.h>

#include <jansson.h>

#include "defaults.h"
#include "proto.h"

/* One verb of the table in main.c: name, handler, summary, usage, options. */
struct ctl_opt {
	const char	*flags;		/* "-q, --quiet" */
	const char	*desc;
};

/*
 * What a verb's operands are, for shell completion (doc.c); a row that
 * leaves it out gets CA_FILE, bash's default.
 */
enum ctl_args { CA_FILE, CA_PLUGIN, CA_COMMAND, CA_NONE };

struct ctl_cmd {
	const char		*name;
	const char		*alias;		/* or NULL */
	int			(*run)(int, char **);
	const char		*summary;
	const char		*usage;		/* after "pluginctl " */
	const struct ctl_opt	*opts;		/* NULL-terminated, or NULL */
	enum ctl_args		 args;
};

#ifndef __dead
#define __dead __attribute__((__noreturn__))
#endif

extern const char	*host;		/* -H, or NULL */

const char	*tsafe(const char *);

/* table.c: columns sized to content, as docker's tabwriter. */
struct table;
struct table	*table_new(size_t);
void		 table_row(struct table *, const char *const *);
void		 table_print(struct table *, FILE *);
void		 die(const char *, ...) __dead
		    __attribute__((__format__(__printf__, 1, 2)));

/* The credential store (creds.c): docker's config.json and helpers. */
#define CRED_HUB_KEY	"https://index.docker.io/v1/"
void	 registry_key(const char *, char *, size_t);
void	 cred_server_key(const char *, char *, size_t);
json_t	*cred_lookup(const char *);
void	 cred_save(const char *, const char *, const char *, const char *);
int	 cred_erase(const char *);

/*
 * The manual page and the bash completion script, printed from the
 * command table and the global options (doc.c).
 */
void	ctl_print_man(FILE *, const struct ctl_cmd *, const struct ctl_opt *);
void	ctl_print_bash(FILE *, const struct ctl_cmd *, const struct ctl_opt *);

/* Verbs (pluginctl.c); cmd_simple() serves enable, disable, rm, set. */
int	cmd_check(int, char **);
int	cmd_create(int, char **);
int	cmd_debug(int, char **);
int	cmd_events(int, char **);
int	cmd_info(int, char **);
int	cmd_inspect(int, char **);
int	cmd_install(int, char **);
int	cmd_login(int, char **);
int	cmd_logout(int, char **);
int	cmd_logs(int, char **);
int	cmd_ls(int, char **);
int	cmd_privileges(int, char **);
int	cmd_verify(int, char **);
int	cmd_push(int, char **);
int	cmd_simple(uint32_t, const char *, int, char **);
int	cmd_upgrade(int, char **);

#endif

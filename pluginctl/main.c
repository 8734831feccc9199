/*
 * pluginctl's command table: every verb's name, handler, summary, usage,
 * options and operands, the help, manual page and completion printed from
 * it, and main(), which finds the verb in the table.  The verbs
 * themselves are in pluginctl.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pluginctl.h"
#include "util.h"

static int
cmd_enable(int argc, char **argv)
{
	return cmd_simple(PD_CTL_ENABLE, "enable [OPTIONS] PLUGIN", argc, argv);
}

static int
cmd_disable(int argc, char **argv)
{
	return cmd_simple(PD_CTL_DISABLE, "disable [OPTIONS] PLUGIN", argc, argv);
}

static int
cmd_rm(int argc, char **argv)
{
	return cmd_simple(PD_CTL_REMOVE, "rm [OPTIONS] PLUGIN [PLUGIN...]",
	    argc, argv);
}

static int
cmd_set(int argc, char **argv)
{
	return cmd_simple(PD_CTL_SET, "set PLUGIN KEY=VALUE [KEY=VALUE...]",
	    argc, argv);
}

static int	cmd_completion(int, char **);
static int	cmd_help(int, char **);

/* The options before the command (main); '\n' continues a description. */
static const struct ctl_opt gopts[] = {
	{ "-H, --host unix://PATH", "plugind socket (default unix://"
	    PD_DEFAULT_SOCKET ",\nor $PLUGIND_HOST)" },
	{ "-h, --help", "Print this help" },
	{ "-v, --version", "Print the version" },
	{ NULL, NULL } };

/*
 * Every verb: name, handler, summary, usage and each option its getopt
 * accepts (tests/integration/test_ctl_help.sh holds the two together).
 */
/* Options several verbs share, with docker's wording. */
#define OPT_NO_TRUST	{ "--disable-content-trust", \
	"Skip image verification (accepted; plugind has no content trust)" }
#define OPT_GRANT_ALL	{ "--grant-all-permissions", \
	"Grant all permissions necessary to run the plugin" }
#define OPT_USER	{ "--username string", \
	"Registry user name (with --password-stdin)" }
#define OPT_PASSWORD_STDIN { "--password-stdin", \
	"Take the registry password from stdin" }

static const struct ctl_opt o_check[] = {
	{ "--repair", "Repair what can be repaired safely (stale state, leftovers)" },
	{ NULL, NULL } };
static const struct ctl_opt o_create[] = {
	{ "--compress", "Compress the context using gzip" },
	{ NULL, NULL } };
static const struct ctl_opt o_enable[] = {
	{ "--timeout int", "Seconds to wait for the plugin's socket" },
	{ NULL, NULL } };
static const struct ctl_opt o_disable[] = {
	{ "-f, --force", "Force the disable of an active plugin" },
	{ "--timeout int",
	    "Seconds from SIGTERM to SIGKILL (default: stop-timeout)" },
	{ NULL, NULL } };
static const struct ctl_opt o_events[] = {
	{ "--since string", "Show events created since timestamp" },
	{ "--until string", "Stream events until this timestamp" },
	{ "-f, --filter filter", "Filter output based on conditions provided" },
	{ "--format string", "Format the output (json)" },
	{ NULL, NULL } };
static const struct ctl_opt o_info[] = {
	{ "-f, --format string", "Format the output (json or a Go template)" },
	{ NULL, NULL } };
static const struct ctl_opt o_inspect[] = {
	{ "-f, --format string", "Format the output using the given Go template" },
	{ NULL, NULL } };
static const struct ctl_opt o_install[] = {
	{ "--alias string", "Local name for plugin" },
	{ "--disable", "Do not enable the plugin on install" },
	OPT_NO_TRUST,
	{ "--dry-run", "Show the privileges the plugin requests, install nothing" },
	OPT_GRANT_ALL,
	OPT_USER, OPT_PASSWORD_STDIN,
	{ "-q, --quiet", "Suppress progress output" },
	{ NULL, NULL } };
static const struct ctl_opt o_login[] = {
	{ "-p, --password string", "Password (insecure: use --password-stdin)" },
	OPT_PASSWORD_STDIN,
	{ "-u, --username string", "Username" },
	{ NULL, NULL } };
static const struct ctl_opt o_verify[] = {
	{ "--key string", "A PEM public key file to verify with, instead of "
	    "the policy's keys for the plugin's scope" },
	{ NULL, NULL } };
static const struct ctl_opt o_logs[] = {
	{ "-f, --follow", "Follow log output" },
	{ "-n, --tail string",
	    "Number of lines to show from the end of the logs, or \"all\"" },
	{ NULL, NULL } };
static const struct ctl_opt o_ls[] = {
	{ "-f, --filter filter", "Provide filter values (e.g. 'enabled=true')" },
	{ "--format string", "Format the output using the given Go template" },
	{ "--no-trunc", "Don't truncate output" },
	{ "-q, --quiet", "Only display plugin IDs" },
	{ NULL, NULL } };
static const struct ctl_opt o_push[] = {
	{ "--disable-content-trust",
	    "Skip image signing (accepted; plugind has no content trust)" },
	OPT_USER, OPT_PASSWORD_STDIN,
	{ "-q, --quiet", "Suppress progress output, print the digest only" },
	{ "--sign-by string", "Sign the pushed manifest with this PEM ECDSA "
	    "P-256 private key (a sigstore attachment, as skopeo's "
	    "--sign-by-sigstore-private-key)" },
	{ "--sign-passphrase-file string",
	    "Read the passphrase of an encrypted --sign-by key from this file" },
	{ NULL, NULL } };
static const struct ctl_opt o_rm[] = {
	{ "-f, --force", "Force the removal of an active plugin" },
	{ NULL, NULL } };
static const struct ctl_opt o_upgrade[] = {
	OPT_NO_TRUST,
	OPT_GRANT_ALL,
	{ "--skip-remote-check",
	    "Do not check if specified remote plugin matches existing plugin image" },
	{ "--timeout int", "Seconds to wait for the upgrade" },
	{ NULL, NULL } };

static const struct ctl_cmd cmds[] = {
	{ "check", NULL, cmd_check,
	    "Verify the data root and the running plugins", "check [OPTIONS]",
	    o_check, CA_NONE },
	{ "completion", NULL, cmd_completion,
	    "Print a shell completion script", "completion bash", NULL,
	    CA_NONE },
	{ "create", NULL, cmd_create,
	    "Create a plugin from a rootfs and configuration",
	    "create [OPTIONS] PLUGIN PLUGIN-DATA-DIR", o_create, CA_FILE },
	{ "debug", NULL, cmd_debug, "Run a helper's sandbox self-check",
	    "debug check-helper fetcher|extractor|api|logger|gateway", NULL,
	    CA_NONE },
	{ "disable", NULL, cmd_disable, "Disable a plugin",
	    "disable [OPTIONS] PLUGIN", o_disable, CA_PLUGIN },
	{ "enable", NULL, cmd_enable, "Enable a plugin",
	    "enable [OPTIONS] PLUGIN", o_enable, CA_PLUGIN },
	{ "events", NULL, cmd_events, "Stream plugin events",
	    "events [OPTIONS]", o_events, CA_NONE },
	{ "help", NULL, cmd_help, "Show the commands, or one command's usage",
	    "help [COMMAND]", NULL, CA_COMMAND },
	{ "info", NULL, cmd_info,
	    "Show plugind's configuration and helper sandboxes",
	    "info [OPTIONS]", o_info, CA_NONE },
	{ "inspect", NULL, cmd_inspect,
	    "Display detailed information on one or more plugins",
	    "inspect [OPTIONS] PLUGIN [PLUGIN...]", o_inspect, CA_PLUGIN },
	{ "install", "pull", cmd_install, "Install a plugin",
	    "install [OPTIONS] PLUGIN [KEY=VALUE...]", o_install, CA_NONE },
	{ "login", NULL, cmd_login, "Log in to a registry",
	    "login [OPTIONS] [SERVER]", o_login, CA_NONE },
	{ "logout", NULL, cmd_logout, "Log out from a registry",
	    "logout [SERVER]", NULL, CA_NONE },
	{ "logs", NULL, cmd_logs, "Show a plugin's output",
	    "logs [OPTIONS] PLUGIN", o_logs, CA_PLUGIN },
	{ "ls", "list", cmd_ls, "List plugins", "ls [OPTIONS]", o_ls,
	    CA_NONE },
	{ "privileges", NULL, cmd_privileges,
	    "Show the privileges a remote plugin requests",
	    "privileges PLUGIN", NULL, CA_NONE },
	{ "push", NULL, cmd_push, "Push a plugin to a registry",
	    "push [OPTIONS] PLUGIN[:TAG]", o_push, CA_PLUGIN },
	{ "rm", "remove", cmd_rm, "Remove one or more plugins",
	    "rm [OPTIONS] PLUGIN [PLUGIN...]", o_rm, CA_PLUGIN },
	{ "set", NULL, cmd_set, "Change settings for a plugin",
	    "set PLUGIN KEY=VALUE [KEY=VALUE...]", NULL, CA_PLUGIN },
	{ "upgrade", NULL, cmd_upgrade, "Upgrade an existing plugin",
	    "upgrade [OPTIONS] PLUGIN [REMOTE]", o_upgrade, CA_PLUGIN },
	{ "verify", NULL, cmd_verify,
	    "Verify a remote plugin's signatures, as a signed policy rule does",
	    "verify [OPTIONS] PLUGIN", o_verify, CA_NONE },
	{ NULL, NULL, NULL, NULL, NULL, NULL, CA_NONE } };

static const struct ctl_cmd *
find_cmd(const char *name)
{
	const struct ctl_cmd *c;

	for (c = cmds; c->name != NULL; c++)
		if (strcmp(c->name, name) == 0 ||
		    (c->alias != NULL && strcmp(c->alias, name) == 0))
			return c;
	return NULL;
}

static void __dead
usage(int code)
{
	FILE *f = code ? stderr : stdout;
	const struct ctl_cmd *c;
	const struct ctl_opt *o;

	fprintf(f, "Usage:  pluginctl [-H unix://PATH] COMMAND\n\n"
	    "Manage plugins (the `docker plugin` command set) through plugind.\n\n"
	    "Commands:\n");
	for (c = cmds; c->name != NULL; c++)
		fprintf(f, "  %-11s %s\n", c->name, c->summary);
	fprintf(f, "\nOptions:\n");
	for (o = gopts; o->flags != NULL; o++) {
		fprintf(f, "  %-22s  ", o->flags);
		pd_help_desc(f, o->desc, 26);
	}
	fprintf(f, "\nRun 'pluginctl help COMMAND' or 'pluginctl COMMAND --help' "
	    "for a command's options.\n");
	exit(code);
}

static void
cmd_usage(const struct ctl_cmd *c)
{
	const struct ctl_opt *o;
	int w = 30, l;

	printf("Usage:  pluginctl %s\n\n%s\n", c->usage, c->summary);
	if (c->alias != NULL)
		printf("\nAliases:\n  %s, %s\n", c->name, c->alias);
	printf("\nOptions:\n");
	/* One column for the descriptions, two spaces after the longest. */
	for (o = c->opts; o != NULL && o->flags != NULL; o++)
		if ((l = (int)strlen(o->flags) + (o->flags[1] == '-' ? 4 : 0)) >= w)
			w = l + 1;
	for (o = c->opts; o != NULL && o->flags != NULL; o++)
		printf("  %s%-*s %s\n", o->flags[1] == '-' ? "    " : "",
		    o->flags[1] == '-' ? w - 4 : w, o->flags, o->desc);
	printf("  %-*s %s\n", w, "-h, --help", "Print usage");
}

static void __dead
unknown_cmd(const char *name)
{
	fprintf(stderr, "pluginctl: '%s' is not a pluginctl command.\n"
	    "See 'pluginctl --help'\n", tsafe(name));
	exit(2);
}

static int
cmd_help(int argc, char **argv)
{
	const struct ctl_cmd *c;

	if (argc < 2)
		usage(0);
	if (argc == 2 && strcmp(argv[1], "--man") == 0) {
		ctl_print_man(stdout, cmds, gopts);
		return 0;
	}
	if (argc > 2)
		die("\"pluginctl help\" takes one command (usage: pluginctl "
		    "help [COMMAND])");
	if ((c = find_cmd(argv[1])) == NULL)
		unknown_cmd(argv[1]);
	cmd_usage(c);
	return 0;
}

static int
cmd_completion(int argc, char **argv)
{
	if (argc != 2 || strcmp(argv[1], "bash") != 0)
		die("\"pluginctl completion\" takes one shell (usage: "
		    "pluginctl completion bash)");
	ctl_print_bash(stdout, cmds, gopts);
	return 0;
}

int
main(int argc, char *argv[])
{
	const struct ctl_cmd *c;
	int i, j;

	/* Global options come before the command, as with docker. */
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-H") == 0 || strcmp(argv[i], "--host") == 0) {
			if (++i == argc)
				die("flag needs an argument: -H");
			host = argv[i];
		} else if (strncmp(argv[i], "--host=", 7) == 0)
			host = argv[i] + 7;
		else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			usage(0);
		else if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--version") == 0) {
			printf("pluginctl version %s, protocol %d\n", PD_VERSION,
			    PD_PROTO_VERSION);
			return 0;
		} else
			break;
	}
	if (i == argc)
		usage(1);
	/* `pluginctl plugin ls` works too, for muscle memory. */
	if (strcmp(argv[i], "plugin") == 0 && i + 1 < argc)
		i++;
	if ((c = find_cmd(argv[i])) == NULL)
		unknown_cmd(argv[i]);
	argc -= i;
	argv += i;
	/* VERB --help / -h anywhere before "--" prints the verb's usage. */
	for (j = 1; j < argc && strcmp(argv[j], "--") != 0; j++)
		if (strcmp(argv[j], "--help") == 0 || strcmp(argv[j], "-h") == 0) {
			cmd_usage(c);
			return 0;
		}
	optind = 1;
	return c->run(argc, argv);
}

/*
 * plugind(8) and plugind.json(5), printed from the tables they describe:
 * the command line (opts_doc in plugind.c), the config keys
 * (pd_conf_keys, pd_limit_keys, conf.c) with the defaults conf_defaults
 * gives, and the roles table (common/role.c).  `make` builds the pages
 * from the binary, so they cannot go stale.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "roff.h"
#include "util.h"

static void
man_see_also(FILE *f, const char *self)
{
	static const char *const pages[] = { "pluginctl(1)", "plugind.json(5)",
	    "plugind(8)", "runc(8)", "systemd.exec(5)" };
	size_t i;
	int n = 0;

	roff_sh(f, "SEE ALSO");
	for (i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		if (strcmp(pages[i], self) == 0)
			continue;
		fprintf(f, "%s\\fB%.*s\\fR%s", n++ ? ",\n" : "",
		    (int)(strchr(pages[i], '(') - pages[i]), pages[i],
		    strchr(pages[i], '('));
	}
	fputs("\n", f);
}

static void
man_options(FILE *f, const struct pd_optdoc *opts)
{
	const struct pd_optdoc *o;
	char tag[128], doc[512];
	size_t i;

	for (o = opts; o->name != NULL; o++) {
		if (o->val < 256)
			snprintf(tag, sizeof(tag), "-%c, --%s%s%s", o->val,
			    o->name, o->arg ? " " : "", o->arg ? o->arg : "");
		else
			snprintf(tag, sizeof(tag), "--%s%s%s", o->name,
			    o->arg ? " " : "", o->arg ? o->arg : "");
		snprintf(doc, sizeof(doc), "%s", o->doc);
		for (i = 0; doc[i] != '\0'; i++)
			if (doc[i] == '\n')
				doc[i] = ' ';
		roff_tp(f, tag, doc);
	}
}

static void
man8(FILE *f, const struct pd_optdoc *opts)
{
	const struct pd_roleinfo *r;
	char tag[64], para[256];
	int i;

	roff_th(f, "PLUGIND", "8", "System Administration");
	roff_sh(f, "NAME");
	fputs("plugind \\- privilege\\-separated Docker managed\\-plugin "
	    "broker\n", f);
	roff_sh(f, "SYNOPSIS");
	fputs(".B plugind\n[\\fIOPTIONS\\fR]\n", f);
	roff_sh(f, "DESCRIPTION");
	fputs("\\fBplugind\\fR runs Docker's managed plugins without Docker: "
	    "it installs them from registries, runs them with "
	    "\\fBrunc\\fR(8) and answers \\fBpluginctl\\fR(1) on its control "
	    "socket.  It runs as "
	    "root, owns the data root, the content store and the mounts, and "
	    "never parses registry or tar bytes itself: unprivileged, "
	    "sandboxed helpers (below) do, and plugind re\\-hashes what they "
	    "produce.\n.PP\nplugind runs in the foreground and logs to "
	    "stderr.  Its settings are the built\\-in defaults, then the "
	    "\\fB\\-\\-config\\fR file (\\fBplugind.json\\fR(5)), then the "
	    "options; \\fBplugind \\-\\-print\\-config\\fR prints the "
	    "result.\n", f);
	roff_sh(f, "OPTIONS");
	man_options(f, opts);
	roff_sh(f, "HELPERS");
	fputs("Each runs as its own system user, from \\fB" LIBEXECDIR "\\fR "
	    "(\\-\\-helper\\-dir):\n", f);
	for (i = PD_ROLE_BROKER + 1; i < PD_ROLE_MAX; i++) {
		r = pd_role(i);
		snprintf(tag, sizeof(tag), "plugind-%s", r->name);
		snprintf(para, sizeof(para), "user %s (config key %s), "
		    "capabilities: %s.", r->user, r->user_key, r->caps_str);
		roff_tp(f, tag, para);
	}
	roff_sh(f, "SIGNALS");
	roff_tp(f, "SIGTERM, SIGINT", "Stop: close the sockets, stop the "
	    "plugins (they start again with the next plugind) unless "
	    "live-restore is set.");
	roff_tp(f, "SIGHUP", "Reload the trust policy (policy, --policy); "
	    "a bad file keeps the one in force.  Enabled plugins it no longer "
	    "accepts are disabled.");
	roff_sh(f, "FILES");
	roff_tp(f, PD_DEFAULT_DATA_ROOT, "The default data root.");
	roff_tp(f, PD_DEFAULT_EXEC_ROOT, "The default exec root.");
	roff_tp(f, PD_DEFAULT_SOCKET, "The default control socket, 0660 root:"
	    PD_CTL_GROUP ".");
	roff_tp(f, "/etc/default/plugind", "PLUGIND_OPTS, the options "
	    "plugind.service starts plugind with, e.g. --docker-api "
	    "unix:///run/plugind/docker.sock or --config FILE.");
	roff_tp(f, "examples/plugind.json", "In plugind's documentation "
	    "directory: every config key with its default.");
	roff_sh(f, "EXIT STATUS");
	roff_tp(f, "0", "A clean stop; with --check, a data root without "
	    "problems.");
	roff_tp(f, "1", "A fatal error (logged); with --check, problems "
	    "found.");
	roff_tp(f, "2", "A bad option or argument.");
	man_see_also(f, "plugind(8)");
}

/* The default of v as the page shows it. */
static void
man_default(FILE *f, json_t *v)
{
	char *s;

	if (json_is_null(v)) {
		fputs(".br\nDefault: none.\n", f);
		return;
	}
	if (json_is_object(v)) {
		fputs(".br\nDefault: each key's, below.\n", f);
		return;
	}
	s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	fputs(".br\nDefault: ", f);
	roff_text(f, s ? s : "?");
	fputs(".\n", f);
	free(s);
}

static void
man_key(FILE *f, const char *key, const char *type, const char *doc,
    json_t *def)
{
	fputs(".TP\n\\fB", f);
	roff_text(f, key);
	fputs("\\fR (", f);
	roff_text(f, type);
	fputs(")\n", f);
	roff_text(f, doc);
	fputc('\n', f);
	if (def != NULL)
		man_default(f, def);
}

static void
man5(FILE *f)
{
	const struct pd_limit_key *lk;
	const struct conf_key *ck;
	const struct pd_roleinfo *r;
	struct pd_conf d;
	char doc[128];
	json_t *j;
	int i;

	conf_defaults(&d);
	j = conf_json(&d);
	roff_th(f, "PLUGIND.JSON", "5", "File Formats");
	roff_sh(f, "NAME");
	fputs("plugind.json \\- plugind configuration file\n", f);
	roff_sh(f, "SYNOPSIS");
	fputs(".B plugind \\-\\-config\n\\fIFILE\\fR\n", f);
	roff_sh(f, "DESCRIPTION");
	fputs("A JSON object, daemon.json style.  Every key is optional; an "
	    "unknown key, a key given twice or a value of the wrong type is an "
	    "error, and plugind does not start.  Options on the command line "
	    "override the file.\n.PP\n\\fBplugind \\-\\-print\\-config\\fR "
	    "prints the configuration in effect, every key included, in this "
	    "format; its output with the built\\-in defaults is installed as "
	    "\\fIexamples/plugind.json\\fR in plugind's documentation "
	    "directory.  JSON has no comments: this page is that file's "
	    "commentary.\n", f);
	roff_sh(f, "KEYS");
	for (ck = pd_conf_keys; ck->key != NULL; ck++)
		man_key(f, ck->key, ck->type, ck->doc, json_object_get(j,
		    ck->key));
	for (i = PD_ROLE_BROKER + 1; i < PD_ROLE_MAX; i++) {
		r = pd_role(i);
		snprintf(doc, sizeof(doc), "The user plugind-%s runs as.",
		    r->name);
		man_key(f, r->user_key, "user name", doc, json_object_get(j,
		    r->user_key));
	}
	roff_sh(f, "LIMITS");
	fputs("The keys of \\fBlimits\\fR, each a positive integer.  Every "
	    "limit error names its key and value.\n", f);
	for (lk = pd_limit_keys; lk->key != NULL; lk++)
		man_key(f, lk->key, "integer", lk->doc, json_object_get(
		    json_object_get(j, "limits"), lk->key));
	roff_sh(f, "EXAMPLE");
	fputs(".nf\n{\n"
	    "  \"docker\\-api\": \"unix:///run/plugind/docker.sock\",\n"
	    "  \"insecure\\-registries\": [\"registry.lan:5000\"],\n"
	    "  \"limits\": { \"max\\-compressed\": 2147483648 }\n}\n.fi\n", f);
	man_see_also(f, "plugind.json(5)");
	json_decref(j);
	conf_release(&d);
}

int
print_man(FILE *f, const char *section, const struct pd_optdoc *opts)
{
	if (strcmp(section, "8") == 0)
		man8(f, opts);
	else if (strcmp(section, "5") == 0)
		man5(f);
	else {
		fprintf(stderr, "plugind: --man takes 8 (plugind) or 5 "
		    "(plugind.json)\n");
		return -1;
	}
	return 0;
}

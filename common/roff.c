/* man(7) text for the pages the programs print from their tables. */
#include <stdio.h>
#include <string.h>

#include "defaults.h"
#include "roff.h"

/*
 * A newline in s starts a new output line, never a request: each line's
 * first character is protected too.  '-' is \- so that flags are
 * searchable and copy as ASCII.
 */
void
roff_text(FILE *f, const char *s)
{
	int bol = 1;

	for (; *s != '\0'; s++) {
		if (bol && (*s == '.' || *s == '\''))
			fputs("\\&", f);
		bol = 0;
		switch (*s) {
		case '\\':
			fputs("\\e", f);
			break;
		case '-':
			fputs("\\-", f);
			break;
		case '\n':
			fputc('\n', f);
			bol = 1;
			break;
		default:
			fputc(*s, f);
		}
	}
}

void
roff_th(FILE *f, const char *name, const char *section, const char *manual)
{
	fprintf(f, ".TH %s %s \"\" \"plugind %s\" \"%s\"\n", name, section,
	    PD_VERSION, manual);
}

void
roff_sh(FILE *f, const char *heading)
{
	fputs(".SH ", f);
	roff_text(f, heading);
	fputc('\n', f);
}

void
roff_tp(FILE *f, const char *tag, const char *para)
{
	fputs(".TP\n\\fB", f);
	roff_text(f, tag);
	fputs("\\fR\n", f);
	roff_text(f, para);
	fputc('\n', f);
}

/*
 * Table output sized to its content, as docker's CLI prints it (Go's
 * text/tabwriter with minwidth 10, padding 3): each column is as wide as
 * its widest cell plus three spaces, at least ten; the last is not
 * padded.  Cells are already terminal-safe (tsafe, pd_termsafe): width
 * is counted in UTF-8 characters.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pluginctl.h"
#include "util.h"

#define TAB_MINWIDTH	10
#define TAB_PADDING	3

struct table {
	size_t		 ncols;
	size_t		 nrows;
	char		**cells;	/* nrows * ncols */
};

static size_t
text_width(const char *s)
{
	size_t w = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

struct table *
table_new(size_t ncols)
{
	struct table *t = xcalloc(1, sizeof(*t));

	t->ncols = ncols;
	return t;
}

/* Append a row of t->ncols cells (copied). */
void
table_row(struct table *t, const char *const *cells)
{
	size_t i;

	t->cells = reallocarray(t->cells, (t->nrows + 1) * t->ncols,
	    sizeof(*t->cells));
	if (t->cells == NULL)
		die("out of memory");
	for (i = 0; i < t->ncols; i++)
		t->cells[t->nrows * t->ncols + i] = xstrdup(cells[i]);
	t->nrows++;
}

/* Print every row and free the table. */
void
table_print(struct table *t, FILE *fp)
{
	size_t *w = xcalloc(t->ncols, sizeof(*w)), r, c, cw;
	const char *s;

	for (r = 0; r < t->nrows; r++)
		for (c = 0; c < t->ncols; c++)
			if ((cw = text_width(t->cells[r * t->ncols + c])) > w[c])
				w[c] = cw;
	for (c = 0; c < t->ncols; c++)
		w[c] = w[c] + TAB_PADDING < TAB_MINWIDTH ? TAB_MINWIDTH :
		    w[c] + TAB_PADDING;
	for (r = 0; r < t->nrows; r++) {
		for (c = 0; c < t->ncols; c++) {
			s = t->cells[r * t->ncols + c];
			if (c + 1 == t->ncols)
				fprintf(fp, "%s\n", s);
			else
				fprintf(fp, "%s%*s", s, (int)(w[c] -
				    text_width(s)), "");
			free(t->cells[r * t->ncols + c]);
		}
	}
	free(t->cells);
	free(w);
	free(t);
}

/*
 * man(7) output for the manual pages the programs print from their own
 * tables (pluginctl help --man, plugind --man): the text of a table cell
 * made safe for roff, and the few macros every page uses.
 */
#ifndef PD_ROFF_H
#define PD_ROFF_H

#include <stdio.h>

/* s as roff text: backslashes, minus signs, a leading '.' or '\''. */
void	roff_text(FILE *, const char *);
/* .TH NAME SECTION with the version as the source; no date (reproducible). */
void	roff_th(FILE *, const char *, const char *, const char *);
/* .SH / .SS with the heading as text. */
void	roff_sh(FILE *, const char *);
/* .TP, then the tag in bold and its paragraph. */
void	roff_tp(FILE *, const char *, const char *);

#endif

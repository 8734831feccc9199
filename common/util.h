/*
 * Small helpers used by every process: allocation that aborts on OOM,
 * full reads and writes, atomic file replacement, directory helpers,
 * random identifiers, fd flags, time and number formatting.
 */
#ifndef PD_UTIL_H
#define PD_UTIL_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include <stdio.h>

#include "error.h"

#define PD_PLUGIN_ID_LEN	64

void		*xmalloc(size_t);
void		*xcalloc(size_t, size_t);
char		*xstrdup(const char *);
char		*xasprintf(const char *, ...)
		    __attribute__((format(printf, 1, 2)));

/*
 * pd_read_full returns the number of bytes read, short only at EOF, or -1.
 * pd_write_full returns 0 once every byte is written, or -1.
 */
ssize_t		 pd_read_full(int, void *, size_t);
/*
 * pd_read_small reads a small file whole (procfs entries, pid files),
 * opened O_NOFOLLOW, into buf with a NUL after it: its length (> 0), or
 * -1 for a file it cannot open or read, or an empty one.
 */
ssize_t		 pd_read_small(const char *, char *, size_t);
int		 pd_write_full(int, const void *, size_t);

/*
 * pd_atomic_write and pd_rm_rf_at take one entry name (no "/") relative to
 * an open directory.  pd_rm_rf_at never follows a symlink and stops with
 * PD_E_CONFLICT rather than enter another mount; a missing entry is fine.
 */
int		 pd_atomic_write(int, const char *, const void *, size_t,
		    mode_t, struct pd_err *);
int		 pd_mkdirs(const char *, mode_t, struct pd_err *);
int		 pd_rm_rf_at(int, const char *, struct pd_err *);

int		 pd_random_hex(char *, size_t);
int		 pd_plugin_id_new(char [PD_PLUGIN_ID_LEN + 1]);

int		 pd_set_cloexec(int);
int		 pd_set_nonblock(int);
uint64_t	 pd_now_ms(void);
int		 pd_parse_u64(const char *, uint64_t *);
int		 pd_human_size(uint64_t, char *, size_t);
void		 pd_strvis(char *);

/* A --help description: each '\n' in it goes on at column col; ends the line. */
void	pd_help_desc(FILE *, const char *, int);

#endif

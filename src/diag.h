/* Diagnostics with a position: the errors a person reads about a file. */
#ifndef DAGEXEC_DIAG_H
#define DAGEXEC_DIAG_H

#include <stddef.h>
#include <stdio.h>

struct diag {
	int	 line;		/* 1-based; 0 when the file as a whole is at fault */
	int	 col;		/* 1-based; 0 with line 0 */
	char	*msg;		/* lowercase, no full stop */
	size_t	 seq;		/* order of addition, for a stable sort */
	int	 warning;	/* a warning, not an error */
};

struct diags {
	struct diag	*v;
	size_t		 n;
	size_t		 cap;
};

/* An empty list; no allocation. */
void diags_init(struct diags *d);
/* Free every message; the list is empty and reusable afterwards. */
void diags_release(struct diags *d);
/* Append an error at line:col (printf-style message). */
void diags_add(struct diags *d, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Append a warning at line:col (printed as "warning:", not "error:"). */
void diags_warn(struct diags *d, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Sort by position (stable) so output follows the file. */
void diags_sort(struct diags *d);
/* Print every entry as "FILE:LINE:COL: error: MSG\n" (or "FILE: error: MSG");
 * a warning says "warning:". */
void diags_print(FILE *fp, const char *file, const struct diags *d);
/* What diags_print prints, as a new string (what a refused file's .error
 * holds). */
char *diags_text(const char *file, const struct diags *d);

#endif

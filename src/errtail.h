/* What a person reads of a failed attempt: the last lines of its standard
 * error, made safe to print, the one-line form that the logs, `status` and
 * the summary show, cutting text only between words, and the class of a
 * shell's "not found" and "not executable". */
#ifndef DAGEXEC_ERRTAIL_H
#define DAGEXEC_ERRTAIL_H

#include <stdbool.h>
#include <stddef.h>

#include "run.h"

#define ERRTAIL_LINES		5	/* lines kept */
#define ERRTAIL_LINE_MAX	300	/* bytes of one line, "..." past it */
#define ERRTAIL_KEEP		4096	/* bytes of a stream looked at */

/* The last ERRTAIL_LINES lines of buf (the end of a stream; cut: its first
 * line may be the end of a longer one) that are not blank, each made safe
 * (errtail_safe) with its indentation kept and cut at ERRTAIL_LINE_MAX
 * bytes, joined by '\n'. A new string, or NULL when there is no such
 * line. */
char *errtail_new(const char *buf, size_t len, bool cut);
/* s (len bytes) as text that moves no cursor and is valid UTF-8: colour
 * and other CSI sequences dropped, a tab made a space, what a terminal
 * would overwrite before a '\r' dropped, other control bytes and invalid
 * UTF-8 as \xNN. Backslashes are left alone, so that safe text stays the
 * same (the function is idempotent). A new string. */
char *errtail_safe(const char *s, size_t len);
/* The one-line form: error (may be NULL), then "; stderr: " and tail's
 * lines without their leading blanks, joined by " | " (tail may be
 * NULL). A new string, never NULL ("" when both are NULL). */
char *errtail_line(const char *error, const char *tail);
/* tail (taken) without its last line when that line ends with error (it
 * only repeats it); NULL when nothing is left. */
char *errtail_unecho(char *tail, const char *error);
/* The last line of tail, without its leading blanks, or NULL; in tail. */
const char *errtail_last(const char *tail, size_t *len);
/* s cut to at most width characters between two words, "..." marking the
 * cut: never in the middle of a word, so a first word longer than width
 * is kept whole. A new string. */
char *errtail_cut(const char *s, size_t width);
/* A `run:` line whose shell exited 127 or 126 after reporting so on its
 * last line of stderr (tail): REASON_SPAWN_ERROR, and *error "command not
 * found" or "not executable"; else REASON_NONE. */
enum reason errtail_shell(int exit_code, const char *tail, const char **error);

#endif

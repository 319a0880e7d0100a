/* The KEY=VALUE lines a node writes to $DAGEXEC_OUTPUT (any value) and
 * NAME=NUMBER lines to $DAGEXEC_METRICS. */
#ifndef DAGEXEC_KVFILE_H
#define DAGEXEC_KVFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "manifest.h"

/* Parse len bytes of lines "KEY=VALUE" (KEY of [A-Za-z0-9_.-]+, VALUE the
 * rest of the line, spaces kept; with numeric, a number strtod reads whole).
 * Without numeric, "KEY<<DELIM" starts a multi-line value: the lines up to
 * a line that is DELIM alone, without the newline before it (GitHub
 * Actions' form; a "<<" after the first '=' is part of a plain value).
 * Empty lines are skipped. Returns 0 and a new array in *out (*n entries,
 * free with kvfile_free), or -1 with *cause naming the first bad line and
 * what is wrong with it, never its content (it may hold a secret):
 * "malformed line 3 in WHAT: no '=' (expected KEY=VALUE or
 * KEY<<DELIMITER)"; the other
 * reasons are "empty key", "key holds a character outside [A-Za-z0-9_.-]",
 * "holds a NUL byte", "empty delimiter after '<<'", "no closing delimiter
 * line" (the KEY<<DELIM line is named), and with numeric "empty value", "value is not a
 * number", "value is out of range". */
int kvfile_parse(const char *buf, size_t len, const char *what, bool numeric,
    struct kv **out, size_t *n, char **cause);
/* Free n entries and the array. */
void kvfile_free(struct kv *v, size_t n);

#endif

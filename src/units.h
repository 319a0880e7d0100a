/* Durations and sizes as the manifest writes them, both directions. */
#ifndef DAGEXEC_UNITS_H
#define DAGEXEC_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* Parse a duration: "500ms", "30s", "10m", "2h", "1d", or a bare number of
 * seconds ("90", "1.5"). Whitespace is not allowed. Returns 0 and the value in
 * milliseconds, or -1 with *why a message (static or per-thread, valid until
 * the thread's next call) on error: "out of range", or for a malformed one
 * "not a duration" or "unknown unit 'x'" followed by the units and, for a
 * unit written out ("10 minutes"), the form meant ("did you mean '10m'?").
 * Negative values are refused. */
int units_parse_duration(const char *s, int64_t *ms, const char **why);
/* Parse a size: "512", "64K", "512M", "2G", "1T" (powers of 1024; an optional
 * trailing "B" or "iB" is accepted: "64KB", "64KiB"). Same conventions. */
int units_parse_size(const char *s, int64_t *bytes, const char **why);
/* Format ms as the shortest exact form: "500ms", "30s", "10m", "2h", "1d",
 * or "1m30s" style when needed. Writes at most len bytes; returns buf. */
char *units_format_duration(int64_t ms, char *buf, size_t len);
/* Format a byte count as "512", "64K", "1.5M" (one decimal when inexact). */
char *units_format_size(int64_t bytes, char *buf, size_t len);
/* v in decimal ("%lld") at the end of buf, without printf; returns where it
 * starts. For the lines written for every node. */
#define UNITS_INT_LEN	21	/* "-9223372036854775808" and its NUL */
const char *units_int(int64_t v, char buf[UNITS_INT_LEN]);

#endif

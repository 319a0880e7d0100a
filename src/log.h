/* Greppable log lines on stderr: "LEVEL JOB[/NODE] EVENT detail". */
#ifndef DAGEXEC_LOG_H
#define DAGEXEC_LOG_H

#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Lines below this level are dropped (default LOG_INFO). */
void log_set_level(enum log_level level);
/* One line: LEVEL JOB[/NODE] EVENT detail. job and node may be NULL ("-").
 * The formatted detail is escaped (control bytes as \xNN) before it is written. */
void log_event(enum log_level level, const char *job, const char *node,
    const char *event, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Copy s into a new string with control bytes, backslashes and bytes >= 0x7f
 * outside valid UTF-8 written as \xNN, so untrusted text cannot move a cursor. */
char *log_escape(const char *s, size_t len);
/* Length of the valid UTF-8 sequence at s (at most n bytes, n > 0), or 0:
 * what log_escape lets through (no overlongs, surrogates or C1 controls). */
size_t log_utf8_len(const unsigned char *s, size_t n);

#endif

/* HTTP nodes and notifications with libcurl (issue 5). The parent prepares a
 * resolved request (http_write_spec); the node's own child process, dagexec
 * exec'd as `dagexec __http SPEC RESULT`, performs it (http_node_main). A
 * notification is `dagexec __notify URL STATE RESULT` (http_notify_main). */
#ifndef DAGEXEC_HTTP_H
#define DAGEXEC_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/types.h>

#include <jansson.h>

#include "manifest.h"

#define HTTP_MAX_REDIRECTS	10
#define HTTP_CONNECT_TIMEOUT_S	30
#define HTTP_NOTIFY_TIMEOUT_S	10
#define HTTP_NOTIFY_TRIES	3

/* Expand ${NAME} in s from vars ("NAME=VALUE" strings, NULL-terminated; the
 * last one of a name wins); "$${" is a literal "${", any other '$' is kept.
 * Returns a new string, or NULL with *cause naming what (e.g. "url") and the
 * unknown variable, or an unterminated "${". */
char *http_template(const char *s, char *const *vars, const char *what,
    char **cause);
/* Write the resolved request of h (templated from vars) as JSON into path:
 * what was there is removed, and a new file made (O_EXCL, no link followed),
 * mode 0600, given to uid/gid unless uid is (uid_t)-1. Returns 0, or -1
 * with *cause. */
int http_write_spec(const char *path, const struct http_spec *h,
    int64_t max_retry_delay_ms, char *const *vars, uid_t uid, gid_t gid,
    char **cause);
/* The delay a Retry-After value asks for, in ms (seconds or an HTTP-date,
 * relative to now; a date in the past is 0). Returns 0, or -1 when the value
 * is neither. A date is read by libcurl, loaded on first use (curlso.h):
 * when it cannot be loaded, a date is -1 too. */
int http_parse_retry_after(const char *value, time_t now, int64_t *ms);
/* A YAML document (len bytes) as JSON: mappings become objects, sequences
 * arrays, plain null/true/false/integers/floats JSON types, every other
 * scalar (quoted ones included) a string. A new reference, or NULL with
 * *cause. */
json_t *http_yaml_to_json(const char *text, size_t len, char **cause);
/* The `__http SPEC RESULT` child: perform the request in the working
 * directory, write KEY=VALUE lines to stdout, $DAGEXEC_OUTPUT and RESULT.
 * Returns the exit status (0 success, 1 failure). */
int http_node_main(const char *spec, const char *result);
/* The `__notify URL STATE RESULT` child: POST STATE as JSON, with tries and
 * backoff; RESULT gets status=sent or status=failed and error=. Returns the
 * exit status. */
int http_notify_main(const char *url, const char *state, const char *result,
    bool insecure);

#endif

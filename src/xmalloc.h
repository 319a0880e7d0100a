/* Allocation that dies on exhaustion (tmux xmalloc.c): callers never check. */
#ifndef DAGEXEC_XMALLOC_H
#define DAGEXEC_XMALLOC_H

#include <stdarg.h>
#include <stddef.h>

/* malloc(size); exits with status 70 and a message when memory is out. */
void *xmalloc(size_t size);
/* calloc(n, size) with an overflow check. */
void *xcalloc(size_t n, size_t size);
/* realloc(p, n * size) with an overflow check. */
void *xreallocarray(void *p, size_t n, size_t size);
/* strdup(s); s must not be NULL. */
char *xstrdup(const char *s);
/* strndup(s, n). */
char *xstrndup(const char *s, size_t n);
/* asprintf into a new string the caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Grow *v (of *cap elements of size sz) so that it holds at least need. */
void xgrow(void *v, size_t *cap, size_t need, size_t sz);

#endif

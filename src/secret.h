/* Secrets: files read into a node's environment when its attempt starts,
 * and the masking that keeps their values out of everything dagexec
 * writes (logs, error lines, the journal). */
#ifndef DAGEXEC_SECRET_H
#define DAGEXEC_SECRET_H

#include <stdbool.h>
#include <stddef.h>

#include "manifest.h"

#define SECRET_MAX	65536	/* bytes of one secret (an environment
				   string may not pass 128 KiB) */
#define SECRET_LINE_MIN	4	/* a line of a multi-line secret is masked
				   on its own from this length */
#define SECRET_MASK	"***"

struct secrets;

/* A stream being masked: the bytes held back because they may begin a
 * secret that the next read completes. */
struct maskstream {
	char	*held;
	size_t	 nheld;
};

/* Read the secret name from path (an absolute path, or ~/PATH under the
 * home of the user we run as: $HOME, or with strict the password
 * database's) into *value (allocated): its content with one trailing
 * newline stripped. With strict (under watch), the file must also belong
 * to the user we run as and be readable and writable by no one else.
 * 0, or -1 with *cause ("secret 'KEY': ..."), never the content. */
int	secret_read(const char *name, const char *path, bool strict,
	    char **value, char **cause);

/* An empty set of values to mask. */
struct secrets *secrets_new(void);
void	secrets_free(struct secrets *s);
/* Mask value from now on: itself, and each of its lines of at least
 * SECRET_LINE_MIN bytes (a trailing '\r' dropped). Empty: nothing. */
void	secrets_add(struct secrets *s, const char *value, size_t len);
/* How many values are masked (0: masking is a copy). */
size_t	secrets_count(const struct secrets *s);
/* Whether len bytes of buf hold a masked value or line. s may be NULL. */
bool	secrets_hit(const struct secrets *s, const char *buf, size_t len);
/* A copy of str with each masked value or line replaced by "***"
 * (allocated; NULL for NULL; s may be NULL). */
char	*secrets_mask(const struct secrets *s, const char *str);
/* Mask len more bytes of a stream: what is certainly masked goes to out
 * (several calls), what may begin a value is held in ms until the next
 * call or secrets_stream_end. */
void	secrets_stream(const struct secrets *s, struct maskstream *ms,
	    const char *buf, size_t len,
	    void (*out)(void *arg, const char *buf, size_t len), void *arg);
/* The stream ended: what is held goes out, masked where it must be. */
void	secrets_stream_end(const struct secrets *s, struct maskstream *ms,
	    void (*out)(void *arg, const char *buf, size_t len), void *arg);

/*
 * The $DAGEXEC_OUTPUT values of a node that hold a secret are kept, for its
 * dependents and for a resume, in DIR/private/NODE.values (directory 0700,
 * file 0600, written atomically), which no bundle holds; the journal has
 * "***" in their place.
 */
/* Write node's n values v there, replacing what it held. 0, or -1 with
 * *cause. */
int	secret_values_write(const char *dir, const char *node,
	    const struct kv *v, size_t n, char **cause);
/* The value of key there (allocated), or NULL when the file or the key is
 * missing. */
char	*secret_values_get(const char *dir, const char *node,
	    const char *key);

#endif

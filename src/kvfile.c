#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kvfile.h"
#include "xmalloc.h"

void
kvfile_free(struct kv *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].key);
		free(v[i].value);
	}
	free(v);
}

static bool
key_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

/* The KEY<<DELIM form: the lines after it up to a line DELIM are the value
 * (GitHub Actions' multi-line values), without the newline before DELIM.
 * lt..eol is "<<DELIM"; *next (the line after it) is moved past the
 * closing line and *lineno to it. The value, or NULL with *why (and
 * *lineno the line at fault). */
static char *
kv_heredoc(const char *buf, size_t len, const char *lt, const char *eol,
    const char **next, size_t *lineno, const char **why)
{
	const char *delim = lt + 2, *start = *next, *p = *next, *e;
	size_t dlen = (size_t)(eol - delim), first = *lineno;

	if (dlen == 0) {
		*why = "empty delimiter after '<<'";
		return NULL;
	}
	while (p < buf + len) {
		(*lineno)++;
		e = memchr(p, '\n', (size_t)(buf + len - p));
		if (e == NULL)
			e = buf + len;
		if ((size_t)(e - p) == dlen && memcmp(p, delim, dlen) == 0) {
			*next = e < buf + len ? e + 1 : e;
			return xstrndup(start, p > start ?
			    (size_t)(p - 1 - start) : 0);
		}
		if (memchr(p, '\0', (size_t)(e - p)) != NULL) {
			*why = "holds a NUL byte";
			return NULL;
		}
		p = e < buf + len ? e + 1 : e;
	}
	*lineno = first;
	*why = "no closing delimiter line";
	return NULL;
}

int
kvfile_parse(const char *buf, size_t len, const char *what, bool numeric,
    struct kv **out, size_t *nout, char **cause)
{
	const char *line, *next, *eol, *eq, *lt, *p, *why;
	char *value, *end;
	size_t cap = 0, n = 0, lineno = 0;
	struct kv *v = NULL;

	*out = NULL;
	*nout = 0;
	for (line = buf; line < buf + len; line = next) {
		lineno++;
		eol = memchr(line, '\n', (size_t)(buf + len - line));
		next = eol != NULL ? eol + 1 : buf + len;
		if (eol == NULL)
			eol = buf + len;
		if (eol == line)
			continue;
		if (memchr(line, '\0', (size_t)(eol - line)) != NULL) {
			why = "holds a NUL byte";
			goto bad;
		}
		eq = memchr(line, '=', (size_t)(eol - line));
		lt = memmem(line, (size_t)(eol - line), "<<", 2);
		if (lt != NULL && !numeric && (eq == NULL || lt < eq))
			eq = lt;	/* KEY<<DELIM */
		else
			lt = NULL;
		if (eq == NULL) {
			why = "no '='";
			goto bad;
		}
		if (eq == line) {
			why = "empty key";
			goto bad;
		}
		for (p = line; p < eq; p++) {
			if (!key_char(*p)) {
				why = "key holds a character outside "
				    "[A-Za-z0-9_.-]";
				goto bad;
			}
		}
		if (lt != NULL) {
			value = kv_heredoc(buf, len, lt, eol, &next, &lineno,
			    &why);
			if (value == NULL)
				goto bad;
		} else
			value = xstrndup(eq + 1, (size_t)(eol - eq - 1));
		if (numeric) {
			errno = 0;
			(void)strtod(value, &end);
			why = NULL;
			if (*value == '\0')
				why = "empty value";
			else if (*end != '\0')
				why = "value is not a number";
			else if (errno != 0)
				why = "value is out of range";
			if (why != NULL) {
				free(value);
				goto bad;
			}
		}
		xgrow(&v, &cap, n + 1, sizeof *v);
		v[n].key = xstrndup(line, (size_t)(eq - line));
		v[n].value = value;
		n++;
	}
	*out = v;
	*nout = n;
	return 0;
bad:
	/*
	 * What is wrong, never the line itself: a node may have appended a
	 * file of secrets by mistake, and this message goes to state.yaml,
	 * the bundle and the logs.
	 */
	*cause = xasprintf("malformed line %zu in %s: %s (expected %s)",
	    lineno, what, why, numeric ? "NAME=NUMBER" :
	    "KEY=VALUE or KEY<<DELIMITER");
	kvfile_free(v, n);
	return -1;
}

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

int
kvfile_parse(const char *buf, size_t len, const char *what, bool numeric,
    struct kv **out, size_t *nout, char **cause)
{
	const char *line, *next, *eol, *eq, *p, *why;
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
	    lineno, what, why, numeric ? "NAME=NUMBER" : "KEY=VALUE");
	kvfile_free(v, n);
	return -1;
}

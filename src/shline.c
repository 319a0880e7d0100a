/* Shell lines that need no shell (see shline.h). */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "shline.h"
#include "xmalloc.h"

/*
 * Words a POSIX shell (dash, bash) runs itself, as a builtin or a keyword:
 * such a line keeps the shell, even where a program of the same name
 * exists (echo and pwd differ from /bin/echo and /bin/pwd).
 */
static const char *const shline_builtins[] = {
	".", ":", "[", "alias", "bg", "break", "builtin", "case", "cd",
	"chdir", "command", "continue", "declare", "do", "done", "echo",
	"elif", "else", "esac", "eval", "exec", "exit", "export", "false",
	"fc", "fg", "fi", "for", "function", "getopts", "hash", "if", "in",
	"jobs", "kill", "let", "local", "printf", "pwd", "read", "readonly",
	"return", "select", "set", "shift", "source", "test", "then", "time",
	"times", "trap", "true", "type", "typeset", "ulimit", "umask",
	"unalias", "unset", "until", "wait", "while",
};

static bool
shline_plain(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || strchr("_-./,:+@%=", c) != NULL;
}

static bool
shline_builtin(const char *w, size_t len)
{
	size_t	i;

	for (i = 0; i < sizeof shline_builtins / sizeof shline_builtins[0];
	    i++) {
		if (strlen(shline_builtins[i]) == len &&
		    memcmp(shline_builtins[i], w, len) == 0)
			return true;
	}
	return false;
}

char **
shline_words(const char *line)
{
	const char	*p, *w;
	char		**v;
	size_t		 n = 0, k;

	for (p = line; *p != '\0'; p++) {
		if (*p == ' ' || *p == '\t')
			continue;
		if (!shline_plain((unsigned char)*p))
			return NULL;
		if (p == line || p[-1] == ' ' || p[-1] == '\t')
			n++;
	}
	if (n == 0)
		return NULL;
	for (p = line; *p == ' ' || *p == '\t'; p++)
		;
	for (w = p; *p != '\0' && *p != ' ' && *p != '\t'; p++) {
		if (*p == '=')
			return NULL;	/* NAME=VALUE: an assignment */
	}
	if (shline_builtin(w, (size_t)(p - w)))
		return NULL;

	v = xcalloc(n + 1, sizeof *v);
	for (k = 0, p = line; k < n; k++) {
		while (*p == ' ' || *p == '\t')
			p++;
		for (w = p; *p != '\0' && *p != ' ' && *p != '\t'; p++)
			;
		v[k] = xstrndup(w, (size_t)(p - w));
	}
	return v;
}

void
shline_free(char **words)
{
	char	**p;

	if (words == NULL)
		return;
	for (p = words; *p != NULL; p++)
		free(*p);
	free(words);
}

/* A failed attempt's last lines of stderr, and errors on one line. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "errtail.h"
#include "log.h"
#include "strbuf.h"
#include "xmalloc.h"

char *
errtail_safe(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	struct strbuf o = STRBUF_INIT;
	char hex[8];
	size_t i, l;

	/* a terminal shows what follows the last carriage return */
	while (len > 0 && u[len - 1] == '\r')
		len--;
	for (i = len; i > 0; i--) {
		if (u[i - 1] == '\r') {
			u += i;
			len -= i;
			break;
		}
	}
	strbuf_add(&o, "", 0);
	for (i = 0; i < len; ) {
		if (u[i] == 0x1b && i + 1 < len && u[i + 1] == '[') {
			/* CSI: parameters, then a final byte 0x40-0x7e */
			for (i += 2; i < len && (u[i] < 0x40 || u[i] > 0x7e);
			    i++)
				;
			i++;
		} else if (u[i] == 0x1b && i + 1 < len && u[i + 1] == ']') {
			/* OSC (a window title): to BEL or ESC '\' */
			for (i += 2; i < len && u[i] != 0x07 && u[i] != 0x1b;
			    i++)
				;
			i += i < len && u[i] == 0x1b ? 2 : 1;
		} else if (u[i] == '\t') {
			strbuf_add(&o, " ", 1);
			i++;
		} else if (u[i] < 0x20 || u[i] == 0x7f ||
		    (l = log_utf8_len(u + i, len - i)) == 0) {
			hex[0] = '\\';
			hex[1] = 'x';
			hex[2] = "0123456789abcdef"[u[i] >> 4];
			hex[3] = "0123456789abcdef"[u[i] & 15];
			strbuf_add(&o, hex, 4);
			i++;
		} else {
			strbuf_add(&o, (const char *)u + i, l);
			i += l;
		}
	}
	return o.s;
}

/* line made safe, its trailing blanks dropped, cut at ERRTAIL_LINE_MAX
 * bytes (on a character's start) with "..."; NULL when blank. */
static char *
tail_one(const char *line, size_t len, bool head_cut)
{
	char *s = errtail_safe(line, len), *t;
	size_t n = strlen(s), k;

	while (n > 0 && s[n - 1] == ' ')
		s[--n] = '\0';
	for (k = 0; k < n && s[k] == ' '; k++)
		;
	if (k == n) {
		free(s);
		return NULL;
	}
	if (n > ERRTAIL_LINE_MAX) {
		n = ERRTAIL_LINE_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
		strcpy(s + n, "...");
	}
	if (head_cut) {
		t = xasprintf("...%s", s);
		free(s);
		s = t;
	}
	return s;
}

char *
errtail_new(const char *buf, size_t len, bool cut)
{
	char *got[ERRTAIL_LINES];
	const char *end = buf + len, *start;
	size_t n = 0, k;
	struct strbuf o = STRBUF_INIT;

	/* from the last line back: each ends at end, its '\n' left out; a
	 * first line that began before buf is not whole */
	while (end > buf && n < ERRTAIL_LINES) {
		start = end;
		while (start > buf && start[-1] != '\n')
			start--;
		if ((got[n] = tail_one(start, (size_t)(end - start),
		    cut && start == buf)) != NULL)
			n++;
		if (start == buf)
			break;
		end = start - 1;
	}
	if (n == 0)
		return NULL;
	for (k = n; k > 0; k--) {
		strbuf_str(&o, got[k - 1]);
		if (k > 1)
			strbuf_add(&o, "\n", 1);
		free(got[k - 1]);
	}
	return o.s;
}

const char *
errtail_last(const char *tail, size_t *len)
{
	const char *nl, *p;

	if (tail == NULL || *tail == '\0')
		return NULL;
	p = (nl = strrchr(tail, '\n')) != NULL ? nl + 1 : tail;
	while (*p == ' ')
		p++;
	*len = strlen(p);
	return p;
}

char *
errtail_unecho(char *tail, const char *error)
{
	char *last;
	size_t n, en;

	if (tail == NULL || error == NULL || *error == '\0')
		return tail;
	last = (last = strrchr(tail, '\n')) != NULL ? last + 1 : tail;
	n = strlen(last);
	en = strlen(error);
	if (n < en || strcmp(last + n - en, error) != 0)
		return tail;
	if (last == tail) {
		free(tail);
		return NULL;
	}
	last[-1] = '\0';
	return tail;
}

char *
errtail_line(const char *error, const char *tail)
{
	struct strbuf o = STRBUF_INIT;
	const char *p, *nl;

	strbuf_add(&o, "", 0);
	if (error != NULL)
		strbuf_str(&o, error);
	if (tail == NULL || *tail == '\0')
		return o.s;
	if (error != NULL)
		strbuf_lit(&o, "; stderr: ");
	for (p = tail; ; p = nl + 1) {
		while (*p == ' ')
			p++;
		nl = strchr(p, '\n');
		strbuf_add(&o, p, nl != NULL ? (size_t)(nl - p) : strlen(p));
		if (nl == NULL)
			break;
		strbuf_lit(&o, " | ");
	}
	return o.s;
}

/* Characters (UTF-8 sequences) in the first n bytes of s. */
static size_t
nchars(const char *s, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			c++;
	return c;
}

char *
errtail_cut(const char *s, size_t width)
{
	size_t len = strlen(s), i, c = 0, best = 0, first = 0;

	if (nchars(s, len) <= width)
		return xstrdup(s);
	/* the last end of a word before which the text and "..." fit; or,
	 * when none, the end of the first word; c counts the characters
	 * before s[i] */
	for (i = 0; i < len; i++) {
		if (i > 0 && s[i] == ' ' && s[i - 1] != ' ') {
			if (first == 0)
				first = i;
			if (c + 3 > width)
				break;
			best = i;
		}
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			c++;
	}
	if (best == 0)
		best = first;
	if (best == 0)
		return xstrdup(s);	/* one word: kept whole */
	return xasprintf("%.*s...", (int)best, s);
}

/* Does the line (len bytes) end with suffix? */
static bool
ends_with(const char *line, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && memcmp(line + len - n, suffix, n) == 0;
}

enum reason
errtail_shell(int exit_code, const char *tail, const char **error)
{
	const char *last;
	size_t len;

	if ((exit_code != 127 && exit_code != 126) ||
	    (last = errtail_last(tail, &len)) == NULL)
		return REASON_NONE;
	/* dash: "sh: 1: x: not found"; bash: "bash: line 1: x: command not
	 * found" */
	if (exit_code == 127 && ends_with(last, len, ": not found")) {
		*error = "command not found";
		return REASON_SPAWN_ERROR;
	}
	if (exit_code == 127 && ends_with(last, len, ": command not found")) {
		*error = "command not found";
		return REASON_SPAWN_ERROR;
	}
	/* "Permission denied" (no x bit), "Is a directory", "Exec format
	 * error" (dash), "cannot execute binary file..." (bash) */
	if (exit_code == 126 && (ends_with(last, len, ": Permission denied") ||
	    ends_with(last, len, ": Is a directory") ||
	    ends_with(last, len, ": Exec format error") ||
	    strstr(last, ": cannot execute") != NULL)) {
		*error = "not executable";
		return REASON_SPAWN_ERROR;
	}
	return REASON_NONE;
}

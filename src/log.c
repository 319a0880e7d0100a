#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xmalloc.h"

static enum log_level log_min = LOG_INFO;
static const char *const log_names[] = { "DEBUG", "INFO", "WARN", "ERROR" };

void
log_set_level(enum log_level level)
{
	log_min = level;
}

size_t
log_utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned int cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) { len = 2; cp = s[0] & 0x1f; }
	else if ((s[0] & 0xf0) == 0xe0) { len = 3; cp = s[0] & 0x0f; }
	else if ((s[0] & 0xf8) == 0xf0) { len = 4; cp = s[0] & 0x07; }
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
		return 0;
	return len;
}

char *
log_escape(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	char *out = xmalloc(len * 4 + 1), *p = out;
	size_t i = 0, l;

	while (i < len) {
		if (u[i] == '\\') {
			*p++ = '\\'; *p++ = '\\';
			i++;
		} else if (u[i] < 0x20 || u[i] == 0x7f ||
		    (l = log_utf8_len(u + i, len - i)) == 0) {
			p += sprintf(p, "\\x%02x", u[i]);
			i++;
		} else {
			memcpy(p, u + i, l);
			p += l;
			i += l;
		}
	}
	*p = '\0';
	return out;
}

void
log_event(enum log_level level, const char *job, const char *node,
    const char *event, const char *fmt, ...)
{
	va_list ap;
	char *detail, *esc, *ejob;

	if (level < log_min)
		return;
	va_start(ap, fmt);
	detail = xvasprintf(fmt, ap);
	va_end(ap);
	esc = log_escape(detail, strlen(detail));
	/* job ids come from file names: untrusted too */
	ejob = log_escape(job ? job : "-", strlen(job ? job : "-"));
	if (node != NULL)
		fprintf(stderr, "%s %s/%s %s %s\n", log_names[level], ejob,
		    node, event, esc);
	else
		fprintf(stderr, "%s %s %s %s\n", log_names[level], ejob,
		    event, esc);
	free(detail);
	free(esc);
	free(ejob);
}

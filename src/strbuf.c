/* A string that grows (see strbuf.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "units.h"
#include "xmalloc.h"

char *
strbuf_room(struct strbuf *b, size_t n)
{
	if (n > SIZE_MAX - 1 - b->len)
		abort();	/* cannot be: the text would not fit memory */
	if (b->cap - b->len <= n)
		xgrow(&b->s, &b->cap, b->len + n + 1, 1);
	return b->s + b->len;
}

void
strbuf_add(struct strbuf *b, const char *s, size_t n)
{
	char	*p = strbuf_room(b, n);

	memcpy(p, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void
strbuf_str(struct strbuf *b, const char *s)
{
	strbuf_add(b, s, strlen(s));
}

void
strbuf_int(struct strbuf *b, int64_t v)
{
	char		 buf[UNITS_INT_LEN];
	const char	*p = units_int(v, buf);

	strbuf_add(b, p, (size_t)(buf + sizeof buf - 1 - p));
}

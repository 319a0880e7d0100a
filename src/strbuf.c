/* A string that grows (see strbuf.h). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"

#include "strbuf.h"
#include "units.h"
#include "xmalloc.h"

void
strbuf_init_spill(struct strbuf *b, int fd)
{
	memset(b, 0, sizeof *b);
	b->fd = fd;
	b->spill = 1;
}

int
strbuf_flush(struct strbuf *b)
{
	if (b->spill && b->len > 0 && b->err == 0) {
		if (fs_write_all(b->fd, b->s, b->len) != 0)
			b->err = errno != 0 ? errno : EIO;
		else
			b->spilled += b->len;
	}
	b->len = 0;
	if (b->s != NULL)
		b->s[0] = '\0';
	if (b->err != 0) {
		errno = b->err;
		return -1;
	}
	return 0;
}

void
strbuf_release(struct strbuf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}

char *
strbuf_room(struct strbuf *b, size_t n)
{
	if (b->spill && b->len > 0 && b->len + n > STRBUF_SPILL)
		(void)strbuf_flush(b);
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

/* A string that grows as text is appended: the one buffer the renderers
 * (state, trace, timeline), the http templates and the Slurm scripts write
 * into. */
#ifndef DAGEXEC_STRBUF_H
#define DAGEXEC_STRBUF_H

#include <stddef.h>
#include <stdint.h>

struct strbuf {
	char	*s;		/* NUL-terminated once anything was added */
	size_t	 len;
	size_t	 cap;
};

#define STRBUF_INIT	{ NULL, 0, 0 }

/* Room for n more bytes and a NUL after the text: where they go. The
 * caller writes there and moves len; the NUL is its to write. */
char *strbuf_room(struct strbuf *b, size_t n);
/* Append n bytes of s (NUL-terminated after). */
void strbuf_add(struct strbuf *b, const char *s, size_t n);
/* Append the string s. */
void strbuf_str(struct strbuf *b, const char *s);
/* Append v in decimal, as "%lld" writes it, without printf. */
void strbuf_int(struct strbuf *b, int64_t v);
/* Append a string literal. */
#define strbuf_lit(b, lit)	strbuf_add(b, lit, sizeof(lit) - 1)

#endif

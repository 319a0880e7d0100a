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
	int	 fd;		/* with spill: where the text goes */
	int	 err;		/* the errno of a write that failed, or 0 */
	size_t	 spilled;	/* bytes written to fd so far */
	int	 spill;		/* text past STRBUF_SPILL bytes is written to
				   fd and dropped from s */
};

#define STRBUF_INIT	{ NULL, 0, 0, -1, 0, 0, 0 }
#define STRBUF_SPILL	65536

/* A buffer that writes its text to fd whenever it holds more than
 * STRBUF_SPILL bytes: a file of any size is rendered in bounded memory.
 * Nothing may read back text once more is appended. */
void strbuf_init_spill(struct strbuf *b, int fd);
/* Write what is held to fd (a spilling buffer): 0, or -1 with errno (also
 * for an earlier write that failed). */
int strbuf_flush(struct strbuf *b);
/* Bytes appended in all, those already written to fd included. */
#define strbuf_total(b)	((b)->spilled + (b)->len)
/* Free the text; the buffer is empty again (fd is not closed). */
void strbuf_release(struct strbuf *b);

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

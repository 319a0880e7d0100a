#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "manifest.h"
#include "strbuf.h"
#include "strmap.h"
#include "units.h"
#include "xmalloc.h"

#define MANIFEST_MAX_ERRORS	1000	/* stop reporting after this many */
#define MANIFEST_ALIAS_VISITS	1000000	/* nodes walked through aliases */
#define MANIFEST_MAX_MESSAGE	400	/* bytes of one message */
#define MANIFEST_DEFAULT_COPIES	2000000	/* values copied from defaults */
#define MANIFEST_CYCLE_SHOW	20	/* ids of a cycle named; a longer
					   one shows its first and last
					   halves of these */

/* ------------------------------------------------------------------------ */
/* reasons */

static const char *const reason_names[REASON__COUNT] = {
	[REASON_NONE] = NULL,
	[REASON_EXIT] = "exit",
	[REASON_SIGNAL] = "signal",
	[REASON_TIMEOUT] = "timeout",
	[REASON_RLIMIT_CPU] = "rlimit_cpu",
	[REASON_RLIMIT_FSIZE] = "rlimit_fsize",
	[REASON_SPAWN_ERROR] = "spawn_error",
	[REASON_OUTPUT_MISSING] = "output_missing",
	[REASON_HTTP_STATUS] = "http_status",
	[REASON_CHECKSUM] = "checksum",
	[REASON_UPSTREAM_FAILED] = "upstream_failed",
	[REASON_CANCELLED] = "cancelled",
	[REASON_BUDGET] = "budget",
	[REASON_DEADLINE] = "deadline",
	[REASON_LOST] = "lost",
	[REASON_OOM] = "oom",
};

/* The classes a node may retry on (retry_on). */
#define RETRYABLE_MASK ((1u << REASON_EXIT) | (1u << REASON_SIGNAL) | \
	(1u << REASON_TIMEOUT) | (1u << REASON_RLIMIT_CPU) | \
	(1u << REASON_RLIMIT_FSIZE) | (1u << REASON_SPAWN_ERROR) | \
	(1u << REASON_OUTPUT_MISSING) | (1u << REASON_HTTP_STATUS) | \
	(1u << REASON_CHECKSUM) | (1u << REASON_LOST) | \
	(1u << REASON_OOM))
#define RETRY_ON_DEFAULT (RETRYABLE_MASK & ~(1u << REASON_SPAWN_ERROR))

const char *
reason_name(enum reason r)
{
	if ((int)r <= REASON_NONE || r >= REASON__COUNT)
		return NULL;
	return reason_names[r];
}

int
reason_parse(const char *s)
{
	int i;

	for (i = REASON_NONE + 1; i < REASON__COUNT; i++) {
		if (strcmp(reason_names[i], s) == 0)
			return i;
	}
	return -1;
}

/* ------------------------------------------------------------------------ */
/* A small YAML tree with positions, built from libyaml events in an arena.
 * Aliases point at their anchor's node (shared, never copied). */

enum ytype { Y_SCALAR, Y_SEQ, Y_MAP };

struct ynode {
	int		 line;
	int		 col;
	uint32_t	 n;		/* scalar length; kids (map: 2 a pair);
					   the text is at most 16 MiB */
	unsigned char	 type;
	unsigned char	 plain;		/* plain scalar (not quoted, no tag) */
	union {
		char		*s;	/* NUL-terminated copy */
		struct ynode	**kids;
	} u;
};

struct achunk {
	struct achunk	*next;
	size_t		 used;
	size_t		 size;
	char		 data[];
};

struct arena {
	struct achunk	*head;
};

static void *
arena_alloc(struct arena *a, size_t size)
{
	struct achunk *c = a->head;
	size_t csize;
	void *p;

	size = (size + 7) & ~(size_t)7;
	if (c == NULL || c->size - c->used < size) {
		/* Big enough to be mmap'd: freed, it goes back at once. */
		csize = size > 65536 ? size : 65536;
		c = xmalloc(sizeof *c + csize);
		c->size = csize;
		c->used = 0;
		c->next = a->head;
		a->head = c;
	}
	p = c->data + c->used;
	c->used += size;
	return p;
}

static void
arena_free(struct arena *a)
{
	struct achunk *c, *next;

	for (c = a->head; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	a->head = NULL;
}

/* ------------------------------------------------------------------------ */
/* The parse context. */

struct ctx {
	const char	*file;
	struct diags	*d;
	size_t		 nerr;
	bool		 stop;		/* too many errors, or a blown bound */
	struct manifest	*m;
	struct arena	 arena;
	size_t		 ntree;		/* nodes in the tree */
	size_t		 visits;	/* kids walked */
	size_t		 maxvisits;
	size_t		 copies;	/* values copied from defaults */
	size_t		 merged;	/* pairs added by merge keys */
	struct strmap	*pools;		/* pool name -> index */
	size_t		*mark;		/* per node: last node + 1 needing it */
	size_t		*pairidx;	/* per pair of `nodes`: its node, or
					   SIZE_MAX */
};

/* Add a message as it is: the caller made it safe to print and bounded its
 * length. */
static void
err_add(struct ctx *c, int line, int col, const char *msg)
{
	if (c->stop)
		return;
	diags_add(c->d, line, col, "%s", msg);
	if (++c->nerr >= MANIFEST_MAX_ERRORS) {
		diags_add(c->d, line, col, "too many errors, stopping");
		c->stop = true;
	}
}

static void err(struct ctx *, int, int, const char *, ...)
    __attribute__((format(printf, 4, 5)));

static void
err(struct ctx *c, int line, int col, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	size_t i, len;

	if (c->stop)
		return;
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	/* The message quotes the manifest: no control characters reach a
	 * terminal, and a huge key or value is cut short. */
	len = strlen(msg);
	for (i = 0; i < len; i++) {
		if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f)
			msg[i] = '?';
	}
	if (len > MANIFEST_MAX_MESSAGE)
		memcpy(msg + MANIFEST_MAX_MESSAGE - 3, "...", 4);
	err_add(c, line, col, msg);
	free(msg);
}

static void
yerr(struct ctx *c, const struct ynode *y, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
yerr(struct ctx *c, const struct ynode *y, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	err(c, y->line, y->col, "%s", msg);
	free(msg);
}

/* Account for walking n kids; false once the alias bound is blown. */
static bool
charge(struct ctx *c, const struct ynode *y, size_t n)
{
	if (c->stop)
		return false;
	c->visits += n;
	if (c->visits > c->maxvisits) {
		yerr(c, y, "aliases expand to too many nodes (more than %d)",
		    MANIFEST_ALIAS_VISITS);
		c->stop = true;
		return false;
	}
	return true;
}

/* ------------------------------------------------------------------------ */
/* Building the tree. */

struct frame {
	struct ynode	 *node;
	struct ynode	**kids;
	size_t		  n;
	size_t		  cap;
	char		 *anchor;
};

/* Line and column (1-based, in characters) of byte offset off. */
static void
text_position(const char *text, size_t len, size_t off, int *line, int *col)
{
	size_t i;
	int l = 1, cl = 1;

	if (off > len)
		off = len;
	for (i = 0; i < off; i++) {
		if (text[i] == '\n') {
			l++;
			cl = 1;
		} else if (((unsigned char)text[i] & 0xc0) != 0x80)
			cl++;
	}
	*line = l;
	*col = cl;
}

/* A new tree node; extra bytes of room after it (for a scalar's text). */
static struct ynode *
ynew(struct ctx *c, int type, const yaml_mark_t *mk, size_t extra)
{
	struct ynode *y = arena_alloc(&c->arena, sizeof *y + extra);

	memset(y, 0, sizeof *y);
	y->type = (unsigned char)type;
	y->line = (int)mk->line + 1;
	y->col = (int)mk->column + 1;
	c->ntree++;
	return y;
}

static char *
arena_strdup(struct ctx *c, const char *s, size_t len)
{
	char *p = arena_alloc(&c->arena, len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

static void
frame_add(struct frame *f, struct ynode *y)
{
	xgrow(&f->kids, &f->cap, f->n + 1, sizeof *f->kids);
	f->kids[f->n++] = y;
}

static const char *ydesc(const struct ynode *);

static bool
is_merge_key(const struct ynode *k)
{
	return k->type == Y_SCALAR && k->plain && strcmp(k->u.s, "<<") == 0;
}

/*
 * YAML merge keys ("<<: *base", "<<: [*a, *b]") in the mapping being closed:
 * the pairs of the merged mappings are added where the mapping does not set
 * the key itself (and an earlier merged mapping did not). Returns 0, or -1
 * when the merges expand past the bound.
 */
static int
merge_keys(struct ctx *c, struct frame *f)
{
	struct ynode **out = NULL, *v, *src, *k;
	struct strmap *seen = NULL;
	size_t i, j, s, n = 0, cap = 0, nsrc;
	int rc = -1;

	for (i = 0; i + 1 < f->n; i += 2)
		if (is_merge_key(f->kids[i]))
			break;
	if (i + 1 >= f->n)
		return 0;
	seen = strmap_new(f->n);
	for (i = 0; i + 1 < f->n; i += 2) {
		if (is_merge_key(f->kids[i]))
			continue;
		xgrow(&out, &cap, n + 2, sizeof *out);
		out[n++] = f->kids[i];
		out[n++] = f->kids[i + 1];
		if (f->kids[i]->type == Y_SCALAR)
			strmap_put(seen, f->kids[i]->u.s, 0, NULL);
	}
	for (i = 0; i + 1 < f->n; i += 2) {
		if (!is_merge_key(f->kids[i]))
			continue;
		v = f->kids[i + 1];
		nsrc = v->type == Y_SEQ ? v->n : 1;
		for (s = 0; s < nsrc; s++) {
			src = v->type == Y_SEQ ? v->u.kids[s] : v;
			if (src->type != Y_MAP) {
				yerr(c, src, "a merge key ('<<') takes a "
				    "mapping or a sequence of mappings, not "
				    "%s", ydesc(src));
				continue;
			}
			c->merged += src->n / 2;
			if (c->merged > MANIFEST_ALIAS_VISITS) {
				yerr(c, src, "merge keys expand to too many "
				    "entries (more than %d)",
				    MANIFEST_ALIAS_VISITS);
				goto out;
			}
			for (j = 0; j + 1 < src->n; j += 2) {
				k = src->u.kids[j];
				if (k->type == Y_SCALAR &&
				    strmap_put(seen, k->u.s, 0, NULL) != 0)
					continue;
				xgrow(&out, &cap, n + 2, sizeof *out);
				out[n++] = k;
				out[n++] = src->u.kids[j + 1];
			}
		}
	}
	free(f->kids);
	f->kids = out;
	f->cap = cap;
	f->n = n;
	out = NULL;
	rc = 0;
out:
	free(out);
	strmap_free(seen);
	return rc;
}

/* Build the tree of the single document in text; NULL (and errors) when the
 * text is not one well-formed, bounded YAML document. */
static struct ynode *
yaml_build(struct ctx *c, const char *text, size_t len)
{
	yaml_parser_t p;
	yaml_event_t ev;
	struct frame stack[MANIFEST_MAX_DEPTH + 1];
	struct strmap *anchors = strmap_new(16);
	struct ynode *root = NULL, *y, *result = NULL;
	size_t depth = 0, ndocs = 0, naliases = 0, i, v;
	const char *anchor;
	int line, col;
	bool done = false, failed = false;

	memset(stack, 0, sizeof stack);
	if (!yaml_parser_initialize(&p)) {
		err(c, 0, 0, "cannot initialize the yaml parser");
		strmap_free(anchors);
		return NULL;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	while (!done && !failed) {
		if (!yaml_parser_parse(&p, &ev)) {
			if (p.error == YAML_READER_ERROR) {
				text_position(text, len, p.problem_offset,
				    &line, &col);
				err(c, line, col, "%s", p.problem != NULL ?
				    p.problem : "cannot read the text");
			} else if (p.context != NULL)
				err(c, (int)p.problem_mark.line + 1,
				    (int)p.problem_mark.column + 1,
				    "%s (%s started at %d:%d)", p.problem !=
				    NULL ? p.problem : "syntax error",
				    p.context, (int)p.context_mark.line + 1,
				    (int)p.context_mark.column + 1);
			else
				err(c, (int)p.problem_mark.line + 1,
				    (int)p.problem_mark.column + 1, "%s",
				    p.problem != NULL ? p.problem :
				    "syntax error");
			failed = true;
			break;
		}
		y = NULL;
		anchor = NULL;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++ndocs > 1) {
				err(c, (int)ev.start_mark.line + 1,
				    (int)ev.start_mark.column + 1,
				    "more than one yaml document (a manifest "
				    "is one document)");
				done = true;
			}
			break;
		case YAML_ALIAS_EVENT:
			if (++naliases > MANIFEST_MAX_ALIASES) {
				err(c, (int)ev.start_mark.line + 1,
				    (int)ev.start_mark.column + 1,
				    "more than %d aliases",
				    MANIFEST_MAX_ALIASES);
				failed = true;
				break;
			}
			if (!strmap_get(anchors, (const char *)
			    ev.data.alias.anchor, &v)) {
				err(c, (int)ev.start_mark.line + 1,
				    (int)ev.start_mark.column + 1,
				    "unknown anchor '%s'",
				    (const char *)ev.data.alias.anchor);
				failed = true;
				break;
			}
			y = (struct ynode *)v;
			break;
		case YAML_SCALAR_EVENT:
			y = ynew(c, Y_SCALAR, &ev.start_mark,
			    ev.data.scalar.length + 1);
			y->plain = ev.data.scalar.style ==
			    YAML_PLAIN_SCALAR_STYLE && ev.data.scalar.tag ==
			    NULL;
			y->n = (uint32_t)ev.data.scalar.length;
			y->u.s = (char *)(y + 1);
			memcpy(y->u.s, ev.data.scalar.value, y->n);
			y->u.s[y->n] = '\0';
			anchor = (const char *)ev.data.scalar.anchor;
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (depth >= MANIFEST_MAX_DEPTH) {
				err(c, (int)ev.start_mark.line + 1,
				    (int)ev.start_mark.column + 1,
				    "nesting deeper than %d levels",
				    MANIFEST_MAX_DEPTH);
				failed = true;
				break;
			}
			stack[depth].node = ynew(c, ev.type ==
			    YAML_SEQUENCE_START_EVENT ? Y_SEQ : Y_MAP,
			    &ev.start_mark, 0);
			stack[depth].n = 0;
			stack[depth].anchor = NULL;
			anchor = ev.type == YAML_SEQUENCE_START_EVENT ?
			    (const char *)ev.data.sequence_start.anchor :
			    (const char *)ev.data.mapping_start.anchor;
			if (anchor != NULL)
				stack[depth].anchor = arena_strdup(c, anchor,
				    strlen(anchor));
			anchor = NULL;
			depth++;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			y = stack[depth].node;
			if (y->type == Y_MAP &&
			    merge_keys(c, &stack[depth]) != 0) {
				failed = true;
				break;
			}
			y->n = (uint32_t)stack[depth].n;
			y->u.kids = arena_alloc(&c->arena, (y->n + 1) *
			    sizeof *y->u.kids);
			if (y->n > 0)
				memcpy(y->u.kids, stack[depth].kids, y->n *
				    sizeof *y->u.kids);
			/* An anchor names its node once it is complete, so
			 * that no alias can make the tree a loop. */
			if (stack[depth].anchor != NULL)
				strmap_set(anchors, stack[depth].anchor,
				    (size_t)y);
			break;
		default:
			break;
		}
		if (y != NULL && anchor != NULL)
			strmap_set(anchors, arena_strdup(c, anchor,
			    strlen(anchor)), (size_t)y);
		if (y != NULL) {
			if (depth > 0)
				frame_add(&stack[depth - 1], y);
			else if (root == NULL)
				root = y;
		}
		yaml_event_delete(&ev);
	}
	if (!failed && ndocs == 0)
		err(c, 0, 0, "empty manifest");
	else if (!failed)
		result = root;
	for (i = 0; i <= MANIFEST_MAX_DEPTH; i++)
		free(stack[i].kids);
	strmap_free(anchors);
	yaml_parser_delete(&p);
	return result;
}

/* ------------------------------------------------------------------------ */
/* Scalars and types. */

static bool
is_null(const struct ynode *y)
{
	const char *s = y->u.s;

	if (y->type != Y_SCALAR || !y->plain)
		return false;
	return *s == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
	    strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

static bool
is_bool(const struct ynode *y, bool *b)
{
	if (y->type != Y_SCALAR || !y->plain)
		return false;
	if (strcmp(y->u.s, "true") == 0) {
		*b = true;
		return true;
	}
	if (strcmp(y->u.s, "false") == 0) {
		*b = false;
		return true;
	}
	return false;
}

/* An integer: optional sign and decimal digits. */
static bool
is_intlike(const struct ynode *y)
{
	const char *s = y->u.s;

	if (y->type != Y_SCALAR || !y->plain)
		return false;
	if (*s == '-' || *s == '+')
		s++;
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* A decimal number: [sign] digits [. digits] [e [sign] digits]. */
static bool
is_numlike(const struct ynode *y)
{
	const char *s = y->u.s;
	int nd = 0;

	if (y->type != Y_SCALAR || !y->plain)
		return false;
	if (*s == '-' || *s == '+')
		s++;
	for (; *s >= '0' && *s <= '9'; s++)
		nd++;
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++)
			nd++;
	if (nd == 0)
		return false;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '-' || *s == '+')
			s++;
		if (*s < '0' || *s > '9')
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return *s == '\0';
}

static const char *
ydesc(const struct ynode *y)
{
	bool b;

	if (y->type == Y_MAP)
		return "a mapping";
	if (y->type == Y_SEQ)
		return "a sequence";
	if (is_null(y))
		return "null";
	if (is_bool(y, &b))
		return "a boolean";
	if (is_intlike(y))
		return "an integer";
	if (is_numlike(y))
		return "a number";
	return "a string";
}

/* Any non-null scalar as a string: 1 and *out (borrowed), 0 when null,
 * -1 on error. */
static int
get_str(struct ctx *c, const char *key, const struct ynode *v,
    const char **out)
{
	if (is_null(v))
		return 0;
	if (v->type != Y_SCALAR) {
		yerr(c, v, "'%s' must be a string, not %s", key, ydesc(v));
		return -1;
	}
	if (strlen(v->u.s) != v->n) {
		yerr(c, v, "'%s' contains a NUL character", key);
		return -1;
	}
	*out = v->u.s;
	return 1;
}

/* A non-empty string, copied. */
static int
get_nestr(struct ctx *c, const char *key, const struct ynode *v, char **out)
{
	const char *s;
	int r;

	if ((r = get_str(c, key, v, &s)) != 1)
		return r;
	if (*s == '\0') {
		yerr(c, v, "'%s' must not be empty", key);
		return -1;
	}
	free(*out);
	*out = xstrdup(s);
	return 1;
}

static int
get_int(struct ctx *c, const char *key, const struct ynode *v, int64_t lo,
    int64_t hi, int64_t *out)
{
	long long x;
	char *end;

	if (is_null(v))
		return 0;
	if (!is_intlike(v)) {
		yerr(c, v, "'%s' must be an integer, not %s", key, ydesc(v));
		return -1;
	}
	errno = 0;
	x = strtoll(v->u.s, &end, 10);
	if (errno != 0 || *end != '\0' || x < lo || x > hi) {
		yerr(c, v, "'%s' must be between %" PRId64 " and %" PRId64,
		    key, lo, hi);
		return -1;
	}
	*out = x;
	return 1;
}

static int
get_intv(struct ctx *c, const char *key, const struct ynode *v, int lo,
    int hi, int *out)
{
	int64_t x;
	int r;

	if ((r = get_int(c, key, v, lo, hi, &x)) == 1)
		*out = (int)x;
	return r;
}

static int
get_bool(struct ctx *c, const char *key, const struct ynode *v, bool *out)
{
	if (is_null(v))
		return 0;
	if (!is_bool(v, out)) {
		yerr(c, v, "'%s' must be a boolean (true or false), not %s",
		    key, ydesc(v));
		return -1;
	}
	return 1;
}

static int
get_duration(struct ctx *c, const char *key, const struct ynode *v,
    int64_t *out)
{
	const char *why;
	int64_t ms;

	if (is_null(v))
		return 0;
	if (v->type != Y_SCALAR) {
		yerr(c, v, "'%s' must be a duration, not %s", key, ydesc(v));
		return -1;
	}
	if (units_parse_duration(v->u.s, &ms, &why) != 0) {
		yerr(c, v, "invalid duration '%s' for '%s': %s", v->u.s, key,
		    why);
		return -1;
	}
	*out = ms;
	return 1;
}

static int
get_size(struct ctx *c, const char *key, const struct ynode *v, int64_t lo,
    int64_t *out)
{
	const char *why;
	int64_t b;
	char buf[32];

	if (is_null(v))
		return 0;
	if (v->type != Y_SCALAR) {
		yerr(c, v, "'%s' must be a size, not %s", key, ydesc(v));
		return -1;
	}
	if (units_parse_size(v->u.s, &b, &why) != 0) {
		yerr(c, v, "invalid size '%s' for '%s': %s", v->u.s, key, why);
		return -1;
	}
	if (b < lo) {
		yerr(c, v, "'%s' must be at least %s", key,
		    units_format_size(lo, buf, sizeof buf));
		return -1;
	}
	*out = b;
	return 1;
}

/* One of names (NULL-terminated); the index in *out. */
static int
get_enum(struct ctx *c, const char *key, const struct ynode *v,
    const char *const *names, int *out)
{
	const char *s;
	char *list = NULL, *tmp;
	int i, r;

	if ((r = get_str(c, key, v, &s)) != 1)
		return r;
	for (i = 0; names[i] != NULL; i++) {
		if (strcmp(names[i], s) == 0) {
			*out = i;
			return 1;
		}
	}
	for (i = 0; names[i] != NULL; i++) {
		tmp = list;
		list = xasprintf("%s%s%s", tmp == NULL ? "" : tmp,
		    tmp == NULL ? "" : (names[i + 1] == NULL ? " or " : ", "),
		    names[i]);
		free(tmp);
	}
	yerr(c, v, "invalid %s '%s' (expected %s)", key, s, list);
	free(list);
	return -1;
}

/* ------------------------------------------------------------------------ */
/* Names. */

static bool
valid_id(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > MANIFEST_ID_MAX)
		return false;
	for (i = 0; i < n; i++) {
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' &&
		    s[i] != '_' && s[i] != '-')
			return false;
	}
	return true;
}

bool
manifest_id_ok(const char *s)
{
	return valid_id(s, strlen(s));
}

static bool
valid_envname(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return false;
	for (s++; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

static bool
valid_budgetname(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return false;
	for (s++; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.' &&
		    *s != '-')
			return false;
	return true;
}

static size_t
levenshtein(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, prev, cur, t;
	size_t row[MANIFEST_ID_MAX + 2];

	if (la > MANIFEST_ID_MAX || lb > MANIFEST_ID_MAX)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			cur = row[j];
			t = prev + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < t)
				t = row[j] + 1;
			if (row[j - 1] + 1 < t)
				t = row[j - 1] + 1;
			row[j] = t;
			prev = cur;
		}
	}
	return row[lb];
}

/* The closest of the candidates to s when close enough, or NULL. */
static const char *
suggest(const char *s, const char *const *cand, size_t n)
{
	const char *best = NULL;
	size_t i, d, bestd = SIZE_MAX, len = strlen(s);

	for (i = 0; i < n; i++) {
		if (cand[i] == NULL)
			continue;
		d = levenshtein(s, cand[i]);
		if (d < bestd) {
			bestd = d;
			best = cand[i];
		}
	}
	if (best != NULL && (bestd <= 2 || bestd <= len / 3) &&
	    bestd < len && bestd < strlen(best))
		return best;
	return NULL;
}

static void
unknown_key(struct ctx *c, const struct ynode *k, const char *what,
    const char *const *cand, size_t n)
{
	const char *s = suggest(k->u.s, cand, n);

	if (s != NULL)
		yerr(c, k, "unknown %s '%s' (did you mean '%s'?)", what,
		    k->u.s, s);
	else
		yerr(c, k, "unknown %s '%s'", what, k->u.s);
}

static int
key_index(const char *s, const char *const *names)
{
	int i;

	for (i = 0; names[i] != NULL; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

static size_t
count_names(const char *const *names)
{
	size_t n = 0;

	while (names[n] != NULL)
		n++;
	return n;
}

/* ------------------------------------------------------------------------ */
/* Walking mappings: non-scalar and duplicate keys are reported and skipped. */

struct mapit {
	const struct ynode	*map;
	size_t			 i;
	struct strmap		*seen;
};

static void
mapit_init(struct mapit *it, const struct ynode *map)
{
	it->map = map;
	it->i = 0;
	it->seen = NULL;
}

static void
mapit_release(struct mapit *it)
{
	strmap_free(it->seen);
	it->seen = NULL;
}

/* The first earlier pair with the same key, or SIZE_MAX. */
static size_t
mapit_dup(struct mapit *it, size_t pair)
{
	const struct ynode *const *kids = (const struct ynode *const *)
	    it->map->u.kids;
	size_t j, old, npairs = it->map->n / 2;

	if (npairs <= 16) {
		for (j = 0; j < pair; j++) {
			if (kids[2 * j]->type == Y_SCALAR &&
			    strcmp(kids[2 * j]->u.s, kids[2 * pair]->u.s) == 0)
				return j;
		}
		return SIZE_MAX;
	}
	if (it->seen == NULL)
		it->seen = strmap_new(npairs);
	if (strmap_put(it->seen, kids[2 * pair]->u.s, pair, &old) != 0)
		return old;
	return SIZE_MAX;
}

static bool
map_next(struct ctx *c, struct mapit *it, struct ynode **k, struct ynode **v)
{
	struct ynode *key;
	size_t pair, dup;

	while (!c->stop && it->i < it->map->n) {
		pair = it->i / 2;
		key = it->map->u.kids[it->i];
		*k = key;
		*v = it->map->u.kids[it->i + 1];
		it->i += 2;
		if (!charge(c, it->map, 2))
			break;
		if (key->type != Y_SCALAR) {
			yerr(c, key, "a key must be a string, not %s",
			    ydesc(key));
			continue;
		}
		if (strlen(key->u.s) != key->n) {
			yerr(c, key, "a key contains a NUL character");
			continue;
		}
		if ((dup = mapit_dup(it, pair)) != SIZE_MAX) {
			yerr(c, key, "duplicate key '%s' (first at line %d)",
			    key->u.s, it->map->u.kids[2 * dup]->line);
			continue;
		}
		return true;
	}
	mapit_release(it);
	return false;
}

/* v must be a mapping (or null: 0). */
static int
want_map(struct ctx *c, const char *key, const struct ynode *v)
{
	if (is_null(v))
		return 0;
	if (v->type != Y_MAP) {
		yerr(c, v, "'%s' must be a mapping, not %s", key, ydesc(v));
		return -1;
	}
	return 1;
}

static int
want_seq(struct ctx *c, const char *key, const struct ynode *v)
{
	if (is_null(v))
		return 0;
	if (v->type != Y_SEQ) {
		yerr(c, v, "'%s' must be a sequence, not %s", key, ydesc(v));
		return -1;
	}
	return charge(c, v, v->n) ? 1 : -1;
}

/* ------------------------------------------------------------------------ */
/* Small value checks. */

static bool
check_relpath(struct ctx *c, const char *key, const struct ynode *v,
    const char *s)
{
	const char *p, *e;

	if (*s == '\0') {
		yerr(c, v, "'%s' must not be empty", key);
		return false;
	}
	if (*s == '/') {
		yerr(c, v, "path '%s' in '%s' must be relative", s, key);
		return false;
	}
	for (p = s; *p != '\0'; p = *e == '\0' ? e : e + 1) {
		e = strchr(p, '/');
		if (e == NULL)
			e = p + strlen(p);
		if (e - p == 2 && p[0] == '.' && p[1] == '.') {
			yerr(c, v, "path '%s' in '%s' must not contain '..'",
			    s, key);
			return false;
		}
	}
	return true;
}

static bool
check_url(struct ctx *c, const char *key, const struct ynode *v,
    const char *s)
{
	if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0) {
		yerr(c, v, "'%s' must start with http:// or https://, not "
		    "'%s'", key, s);
		return false;
	}
	if (strpbrk(s, " \t\r\n") != NULL) {
		yerr(c, v, "'%s' must not contain white space", key);
		return false;
	}
	return true;
}

/* Whether the host of an http(s) url is loopback. */
static bool
url_is_loopback(const char *url)
{
	const char *h = strstr(url, "://"), *e, *at;
	char host[256];
	size_t n;
	unsigned a, b, cc, d;
	char extra;

	if (h == NULL)
		return false;
	h += 3;
	e = h + strcspn(h, "/?#");
	at = memchr(h, '@', (size_t)(e - h));
	while (at != NULL) {
		h = at + 1;
		at = memchr(h, '@', (size_t)(e - h));
	}
	if (*h == '[') {
		n = strcspn(h, "]");
		return n == 4 && strncmp(h, "[::1", 4) == 0 && h[4] == ']';
	}
	n = strcspn(h, ":/?#");
	if (n >= sizeof host)
		return false;
	memcpy(host, h, n);
	host[n] = '\0';
	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (sscanf(host, "%u.%u.%u.%u%c", &a, &b, &cc, &d, &extra) == 4 &&
	    a == 127 && b < 256 && cc < 256 && d < 256 && strspn(host,
	    "0123456789.") == n)
		return true;
	return false;
}

/* ------------------------------------------------------------------------ */
/* Lists. */

static void
strv_free(char **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* A list of strings (a single string too when single); relpath checks each.
 * Replaces *vp. */
static int
get_strlist(struct ctx *c, const char *key, const struct ynode *v,
    bool single, bool relpath, bool nonempty, char ***vp, size_t *np)
{
	const struct ynode *it;
	const char *s;
	char **out;
	size_t i, n = 0;
	int r, bad = 0;

	if (single && v->type == Y_SCALAR && !is_null(v)) {
		if (get_str(c, key, v, &s) != 1)
			return -1;
		if (relpath && !check_relpath(c, key, v, s))
			return -1;
		strv_free(*vp, *np);
		*vp = xcalloc(2, sizeof **vp);
		(*vp)[0] = xstrdup(s);
		*np = 1;
		return 1;
	}
	if ((r = want_seq(c, key, v)) != 1)
		return r;
	if (nonempty && v->n == 0) {
		yerr(c, v, "'%s' must not be empty", key);
		return -1;
	}
	out = xcalloc(v->n + 1, sizeof *out);
	for (i = 0; i < v->n; i++) {
		it = v->u.kids[i];
		if (it->type != Y_SCALAR || is_null(it)) {
			yerr(c, it, "items of '%s' must be strings, not %s",
			    key, ydesc(it));
			bad = 1;
			continue;
		}
		if (get_str(c, key, it, &s) != 1 ||
		    (relpath && !check_relpath(c, key, it, s))) {
			bad = 1;
			continue;
		}
		out[n++] = xstrdup(s);
	}
	if (bad) {
		strv_free(out, n);
		return -1;
	}
	strv_free(*vp, *np);
	*vp = out;
	*np = n;
	return 1;
}

static void
kvlist_free(struct kvlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].value);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* env: NAME -> scalar. */
static int
get_env(struct ctx *c, const char *key, const struct ynode *v,
    struct kvlist *l)
{
	struct mapit it;
	struct ynode *k, *val;
	const char *s;
	int r;

	if ((r = want_map(c, key, v)) != 1)
		return r;
	kvlist_free(l);
	l->v = xcalloc(v->n / 2 + 1, sizeof *l->v);
	mapit_init(&it, v);
	while (map_next(c, &it, &k, &val)) {
		if (!valid_envname(k->u.s)) {
			yerr(c, k, "invalid environment variable name '%s'",
			    k->u.s);
			continue;
		}
		if (strncmp(k->u.s, "DAGEXEC_", 8) == 0) {
			yerr(c, k, "environment variable '%s' is reserved "
			    "(DAGEXEC_ names are set by dagexec)", k->u.s);
			continue;
		}
		if (is_null(val))
			s = "";
		else if (get_str(c, k->u.s, val, &s) != 1)
			continue;
		l->v[l->n].key = xstrdup(k->u.s);
		l->v[l->n].value = xstrdup(s);
		l->n++;
	}
	return 1;
}

/* ------------------------------------------------------------------------ */
/* Nodes. */

enum nkey {
	NK_RUN, NK_ARGV, NK_HTTP, NK_NEEDS, NK_ENV, NK_OUTPUTS, NK_RETRIES,
	NK_RETRY_DELAY, NK_BACKOFF, NK_MAX_RETRY_DELAY, NK_TIMEOUT,
	NK_LIMITS, NK_LOG_LIMIT, NK_RETRY_ON, NK_WHEN, NK_ALLOW_FAILURE,
	NK_POOL, NK_PRIORITY, NK_ESTIMATE, NK_EXECUTOR, NK_SLURM, NK_CACHE,
	NK__COUNT
};

static const char *const node_keys[] = {
	"run", "argv", "http", "needs", "env", "outputs", "retries",
	"retry_delay", "backoff", "max_retry_delay", "timeout", "limits",
	"log_limit", "retry_on", "when", "allow_failure", "pool", "priority",
	"estimate", "executor", "slurm", "cache", NULL
};

static const char *const top_keys[] = {
	"name", "max_parallel", "schedule", "on_failure", "deadline",
	"budget", "env", "workdir", "pools", "notify", "defaults", "nodes",
	NULL
};
static const char *const backoff_names[] = { "exponential", "fixed", NULL };
static const char *const when_names[] = { "success", "always", "failure",
	NULL };
static const char *const executor_names[] = { "local", "slurm", NULL };
static const char *const limit_names[] = { "cpu", "memory", "fsize",
	"nofile", "nproc", "core", NULL };
static const char *const http_keys[] = { "url", "method", "headers", "body",
	"body_file", "save", "sha256", "expect", "follow_redirects",
	"max_bytes", "insecure", NULL };
static const char *const http_methods[] = { "GET", "POST", "PUT", "PATCH",
	"DELETE", "HEAD", NULL };
static const char *const slurm_keys[] = { "partition", "account", "qos",
	"gres", "cpus", "mem", "time", "extra", NULL };
static const char *const cache_keys[] = { "inputs", "env", "max_age", NULL };

static void
node_init(struct node *n)
{
	memset(n, 0, sizeof *n);
	n->retry_delay_ms = 1000;
	n->backoff = BACKOFF_EXPONENTIAL;
	n->max_retry_delay_ms = 300000;
	n->log_limit = 10 << 20;
	n->retry_on = RETRY_ON_DEFAULT;
	n->when = WHEN_SUCCESS;
	n->pool_index = -1;
	n->estimate_ms = -1;
	n->executor = EXECUTOR_LOCAL;
}

static void
http_free(struct http_spec *h)
{
	if (h == NULL)
		return;
	free(h->url);
	free(h->method);
	kvlist_free(&h->headers);
	free(h->body);
	free(h->body_file);
	free(h->save);
	free(h->sha256);
	free(h->expect);
	free(h);
}

static void
slurm_release(struct slurm_spec *s)
{
	free(s->partition);
	free(s->account);
	free(s->qos);
	free(s->gres);
	strv_free(s->extra, s->nextra);
	memset(s, 0, sizeof *s);
}

void
manifest_node_release(struct node *n)
{
	free(n->id);
	free(n->run);
	strv_free(n->argv, n->argc);
	http_free(n->http);
	free(n->needs);
	kvlist_free(&n->env);
	strv_free(n->outputs, n->noutputs);
	free(n->pool);
	slurm_release(&n->slurm);
	strv_free(n->cache.inputs, n->cache.ninputs);
	strv_free(n->cache.env, n->cache.nenv);
}

static void
parse_http(struct ctx *c, const struct ynode *v, struct node *n)
{
	struct http_spec *h;
	struct mapit it;
	struct ynode *k, *val, *insecure_y = NULL, *url_y = NULL;
	struct ynode *body_y = NULL;
	const char *s;
	char *p;
	int idx;
	size_t i;
	int64_t x;

	if (want_map(c, "http", v) != 1)
		return;
	h = xcalloc(1, sizeof *h);
	h->follow_redirects = true;
	h->max_bytes = (int64_t)1 << 30;
	http_free(n->http);
	n->http = h;
	mapit_init(&it, v);
	while (map_next(c, &it, &k, &val)) {
		idx = key_index(k->u.s, http_keys);
		switch (idx) {
		case 0:	/* url */
			if (is_null(val)) {
				yerr(c, val, "'url' must be a string, "
				    "not null");
				url_y = val;
			} else if (get_nestr(c, "url", val, &h->url) == 1) {
				url_y = val;
				if (!check_url(c, "url", val, h->url)) {
					free(h->url);
					h->url = NULL;
				}
			}
			break;
		case 1:	/* method */
			if (get_str(c, "method", val, &s) != 1)
				break;
			p = xstrdup(s);
			for (i = 0; p[i] != '\0'; i++)
				p[i] = (char)toupper((unsigned char)p[i]);
			if (key_index(p, http_methods) < 0) {
				yerr(c, val, "invalid method '%s' (expected "
				    "GET, POST, PUT, PATCH, DELETE or HEAD)",
				    s);
				free(p);
				break;
			}
			free(h->method);
			h->method = p;
			break;
		case 2: {	/* headers */
			struct mapit hit;
			struct ynode *hk, *hv;

			if (want_map(c, "headers", val) != 1)
				break;
			kvlist_free(&h->headers);
			h->headers.v = xcalloc(val->n / 2 + 1,
			    sizeof *h->headers.v);
			mapit_init(&hit, val);
			while (map_next(c, &hit, &hk, &hv)) {
				if (*hk->u.s == '\0' || strpbrk(hk->u.s,
				    ": \t\r\n") != NULL) {
					yerr(c, hk, "invalid header name '%s'",
					    hk->u.s);
					continue;
				}
				if (is_null(hv))
					s = "";
				else if (get_str(c, hk->u.s, hv, &s) != 1)
					continue;
				if (strpbrk(s, "\r\n") != NULL) {
					yerr(c, hv, "header '%s' must not "
					    "contain a line break", hk->u.s);
					continue;
				}
				h->headers.v[h->headers.n].key =
				    xstrdup(hk->u.s);
				h->headers.v[h->headers.n].value = xstrdup(s);
				h->headers.n++;
			}
			break;
		}
		case 3:	/* body */
			if (get_str(c, "body", val, &s) == 1) {
				if (body_y != NULL) {
					yerr(c, k, "'body' and 'body_file' "
					    "cannot both be set");
					break;
				}
				body_y = k;
				free(h->body);
				h->body = xstrdup(s);
			}
			break;
		case 4:	/* body_file */
			if (get_str(c, "body_file", val, &s) == 1 &&
			    check_relpath(c, "body_file", val, s)) {
				if (body_y != NULL) {
					yerr(c, k, "'body' and 'body_file' "
					    "cannot both be set");
					break;
				}
				body_y = k;
				free(h->body_file);
				h->body_file = xstrdup(s);
			}
			break;
		case 5:	/* save */
			if (get_str(c, "save", val, &s) == 1 &&
			    check_relpath(c, "save", val, s)) {
				free(h->save);
				h->save = xstrdup(s);
			}
			break;
		case 6:	/* sha256 */
			if (get_str(c, "sha256", val, &s) != 1)
				break;
			if (strlen(s) != 64 || strspn(s,
			    "0123456789abcdefABCDEF") != 64) {
				yerr(c, val, "'sha256' must be 64 hexadecimal "
				    "digits");
				break;
			}
			free(h->sha256);
			h->sha256 = xstrdup(s);
			for (i = 0; i < 64; i++)
				h->sha256[i] = (char)tolower(
				    (unsigned char)h->sha256[i]);
			break;
		case 7:	/* expect */
			if (want_seq(c, "expect", val) != 1)
				break;
			if (val->n == 0) {
				yerr(c, val, "'expect' must not be empty");
				break;
			}
			free(h->expect);
			h->expect = xcalloc(val->n, sizeof *h->expect);
			h->nexpect = 0;
			for (i = 0; i < val->n; i++) {
				if (get_int(c, "expect", val->u.kids[i], 100,
				    599, &x) == 1)
					h->expect[h->nexpect++] = (int)x;
				else if (is_null(val->u.kids[i]))
					yerr(c, val->u.kids[i], "'expect' "
					    "must be an integer, not null");
			}
			break;
		case 8:
			get_bool(c, "follow_redirects", val,
			    &h->follow_redirects);
			break;
		case 9:
			get_size(c, "max_bytes", val, 1, &h->max_bytes);
			break;
		case 10:
			if (get_bool(c, "insecure", val, &h->insecure) == 1)
				insecure_y = val;
			break;
		default:
			unknown_key(c, k, "key", http_keys,
			    count_names(http_keys));
			break;
		}
	}
	if (h->url == NULL && url_y == NULL)
		yerr(c, v, "missing required key 'url' in 'http'");
	if (h->insecure && h->url != NULL && !url_is_loopback(h->url))
		yerr(c, insecure_y, "'insecure: true' is only allowed for a "
		    "loopback host (localhost, 127.0.0.0/8, [::1])");
	if (h->method == NULL)
		h->method = xstrdup("GET");
}

static void
parse_limits(struct ctx *c, const struct ynode *v, struct node *n)
{
	struct mapit it;
	struct ynode *k, *val;
	int idx;
	int64_t x;

	if (want_map(c, "limits", v) != 1)
		return;
	mapit_init(&it, v);
	while (map_next(c, &it, &k, &val)) {
		idx = key_index(k->u.s, limit_names);
		x = 0;
		switch (idx) {
		case LIMIT_CPU:
			if (get_duration(c, "cpu", val, &x) != 1)
				continue;
			if (x < 1000) {
				yerr(c, val, "'cpu' must be at least 1s");
				continue;
			}
			break;
		case LIMIT_MEMORY:
		case LIMIT_FSIZE:
			if (get_size(c, limit_names[idx], val, 1, &x) != 1)
				continue;
			break;
		case LIMIT_CORE:
			if (get_size(c, limit_names[idx], val, 0, &x) != 1)
				continue;
			break;
		case LIMIT_NOFILE:
		case LIMIT_NPROC:
			if (get_int(c, limit_names[idx], val, 1, INT32_MAX,
			    &x) != 1)
				continue;
			break;
		default:
			unknown_key(c, k, "limit", limit_names, LIMIT__COUNT);
			continue;
		}
		n->limit[idx] = x;
		n->limit_set |= 1u << idx;
	}
}

static void
parse_slurm(struct ctx *c, const struct ynode *v, struct node *n)
{
	struct slurm_spec *s = &n->slurm;
	struct mapit it;
	struct ynode *k, *val;
	int64_t x;

	if (want_map(c, "slurm", v) != 1)
		return;
	slurm_release(s);
	mapit_init(&it, v);
	while (map_next(c, &it, &k, &val)) {
		switch (key_index(k->u.s, slurm_keys)) {
		case 0:
			get_nestr(c, "partition", val, &s->partition);
			break;
		case 1:
			get_nestr(c, "account", val, &s->account);
			break;
		case 2:
			get_nestr(c, "qos", val, &s->qos);
			break;
		case 3:
			get_nestr(c, "gres", val, &s->gres);
			break;
		case 4:
			get_intv(c, "cpus", val, 1, 4096, &s->cpus);
			break;
		case 5:
			get_size(c, "mem", val, 1, &s->mem);
			break;
		case 6:
			if (get_duration(c, "time", val, &x) == 1) {
				if (x <= 0)
					yerr(c, val, "'time' must be greater "
					    "than 0");
				else
					s->time_ms = x;
			}
			break;
		case 7:
			get_strlist(c, "extra", val, false, false, false,
			    &s->extra, &s->nextra);
			break;
		default:
			unknown_key(c, k, "slurm key", slurm_keys,
			    count_names(slurm_keys));
			break;
		}
	}
}

/* cache: true|false, or {inputs, env, max_age} (which turns it on). */
static void
parse_cache(struct ctx *c, const struct ynode *v, struct node *n)
{
	struct cache_spec *cs = &n->cache;
	struct mapit it;
	struct ynode *k, *val;
	size_t i;

	strv_free(cs->inputs, cs->ninputs);
	strv_free(cs->env, cs->nenv);
	memset(cs, 0, sizeof *cs);
	if (v->type != Y_MAP) {
		if (v->type != Y_SCALAR || !is_bool(v, &cs->enabled))
			yerr(c, v, "'cache' must be a boolean or a mapping, "
			    "not %s", ydesc(v));
		return;
	}
	cs->enabled = true;
	mapit_init(&it, v);
	while (map_next(c, &it, &k, &val)) {
		switch (key_index(k->u.s, cache_keys)) {
		case 0:
			(void)get_strlist(c, "cache.inputs", val, true, true,
			    false, &cs->inputs, &cs->ninputs);
			break;
		case 1:
			if (get_strlist(c, "cache.env", val, true, false,
			    false, &cs->env, &cs->nenv) != 1)
				break;
			for (i = 0; i < cs->nenv; i++)
				if (!valid_envname(cs->env[i]) ||
				    strncmp(cs->env[i], "DAGEXEC_", 8) == 0)
					yerr(c, val, "'cache.env' cannot name "
					    "'%s' (%s)", cs->env[i],
					    valid_envname(cs->env[i]) ?
					    "DAGEXEC_ names are dagexec's own" :
					    "not a variable name");
			break;
		case 2:
			if (get_duration(c, "cache.max_age", val,
			    &cs->max_age_ms) == 1 && cs->max_age_ms <= 0)
				yerr(c, val, "'cache.max_age' must be greater "
				    "than 0");
			break;
		default:
			unknown_key(c, k, "cache key", cache_keys,
			    count_names(cache_keys));
		}
	}
	mapit_release(&it);
}

static void
parse_retry_on(struct ctx *c, const struct ynode *v, struct node *n)
{
	const struct ynode *it;
	unsigned mask = 0;
	size_t i;
	int r, bad = 0;

	if (want_seq(c, "retry_on", v) != 1)
		return;
	for (i = 0; i < v->n; i++) {
		it = v->u.kids[i];
		r = it->type == Y_SCALAR ? reason_parse(it->u.s) : -1;
		if (r < 0 || ((1u << r) & RETRYABLE_MASK) == 0) {
			if (it->type == Y_SCALAR)
				yerr(c, it, "invalid retry_on class '%s' "
				    "(expected exit, signal, timeout, "
				    "rlimit_cpu, rlimit_fsize, spawn_error, "
				    "output_missing, http_status, checksum or "
				    "lost)", it->u.s);
			else
				yerr(c, it, "items of 'retry_on' must be "
				    "strings, not %s", ydesc(it));
			bad = 1;
			continue;
		}
		mask |= 1u << r;
	}
	if (!bad)
		n->retry_on = mask;
}

static void
parse_pool(struct ctx *c, const struct ynode *v, struct node *n)
{
	const char **names;
	const char *s, *sg;
	size_t idx, i;

	if (get_str(c, "pool", v, &s) != 1)
		return;
	if (c->pools == NULL || !strmap_get(c->pools, s, &idx)) {
		sg = NULL;
		if (c->m->npools > 0) {
			names = xcalloc(c->m->npools, sizeof *names);
			for (i = 0; i < c->m->npools; i++)
				names[i] = c->m->pools[i].name;
			sg = suggest(s, names, c->m->npools);
			free(names);
		}
		if (sg != NULL)
			yerr(c, v, "unknown pool '%s' (did you mean '%s'?)",
			    s, sg);
		else
			yerr(c, v, "unknown pool '%s'", s);
		return;
	}
	free(n->pool);
	n->pool = xstrdup(s);
	n->pool_index = (int)idx;
}

/* Resolve needs of node self (an index; SIZE_MAX in defaults). */
static void
parse_needs(struct ctx *c, const struct ynode *v, struct node *n, size_t self)
{
	const struct ynode *it;
	const struct ynode *one[1];
	const struct ynode *const *items;
	size_t i, cnt, idx;

	if (is_null(v))
		return;
	if (v->type == Y_SCALAR) {
		one[0] = v;
		items = one;
		cnt = 1;
	} else if (want_seq(c, "needs", v) == 1) {
		items = (const struct ynode *const *)v->u.kids;
		cnt = v->n;
	} else
		return;
	free(n->needs);
	n->needs = xcalloc(cnt + 1, sizeof *n->needs);
	n->nneeds = 0;
	for (i = 0; i < cnt && !c->stop; i++) {
		it = items[i];
		if (it->type != Y_SCALAR || is_null(it)) {
			yerr(c, it, "items of 'needs' must be node ids, not "
			    "%s", ydesc(it));
			continue;
		}
		if (!strmap_get(c->m->ids, it->u.s, &idx)) {
			yerr(c, it, "node '%s' needs unknown node '%s'", n->id,
			    it->u.s);
			continue;
		}
		if (idx == self) {
			yerr(c, it, "node '%s' needs itself", n->id);
			continue;
		}
		if (c->mark[idx] == self + 1)
			continue;	/* a duplicate */
		c->mark[idx] = self + 1;
		n->needs[n->nneeds++] = idx;
	}
}

/* The keys of a node (or of defaults when self is SIZE_MAX); *set gets a bit
 * per key given. */
static void
parse_node_keys(struct ctx *c, const struct ynode *map, struct node *n,
    size_t self, uint32_t *set)
{
	struct mapit it;
	struct ynode *k, *val;
	bool dflt = self == SIZE_MAX;
	int idx, e, nkinds = 0;
	int64_t x;

	*set = 0;
	mapit_init(&it, map);
	while (map_next(c, &it, &k, &val)) {
		idx = key_index(k->u.s, node_keys);
		if (idx < 0 && key_index(k->u.s, top_keys) >= 0 &&
		    suggest(k->u.s, node_keys, NK__COUNT) == NULL) {
			yerr(c, k, "unknown key '%s' (it belongs at the top "
			    "level)", k->u.s);
			continue;
		}
		if (idx < 0) {
			unknown_key(c, k, "key", node_keys, NK__COUNT);
			continue;
		}
		if (dflt && idx <= NK_NEEDS) {
			yerr(c, k, "'%s' cannot have a default", k->u.s);
			continue;
		}
		if (is_null(val) && idx != NK_ENV)
			continue;	/* unset */
		switch (idx) {
		case NK_RUN:
		case NK_ARGV:
		case NK_HTTP:
			if (++nkinds > 1) {
				yerr(c, k, "node '%s' has more than one of "
				    "'run', 'argv', 'http'", n->id);
				continue;
			}
			if (idx == NK_RUN) {
				n->kind = NODE_RUN;
				if (get_nestr(c, "run", val, &n->run) != 1)
					continue;
			} else if (idx == NK_ARGV) {
				n->kind = NODE_ARGV;
				if (get_strlist(c, "argv", val, false, false,
				    true, &n->argv, &n->argc) != 1)
					continue;
			} else {
				n->kind = NODE_HTTP;
				parse_http(c, val, n);
			}
			break;
		case NK_NEEDS:
			parse_needs(c, val, n, self);
			break;
		case NK_ENV:
			if (get_env(c, "env", val, &n->env) != 1)
				continue;
			break;
		case NK_OUTPUTS:
			if (get_strlist(c, "outputs", val, false, true, false,
			    &n->outputs, &n->noutputs) != 1)
				continue;
			break;
		case NK_RETRIES:
			if (get_intv(c, "retries", val, 0, 100,
			    &n->retries) != 1)
				continue;
			break;
		case NK_RETRY_DELAY:
			if (get_duration(c, "retry_delay", val,
			    &n->retry_delay_ms) != 1)
				continue;
			break;
		case NK_BACKOFF:
			if (get_enum(c, "backoff", val, backoff_names,
			    &e) != 1)
				continue;
			n->backoff = (enum backoff)e;
			break;
		case NK_MAX_RETRY_DELAY:
			if (get_duration(c, "max_retry_delay", val,
			    &n->max_retry_delay_ms) != 1)
				continue;
			break;
		case NK_TIMEOUT:
			if (get_duration(c, "timeout", val, &x) != 1)
				continue;
			if (x <= 0) {
				yerr(c, val, "'timeout' must be greater "
				    "than 0");
				continue;
			}
			n->timeout_ms = x;
			break;
		case NK_LIMITS:
			parse_limits(c, val, n);
			break;
		case NK_LOG_LIMIT:
			if (get_size(c, "log_limit", val, 1024,
			    &n->log_limit) != 1)
				continue;
			break;
		case NK_RETRY_ON:
			parse_retry_on(c, val, n);
			break;
		case NK_WHEN:
			if (get_enum(c, "when", val, when_names, &e) != 1)
				continue;
			n->when = (enum when)e;
			break;
		case NK_ALLOW_FAILURE:
			if (get_bool(c, "allow_failure", val,
			    &n->allow_failure) != 1)
				continue;
			break;
		case NK_POOL:
			parse_pool(c, val, n);
			break;
		case NK_PRIORITY:
			if (get_intv(c, "priority", val, -1000000, 1000000,
			    &n->priority) != 1)
				continue;
			break;
		case NK_ESTIMATE:
			if (get_duration(c, "estimate", val,
			    &n->estimate_ms) != 1)
				continue;
			break;
		case NK_EXECUTOR:
			if (get_enum(c, "executor", val, executor_names,
			    &e) != 1)
				continue;
			n->executor = (enum executor)e;
			break;
		case NK_SLURM:
			parse_slurm(c, val, n);
			break;
		case NK_CACHE:
			parse_cache(c, val, n);
			break;
		}
		*set |= 1u << idx;
	}
	if (!dflt && nkinds == 0)
		err(c, n->pos.line, n->pos.col, "node '%s' has none of 'run', "
		    "'argv', 'http'", n->id);
	/* from defaults it does not apply: http nodes run here */
	if (!dflt && n->kind == NODE_HTTP && (*set & (1u << NK_EXECUTOR)) &&
	    n->executor == EXECUTOR_SLURM)
		err(c, n->pos.line, n->pos.col, "node '%s': an http node "
		    "runs locally, not on 'slurm'", n->id);
}

static char **
strv_copy(char **v, size_t n)
{
	char **out;
	size_t i;

	if (v == NULL)
		return NULL;
	out = xcalloc(n + 1, sizeof *out);
	for (i = 0; i < n; i++)
		out[i] = xstrdup(v[i]);
	return out;
}

static char *
str_copy(const char *s)
{
	return s == NULL ? NULL : xstrdup(s);
}

/* Apply defaults d (keys in dset) to node n (keys in nset). */
static void
merge_defaults(struct ctx *c, struct node *n, uint32_t nset,
    const struct node *d, uint32_t dset)
{
	uint32_t only = dset & ~nset;

	(void)c;
	struct strmap *seen = NULL;
	size_t i, j, add;
	int k;

	if (dset == 0)
		return;
	if (dset & (1u << NK_ENV)) {
		/* The node's own keys win; a hash table where a linear
		 * search could cost more than a few comparisons. */
		if (n->env.n > 8) {
			seen = strmap_new(n->env.n);
			for (j = 0; j < n->env.n; j++)
				strmap_put(seen, n->env.v[j].key, j, NULL);
		}
		add = 0;
		n->env.v = xreallocarray(n->env.v, n->env.n + d->env.n + 1,
		    sizeof *n->env.v);
		for (i = 0; i < d->env.n; i++) {
			if (seen != NULL)
				j = strmap_get(seen, d->env.v[i].key, NULL) ?
				    0 : n->env.n;
			else {
				for (j = 0; j < n->env.n; j++)
					if (strcmp(n->env.v[j].key,
					    d->env.v[i].key) == 0)
						break;
			}
			if (j < n->env.n)
				continue;
			n->env.v[n->env.n + add].key = xstrdup(d->env.v[i].key);
			n->env.v[n->env.n + add].value =
			    xstrdup(d->env.v[i].value);
			add++;
		}
		n->env.n += add;
		strmap_free(seen);
	}
	if (dset & (1u << NK_LIMITS)) {
		for (k = 0; k < LIMIT__COUNT; k++) {
			if ((d->limit_set & (1u << k)) &&
			    !(n->limit_set & (1u << k))) {
				n->limit[k] = d->limit[k];
				n->limit_set |= 1u << k;
			}
		}
	}
	if (only & (1u << NK_OUTPUTS)) {
		n->outputs = strv_copy(d->outputs, d->noutputs);
		n->noutputs = d->noutputs;
	}
	if (only & (1u << NK_RETRIES))
		n->retries = d->retries;
	if (only & (1u << NK_RETRY_DELAY))
		n->retry_delay_ms = d->retry_delay_ms;
	if (only & (1u << NK_BACKOFF))
		n->backoff = d->backoff;
	if (only & (1u << NK_MAX_RETRY_DELAY))
		n->max_retry_delay_ms = d->max_retry_delay_ms;
	if (only & (1u << NK_TIMEOUT))
		n->timeout_ms = d->timeout_ms;
	if (only & (1u << NK_LOG_LIMIT))
		n->log_limit = d->log_limit;
	if (only & (1u << NK_RETRY_ON))
		n->retry_on = d->retry_on;
	if (only & (1u << NK_WHEN))
		n->when = d->when;
	if (only & (1u << NK_ALLOW_FAILURE))
		n->allow_failure = d->allow_failure;
	if (only & (1u << NK_POOL)) {
		n->pool = str_copy(d->pool);
		n->pool_index = d->pool_index;
	}
	if (only & (1u << NK_PRIORITY))
		n->priority = d->priority;
	if (only & (1u << NK_ESTIMATE))
		n->estimate_ms = d->estimate_ms;
	if (only & (1u << NK_EXECUTOR))
		n->executor = d->executor;
	if (only & (1u << NK_CACHE)) {
		n->cache = d->cache;
		n->cache.inputs = strv_copy(d->cache.inputs, d->cache.ninputs);
		n->cache.env = strv_copy(d->cache.env, d->cache.nenv);
	}
	if (only & (1u << NK_SLURM)) {
		n->slurm = d->slurm;
		n->slurm.partition = str_copy(d->slurm.partition);
		n->slurm.account = str_copy(d->slurm.account);
		n->slurm.qos = str_copy(d->slurm.qos);
		n->slurm.gres = str_copy(d->slurm.gres);
		n->slurm.extra = strv_copy(d->slurm.extra, d->slurm.nextra);
	}
}

/* ------------------------------------------------------------------------ */
/* The top level. */

enum { TK_NAME, TK_MAX_PARALLEL, TK_SCHEDULE, TK_ON_FAILURE, TK_DEADLINE,
	TK_BUDGET, TK_ENV, TK_WORKDIR, TK_POOLS, TK_NOTIFY, TK_DEFAULTS,
	TK_NODES };

static const char *const schedule_names[] = { "critical-path", "waves",
	NULL };
static const char *const on_failure_names[] = { "continue", "stop", "abort",
	NULL };
static const char *const notify_keys[] = { "url", "on", "insecure", NULL };

static void
parse_budget(struct ctx *c, const struct ynode *v)
{
	struct manifest *m = c->m;
	struct mapit it;
	struct ynode *k, *val;
	double x;

	if (want_map(c, "budget", v) != 1)
		return;
	m->budget = xcalloc(v->n / 2 + 1, sizeof *m->budget);
	mapit_init(&it, v);
	while (map_next(c, &it, &k, &val)) {
		if (!valid_budgetname(k->u.s)) {
			yerr(c, k, "invalid budget name '%s'", k->u.s);
			continue;
		}
		if (!is_numlike(val)) {
			yerr(c, val, "'%s' must be a number, not %s", k->u.s,
			    ydesc(val));
			continue;
		}
		x = strtod(val->u.s, NULL);
		if (!isfinite(x) || !(x > 0)) {
			yerr(c, val, "'%s' must be greater than 0", k->u.s);
			continue;
		}
		m->budget[m->nbudget].name = xstrdup(k->u.s);
		m->budget[m->nbudget].limit = x;
		m->nbudget++;
	}
}

static void
parse_pools(struct ctx *c, const struct ynode *v)
{
	struct manifest *m = c->m;
	struct mapit it;
	struct ynode *k, *val;
	int64_t x;

	if (want_map(c, "pools", v) != 1)
		return;
	m->pools = xcalloc(v->n / 2 + 1, sizeof *m->pools);
	c->pools = strmap_new(v->n / 2);
	mapit_init(&it, v);
	while (map_next(c, &it, &k, &val)) {
		if (!valid_id(k->u.s, k->n)) {
			yerr(c, k, "invalid pool name '%s' (expected "
			    "[A-Za-z0-9._-]{1,64})", k->u.s);
			continue;
		}
		if (is_null(val)) {
			yerr(c, val, "pool '%s' must be an integer, not null",
			    k->u.s);
			continue;
		}
		if (get_int(c, k->u.s, val, 1, 100000, &x) != 1)
			continue;
		m->pools[m->npools].name = xstrdup(k->u.s);
		m->pools[m->npools].cap = (int)x;
		strmap_put(c->pools, m->pools[m->npools].name, m->npools,
		    NULL);
		m->npools++;
	}
}

static void
parse_notify(struct ctx *c, const struct ynode *v)
{
	struct notify_spec *nt;
	struct mapit it;
	struct ynode *k, *val, *insecure_y = NULL;
	const struct ynode *o;
	bool have_url = false;
	size_t i;

	if (want_map(c, "notify", v) != 1)
		return;
	nt = xcalloc(1, sizeof *nt);
	nt->on = NOTIFY_ON_SUCCESS | NOTIFY_ON_FAILURE;
	c->m->notify = nt;
	mapit_init(&it, v);
	while (map_next(c, &it, &k, &val)) {
		switch (key_index(k->u.s, notify_keys)) {
		case 0:
			if (is_null(val)) {
				yerr(c, val, "'url' must be a string, "
				    "not null");
				have_url = true;
			} else if (get_nestr(c, "url", val, &nt->url) == 1) {
				have_url = true;
				if (!check_url(c, "url", val, nt->url)) {
					free(nt->url);
					nt->url = NULL;
				}
			}
			break;
		case 1:
			if (want_seq(c, "on", val) != 1)
				break;
			nt->on = 0;
			for (i = 0; i < val->n; i++) {
				o = val->u.kids[i];
				if (o->type == Y_SCALAR &&
				    strcmp(o->u.s, "success") == 0)
					nt->on |= NOTIFY_ON_SUCCESS;
				else if (o->type == Y_SCALAR &&
				    strcmp(o->u.s, "failure") == 0)
					nt->on |= NOTIFY_ON_FAILURE;
				else
					yerr(c, o, "invalid notify event '%s' "
					    "(expected success or failure)",
					    o->type == Y_SCALAR ? o->u.s :
					    ydesc(o));
			}
			break;
		case 2:
			if (get_bool(c, "insecure", val, &nt->insecure) == 1)
				insecure_y = val;
			break;
		default:
			unknown_key(c, k, "key", notify_keys,
			    count_names(notify_keys));
			break;
		}
	}
	if (!have_url)
		yerr(c, v, "missing required key 'url' in 'notify'");
	if (nt->insecure && nt->url != NULL && !url_is_loopback(nt->url))
		yerr(c, insecure_y, "'insecure: true' is only allowed for a "
		    "loopback host (localhost, 127.0.0.0/8, [::1])");
}

/* The node ids: first pass over `nodes`, filling m->nodes and m->ids. */
static void
collect_ids(struct ctx *c, const struct ynode *v)
{
	struct manifest *m = c->m;
	struct ynode *k;
	struct node *n;
	size_t i, old;

	if (!charge(c, v, v->n))
		return;
	m->nodes = xcalloc(v->n / 2 + 1, sizeof *m->nodes);
	m->ids = strmap_new(v->n / 2);
	c->pairidx = xcalloc(v->n / 2 + 1, sizeof *c->pairidx);
	for (i = 0; i + 1 < v->n; i += 2)
		c->pairidx[i / 2] = SIZE_MAX;
	for (i = 0; i + 1 < v->n && !c->stop; i += 2) {
		k = v->u.kids[i];
		if (k->type != Y_SCALAR) {
			yerr(c, k, "a node id must be a string, not %s",
			    ydesc(k));
			continue;
		}
		if (!valid_id(k->u.s, k->n)) {
			yerr(c, k, "invalid node id '%s' (expected "
			    "[A-Za-z0-9._-]{1,64})", k->u.s);
			continue;
		}
		n = &m->nodes[m->nnodes];
		node_init(n);
		n->id = xstrdup(k->u.s);
		n->pos.line = k->line;
		n->pos.col = k->col;
		if (strmap_put(m->ids, n->id, m->nnodes, &old) != 0) {
			yerr(c, k, "duplicate node id '%s' (first at line %d)",
			    k->u.s, m->nodes[old].pos.line);
			free(n->id);
			n->id = NULL;
			continue;
		}
		c->pairidx[i / 2] = m->nnodes;
		m->nnodes++;
	}
}

static void
parse_nodes(struct ctx *c, const struct ynode *nodes, const struct node *dflt,
    uint32_t dset, const struct ynode *dflt_y)
{
	struct manifest *m = c->m;
	const struct ynode *v;
	struct node *n;
	uint32_t set;
	size_t i, idx;

	c->mark = xcalloc(m->nnodes + 1, sizeof *c->mark);
	for (i = 0; i + 1 < nodes->n && !c->stop; i += 2) {
		v = nodes->u.kids[i + 1];
		if ((idx = c->pairidx[i / 2]) == SIZE_MAX)
			continue;	/* an invalid or duplicate id */
		n = &m->nodes[idx];
		if (v->type != Y_MAP) {
			yerr(c, v, "node '%s' must be a mapping, not %s",
			    n->id, ydesc(v));
			continue;
		}
		parse_node_keys(c, v, n, idx, &set);
		/* Refuse before copying, so that memory stays bounded. */
		c->copies += 1 + dflt->env.n + dflt->noutputs +
		    dflt->slurm.nextra;
		if (c->copies > MANIFEST_DEFAULT_COPIES) {
			yerr(c, dflt_y, "defaults expand to too many values "
			    "(more than %d)", MANIFEST_DEFAULT_COPIES);
			c->stop = true;
			break;
		}
		merge_defaults(c, n, set, dflt, dset);
	}
}

/* Append v in decimal, a comma between groups of three digits. */
static void
add_grouped(struct strbuf *b, size_t v)
{
	char buf[32], *p = buf + sizeof buf;
	int digits = 0;

	do {
		if (digits > 0 && digits % 3 == 0)
			*--p = ',';
		*--p = (char)('0' + v % 10);
		v /= 10;
		digits++;
	} while (v > 0);
	strbuf_add(b, p, (size_t)(buf + sizeof buf - p));
}

/*
 * "dependency cycle: a -> b -> c -> a", built in one buffer. A cycle of at
 * most MANIFEST_CYCLE_SHOW nodes is named in full; of a longer one, the first
 * and the last half of that many, with a count of the ids left out, so that
 * the message stays short however long the cycle. Node ids are validated, so
 * the text needs no escaping.
 */
static char *
cycle_message(const struct manifest *m, const size_t *cycle, size_t len)
{
	struct strbuf b = STRBUF_INIT;
	size_t k, half = MANIFEST_CYCLE_SHOW / 2;

	strbuf_lit(&b, "dependency cycle: ");
	for (k = 0; k < len; k++) {
		if (len > MANIFEST_CYCLE_SHOW && k == half) {
			strbuf_lit(&b, "... (");
			add_grouped(&b, len - 2 * half);
			strbuf_lit(&b, " more) ... -> ");
			k = len - half;
		}
		strbuf_str(&b, m->nodes[cycle[k]].id);
		strbuf_lit(&b, " -> ");
	}
	strbuf_str(&b, m->nodes[cycle[0]].id);
	return b.s;
}

static void
build_graph(struct ctx *c)
{
	struct manifest *m = c->m;
	size_t *nneeds, i, *cycle = NULL, len;
	const size_t **needs;
	int64_t *weight;
	char *msg;

	nneeds = xcalloc(m->nnodes + 1, sizeof *nneeds);
	needs = xcalloc(m->nnodes + 1, sizeof *needs);
	weight = xcalloc(m->nnodes + 1, sizeof *weight);
	for (i = 0; i < m->nnodes; i++) {
		nneeds[i] = m->nodes[i].nneeds;
		needs[i] = m->nodes[i].needs;
		weight[i] = m->nodes[i].estimate_ms >= 0 ?
		    m->nodes[i].estimate_ms : 1000;
	}
	graph_init(&m->graph, m->nnodes, nneeds,
	    (const size_t *const *)needs, weight);
	free(nneeds);
	free(needs);
	free(weight);
	if (graph_analyze(&m->graph) == 0)
		return;
	len = graph_find_cycle(&m->graph, &cycle);
	if (len == 0) {
		err(c, 0, 0, "dependency cycle");
		free(cycle);
		return;
	}
	/* Not through err(): that would cut the message at
	 * MANIFEST_MAX_MESSAGE bytes and lose the end of the cycle. */
	msg = cycle_message(m, cycle, len);
	err_add(c, m->nodes[cycle[0]].pos.line, m->nodes[cycle[0]].pos.col,
	    msg);
	free(msg);
	free(cycle);
}

static void
parse_top(struct ctx *c, const struct ynode *root)
{
	struct manifest *m = c->m;
	struct mapit it;
	struct ynode *k, *v;
	const struct ynode *pools_y = NULL, *defaults_y = NULL;
	const struct ynode *nodes_y = NULL;
	struct node dflt;
	uint32_t dset = 0;
	const char *s;
	bool have_name = false;
	int e;
	int64_t x;

	if (root->type != Y_MAP) {
		if (is_null(root))
			err(c, 0, 0, "empty manifest");
		else
			yerr(c, root, "a manifest must be a mapping, not %s",
			    ydesc(root));
		return;
	}
	mapit_init(&it, root);
	while (map_next(c, &it, &k, &v)) {
		switch (key_index(k->u.s, top_keys)) {
		case TK_NAME:
			have_name = true;
			if (is_null(v)) {
				yerr(c, v, "'name' must be a string, not "
				    "null");
				break;
			}
			if (get_str(c, "name", v, &s) != 1)
				break;
			if (!valid_id(s, strlen(s))) {
				yerr(c, v, "invalid name '%s' (expected "
				    "[A-Za-z0-9._-]{1,64})", s);
				break;
			}
			m->name = xstrdup(s);
			break;
		case TK_MAX_PARALLEL:
			get_intv(c, "max_parallel", v, 1, 100000,
			    &m->max_parallel);
			break;
		case TK_SCHEDULE:
			if (get_enum(c, "schedule", v, schedule_names,
			    &e) == 1)
				m->schedule = (enum schedule)e;
			break;
		case TK_ON_FAILURE:
			if (get_enum(c, "on_failure", v, on_failure_names,
			    &e) == 1)
				m->on_failure = (enum on_failure)e;
			break;
		case TK_DEADLINE:
			if (get_duration(c, "deadline", v, &x) == 1) {
				if (x <= 0)
					yerr(c, v, "'deadline' must be "
					    "greater than 0");
				else
					m->deadline_ms = x;
			}
			break;
		case TK_BUDGET:
			parse_budget(c, v);
			break;
		case TK_ENV:
			get_env(c, "env", v, &m->env);
			break;
		case TK_WORKDIR:
			if (get_str(c, "workdir", v, &s) != 1)
				break;
			if (*s != '/') {
				yerr(c, v, "'workdir' must be an absolute "
				    "path, not '%s'", s);
				break;
			}
			m->workdir = xstrdup(s);
			break;
		case TK_POOLS:
			pools_y = v;
			break;
		case TK_NOTIFY:
			parse_notify(c, v);
			break;
		case TK_DEFAULTS:
			defaults_y = v;
			break;
		case TK_NODES:
			nodes_y = v;
			break;
		default:
			if (key_index(k->u.s, node_keys) >= 0 &&
			    suggest(k->u.s, top_keys,
			    count_names(top_keys)) == NULL)
				yerr(c, k, "unknown key '%s' (a node key: set "
				    "it in a node or under 'defaults')",
				    k->u.s);
			else
				unknown_key(c, k, "key", top_keys,
				    count_names(top_keys));
			break;
		}
	}
	if (!have_name)
		yerr(c, root, "missing required key 'name'");
	if (nodes_y == NULL)
		yerr(c, root, "missing required key 'nodes'");
	if (pools_y != NULL)
		parse_pools(c, pools_y);
	node_init(&dflt);
	dflt.id = xstrdup("defaults");
	if (defaults_y != NULL && want_map(c, "defaults", defaults_y) == 1)
		parse_node_keys(c, defaults_y, &dflt, SIZE_MAX, &dset);
	if (nodes_y != NULL) {
		if (is_null(nodes_y))
			yerr(c, nodes_y, "'nodes' must be a mapping, not null");
		else if (want_map(c, "nodes", nodes_y) == 1) {
			if (nodes_y->n == 0)
				yerr(c, nodes_y, "'nodes' must not be empty");
			else if (nodes_y->n / 2 > MANIFEST_MAX_NODES)
				yerr(c, nodes_y, "more than %d nodes",
				    MANIFEST_MAX_NODES);
			else {
				collect_ids(c, nodes_y);
				parse_nodes(c, nodes_y, &dflt, dset,
				    defaults_y);
				if (!c->stop) {
					/* The tree is no longer needed: give
					 * its memory back before the graph
					 * takes its own. */
					free(c->mark);
					c->mark = NULL;
					arena_free(&c->arena);
					build_graph(c);
				}
			}
		}
	}
	manifest_node_release(&dflt);
}

/* ------------------------------------------------------------------------ */

void
manifest_free(struct manifest *m)
{
	size_t i;

	if (m == NULL)
		return;
	free(m->name);
	for (i = 0; i < m->nbudget; i++)
		free(m->budget[i].name);
	free(m->budget);
	kvlist_free(&m->env);
	free(m->workdir);
	for (i = 0; i < m->npools; i++)
		free(m->pools[i].name);
	free(m->pools);
	if (m->notify != NULL) {
		free(m->notify->url);
		free(m->notify);
	}
	for (i = 0; i < m->nnodes; i++)
		manifest_node_release(&m->nodes[i]);
	free(m->nodes);
	graph_release(&m->graph);
	strmap_free(m->ids);
	free(m);
}

int
manifest_parse(const char *file, const char *text, size_t len,
    struct manifest **mp, struct diags *d)
{
	struct ctx c;
	struct ynode *root;
	const char *nul;
	int line, col;

	*mp = NULL;
	memset(&c, 0, sizeof c);
	c.file = file;
	c.d = d;
	if (len > MANIFEST_MAX_BYTES) {
		diags_add(d, 0, 0, "manifest is larger than %u bytes",
		    MANIFEST_MAX_BYTES);
		return 1;
	}
	if ((nul = memchr(text, '\0', len)) != NULL) {
		text_position(text, len, (size_t)(nul - text), &line, &col);
		diags_add(d, line, col, "manifest contains a NUL byte");
		diags_sort(d);
		return 1;
	}
	c.m = xcalloc(1, sizeof *c.m);
	root = yaml_build(&c, text, len);
	if (root != NULL) {
		c.maxvisits = 2 * c.ntree + MANIFEST_ALIAS_VISITS;
		parse_top(&c, root);
	}
	arena_free(&c.arena);
	strmap_free(c.pools);
	free(c.mark);
	free(c.pairidx);
	if (c.nerr > 0 || c.stop) {
		manifest_free(c.m);
		diags_sort(d);
		return 1;
	}
	*mp = c.m;
	return 0;
}

/* Read at most max + 1 bytes of fd. */
static int
manifest_read(int fd, const char *name, size_t max, char **bufp, size_t *lenp,
    char **cause)
{
	size_t cap = 65536, len = 0, want;
	char *buf = xmalloc(cap);
	ssize_t n;

	for (;;) {
		if (len == cap) {
			cap = cap * 2 > max + 2 ? max + 2 : cap * 2;
			buf = xreallocarray(buf, cap, 1);
		}
		want = cap - len;
		if (want > max + 1 - len)
			want = max + 1 - len;
		if (want == 0)
			break;
		n = read(fd, buf + len, want);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (cause != NULL)
				*cause = xasprintf("cannot read '%s': %s",
				    name, strerror(errno));
			free(buf);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*bufp = buf;
	*lenp = len;
	return 0;
}

int
manifest_load(const char *path, struct manifest **mp, struct diags *d,
    char **cause)
{
	char *buf;
	size_t len;
	int fd, rc, saved;

	*mp = NULL;
	if (strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		saved = errno;
		if (cause != NULL)
			*cause = xasprintf("cannot open '%s': %s", path,
			    strerror(saved));
		errno = saved;
		return -1;
	}
	rc = manifest_read(fd, path, MANIFEST_MAX_BYTES, &buf, &len, cause);
	saved = errno;
	if (fd != STDIN_FILENO)
		close(fd);
	if (rc != 0) {
		errno = saved;
		return -1;
	}
	if (len > MANIFEST_MAX_BYTES) {
		free(buf);
		diags_add(d, 0, 0, "manifest is larger than %u bytes",
		    MANIFEST_MAX_BYTES);
		return 1;
	}
	rc = manifest_parse(path, buf, len, mp, d);
	free(buf);
	return rc;
}

long
manifest_find(const struct manifest *m, const char *id)
{
	size_t v;

	if (m == NULL || m->ids == NULL || !strmap_get(m->ids, id, &v))
		return -1;
	return (long)v;
}

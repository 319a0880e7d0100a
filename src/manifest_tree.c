#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <yaml.h>

#include "manifest.h"
#include "manifest_int.h"
#include "strbuf.h"
#include "strmap.h"
#include "units.h"
#include "xmalloc.h"

/* The YAML tree of a manifest, with positions, and the readers of its
 * values: every check of a single value lives here. */

static void *
arena_alloc(struct arena *a, size_t size)
{
	struct achunk *c = a->head;
	size_t csize;
	void *p;

	size = (size + 7) & ~(size_t)7;
	if (c == NULL || c->size - c->used < size) {
		/* A mapping of its own: freed, it goes back to the system at
		 * once, where a chunk of the heap among the nodes' strings
		 * would stay in the process (the tree is freed before a run
		 * starts, and a large DAG's tree is tens of MB). malloc
		 * where no mapping can be had. */
		csize = size > ACHUNK_SIZE - sizeof *c ? size :
		    ACHUNK_SIZE - sizeof *c;
		c = mmap(NULL, sizeof *c + csize, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (c == MAP_FAILED) {
			c = xmalloc(sizeof *c + csize);
			c->mapped = false;
		} else
			c->mapped = true;
		c->size = csize;
		c->used = 0;
		c->next = a->head;
		a->head = c;
	}
	p = c->data + c->used;
	c->used += size;
	return p;
}

void
arena_free(struct arena *a)
{
	struct achunk *c, *next;

	for (c = a->head; c != NULL; c = next) {
		next = c->next;
		if (c->mapped)
			(void)munmap(c, sizeof *c + c->size);
		else
			free(c);
	}
	a->head = NULL;
}

/* ------------------------------------------------------------------------ */
/* The parse context. */


/* Add a message as it is: the caller made it safe to print and bounded its
 * length. */
void
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

void
ctx_err(struct ctx *c, int line, int col, const char *fmt, ...)
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

void
yerr(struct ctx *c, const struct ynode *y, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	ctx_err(c, y->line, y->col, "%s", msg);
	free(msg);
}

/* Account for walking n kids; false once the alias bound is blown. */
bool
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
void
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

/* The byte of text at line:col (both from 1, col counting characters), or
 * -1 when there is none. */
static int
text_char_at(const char *text, size_t len, int line, int col)
{
	size_t i = 0;
	int l = 1, cl = 1;

	for (; i < len && l < line; i++)
		if (text[i] == '\n')
			l++;
	for (; i < len && text[i] != '\n'; i++) {
		if (((unsigned char)text[i] & 0xc0) == 0x80)
			continue;
		if (cl++ == col)
			return (unsigned char)text[i];
	}
	return -1;
}

/* Report libyaml's error, at the place it names: a tab where the scanner
 * stopped is said to be one (libyaml says "found character that cannot
 * start any token"), and so is a reserved indicator. */
static bool
id_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '_' || ch == '-' || ch == '.';
}

/* After "did not find expected ',' or ']'" where a '[' follows a word: an
 * instance id such as a[x] written unquoted in a flow sequence, which YAML
 * reads as a nested sequence. The hint, quoting it, into buf (else ""). */
static const char *
flow_instance_hint(const yaml_parser_t *p, const char *text, size_t len,
    char *buf, size_t size)
{
	size_t at = p->problem_mark.index, b, e;

	buf[0] = '\0';
	if (p->problem == NULL || strstr(p->problem, "expected ','") == NULL ||
	    at == 0 || at >= len || text[at] != '[' || !id_char(text[at - 1]))
		return buf;
	for (b = at; b > 0 && at - b < MANIFEST_ID_MAX && id_char(text[b - 1]);
	    b--)
		;
	for (e = at + 1; e < len && e - at < MANIFEST_INSTANCE_ID_MAX &&
	    text[e] != ']' && text[e] != '\n'; e++)
		;
	if (e < len && text[e] == ']')
		snprintf(buf, size, "; quote an instance id in a [...] list: "
		    "[\"%.*s\"]", (int)(e + 1 - b), text + b);
	else
		snprintf(buf, size, "; quote an instance id in a [...] list, "
		    "as in [\"NODE[a]\"]");
	return buf;
}

static void
parse_error(struct ctx *c, const yaml_parser_t *p, const char *text,
    size_t len)
{
	char hint[MANIFEST_INSTANCE_ID_MAX + 64];
	int line, col, ch;

	line = (int)p->problem_mark.line + 1;
	col = (int)p->problem_mark.column + 1;
	ch = p->error == YAML_SCANNER_ERROR ?
	    text_char_at(text, len, line, col) : -1;
	if (ch == '\t') {
		ctx_err(c, line, col, "a tab at %d:%d: YAML indents with "
		    "spaces, never tabs", line, col);
		return;
	}
	if ((ch == '@' || ch == '`') && p->problem != NULL &&
	    strstr(p->problem, "cannot start any token") != NULL) {
		ctx_err(c, line, col, "'%c' cannot start a plain value in YAML: "
		    "quote the value", ch);
		return;
	}
	if (p->error == YAML_READER_ERROR) {
		text_position(text, len, p->problem_offset, &line, &col);
		ctx_err(c, line, col, "%s", p->problem != NULL ?
		    p->problem : "cannot read the text");
	} else if (p->context != NULL)
		ctx_err(c, line, col, "%s (%s started at %d:%d)%s",
		    p->problem != NULL ?
		    p->problem : "syntax error", p->context,
		    (int)p->context_mark.line + 1,
		    (int)p->context_mark.column + 1,
		    flow_instance_hint(p, text, len, hint, sizeof hint));
	else
		ctx_err(c, line, col, "%s",
		    p->problem != NULL ? p->problem : "syntax error");
}

/* Build the tree of the single document in text; NULL (and errors) when the
 * text is not one well-formed, bounded YAML document. */
struct ynode *
yaml_build(struct ctx *c, const char *text, size_t len)
{
	yaml_parser_t p;
	yaml_event_t ev;
	struct frame stack[MANIFEST_MAX_DEPTH + 1];
	struct strmap *anchors = strmap_new(16);
	struct ynode *root = NULL, *y, *result = NULL;
	size_t depth = 0, ndocs = 0, naliases = 0, i, v;
	const char *anchor;
	bool done = false, failed = false;

	memset(stack, 0, sizeof stack);
	if (!yaml_parser_initialize(&p)) {
		ctx_err(c, 0, 0, "cannot initialize the yaml parser");
		strmap_free(anchors);
		return NULL;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	while (!done && !failed) {
		if (!yaml_parser_parse(&p, &ev)) {
			parse_error(c, &p, text, len);
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
				ctx_err(c, (int)ev.start_mark.line + 1,
				    (int)ev.start_mark.column + 1,
				    "more than one yaml document (a manifest "
				    "is one document)");
				done = true;
			}
			break;
		case YAML_ALIAS_EVENT:
			if (++naliases > MANIFEST_MAX_ALIASES) {
				ctx_err(c, (int)ev.start_mark.line + 1,
				    (int)ev.start_mark.column + 1,
				    "more than %d aliases",
				    MANIFEST_MAX_ALIASES);
				failed = true;
				break;
			}
			if (!strmap_get(anchors, (const char *)
			    ev.data.alias.anchor, &v)) {
				ctx_err(c, (int)ev.start_mark.line + 1,
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
				ctx_err(c, (int)ev.start_mark.line + 1,
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
		ctx_err(c, 0, 0, "empty manifest");
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

bool
is_null(const struct ynode *y)
{
	const char *s = y->u.s;

	if (y->type != Y_SCALAR || !y->plain)
		return false;
	return *s == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
	    strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

bool
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
bool
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

const char *
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
int
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
int
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

int
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

int
get_intv(struct ctx *c, const char *key, const struct ynode *v, int lo,
    int hi, int *out)
{
	int64_t x;
	int r;

	if ((r = get_int(c, key, v, lo, hi, &x)) == 1)
		*out = (int)x;
	return r;
}

int
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

int
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

int
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
int
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

bool
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

bool
valid_envname(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return false;
	for (s++; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

bool
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

/* The edit distance of a and b, or SIZE_MAX once it is sure to be more
 * than max (a row of the table with nothing at most max). */
static size_t
levenshtein_max(const char *a, const char *b, size_t max)
{
	size_t la = strlen(a), lb = strlen(b), i, j, prev, cur, t, low;
	size_t row[MANIFEST_ID_MAX + 2];

	if (la > MANIFEST_ID_MAX || lb > MANIFEST_ID_MAX)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		low = row[0];
		for (j = 1; j <= lb; j++) {
			cur = row[j];
			t = prev + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < t)
				t = row[j] + 1;
			if (row[j - 1] + 1 < t)
				t = row[j - 1] + 1;
			row[j] = t;
			prev = cur;
			if (t < low)
				low = t;
		}
		if (low > max)
			return SIZE_MAX;
	}
	return row[lb];
}

static size_t
levenshtein(const char *a, const char *b)
{
	return levenshtein_max(a, b, SIZE_MAX);
}

/* The closest of the candidates to s when close enough, or NULL. */
const char *
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

/* Keys of other workflow tools (Airflow, Argo, Dagu, GitHub Actions,
 * Compose) and the dagexec key that means the same; offered only where
 * that key is one of the candidates. */
static const char *const foreign_keys[][2] = {
	{ "depends_on", "needs" }, { "dependencies", "needs" },
	{ "depends", "needs" }, { "deps", "needs" },
	{ "command", "run" }, { "cmd", "run" }, { "script", "run" },
	{ "steps", "nodes" }, { "tasks", "nodes" }, { "jobs", "nodes" },
	{ "retry", "retries" }, { "max_retries", "retries" },
	{ "execution_timeout", "timeout" },
	{ "environment", "env" },
	{ "working_dir", "workdir" }, { "working_directory", "workdir" },
	{ "dir", "workdir" }, { "cwd", "workdir" },
	{ "concurrency", "max_parallel" }, { "parallelism", "max_parallel" },
	{ "trigger_rule", "when" },
};

/* The key of ours that s means in another tool, if it is among cand. */
static const char *
foreign_key(const char *s, const char *const *cand, size_t n)
{
	size_t i, k;

	for (i = 0; i < sizeof foreign_keys / sizeof foreign_keys[0]; i++) {
		if (strcmp(s, foreign_keys[i][0]) != 0)
			continue;
		for (k = 0; k < n; k++)
			if (cand[k] != NULL &&
			    strcmp(cand[k], foreign_keys[i][1]) == 0)
				return cand[k];
	}
	return NULL;
}

/* Node ids compared, at most, for the suggestions of one manifest: a
 * million-node manifest with many misspelt needs stays quick. */
#define SUGGEST_BUDGET	4000000

/* The node id closest to s, by suggest's rule, but node skip; or NULL. */
const char *
suggest_node(struct ctx *c, const char *s, size_t skip)
{
	const struct manifest *m = c->m;
	const char *best = NULL, *id;
	size_t len = strlen(s), lim, d, k, il;

	if (m->nnodes > SUGGEST_BUDGET - c->suggested)
		return NULL;
	c->suggested += m->nnodes;
	lim = len / 3 > 2 ? len / 3 : 2;
	if (lim >= len)
		lim = len - 1;
	for (k = 0; k < m->nnodes && len > 0; k++) {
		if (k == skip || (id = m->nodes[k].id) == NULL)
			continue;
		il = strlen(id);
		if (il > len + lim || len > il + lim)
			continue;
		d = levenshtein_max(s, id, lim);
		if (d > lim || d >= il)
			continue;
		best = id;
		if (d <= 1)
			break;
		lim = d - 1;	/* only a closer one from here */
	}
	return best;
}

void
unknown_key(struct ctx *c, const struct ynode *k, const char *what,
    const char *const *cand, size_t n)
{
	const char *s = foreign_key(k->u.s, cand, n);

	if (s == NULL)
		s = suggest(k->u.s, cand, n);

	if (s != NULL)
		yerr(c, k, "unknown %s '%s' (did you mean '%s'?)", what,
		    k->u.s, s);
	else
		yerr(c, k, "unknown %s '%s'", what, k->u.s);
}

int
key_index(const char *s, const char *const *names)
{
	int i;

	for (i = 0; names[i] != NULL; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

size_t
count_names(const char *const *names)
{
	size_t n = 0;

	while (names[n] != NULL)
		n++;
	return n;
}

/* ------------------------------------------------------------------------ */
/* Walking mappings: non-scalar and duplicate keys are reported and skipped. */


void
mapit_init(struct mapit *it, const struct ynode *map)
{
	it->map = map;
	it->i = 0;
	it->seen = NULL;
}

void
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

bool
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
int
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

int
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

bool
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

bool
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
bool
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

void
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
int
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

void
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
int
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

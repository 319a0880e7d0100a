#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "xmalloc.h"

void
diags_init(struct diags *d)
{
	memset(d, 0, sizeof *d);
}

void
diags_release(struct diags *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		free(d->v[i].msg);
	free(d->v);
	diags_init(d);
}

static void	diags_addv(struct diags *, int, int, int, const char *,
		    va_list) __attribute__((format(printf, 5, 0)));

static void
diags_addv(struct diags *d, int warning, int line, int col, const char *fmt,
    va_list ap)
{
	xgrow(&d->v, &d->cap, d->n + 1, sizeof *d->v);
	d->v[d->n].msg = xvasprintf(fmt, ap);
	d->v[d->n].line = line;
	d->v[d->n].col = col;
	d->v[d->n].seq = d->n;
	d->v[d->n].warning = warning;
	d->n++;
}

void
diags_add(struct diags *d, int line, int col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diags_addv(d, 0, line, col, fmt, ap);
	va_end(ap);
}

void
diags_warn(struct diags *d, int line, int col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diags_addv(d, 1, line, col, fmt, ap);
	va_end(ap);
}

static int
diag_cmp(const void *a, const void *b)
{
	const struct diag *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void
diags_sort(struct diags *d)
{
	if (d->n > 1)
		qsort(d->v, d->n, sizeof *d->v, diag_cmp);
}

void
diags_print(FILE *fp, const char *file, const struct diags *d)
{
	size_t i;

	const char *what;

	for (i = 0; i < d->n; i++) {
		what = d->v[i].warning ? "warning" : "error";
		if (d->v[i].line > 0)
			fprintf(fp, "%s:%d:%d: %s: %s\n", file, d->v[i].line,
			    d->v[i].col, what, d->v[i].msg);
		else
			fprintf(fp, "%s: %s: %s\n", file, what, d->v[i].msg);
	}
}

char *
diags_text(const char *file, const struct diags *d)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	if (fp == NULL)
		return xstrdup("invalid manifest\n");
	diags_print(fp, file, d);
	fclose(fp);
	return buf;
}

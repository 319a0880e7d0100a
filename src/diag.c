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

void
diags_add(struct diags *d, int line, int col, const char *fmt, ...)
{
	va_list ap;

	xgrow(&d->v, &d->cap, d->n + 1, sizeof *d->v);
	va_start(ap, fmt);
	d->v[d->n].msg = xvasprintf(fmt, ap);
	va_end(ap);
	d->v[d->n].line = line;
	d->v[d->n].col = col;
	d->v[d->n].seq = d->n;
	d->n++;
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

	for (i = 0; i < d->n; i++) {
		if (d->v[i].line > 0)
			fprintf(fp, "%s:%d:%d: error: %s\n", file, d->v[i].line,
			    d->v[i].col, d->v[i].msg);
		else
			fprintf(fp, "%s: error: %s\n", file, d->v[i].msg);
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

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errtail.h"
#include "log.h"
#include "render.h"
#include "units.h"

#define SUMMARY_WIDTH		132	/* columns a summary line fits in */
#define SUMMARY_METRICS		24	/* columns of the metrics */
#include "xmalloc.h"

static const char *
status_color(enum node_status s)
{
	switch (s) {
	case NS_SUCCEEDED:	return "#b7e1b5";
	case NS_FAILED:		return "#f4a6a6";
	case NS_TIMED_OUT:	return "#f6c28b";
	case NS_CANCELLED:	return "#d9d9d9";
	case NS_SKIPPED:	return "#f2f2f2";
	case NS_RUNNING:	return "#a9c8f0";
	case NS_RETRYING:	return "#f0e68c";
	default:		return "#ffffff";
	}
}

static const char *
status_color_name(const char *name)
{
	int	k;

	for (k = 0; k < NS__COUNT; k++)
		if (strcmp(name, node_status_name((enum node_status)k)) == 0)
			return status_color((enum node_status)k);
	return "#ffffff";
}

void
render_dot_doc(FILE *fp, const struct manifest *m, const struct state_doc *d)
{
	const struct state_doc_node	*dn;
	size_t				 i, k, q;
	long				 idx;
	const char			**st;
	char				 *e;

	st = xcalloc(m->nnodes > 0 ? m->nnodes : 1, sizeof *st);
	for (k = 0; k < d->nnodes; k++) {
		dn = &d->nodes[k];
		if ((idx = manifest_find(m, dn->id)) >= 0)
			st[idx] = dn->status;
	}
	fprintf(fp, "digraph \"%s\" {\n\trankdir=LR;\n"
	    "\tnode [shape=box, style=\"rounded,filled\", "
	    "fillcolor=\"#ffffff\", fontname=\"sans-serif\"];\n", m->name);
	for (q = 0; q < m->nnodes; q++) {
		i = MANIFEST_AT(m, q);
		if (st[i] == NULL) {
			fprintf(fp, "\t\"%s\";\n", m->nodes[i].id);
			continue;
		}
		/* the status comes from a file: keep it inside the quotes */
		e = log_escape(st[i], strlen(st[i]));
		for (k = 0; e[k] != '\0'; k++)
			if (e[k] == '"' || e[k] == '\\')
				e[k] = '_';
		fprintf(fp, "\t\"%s\" [fillcolor=\"%s\", tooltip=\"%s\"];\n",
		    m->nodes[i].id, status_color_name(st[i]), e);
		free(e);
	}
	for (q = 0; q < m->nnodes; q++) {
		i = MANIFEST_AT(m, q);
		for (k = 0; k < m->nodes[i].nneeds; k++)
			fprintf(fp, "\t\"%s\" -> \"%s\";\n",
			    m->nodes[m->nodes[i].needs[k]].id, m->nodes[i].id);
	}
	fprintf(fp, "}\n");
	free(st);
}

void
render_dot(FILE *fp, const struct manifest *m, const struct sched *s)
{
	size_t i, k, q;
	const struct node *n;

	/* ids and the name match [A-Za-z0-9._-]: no quoting needed */
	fprintf(fp, "digraph \"%s\" {\n\trankdir=LR;\n"
	    "\tnode [shape=box, style=\"rounded,filled\", "
	    "fillcolor=\"#ffffff\", fontname=\"sans-serif\"];\n", m->name);
	for (k = 0; k < m->nnodes; k++) {
		i = MANIFEST_AT(m, k);
		n = &m->nodes[i];
		if (s != NULL)
			fprintf(fp, "\t\"%s\" [fillcolor=\"%s\", "
			    "tooltip=\"%s\"];\n", n->id,
			    status_color(sched_node(s, i)->status),
			    node_status_name(sched_node(s, i)->status));
		else
			fprintf(fp, "\t\"%s\";\n", n->id);
	}
	for (q = 0; q < m->nnodes; q++) {
		n = &m->nodes[MANIFEST_AT(m, q)];
		for (k = 0; k < n->nneeds; k++)
			fprintf(fp, "\t\"%s\" -> \"%s\";\n",
			    m->nodes[n->needs[k]].id, n->id);
	}
	fprintf(fp, "}\n");
}

void
render_waves(FILE *fp, const struct manifest *m)
{
	const struct graph *g = &m->graph;
	size_t *start, *order, *fill, i, k, w;

	/* bucket the nodes by wave, keeping manifest order inside a wave */
	start = xcalloc(g->nwaves + 1, sizeof *start);
	fill = xcalloc(g->nwaves + 1, sizeof *fill);
	order = xcalloc(m->nnodes, sizeof *order);
	for (i = 0; i < m->nnodes; i++)
		start[g->wave[i] + 1]++;
	for (w = 0; w < g->nwaves; w++)
		start[w + 1] += start[w];
	for (k = 0; k < m->nnodes; k++) {
		i = MANIFEST_AT(m, k);
		w = g->wave[i];
		order[start[w] + fill[w]++] = i;
	}
	for (w = 0; w < g->nwaves; w++) {
		fprintf(fp, "wave %zu:", w);
		for (i = start[w]; i < start[w + 1]; i++)
			fprintf(fp, " %s", m->nodes[order[i]].id);
		fputc('\n', fp);
	}
	free(start);
	free(fill);
	free(order);
}

int
render_rank(enum node_status s)
{
	switch (s) {
	case NS_FAILED:
	case NS_TIMED_OUT:	return 0;
	case NS_CANCELLED:	return 1;
	case NS_SKIPPED:	return 2;
	default:		return 3;
	}
}

struct summary_by {
	const struct sched	*s;
	const struct manifest	*m;
};

static int
summary_cmp(const void *a, const void *b, void *arg)
{
	const struct summary_by *by = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int rx = render_rank(sched_node(by->s, x)->status);
	int ry = render_rank(sched_node(by->s, y)->status);

	if (rx != ry)
		return rx - ry;
	x = MANIFEST_RANK(by->m, x);
	y = MANIFEST_RANK(by->m, y);
	return x < y ? -1 : x > y;
}

void
render_ms(int64_t ms, char *buf, size_t len)
{
	if (ms < 0)
		snprintf(buf, len, "-");
	else if (ms < 10000)
		snprintf(buf, len, "%.2fs", (double)ms / 1000);
	else if (ms < 600000)
		snprintf(buf, len, "%.1fs", (double)ms / 1000);
	else
		units_format_duration(ms / 1000 * 1000, buf, len);
}

char *
render_metrics(const struct metric *v, size_t n)
{
	char	*out = xstrdup(""), *t;
	size_t	 i;

	for (i = 0; i < n; i++) {
		t = xasprintf("%s%s%s=%.15g", out, i > 0 ? " " : "", v[i].name,
		    v[i].value);
		free(out);
		out = t;
	}
	return out;
}

/* Write line without its trailing blanks, then a newline; frees line. */
static void
put_line(FILE *fp, char *line)
{
	size_t n = strlen(line);

	while (n > 0 && line[n - 1] == ' ')
		line[--n] = '\0';
	fprintf(fp, "%s\n", line);
	free(line);
}

/* Cut s (escaped first) to width columns, "..." marking the cut. */
static char *
fmt_cut(const char *s, int width)
{
	char	*e = log_escape(s != NULL ? s : "", s != NULL ? strlen(s) : 0);

	if (width < 4)
		width = 4;
	if ((int)strlen(e) > width)
		strcpy(e + width - 3, "...");
	return e;
}

/* The error column's text: the last line of stderr, the most telling (a
 * traceback's last line, the shell's "not found"), then the error in
 * parentheses; or the error alone. Escaped; new. */
static char *
summary_error(const struct node_run *r)
{
	char		*e, *full;
	const char	*last;
	size_t		 n;

	e = log_escape(r->error != NULL ? r->error : "",
	    r->error != NULL ? strlen(r->error) : 0);
	/* the tail is safe text already (errtail_new) */
	if ((last = errtail_last(r->stderr_tail, &n)) != NULL) {
		full = xasprintf("%.*s%s%s%s", (int)n, last,
		    *e != '\0' ? " (" : "", e, *e != '\0' ? ")" : "");
		free(e);
		e = full;
	}
	return e;
}

/* Columns of the error, after the others: at least 20. */
static int
summary_error_width(int idwidth)
{
	int w = SUMMARY_WIDTH - idwidth - 53 - SUMMARY_METRICS;

	return w < 20 ? 20 : w;
}

/* At most this many nodes' errors and last lines of stderr under the
 * table. */
#define SUMMARY_TAILS	20

/* Under the totals: each node that has last lines of stderr, or whose
 * error the column cut, with its error whole and those lines, in the
 * table's order, SUMMARY_TAILS at most. */
static void
summary_tails(FILE *fp, const struct manifest *m, const struct sched *s,
    const size_t *order, int ewidth)
{
	const struct node_run	*r;
	const char		*p, *nl;
	size_t			 i, n = 0;
	char			*e, *col;
	bool			 cut;

	for (i = 0; i < m->nnodes; i++) {
		r = sched_node(s, order[i]);
		if (r->error == NULL && r->stderr_tail == NULL)
			continue;
		col = summary_error(r);
		cut = strlen(col) > (size_t)ewidth;	/* bytes >= chars */
		free(col);
		if (r->stderr_tail == NULL && !cut)
			continue;
		if (n++ == 0)
			fprintf(fp, "\nerrors and last lines of stderr:\n");
		if (n > SUMMARY_TAILS)
			continue;
		e = log_escape(r->error != NULL ? r->error : "",
		    r->error != NULL ? strlen(r->error) : 0);
		fprintf(fp, "%s (%s)%s%s\n", m->nodes[order[i]].id,
		    node_status_name(r->status), *e != '\0' ? ": " : "", e);
		free(e);
		for (p = r->stderr_tail; p != NULL; p = nl + 1) {
			nl = strchr(p, '\n');
			fprintf(fp, "    %.*s\n", nl != NULL ? (int)(nl - p) :
			    (int)strlen(p), p);
			if (nl == NULL)
				break;
		}
	}
	if (n > SUMMARY_TAILS)
		fprintf(fp, "... and %zu more (state.yaml, nodes/NODE/"
		    "stderr.log)\n", n - SUMMARY_TAILS);
}

/* The lines under the totals for what did not run here: the earlier jobs
 * reused nodes came from (with how many), and what the cache hits saved. */
static void
summary_unrun(FILE *fp, const struct manifest *m, const struct state_job *sj)
{
	const char	**from = NULL;
	size_t		 *count = NULL, nfrom = 0, i, k;
	char		 *mt;

	for (i = 0; sj->reused_from != NULL && i < m->nnodes; i++) {
		if (sj->reused_from[i] == NULL)
			continue;
		/* one earlier job in practice: a short list to look through */
		for (k = 0; k < nfrom && strcmp(from[k],
		    sj->reused_from[i]) != 0; k++)
			;
		if (k == nfrom) {
			from = xreallocarray(from, nfrom + 1, sizeof *from);
			count = xreallocarray(count, nfrom + 1, sizeof *count);
			from[nfrom] = sj->reused_from[i];
			count[nfrom++] = 0;
		}
		count[k]++;
	}
	for (k = 0; k < nfrom; k++) {
		mt = log_escape(from[k], strlen(from[k]));
		fprintf(fp, "reused from %s: %zu node%s\n", mt, count[k],
		    count[k] == 1 ? "" : "s");
		free(mt);
	}
	if (sj->nsaved > 0) {
		mt = render_metrics(sj->saved, sj->nsaved);
		fprintf(fp, "saved by cache hits: %s\n", mt);
		free(mt);
	}
	free(from);
	free(count);
}

void
render_summary(FILE *fp, const struct manifest *m, const struct sched *s,
    const struct state_job *sj, int64_t duration_ms)
{
	struct summary_by by;
	size_t *order, i, counts[NS__COUNT], nmet, nreused = 0,
	    ncached = 0;
	const char *status;
	char rsbuf[96];
	const struct node_run *r;
	const struct metric *met;
	int64_t dur, cpu = 0, rss = 0;
	char dbuf[32], cbuf[32], rbuf[32], abuf[16], *err, *mt, *mc, *line,
	    *mt2;
	int width = 5, attempts = 0;

	order = xcalloc(m->nnodes > 0 ? m->nnodes : 1, sizeof *order);
	for (i = 0; i < m->nnodes; i++) {
		order[i] = i;
		if ((int)strlen(m->nodes[i].id) > width)
			width = (int)strlen(m->nodes[i].id);
	}
	if (width > 40)
		width = 40;
	by.s = s;
	by.m = m;
	qsort_r(order, m->nnodes, sizeof *order, summary_cmp, &by);
	/* NODE STATUS ATTEMPTS TIME CPU MAXRSS METRICS ERROR: the error is
	 * cut so that a line fits SUMMARY_WIDTH columns */
	fprintf(fp, "%-*s  %-10s %8s %9s %9s %7s  %-*s  %s\n", width, "NODE",
	    "STATUS", "ATTEMPTS", "TIME", "CPU", "MAXRSS", SUMMARY_METRICS,
	    "METRICS", "ERROR");
	for (i = 0; i < m->nnodes; i++) {
		r = sched_node(s, order[i]);
		dur = (r->started_ms >= 0 && r->finished_ms >= 0) ?
		    r->finished_ms - r->started_ms : -1;
		render_ms(dur, dbuf, sizeof dbuf);
		render_ms(r->attempts > 0 ? r->cpu_ms : -1, cbuf, sizeof cbuf);
		if (r->attempts > 0 && r->max_rss_kb > 0)
			units_format_size(r->max_rss_kb * 1024, rbuf,
			    sizeof rbuf);
		else
			snprintf(rbuf, sizeof rbuf, "-");
		cpu += r->cpu_ms;
		attempts += r->attempts;
		if (r->max_rss_kb > rss)
			rss = r->max_rss_kb;
		mt = render_metrics(r->metrics, r->nmetrics);
		mc = fmt_cut(mt, SUMMARY_METRICS);
		mt2 = summary_error(r);
		err = errtail_cut(mt2, (size_t)summary_error_width(width));
		free(mt2);
		status = node_status_name(r->status);
		snprintf(abuf, sizeof abuf, "%d", r->attempts);
		/* a success taken from an earlier job: what ran was there */
		if (sj != NULL && sj->reused_from != NULL &&
		    sj->reused_from[order[i]] != NULL) {
			status = "reused";
			nreused++;
		}
		/* a cache hit: an entry of the same key was restored */
		if (sj != NULL && sj->cached != NULL &&
		    sj->cached[order[i]].hit) {
			status = "cached";
			ncached++;
		}
		/* neither ran here: no attempts, no time of their own */
		if (strcmp(status, "reused") == 0 ||
		    strcmp(status, "cached") == 0) {
			snprintf(abuf, sizeof abuf, "-");
			snprintf(dbuf, sizeof dbuf, "-");
		}
		line = xasprintf("%-*.*s  %-10s %8s %9s %9s %7s  %-*s  %s",
		    width, width, m->nodes[order[i]].id, status, abuf,
		    dbuf, cbuf, rbuf, SUMMARY_METRICS, *mc != '\0' ? mc : "-",
		    err);
		put_line(fp, line);
		free(err);
		free(mt);
		free(mc);
	}
	sched_counts(s, counts);
	render_ms(duration_ms, dbuf, sizeof dbuf);
	render_ms(cpu, cbuf, sizeof cbuf);
	if (rss > 0)
		units_format_size(rss * 1024, rbuf, sizeof rbuf);
	else
		snprintf(rbuf, sizeof rbuf, "-");
	met = sched_metrics(s, &nmet);
	mt = render_metrics(met, nmet);
	mc = fmt_cut(mt, SUMMARY_METRICS);
	line = xasprintf("%-*s  %-10s %8d %9s %9s %7s  %s", width, "TOTAL",
	    dag_status_name(sched_status(s)), attempts, dbuf, cbuf, rbuf,
	    *mc != '\0' ? mc : "-");
	put_line(fp, line);
	rsbuf[0] = '\0';
	if (nreused > 0)
		snprintf(rsbuf, sizeof rsbuf, " (%zu reused)", nreused);
	if (ncached > 0)
		snprintf(rsbuf + strlen(rsbuf), sizeof rsbuf - strlen(rsbuf),
		    " (%zu cached)", ncached);
	fprintf(fp, "\n%zu nodes: %zu succeeded%s, %zu failed, %zu timed out, "
	    "%zu cancelled, %zu skipped; DAG %s in %s (cpu %s)\n", m->nnodes,
	    counts[NS_SUCCEEDED], rsbuf, counts[NS_FAILED],
	    counts[NS_TIMED_OUT], counts[NS_CANCELLED], counts[NS_SKIPPED],
	    dag_status_name(sched_status(s)), dbuf, cbuf);
	if (sj != NULL)
		summary_unrun(fp, m, sj);
	summary_tails(fp, m, s, order, summary_error_width(width));
	free(mt);
	free(mc);
	free(order);
}

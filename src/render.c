#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "render.h"
#include "units.h"
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

void
render_dot(FILE *fp, const struct manifest *m, const struct sched *s)
{
	size_t i, k;
	const struct node *n;

	/* ids and the name match [A-Za-z0-9._-]: no quoting needed */
	fprintf(fp, "digraph \"%s\" {\n\trankdir=LR;\n"
	    "\tnode [shape=box, style=\"rounded,filled\", "
	    "fillcolor=\"#ffffff\", fontname=\"sans-serif\"];\n", m->name);
	for (i = 0; i < m->nnodes; i++) {
		n = &m->nodes[i];
		if (s != NULL)
			fprintf(fp, "\t\"%s\" [fillcolor=\"%s\", "
			    "tooltip=\"%s\"];\n", n->id,
			    status_color(sched_node(s, i)->status),
			    node_status_name(sched_node(s, i)->status));
		else
			fprintf(fp, "\t\"%s\";\n", n->id);
	}
	for (i = 0; i < m->nnodes; i++) {
		n = &m->nodes[i];
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
	size_t *start, *order, *fill, i, w;

	/* bucket the nodes by wave, keeping manifest order inside a wave */
	start = xcalloc(g->nwaves + 1, sizeof *start);
	fill = xcalloc(g->nwaves + 1, sizeof *fill);
	order = xcalloc(m->nnodes, sizeof *order);
	for (i = 0; i < m->nnodes; i++)
		start[g->wave[i] + 1]++;
	for (w = 0; w < g->nwaves; w++)
		start[w + 1] += start[w];
	for (i = 0; i < m->nnodes; i++) {
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

static int
summary_rank(enum node_status s)
{
	switch (s) {
	case NS_FAILED:
	case NS_TIMED_OUT:	return 0;
	case NS_CANCELLED:	return 1;
	case NS_SKIPPED:	return 2;
	default:		return 3;
	}
}

static const struct sched *summary_sched;

static int
summary_cmp(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int rx = summary_rank(sched_node(summary_sched, x)->status);
	int ry = summary_rank(sched_node(summary_sched, y)->status);

	if (rx != ry)
		return rx - ry;
	return x < y ? -1 : x > y;
}

static void
fmt_ms(int64_t ms, char *buf, size_t len)
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

void
render_summary(FILE *fp, const struct manifest *m, const struct sched *s,
    int64_t duration_ms)
{
	size_t *order, i, counts[NS__COUNT];
	const struct node_run *r;
	int64_t dur, cpu = 0;
	char dbuf[32], cbuf[32], *err;
	int width = 4;

	order = xcalloc(m->nnodes, sizeof *order);
	for (i = 0; i < m->nnodes; i++) {
		order[i] = i;
		if ((int)strlen(m->nodes[i].id) > width)
			width = (int)strlen(m->nodes[i].id);
	}
	if (width > 40)
		width = 40;
	summary_sched = s;
	qsort(order, m->nnodes, sizeof *order, summary_cmp);
	fprintf(fp, "%-*s  %-10s %8s %10s %10s  %s\n", width, "NODE", "STATUS",
	    "ATTEMPTS", "TIME", "CPU", "ERROR");
	for (i = 0; i < m->nnodes; i++) {
		r = sched_node(s, order[i]);
		dur = (r->started_ms >= 0 && r->finished_ms >= 0) ?
		    r->finished_ms - r->started_ms : -1;
		fmt_ms(dur, dbuf, sizeof dbuf);
		fmt_ms(r->attempts > 0 ? r->cpu_ms : -1, cbuf, sizeof cbuf);
		cpu += r->cpu_ms;
		err = log_escape(r->error ? r->error : "",
		    r->error ? strlen(r->error) : 0);
		if (strlen(err) > 60)
			strcpy(err + 57, "...");
		fprintf(fp, "%-*.*s  %-10s %8d %10s %10s  %s\n", width, width,
		    m->nodes[order[i]].id, node_status_name(r->status),
		    r->attempts, dbuf, cbuf, err);
		free(err);
	}
	sched_counts(s, counts);
	fmt_ms(duration_ms, dbuf, sizeof dbuf);
	fmt_ms(cpu, cbuf, sizeof cbuf);
	fprintf(fp, "\n%zu nodes: %zu succeeded, %zu failed, %zu timed out, "
	    "%zu cancelled, %zu skipped; DAG %s in %s (cpu %s)\n", m->nnodes,
	    counts[NS_SUCCEEDED], counts[NS_FAILED], counts[NS_TIMED_OUT],
	    counts[NS_CANCELLED], counts[NS_SKIPPED],
	    dag_status_name(sched_status(s)), dbuf, cbuf);
	free(order);
}

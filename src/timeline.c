/* The SVG Gantt chart of a run. Plain SVG 1.1 (no CSS beyond presentation
 * attributes, no scripts) so that browsers and rsvg-convert draw the same. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "graph.h"
#include "log.h"
#include "timeline.h"
#include "xmalloc.h"

#define TL_TOP		56	/* title and axis above the rows */
#define TL_WAVE_GAP	6	/* between waves */
#define TL_PLOT_H_MAX	1500	/* rows shrink to stay within this */
#define TL_RIGHT	24
#define TL_LEGEND_H	34
#define TL_CHAR_W	6.6	/* of an 11px sans-serif label, roughly */
#define TL_LABEL_CHARS	40	/* longest label drawn in full */

struct sbuf {
	char	*s;
	size_t	 len;
	size_t	 cap;
};

static void sb_printf(struct sbuf *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s != NULL ? b->s + b->len : NULL,
		    b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		xgrow(&b->s, &b->cap, b->len + (size_t)n + 1024, 1);
	}
}

char *
timeline_xml_escape(const char *s, size_t len)
{
	struct sbuf	 b = { NULL, 0, 0 };
	char		*e, *p;

	/* control bytes and broken UTF-8 first (XML 1.0 cannot carry them,
	 * not even as character references), then the markup characters */
	e = log_escape(s, len);
	sb_printf(&b, "%s", "");
	for (p = e; *p != '\0'; p++) {
		switch (*p) {
		case '&':
			sb_printf(&b, "&amp;");
			break;
		case '<':
			sb_printf(&b, "&lt;");
			break;
		case '>':
			sb_printf(&b, "&gt;");
			break;
		case '"':
			sb_printf(&b, "&quot;");
			break;
		case '\'':
			sb_printf(&b, "&#39;");
			break;
		default:
			sb_printf(&b, "%c", *p);
			break;
		}
	}
	free(e);
	return b.s;
}

static const struct node_run *
tl_run(const struct node_run *const *runs, size_t i)
{
	return runs != NULL ? runs[i] : NULL;
}

/* The time range shown: the job's, widened to every attempt. */
static void
tl_range(const struct manifest *m, const struct node_run *const *runs,
    const struct state_job *sj, int64_t *t0, int64_t *t1)
{
	const struct node_run	*r;
	const struct attempt	*a;
	size_t			 i, k;
	int64_t			 lo = INT64_MAX, hi = INT64_MIN;

	if (sj != NULL && sj->started_ms >= 0)
		lo = sj->started_ms;
	if (sj != NULL && sj->finished_ms >= 0)
		hi = sj->finished_ms;
	for (i = 0; i < m->nnodes; i++) {
		if ((r = tl_run(runs, i)) == NULL)
			continue;
		for (k = 0; k < r->nhist; k++) {
			a = &r->hist[k];
			if (a->start_ms < lo)
				lo = a->start_ms;
			if (a->start_ms > hi)
				hi = a->start_ms;
			if (a->end_ms > hi)
				hi = a->end_ms;
		}
	}
	if (lo == INT64_MAX)
		lo = 0;
	if (hi == INT64_MIN || hi < lo)
		hi = lo;
	*t0 = lo;
	*t1 = hi;
}

static size_t
tl_label_chars(const struct manifest *m)
{
	size_t	i, l, w = 4;

	for (i = 0; i < m->nnodes; i++) {
		l = strlen(m->nodes[i].id);
		if (l > w)
			w = l;
	}
	return w > TL_LABEL_CHARS ? TL_LABEL_CHARS : w;
}

void
timeline_geom(const struct manifest *m, const struct node_run *const *runs,
    const struct state_job *sj, struct timeline_geom *g)
{
	int64_t	t1;
	size_t	h, n = m->nnodes > 0 ? m->nnodes : 1;

	tl_range(m, runs, sj, &g->t0, &t1);
	g->span = t1 - g->t0 > 0 ? t1 - g->t0 : 1;
	g->x0 = (double)(12 + (size_t)(TL_CHAR_W * (double)tl_label_chars(m)
	    + 0.999));
	g->w = TIMELINE_PLOT_W;
	h = TL_PLOT_H_MAX / n;
	if (h > TIMELINE_ROW_MAX)
		h = TIMELINE_ROW_MAX;
	if (h < TIMELINE_ROW_MIN)
		h = TIMELINE_ROW_MIN;
	g->row_h = (double)h;
	g->label_every = h >= TIMELINE_LABEL_MIN ? 1 :
	    (TIMELINE_LABEL_MIN + h - 1) / h;
}

static double
tl_x(const struct timeline_geom *g, int64_t t)
{
	return g->x0 + (double)(t - g->t0) * g->w / (double)g->span;
}

/* A tick step of 1, 2 or 5 times a power of ten (ms), giving at most about
 * eight ticks; above a minute, whole minutes or hours. */
static int64_t
tl_step(int64_t span)
{
	static const int64_t big[] = { 60000, 120000, 300000, 600000, 900000,
	    1800000, 3600000, 7200000, 10800000, 21600000, 43200000,
	    86400000 };
	int64_t	p = 1, want = span / 8 > 0 ? span / 8 : 1;
	size_t	i;

	if (want > 30000) {
		for (i = 0; i < sizeof big / sizeof big[0]; i++)
			if (big[i] >= want)
				return big[i];
		return (want / 86400000 + 1) * 86400000;
	}
	for (;;) {
		if (p >= want)
			return p;
		if (2 * p >= want)
			return 2 * p;
		if (5 * p >= want)
			return 5 * p;
		p *= 10;
	}
}

static void
tl_fmt_tick(int64_t ms, int64_t step, char *buf, size_t len)
{
	if (step < 1000) {
		snprintf(buf, len, "%.*fs", step < 10 ? 3 : step < 100 ? 2 : 1,
		    (double)ms / 1000);
	} else if (step < 60000)
		snprintf(buf, len, "%llds", (long long)(ms / 1000));
	else if (step < 3600000 && ms < 3600000)
		snprintf(buf, len, "%lldm", (long long)(ms / 60000));
	else if (ms % 3600000 == 0)
		snprintf(buf, len, "%lldh", (long long)(ms / 3600000));
	else
		snprintf(buf, len, "%lldh%02lldm", (long long)(ms / 3600000),
		    (long long)(ms % 3600000 / 60000));
}

static void
tl_fmt_dur(int64_t ms, char *buf, size_t len)
{
	if (ms < 0)
		snprintf(buf, len, "-");
	else if (ms < 60000)
		snprintf(buf, len, "%.3fs", (double)ms / 1000);
	else if (ms < 3600000)
		snprintf(buf, len, "%lldm%06.3fs", (long long)(ms / 60000),
		    (double)(ms % 60000) / 1000);
	else
		snprintf(buf, len, "%lldh%02lldm%02llds",
		    (long long)(ms / 3600000),
		    (long long)(ms % 3600000 / 60000),
		    (long long)(ms % 60000 / 1000));
}

enum tl_outcome { TO_OK, TO_FAILED, TO_TIMEOUT, TO_RETRIED, TO_CANCELLED,
    TO_RUNNING, TO__COUNT };

static const struct {
	const char	*cls;
	const char	*fill;
	const char	*what;
} tl_kind[TO__COUNT] = {
	{ "ok",		"#4caf50", "succeeded" },
	{ "failed",	"#e53935", "failed" },
	{ "timeout",	"#fb8c00", "timed out" },
	{ "retried",	"#fdd835", "retried attempt" },
	{ "cancelled",	"#9e9e9e", "cancelled" },
	{ "running",	"#42a5f5", "running" },
};

static enum tl_outcome
tl_outcome(const struct node_run *r, size_t k)
{
	const struct attempt *a = &r->hist[k];

	if (a->end_ms < 0)
		return TO_RUNNING;
	if (a->reason == REASON_NONE)
		return TO_OK;
	if (k + 1 < r->nhist || r->status == NS_RETRYING)
		return TO_RETRIED;
	switch (a->reason) {
	case REASON_TIMEOUT:
	case REASON_DEADLINE:
		return TO_TIMEOUT;
	case REASON_CANCELLED:
		return TO_CANCELLED;
	default:
		return TO_FAILED;
	}
}

/* Rows: by wave, inside a wave by first start (never started last), then
 * manifest order. */
static const struct manifest		*tl_sort_m;
static const struct node_run *const	*tl_sort_runs;

static int
tl_row_cmp(const void *pa, const void *pb)
{
	size_t			 a = *(const size_t *)pa;
	size_t			 b = *(const size_t *)pb;
	const struct node_run	*ra = tl_run(tl_sort_runs, a);
	const struct node_run	*rb = tl_run(tl_sort_runs, b);
	int64_t			 sa, sb;
	size_t			 wa = tl_sort_m->graph.wave[a];
	size_t			 wb = tl_sort_m->graph.wave[b];

	if (wa != wb)
		return wa < wb ? -1 : 1;
	sa = ra != NULL && ra->nhist > 0 ? ra->hist[0].start_ms : INT64_MAX;
	sb = rb != NULL && rb->nhist > 0 ? rb->hist[0].start_ms : INT64_MAX;
	if (sa != sb)
		return sa < sb ? -1 : 1;
	return a < b ? -1 : a > b;
}

static int
tl_i64_cmp(const void *pa, const void *pb)
{
	int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;

	return a < b ? -1 : a > b;
}

/*
 * The most attempts that ran at once: a sweep over the sorted starts and
 * ends, an end before a start at the same time. An attempt that ends where
 * it starts (or before) is never counted, so the count may dip below zero
 * on the way; once every end is passed, the starts left add to it.
 */
static size_t
tl_peak(const struct manifest *m, const struct node_run *const *runs,
    int64_t t_end)
{
	const struct node_run	*r;
	int64_t			*st, *en, cur = 0, peak = 0;
	size_t			 n = 0, i, k, a, b;

	for (i = 0; i < m->nnodes; i++)
		if ((r = tl_run(runs, i)) != NULL)
			n += r->nhist;
	if (n == 0)
		return 0;
	st = xcalloc(n, sizeof *st);
	en = xcalloc(n, sizeof *en);
	n = 0;
	for (i = 0; i < m->nnodes; i++) {
		if ((r = tl_run(runs, i)) == NULL)
			continue;
		for (k = 0; k < r->nhist; k++) {
			st[n] = r->hist[k].start_ms;
			en[n++] = r->hist[k].end_ms >= 0 ? r->hist[k].end_ms :
			    t_end;
		}
	}
	qsort(st, n, sizeof *st, tl_i64_cmp);
	qsort(en, n, sizeof *en, tl_i64_cmp);
	for (a = b = 0; a < n;) {
		if (b == n || st[a] < en[b]) {
			a++;
			if (++cur > peak)
				peak = cur;
		} else {
			b++;
			cur--;
		}
	}
	free(st);
	free(en);
	return (size_t)peak;
}

/* The critical path of the run as it happened: the heaviest chain of needs
 * weighted by each node's real duration. on[i] set for its nodes. */
static void
tl_critical(const struct manifest *m, const struct node_run *const *runs,
    unsigned char *on)
{
	const struct node_run	*r;
	struct graph		 g;
	size_t			*nneeds;
	const size_t		**needs;
	int64_t			*w;
	size_t			 i;

	memset(on, 0, m->nnodes);
	if (m->nnodes == 0)
		return;
	nneeds = xcalloc(m->nnodes, sizeof *nneeds);
	needs = xcalloc(m->nnodes, sizeof *needs);
	w = xcalloc(m->nnodes, sizeof *w);
	for (i = 0; i < m->nnodes; i++) {
		nneeds[i] = m->nodes[i].nneeds;
		needs[i] = m->nodes[i].needs;
		r = tl_run(runs, i);
		w[i] = r != NULL && r->started_ms >= 0 && r->finished_ms >= 0 ?
		    r->finished_ms - r->started_ms + 1 : 1;
	}
	graph_init(&g, m->nnodes, nneeds, needs, w);
	if (graph_analyze(&g) == 0)
		graph_critical_path(&g, on);
	graph_release(&g);
	free(nneeds);
	free(needs);
	free(w);
}

/* The hover text of attempt k of node i. */
static void
tl_title(struct sbuf *b, const struct manifest *m, size_t i,
    const struct node_run *r, size_t k, const struct state_job *sj)
{
	const struct attempt	*a = &r->hist[k];
	int64_t			 wb = 0, mb = 0;
	char			 t1[40], t2[40], d[40], *e;
	const char		*err = NULL;

	if (sj != NULL) {
		wb = sj->wall_base_ms;
		mb = sj->mono_base_ms;
	}
	state_format_time(wb + a->start_ms - mb, t1, sizeof t1);
	if (a->end_ms >= 0) {
		state_format_time(wb + a->end_ms - mb, t2, sizeof t2);
		tl_fmt_dur(a->end_ms - a->start_ms, d, sizeof d);
	} else {
		snprintf(t2, sizeof t2, "(running)");
		snprintf(d, sizeof d, "-");
	}
	sb_printf(b, "<title>%s attempt %zu/%zu: %s (%s)\n%s to %s\nslot %d",
	    m->nodes[i].id, k + 1, r->nhist, tl_kind[tl_outcome(r, k)].what,
	    d, t1, t2, a->slot);
	if (a->exit_code >= 0)
		sb_printf(b, ", exit %d", a->exit_code);
	if (a->signal > 0)
		sb_printf(b, ", signal %d", a->signal);
	if (a->reason != REASON_NONE)
		sb_printf(b, ", reason %s", reason_name(a->reason));
	if (k + 1 == r->nhist && r->error != NULL)
		err = r->error;
	if (err != NULL) {
		e = timeline_xml_escape(err, strlen(err));
		sb_printf(b, "\nerror: %s", e);
		free(e);
	}
	sb_printf(b, "</title>");
}

static void
tl_legend(struct sbuf *b, double x, double y)
{
	size_t	k;

	for (k = 0; k < TO__COUNT; k++) {
		sb_printf(b, "<rect class=\"key\" x=\"%.1f\" y=\"%.1f\" "
		    "width=\"12\" height=\"10\" fill=\"%s\"/>"
		    "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n", x, y,
		    tl_kind[k].fill, x + 16, y + 9, tl_kind[k].what);
		x += 30 + TL_CHAR_W * (double)strlen(tl_kind[k].what);
	}
	sb_printf(b, "<rect class=\"key\" x=\"%.1f\" y=\"%.1f\" width=\"12\" "
	    "height=\"10\" fill=\"#ffffff\" stroke=\"#000000\" "
	    "stroke-width=\"1.5\"/><text x=\"%.1f\" y=\"%.1f\">critical "
	    "path</text>\n", x, y, x + 16, y + 9);
}

char *
timeline_render(const struct manifest *m, const struct node_run *const *runs,
    const struct state_job *sj, size_t *len)
{
	struct timeline_geom	 g;
	struct sbuf		 b = { NULL, 0, 0 };
	const struct node_run	*r;
	const struct attempt	*a;
	unsigned char		*crit;
	size_t			*row, i, k, q, n = m->nnodes, wave, nwave, peak;
	size_t			 lc;
	double			 y, h, width, height, x1, x2, bw;
	int64_t			 step, t, t_end;
	char			 tick[40], dur[40], when[40], *e;
	const char		*status;
	enum tl_outcome		 o;
	bool			 shown;

	timeline_geom(m, runs, sj, &g);
	t_end = g.t0 + g.span;
	row = xcalloc(n > 0 ? n : 1, sizeof *row);
	for (i = 0; i < n; i++)
		row[i] = i;
	tl_sort_m = m;
	tl_sort_runs = runs;
	if (n > 1)
		qsort(row, n, sizeof *row, tl_row_cmp);
	crit = xcalloc(n > 0 ? n : 1, 1);
	tl_critical(m, runs, crit);
	peak = tl_peak(m, runs, t_end);
	nwave = m->graph.nwaves;
	h = g.row_h;
	width = g.x0 + g.w + TL_RIGHT;
	height = TL_TOP + h * (double)n + TL_WAVE_GAP * (double)(nwave > 0 ?
	    nwave - 1 : 0) + 8 + TL_LEGEND_H;
	lc = tl_label_chars(m);

	sb_printf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
	    "width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
	    "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
	    "font-size=\"11\">\n", width, height, width, height);
	status = sj != NULL ? dag_status_name(sj->status) : "unknown";
	tl_fmt_dur(sj != NULL && sj->started_ms >= 0 && sj->finished_ms >= 0 ?
	    sj->finished_ms - sj->started_ms : g.span, dur, sizeof dur);
	when[0] = '\0';
	if (sj != NULL && sj->started_ms >= 0)
		state_format_time(sj->wall_base_ms + sj->started_ms -
		    sj->mono_base_ms, when, sizeof when);
	e = timeline_xml_escape(sj != NULL && sj->job != NULL ? sj->job : "",
	    sj != NULL && sj->job != NULL ? strlen(sj->job) : 0);
	sb_printf(&b, "<title>%s %s</title>\n", m->name, e);
	free(e);
	sb_printf(&b, "<rect class=\"bg\" x=\"0\" y=\"0\" width=\"%.0f\" "
	    "height=\"%.0f\" fill=\"#ffffff\"/>\n", width, height);
	sb_printf(&b, "<text class=\"head\" x=\"8\" y=\"18\" font-size=\"14\" "
	    "font-weight=\"bold\">%s: %s in %s, %zu nodes, parallelism %zu",
	    m->name, status, dur, n, peak);
	if (m->max_parallel > 0)
		sb_printf(&b, " of %d", m->max_parallel);
	sb_printf(&b, "</text>\n");
	if (sj != NULL && sj->job != NULL) {
		e = timeline_xml_escape(sj->job, strlen(sj->job));
		sb_printf(&b, "<text x=\"8\" y=\"32\" fill=\"#555555\">%s, "
		    "started %s</text>\n", e, when);
		free(e);
	}

	/* the axis: ticks and grid lines */
	step = tl_step(g.span);
	sb_printf(&b, "<g class=\"axis\" stroke=\"#dddddd\" "
	    "stroke-width=\"1\">\n");
	for (t = 0; t <= g.span; t += step)
		sb_printf(&b, "<line x1=\"%.2f\" y1=\"%d\" x2=\"%.2f\" "
		    "y2=\"%.1f\"/>\n", tl_x(&g, g.t0 + t), TL_TOP - 4,
		    tl_x(&g, g.t0 + t), height - TL_LEGEND_H);
	sb_printf(&b, "</g>\n<g class=\"ticks\" fill=\"#555555\" "
	    "text-anchor=\"middle\">\n");
	for (t = 0; t <= g.span; t += step) {
		tl_fmt_tick(t, step, tick, sizeof tick);
		sb_printf(&b, "<text x=\"%.2f\" y=\"%d\">%s</text>\n",
		    tl_x(&g, g.t0 + t), TL_TOP - 8, tick);
	}
	sb_printf(&b, "</g>\n");

	/* rows */
	y = TL_TOP;
	wave = n > 0 ? m->graph.wave[row[0]] : 0;
	for (k = 0; k < n; k++) {
		i = row[k];
		if (m->graph.wave[i] != wave) {
			wave = m->graph.wave[i];
			sb_printf(&b, "<line class=\"wave\" x1=\"0\" "
			    "y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" "
			    "stroke=\"#bbbbbb\" stroke-dasharray=\"4,3\"/>\n",
			    y + TL_WAVE_GAP / 2.0, width,
			    y + TL_WAVE_GAP / 2.0);
			y += TL_WAVE_GAP;
		}
		r = tl_run(runs, i);
		if (k % 2 == 1)
			sb_printf(&b, "<rect class=\"row\" x=\"0\" y=\"%.1f\" "
			    "width=\"%.0f\" height=\"%.1f\" "
			    "fill=\"#f6f6f6\"/>\n", y, width, h);
		shown = k % g.label_every == 0;
		if (shown) {
			e = timeline_xml_escape(m->nodes[i].id,
			    strlen(m->nodes[i].id) > lc ? lc :
			    strlen(m->nodes[i].id));
			sb_printf(&b, "<text class=\"id\" x=\"6\" y=\"%.1f\" "
			    "font-size=\"%.0f\"%s%s>%s%s<title>%s wave %zu: "
			    "%s</title></text>\n", y + h * 0.5 + (h < 11 ?
			    h : 11) * 0.35, h < 11 ? h : 11,
			    crit[i] ? " font-weight=\"bold\"" : "",
			    r == NULL || r->nhist == 0 ?
			    " fill=\"#999999\" font-style=\"italic\"" : "",
			    e, strlen(m->nodes[i].id) > lc ? "..." : "",
			    m->nodes[i].id, m->graph.wave[i],
			    r != NULL ? node_status_name(r->status) :
			    "pending");
			free(e);
		}
		for (q = 0; r != NULL && q < r->nhist; q++) {
			a = &r->hist[q];
			x1 = tl_x(&g, a->start_ms);
			x2 = tl_x(&g, a->end_ms >= 0 ? a->end_ms : t_end);
			bw = x2 - x1 < 0.5 ? 0.5 : x2 - x1;
			o = tl_outcome(r, q);
			/* the wait before a retry: a dashed line */
			if (q > 0 && a[-1].end_ms >= 0 &&
			    a->start_ms > a[-1].end_ms)
				sb_printf(&b, "<line class=\"wait\" "
				    "x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" "
				    "y2=\"%.1f\" stroke=\"#888888\" "
				    "stroke-dasharray=\"2,2\"/>\n",
				    tl_x(&g, a[-1].end_ms), y + h / 2, x1,
				    y + h / 2);
			sb_printf(&b, "<rect class=\"att %s\" x=\"%.2f\" "
			    "y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" "
			    "fill=\"%s\"", tl_kind[o].cls, x1, y + (h > 4 ?
			    1 : 0), bw, h > 4 ? h - 2 : h, tl_kind[o].fill);
			if (crit[i])
				sb_printf(&b, " stroke=\"#000000\" "
				    "stroke-width=\"%.1f\"", h > 6 ? 1.5 : 0.6);
			sb_printf(&b, ">");
			tl_title(&b, m, i, r, q, sj);
			sb_printf(&b, "</rect>\n");
		}
		y += h;
	}
	tl_legend(&b, 8, y + 14);
	sb_printf(&b, "</svg>\n");
	free(row);
	free(crit);
	*len = b.len;
	return b.s;
}

int
timeline_write(const char *path, const struct manifest *m,
    const struct sched *s, const struct state_job *sj, char **cause)
{
	const struct node_run	**runs;
	size_t			  len;
	char			 *svg;
	int			  rc;

	runs = sched_runs(s);
	svg = timeline_render(m, runs, sj, &len);
	rc = fs_write_atomic(path, svg, len, 0644, cause);
	free(svg);
	free(runs);
	return rc;
}

/*
 * The SVG Gantt chart of a run. Plain SVG 1.1 (no CSS beyond presentation
 * attributes, no scripts) so that browsers and rsvg-convert draw the same.
 *
 * The text is written directly into one growing buffer: literals copied,
 * integers and the fixed-point numbers ("%.0f", "%.1f", "%.2f") formatted
 * here, strings escaped in place. It is byte for byte what the printf-based
 * renderer wrote; tests/test_timeline.c keeps that one as its reference and
 * compares the two over many inputs.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fsutil.h"
#include "graph.h"
#include "log.h"
#include "strbuf.h"
#include "timeline.h"
#include "xmalloc.h"

#define TL_TOP		56	/* title and axis above the rows */
#define TL_WAVE_GAP	6	/* between waves */
#define TL_PLOT_H_MAX	1500	/* rows shrink to stay within this */
#define TL_RIGHT	24
#define TL_LEGEND_H	34
#define TL_CHAR_W	6.6	/* of an 11px sans-serif label, roughly */
#define TL_LABEL_CHARS	40	/* longest label drawn in full */
#define TL_REUSED_EDGE	"#2e7d32"	/* a reused node's mark */
#define TL_CACHED_EDGE	"#1565c0"	/* a cache hit's mark */

/* A string as "%s" writes it (NULL as glibc does, "(null)"). */
static void
tl_str(struct strbuf *b, const char *s)
{
	if (s == NULL)
		s = "(null)";
	strbuf_add(b, s, strlen(s));
}

/* An unsigned integer ("%zu"), at least width digits ("%02lld"...). */
static void
tl_uintw(struct strbuf *b, uint64_t u, int width)
{
	char	buf[24], *p = buf + sizeof buf;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
		width--;
	} while (u != 0 || width > 0);
	strbuf_add(b, p, (size_t)(buf + sizeof buf - p));
}

#define tl_uint(b, u) tl_uintw(b, u, 1)

/* A signed integer ("%d", "%lld"). */
static void
tl_int(struct strbuf *b, int64_t v)
{
	if (v < 0) {
		strbuf_lit(b, "-");
		tl_uint(b, -(uint64_t)v);
	} else
		tl_uint(b, (uint64_t)v);
}

/*
 * v as "%.*f" writes it for prec 0, 1 or 2: the exact binary value times
 * 10^prec rounded to the nearest integer, a tie to the even one, and a '-'
 * whenever the sign bit is set ("-0.00" too). The value is taken apart
 * into an integer mantissa and a power of two, so the rounding is done on
 * exact integers. Values of 1e13 or more, infinities and NaNs (none that
 * the chart has) go through snprintf.
 */
static void
tl_fixed(struct strbuf *b, double v, int prec)
{
	static const uint64_t	 scale[] = { 1, 10, 100 };
	uint64_t		 bits, mant, k, rest, half;
	int			 ex, shift, i, n;
	char			 buf[32], *p = buf + sizeof buf;
	bool			 neg;

	memcpy(&bits, &v, sizeof bits);
	neg = (bits >> 63) != 0;
	ex = (int)(bits >> 52 & 0x7ff);
	if (ex == 0x7ff || v >= 1e13 || v <= -1e13) {
		if ((n = snprintf(NULL, 0, "%.*f", prec, v)) < 0)
			abort();	/* cannot be: a valid format */
		snprintf(strbuf_room(b, (size_t)n), (size_t)n + 1, "%.*f", prec,
		    v);
		b->len += (size_t)n;
		return;
	}
	mant = bits & (((uint64_t)1 << 52) - 1);
	if (ex == 0)
		ex = 1;		/* subnormal */
	else
		mant |= (uint64_t)1 << 52;
	/* |v| = mant * 2^shift with shift < 0 (|v| < 1e13 < 2^52) */
	shift = 1075 - ex;
	mant *= scale[prec];	/* < 2^60 */
	if (shift >= 64) {
		k = 0;		/* below 2^-4: rounds to zero */
	} else {
		k = mant >> shift;
		rest = mant & (((uint64_t)1 << shift) - 1);
		half = (uint64_t)1 << (shift - 1);
		if (rest > half || (rest == half && (k & 1) != 0))
			k++;
	}
	for (i = 0; i < prec; i++) {
		*--p = (char)('0' + k % 10);
		k /= 10;
	}
	if (prec > 0)
		*--p = '.';
	do {
		*--p = (char)('0' + k % 10);
		k /= 10;
	} while (k != 0);
	if (neg)
		*--p = '-';
	strbuf_add(b, p, (size_t)(buf + sizeof buf - p));
}

/* width="W" height="H", in whole pixels: the picture's and its background's. */
static void
tl_size(struct strbuf *b, double width, double height)
{
	strbuf_lit(b, "width=\"");
	tl_fixed(b, width, 0);
	strbuf_lit(b, "\" height=\"");
	tl_fixed(b, height, 0);
	strbuf_lit(b, "\"");
}

/*
 * s (len bytes) escaped into the buffer: first as log_escape does (a
 * backslash doubled, control bytes, DEL and invalid UTF-8 as \xNN), then
 * for XML (& < > " ' as entities). At most six bytes a byte.
 */
static void
tl_esc(struct strbuf *b, const char *s, size_t len)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*u = (const unsigned char *)s;
	char			*p;
	size_t			 i = 0, l;

	if (len > SIZE_MAX / 6)
		abort();	/* cannot be: s is in memory */
	p = strbuf_room(b, len * 6);
	while (i < len) {
		switch (u[i]) {
		case '&':
			memcpy(p, "&amp;", 5);
			p += 5;
			break;
		case '<':
			memcpy(p, "&lt;", 4);
			p += 4;
			break;
		case '>':
			memcpy(p, "&gt;", 4);
			p += 4;
			break;
		case '"':
			memcpy(p, "&quot;", 6);
			p += 6;
			break;
		case '\'':
			memcpy(p, "&#39;", 5);
			p += 5;
			break;
		case '\\':
			*p++ = '\\';
			*p++ = '\\';
			break;
		default:
			if (u[i] >= 0x20 && u[i] < 0x7f) {
				*p++ = (char)u[i];
				break;
			}
			if (u[i] >= 0x80 &&
			    (l = log_utf8_len(u + i, len - i)) != 0) {
				memcpy(p, u + i, l);
				p += l;
				i += l;
				continue;
			}
			*p++ = '\\';
			*p++ = 'x';
			*p++ = hex[u[i] >> 4];
			*p++ = hex[u[i] & 0xf];
			break;
		}
		i++;
	}
	b->len = (size_t)(p - b->s);
}

char *
timeline_xml_escape(const char *s, size_t len)
{
	struct strbuf	b = STRBUF_INIT;

	tl_esc(&b, s, len);
	strbuf_room(&b, 0)[0] = '\0';
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

/* A duration: "1.234s", "2m03.456s", "1h02m03s"; "-" when negative. As
 * "%.3f" of ms / 1000.0 is exact to the millisecond, the digits are the
 * integer's. */
static void
tl_dur(struct strbuf *b, int64_t ms)
{
	if (ms < 0) {
		strbuf_lit(b, "-");
	} else if (ms < 60000) {
		tl_uint(b, (uint64_t)(ms / 1000));
		strbuf_lit(b, ".");
		tl_uintw(b, (uint64_t)(ms % 1000), 3);
		strbuf_lit(b, "s");
	} else if (ms < 3600000) {
		tl_uint(b, (uint64_t)(ms / 60000));
		strbuf_lit(b, "m");
		tl_uintw(b, (uint64_t)(ms % 60000 / 1000), 2);
		strbuf_lit(b, ".");
		tl_uintw(b, (uint64_t)(ms % 1000), 3);
		strbuf_lit(b, "s");
	} else {
		tl_uint(b, (uint64_t)(ms / 3600000));
		strbuf_lit(b, "h");
		tl_uintw(b, (uint64_t)(ms % 3600000 / 60000), 2);
		strbuf_lit(b, "m");
		tl_uintw(b, (uint64_t)(ms % 60000 / 1000), 2);
		strbuf_lit(b, "s");
	}
}

/* v (0 <= v < 10^n) as n digits at p. */
static void
tl_digits(char *p, int v, int n)
{
	while (n-- > 0) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* The day last written by tl_time: its "YYYY-MM-DDT". */
struct tl_clock {
	bool	 ok;
	int64_t	 day;		/* since 1970-01-01 */
	char	 date[11];
};

/*
 * A wall-clock time as state_format_time writes it
 * ("2026-11-28T10:15:04.000Z"), the date from gmtime_r once a day. Years
 * outside 0..9999 (and times gmtime_r cannot take) are left to
 * state_format_time.
 */
static void
tl_time(struct strbuf *b, struct tl_clock *c, int64_t wall_ms)
{
	struct tm	tm;
	time_t		t;
	int64_t		ms, secs, day, sod;
	char		buf[40];

	ms = wall_ms % 1000;
	secs = wall_ms / 1000;
	if (ms < 0) {
		ms += 1000;
		secs--;
	}
	day = secs / 86400;
	sod = secs % 86400;
	if (sod < 0) {
		sod += 86400;
		day--;
	}
	if (!c->ok || c->day != day) {
		c->ok = false;
		t = (time_t)(day * 86400);
		if (gmtime_r(&t, &tm) == NULL || tm.tm_year < -1900 ||
		    tm.tm_year > 9999 - 1900) {
			tl_str(b, state_format_time(wall_ms, buf, sizeof buf));
			return;
		}
		tl_digits(c->date, tm.tm_year + 1900, 4);
		c->date[4] = '-';
		tl_digits(c->date + 5, tm.tm_mon + 1, 2);
		c->date[7] = '-';
		tl_digits(c->date + 8, tm.tm_mday, 2);
		c->date[10] = 'T';
		c->day = day;
		c->ok = true;
	}
	strbuf_add(b, c->date, sizeof c->date);
	tl_uintw(b, (uint64_t)(sod / 3600), 2);
	strbuf_lit(b, ":");
	tl_uintw(b, (uint64_t)(sod % 3600 / 60), 2);
	strbuf_lit(b, ":");
	tl_uintw(b, (uint64_t)(sod % 60), 2);
	strbuf_lit(b, ".");
	tl_uintw(b, (uint64_t)ms, 3);
	strbuf_lit(b, "Z");
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
	a = MANIFEST_RANK(tl_sort_m, a);
	b = MANIFEST_RANK(tl_sort_m, b);
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
tl_title(struct strbuf *b, const struct manifest *m, size_t i,
    const struct node_run *r, size_t k, const struct state_job *sj,
    struct tl_clock *clk)
{
	const struct attempt	*a = &r->hist[k];
	int64_t			 wb = 0, mb = 0;

	if (sj != NULL) {
		wb = sj->wall_base_ms;
		mb = sj->mono_base_ms;
	}
	strbuf_lit(b, "<title>");
	tl_str(b, m->nodes[i].id);
	strbuf_lit(b, " attempt ");
	tl_uint(b, k + 1);
	strbuf_lit(b, "/");
	tl_uint(b, r->nhist);
	strbuf_lit(b, ": ");
	tl_str(b, tl_kind[tl_outcome(r, k)].what);
	strbuf_lit(b, " (");
	if (a->end_ms >= 0)
		tl_dur(b, a->end_ms - a->start_ms);
	else
		strbuf_lit(b, "-");
	strbuf_lit(b, ")\n");
	tl_time(b, clk, wb + a->start_ms - mb);
	strbuf_lit(b, " to ");
	if (a->end_ms >= 0)
		tl_time(b, clk, wb + a->end_ms - mb);
	else
		strbuf_lit(b, "(running)");
	strbuf_lit(b, "\nslot ");
	tl_int(b, a->slot);
	if (a->exit_code >= 0) {
		strbuf_lit(b, ", exit ");
		tl_int(b, a->exit_code);
	}
	if (a->signal > 0) {
		strbuf_lit(b, ", signal ");
		tl_int(b, a->signal);
	}
	if (a->reason != REASON_NONE) {
		strbuf_lit(b, ", reason ");
		tl_str(b, reason_name(a->reason));
	}
	if (k + 1 == r->nhist && r->error != NULL) {
		strbuf_lit(b, "\nerror: ");
		tl_esc(b, r->error, strlen(r->error));
	}
	strbuf_lit(b, "</title>");
}

/* The legend at x, y; returns where a further key would go. */
static double
tl_legend(struct strbuf *b, double x, double y)
{
	size_t	k;

	for (k = 0; k < TO__COUNT; k++) {
		strbuf_lit(b, "<rect class=\"key\" x=\"");
		tl_fixed(b, x, 1);
		strbuf_lit(b, "\" y=\"");
		tl_fixed(b, y, 1);
		strbuf_lit(b, "\" width=\"12\" height=\"10\" fill=\"");
		tl_str(b, tl_kind[k].fill);
		strbuf_lit(b, "\"/><text x=\"");
		tl_fixed(b, x + 16, 1);
		strbuf_lit(b, "\" y=\"");
		tl_fixed(b, y + 9, 1);
		strbuf_lit(b, "\">");
		tl_str(b, tl_kind[k].what);
		strbuf_lit(b, "</text>\n");
		x += 30 + TL_CHAR_W * (double)strlen(tl_kind[k].what);
	}
	strbuf_lit(b, "<rect class=\"key\" x=\"");
	tl_fixed(b, x, 1);
	strbuf_lit(b, "\" y=\"");
	tl_fixed(b, y, 1);
	strbuf_lit(b, "\" width=\"12\" height=\"10\" fill=\"#ffffff\" "
	    "stroke=\"#000000\" stroke-width=\"1.5\"/><text x=\"");
	tl_fixed(b, x + 16, 1);
	strbuf_lit(b, "\" y=\"");
	tl_fixed(b, y + 9, 1);
	strbuf_lit(b, "\">critical path</text>\n");
	return x + 30 + TL_CHAR_W * (double)strlen("critical path");
}

/* Why node i has no bar although it succeeded: the earlier job it was
 * reused from (retry), "" for a cache hit, NULL when it ran or did not end
 * succeeded. */
static const char *
tl_unrun(const struct state_job *sj, size_t i)
{
	if (sj != NULL && sj->reused_from != NULL && sj->reused_from[i] != NULL)
		return sj->reused_from[i];
	if (sj != NULL && sj->cached != NULL && sj->cached[i].hit)
		return "";
	return NULL;
}

/* " (reused from JOB)" or " (cached)" for what tl_unrun says. */
static void
tl_unrun_note(struct strbuf *b, const char *from)
{
	if (from == NULL)
		return;
	if (*from == '\0') {
		strbuf_lit(b, " (cached)");
		return;
	}
	strbuf_lit(b, " (reused from ");
	tl_esc(b, from, strlen(from));
	strbuf_lit(b, ")");
}

/* A node that ended succeeded without running here is no bar (no attempt
 * of this job's) but a hollow diamond where it ended, the mark a Gantt
 * chart gives a milestone: green edge for a reused node, blue for a hit. */
static void
tl_unrun_mark(struct strbuf *b, const struct timeline_geom *g,
    const struct manifest *m, size_t i, const struct node_run *r,
    const char *from, double y, double h)
{
	double	x, cy = y + h / 2, s = h > 4 ? (h - 2) / 2 : h / 2;

	if (from == NULL || r == NULL || r->finished_ms < 0)
		return;
	x = tl_x(g, r->finished_ms);
	if (x > g->x0 + g->w - s)
		x = g->x0 + g->w - s;
	if (x < g->x0 + s)
		x = g->x0 + s;
	strbuf_lit(b, "<path class=\"unrun ");
	tl_str(b, *from == '\0' ? "cached" : "reused");
	strbuf_lit(b, "\" d=\"M");
	tl_fixed(b, x - s, 2);
	strbuf_lit(b, ",");
	tl_fixed(b, cy, 1);
	strbuf_lit(b, " L");
	tl_fixed(b, x, 2);
	strbuf_lit(b, ",");
	tl_fixed(b, cy - s, 1);
	strbuf_lit(b, " L");
	tl_fixed(b, x + s, 2);
	strbuf_lit(b, ",");
	tl_fixed(b, cy, 1);
	strbuf_lit(b, " L");
	tl_fixed(b, x, 2);
	strbuf_lit(b, ",");
	tl_fixed(b, cy + s, 1);
	strbuf_lit(b, " Z\" fill=\"#ffffff\" stroke=\"");
	tl_str(b, *from == '\0' ? TL_CACHED_EDGE : TL_REUSED_EDGE);
	strbuf_lit(b, "\" stroke-width=\"1.5\"><title>");
	tl_str(b, m->nodes[i].id);
	strbuf_lit(b, ": succeeded without running here");
	tl_unrun_note(b, from);
	strbuf_lit(b, "</title></path>\n");
}

/* The legend's keys for the marks tl_unrun_mark draws, at x, y. */
static void
tl_unrun_legend(struct strbuf *b, double x, double y, bool reused,
    bool cached)
{
	int	k;

	for (k = 0; k < 2; k++) {
		if (!(k == 0 ? reused : cached))
			continue;
		strbuf_lit(b, "<path class=\"key\" d=\"M");
		tl_fixed(b, x, 1);
		strbuf_lit(b, ",");
		tl_fixed(b, y + 5, 1);
		strbuf_lit(b, " L");
		tl_fixed(b, x + 6, 1);
		strbuf_lit(b, ",");
		tl_fixed(b, y, 1);
		strbuf_lit(b, " L");
		tl_fixed(b, x + 12, 1);
		strbuf_lit(b, ",");
		tl_fixed(b, y + 5, 1);
		strbuf_lit(b, " L");
		tl_fixed(b, x + 6, 1);
		strbuf_lit(b, ",");
		tl_fixed(b, y + 10, 1);
		strbuf_lit(b, " Z\" fill=\"#ffffff\" stroke=\"");
		tl_str(b, k == 0 ? TL_REUSED_EDGE : TL_CACHED_EDGE);
		strbuf_lit(b, "\" stroke-width=\"1.5\"/><text x=\"");
		tl_fixed(b, x + 16, 1);
		strbuf_lit(b, "\" y=\"");
		tl_fixed(b, y + 9, 1);
		strbuf_lit(b, "\">");
		tl_str(b, k == 0 ? "reused" : "cached");
		strbuf_lit(b, "</text>\n");
		x += 30 + TL_CHAR_W * 6;
	}
}

/* The label of row k (node i) at y: the id, cut to lc bytes. */
static void
tl_label(struct strbuf *b, const struct manifest *m, size_t i,
    const struct node_run *r, double y, double h, size_t lc, bool crit,
    const char *unrun)
{
	const char	*id = m->nodes[i].id;
	size_t		 l = strlen(id);

	strbuf_lit(b, "<text class=\"id\" x=\"6\" y=\"");
	tl_fixed(b, y + h * 0.5 + (h < 11 ? h : 11) * 0.35, 1);
	strbuf_lit(b, "\" font-size=\"");
	tl_fixed(b, h < 11 ? h : 11, 0);
	strbuf_lit(b, "\"");
	if (crit)
		strbuf_lit(b, " font-weight=\"bold\"");
	if (r == NULL || r->nhist == 0)
		strbuf_lit(b, " fill=\"#999999\" font-style=\"italic\"");
	strbuf_lit(b, ">");
	tl_esc(b, id, l > lc ? lc : l);
	if (l > lc)
		strbuf_lit(b, "...");
	strbuf_lit(b, "<title>");
	tl_str(b, id);
	strbuf_lit(b, " wave ");
	tl_uint(b, m->graph.wave[i]);
	strbuf_lit(b, ": ");
	tl_str(b, r != NULL ? node_status_name(r->status) : "pending");
	/* no bar: it did not run in this job */
	tl_unrun_note(b, unrun);
	strbuf_lit(b, "</title></text>\n");
}

/* The bars of node i's attempts in the row at y, and the dashed waits
 * between them. */
static void
tl_bars(struct strbuf *b, const struct timeline_geom *g,
    const struct manifest *m, size_t i, const struct node_run *r,
    int64_t t_end, double y, bool crit, const struct state_job *sj,
    struct tl_clock *clk)
{
	const struct attempt	*a;
	double			 x1, x2, bw, h = g->row_h;
	enum tl_outcome		 o;
	size_t			 q;

	for (q = 0; r != NULL && q < r->nhist; q++) {
		a = &r->hist[q];
		x1 = tl_x(g, a->start_ms);
		x2 = tl_x(g, a->end_ms >= 0 ? a->end_ms : t_end);
		bw = x2 - x1 < 0.5 ? 0.5 : x2 - x1;
		o = tl_outcome(r, q);
		/* the wait before a retry: a dashed line */
		if (q > 0 && a[-1].end_ms >= 0 &&
		    a->start_ms > a[-1].end_ms) {
			strbuf_lit(b, "<line class=\"wait\" x1=\"");
			tl_fixed(b, tl_x(g, a[-1].end_ms), 2);
			strbuf_lit(b, "\" y1=\"");
			tl_fixed(b, y + h / 2, 1);
			strbuf_lit(b, "\" x2=\"");
			tl_fixed(b, x1, 2);
			strbuf_lit(b, "\" y2=\"");
			tl_fixed(b, y + h / 2, 1);
			strbuf_lit(b, "\" stroke=\"#888888\" "
			    "stroke-dasharray=\"2,2\"/>\n");
		}
		strbuf_lit(b, "<rect class=\"att ");
		tl_str(b, tl_kind[o].cls);
		strbuf_lit(b, "\" x=\"");
		tl_fixed(b, x1, 2);
		strbuf_lit(b, "\" y=\"");
		tl_fixed(b, y + (h > 4 ? 1 : 0), 1);
		strbuf_lit(b, "\" width=\"");
		tl_fixed(b, bw, 2);
		strbuf_lit(b, "\" height=\"");
		tl_fixed(b, h > 4 ? h - 2 : h, 1);
		strbuf_lit(b, "\" fill=\"");
		tl_str(b, tl_kind[o].fill);
		strbuf_lit(b, "\"");
		if (crit) {
			strbuf_lit(b, " stroke=\"#000000\" "
			    "stroke-width=\"");
			tl_fixed(b, h > 6 ? 1.5 : 0.6, 1);
			strbuf_lit(b, "\"");
		}
		strbuf_lit(b, ">");
		tl_title(b, m, i, r, q, sj, clk);
		strbuf_lit(b, "</rect>\n");
	}
}

/* The time axis: grid lines down to height less the legend, and ticks. */
static void
tl_axis(struct strbuf *b, const struct timeline_geom *g, double height)
{
	char	tick[40];
	int64_t	step, t;

	step = tl_step(g->span);
	strbuf_lit(b, "<g class=\"axis\" stroke=\"#dddddd\" "
	    "stroke-width=\"1\">\n");
	for (t = 0; t <= g->span; t += step) {
		strbuf_lit(b, "<line x1=\"");
		tl_fixed(b, tl_x(g, g->t0 + t), 2);
		strbuf_lit(b, "\" y1=\"");
		tl_int(b, TL_TOP - 4);
		strbuf_lit(b, "\" x2=\"");
		tl_fixed(b, tl_x(g, g->t0 + t), 2);
		strbuf_lit(b, "\" y2=\"");
		tl_fixed(b, height - TL_LEGEND_H, 1);
		strbuf_lit(b, "\"/>\n");
	}
	strbuf_lit(b, "</g>\n<g class=\"ticks\" fill=\"#555555\" "
	    "text-anchor=\"middle\">\n");
	for (t = 0; t <= g->span; t += step) {
		tl_fmt_tick(t, step, tick, sizeof tick);
		strbuf_lit(b, "<text x=\"");
		tl_fixed(b, tl_x(g, g->t0 + t), 2);
		strbuf_lit(b, "\" y=\"");
		tl_int(b, TL_TOP - 8);
		strbuf_lit(b, "\">");
		tl_str(b, tick);
		strbuf_lit(b, "</text>\n");
	}
	strbuf_lit(b, "</g>\n");
}

/* The SVG text into b (which may spill into a file). */
static void
tl_emit(struct strbuf *b, const struct manifest *m,
    const struct node_run *const *runs, const struct state_job *sj)
{
	struct timeline_geom	 g;
	struct tl_clock		 clk = { false, 0, "" };
	const struct node_run	*r;
	unsigned char		*crit;
	size_t			*row, i, k, n = m->nnodes, wave, nwave, peak;
	size_t			 lc;
	double			 y, h, width, height, x1;
	int64_t			 t_end;
	char			 when[40];
	const char		*unrun;
	bool			 any_reused = false, any_cached = false;

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

	/* a guess at the size: about 400 bytes a row with one attempt */
	if (n < SIZE_MAX / 1024 && !b->spill)
		strbuf_room(b, 4096 + n * 400);

	strbuf_lit(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" ");
	tl_size(b, width, height);
	strbuf_lit(b, " viewBox=\"0 0 ");
	tl_fixed(b, width, 0);
	strbuf_lit(b, " ");
	tl_fixed(b, height, 0);
	strbuf_lit(b, "\" font-family=\"DejaVu Sans, Helvetica, Arial, "
	    "sans-serif\" font-size=\"11\">\n<title>");
	tl_str(b, m->name);
	strbuf_lit(b, " ");
	if (sj != NULL && sj->job != NULL)
		tl_esc(b, sj->job, strlen(sj->job));
	strbuf_lit(b, "</title>\n<rect class=\"bg\" x=\"0\" y=\"0\" ");
	tl_size(b, width, height);
	strbuf_lit(b, " fill=\"#ffffff\"/>\n<text class=\"head\" x=\"8\" "
	    "y=\"18\" font-size=\"14\" font-weight=\"bold\">");
	tl_str(b, m->name);
	strbuf_lit(b, ": ");
	tl_str(b, sj != NULL ? dag_status_name(sj->status) : "unknown");
	strbuf_lit(b, " in ");
	tl_dur(b, sj != NULL && sj->started_ms >= 0 && sj->finished_ms >= 0 ?
	    sj->finished_ms - sj->started_ms : g.span);
	strbuf_lit(b, ", ");
	tl_uint(b, n);
	strbuf_lit(b, " nodes, parallelism ");
	tl_uint(b, peak);
	if (m->max_parallel > 0) {
		strbuf_lit(b, " of ");
		tl_int(b, m->max_parallel);
	}
	strbuf_lit(b, "</text>\n");
	if (sj != NULL && sj->job != NULL) {
		when[0] = '\0';
		if (sj->started_ms >= 0)
			state_format_time(sj->wall_base_ms + sj->started_ms -
			    sj->mono_base_ms, when, sizeof when);
		strbuf_lit(b, "<text x=\"8\" y=\"32\" fill=\"#555555\">");
		tl_esc(b, sj->job, strlen(sj->job));
		strbuf_lit(b, ", started ");
		tl_str(b, when);
		strbuf_lit(b, "</text>\n");
	}

	tl_axis(b, &g, height);

	/* rows */
	y = TL_TOP;
	wave = n > 0 ? m->graph.wave[row[0]] : 0;
	for (k = 0; k < n; k++) {
		i = row[k];
		if (m->graph.wave[i] != wave) {
			wave = m->graph.wave[i];
			strbuf_lit(b, "<line class=\"wave\" x1=\"0\" y1=\"");
			tl_fixed(b, y + TL_WAVE_GAP / 2.0, 1);
			strbuf_lit(b, "\" x2=\"");
			tl_fixed(b, width, 0);
			strbuf_lit(b, "\" y2=\"");
			tl_fixed(b, y + TL_WAVE_GAP / 2.0, 1);
			strbuf_lit(b, "\" stroke=\"#bbbbbb\" "
			    "stroke-dasharray=\"4,3\"/>\n");
			y += TL_WAVE_GAP;
		}
		r = tl_run(runs, i);
		if (k % 2 == 1) {
			strbuf_lit(b, "<rect class=\"row\" x=\"0\" y=\"");
			tl_fixed(b, y, 1);
			strbuf_lit(b, "\" width=\"");
			tl_fixed(b, width, 0);
			strbuf_lit(b, "\" height=\"");
			tl_fixed(b, h, 1);
			strbuf_lit(b, "\" fill=\"#f6f6f6\"/>\n");
		}
		unrun = tl_unrun(sj, i);
		if (unrun != NULL)
			*(*unrun == '\0' ? &any_cached : &any_reused) = true;
		if (k % g.label_every == 0)
			tl_label(b, m, i, r, y, h, lc, crit[i] != 0, unrun);
		tl_unrun_mark(b, &g, m, i, r, unrun, y, h);
		tl_bars(b, &g, m, i, r, t_end, y, crit[i] != 0, sj, &clk);
		y += h;
	}
	x1 = tl_legend(b, 8, y + 14);
	tl_unrun_legend(b, x1, y + 14, any_reused, any_cached);
	strbuf_lit(b, "</svg>\n");
	free(row);
	free(crit);
}

char *
timeline_render(const struct manifest *m, const struct node_run *const *runs,
    const struct state_job *sj, size_t *len)
{
	struct strbuf b = STRBUF_INIT;

	tl_emit(&b, m, runs, sj);
	*len = b.len;
	return b.s;
}

int
timeline_write_fd(int fd, const struct manifest *m,
    const struct node_run *const *runs, const struct state_job *sj)
{
	struct strbuf b;
	int rc;

	strbuf_init_spill(&b, fd);
	tl_emit(&b, m, runs, sj);
	rc = strbuf_flush(&b);
	strbuf_release(&b);
	return rc;
}

int
timeline_write(const char *path, const struct manifest *m,
    const struct node_run *const *runs, const struct state_job *sj,
    char **cause)
{
	size_t	 len;
	char	*svg;
	int	 rc;

	svg = timeline_render(m, runs, sj, &len);
	rc = fs_write_atomic(path, svg, len, 0644, cause);
	free(svg);
	return rc;
}

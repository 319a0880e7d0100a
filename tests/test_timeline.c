/* CUnit suite for src/timeline.c and src/trace.c: the SVG chart and the
 * trace JSON of recorded runs with known timings. */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <jansson.h>

#include "cunit_main.h"
#include "diag.h"
#include "fsutil.h"
#include "graph.h"
#include "log.h"
#include "manifest.h"
#include "report.h"
#include "sched.h"
#include "state.h"
#include "strbuf.h"
#include "timeline.h"
#include "trace.h"
#include "xmalloc.h"

/* ---- a small XML well-formedness check --------------------------------- */

static bool
xml_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == ':' ||
	    c == '.';
}

/* An entity at p ("&amp;" ...): its length, or 0 when it is not one. */
static size_t
xml_entity(const char *p)
{
	static const char *const ent[] = { "&amp;", "&lt;", "&gt;", "&quot;",
	    "&apos;" };
	size_t	i;

	for (i = 0; i < sizeof ent / sizeof ent[0]; i++)
		if (strncmp(p, ent[i], strlen(ent[i])) == 0)
			return strlen(ent[i]);
	if (p[1] == '#') {
		for (i = 2; p[i] >= '0' && p[i] <= '9'; i++)
			;
		if (i > 2 && p[i] == ';')
			return i + 1;
	}
	return 0;
}

/* Character data up to the next '<' (or a quote q when q != 0): no bare
 * '&', no '<' inside attributes, no control bytes XML 1.0 forbids. */
static const char *
xml_text(const char *p, char q)
{
	size_t n;

	for (; *p != '\0' && *p != '<' && *p != q; p++) {
		if ((unsigned char)*p < 0x20 && *p != '\t' && *p != '\n' &&
		    *p != '\r')
			return NULL;
		if (*p == '&') {
			if ((n = xml_entity(p)) == 0)
				return NULL;
			p += n - 1;
		}
	}
	if (q != 0 && *p != q)
		return NULL;
	return p;
}

/* True when doc is one well-formed XML element (after an XML declaration)
 * with properly nested tags and quoted attributes. */
static bool
xml_well_formed(const char *doc)
{
	const char	*stack[256], *p = doc, *name;
	size_t		 depth = 0, nlen, roots = 0;
	char		 q;

	if (strncmp(p, "<?xml ", 6) == 0) {
		if ((p = strstr(p, "?>")) == NULL)
			return false;
		p += 2;
	}
	for (;;) {
		if ((p = xml_text(p, 0)) == NULL)
			return false;
		if (*p == '\0')
			break;
		if (depth == 0 && p[strspn(p, " \t\r\n")] == '\0')
			break;
		p++;	/* '<' */
		if (*p == '/') {
			name = ++p;
			while (xml_name_char(*p))
				p++;
			nlen = (size_t)(p - name);
			if (depth == 0 || strncmp(stack[depth - 1], name,
			    nlen) != 0 || xml_name_char(stack[depth - 1][nlen]))
				return false;
			depth--;
			p += strspn(p, " \t\r\n");
			if (*p++ != '>')
				return false;
			continue;
		}
		name = p;
		while (xml_name_char(*p))
			p++;
		if (p == name)
			return false;
		for (;;) {
			p += strspn(p, " \t\r\n");
			if (*p == '>' || (p[0] == '/' && p[1] == '>'))
				break;
			if (!xml_name_char(*p))
				return false;
			while (xml_name_char(*p))
				p++;
			if (*p++ != '=')
				return false;
			q = *p++;
			if (q != '"' && q != '\'')
				return false;
			if ((p = xml_text(p, q)) == NULL)
				return false;
			p++;
		}
		if (depth == 0 && roots++ > 0)
			return false;
		if (*p == '/') {
			p += 2;
			continue;
		}
		p++;
		if (depth == sizeof stack / sizeof stack[0])
			return false;
		stack[depth++] = name;
	}
	return depth == 0 && roots == 1;
}

static void
test_xml_checker(void)
{
	/* the checker itself must refuse what is broken */
	CU_ASSERT_TRUE(xml_well_formed("<a x=\"1\"><b/>t &amp; u</a>"));
	CU_ASSERT_FALSE(xml_well_formed("<a><b></a></b>"));
	CU_ASSERT_FALSE(xml_well_formed("<a>x & y</a>"));
	CU_ASSERT_FALSE(xml_well_formed("<a t=\"<\"/>"));
	CU_ASSERT_FALSE(xml_well_formed("<a>\x01</a>"));
	CU_ASSERT_FALSE(xml_well_formed("<a/><b/>"));
	CU_ASSERT_FALSE(xml_well_formed("<a>"));
}

/* ---- recorded runs ----------------------------------------------------- */

static struct manifest *
parse(const char *yaml)
{
	struct manifest	*m = NULL;
	struct diags	 d;

	diags_init(&d);
	if (manifest_parse("t.yaml", yaml, strlen(yaml), &m, &d) != 0)
		m = NULL;
	diags_release(&d);
	return m;
}

static const char small_yaml[] =
    "name: small\n"
    "max_parallel: 2\n"
    "nodes:\n"
    "  a: {run: 'true'}\n"
    "  b: {run: 'true', needs: [a], retries: 1}\n"
    "  c: {run: 'true', needs: [a]}\n"
    "  d: {run: 'true', needs: [b, c]}\n";

/* a: 1000..3000 ok; b: 3000..4000 exit 1, wait, 5000..7000 exit 2 (failed);
 * c: 3000..11000 timed out; d: skipped. The job: 1000..11000. */
static struct attempt	 ha[] = { { 1000, 3000, REASON_NONE, 0, 0, 0 } };
static struct attempt	 hb[] = { { 3000, 4000, REASON_EXIT, 1, 0, 0 },
			    { 5000, 7000, REASON_EXIT, 2, 0, 0 } };
static struct attempt	 hc[] = { { 3000, 11000, REASON_TIMEOUT, -1, 15, 1 } };
static char		 err_b[] = "exited with status 2";
static char		 err_c[] = "killed by SIGTERM after timeout 8s";
static struct node_run	 small_runs[4];
static const struct node_run *small_runp[4];
static const struct state_job small_sj = {
	.job = "small-20261128T101500-3f2a",
	.status = DS_FAILED,
	.mono_base_ms = 1000,
	.wall_base_ms = 1795860900000,
	.started_ms = 1000,
	.finished_ms = 11000,
};

static void
small_setup(void)
{
	memset(small_runs, 0, sizeof small_runs);
	small_runs[0] = (struct node_run){ .status = NS_SUCCEEDED,
	    .attempts = 1, .exit_code = 0, .started_ms = 1000,
	    .finished_ms = 3000, .hist = ha, .nhist = 1 };
	small_runs[1] = (struct node_run){ .status = NS_FAILED,
	    .attempts = 2, .exit_code = 2, .started_ms = 3000,
	    .finished_ms = 7000, .reason = REASON_EXIT, .error = err_b,
	    .hist = hb, .nhist = 2 };
	small_runs[2] = (struct node_run){ .status = NS_TIMED_OUT,
	    .attempts = 1, .exit_code = -1, .signal = 15, .started_ms = 3000,
	    .finished_ms = 11000, .reason = REASON_TIMEOUT, .error = err_c,
	    .hist = hc, .nhist = 1 };
	small_runs[3] = (struct node_run){ .status = NS_SKIPPED,
	    .exit_code = -1, .started_ms = -1, .finished_ms = -1,
	    .reason = REASON_UPSTREAM_FAILED };
	small_runp[0] = &small_runs[0];
	small_runp[1] = &small_runs[1];
	small_runp[2] = &small_runs[2];
	small_runp[3] = &small_runs[3];
}

/* The bars of svg, in document order: class, x and width. */
struct bar {
	char	cls[16];
	double	x;
	double	w;
};

static size_t
bars(const char *svg, struct bar *out, size_t max)
{
	const char	*p = svg, *x, *w;
	size_t		 n = 0;

	while ((p = strstr(p, "<rect class=\"att ")) != NULL) {
		p += strlen("<rect class=\"att ");
		if (n < max) {
			sscanf(p, "%15[a-z]", out[n].cls);
			x = strstr(p, " x=\"");
			w = strstr(p, " width=\"");
			out[n].x = x != NULL ? strtod(x + 4, NULL) : -1;
			out[n].w = w != NULL ? strtod(w + 8, NULL) : -1;
		}
		n++;
	}
	return n;
}

static size_t
count(const char *s, const char *what)
{
	size_t n = 0;

	while ((s = strstr(s, what)) != NULL) {
		n++;
		s += strlen(what);
	}
	return n;
}

static bool
near(double a, double b)
{
	return a - b < 0.02 && b - a < 0.02;
}

static void
test_svg_known_timings(void)
{
	struct manifest		*m = parse(small_yaml);
	struct timeline_geom	 g;
	struct bar		 b[8];
	char			*svg;
	size_t			 len, n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	small_setup();
	timeline_geom(m, small_runp, &small_sj, &g);
	CU_ASSERT_EQUAL(g.t0, 1000);
	CU_ASSERT_EQUAL(g.span, 10000);
	CU_ASSERT_EQUAL(g.label_every, 1);
	svg = timeline_render(m, small_runp, &small_sj, &len);
	CU_ASSERT_EQUAL(strlen(svg), len);
	CU_ASSERT_TRUE(xml_well_formed(svg));
	CU_ASSERT_PTR_NOT_NULL(strstr(svg, "<svg xmlns=\"http://www.w3.org/"
	    "2000/svg\" version=\"1.1\""));
	n = bars(svg, b, 8);
	CU_ASSERT_EQUAL_FATAL(n, 4);	/* one bar an attempt, d none */
	/* rows: wave 0 a; wave 1 b, c (same start: manifest order) */
	CU_ASSERT_STRING_EQUAL(b[0].cls, "ok");
	CU_ASSERT_TRUE(near(b[0].x, g.x0));
	CU_ASSERT_TRUE(near(b[0].w, g.w * 2000 / 10000));
	CU_ASSERT_STRING_EQUAL(b[1].cls, "retried");
	CU_ASSERT_TRUE(near(b[1].x, g.x0 + g.w * 2000 / 10000));
	CU_ASSERT_TRUE(near(b[1].w, g.w * 1000 / 10000));
	CU_ASSERT_STRING_EQUAL(b[2].cls, "failed");
	CU_ASSERT_TRUE(near(b[2].x, g.x0 + g.w * 4000 / 10000));
	CU_ASSERT_TRUE(near(b[2].w, g.w * 2000 / 10000));
	CU_ASSERT_STRING_EQUAL(b[3].cls, "timeout");
	CU_ASSERT_TRUE(near(b[3].x, g.x0 + g.w * 2000 / 10000));
	CU_ASSERT_TRUE(near(b[3].x + b[3].w, g.x0 + g.w));
	/* the retry wait of b is a gap with a dashed line in it */
	CU_ASSERT_EQUAL(count(svg, "<line class=\"wait\""), 1);
	CU_ASSERT_TRUE(b[2].x > b[1].x + b[1].w + 1);
	/* every node has a label; the skipped one greyed, with no bar */
	CU_ASSERT_EQUAL(count(svg, "<text class=\"id\""), 4);
	CU_ASSERT_PTR_NOT_NULL(strstr(svg, "font-style=\"italic\">d<title>"));
	/* the critical path a -> c -> d by real durations: a and c outlined */
	CU_ASSERT_EQUAL(count(svg, "stroke=\"#000000\" stroke-width=\"1.5\">"
	    "<title>"), 2);
	/* hover text: exact times, exit, error */
	CU_ASSERT_PTR_NOT_NULL(strstr(svg, "<title>b attempt 2/2: failed "
	    "(2.000s)\n2026-11-28T10:15:04.000Z to 2026-11-28T10:15:06.000Z"
	    "\nslot 0, exit 2, reason exit\nerror: exited with status 2"
	    "</title>"));
	/* the title line */
	CU_ASSERT_PTR_NOT_NULL(strstr(svg, "small: failed in 10.000s, 4 "
	    "nodes, parallelism 2 of 2"));
	/* ticks at 1-2-5 steps: 10 s in steps of 2 s, 0 to 10 */
	CU_ASSERT_PTR_NOT_NULL(strstr(svg, ">0s</text>"));
	CU_ASSERT_PTR_NOT_NULL(strstr(svg, ">2s</text>"));
	CU_ASSERT_PTR_NOT_NULL(strstr(svg, ">10s</text>"));
	CU_ASSERT_PTR_NULL(strstr(svg, ">1s</text>"));
	free(svg);
	manifest_free(m);
}

/* ---- the reference trace renderer -------------------------------------- */

/*
 * THE REFERENCE: trace_render as it was before it wrote the text directly,
 * kept here unchanged but for the names. It builds a jansson tree (one
 * json_pack an event) and prints it with json_dumps(JSON_INDENT(1) |
 * JSON_PRESERVE_ORDER). src/trace.c must produce exactly these bytes for
 * every input; test_trace_same_bytes checks that it does.
 */

/* jansson refuses strings that are not UTF-8: fall back to a lossy copy. */
static json_t *
ref_trace_str(const char *s)
{
	json_t	*j;
	char	*c;
	size_t	 i;

	if ((j = json_string(s)) != NULL)
		return j;
	c = xstrdup(s);
	for (i = 0; c[i] != '\0'; i++)
		if ((unsigned char)c[i] >= 0x80)
			c[i] = '?';
	j = json_string(c);
	free(c);
	return j != NULL ? j : json_string("");
}

static void
ref_trace_add(json_t *arr, json_t *ev)
{
	if (ev == NULL || json_array_append_new(arr, ev) != 0)
		abort();	/* only on allocation failure */
}

static const char *
ref_trace_outcome(const struct node_run *r, size_t k)
{
	const struct attempt *a = &r->hist[k];

	if (a->end_ms < 0)
		return "running";
	if (a->reason == REASON_NONE)
		return "succeeded";
	if (k + 1 < r->nhist || r->status == NS_RETRYING)
		return "retried";
	if (a->reason == REASON_TIMEOUT || a->reason == REASON_DEADLINE)
		return "timed_out";
	if (a->reason == REASON_CANCELLED)
		return "cancelled";
	return "failed";
}

/* The reference rendering of the trace (see above). */
static char *
ref_trace_render(const struct manifest *m,
    const struct node_run *const *runs, const struct state_job *sj,
    size_t *len)
{
	const struct node_run	*r;
	const struct attempt	*a;
	json_t			*root, *evs, *args, *ev;
	unsigned char		*slot_seen = NULL;
	size_t			 i, k, nslots = 0;
	int64_t			 t0 = INT64_MAX, t_end = INT64_MIN, end;
	char			*out, *name, when[40];

	if (sj != NULL && sj->started_ms >= 0)
		t0 = sj->started_ms;
	if (sj != NULL && sj->finished_ms >= 0)
		t_end = sj->finished_ms;
	for (i = 0; runs != NULL && i < m->nnodes; i++) {
		if ((r = runs[i]) == NULL)
			continue;
		for (k = 0; k < r->nhist; k++) {
			a = &r->hist[k];
			if (a->start_ms < t0)
				t0 = a->start_ms;
			if (a->end_ms > t_end)
				t_end = a->end_ms;
			if (a->slot >= 0 && (size_t)a->slot >= nslots) {
				slot_seen = xreallocarray(slot_seen,
				    (size_t)a->slot + 1, 1);
				memset(slot_seen + nslots, 0,
				    (size_t)a->slot + 1 - nslots);
				nslots = (size_t)a->slot + 1;
			}
			if (a->slot >= 0)
				slot_seen[a->slot] = 1;
		}
	}
	if (t0 == INT64_MAX)
		t0 = 0;
	if (t_end < t0)
		t_end = t0;

	root = json_object();
	evs = json_array();
	if (root == NULL || evs == NULL)
		abort();
	ref_trace_add(evs, json_pack("{s:s, s:s, s:i, s:{s:o}}", "name",
	    "process_name", "ph", "M", "pid", 1, "args", "name",
	    ref_trace_str(m->name)));
	for (i = 0; i < nslots; i++) {
		if (!slot_seen[i])
			continue;
		name = xasprintf("slot %zu", i);
		ref_trace_add(evs, json_pack("{s:s, s:s, s:i, s:I, s:{s:s}}",
		    "name", "thread_name", "ph", "M", "pid", 1, "tid",
		    (json_int_t)i, "args", "name", name));
		free(name);
		ref_trace_add(evs, json_pack("{s:s, s:s, s:i, s:I, s:{s:I}}",
		    "name", "thread_sort_index", "ph", "M", "pid", 1, "tid",
		    (json_int_t)i, "args", "sort_index", (json_int_t)i));
	}
	for (i = 0; runs != NULL && i < m->nnodes; i++) {
		if ((r = runs[i]) == NULL)
			continue;
		for (k = 0; k < r->nhist; k++) {
			a = &r->hist[k];
			end = a->end_ms >= 0 ? a->end_ms : t_end;
			args = json_pack("{s:I, s:s}", "attempt",
			    (json_int_t)(k + 1), "status",
			    ref_trace_outcome(r, k));
			if (args == NULL)
				abort();
			json_object_set_new(args, "exit", a->exit_code >= 0 ?
			    json_integer(a->exit_code) : json_null());
			if (a->signal > 0)
				json_object_set_new(args, "signal",
				    json_integer(a->signal));
			if (a->reason != REASON_NONE)
				json_object_set_new(args, "reason",
				    json_string(reason_name(a->reason)));
			json_object_set_new(args, "error",
			    k + 1 == r->nhist && r->error != NULL ?
			    ref_trace_str(r->error) : json_null());
			ev = json_pack("{s:o, s:s, s:s, s:I, s:I, s:i, s:I, "
			    "s:o}", "name", ref_trace_str(m->nodes[i].id),
			    "cat", "node", "ph", "X", "ts",
			    (json_int_t)((a->start_ms - t0) * 1000), "dur",
			    (json_int_t)((end - a->start_ms) * 1000), "pid", 1,
			    "tid", (json_int_t)(a->slot >= 0 ? a->slot : 0),
			    "args", args);
			ref_trace_add(evs, ev);
		}
	}
	if (json_object_set_new(root, "traceEvents", evs) != 0 ||
	    json_object_set_new(root, "displayTimeUnit",
	    json_string("ms")) != 0)
		abort();
	ev = json_pack("{s:o, s:s}", "dag", ref_trace_str(m->name), "status",
	    sj != NULL ? dag_status_name(sj->status) : "unknown");
	if (ev == NULL)
		abort();
	if (sj != NULL && sj->job != NULL)
		json_object_set_new(ev, "job", ref_trace_str(sj->job));
	if (sj != NULL) {
		state_format_time(sj->wall_base_ms + t0 - sj->mono_base_ms,
		    when, sizeof when);
		json_object_set_new(ev, "started_at", json_string(when));
	}
	json_object_set_new(root, "otherData", ev);
	out = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(root);
	free(slot_seen);
	if (out == NULL)
		abort();
	*len = strlen(out);
	return out;
}

/*
 * True when trace_render and the reference give the same bytes for these
 * inputs; else prints the first offset that differs, with both texts
 * around it, and what was being rendered.
 */
static bool
trace_same(const struct manifest *m, const struct node_run *const *runs,
    const struct state_job *sj, const char *what)
{
	char	*got, *want;
	size_t	 glen, wlen, i, from;
	bool	 same;

	got = trace_render(m, runs, sj, &glen);
	want = ref_trace_render(m, runs, sj, &wlen);
	same = glen == wlen && memcmp(got, want, glen) == 0 &&
	    got[glen] == '\0';
	if (!same) {
		for (i = 0; i < glen && i < wlen && got[i] == want[i]; i++)
			;
		from = i > 40 ? i - 40 : 0;
		fprintf(stderr, "\ntrace differs (%s): first at byte %zu of "
		    "%zu (reference %zu)\n got: %.80s\nwant: %.80s\n", what, i,
		    glen, wlen, got + (from < glen ? from : glen),
		    want + (from < wlen ? from : wlen));
	}
	free(got);
	free(want);
	return same;
}

static void
test_trace_known_timings(void)
{
	struct manifest	*m = parse(small_yaml);
	json_t		*root, *evs, *ev, *args;
	json_error_t	 jerr;
	char		*text;
	size_t		 len, i, nx = 0, nthreads = 0;
	bool		 proc = false, seen_b2 = false;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	small_setup();
	text = trace_render(m, small_runp, &small_sj, &len);
	root = json_loadb(text, len, 0, &jerr);
	CU_ASSERT_PTR_NOT_NULL_FATAL(root);
	evs = json_object_get(root, "traceEvents");
	CU_ASSERT_TRUE_FATAL(json_is_array(evs));
	json_array_foreach(evs, i, ev) {
		const char *ph = json_string_value(json_object_get(ev, "ph"));
		const char *name = json_string_value(json_object_get(ev,
		    "name"));

		CU_ASSERT_PTR_NOT_NULL_FATAL(ph);
		CU_ASSERT_EQUAL(json_integer_value(json_object_get(ev, "pid")),
		    1);
		if (strcmp(ph, "M") == 0) {
			if (strcmp(name, "process_name") == 0)
				proc = strcmp(json_string_value(json_object_get(
				    json_object_get(ev, "args"), "name")),
				    "small") == 0;
			if (strcmp(name, "thread_name") == 0)
				nthreads++;
			continue;
		}
		CU_ASSERT_STRING_EQUAL(ph, "X");
		nx++;
		args = json_object_get(ev, "args");
		if (strcmp(name, "b") == 0 && json_integer_value(
		    json_object_get(args, "attempt")) == 2) {
			seen_b2 = true;
			CU_ASSERT_EQUAL(json_integer_value(json_object_get(ev,
			    "ts")), 4000000);
			CU_ASSERT_EQUAL(json_integer_value(json_object_get(ev,
			    "dur")), 2000000);
			CU_ASSERT_EQUAL(json_integer_value(json_object_get(ev,
			    "tid")), 0);
			CU_ASSERT_STRING_EQUAL(json_string_value(
			    json_object_get(args, "status")), "failed");
			CU_ASSERT_EQUAL(json_integer_value(json_object_get(args,
			    "exit")), 2);
			CU_ASSERT_STRING_EQUAL(json_string_value(
			    json_object_get(args, "error")), err_b);
		}
		if (strcmp(name, "c") == 0) {
			CU_ASSERT_EQUAL(json_integer_value(json_object_get(ev,
			    "tid")), 1);
			CU_ASSERT_STRING_EQUAL(json_string_value(
			    json_object_get(args, "status")), "timed_out");
		}
	}
	CU_ASSERT_EQUAL(nx, 4);		/* one complete event an attempt */
	CU_ASSERT_EQUAL(nthreads, 2);	/* slots 0 and 1 */
	CU_ASSERT_TRUE(proc);
	CU_ASSERT_TRUE(seen_b2);
	json_decref(root);
	free(text);
	manifest_free(m);
}

/* Error texts, job ids and names the trace tests render: every kind of
 * byte a string may hold. */
static char trace_texts[][64] = {
	"exited with status 2",
	"",
	"say \"no\"",
	"back\\slash",
	"line\nbreak",
	"tab\there",
	"ctl \x01 \x1f \x7f end",
	"\x7f",
	"\r\b\f\x1b[31m",
	"caf\xc3\xa9",
	"emoji \xf0\x9f\x98\x80",
	"bad \xff byte",
	"cut \xc3",
	"cut \xe2\x82",
	"cut \xf0\x9f\x98 x",
	"surrogate \xed\xa0\x80",
	"overlong \xc0\xaf",
	"/slash/ <b> & 'q' {\"k\": [1]}",
	" !#$%&'()*+,-./0123456789:;<=>?@[]^_`{|}~",
	"mixed \xc3\xa9 \xff \"q\" \\ \n",
};
#define NTEXTS (sizeof trace_texts / sizeof trace_texts[0])

/* A small deterministic generator (an LCG): the same inputs every run. */
static unsigned long trace_seed;

static unsigned
trace_rand(unsigned n)
{
	trace_seed = trace_seed * 6364136223846793005UL + 1442695040888963407UL;
	return (unsigned)(trace_seed >> 33) % n;
}

static void
test_trace_same_bytes(void)
{
	struct manifest		*m = parse(small_yaml);
	struct state_job	 sj;
	const struct node_run	*none[4] = { NULL, NULL, NULL, NULL };
	static struct attempt	 hr[] = { { 3000, -1, REASON_NONE, -1, 0, 1 } };
	static struct attempt	 hlate[] = {
	    { 20000, -1, REASON_NONE, -1, 0, 5 } };
	static struct attempt	 hgap[] = {
	    { 1000, 2000, REASON_SIGNAL, -1, 9, 7 },
	    { 2500, 2600, REASON_EXIT, 255, 0, -1 },
	    { 2700, 2900, REASON_EXIT, 2147483647, 0, 3 } };
	struct attempt		 hx[4 * 3];
	struct node_run		 rx[4];
	const struct node_run	*rpx[4];
	char			*name, *id, what[64];
	const char		*sjob;
	size_t			 i, k, round;
	int			 reason, st;
	bool			 ok = true;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	name = m->name;
	id = m->nodes[0].id;

	/* nothing ran, with and without the job's times */
	CU_ASSERT_TRUE(trace_same(m, NULL, NULL, "no runs, no job"));
	CU_ASSERT_TRUE(trace_same(m, NULL, &small_sj, "no runs"));
	CU_ASSERT_TRUE(trace_same(m, none, &small_sj, "every run NULL"));
	CU_ASSERT_TRUE(trace_same(m, none, NULL, "every run NULL, no job"));

	/* the known run; the job without times or id */
	small_setup();
	CU_ASSERT_TRUE(trace_same(m, small_runp, &small_sj, "small"));
	CU_ASSERT_TRUE(trace_same(m, small_runp, NULL, "small, sj NULL"));
	sj = small_sj;
	sj.job = NULL;
	sj.started_ms = -1;
	sj.finished_ms = -1;
	CU_ASSERT_TRUE(trace_same(m, small_runp, &sj, "job without times"));

	/* running attempts: one open to the job's end, one that started
	 * after everything else ended (a negative duration) */
	small_runs[2].hist = hr;
	small_runs[2].status = NS_RUNNING;
	small_runs[3].hist = hlate;
	small_runs[3].nhist = 1;
	small_runs[3].status = NS_RUNNING;
	sj = small_sj;
	sj.status = DS_RUNNING;
	CU_ASSERT_TRUE(trace_same(m, small_runp, &sj, "running"));
	sj.finished_ms = -1;
	CU_ASSERT_TRUE(trace_same(m, small_runp, &sj, "running, open job"));

	/* a retry pending: the last attempt is "retried" too */
	small_setup();
	small_runs[1].status = NS_RETRYING;
	CU_ASSERT_TRUE(trace_same(m, small_runp, &small_sj, "retrying"));

	/* slots with gaps, no slot, a signal, exit -1, 255 and INT_MAX */
	small_setup();
	small_runs[1].hist = hgap;
	small_runs[1].nhist = 3;
	CU_ASSERT_TRUE(trace_same(m, small_runp, &small_sj, "slot gaps"));

	/* every reason (and one out of range) in every node status, every
	 * DAG status (and one out of range) */
	for (reason = REASON_NONE; reason <= REASON__COUNT; reason++) {
		for (st = 0; st < NS__COUNT; st++) {
			small_setup();
			hx[0] = (struct attempt){ 3000, 5000,
			    (enum reason)reason, reason - 1, reason % 3 == 0 ?
			    reason : 0, reason % 4 };
			small_runs[2].hist = hx;
			small_runs[2].status = (enum node_status)st;
			sj = small_sj;
			sj.status = (enum dag_status)((reason + st) %
			    (DS__COUNT + 1));
			snprintf(what, sizeof what, "reason %d status %d",
			    reason, st);
			CU_ASSERT_TRUE(trace_same(m, small_runp, &sj, what));
		}
	}

	/* every kind of string as an error, a job id, a DAG name, a node id */
	for (i = 0; i < NTEXTS; i++) {
		small_setup();
		small_runs[1].error = trace_texts[i];
		small_runs[2].error = trace_texts[i];
		sj = small_sj;
		sj.job = trace_texts[i];
		m->name = trace_texts[i];
		m->nodes[0].id = trace_texts[i];
		snprintf(what, sizeof what, "text %zu", i);
		CU_ASSERT_TRUE(trace_same(m, small_runp, &sj, what));
		m->name = name;
		m->nodes[0].id = id;
	}

	/* many varied runs: up to three attempts a node, any outcome */
	trace_seed = 7;
	for (round = 0; round < 2000 && ok; round++) {
		for (i = 0; i < 4; i++) {
			for (k = 0; k < 3; k++) {
				hx[i * 3 + k] = (struct attempt){
				    (int64_t)trace_rand(100000),
				    trace_rand(5) == 0 ? -1 :
				    (int64_t)trace_rand(200000),
				    (enum reason)trace_rand(REASON__COUNT + 1),
				    (int)trace_rand(300) - 1,
				    trace_rand(3) == 0 ? (int)trace_rand(32) :
				    0, (int)trace_rand(12) - 1 };
			}
			memset(&rx[i], 0, sizeof rx[i]);
			rx[i].status = (enum node_status)trace_rand(NS__COUNT);
			rx[i].hist = &hx[i * 3];
			rx[i].nhist = trace_rand(4);
			rx[i].error = trace_rand(3) == 0 ? NULL :
			    trace_texts[trace_rand(NTEXTS)];
			rpx[i] = trace_rand(8) == 0 ? NULL : &rx[i];
		}
		sj = small_sj;
		sj.status = (enum dag_status)trace_rand(DS__COUNT);
		sj.started_ms = trace_rand(3) == 0 ? -1 :
		    (int64_t)trace_rand(50000);
		sj.finished_ms = trace_rand(3) == 0 ? -1 :
		    (int64_t)trace_rand(300000);
		sjob = trace_rand(4) == 0 ? NULL :
		    trace_texts[trace_rand(NTEXTS)];
		sj.job = sjob;
		snprintf(what, sizeof what, "random round %zu", round);
		ok = trace_same(m, trace_rand(10) == 0 ? NULL : rpx,
		    trace_rand(6) == 0 ? NULL : &sj, what);
		CU_ASSERT_TRUE(ok);
	}
	manifest_free(m);
}

/* Every kind of string comes back from the trace as jansson reads it: the
 * text itself, or with each byte >= 0x80 as '?' when it is not UTF-8. */
static void
test_trace_strings_parse(void)
{
	struct manifest		*m = parse(small_yaml);
	struct state_job	 sj = small_sj;
	json_t			*root, *evs, *ev, *args, *js;
	json_error_t		 jerr;
	char			*text, *want;
	size_t			 i, j, len, nerr;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	for (i = 0; i < NTEXTS; i++) {
		small_setup();
		small_runs[1].error = trace_texts[i];
		sj.job = trace_texts[i];
		want = xstrdup(trace_texts[i]);
		if ((js = json_string(want)) == NULL) {
			for (j = 0; want[j] != '\0'; j++)
				if ((unsigned char)want[j] >= 0x80)
					want[j] = '?';
		}
		json_decref(js);
		text = trace_render(m, small_runp, &sj, &len);
		CU_ASSERT_EQUAL(strlen(text), len);
		root = json_loadb(text, len, 0, &jerr);
		CU_ASSERT_PTR_NOT_NULL_FATAL(root);
		CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
		    json_object_get(root, "otherData"), "job")), want);
		evs = json_object_get(root, "traceEvents");
		nerr = 0;
		json_array_foreach(evs, j, ev) {
			args = json_object_get(ev, "args");
			if (strcmp(json_string_value(json_object_get(ev,
			    "name")), "b") != 0)
				continue;
			js = json_object_get(args, "error");
			if (json_integer_value(json_object_get(args,
			    "attempt")) == 1) {
				CU_ASSERT_TRUE(json_is_null(js));
				continue;
			}
			CU_ASSERT_STRING_EQUAL(json_string_value(js), want);
			nerr++;
		}
		CU_ASSERT_EQUAL(nerr, 1);
		json_decref(root);
		free(text);
		free(want);
	}
	manifest_free(m);
}

/* Attempts that end where they start: they never raise the parallelism
 * of the title (once it wrapped around to SIZE_MAX, or read past the ends
 * when one came last). */
static void
test_svg_zero_length(void)
{
	struct manifest		*m = parse(small_yaml);
	static struct attempt	 z1[] = {
	    { 1000, 1000, REASON_NONE, 0, 0, 0 } };
	static struct attempt	 z2[] = {
	    { 1000, 1000, REASON_NONE, 0, 0, 1 } };
	static struct attempt	 l[] = { { 2000, 5000, REASON_NONE, 0, 0, 0 } };
	const struct node_run	*rp[4] = { NULL, NULL, NULL, NULL };
	struct node_run		 r[3];
	char			*svg;
	size_t			 len;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	memset(r, 0, sizeof r);
	r[0] = (struct node_run){ .status = NS_SUCCEEDED, .attempts = 1,
	    .started_ms = 1000, .finished_ms = 1000, .hist = z1, .nhist = 1 };
	r[1] = (struct node_run){ .status = NS_SUCCEEDED, .attempts = 1,
	    .started_ms = 1000, .finished_ms = 1000, .hist = z2, .nhist = 1 };
	r[2] = (struct node_run){ .status = NS_SUCCEEDED, .attempts = 1,
	    .started_ms = 2000, .finished_ms = 5000, .hist = l, .nhist = 1 };
	rp[0] = &r[0];
	rp[1] = &r[1];
	rp[2] = &r[2];
	svg = timeline_render(m, rp, NULL, &len);
	CU_ASSERT_PTR_NOT_NULL(strstr(svg, ", 4 nodes, parallelism 1 of 2<"));
	free(svg);
	/* the only attempt is the last to end, and ends as it starts */
	rp[1] = NULL;
	rp[2] = NULL;
	svg = timeline_render(m, rp, NULL, &len);
	CU_ASSERT_PTR_NOT_NULL(strstr(svg, ", 4 nodes, parallelism 0 of 2<"));
	free(svg);
	manifest_free(m);
}

/* ---- the reference timeline renderer ----------------------------------- */

/*
 * THE REFERENCE: timeline_render (and what it calls) as it was before it
 * wrote the SVG directly, kept here unchanged but for the names: every
 * number through vsnprintf, every string escaped into a new allocation by
 * log_escape and then for XML. src/timeline.c must produce exactly these
 * bytes for every input; test_svg_same_bytes checks that it does.
 */

#define REF_TL_TOP		56	/* title and axis above the rows */
#define REF_TL_WAVE_GAP	6	/* between waves */
#define REF_TL_PLOT_H_MAX	1500	/* rows shrink to stay within this */
#define REF_TL_RIGHT	24
#define REF_TL_LEGEND_H	34
#define REF_TL_CHAR_W	6.6	/* of an 11px sans-serif label, roughly */
#define REF_TL_LABEL_CHARS	40	/* longest label drawn in full */

struct ref_sbuf {
	char	*s;
	size_t	 len;
	size_t	 cap;
};

static void ref_sb_printf(struct ref_sbuf *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
ref_sb_printf(struct ref_sbuf *b, const char *fmt, ...)
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

static char *
ref_timeline_xml_escape(const char *s, size_t len)
{
	struct ref_sbuf	 b = { NULL, 0, 0 };
	char		*e, *p;

	/* control bytes and broken UTF-8 first (XML 1.0 cannot carry them,
	 * not even as character references), then the markup characters */
	e = log_escape(s, len);
	ref_sb_printf(&b, "%s", "");
	for (p = e; *p != '\0'; p++) {
		switch (*p) {
		case '&':
			ref_sb_printf(&b, "&amp;");
			break;
		case '<':
			ref_sb_printf(&b, "&lt;");
			break;
		case '>':
			ref_sb_printf(&b, "&gt;");
			break;
		case '"':
			ref_sb_printf(&b, "&quot;");
			break;
		case '\'':
			ref_sb_printf(&b, "&#39;");
			break;
		default:
			ref_sb_printf(&b, "%c", *p);
			break;
		}
	}
	free(e);
	return b.s;
}

static const struct node_run *
ref_tl_run(const struct node_run *const *runs, size_t i)
{
	return runs != NULL ? runs[i] : NULL;
}

/* The time range shown: the job's, widened to every attempt. */
static void
ref_tl_range(const struct manifest *m, const struct node_run *const *runs,
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
		if ((r = ref_tl_run(runs, i)) == NULL)
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
ref_tl_label_chars(const struct manifest *m)
{
	size_t	i, l, w = 4;

	for (i = 0; i < m->nnodes; i++) {
		l = strlen(m->nodes[i].id);
		if (l > w)
			w = l;
	}
	return w > REF_TL_LABEL_CHARS ? REF_TL_LABEL_CHARS : w;
}

static void
ref_timeline_geom(const struct manifest *m,
    const struct node_run *const *runs, const struct state_job *sj,
    struct timeline_geom *g)
{
	int64_t	t1;
	size_t	h, n = m->nnodes > 0 ? m->nnodes : 1;

	ref_tl_range(m, runs, sj, &g->t0, &t1);
	g->span = t1 - g->t0 > 0 ? t1 - g->t0 : 1;
	g->x0 = (double)(12 + (size_t)(REF_TL_CHAR_W *
	    (double)ref_tl_label_chars(m) + 0.999));
	g->w = TIMELINE_PLOT_W;
	h = REF_TL_PLOT_H_MAX / n;
	if (h > TIMELINE_ROW_MAX)
		h = TIMELINE_ROW_MAX;
	if (h < TIMELINE_ROW_MIN)
		h = TIMELINE_ROW_MIN;
	g->row_h = (double)h;
	g->label_every = h >= TIMELINE_LABEL_MIN ? 1 :
	    (TIMELINE_LABEL_MIN + h - 1) / h;
}

static double
ref_tl_x(const struct timeline_geom *g, int64_t t)
{
	return g->x0 + (double)(t - g->t0) * g->w / (double)g->span;
}

/* A tick step of 1, 2 or 5 times a power of ten (ms), giving at most about
 * eight ticks; above a minute, whole minutes or hours. */
static int64_t
ref_tl_step(int64_t span)
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
ref_tl_fmt_tick(int64_t ms, int64_t step, char *buf, size_t len)
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
ref_tl_fmt_dur(int64_t ms, char *buf, size_t len)
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

enum ref_tl_outcome { REF_TO_OK, REF_TO_FAILED, REF_TO_TIMEOUT,
    REF_TO_RETRIED, REF_TO_CANCELLED, REF_TO_RUNNING, REF_TO__COUNT };

static const struct {
	const char	*cls;
	const char	*fill;
	const char	*what;
} ref_tl_kind[REF_TO__COUNT] = {
	{ "ok",		"#4caf50", "succeeded" },
	{ "failed",	"#e53935", "failed" },
	{ "timeout",	"#fb8c00", "timed out" },
	{ "retried",	"#fdd835", "retried attempt" },
	{ "cancelled",	"#9e9e9e", "cancelled" },
	{ "running",	"#42a5f5", "running" },
};

static enum ref_tl_outcome
ref_tl_outcome(const struct node_run *r, size_t k)
{
	const struct attempt *a = &r->hist[k];

	if (a->end_ms < 0)
		return REF_TO_RUNNING;
	if (a->reason == REASON_NONE)
		return REF_TO_OK;
	if (k + 1 < r->nhist || r->status == NS_RETRYING)
		return REF_TO_RETRIED;
	switch (a->reason) {
	case REASON_TIMEOUT:
	case REASON_DEADLINE:
		return REF_TO_TIMEOUT;
	case REASON_CANCELLED:
		return REF_TO_CANCELLED;
	default:
		return REF_TO_FAILED;
	}
}

/* Rows: by wave, inside a wave by first start (never started last), then
 * manifest order. */
static const struct manifest		*ref_tl_sort_m;
static const struct node_run *const	*ref_tl_sort_runs;

static int
ref_tl_row_cmp(const void *pa, const void *pb)
{
	size_t			 a = *(const size_t *)pa;
	size_t			 b = *(const size_t *)pb;
	const struct node_run	*ra = ref_tl_run(ref_tl_sort_runs, a);
	const struct node_run	*rb = ref_tl_run(ref_tl_sort_runs, b);
	int64_t			 sa, sb;
	size_t			 wa = ref_tl_sort_m->graph.wave[a];
	size_t			 wb = ref_tl_sort_m->graph.wave[b];

	if (wa != wb)
		return wa < wb ? -1 : 1;
	sa = ra != NULL && ra->nhist > 0 ? ra->hist[0].start_ms : INT64_MAX;
	sb = rb != NULL && rb->nhist > 0 ? rb->hist[0].start_ms : INT64_MAX;
	if (sa != sb)
		return sa < sb ? -1 : 1;
	return a < b ? -1 : a > b;
}

static int
ref_tl_i64_cmp(const void *pa, const void *pb)
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
ref_tl_peak(const struct manifest *m, const struct node_run *const *runs,
    int64_t t_end)
{
	const struct node_run	*r;
	int64_t			*st, *en, cur = 0, peak = 0;
	size_t			 n = 0, i, k, a, b;

	for (i = 0; i < m->nnodes; i++)
		if ((r = ref_tl_run(runs, i)) != NULL)
			n += r->nhist;
	if (n == 0)
		return 0;
	st = xcalloc(n, sizeof *st);
	en = xcalloc(n, sizeof *en);
	n = 0;
	for (i = 0; i < m->nnodes; i++) {
		if ((r = ref_tl_run(runs, i)) == NULL)
			continue;
		for (k = 0; k < r->nhist; k++) {
			st[n] = r->hist[k].start_ms;
			en[n++] = r->hist[k].end_ms >= 0 ? r->hist[k].end_ms :
			    t_end;
		}
	}
	qsort(st, n, sizeof *st, ref_tl_i64_cmp);
	qsort(en, n, sizeof *en, ref_tl_i64_cmp);
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
ref_tl_critical(const struct manifest *m, const struct node_run *const *runs,
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
		r = ref_tl_run(runs, i);
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
ref_tl_title(struct ref_sbuf *b, const struct manifest *m, size_t i,
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
		ref_tl_fmt_dur(a->end_ms - a->start_ms, d, sizeof d);
	} else {
		snprintf(t2, sizeof t2, "(running)");
		snprintf(d, sizeof d, "-");
	}
	ref_sb_printf(b, "<title>%s attempt %zu/%zu: %s (%s)\n%s to %s\n"
	    "slot %d", m->nodes[i].id, k + 1, r->nhist,
	    ref_tl_kind[ref_tl_outcome(r, k)].what, d, t1, t2, a->slot);
	if (a->exit_code >= 0)
		ref_sb_printf(b, ", exit %d", a->exit_code);
	if (a->signal > 0)
		ref_sb_printf(b, ", signal %d", a->signal);
	if (a->reason != REASON_NONE)
		ref_sb_printf(b, ", reason %s", reason_name(a->reason));
	if (k + 1 == r->nhist && r->error != NULL)
		err = r->error;
	if (err != NULL) {
		e = ref_timeline_xml_escape(err, strlen(err));
		ref_sb_printf(b, "\nerror: %s", e);
		free(e);
	}
	ref_sb_printf(b, "</title>");
}

static void
ref_tl_legend(struct ref_sbuf *b, double x, double y)
{
	size_t	k;

	for (k = 0; k < REF_TO__COUNT; k++) {
		ref_sb_printf(b, "<rect class=\"key\" x=\"%.1f\" y=\"%.1f\" "
		    "width=\"12\" height=\"10\" fill=\"%s\"/>"
		    "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n", x, y,
		    ref_tl_kind[k].fill, x + 16, y + 9, ref_tl_kind[k].what);
		x += 30 + REF_TL_CHAR_W * (double)strlen(ref_tl_kind[k].what);
	}
	ref_sb_printf(b, "<rect class=\"key\" x=\"%.1f\" y=\"%.1f\" "
	    "width=\"12\" height=\"10\" fill=\"#ffffff\" stroke=\"#000000\" "
	    "stroke-width=\"1.5\"/><text x=\"%.1f\" y=\"%.1f\">critical "
	    "path</text>\n", x, y, x + 16, y + 9);
}

static char *
ref_timeline_render(const struct manifest *m,
    const struct node_run *const *runs, const struct state_job *sj,
    size_t *len)
{
	struct timeline_geom	 g;
	struct ref_sbuf		 b = { NULL, 0, 0 };
	const struct node_run	*r;
	const struct attempt	*a;
	unsigned char		*crit;
	size_t			*row, i, k, q, n = m->nnodes, wave, nwave, peak;
	size_t			 lc;
	double			 y, h, width, height, x1, x2, bw;
	int64_t			 step, t, t_end;
	char			 tick[40], dur[40], when[40], *e;
	const char		*status;
	enum ref_tl_outcome		 o;
	bool			 shown;

	ref_timeline_geom(m, runs, sj, &g);
	t_end = g.t0 + g.span;
	row = xcalloc(n > 0 ? n : 1, sizeof *row);
	for (i = 0; i < n; i++)
		row[i] = i;
	ref_tl_sort_m = m;
	ref_tl_sort_runs = runs;
	if (n > 1)
		qsort(row, n, sizeof *row, ref_tl_row_cmp);
	crit = xcalloc(n > 0 ? n : 1, 1);
	ref_tl_critical(m, runs, crit);
	peak = ref_tl_peak(m, runs, t_end);
	nwave = m->graph.nwaves;
	h = g.row_h;
	width = g.x0 + g.w + REF_TL_RIGHT;
	height = REF_TL_TOP + h * (double)n + REF_TL_WAVE_GAP *
	    (double)(nwave > 0 ? nwave - 1 : 0) + 8 + REF_TL_LEGEND_H;
	lc = ref_tl_label_chars(m);

	ref_sb_printf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
	    "width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
	    "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
	    "font-size=\"11\">\n", width, height, width, height);
	status = sj != NULL ? dag_status_name(sj->status) : "unknown";
	ref_tl_fmt_dur(sj != NULL && sj->started_ms >= 0 &&
	    sj->finished_ms >= 0 ? sj->finished_ms - sj->started_ms : g.span,
	    dur, sizeof dur);
	when[0] = '\0';
	if (sj != NULL && sj->started_ms >= 0)
		state_format_time(sj->wall_base_ms + sj->started_ms -
		    sj->mono_base_ms, when, sizeof when);
	e = ref_timeline_xml_escape(sj != NULL && sj->job != NULL ? sj->job :
	    "", sj != NULL && sj->job != NULL ? strlen(sj->job) : 0);
	ref_sb_printf(&b, "<title>%s %s</title>\n", m->name, e);
	free(e);
	ref_sb_printf(&b, "<rect class=\"bg\" x=\"0\" y=\"0\" width=\"%.0f\" "
	    "height=\"%.0f\" fill=\"#ffffff\"/>\n", width, height);
	ref_sb_printf(&b, "<text class=\"head\" x=\"8\" y=\"18\" "
	    "font-size=\"14\" font-weight=\"bold\">%s: %s in %s, %zu nodes, "
	    "parallelism %zu",
	    m->name, status, dur, n, peak);
	if (m->max_parallel > 0)
		ref_sb_printf(&b, " of %d", m->max_parallel);
	ref_sb_printf(&b, "</text>\n");
	if (sj != NULL && sj->job != NULL) {
		e = ref_timeline_xml_escape(sj->job, strlen(sj->job));
		ref_sb_printf(&b, "<text x=\"8\" y=\"32\" fill=\"#555555\">%s, "
		    "started %s</text>\n", e, when);
		free(e);
	}

	/* the axis: ticks and grid lines */
	step = ref_tl_step(g.span);
	ref_sb_printf(&b, "<g class=\"axis\" stroke=\"#dddddd\" "
	    "stroke-width=\"1\">\n");
	for (t = 0; t <= g.span; t += step)
		ref_sb_printf(&b, "<line x1=\"%.2f\" y1=\"%d\" x2=\"%.2f\" "
		    "y2=\"%.1f\"/>\n", ref_tl_x(&g, g.t0 + t), REF_TL_TOP - 4,
		    ref_tl_x(&g, g.t0 + t), height - REF_TL_LEGEND_H);
	ref_sb_printf(&b, "</g>\n<g class=\"ticks\" fill=\"#555555\" "
	    "text-anchor=\"middle\">\n");
	for (t = 0; t <= g.span; t += step) {
		ref_tl_fmt_tick(t, step, tick, sizeof tick);
		ref_sb_printf(&b, "<text x=\"%.2f\" y=\"%d\">%s</text>\n",
		    ref_tl_x(&g, g.t0 + t), REF_TL_TOP - 8, tick);
	}
	ref_sb_printf(&b, "</g>\n");

	/* rows */
	y = REF_TL_TOP;
	wave = n > 0 ? m->graph.wave[row[0]] : 0;
	for (k = 0; k < n; k++) {
		i = row[k];
		if (m->graph.wave[i] != wave) {
			wave = m->graph.wave[i];
			ref_sb_printf(&b, "<line class=\"wave\" x1=\"0\" "
			    "y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" "
			    "stroke=\"#bbbbbb\" stroke-dasharray=\"4,3\"/>\n",
			    y + REF_TL_WAVE_GAP / 2.0, width,
			    y + REF_TL_WAVE_GAP / 2.0);
			y += REF_TL_WAVE_GAP;
		}
		r = ref_tl_run(runs, i);
		if (k % 2 == 1)
			ref_sb_printf(&b, "<rect class=\"row\" x=\"0\" "
			    "y=\"%.1f\" width=\"%.0f\" height=\"%.1f\" "
			    "fill=\"#f6f6f6\"/>\n", y, width, h);
		shown = k % g.label_every == 0;
		if (shown) {
			e = ref_timeline_xml_escape(m->nodes[i].id,
			    strlen(m->nodes[i].id) > lc ? lc :
			    strlen(m->nodes[i].id));
			ref_sb_printf(&b, "<text class=\"id\" x=\"6\" "
			    "y=\"%.1f\" font-size=\"%.0f\"%s%s>%s%s<title>%s "
			    "wave %zu: %s</title></text>\n", y + h * 0.5 +
			    (h < 11 ? h : 11) * 0.35, h < 11 ? h : 11,
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
			x1 = ref_tl_x(&g, a->start_ms);
			x2 = ref_tl_x(&g, a->end_ms >= 0 ? a->end_ms : t_end);
			bw = x2 - x1 < 0.5 ? 0.5 : x2 - x1;
			o = ref_tl_outcome(r, q);
			/* the wait before a retry: a dashed line */
			if (q > 0 && a[-1].end_ms >= 0 &&
			    a->start_ms > a[-1].end_ms)
				ref_sb_printf(&b, "<line class=\"wait\" "
				    "x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" "
				    "y2=\"%.1f\" stroke=\"#888888\" "
				    "stroke-dasharray=\"2,2\"/>\n",
				    ref_tl_x(&g, a[-1].end_ms), y + h / 2, x1,
				    y + h / 2);
			ref_sb_printf(&b, "<rect class=\"att %s\" x=\"%.2f\" "
			    "y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" "
			    "fill=\"%s\"", ref_tl_kind[o].cls, x1, y + (h > 4 ?
			    1 : 0), bw, h > 4 ? h - 2 : h, ref_tl_kind[o].fill);
			if (crit[i])
				ref_sb_printf(&b, " stroke=\"#000000\" "
				    "stroke-width=\"%.1f\"", h > 6 ? 1.5 : 0.6);
			ref_sb_printf(&b, ">");
			ref_tl_title(&b, m, i, r, q, sj);
			ref_sb_printf(&b, "</rect>\n");
		}
		y += h;
	}
	ref_tl_legend(&b, 8, y + 14);
	ref_sb_printf(&b, "</svg>\n");
	free(row);
	free(crit);
	*len = b.len;
	return b.s;
}


/*
 * True when timeline_render and the reference give the same bytes for these
 * inputs; else prints the first offset that differs, with both texts
 * around it, and what was being rendered.
 */
static bool
svg_same(const struct manifest *m, const struct node_run *const *runs,
    const struct state_job *sj, const char *what)
{
	char	*got, *want;
	size_t	 glen, wlen, i, from;
	bool	 same;

	got = timeline_render(m, runs, sj, &glen);
	want = ref_timeline_render(m, runs, sj, &wlen);
	same = glen == wlen && memcmp(got, want, glen) == 0 &&
	    got[glen] == '\0';
	if (!same) {
		for (i = 0; i < glen && i < wlen && got[i] == want[i]; i++)
			;
		from = i > 40 ? i - 40 : 0;
		fprintf(stderr, "\nsvg differs (%s): first at byte %zu of "
		    "%zu (reference %zu)\n got: %.80s\nwant: %.80s\n", what, i,
		    glen, wlen, got + (from < glen ? from : glen),
		    want + (from < wlen ? from : wlen));
	}
	free(got);
	free(want);
	return same;
}

/* Time scales of the random runs (ms): a few ms to days. */
static const int64_t svg_scales[] = { 1, 3, 7, 40, 100, 1000, 9000, 60000,
    700000, 3600000, 20000000, 86400000 };
#define NSCALES (sizeof svg_scales / sizeof svg_scales[0])

/* Wall clocks of the job's monotonic base: now, around 1970, the ends of
 * four-digit years, and years gmtime cannot give. */
static const int64_t svg_walls[] = { 1795860900000, 0, -1, -86400001,
    951782399999, 253402300799000, 253402300800000, -62167219200000,
    -62167219200001, 400000000000000000, -400000000000000000 };
#define NWALLS (sizeof svg_walls / sizeof svg_walls[0])

/*
 * n random records at time scale sc, up to maxh attempts a node (in hx,
 * maxh a node): retries after gaps or overlapping, open attempts, ends
 * before starts, any slot, reason, exit and signal.
 */
static void
svg_random_runs(size_t n, size_t maxh, int64_t sc, struct attempt *hx,
    struct node_run *rx, const struct node_run **rpx)
{
	struct attempt	*a;
	size_t		 i, k;
	int64_t		 t;

	for (i = 0; i < n; i++) {
		memset(&rx[i], 0, sizeof rx[i]);
		rx[i].hist = &hx[i * maxh];
		rx[i].nhist = trace_rand((unsigned)maxh + 1);
		t = (int64_t)trace_rand(20) * sc + (int64_t)trace_rand(
		    (unsigned)(sc < 1000000 ? sc : 1000000));
		for (k = 0; k < rx[i].nhist; k++) {
			a = &hx[i * maxh + k];
			a->start_ms = t;
			a->end_ms = t + (int64_t)trace_rand(4) * sc +
			    (int64_t)trace_rand(1000);
			if (trace_rand(8) == 0)
				a->end_ms = -1;
			else if (trace_rand(20) == 0)
				a->end_ms = t - (int64_t)trace_rand(3) * sc;
			if (a->end_ms < -1)
				a->end_ms = 0;
			a->reason = (enum reason)trace_rand(REASON__COUNT + 1);
			a->exit_code = (int)trace_rand(300) - 1;
			a->signal = trace_rand(3) == 0 ? (int)trace_rand(32) :
			    0;
			a->slot = (int)trace_rand(20) - 1;
			t = (a->end_ms >= 0 ? a->end_ms : t) +
			    (int64_t)trace_rand(3) * sc - sc / 2;
		}
		rx[i].status = (enum node_status)trace_rand(NS__COUNT + 1);
		if (rx[i].nhist > 0) {
			rx[i].started_ms = rx[i].hist[0].start_ms;
			rx[i].finished_ms = trace_rand(4) == 0 ? -1 :
			    rx[i].hist[rx[i].nhist - 1].end_ms;
		} else {
			rx[i].started_ms = -1;
			rx[i].finished_ms = -1;
		}
		rx[i].error = trace_rand(3) == 0 ? NULL :
		    trace_texts[trace_rand(NTEXTS)];
		rpx[i] = trace_rand(12) == 0 ? NULL : &rx[i];
	}
}

/* The job around random records: any times, status, id and clock. */
static void
svg_random_job(struct state_job *sj, int64_t sc)
{
	*sj = small_sj;
	sj->status = (enum dag_status)trace_rand(DS__COUNT + 1);
	sj->started_ms = trace_rand(3) == 0 ? -1 :
	    (int64_t)trace_rand(5) * sc;
	sj->finished_ms = trace_rand(3) == 0 ? -1 :
	    (int64_t)trace_rand(40) * sc;
	sj->job = trace_rand(4) == 0 ? NULL : trace_texts[trace_rand(NTEXTS)];
	sj->wall_base_ms = svg_walls[trace_rand(NWALLS)] +
	    (int64_t)trace_rand(100000);
	sj->mono_base_ms = (int64_t)trace_rand(100000);
}

/* A manifest of n nodes named "n<i>", each needing up to two earlier
 * ones at random: several waves. */
static struct manifest *
svg_dag(size_t n)
{
	struct manifest	*m;
	char		*yaml = NULL;
	size_t		 i, cap = 0, len;

	xgrow(&yaml, &cap, 64, 1);
	len = (size_t)sprintf(yaml, "name: dag-%zu\nnodes:\n", n);
	for (i = 0; i < n; i++) {
		xgrow(&yaml, &cap, len + 80, 1);
		len += (size_t)sprintf(yaml + len, "  n%zu: {run: 'true'", i);
		if (i > 0 && trace_rand(3) != 0)
			len += (size_t)sprintf(yaml + len, ", needs: [n%u]",
			    trace_rand((unsigned)i));
		len += (size_t)sprintf(yaml + len, "}\n");
	}
	m = parse(yaml);
	free(yaml);
	return m;
}

/* Node ids longer than a label: cut inside a UTF-8 sequence, cut before
 * markup. */
static char svg_long_ids[][80] = {
	"long-\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9<&>'\"-end",
	"0123456789012345678901234567890123456789x<&>",
};

static void
test_svg_same_bytes(void)
{
	struct manifest		*m = parse(small_yaml), *big;
	struct state_job	 sj;
	const struct node_run	*none[4] = { NULL, NULL, NULL, NULL };
	static struct attempt	 hr[] = { { 3000, -1, REASON_NONE, -1, 0, 1 } };
	static struct attempt	 hlate[] = {
	    { 20000, -1, REASON_NONE, -1, 0, 5 } };
	static struct attempt	 hgap[] = {
	    { 1000, 2000, REASON_SIGNAL, -1, 9, 7 },
	    { 2500, 2600, REASON_EXIT, 255, 0, -1 },
	    { 2700, 2900, REASON_EXIT, 2147483647, 0, 3 } };
	static const size_t	 sizes[] = { 1, 2, 3, 7, 60, 1000 };
	struct attempt		*hx;
	struct node_run		*rx;
	const struct node_run	**rpx;
	char			*name, *ids[4], what[80];
	size_t			 i, k, round, nn, maxh;
	int			 reason, st;
	int64_t			 sc;
	bool			 ok = true;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	name = m->name;

	/* nothing ran, with and without the job's times */
	CU_ASSERT_TRUE(svg_same(m, NULL, NULL, "no runs, no job"));
	CU_ASSERT_TRUE(svg_same(m, NULL, &small_sj, "no runs"));
	CU_ASSERT_TRUE(svg_same(m, none, &small_sj, "every run NULL"));
	CU_ASSERT_TRUE(svg_same(m, none, NULL, "every run NULL, no job"));

	/* an empty DAG */
	nn = m->nnodes;
	m->nnodes = 0;
	CU_ASSERT_TRUE(svg_same(m, NULL, NULL, "empty, no job"));
	CU_ASSERT_TRUE(svg_same(m, NULL, &small_sj, "empty"));
	m->nnodes = nn;

	/* the known run; the job without times or id */
	small_setup();
	CU_ASSERT_TRUE(svg_same(m, small_runp, &small_sj, "small"));
	CU_ASSERT_TRUE(svg_same(m, small_runp, NULL, "small, sj NULL"));
	sj = small_sj;
	sj.job = NULL;
	sj.started_ms = -1;
	sj.finished_ms = -1;
	CU_ASSERT_TRUE(svg_same(m, small_runp, &sj, "job without times"));

	/* running attempts: one open to the job's end, one that started
	 * after everything else ended */
	small_runs[2].hist = hr;
	small_runs[2].status = NS_RUNNING;
	small_runs[3].hist = hlate;
	small_runs[3].nhist = 1;
	small_runs[3].status = NS_RUNNING;
	sj = small_sj;
	sj.status = DS_RUNNING;
	CU_ASSERT_TRUE(svg_same(m, small_runp, &sj, "running"));
	sj.finished_ms = -1;
	CU_ASSERT_TRUE(svg_same(m, small_runp, &sj, "running, open job"));

	/* a retry pending; slots with gaps, a signal, odd exits */
	small_setup();
	small_runs[1].status = NS_RETRYING;
	CU_ASSERT_TRUE(svg_same(m, small_runp, &small_sj, "retrying"));
	small_setup();
	small_runs[1].hist = hgap;
	small_runs[1].nhist = 3;
	CU_ASSERT_TRUE(svg_same(m, small_runp, &small_sj, "slot gaps"));

	/* every reason (and out of range) in every node status (and out of
	 * range), every DAG status (and out of range), every clock */
	hx = xcalloc(1000 * 4, sizeof *hx);
	rx = xcalloc(1000, sizeof *rx);
	rpx = xcalloc(1000, sizeof *rpx);
	for (reason = REASON_NONE; reason <= REASON__COUNT; reason++) {
		for (st = 0; st <= NS__COUNT; st++) {
			small_setup();
			hx[0] = (struct attempt){ 3000, 5000,
			    (enum reason)reason, reason - 1, reason % 3 == 0 ?
			    reason : 0, reason % 4 };
			small_runs[2].hist = hx;
			small_runs[2].status = (enum node_status)st;
			sj = small_sj;
			sj.status = (enum dag_status)((reason + st) %
			    (DS__COUNT + 1));
			sj.wall_base_ms = svg_walls[(size_t)(reason + st) %
			    NWALLS];
			snprintf(what, sizeof what, "reason %d status %d",
			    reason, st);
			CU_ASSERT_TRUE(svg_same(m, small_runp, &sj, what));
		}
	}

	/* every kind of string as an error, a job id, a DAG name, node ids
	 * (short, and long enough to be cut in a UTF-8 sequence) */
	for (i = 0; i < NTEXTS; i++) {
		small_setup();
		small_runs[1].error = trace_texts[i];
		small_runs[2].error = trace_texts[i];
		sj = small_sj;
		sj.job = trace_texts[i];
		m->name = trace_texts[i];
		for (k = 0; k < 4; k++)
			ids[k] = m->nodes[k].id;
		m->nodes[0].id = trace_texts[i];
		m->nodes[1].id = trace_texts[(i + 1) % NTEXTS];
		m->nodes[2].id = trace_texts[(i + 7) % NTEXTS];
		snprintf(what, sizeof what, "text %zu", i);
		CU_ASSERT_TRUE(svg_same(m, small_runp, &sj, what));
		m->nodes[0].id = svg_long_ids[0];
		m->nodes[3].id = svg_long_ids[1];
		CU_ASSERT_TRUE(svg_same(m, small_runp, &sj, what));
		for (k = 0; k < 4; k++)
			m->nodes[k].id = ids[k];
		m->name = name;
	}

	/* many random runs of the small DAG at every time scale */
	trace_seed = 11;
	for (round = 0; round < 3000 && ok; round++) {
		sc = svg_scales[trace_rand(NSCALES)];
		svg_random_runs(4, 4, sc, hx, rx, rpx);
		svg_random_job(&sj, sc);
		m->max_parallel = (int)trace_rand(4);
		snprintf(what, sizeof what, "random round %zu", round);
		ok = svg_same(m, trace_rand(10) == 0 ? NULL : rpx,
		    trace_rand(6) == 0 ? NULL : &sj, what);
		CU_ASSERT_TRUE(ok);
	}
	manifest_free(m);

	/* DAGs of 1 to 1000 nodes, rows of every height */
	for (i = 0; i < sizeof sizes / sizeof sizes[0] && ok; i++) {
		big = svg_dag(sizes[i]);
		CU_ASSERT_PTR_NOT_NULL_FATAL(big);
		maxh = sizes[i] >= 1000 ? 2 : 4;
		for (round = 0; round < (sizes[i] >= 1000 ? 6 : 200) && ok;
		    round++) {
			sc = svg_scales[trace_rand(NSCALES)];
			svg_random_runs(sizes[i], maxh, sc, hx, rx, rpx);
			svg_random_job(&sj, sc);
			big->max_parallel = (int)trace_rand(20);
			snprintf(what, sizeof what, "%zu nodes, round %zu",
			    sizes[i], round);
			ok = svg_same(big, rpx, trace_rand(6) == 0 ? NULL :
			    &sj, what);
			CU_ASSERT_TRUE(ok);
		}
		manifest_free(big);
	}
	free(hx);
	free(rx);
	free(rpx);
}

static void
test_many_nodes(void)
{
	struct manifest		*m;
	struct timeline_geom	 g;
	struct node_run		*r;
	struct attempt		*h;
	const struct node_run	**rp;
	char			*yaml, *svg, *p;
	size_t			 i, len, cap = 0, ylen = 0, labels, n = 500;

	yaml = NULL;
	xgrow(&yaml, &cap, 64, 1);
	ylen = (size_t)sprintf(yaml, "name: big\nnodes:\n");
	for (i = 0; i < n; i++) {
		xgrow(&yaml, &cap, ylen + 80, 1);
		ylen += (size_t)sprintf(yaml + ylen, "  node-%03zu: "
		    "{run: 'true'%s}\n", i,
		    i >= 250 ? ", needs: [node-000]" : "");
	}
	m = parse(yaml);
	free(yaml);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	r = xcalloc(n, sizeof *r);
	h = xcalloc(n, sizeof *h);
	rp = xcalloc(n, sizeof *rp);
	for (i = 0; i < n; i++) {
		h[i] = (struct attempt){ (int64_t)i * 10, (int64_t)i * 10 + 500,
		    REASON_NONE, 0, 0, (int)(i % 8) };
		r[i] = (struct node_run){ .status = NS_SUCCEEDED,
		    .attempts = 1, .started_ms = h[i].start_ms,
		    .finished_ms = h[i].end_ms, .hist = &h[i], .nhist = 1 };
		rp[i] = &r[i];
	}
	timeline_geom(m, rp, NULL, &g);
	CU_ASSERT_TRUE(g.row_h >= TIMELINE_ROW_MIN);
	CU_ASSERT_TRUE(g.row_h < TIMELINE_LABEL_MIN);
	CU_ASSERT_TRUE(g.label_every > 1);
	svg = timeline_render(m, rp, NULL, &len);
	CU_ASSERT_TRUE(xml_well_formed(svg));
	CU_ASSERT_EQUAL(bars(svg, NULL, 0), n);
	labels = count(svg, "<text class=\"id\"");
	/* labels thin out: every k-th row, no more */
	CU_ASSERT_EQUAL(labels, (n + g.label_every - 1) / g.label_every);
	CU_ASSERT_TRUE(labels < n);
	CU_ASSERT_TRUE(labels > 0);
	/* labels are at least TIMELINE_LABEL_MIN pixels apart */
	CU_ASSERT_TRUE(g.row_h * (double)g.label_every >= TIMELINE_LABEL_MIN);
	/* the picture stays a sane size */
	p = strstr(svg, "height=\"");
	CU_ASSERT_TRUE_FATAL(p != NULL);
	CU_ASSERT_TRUE(strtod(p + 8, NULL) < 1800);
	CU_ASSERT_TRUE(trace_same(m, rp, NULL, "500 nodes"));
	free(svg);
	free(r);
	free(h);
	free(rp);
	manifest_free(m);
}

static void
test_escaping(void)
{
	struct manifest		*m = parse(small_yaml);
	struct state_job	 sj = small_sj;
	static char		 evil[] = "</title><script>alert(1)</script> "
	    "& \"q\" 'a' \x01\x1b[31m \xff\xfe end";
	char			*svg, *e, *text;
	size_t			 len;
	json_t			*root;
	json_error_t		 jerr;

	e = timeline_xml_escape("<a & \"b\" 'c'>", 13);
	CU_ASSERT_STRING_EQUAL(e, "&lt;a &amp; &quot;b&quot; &#39;c&#39;&gt;");
	free(e);
	e = timeline_xml_escape("x\x01y\xffz", 5);
	CU_ASSERT_STRING_EQUAL(e, "x\\x01y\\xffz");
	free(e);
	e = timeline_xml_escape("caf\xc3\xa9", 5);
	CU_ASSERT_STRING_EQUAL(e, "caf\xc3\xa9");
	free(e);

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	small_setup();
	small_runs[1].error = evil;
	sj.job = evil;
	svg = timeline_render(m, small_runp, &sj, &len);
	CU_ASSERT_TRUE(xml_well_formed(svg));
	CU_ASSERT_PTR_NULL(strstr(svg, "<script"));
	CU_ASSERT_PTR_NULL(strchr(svg, '\x1b'));
	CU_ASSERT_PTR_NULL(strchr(svg, '\xff'));
	CU_ASSERT_PTR_NOT_NULL(strstr(svg, "&lt;/title&gt;&lt;script&gt;"));
	free(svg);
	/* the trace stays valid JSON with the same text */
	text = trace_render(m, small_runp, &sj, &len);
	root = json_loadb(text, len, 0, &jerr);
	CU_ASSERT_PTR_NOT_NULL(root);
	json_decref(root);
	free(text);
	manifest_free(m);
}

static void
test_running_and_empty(void)
{
	struct manifest	*m = parse(small_yaml);
	struct state_job sj = small_sj;
	static struct attempt hr[] = { { 3000, -1, REASON_NONE, -1, 0, 1 } };
	struct bar	 b[8];
	char		*svg;
	size_t		 len;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	/* nothing ran: a valid picture with no bars */
	svg = timeline_render(m, NULL, NULL, &len);
	CU_ASSERT_TRUE(xml_well_formed(svg));
	CU_ASSERT_EQUAL(bars(svg, NULL, 0), 0);
	free(svg);
	/* a job still running: its open attempt reaches the job's end */
	small_setup();
	small_runs[2].hist = hr;
	small_runs[2].status = NS_RUNNING;
	sj.status = DS_RUNNING;
	svg = timeline_render(m, small_runp, &sj, &len);
	CU_ASSERT_TRUE(xml_well_formed(svg));
	CU_ASSERT_EQUAL_FATAL(bars(svg, b, 8), 4);
	CU_ASSERT_STRING_EQUAL(b[3].cls, "running");
	free(svg);
	manifest_free(m);
}

static void
test_write(void)
{
	struct manifest	*m = parse(small_yaml);
	char		 dir[] = "/tmp/test_timeline.XXXXXX", *path, *buf;
	char		*cause = NULL;
	size_t		 len;
	struct sched	*s;
	struct sched_config c = { 2, NULL, false, 0 };
	const struct node_run **runs;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	s = sched_new(m, &c);
	path = xasprintf("%s/timeline.svg", dir);
	runs = sched_runs(s);
	CU_ASSERT_EQUAL(timeline_write(path, m, runs, &small_sj, &cause), 0);
	CU_ASSERT_EQUAL_FATAL(fs_read_file(path, 1 << 20, &buf, &len, &cause),
	    0);
	CU_ASSERT_TRUE(xml_well_formed(buf));
	free(buf);
	free(path);
	path = xasprintf("%s/no/such/dir/timeline.svg", dir);
	CU_ASSERT_EQUAL(timeline_write(path, m, runs, &small_sj, &cause), -1);
	CU_ASSERT_PTR_NOT_NULL(cause);
	free(cause);
	free(path);
	free(runs);
	sched_free(s);
	manifest_free(m);
	CU_ASSERT_EQUAL(fs_remove_tree(dir, NULL), 0);
}

/* Written into a file as they are made (in pieces of STRBUF_SPILL
 * bytes), the timeline and the trace are the bytes rendered whole. */
static void
test_streamed(void)
{
	struct manifest	*m;
	struct strbuf	 y = STRBUF_INIT;
	struct node_run	*r;
	struct attempt	*h;
	const struct node_run **rp;
	char		 path[] = "/tmp/test_timeline.XXXXXX", *want, *got;
	char		*cause = NULL;
	size_t		 n = 3000, i, wlen, glen;
	int		 fd, k;

	strbuf_str(&y, "name: streamed\nnodes:\n");
	for (i = 0; i < n; i++) {
		strbuf_str(&y, "  node-");
		strbuf_int(&y, (int64_t)i);
		strbuf_str(&y, i == 0 ? ": {run: 'true'}\n" :
		    ": {run: 'true', needs: [node-0]}\n");
	}
	m = parse(y.s);
	strbuf_release(&y);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	r = xcalloc(n, sizeof *r);
	h = xcalloc(n, sizeof *h);
	rp = xcalloc(n, sizeof *rp);
	for (i = 0; i < n; i++) {
		h[i].start_ms = 1000 + (int64_t)i * 3;
		h[i].end_ms = h[i].start_ms + 2 + (int64_t)(i % 7);
		h[i].reason = i % 11 == 0 ? REASON_EXIT : REASON_NONE;
		h[i].exit_code = i % 11 == 0 ? 1 : 0;
		h[i].slot = (int)(i % 2);
		r[i].status = i % 11 == 0 ? NS_FAILED : NS_SUCCEEDED;
		r[i].attempts = 1;
		r[i].hist = &h[i];
		r[i].nhist = 1;
		r[i].started_ms = h[i].start_ms;
		r[i].finished_ms = h[i].end_ms;
		rp[i] = &r[i];
	}
	for (k = 0; k < 2; k++) {
		fd = mkstemp(path);
		CU_ASSERT_FATAL(fd >= 0);
		if (k == 0) {
			want = timeline_render(m, rp, &small_sj, &wlen);
			CU_ASSERT_EQUAL(timeline_write_fd(fd, m, rp, &small_sj),
			    0);
		} else {
			want = trace_render(m, rp, &small_sj, &wlen);
			CU_ASSERT_EQUAL(trace_write_fd(fd, m, rp, &small_sj),
			    0);
		}
		close(fd);
		CU_ASSERT(wlen > 4 * STRBUF_SPILL);
		CU_ASSERT_EQUAL_FATAL(fs_read_file(path, SIZE_MAX / 2, &got,
		    &glen, &cause), 0);
		CU_ASSERT_EQUAL(glen, wlen);
		CU_ASSERT(glen == wlen && memcmp(got, want, glen) == 0);
		unlink(path);
		strcpy(path, "/tmp/test_timeline.XXXXXX");
		free(got);
		free(want);
	}
	free(r);
	free(h);
	free(rp);
	manifest_free(m);
}

/* report.html inlines a small timeline and links a large one, whose text
 * it is not given (only its size: the end reads a large one no more). */
static void
test_report_svg(void)
{
	struct manifest	*m = parse(small_yaml);
	struct report_in in;
	char		*html, svg[] = "<?xml version=\"1.0\"?>\n<svg>INLINED</svg>\n";
	size_t		 len;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	small_setup();
	memset(&in, 0, sizeof in);
	in.m = m;
	in.runs = small_runp;
	in.sj = &small_sj;
	in.dir = "/nonexistent";
	in.svg = svg;
	in.svg_len = strlen(svg);
	html = report_render(&in, &len);
	CU_ASSERT_PTR_NOT_NULL(strstr(html, "<svg>INLINED</svg>"));
	CU_ASSERT_PTR_NULL(strstr(html, "too large to inline"));
	free(html);
	in.svg = "";
	in.svg_len = REPORT_SVG_MAX + 1;
	html = report_render(&in, &len);
	CU_ASSERT_PTR_NOT_NULL(strstr(html, "too large to inline"));
	CU_ASSERT_PTR_NOT_NULL(strstr(html, "href=\"timeline.svg\""));
	CU_ASSERT_PTR_NULL(strstr(html, "INLINED"));
	free(html);
	manifest_free(m);
}

int
main(void)
{
	static const struct cunit_test tests[] = {
		{ "xml checker", test_xml_checker },
		{ "svg of known timings", test_svg_known_timings },
		{ "trace of known timings", test_trace_known_timings },
		{ "trace: same bytes as jansson", test_trace_same_bytes },
		{ "trace: strings read back", test_trace_strings_parse },
		{ "svg: zero-length attempts", test_svg_zero_length },
		{ "svg: same bytes as printf", test_svg_same_bytes },
		{ "500 nodes", test_many_nodes },
		{ "escaping", test_escaping },
		{ "running and empty", test_running_and_empty },
		{ "write", test_write },
		{ "streamed into a file", test_streamed },
		{ "report: a timeline inlined or linked", test_report_svg },
		{ NULL, NULL }
	};

	return cunit_run("timeline", NULL, NULL, tests);
}

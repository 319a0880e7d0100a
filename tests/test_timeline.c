/* CUnit suite for src/timeline.c and src/trace.c: the SVG chart and the
 * trace JSON of recorded runs with known timings. */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <jansson.h>

#include "cunit_main.h"
#include "diag.h"
#include "fsutil.h"
#include "manifest.h"
#include "sched.h"
#include "state.h"
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
	struct sched_config c = { 2, NULL };

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	s = sched_new(m, &c);
	path = xasprintf("%s/timeline.svg", dir);
	CU_ASSERT_EQUAL(timeline_write(path, m, s, &small_sj, &cause), 0);
	CU_ASSERT_EQUAL_FATAL(fs_read_file(path, 1 << 20, &buf, &len, &cause),
	    0);
	CU_ASSERT_TRUE(xml_well_formed(buf));
	free(buf);
	free(path);
	path = xasprintf("%s/trace.json", dir);
	CU_ASSERT_EQUAL(trace_write(path, m, s, &small_sj, &cause), 0);
	CU_ASSERT_EQUAL_FATAL(fs_read_file(path, 1 << 20, &buf, &len, &cause),
	    0);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"traceEvents\""));
	free(buf);
	free(path);
	path = xasprintf("%s/no/such/dir/timeline.svg", dir);
	CU_ASSERT_EQUAL(timeline_write(path, m, s, &small_sj, &cause), -1);
	CU_ASSERT_PTR_NOT_NULL(cause);
	free(cause);
	free(path);
	sched_free(s);
	manifest_free(m);
	CU_ASSERT_EQUAL(fs_remove_tree(dir, NULL), 0);
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
		{ "500 nodes", test_many_nodes },
		{ "escaping", test_escaping },
		{ "running and empty", test_running_and_empty },
		{ "write", test_write },
		{ NULL, NULL }
	};

	return cunit_run("timeline", NULL, NULL, tests);
}

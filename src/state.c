#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <yaml.h>

#include "fsutil.h"
#include "state.h"
#include "strbuf.h"
#include "units.h"
#include "xmalloc.h"

#define STATE_MAX_BYTES	((size_t)1 << 30)	/* state_read bound */

char *
state_format_time(int64_t wall_ms, char *buf, size_t len)
{
	struct tm	tm;
	time_t		secs;
	int64_t		ms;

	ms = wall_ms % 1000;
	secs = (time_t)(wall_ms / 1000);
	if (ms < 0) {
		ms += 1000;
		secs--;
	}
	if (gmtime_r(&secs, &tm) == NULL) {
		snprintf(buf, len, "%" PRId64, wall_ms);
		return buf;
	}
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)ms);
	return buf;
}

/* ---- the emitter ------------------------------------------------------ */

struct state_em {
	yaml_emitter_t	 e;
	struct strbuf out;
	int		 failed;
	const struct state_job *sj;
};

static int
state_write_handler(void *data, unsigned char *buffer, size_t size)
{
	strbuf_add(data, (const char *)buffer, size);
	return 1;
}

static void
state_emit(struct state_em *em, yaml_event_t *ev)
{
	if (em->failed) {
		yaml_event_delete(ev);
		return;
	}
	if (!yaml_emitter_emit(&em->e, ev))	/* frees ev in any case */
		em->failed = 1;
}

/* Valid UTF-8 (no overlongs, no surrogates, at most U+10FFFF) as libyaml
 * wants it; anything else is replaced by U+FFFD. Returns s or a new copy in
 * *copy. */
static const char *
state_utf8(const char *s, char **copy)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i, n, len = strlen(s), k;
	unsigned		 cp, min;
	char			*out = NULL;
	size_t			 olen = 0;
	int			 bad = 0;

	*copy = NULL;
	for (i = 0; i < len; i += n) {
		unsigned char c = p[i];

		n = 1;
		if (c < 0x80)
			goto ok;
		if (c >= 0xc2 && c <= 0xdf) {
			n = 2;
			cp = c & 0x1f;
			min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 3;
			cp = c & 0x0f;
			min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 4;
			cp = c & 0x07;
			min = 0x10000;
		} else
			goto invalid;
		if (i + n > len)
			goto invalid1;
		for (k = 1; k < n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				goto invalid1;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			goto invalid1;
	ok:
		if (bad) {
			memcpy(out + olen, p + i, n);
			olen += n;
		}
		continue;
	invalid1:
		n = 1;
	invalid:
		if (!bad) {
			bad = 1;
			out = xmalloc(len * 3 + 1);
			memcpy(out, s, i);
			olen = i;
		}
		memcpy(out + olen, "\xef\xbf\xbd", 3);
		olen += 3;
	}
	if (!bad)
		return s;
	out[olen] = '\0';
	*copy = out;
	return out;
}

/* Would a plain scalar s be read back as something other than this string
 * (null, a boolean, a number)? Then it is quoted. */
static int
state_needs_quotes(const char *s)
{
	static const char *const words[] = {
		"null", "~", "true", "false", "yes", "no", "on", "off", "y", "n"
	};
	size_t	i;

	if (*s == '\0')
		return 1;
	if ((*s >= '0' && *s <= '9') || *s == '-' || *s == '+' || *s == '.')
		return 1;
	for (i = 0; i < sizeof words / sizeof words[0]; i++) {
		if (strcasecmp(s, words[i]) == 0)
			return 1;
	}
	return 0;
}

static void
state_scalar(struct state_em *em, const char *v, int plain)
{
	yaml_event_t	 ev;
	yaml_scalar_style_t style = YAML_ANY_SCALAR_STYLE;
	char		*copy = NULL;
	const char	*s;

	if (em->failed)
		return;
	if (plain)
		s = v;
	else {
		s = state_utf8(v, &copy);
		if (state_needs_quotes(s))
			style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
	}
	if (!yaml_scalar_event_initialize(&ev, NULL, NULL,
	    (yaml_char_t *)(uintptr_t)s, (int)strlen(s), 1, 1, style))
		em->failed = 1;
	else
		state_emit(em, &ev);
	if (!plain)
		free(copy);
}

static void
state_str(struct state_em *em, const char *v)
{
	if (v == NULL)
		state_scalar(em, "null", 1);
	else
		state_scalar(em, v, 0);
}

static void
state_int(struct state_em *em, int64_t v)
{
	char	buf[32];

	snprintf(buf, sizeof buf, "%" PRId64, v);
	state_scalar(em, buf, 1);
}

static void
state_number(struct state_em *em, double v)
{
	char	buf[64];
	int	prec;

	if (isnan(v))
		snprintf(buf, sizeof buf, ".nan");
	else if (isinf(v))
		snprintf(buf, sizeof buf, "%s", v > 0 ? ".inf" : "-.inf");
	else if (v > -9007199254740992.0 && v < 9007199254740992.0 &&
	    v == (double)(int64_t)v)
		snprintf(buf, sizeof buf, "%" PRId64, (int64_t)v);
	else {
		for (prec = 15; prec <= 17; prec++) {
			snprintf(buf, sizeof buf, "%.*g", prec, v);
			if (strtod(buf, NULL) == v)
				break;
		}
	}
	state_scalar(em, buf, 1);
}

static void
state_time(struct state_em *em, int64_t mono_ms)
{
	char	buf[64];

	if (mono_ms < 0) {
		state_scalar(em, "null", 1);
		return;
	}
	state_format_time(em->sj->wall_base_ms + (mono_ms -
	    em->sj->mono_base_ms), buf, sizeof buf);
	state_scalar(em, buf, 1);
}

static void
state_duration(struct state_em *em, int64_t start, int64_t end)
{
	if (start < 0 || end < 0)
		state_scalar(em, "null", 1);
	else
		state_int(em, end - start);
}

static void
state_key(struct state_em *em, const char *k)
{
	state_scalar(em, k, 1);
}

static void
state_map_start(struct state_em *em, int flow)
{
	yaml_event_t	ev;

	if (em->failed)
		return;
	if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
	    flow ? YAML_FLOW_MAPPING_STYLE : YAML_BLOCK_MAPPING_STYLE))
		em->failed = 1;
	else
		state_emit(em, &ev);
}

static void
state_map_end(struct state_em *em)
{
	yaml_event_t	ev;

	if (em->failed)
		return;
	if (!yaml_mapping_end_event_initialize(&ev))
		em->failed = 1;
	else
		state_emit(em, &ev);
}

static void
state_seq_start(struct state_em *em, int flow)
{
	yaml_event_t	ev;

	if (em->failed)
		return;
	if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
	    flow ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE))
		em->failed = 1;
	else
		state_emit(em, &ev);
}

static void
state_seq_end(struct state_em *em)
{
	yaml_event_t	ev;

	if (em->failed)
		return;
	if (!yaml_sequence_end_event_initialize(&ev))
		em->failed = 1;
	else
		state_emit(em, &ev);
}

static void
state_metrics(struct state_em *em, const struct metric *m, size_t n)
{
	size_t	i;

	state_map_start(em, 1);
	for (i = 0; i < n; i++) {
		state_str(em, m[i].name);
		state_number(em, m[i].value);
	}
	state_map_end(em);
}

static void
state_signal(struct state_em *em, int sig)
{
	const char	*abbrev;
	char		 buf[32];

	if (sig <= 0) {
		state_scalar(em, "null", 1);
		return;
	}
	if (sig >= SIGRTMIN && sig <= SIGRTMAX)
		snprintf(buf, sizeof buf, "SIGRTMIN+%d", sig - SIGRTMIN);
	else if ((abbrev = sigabbrev_np(sig)) != NULL)
		snprintf(buf, sizeof buf, "SIG%s", abbrev);
	else
		snprintf(buf, sizeof buf, "%d", sig);
	state_scalar(em, buf, 1);
}

static const struct node_run state_pending_run = {
	.status = NS_PENDING,
	.exit_code = -1,
	.started_ms = -1,
	.finished_ms = -1,
	.reason = REASON_NONE,
};

static void
state_node(struct state_em *em, const struct manifest *m, size_t i,
    const struct node_run *r, const char *slurm_job, const char *reused_from,
    const struct state_cached *cached)
{
	const char	*reason = NULL;

	state_str(em, m->nodes[i].id);
	state_map_start(em, 0);
	state_key(em, "status");
	state_scalar(em, node_status_name(r->status), 1);
	state_key(em, "wave");
	if (m->graph.wave != NULL)
		state_int(em, (int64_t)m->graph.wave[i]);
	else
		state_scalar(em, "null", 1);
	state_key(em, "attempts");
	state_int(em, r->attempts);
	state_key(em, "exit_code");
	if (r->exit_code < 0)
		state_scalar(em, "null", 1);
	else
		state_int(em, r->exit_code);
	state_key(em, "signal");
	state_signal(em, r->signal);
	state_key(em, "started_at");
	state_time(em, r->started_ms);
	state_key(em, "finished_at");
	state_time(em, r->finished_ms);
	state_key(em, "duration_ms");
	state_duration(em, r->started_ms, r->finished_ms);
	state_key(em, "cpu_ms");
	state_int(em, r->cpu_ms);
	state_key(em, "max_rss_kb");
	state_int(em, r->max_rss_kb);
	state_key(em, "metrics");
	state_metrics(em, r->metrics, r->nmetrics);
	state_key(em, "reason");
	reason = reason_name(r->reason);
	state_str(em, reason);
	state_key(em, "error");
	state_str(em, r->error);
	/* a success taken from an earlier job (retry): no attempt here */
	if (reused_from != NULL) {
		state_key(em, "reused_from");
		state_str(em, reused_from);
	}
	/* a cache hit: no attempt here, and what it would have cost */
	if (cached != NULL && cached->hit) {
		state_key(em, "cached");
		state_scalar(em, "true", 1);
		state_key(em, "saved");
		state_metrics(em, cached->saved, cached->nsaved);
	}
	if (slurm_job != NULL) {
		state_key(em, "slurm_job");
		state_str(em, slurm_job);
	}
	state_map_end(em);
}

/* Nodes by wave, manifest order kept (a counting sort): wave w's nodes are
 * order[off[w]] to order[off[w + 1] - 1]. Free both. */
static void
state_wave_order(const struct manifest *m, size_t nw, size_t **offp,
    size_t **orderp)
{
	const struct graph	*g = &m->graph;
	size_t			*off, *order, *fill, i, k, w;

	off = xcalloc(nw + 1, sizeof *off);
	fill = xcalloc(nw, sizeof *fill);
	order = xcalloc(m->nnodes, sizeof *order);
	for (i = 0; i < m->nnodes; i++) {
		if (g->wave[i] < nw)
			off[g->wave[i] + 1]++;
	}
	for (w = 0; w < nw; w++)
		off[w + 1] += off[w];
	for (k = 0; k < m->nnodes; k++) {
		i = MANIFEST_AT(m, k);
		w = g->wave[i];
		if (w < nw)
			order[off[w] + fill[w]++] = i;
	}
	free(fill);
	*offp = off;
	*orderp = order;
}

/* "completed" (every node final), "running" (one started) or "pending". */
static const char *
state_wave_status(const struct node_run *const *runs, const size_t *order,
    size_t from, size_t to)
{
	const struct node_run	*r;
	int			 all_final = 1, started = 0;
	size_t			 k;

	for (k = from; k < to; k++) {
		r = runs != NULL && runs[order[k]] != NULL ?
		    runs[order[k]] : &state_pending_run;
		if (!node_status_final(r->status))
			all_final = 0;
		if (r->status != NS_PENDING || r->attempts > 0)
			started = 1;
	}
	return all_final ? "completed" : started ? "running" : "pending";
}

static void
state_waves(struct state_em *em, const struct manifest *m,
    const struct node_run *const *runs)
{
	const struct graph	*g = &m->graph;
	size_t			*off, *order, w, k, nw;

	state_seq_start(em, 0);
	nw = g->wave != NULL ? g->nwaves : 0;
	if (nw == 0 || m->nnodes == 0) {
		state_seq_end(em);
		return;
	}
	state_wave_order(m, nw, &off, &order);
	for (w = 0; w < nw; w++) {
		state_map_start(em, 1);
		state_key(em, "wave");
		state_int(em, (int64_t)w);
		state_key(em, "status");
		state_scalar(em, state_wave_status(runs, order, off[w],
		    off[w + 1]), 1);
		state_key(em, "nodes");
		state_seq_start(em, 1);
		for (k = off[w]; k < off[w + 1]; k++)
			state_str(em, m->nodes[order[k]].id);
		state_seq_end(em);
		state_map_end(em);
	}
	state_seq_end(em);
	free(order);
	free(off);
}

/* ---- the fast path ------------------------------------------------------ */

/*
 * The same bytes as the emitter, written directly, for a state whose every
 * string libyaml would write plain: at 10,000 nodes the emitter takes tens
 * of milliseconds a rewrite, all of it on the event loop. Any string out of
 * the narrow set below, a DAG without nodes or waves, or a notify section
 * and the emitter renders everything, as before.
 */

/* A word of [A-Za-z0-9_.-] not starting with a digit, '-' or '.', that
 * state_needs_quotes leaves alone; with spaces, single spaces between
 * such words (only where a value in block context is written). Short
 * enough to be a simple key. */
static int
state_fast_ok(const char *s, int spaces)
{
	const char	*p;
	size_t		 len;

	if (s == NULL)
		return 1;	/* null */
	len = strlen(s);
	/* the words state_needs_quotes looks for have at most 5 letters */
	if (len == 0 || len > 128 || (len <= 5 && state_needs_quotes(s)))
		return 0;
	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
	    *s == '_'))
		return 0;
	for (p = s; *p != '\0'; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' ||
		    *p == '.')
			continue;
		if (spaces && *p == ' ' && p[1] != '\0' && p[1] != ' ' &&
		    ((p[1] >= 'a' && p[1] <= 'z') ||
		    (p[1] >= 'A' && p[1] <= 'Z') ||
		    (p[1] >= '0' && p[1] <= '9') || p[1] == '_'))
			continue;
		return 0;
	}
	return 1;
}

static void
state_fast_str(struct strbuf *o, const char *s)
{
	if (s == NULL)
		s = "null";
	strbuf_add(o, s, strlen(s));
}

struct state_fast_clock {
	time_t	 secs;		/* of prefix; -1: none yet */
	char	 prefix[32];	/* YYYY-MM-DDTHH:MM:SS */
	size_t	 plen;
};

/* As state_time: the seconds' text is kept for the next stamp. */
static void
state_fast_time(struct strbuf *o, struct state_fast_clock *c,
    const struct state_job *sj, int64_t mono_ms)
{
	char	 buf[64];
	int64_t	 wall, ms;
	time_t	 secs;

	if (mono_ms < 0) {
		strbuf_add(o, "null", 4);
		return;
	}
	wall = sj->wall_base_ms + (mono_ms - sj->mono_base_ms);
	ms = wall % 1000;
	secs = (time_t)(wall / 1000);
	if (ms < 0) {
		ms += 1000;
		secs--;
	}
	if (secs != c->secs) {
		state_format_time(wall, buf, sizeof buf);
		if (strlen(buf) != 24 || buf[19] != '.') {
			state_fast_str(o, buf);	/* out of range: as is */
			return;
		}
		memcpy(c->prefix, buf, 19);
		c->plen = 19;
		c->secs = secs;
	}
	buf[0] = '.';
	buf[1] = (char)('0' + ms / 100);
	buf[2] = (char)('0' + ms / 10 % 10);
	buf[3] = (char)('0' + ms % 10);
	buf[4] = 'Z';
	strbuf_add(o, c->prefix, c->plen);
	strbuf_add(o, buf, 5);
}

static void
state_fast_metrics(struct strbuf *o, const struct metric *m, size_t n)
{
	char	 buf[64];
	double	 v;
	size_t	 i;
	int	 prec;

	strbuf_add(o, "{", 1);
	for (i = 0; i < n; i++) {
		if (i > 0)
			strbuf_add(o, ", ", 2);
		state_fast_str(o, m[i].name);
		strbuf_add(o, ": ", 2);
		/* as state_number */
		v = m[i].value;
		if (isnan(v))
			snprintf(buf, sizeof buf, ".nan");
		else if (isinf(v))
			snprintf(buf, sizeof buf, "%s", v > 0 ? ".inf" :
			    "-.inf");
		else if (v > -9007199254740992.0 && v < 9007199254740992.0 &&
		    v == (double)(int64_t)v)
			snprintf(buf, sizeof buf, "%" PRId64, (int64_t)v);
		else {
			for (prec = 15; prec <= 17; prec++) {
				snprintf(buf, sizeof buf, "%.*g", prec, v);
				if (strtod(buf, NULL) == v)
					break;
			}
		}
		state_fast_str(o, buf);
	}
	strbuf_add(o, "}", 1);
}

static int
state_fast_metrics_ok(const struct metric *m, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (m[i].name == NULL || !state_fast_ok(m[i].name, 0))
			return 0;
	}
	return 1;
}

static char *
state_render_fast(const struct manifest *m, const struct node_run *const *runs,
    const struct metric *metrics, size_t nmetrics, const struct state_job *sj,
    const size_t counts[5], size_t *len)
{
	const struct graph	*g = &m->graph;
	const struct node_run	*r;
	struct strbuf	 o;
	struct state_fast_clock	 c;
	size_t			*off, *order, i, w, k, nw;
	char			 buf[32];
	const char		*abbrev;

	nw = g->wave != NULL ? g->nwaves : 0;
	/* a notification, a Slurm node or a reused node: libyaml writes it */
	if (m->nnodes == 0 || nw == 0 || sj->notify_status != NULL ||
	    sj->slurm_jobs != NULL || sj->reused_from != NULL ||
	    sj->cached != NULL ||
	    !state_fast_ok(m->name != NULL ? m->name : "", 1) ||
	    !state_fast_ok(sj->job != NULL ? sj->job : "", 1) ||
	    !state_fast_metrics_ok(metrics, nmetrics))
		return NULL;
	for (i = 0; i < m->nnodes; i++) {
		r = runs != NULL && runs[i] != NULL ? runs[i] :
		    &state_pending_run;
		if (!state_fast_ok(m->nodes[i].id, 0) ||
		    g->wave[i] >= nw ||
		    !state_fast_ok(reason_name(r->reason), 1) ||
		    !state_fast_ok(r->error, 1) ||
		    !state_fast_metrics_ok(r->metrics, r->nmetrics))
			return NULL;
	}

	memset(&o, 0, sizeof o);
	memset(&c, 0, sizeof c);
	c.secs = (time_t)-1;
	(void)strbuf_room(&o, 256 + m->nnodes * 320);

	strbuf_add(&o, "dag: ", 5);
	state_fast_str(&o, m->name != NULL ? m->name : "");
	strbuf_add(&o, "\njob: ", 6);
	state_fast_str(&o, sj->job != NULL ? sj->job : "");
	strbuf_add(&o, "\nstatus: ", 9);
	state_fast_str(&o, dag_status_name(sj->status));
	strbuf_add(&o, "\nstarted_at: ", 13);
	state_fast_time(&o, &c, sj, sj->started_ms);
	strbuf_add(&o, "\nfinished_at: ", 14);
	state_fast_time(&o, &c, sj, sj->finished_ms);
	strbuf_add(&o, "\nduration_ms: ", 14);
	if (sj->started_ms < 0 || sj->finished_ms < 0)
		strbuf_add(&o, "null", 4);
	else
		strbuf_int(&o, sj->finished_ms - sj->started_ms);
	strbuf_add(&o, "\nprogress: {total: ", 19);
	strbuf_int(&o, (int64_t)m->nnodes);
	strbuf_add(&o, ", pending: ", 11);
	strbuf_int(&o, (int64_t)counts[0]);
	strbuf_add(&o, ", running: ", 11);
	strbuf_int(&o, (int64_t)counts[1]);
	strbuf_add(&o, ", succeeded: ", 13);
	strbuf_int(&o, (int64_t)counts[2]);
	strbuf_add(&o, ", failed: ", 10);
	strbuf_int(&o, (int64_t)counts[3]);
	strbuf_add(&o, ", skipped: ", 11);
	strbuf_int(&o, (int64_t)counts[4]);
	strbuf_add(&o, "}\nwaves:\n", 9);

	state_wave_order(m, nw, &off, &order);
	for (w = 0; w < nw; w++) {
		strbuf_add(&o, "- {wave: ", 9);
		strbuf_int(&o, (int64_t)w);
		strbuf_add(&o, ", status: ", 10);
		state_fast_str(&o, state_wave_status(runs, order, off[w],
		    off[w + 1]));
		strbuf_add(&o, ", nodes: [", 10);
		for (k = off[w]; k < off[w + 1]; k++) {
			if (k > off[w])
				strbuf_add(&o, ", ", 2);
			state_fast_str(&o, m->nodes[order[k]].id);
		}
		strbuf_add(&o, "]}\n", 3);
	}
	free(order);
	free(off);

	strbuf_add(&o, "nodes:\n", 7);
	for (k = 0; k < m->nnodes; k++) {
		i = MANIFEST_AT(m, k);
		r = runs != NULL && runs[i] != NULL ? runs[i] :
		    &state_pending_run;
		strbuf_add(&o, "  ", 2);
		state_fast_str(&o, m->nodes[i].id);
		strbuf_add(&o, ":\n    status: ", 14);
		state_fast_str(&o, node_status_name(r->status));
		strbuf_add(&o, "\n    wave: ", 11);
		strbuf_int(&o, (int64_t)g->wave[i]);
		strbuf_add(&o, "\n    attempts: ", 15);
		strbuf_int(&o, r->attempts);
		strbuf_add(&o, "\n    exit_code: ", 16);
		if (r->exit_code < 0)
			strbuf_add(&o, "null", 4);
		else
			strbuf_int(&o, r->exit_code);
		strbuf_add(&o, "\n    signal: ", 13);
		/* as state_signal */
		if (r->signal <= 0)
			strbuf_add(&o, "null", 4);
		else {
			if (r->signal >= SIGRTMIN && r->signal <= SIGRTMAX)
				snprintf(buf, sizeof buf, "SIGRTMIN+%d",
				    r->signal - SIGRTMIN);
			else if ((abbrev = sigabbrev_np(r->signal)) != NULL)
				snprintf(buf, sizeof buf, "SIG%s", abbrev);
			else
				snprintf(buf, sizeof buf, "%d", r->signal);
			state_fast_str(&o, buf);
		}
		strbuf_add(&o, "\n    started_at: ", 17);
		state_fast_time(&o, &c, sj, r->started_ms);
		strbuf_add(&o, "\n    finished_at: ", 18);
		state_fast_time(&o, &c, sj, r->finished_ms);
		strbuf_add(&o, "\n    duration_ms: ", 18);
		if (r->started_ms < 0 || r->finished_ms < 0)
			strbuf_add(&o, "null", 4);
		else
			strbuf_int(&o, r->finished_ms - r->started_ms);
		strbuf_add(&o, "\n    cpu_ms: ", 13);
		strbuf_int(&o, r->cpu_ms);
		strbuf_add(&o, "\n    max_rss_kb: ", 17);
		strbuf_int(&o, r->max_rss_kb);
		strbuf_add(&o, "\n    metrics: ", 14);
		state_fast_metrics(&o, r->metrics, r->nmetrics);
		strbuf_add(&o, "\n    reason: ", 13);
		state_fast_str(&o, reason_name(r->reason));
		strbuf_add(&o, "\n    error: ", 12);
		state_fast_str(&o, r->error);
		strbuf_add(&o, "\n", 1);
	}
	strbuf_add(&o, "metrics: ", 9);
	state_fast_metrics(&o, metrics, nmetrics);
	strbuf_add(&o, "\n", 1);
	*len = o.len;
	return o.s;
}

int state_libyaml_only;

char *
state_render_runs(const struct manifest *m, const struct node_run *const *runs,
    const struct metric *metrics, size_t nmetrics, const struct state_job *sj,
    size_t *len)
{
	struct state_em		 em;
	yaml_event_t		 ev;
	const struct node_run	*r;
	size_t			 i, k, pending = 0, running = 0, succeeded = 0;
	size_t			 failed = 0, skipped = 0, counts[5];
	const char		*dag;
	char			*fast;

	memset(&em, 0, sizeof em);
	em.sj = sj;
	for (i = 0; i < m->nnodes; i++) {
		r = runs != NULL && runs[i] != NULL ? runs[i] :
		    &state_pending_run;
		switch (r->status) {
		case NS_RUNNING:
			running++;
			break;
		case NS_SUCCEEDED:
			succeeded++;
			break;
		case NS_FAILED:
		case NS_TIMED_OUT:
		case NS_CANCELLED:
			failed++;
			break;
		case NS_SKIPPED:
			skipped++;
			break;
		default:
			pending++;	/* pending, retrying */
			break;
		}
	}
	counts[0] = pending;
	counts[1] = running;
	counts[2] = succeeded;
	counts[3] = failed;
	counts[4] = skipped;
	if (!state_libyaml_only && (fast = state_render_fast(m, runs, metrics, nmetrics, sj, counts,
	    len)) != NULL)
		return fast;

	if (!yaml_emitter_initialize(&em.e))
		abort();	/* only on allocation failure */
	yaml_emitter_set_output(&em.e, state_write_handler, &em.out);
	yaml_emitter_set_unicode(&em.e, 1);
	yaml_emitter_set_width(&em.e, -1);
	yaml_emitter_set_indent(&em.e, 2);
	yaml_emitter_set_break(&em.e, YAML_LN_BREAK);

	if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING))
		em.failed = 1;
	else
		state_emit(&em, &ev);
	if (!em.failed && !yaml_document_start_event_initialize(&ev, NULL,
	    NULL, NULL, 1))
		em.failed = 1;
	else
		state_emit(&em, &ev);

	state_map_start(&em, 0);
	state_key(&em, "dag");
	dag = m->name != NULL ? m->name : "";
	state_str(&em, dag);
	state_key(&em, "job");
	state_str(&em, sj->job != NULL ? sj->job : "");
	state_key(&em, "status");
	state_scalar(&em, dag_status_name(sj->status), 1);
	state_key(&em, "started_at");
	state_time(&em, sj->started_ms);
	state_key(&em, "finished_at");
	state_time(&em, sj->finished_ms);
	state_key(&em, "duration_ms");
	state_duration(&em, sj->started_ms, sj->finished_ms);

	state_key(&em, "progress");
	state_map_start(&em, 1);
	state_key(&em, "total");
	state_int(&em, (int64_t)m->nnodes);
	state_key(&em, "pending");
	state_int(&em, (int64_t)pending);
	state_key(&em, "running");
	state_int(&em, (int64_t)running);
	state_key(&em, "succeeded");
	state_int(&em, (int64_t)succeeded);
	state_key(&em, "failed");
	state_int(&em, (int64_t)failed);
	state_key(&em, "skipped");
	state_int(&em, (int64_t)skipped);
	state_map_end(&em);

	state_key(&em, "waves");
	state_waves(&em, m, runs);

	state_key(&em, "nodes");
	state_map_start(&em, 0);
	for (k = 0; k < m->nnodes; k++) {
		i = MANIFEST_AT(m, k);
		r = runs != NULL && runs[i] != NULL ? runs[i] :
		    &state_pending_run;
		state_node(&em, m, i, r, sj->slurm_jobs != NULL ?
		    sj->slurm_jobs[i] : NULL, sj->reused_from != NULL ?
		    sj->reused_from[i] : NULL, sj->cached != NULL ?
		    &sj->cached[i] : NULL);
	}
	state_map_end(&em);

	state_key(&em, "metrics");
	state_metrics(&em, metrics, nmetrics);
	if (sj->cached != NULL) {
		state_key(&em, "saved");
		state_metrics(&em, sj->saved, sj->nsaved);
	}
	if (sj->notify_status != NULL) {
		state_key(&em, "notify");
		state_map_start(&em, 1);
		state_key(&em, "status");
		state_str(&em, sj->notify_status);
		if (sj->notify_error != NULL) {
			state_key(&em, "error");
			state_str(&em, sj->notify_error);
		}
		state_map_end(&em);
	}
	state_map_end(&em);

	if (!em.failed && !yaml_document_end_event_initialize(&ev, 1))
		em.failed = 1;
	else
		state_emit(&em, &ev);
	if (!em.failed && !yaml_stream_end_event_initialize(&ev))
		em.failed = 1;
	else
		state_emit(&em, &ev);
	if (!em.failed && !yaml_emitter_flush(&em.e))
		em.failed = 1;
	if (em.failed) {
		/* Every string went through state_utf8: a failure here is a
		 * bug, not bad input. */
		fprintf(stderr, "dagexec: cannot render state: %s\n",
		    em.e.problem != NULL ? em.e.problem : "emitter error");
		abort();
	}
	yaml_emitter_delete(&em.e);
	if (em.out.s == NULL)
		em.out.s = xstrdup("");
	*len = em.out.len;
	return em.out.s;
}

char *
state_render(const struct manifest *m, const struct sched *s,
    const struct state_job *sj, size_t *len)
{
	const struct node_run	**runs = NULL;
	const struct metric	 *metrics = NULL;
	size_t			  nmetrics = 0;
	char			 *out;

	if (s != NULL) {
		runs = sched_runs(s);
		metrics = sched_metrics(s, &nmetrics);
	}
	out = state_render_runs(m, runs, metrics, nmetrics, sj, len);
	free(runs);
	return out;
}

int
state_write(const char *path, const struct manifest *m, const struct sched *s,
    const struct state_job *sj, char **cause)
{
	char	*text;
	size_t	 len;
	int	 rc, saved;

	text = state_render(m, s, sj, &len);
	rc = fs_write_atomic(path, text, len, 0644, cause);
	saved = errno;
	free(text);
	errno = saved;
	return rc;
}

/* ---- the reader ------------------------------------------------------- */

struct state_rd {
	yaml_document_t	 doc;
	const char	*name;
	char		*why;		/* the first problem */
};

static yaml_node_t *
state_rd_get(struct state_rd *rd, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*k;

	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = map->data.mapping.pairs.start;
	    p < map->data.mapping.pairs.top; p++) {
		k = yaml_document_get_node(&rd->doc, p->key);
		if (k != NULL && k->type == YAML_SCALAR_NODE &&
		    strlen(key) == k->data.scalar.length &&
		    memcmp(k->data.scalar.value, key, k->data.scalar.length)
		    == 0)
			return yaml_document_get_node(&rd->doc, p->value);
	}
	return NULL;
}

static int state_rd_fail(struct state_rd *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static int
state_rd_fail(struct state_rd *rd, const char *fmt, ...)
{
	va_list	ap;

	if (rd->why == NULL) {
		va_start(ap, fmt);
		rd->why = xvasprintf(fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int
state_rd_is_null(const yaml_node_t *n)
{
	const char	*v;

	if (n == NULL)
		return 1;
	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	v = (const char *)n->data.scalar.value;
	return *v == '\0' || strcmp(v, "~") == 0 || strcasecmp(v, "null") == 0;
}

/* Is n the scalar true? */
static bool
state_rd_true(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE &&
	    strcmp((const char *)n->data.scalar.value, "true") == 0;
}

/* A string (NULL allowed when nullable). */
static int
state_rd_str(struct state_rd *rd, yaml_node_t *map, const char *key,
    int nullable, char **out)
{
	yaml_node_t	*n = state_rd_get(rd, map, key);

	*out = NULL;
	if (nullable && state_rd_is_null(n))
		return 0;
	if (n == NULL)
		return state_rd_fail(rd, "missing '%s'", key);
	if (n->type != YAML_SCALAR_NODE)
		return state_rd_fail(rd, "'%s' is not a string", key);
	if (strlen((char *)n->data.scalar.value) != n->data.scalar.length)
		return state_rd_fail(rd, "'%s' holds a NUL byte", key);
	*out = xstrdup((char *)n->data.scalar.value);
	return 0;
}

/* A non-negative integer (-1 for null when nullable). */
static int
state_rd_int(struct state_rd *rd, yaml_node_t *map, const char *key,
    int nullable, int64_t max, int64_t *out)
{
	yaml_node_t	*n = state_rd_get(rd, map, key);
	const char	*v;
	char		*end;
	long long	 x;

	*out = -1;
	if (nullable && state_rd_is_null(n))
		return 0;
	if (n == NULL)
		return state_rd_fail(rd, "missing '%s'", key);
	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return state_rd_fail(rd, "'%s' is not an integer", key);
	v = (const char *)n->data.scalar.value;
	if (*v < '0' || *v > '9')
		return state_rd_fail(rd, "'%s' is not an integer", key);
	errno = 0;
	x = strtoll(v, &end, 10);
	if (errno != 0 || *end != '\0' || x > max)
		return state_rd_fail(rd, "'%s' is not an integer in range",
		    key);
	*out = x;
	return 0;
}

static int
state_rd_count(struct state_rd *rd, yaml_node_t *map, const char *key,
    size_t *out)
{
	int64_t	v;

	if (state_rd_int(rd, map, key, 0, INT64_MAX, &v) != 0)
		return -1;
	*out = (size_t)v;
	return 0;
}

/* A number as state_number writes it (YAML's .inf, -.inf and .nan too). */
static int
state_rd_number(const char *v, double *out)
{
	char	*end;

	if (strcmp(v, ".nan") == 0)
		*out = NAN;
	else if (strcmp(v, ".inf") == 0 || strcmp(v, "-.inf") == 0)
		*out = *v == '-' ? -INFINITY : INFINITY;
	else {
		errno = 0;
		*out = strtod(v, &end);
		if (errno == ERANGE || *end != '\0' || end == v ||
		    isnan(*out) || isinf(*out))
			return -1;
	}
	return 0;
}

/* A metrics mapping (name: number) under key; absent or null is none. */
static int
state_rd_metrics(struct state_rd *rd, yaml_node_t *map, const char *key,
    struct metric **out, size_t *nout)
{
	yaml_node_t		*n = state_rd_get(rd, map, key), *k, *v;
	yaml_node_pair_t	*p;
	struct metric		*m;

	*out = NULL;
	*nout = 0;
	if (state_rd_is_null(n))
		return 0;
	if (n->type != YAML_MAPPING_NODE)
		return state_rd_fail(rd, "'%s' is not a mapping", key);
	*out = xcalloc((size_t)(n->data.mapping.pairs.top -
	    n->data.mapping.pairs.start) + 1, sizeof **out);
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	    p++) {
		k = yaml_document_get_node(&rd->doc, p->key);
		v = yaml_document_get_node(&rd->doc, p->value);
		if (k == NULL || k->type != YAML_SCALAR_NODE ||
		    strlen((char *)k->data.scalar.value) !=
		    k->data.scalar.length || v == NULL ||
		    v->type != YAML_SCALAR_NODE)
			return state_rd_fail(rd, "'%s' is not a mapping of "
			    "names to numbers", key);
		m = &(*out)[(*nout)++];
		m->name = xstrdup((char *)k->data.scalar.value);
		if (state_rd_number((char *)v->data.scalar.value,
		    &m->value) != 0)
			return state_rd_fail(rd, "'%s' of '%s' is not a "
			    "number", m->name, key);
	}
	return 0;
}

static void
state_rd_metrics_free(struct metric *v, size_t n)
{
	while (n > 0)
		free(v[--n].name);
	free(v);
}

static int
state_rd_nodes(struct state_rd *rd, yaml_node_t *nodes, struct state_doc *d)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v;
	struct state_doc_node	*dn;
	size_t			 n;
	int64_t			 x;

	if (nodes == NULL)
		return state_rd_fail(rd, "missing '%s'", "nodes");
	if (state_rd_is_null(nodes))
		return 0;
	if (nodes->type != YAML_MAPPING_NODE)
		return state_rd_fail(rd, "'%s' is not a mapping", "nodes");
	n = (size_t)(nodes->data.mapping.pairs.top -
	    nodes->data.mapping.pairs.start);
	d->nodes = xcalloc(n + 1, sizeof *d->nodes);
	for (p = nodes->data.mapping.pairs.start;
	    p < nodes->data.mapping.pairs.top; p++) {
		k = yaml_document_get_node(&rd->doc, p->key);
		v = yaml_document_get_node(&rd->doc, p->value);
		if (k == NULL || k->type != YAML_SCALAR_NODE ||
		    strlen((char *)k->data.scalar.value) !=
		    k->data.scalar.length)
			return state_rd_fail(rd, "a node id is not a %s",
			    "string");
		if (v == NULL || v->type != YAML_MAPPING_NODE)
			return state_rd_fail(rd, "node '%s' is not a mapping",
			    (char *)k->data.scalar.value);
		dn = &d->nodes[d->nnodes++];
		dn->id = xstrdup((char *)k->data.scalar.value);
		dn->duration_ms = -1;
		if (state_rd_str(rd, v, "status", 0, &dn->status) != 0 ||
		    state_rd_int(rd, v, "attempts", 0, INT32_MAX, &x) != 0)
			return -1;
		dn->attempts = (int)x;
		if (state_rd_int(rd, v, "duration_ms", 1, INT64_MAX,
		    &dn->duration_ms) != 0 ||
		    state_rd_str(rd, v, "reason", 1, &dn->reason) != 0 ||
		    state_rd_str(rd, v, "error", 1, &dn->error) != 0 ||
		    state_rd_str(rd, v, "reused_from", 1,
		    &dn->reused_from) != 0)
			return -1;
		dn->cached = state_rd_get(rd, v, "cached") != NULL &&
		    state_rd_true(state_rd_get(rd, v, "cached"));
		if (state_rd_metrics(rd, v, "saved", &dn->saved,
		    &dn->nsaved) != 0)
			return -1;
	}
	return 0;
}

void
state_doc_free(struct state_doc *d)
{
	size_t	i;

	if (d == NULL)
		return;
	for (i = 0; i < d->nnodes; i++) {
		free(d->nodes[i].id);
		free(d->nodes[i].status);
		free(d->nodes[i].reason);
		free(d->nodes[i].error);
		free(d->nodes[i].reused_from);
		state_rd_metrics_free(d->nodes[i].saved, d->nodes[i].nsaved);
	}
	free(d->nodes);
	state_rd_metrics_free(d->saved, d->nsaved);
	free(d->dag);
	free(d->job);
	free(d->status);
	free(d->started_at);
	free(d->finished_at);
	free(d);
}

int
state_read_buf(const char *name, const char *buf, size_t len,
    struct state_doc **out, char **cause)
{
	yaml_parser_t		 parser;
	struct state_rd		 rd;
	struct state_doc	*d;
	yaml_node_t		*root, *prog;
	int			 rc = -1;

	*out = NULL;
	memset(&rd, 0, sizeof rd);
	rd.name = name;
	if (!yaml_parser_initialize(&parser))
		abort();
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &rd.doc)) {
		*cause = xasprintf("%s:%zu:%zu: %s", name,
		    parser.problem_mark.line + 1,
		    parser.problem_mark.column + 1,
		    parser.problem != NULL ? parser.problem : "bad YAML");
		yaml_parser_delete(&parser);
		errno = EINVAL;
		return -1;
	}
	yaml_parser_delete(&parser);

	d = xcalloc(1, sizeof *d);
	root = yaml_document_get_root_node(&rd.doc);
	if (root == NULL || root->type != YAML_MAPPING_NODE) {
		state_rd_fail(&rd, "%s", "not a YAML mapping");
		goto out;
	}
	if (state_rd_str(&rd, root, "dag", 0, &d->dag) != 0 ||
	    state_rd_str(&rd, root, "job", 0, &d->job) != 0 ||
	    state_rd_str(&rd, root, "status", 0, &d->status) != 0 ||
	    state_rd_str(&rd, root, "started_at", 1, &d->started_at) != 0 ||
	    state_rd_str(&rd, root, "finished_at", 1, &d->finished_at) != 0 ||
	    state_rd_int(&rd, root, "duration_ms", 1, INT64_MAX,
	    &d->duration_ms) != 0)
		goto out;
	prog = state_rd_get(&rd, root, "progress");
	if (prog == NULL || prog->type != YAML_MAPPING_NODE) {
		state_rd_fail(&rd, "'%s' is missing or not a mapping",
		    "progress");
		goto out;
	}
	if (state_rd_count(&rd, prog, "total", &d->total) != 0 ||
	    state_rd_count(&rd, prog, "pending", &d->pending) != 0 ||
	    state_rd_count(&rd, prog, "running", &d->running) != 0 ||
	    state_rd_count(&rd, prog, "succeeded", &d->succeeded) != 0 ||
	    state_rd_count(&rd, prog, "failed", &d->failed) != 0 ||
	    state_rd_count(&rd, prog, "skipped", &d->skipped) != 0)
		goto out;
	if (state_rd_nodes(&rd, state_rd_get(&rd, root, "nodes"), d) != 0 ||
	    state_rd_metrics(&rd, root, "saved", &d->saved, &d->nsaved) != 0)
		goto out;
	rc = 0;
out:
	yaml_document_delete(&rd.doc);
	if (rc != 0) {
		*cause = xasprintf("%s: %s", name, rd.why);
		free(rd.why);
		state_doc_free(d);
		errno = EINVAL;
		return -1;
	}
	*out = d;
	return 0;
}

int
state_read(const char *path, struct state_doc **out, char **cause)
{
	char	*buf;
	size_t	 len;
	int	 rc, saved;

	*out = NULL;
	if (fs_read_file(path, STATE_MAX_BYTES, &buf, &len, cause) != 0)
		return -1;
	rc = state_read_buf(path, buf, len, out, cause);
	saved = errno;
	free(buf);
	errno = saved;
	return rc;
}

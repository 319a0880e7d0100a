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

#include "errtail.h"
#include "fsutil.h"
#include "sandbox.h"
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

/* ---- the writer -------------------------------------------------------- */

/*
 * state.yaml is written directly into one buffer, in the layout libyaml's
 * emitter gives (indent 2, no line width, implicit document): at 10,000
 * nodes an emitter costs tens of milliseconds a rewrite, all of it on the
 * event loop. A string is written plain where libyaml would write it plain
 * and read it back as the same string; any other is double-quoted with
 * libyaml's escapes. tests/test_state.c reads every rendering back with
 * libyaml (state_read) and compares it field by field.
 */

/* Valid UTF-8 (no overlongs, no surrogates, at most U+10FFFF): the number
 * of bytes of the character at s[i], its code point in *cp; 0 when the
 * bytes there are not one. */
static size_t
state_utf8_at(const unsigned char *s, size_t len, size_t i, unsigned *cp)
{
	unsigned char	 c = s[i];
	unsigned	 v, min;
	size_t		 n, k;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		v = c & 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		v = c & 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		v = c & 0x07;
		min = 0x10000;
	} else
		return 0;
	if (i + n > len)
		return 0;
	for (k = 1; k < n; k++) {
		if ((s[i + k] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i + k] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

/* YAML's printable characters (libyaml's IS_PRINTABLE), tab excluded. */
static int
state_printable(unsigned cp)
{
	return cp == 0x0a || (cp >= 0x20 && cp <= 0x7e) || cp == 0x85 ||
	    (cp >= 0xa0 && cp <= 0xd7ff) ||
	    (cp >= 0xe000 && cp <= 0xfffd && cp != 0xfeff) ||
	    (cp >= 0x10000 && cp <= 0x10ffff);
}

static int
state_break(unsigned cp)
{
	return cp == '\r' || cp == '\n' || cp == 0x85 || cp == 0x2028 ||
	    cp == 0x2029;
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

/* May s (len bytes) be written plain, in flow context (inside [] or {})
 * or in block context? As libyaml's analysis: no indicator where it would
 * start a token, no leading or trailing space, no line break, nothing
 * unprintable, and valid UTF-8; and not read back as another type. */
static int
state_plain_ok(const char *s, size_t len, int flow)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i, n;
	unsigned		 cp;
	int			 next_blank;

	if (len == 0 || state_needs_quotes(s))
		return 0;
	if (len >= 3 && (memcmp(s, "---", 3) == 0 || memcmp(s, "...", 3) == 0))
		return 0;
	if (p[0] == ' ' || p[len - 1] == ' ')
		return 0;
	for (i = 0; i < len; i += n) {
		if ((n = state_utf8_at(p, len, i, &cp)) == 0 ||
		    !state_printable(cp) || state_break(cp))
			return 0;
		next_blank = i + n >= len || p[i + n] == ' ' ||
		    p[i + n] == '\t';
		if (i == 0) {
			if (strchr("#,[]{}&*!|>'\"%@`", (int)cp) != NULL &&
			    cp != 0)
				return 0;
			if ((cp == '?' || cp == ':') && (flow || next_blank))
				return 0;
			if (cp == '-' && next_blank)
				return 0;
		} else {
			if (flow && cp < 0x80 && strchr(",?[]{}", (int)cp) !=
			    NULL && cp != 0)
				return 0;
			if (cp == ':' && (flow || next_blank))
				return 0;
			if (cp == '#' && p[i - 1] == ' ')
				return 0;
		}
	}
	return 1;
}

/* s double-quoted, with libyaml's escapes; invalid UTF-8 becomes U+FFFD. */
static void
state_quoted(struct strbuf *o, const char *s, size_t len)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i, n;
	unsigned		 cp;
	char			 e[12];
	int			 el, k;

	strbuf_add(o, "\"", 1);
	for (i = 0; i < len; i += n) {
		if ((n = state_utf8_at(p, len, i, &cp)) == 0) {
			strbuf_add(o, "\xef\xbf\xbd", 3);
			n = 1;
			continue;
		}
		el = 0;
		switch (cp) {
		case '\0': el = 2; memcpy(e, "\\0", 2); break;
		case '\a': el = 2; memcpy(e, "\\a", 2); break;
		case '\b': el = 2; memcpy(e, "\\b", 2); break;
		case '\t': el = 2; memcpy(e, "\\t", 2); break;
		case '\n': el = 2; memcpy(e, "\\n", 2); break;
		case '\v': el = 2; memcpy(e, "\\v", 2); break;
		case '\f': el = 2; memcpy(e, "\\f", 2); break;
		case '\r': el = 2; memcpy(e, "\\r", 2); break;
		case 0x1b: el = 2; memcpy(e, "\\e", 2); break;
		case '"': el = 2; memcpy(e, "\\\"", 2); break;
		case '\\': el = 2; memcpy(e, "\\\\", 2); break;
		case 0x85: el = 2; memcpy(e, "\\N", 2); break;
		case 0x2028: el = 2; memcpy(e, "\\L", 2); break;
		case 0x2029: el = 2; memcpy(e, "\\P", 2); break;
		default:
			if (state_printable(cp))
				break;
			/* \xXX, \uXXXX or \UXXXXXXXX */
			k = cp <= 0xff ? 2 : cp <= 0xffff ? 4 : 8;
			e[0] = '\\';
			e[1] = k == 2 ? 'x' : k == 4 ? 'u' : 'U';
			for (el = 0; el < k; el++)
				e[2 + el] = hex[(cp >> (4 * (k - 1 - el))) &
				    0xf];
			el = k + 2;
			break;
		}
		if (el > 0)
			strbuf_add(o, e, (size_t)el);
		else
			strbuf_add(o, s + i, n);
	}
	strbuf_add(o, "\"", 1);
}

/* A string value or key: null, plain or double-quoted. */
static void
state_str(struct strbuf *o, const char *s, int flow)
{
	size_t	len;

	if (s == NULL) {
		strbuf_add(o, "null", 4);
		return;
	}
	len = strlen(s);
	if (state_plain_ok(s, len, flow))
		strbuf_add(o, s, len);
	else
		state_quoted(o, s, len);
}

/* Seconds of the last stamp written, kept for the next one: most stamps of
 * a rewrite fall in a few seconds. */
struct state_clock {
	const struct state_job	*sj;
	time_t			 secs;		/* of prefix; -1: none yet */
	char			 prefix[32];	/* YYYY-MM-DDTHH:MM:SS */
};

static void
state_time(struct strbuf *o, struct state_clock *c, int64_t mono_ms)
{
	char	 buf[64];
	int64_t	 wall, ms;
	time_t	 secs;

	if (mono_ms < 0) {
		strbuf_add(o, "null", 4);
		return;
	}
	wall = c->sj->wall_base_ms + (mono_ms - c->sj->mono_base_ms);
	ms = wall % 1000;
	secs = (time_t)(wall / 1000);
	if (ms < 0) {
		ms += 1000;
		secs--;
	}
	if (secs != c->secs) {
		state_format_time(wall, buf, sizeof buf);
		if (strlen(buf) != 24 || buf[19] != '.') {
			strbuf_add(o, buf, strlen(buf)); /* out of range */
			return;
		}
		memcpy(c->prefix, buf, 19);
		c->secs = secs;
	}
	buf[0] = '.';
	buf[1] = (char)('0' + ms / 100);
	buf[2] = (char)('0' + ms / 10 % 10);
	buf[3] = (char)('0' + ms % 10);
	buf[4] = 'Z';
	strbuf_add(o, c->prefix, 19);
	strbuf_add(o, buf, 5);
}

static void
state_duration(struct strbuf *o, int64_t start, int64_t end)
{
	if (start < 0 || end < 0)
		strbuf_add(o, "null", 4);
	else
		strbuf_int(o, end - start);
}

/* A number as YAML reads it back exactly: .nan, .inf, an integer, or the
 * shortest %g that round-trips. */
static void
state_number(struct strbuf *o, double v)
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
	strbuf_add(o, buf, strlen(buf));
}

static void
state_metrics(struct strbuf *o, const struct metric *m, size_t n)
{
	size_t	i;

	strbuf_add(o, "{", 1);
	for (i = 0; i < n; i++) {
		if (i > 0)
			strbuf_add(o, ", ", 2);
		state_str(o, m[i].name, 1);
		strbuf_add(o, ": ", 2);
		state_number(o, m[i].value);
	}
	strbuf_add(o, "}", 1);
}

static void
state_signal(struct strbuf *o, int sig)
{
	const char	*abbrev;
	char		 buf[32];

	if (sig <= 0) {
		strbuf_add(o, "null", 4);
		return;
	}
	if (sig >= SIGRTMIN && sig <= SIGRTMAX)
		snprintf(buf, sizeof buf, "SIGRTMIN+%d", sig - SIGRTMIN);
	else if ((abbrev = sigabbrev_np(sig)) != NULL)
		snprintf(buf, sizeof buf, "SIG%s", abbrev);
	else
		snprintf(buf, sizeof buf, "%d", sig);
	strbuf_add(o, buf, strlen(buf));
}

static const struct node_run state_pending_run = {
	.status = NS_PENDING,
	.exit_code = -1,
	.started_ms = -1,
	.finished_ms = -1,
	.reason = REASON_NONE,
};

/* A failed attempt's last lines of stderr, one item each. */
static void
state_tail(struct strbuf *o, const char *tail)
{
	const char	*p, *nl;
	size_t		 len;

	strbuf_add(o, "\n    stderr_tail:", 17);
	for (p = tail; ; p = nl + 1) {
		nl = strchr(p, '\n');
		len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		strbuf_add(o, "\n    - ", 7);
		if (state_plain_ok(p, len, 0))
			strbuf_add(o, p, len);
		else
			state_quoted(o, p, len);
		if (nl == NULL)
			break;
	}
}

/* One node's entry under `nodes:`. */
static void
state_node(struct strbuf *o, struct state_clock *c, const struct manifest *m,
    size_t i, const struct node_run *r)
{
	const struct state_job	*sj = c->sj;
	const struct state_cached *cached;
	const char		*s;

	strbuf_add(o, "  ", 2);
	state_str(o, m->nodes[i].id, 0);
	strbuf_add(o, ":\n    status: ", 14);
	s = node_status_name(r->status);
	strbuf_add(o, s, strlen(s));
	strbuf_add(o, "\n    wave: ", 11);
	if (m->graph.wave != NULL)
		strbuf_int(o, (int64_t)m->graph.wave[i]);
	else
		strbuf_add(o, "null", 4);
	strbuf_add(o, "\n    attempts: ", 15);
	strbuf_int(o, r->attempts);
	strbuf_add(o, "\n    exit_code: ", 16);
	if (r->exit_code < 0)
		strbuf_add(o, "null", 4);
	else
		strbuf_int(o, r->exit_code);
	strbuf_add(o, "\n    signal: ", 13);
	state_signal(o, r->signal);
	strbuf_add(o, "\n    started_at: ", 17);
	state_time(o, c, r->started_ms);
	strbuf_add(o, "\n    finished_at: ", 18);
	state_time(o, c, r->finished_ms);
	strbuf_add(o, "\n    duration_ms: ", 18);
	state_duration(o, r->started_ms, r->finished_ms);
	strbuf_add(o, "\n    cpu_ms: ", 13);
	strbuf_int(o, r->cpu_ms);
	strbuf_add(o, "\n    max_rss_kb: ", 17);
	strbuf_int(o, r->max_rss_kb);
	strbuf_add(o, "\n    metrics: ", 14);
	state_metrics(o, r->metrics, r->nmetrics);
	strbuf_add(o, "\n    reason: ", 13);
	state_str(o, reason_name(r->reason), 0);
	strbuf_add(o, "\n    error: ", 12);
	state_str(o, r->error, 0);
	if (r->stderr_tail != NULL)
		state_tail(o, r->stderr_tail);
	/* a success taken from an earlier job (retry): no attempt here */
	if (sj->reused_from != NULL && sj->reused_from[i] != NULL) {
		strbuf_add(o, "\n    reused_from: ", 18);
		state_str(o, sj->reused_from[i], 0);
	}
	/* a cache hit: no attempt here, and what it would have cost */
	cached = sj->cached != NULL ? &sj->cached[i] : NULL;
	if (cached != NULL && cached->hit) {
		strbuf_add(o, "\n    cached: true\n    saved: ", 29);
		state_metrics(o, cached->saved, cached->nsaved);
	}
	if (sj->slurm_jobs != NULL && sj->slurm_jobs[i] != NULL) {
		strbuf_add(o, "\n    slurm_job: ", 16);
		state_str(o, sj->slurm_jobs[i], 0);
	}
	/* how much of its sandbox the kernel enforced, at its weakest */
	if (sj->sandbox != NULL && (s = sandbox_level_name(
	    (enum sandbox_level)sj->sandbox[i])) != NULL) {
		strbuf_add(o, "\n    sandbox: ", 14);
		strbuf_add(o, s, strlen(s));
	}
	strbuf_add(o, "\n", 1);
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
state_waves(struct strbuf *o, const struct manifest *m,
    const struct node_run *const *runs)
{
	const struct graph	*g = &m->graph;
	size_t			*off, *order, w, k, nw;
	const char		*s;

	nw = g->wave != NULL ? g->nwaves : 0;
	if (nw == 0 || m->nnodes == 0) {
		strbuf_add(o, "waves: []\n", 10);
		return;
	}
	strbuf_add(o, "waves:\n", 7);
	state_wave_order(m, nw, &off, &order);
	for (w = 0; w < nw; w++) {
		strbuf_add(o, "- {wave: ", 9);
		strbuf_int(o, (int64_t)w);
		strbuf_add(o, ", status: ", 10);
		s = state_wave_status(runs, order, off[w], off[w + 1]);
		strbuf_add(o, s, strlen(s));
		strbuf_add(o, ", nodes: [", 10);
		for (k = off[w]; k < off[w + 1]; k++) {
			if (k > off[w])
				strbuf_add(o, ", ", 2);
			state_str(o, m->nodes[order[k]].id, 1);
		}
		strbuf_add(o, "]}\n", 3);
	}
	free(order);
	free(off);
}

/* Nodes per progress column: pending (and retrying), running, succeeded,
 * failed (timed out, cancelled), skipped. */
static void
state_progress(struct strbuf *o, const struct manifest *m,
    const struct node_run *const *runs)
{
	static const char *const names[5] = { "pending", "running",
		"succeeded", "failed", "skipped" };
	const struct node_run	*r;
	size_t			 counts[5] = { 0 }, i;
	int			 k;

	for (i = 0; i < m->nnodes; i++) {
		r = runs != NULL && runs[i] != NULL ? runs[i] :
		    &state_pending_run;
		switch (r->status) {
		case NS_RUNNING:	k = 1; break;
		case NS_SUCCEEDED:	k = 2; break;
		case NS_FAILED:
		case NS_TIMED_OUT:
		case NS_CANCELLED:	k = 3; break;
		case NS_SKIPPED:	k = 4; break;
		default:		k = 0; break;
		}
		counts[k]++;
	}
	strbuf_add(o, "progress: {total: ", 18);
	strbuf_int(o, (int64_t)m->nnodes);
	for (k = 0; k < 5; k++) {
		strbuf_add(o, ", ", 2);
		strbuf_add(o, names[k], strlen(names[k]));
		strbuf_add(o, ": ", 2);
		strbuf_int(o, (int64_t)counts[k]);
	}
	strbuf_add(o, "}\n", 2);
}

char *
state_render(const struct manifest *m, const struct node_run *const *runs,
    const struct metric *metrics, size_t nmetrics, const struct state_job *sj,
    size_t *len)
{
	struct strbuf		 o;
	struct state_clock	 c;
	size_t			 i, k;
	const char		*s;

	memset(&o, 0, sizeof o);
	memset(&c, 0, sizeof c);
	c.sj = sj;
	c.secs = (time_t)-1;
	(void)strbuf_room(&o, 256 + m->nnodes * 320);

	strbuf_add(&o, "dag: ", 5);
	state_str(&o, m->name != NULL ? m->name : "", 0);
	strbuf_add(&o, "\njob: ", 6);
	state_str(&o, sj->job != NULL ? sj->job : "", 0);
	strbuf_add(&o, "\nstatus: ", 9);
	s = dag_status_name(sj->status);
	strbuf_add(&o, s, strlen(s));
	strbuf_add(&o, "\nstarted_at: ", 13);
	state_time(&o, &c, sj->started_ms);
	strbuf_add(&o, "\nfinished_at: ", 14);
	state_time(&o, &c, sj->finished_ms);
	strbuf_add(&o, "\nduration_ms: ", 14);
	state_duration(&o, sj->started_ms, sj->finished_ms);
	if (sj->containment != NULL) {
		strbuf_add(&o, "\ncontainment: ", 14);
		state_str(&o, sj->containment, 0);
	}
	strbuf_add(&o, "\n", 1);
	state_progress(&o, m, runs);
	state_waves(&o, m, runs);
	if (m->nnodes == 0)
		strbuf_add(&o, "nodes: {}\n", 10);
	else
		strbuf_add(&o, "nodes:\n", 7);
	for (k = 0; k < m->nnodes; k++) {
		i = MANIFEST_AT(m, k);
		state_node(&o, &c, m, i, runs != NULL && runs[i] != NULL ?
		    runs[i] : &state_pending_run);
	}
	strbuf_add(&o, "metrics: ", 9);
	state_metrics(&o, metrics, nmetrics);
	if (sj->cached != NULL) {
		strbuf_add(&o, "\nsaved: ", 8);
		state_metrics(&o, sj->saved, sj->nsaved);
	}
	if (sj->notify_status != NULL) {
		strbuf_add(&o, "\nnotify: {status: ", 18);
		state_str(&o, sj->notify_status, 1);
		if (sj->notify_error != NULL) {
			strbuf_add(&o, ", error: ", 9);
			state_str(&o, sj->notify_error, 1);
		}
		strbuf_add(&o, "}", 1);
	}
	strbuf_add(&o, "\n", 1);
	*len = o.len;
	return o.s;
}

int
state_write(const char *path, const struct manifest *m,
    const struct node_run *const *runs, const struct metric *metrics,
    size_t nmetrics, const struct state_job *sj, char **cause)
{
	char	*text;
	size_t	 len;
	int	 rc, saved;

	text = state_render(m, runs, metrics, nmetrics, sj, &len);
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

/* A node's stderr_tail (absent or null: none): a sequence of strings,
 * each made safe again (the file may have been edited), the last
 * ERRTAIL_LINES joined by '\n'. */
static int
state_rd_tail(struct state_rd *rd, yaml_node_t *map, char **out)
{
	yaml_node_t	*n = state_rd_get(rd, map, "stderr_tail"), *it;
	yaml_node_item_t *p, *from;
	struct strbuf	 o = STRBUF_INIT;
	char		*line;

	*out = NULL;
	if (state_rd_is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return state_rd_fail(rd, "'%s' is not a sequence",
		    "stderr_tail");
	from = n->data.sequence.items.start;
	if (n->data.sequence.items.top - from > ERRTAIL_LINES)
		from = n->data.sequence.items.top - ERRTAIL_LINES;
	for (p = from; p < n->data.sequence.items.top; p++) {
		it = yaml_document_get_node(&rd->doc, *p);
		if (it == NULL || it->type != YAML_SCALAR_NODE) {
			free(o.s);
			return state_rd_fail(rd, "an item of '%s' is not a "
			    "string", "stderr_tail");
		}
		line = errtail_safe((const char *)it->data.scalar.value,
		    it->data.scalar.length);
		if (o.len > 0)
			strbuf_add(&o, "\n", 1);
		strbuf_str(&o, line);
		free(line);
	}
	*out = o.s;
	return 0;
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
		    &dn->reused_from) != 0 ||
		    state_rd_str(rd, v, "sandbox", 1, &dn->sandbox) != 0 ||
		    state_rd_tail(rd, v, &dn->stderr_tail) != 0)
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
		free(d->nodes[i].stderr_tail);
		free(d->nodes[i].reused_from);
		free(d->nodes[i].sandbox);
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

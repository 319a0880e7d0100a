/* A job's state.yaml written: the whole text (state_render, state_write)
 * and, while the job runs, the incremental writer that renders only what
 * changed (state_inc_write). Read back by state_read.c. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "errtail.h"
#include "fsutil.h"
#include "sandbox.h"
#include "state.h"
#include "strbuf.h"
#include "units.h"
#include "xmalloc.h"

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

/* A string value or key: null, plain or double-quoted (state.h). */
void
state_scalar(struct strbuf *o, const char *s, int flow)
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
		state_scalar(o, m[i].name, 1);
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
	state_scalar(o, m->nodes[i].id, 0);
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
	state_scalar(o, reason_name(r->reason), 0);
	strbuf_add(o, "\n    error: ", 12);
	state_scalar(o, r->error, 0);
	if (r->stderr_tail != NULL)
		state_tail(o, r->stderr_tail);
	/* a success taken from an earlier job (retry): no attempt here */
	if (sj->reused_from != NULL && sj->reused_from[i] != NULL) {
		strbuf_add(o, "\n    reused_from: ", 18);
		state_scalar(o, sj->reused_from[i], 0);
	}
	/* a cache hit: no attempt here, and what it would have cost */
	cached = sj->cached != NULL ? &sj->cached[i] : NULL;
	if (cached != NULL && cached->hit) {
		strbuf_add(o, "\n    cached: true\n    saved: ", 29);
		state_metrics(o, cached->saved, cached->nsaved);
	}
	if (sj->slurm_jobs != NULL && sj->slurm_jobs[i] != NULL) {
		strbuf_add(o, "\n    slurm_job: ", 16);
		state_scalar(o, sj->slurm_jobs[i], 0);
	}
	/* how much of its sandbox the kernel enforced, at its weakest */
	if (sj->sandbox != NULL && (s = sandbox_level_name(
	    (enum sandbox_level)sj->sandbox[i])) != NULL) {
		strbuf_add(o, "\n    sandbox: ", 14);
		strbuf_add(o, s, strlen(s));
	}
	strbuf_add(o, "\n", 1);
}

/*
 * The incremental writer. A state.yaml is a header (the job's fields, the
 * progress counts), one line a wave, one entry a node, and a footer (the
 * DAG's metrics, the notification). A rewrite renders the header, the
 * footer, and only the entries whose record changed since the last one
 * (state_inc_touch) and the lines of the waves whose status changed; every
 * other entry is copied, in the kernel (copy_file_range), from the file the
 * last rewrite wrote, which si keeps open: what a rewrite costs in this
 * process grows with what changed, not with the DAG, and its memory is a
 * few bytes a node (the length of its entry, what it counted for). Nodes
 * added while the job runs grow those arrays (state_inc_reshape). The
 * whole state (state_render) is the same writer with nothing to copy.
 */

#define CLS_PROGRESS	0x07	/* a column of progress: */
#define CLS_FINAL	0x08	/* final: counts to a wave's completion */
#define CLS_STARTED	0x10	/* began: its wave is running */

static const char *const state_progress_names[5] = { "pending", "running",
	"succeeded", "failed", "skipped" };

enum { WS_PENDING, WS_RUNNING, WS_COMPLETED };
static const char *const state_wave_names[3] = { "pending", "running",
	"completed" };

struct state_inc {
	bool		 ready;		/* the arrays below fit the records */
	bool		 valid;		/* the lengths describe src's text */
	int		 src;		/* the last file written, or -1 */
	size_t		 n;		/* nodes */
	size_t		 nw;		/* waves (0: no wave lines) */
	int64_t		 mono_base;	/* the clock the times were */
	int64_t		 wall_base;	/*   written with */
	unsigned	 shape;		/* the manifest's shape they fit */
	uint32_t	*len;		/* per node: its entry's bytes in src */
	unsigned char	*cls;		/* per node: CLS_* it counts for */
	uint64_t	*dirty;		/* per node: to render again */
	uint32_t	*order;		/* nodes by wave, in the order shown
					   within (MANIFEST_AT) */
	size_t		*woff;		/* wave w: order[woff[w] .. woff[w+1]) */
	uint32_t	*wlen;		/* per wave: its line's bytes in src */
	size_t		*wfinal;	/* per wave: nodes final */
	size_t		*wstarted;	/* per wave: nodes that began */
	unsigned char	*wstat;		/* per wave: WS_* its line shows */
	uint64_t	*wdirty;	/* per wave: to render again */
	size_t		 counts[5];	/* progress */
	size_t		 size;		/* bytes of src */
	size_t		 head_len;	/* bytes before the wave lines in src */
	size_t		 mid_len;	/* between the waves and the nodes */
};

struct state_inc *
state_inc_new(void)
{
	struct state_inc *si = xcalloc(1, sizeof *si);

	si->src = -1;
	return si;
}

static void
state_inc_clear(struct state_inc *si)
{
	free(si->len);
	free(si->cls);
	free(si->dirty);
	free(si->order);
	free(si->woff);
	free(si->wlen);
	free(si->wfinal);
	free(si->wstarted);
	free(si->wstat);
	free(si->wdirty);
	si->len = NULL;
	si->cls = NULL;
	si->dirty = si->wdirty = NULL;
	si->order = si->wlen = NULL;
	si->woff = si->wfinal = si->wstarted = NULL;
	si->wstat = NULL;
	si->ready = si->valid = false;
}

void
state_inc_free(struct state_inc *si)
{
	if (si == NULL)
		return;
	state_inc_clear(si);
	if (si->src >= 0)
		close(si->src);
	free(si);
}

void
state_inc_touch(struct state_inc *si, size_t i)
{
	if (si->ready && i < si->n)
		si->dirty[i / 64] |= (uint64_t)1 << (i % 64);
}

static const struct node_run *
state_run_of(const struct node_run *const *runs, size_t i)
{
	return runs != NULL && runs[i] != NULL ? runs[i] : &state_pending_run;
}

/* What node record r counts for: its progress column, final, began. */
static unsigned char
state_cls(const struct node_run *r)
{
	unsigned char c;

	switch (r->status) {
	case NS_RUNNING:	c = 1; break;
	case NS_SUCCEEDED:	c = 2; break;
	case NS_FAILED:
	case NS_TIMED_OUT:
	case NS_CANCELLED:	c = 3; break;
	case NS_SKIPPED:	c = 4; break;
	default:		c = 0; break;
	}
	if (node_status_final(r->status))
		c |= CLS_FINAL;
	if (r->status != NS_PENDING || r->attempts > 0)
		c |= CLS_STARTED;
	return c;
}

static unsigned char
state_wstat(const struct state_inc *si, size_t w)
{
	if (si->wfinal[w] == si->woff[w + 1] - si->woff[w])
		return WS_COMPLETED;
	return si->wstarted[w] > 0 ? WS_RUNNING : WS_PENDING;
}

/* Node i counts for c from now on (was: si->cls[i]). */
static void
state_count(struct state_inc *si, const struct manifest *m, size_t i,
    unsigned char c, bool add_only)
{
	unsigned char	 old = si->cls[i];
	size_t		 w;

	if (!add_only) {
		if (old == c)
			return;
		si->counts[old & CLS_PROGRESS]--;
	}
	si->counts[c & CLS_PROGRESS]++;
	si->cls[i] = c;
	if (si->nw == 0 || (w = m->graph.wave[i]) >= si->nw)
		return;
	if (!add_only) {
		si->wfinal[w] -= (old & CLS_FINAL) != 0;
		si->wstarted[w] -= (old & CLS_STARTED) != 0;
	}
	si->wfinal[w] += (c & CLS_FINAL) != 0;
	si->wstarted[w] += (c & CLS_STARTED) != 0;
	if (state_wstat(si, w) != si->wstat[w])
		si->wdirty[w / 64] |= (uint64_t)1 << (w % 64);
}

static bool
state_bit(const uint64_t *v, size_t i)
{
	return (v[i / 64] >> (i % 64)) & 1;
}

/* si->woff and si->order (new) for m's graph and si->nw waves: the nodes
 * by wave, in the order they are shown within each (a counting sort). */
static void
state_inc_order(struct state_inc *si, const struct manifest *m)
{
	const struct graph	*g = &m->graph;
	size_t			 i, k, w, *fill;

	si->woff = xcalloc(si->nw + 2, sizeof *si->woff);
	si->order = xcalloc(si->n + 1, sizeof *si->order);
	for (i = 0; si->nw > 0 && i < si->n; i++)
		if (g->wave[i] < si->nw)
			si->woff[g->wave[i] + 1]++;
	for (w = 0; w < si->nw; w++)
		si->woff[w + 1] += si->woff[w];
	fill = xcalloc(si->nw + 1, sizeof *fill);
	for (k = 0; si->nw > 0 && k < si->n; k++) {
		i = MANIFEST_AT(m, k);
		w = g->wave[i];
		if (w < si->nw)
			si->order[si->woff[w] + fill[w]++] = (uint32_t)i;
	}
	free(fill);
}

/* The per-wave sums counted again from every node's class (the new nodes'
 * from runs: from si->n0 on); a wave whose line would show another status
 * is rendered again. */
static void
state_inc_recount(struct state_inc *si, const struct manifest *m,
    const struct node_run *const *runs, size_t n0)
{
	size_t	i, w;

	memset(si->counts, 0, sizeof si->counts);
	memset(si->wfinal, 0, si->nw * sizeof *si->wfinal);
	memset(si->wstarted, 0, si->nw * sizeof *si->wstarted);
	for (i = 0; i < si->n; i++)
		state_count(si, m, i, i < n0 ? si->cls[i] :
		    state_cls(state_run_of(runs, i)), true);
	for (w = 0; w < si->nw; w++)
		if (state_wstat(si, w) != si->wstat[w])
			si->wdirty[w / 64] |= (uint64_t)1 << (w % 64);
}

/* Fit the arrays to m (its nodes, its waves) and count every node: the
 * next rewrite renders everything. */
static void
state_inc_build(struct state_inc *si, const struct manifest *m,
    const struct node_run *const *runs, const struct state_job *sj)
{
	const struct graph	*g = &m->graph;
	size_t			 nbits;

	state_inc_clear(si);
	si->n = m->nnodes;
	si->nw = g->wave != NULL && m->nnodes > 0 ? g->nwaves : 0;
	si->shape = m->shape;
	si->mono_base = sj->mono_base_ms;
	si->wall_base = sj->wall_base_ms;
	nbits = si->n / 64 + 1;
	si->len = xcalloc(si->n + 1, sizeof *si->len);
	si->cls = xcalloc(si->n + 1, 1);
	si->dirty = xcalloc(nbits, sizeof *si->dirty);
	si->wlen = xcalloc(si->nw + 1, sizeof *si->wlen);
	si->wfinal = xcalloc(si->nw + 1, sizeof *si->wfinal);
	si->wstarted = xcalloc(si->nw + 1, sizeof *si->wstarted);
	si->wstat = xcalloc(si->nw + 1, 1);
	si->wdirty = xcalloc(si->nw / 64 + 1, sizeof *si->wdirty);
	state_inc_order(si, m);
	state_inc_recount(si, m, runs, 0);
	memset(si->dirty, 0xff, nbits * sizeof *si->dirty);
	memset(si->wdirty, 0xff, (si->nw / 64 + 1) * sizeof *si->wdirty);
	si->ready = true;
	si->valid = false;
}

/* Grow array v of old entries (each size bytes) to n, the new ones 0. */
static void *
state_grow(void *v, size_t old, size_t n, size_t size)
{
	v = xreallocarray(v, n + 1, size);
	memset((char *)v + old * size, 0, (n + 1 - old) * size);
	return v;
}

/* Whether wave w's members changed from old[ooff[w] .. ooff[w+1]), or
 * one of them is to be rendered again (its id may have changed: the node
 * a dynamic foreach expanded is its first instance). */
static bool
state_wave_changed(const struct state_inc *si, size_t w,
    const uint32_t *old, const size_t *ooff, size_t onw)
{
	size_t	k;

	if (w >= onw || ooff[w + 1] - ooff[w] != si->woff[w + 1] - si->woff[w])
		return true;
	for (k = si->woff[w]; k < si->woff[w + 1]; k++)
		if (old[ooff[w] + k - si->woff[w]] != si->order[k] ||
		    state_bit(si->dirty, si->order[k]))
			return true;
	return false;
}

/*
 * Nodes were added to m, or ids and the graph made again, while the job
 * runs (a dynamic foreach made its instances). The entries of the nodes
 * that were there are still in src, in the order they are shown:
 * manifest_order_make sorts by place, then index, and an added node is
 * placed among them without moving any. So the arrays grow, and only the
 * new entries, those already to render (the expanded node among them:
 * the scheduler lists it), those whose wave changed, and the lines of the
 * waves whose members changed are rendered; the rest is still copied.
 */
static void
state_inc_reshape(struct state_inc *si, const struct manifest *m,
    const struct node_run *const *runs)
{
	const struct graph	*g = &m->graph;
	size_t			 old = si->n, onw = si->nw, *ooff = si->woff;
	size_t			 i, k, w, nw;
	uint32_t		*oorder = si->order, *ow;

	nw = g->wave != NULL && m->nnodes > 0 ? g->nwaves : 0;
	/* each node's wave in the file */
	ow = xcalloc(old + 1, sizeof *ow);
	memset(ow, 0xff, (old + 1) * sizeof *ow);
	for (w = 0; w < onw; w++)
		for (k = ooff[w]; k < ooff[w + 1]; k++)
			ow[oorder[k]] = (uint32_t)w;
	si->n = m->nnodes;
	si->nw = nw;
	si->shape = m->shape;
	si->len = state_grow(si->len, old, si->n, sizeof *si->len);
	si->cls = state_grow(si->cls, old, si->n, 1);
	si->dirty = state_grow(si->dirty, old / 64 + 1, si->n / 64 + 1,
	    sizeof *si->dirty);
	for (i = old; i < si->n; i++)
		si->dirty[i / 64] |= (uint64_t)1 << (i % 64);
	for (i = 0; i < old; i++)
		if (ow[i] != (nw > 0 && g->wave[i] < nw ? g->wave[i] :
		    UINT32_MAX))
			si->dirty[i / 64] |= (uint64_t)1 << (i % 64);
	free(ow);
	si->wlen = state_grow(si->wlen, onw, nw, sizeof *si->wlen);
	si->wfinal = state_grow(si->wfinal, onw, nw, sizeof *si->wfinal);
	si->wstarted = state_grow(si->wstarted, onw, nw,
	    sizeof *si->wstarted);
	si->wstat = state_grow(si->wstat, onw, nw, 1);
	si->wdirty = state_grow(si->wdirty, onw / 64 + 1, nw / 64 + 1,
	    sizeof *si->wdirty);
	state_inc_order(si, m);
	for (w = 0; w < nw; w++)
		if (state_wave_changed(si, w, oorder, ooff, onw))
			si->wdirty[w / 64] |= (uint64_t)1 << (w % 64);
	free(oorder);
	free(ooff);
	state_inc_recount(si, m, runs, old);
}

/* Where the text goes: o (spilling into dst, or kept whole when dst is
 * -1), and what is still to copy from src before the next text. */
struct state_out {
	struct strbuf	*o;
	int		 src;
	int		 dst;
	off_t		 copy_off;	/* in src */
	size_t		 copy_len;
	int		 err;
};

/* Copy what is pending from src to dst, after the text before it. */
static void
state_copy_flush(struct state_out *so)
{
	char	 buf[65536];
	off_t	 off = so->copy_off;
	size_t	 left = so->copy_len;
	ssize_t	 n;

	so->copy_len = 0;
	if (left == 0 || so->err != 0)
		return;
	if (strbuf_flush(so->o) != 0) {
		so->err = errno;
		return;
	}
	while (left > 0) {
		n = copy_file_range(so->src, &off, so->dst, NULL, left, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0) {
			left -= (size_t)n;
			continue;
		}
		if (n == 0 || (errno != EXDEV && errno != ENOSYS &&
		    errno != EOPNOTSUPP && errno != EINVAL)) {
			so->err = n == 0 ? EIO : errno;
			return;
		}
		/* a file system copy_file_range cannot copy within */
		n = pread(so->src, buf, left < sizeof buf ? left : sizeof buf,
		    off);
		if (n <= 0 || fs_write_all(so->dst, buf, (size_t)n) != 0) {
			so->err = n == 0 ? EIO : errno;
			return;
		}
		off += n;
		left -= (size_t)n;
	}
}

/* The next len bytes of src are kept as they are. */
static void
state_copy(struct state_out *so, off_t *src_off, size_t len)
{
	if (so->copy_len > 0 && so->copy_off + (off_t)so->copy_len != *src_off)
		state_copy_flush(so);
	if (so->copy_len == 0)
		so->copy_off = *src_off;
	so->copy_len += len;
	*src_off += (off_t)len;
}

static void
state_wave_line(struct strbuf *o, const struct state_inc *si,
    const struct manifest *m, size_t w)
{
	size_t	k;
	const char *s = state_wave_names[si->wstat[w]];

	strbuf_add(o, "- {wave: ", 9);
	strbuf_int(o, (int64_t)w);
	strbuf_add(o, ", status: ", 10);
	strbuf_add(o, s, strlen(s));
	strbuf_add(o, ", nodes: [", 10);
	for (k = si->woff[w]; k < si->woff[w + 1]; k++) {
		if (k > si->woff[w])
			strbuf_add(o, ", ", 2);
		state_scalar(o, m->nodes[si->order[k]].id, 1);
	}
	strbuf_add(o, "]}\n", 3);
}

static void
state_head(struct strbuf *o, struct state_clock *c, const struct manifest *m,
    const struct state_inc *si, const struct state_job *sj)
{
	const char	*s;
	int		 k;

	strbuf_add(o, "dag: ", 5);
	state_scalar(o, m->name != NULL ? m->name : "", 0);
	strbuf_add(o, "\njob: ", 6);
	state_scalar(o, sj->job != NULL ? sj->job : "", 0);
	strbuf_add(o, "\nstatus: ", 9);
	s = dag_status_name(sj->status);
	strbuf_add(o, s, strlen(s));
	strbuf_add(o, "\nstarted_at: ", 13);
	state_time(o, c, sj->started_ms);
	strbuf_add(o, "\nfinished_at: ", 14);
	state_time(o, c, sj->finished_ms);
	strbuf_add(o, "\nduration_ms: ", 14);
	state_duration(o, sj->started_ms, sj->finished_ms);
	if (sj->containment != NULL) {
		strbuf_add(o, "\ncontainment: ", 14);
		state_scalar(o, sj->containment, 0);
	}
	strbuf_add(o, "\nprogress: {total: ", 19);
	strbuf_int(o, (int64_t)m->nnodes);
	for (k = 0; k < 5; k++) {
		strbuf_add(o, ", ", 2);
		s = state_progress_names[k];
		strbuf_add(o, s, strlen(s));
		strbuf_add(o, ": ", 2);
		strbuf_int(o, (int64_t)si->counts[k]);
	}
	strbuf_add(o, "}\n", 2);
	if (si->nw == 0)
		strbuf_add(o, "waves: []\n", 10);
	else
		strbuf_add(o, "waves:\n", 7);
}

static void
state_foot(struct strbuf *o, const struct metric *metrics, size_t nmetrics,
    const struct state_job *sj)
{
	strbuf_add(o, "metrics: ", 9);
	state_metrics(o, metrics, nmetrics);
	if (sj->cached != NULL) {
		strbuf_add(o, "\nsaved: ", 8);
		state_metrics(o, sj->saved, sj->nsaved);
	}
	if (sj->notify_status != NULL) {
		strbuf_add(o, "\nnotify: {status: ", 18);
		state_scalar(o, sj->notify_status, 1);
		if (sj->notify_error != NULL) {
			strbuf_add(o, ", error: ", 9);
			state_scalar(o, sj->notify_error, 1);
		}
		strbuf_add(o, "}", 1);
	}
	strbuf_add(o, "\n", 1);
}

/* The wave lines and the node entries: those marked rendered, the others
 * copied from src (only when si->valid). */
static void
state_body(struct state_out *so, struct state_clock *c,
    struct state_inc *si, const struct manifest *m,
    const struct node_run *const *runs, off_t src_off)
{
	struct strbuf	*o = so->o;
	size_t		 i, k, w, at;

	for (w = 0; w < si->nw; w++) {
		if (si->valid && !state_bit(si->wdirty, w)) {
			state_copy(so, &src_off, si->wlen[w]);
			continue;
		}
		state_copy_flush(so);	/* what comes before it */
		src_off += si->wlen[w];
		si->wstat[w] = state_wstat(si, w);
		at = strbuf_total(o);
		state_wave_line(o, si, m, w);
		si->wlen[w] = (uint32_t)(strbuf_total(o) - at);
	}
	state_copy_flush(so);
	src_off += (off_t)si->mid_len;
	at = strbuf_total(o);
	if (m->nnodes == 0)
		strbuf_add(o, "nodes: {}\n", 10);
	else
		strbuf_add(o, "nodes:\n", 7);
	si->mid_len = strbuf_total(o) - at;
	for (k = 0; k < si->n; k++) {
		i = MANIFEST_AT(m, k);
		if (si->valid && !state_bit(si->dirty, i)) {
			state_copy(so, &src_off, si->len[i]);
			continue;
		}
		state_copy_flush(so);
		src_off += si->len[i];
		at = strbuf_total(o);
		state_node(o, c, m, i, state_run_of(runs, i));
		si->len[i] = (uint32_t)(strbuf_total(o) - at);
	}
	state_copy_flush(so);
}

/* Render the state of these records through so: everything when si has
 * nothing to copy from (or its records changed shape), else what changed.
 * 0, or -1 with errno (then everything is rendered next time). */
static int
state_emit(struct state_inc *si, struct state_out *so,
    const struct manifest *m, const struct node_run *const *runs,
    const struct metric *metrics, size_t nmetrics, const struct state_job *sj)
{
	struct state_clock	 c;
	size_t			 i, k, nw;
	uint64_t		 bits;
	off_t			 src_off;

	nw = m->graph.wave != NULL && m->nnodes > 0 ? m->graph.nwaves : 0;
	if (!si->ready || si->n > m->nnodes || si->nw > nw ||
	    si->mono_base != sj->mono_base_ms ||
	    si->wall_base != sj->wall_base_ms)
		state_inc_build(si, m, runs, sj);
	else if (si->n != m->nnodes || si->nw != nw || si->shape != m->shape)
		state_inc_reshape(si, m, runs);
	if (so->src < 0)
		si->valid = false;
	/* what the touched nodes count for now */
	for (k = 0; k <= si->n / 64; k++) {
		for (bits = si->dirty[k]; bits != 0; bits &= bits - 1) {
			i = k * 64 + (size_t)__builtin_ctzll(bits);
			if (i < si->n)
				state_count(si, m, i,
				    state_cls(state_run_of(runs, i)), false);
		}
	}
	memset(&c, 0, sizeof c);
	c.sj = sj;
	c.secs = (time_t)-1;
	src_off = (off_t)si->head_len;
	i = strbuf_total(so->o);
	state_head(so->o, &c, m, si, sj);
	si->head_len = strbuf_total(so->o) - i;
	state_body(so, &c, si, m, runs, src_off);
	state_foot(so->o, metrics, nmetrics, sj);
	if (so->err == 0 && so->dst >= 0 && strbuf_flush(so->o) != 0)
		so->err = errno;
	if (so->err != 0) {
		si->ready = si->valid = false;
		errno = so->err;
		return -1;
	}
	memset(si->dirty, 0, (si->n / 64 + 1) * sizeof *si->dirty);
	memset(si->wdirty, 0, (si->nw / 64 + 1) * sizeof *si->wdirty);
	si->valid = true;
	return 0;
}

int
state_inc_write(struct state_inc *si, int fd, const struct manifest *m,
    const struct node_run *const *runs, const struct metric *metrics,
    size_t nmetrics, const struct state_job *sj)
{
	struct strbuf	 o;
	struct state_out so;
	off_t		 end;
	int		 rc, saved, keep;

	strbuf_init_spill(&o, fd);
	memset(&so, 0, sizeof so);
	so.o = &o;
	so.src = si->src;
	so.dst = fd;
	rc = state_emit(si, &so, m, runs, metrics, nmetrics, sj);
	saved = errno;
	strbuf_release(&o);
	if (rc == 0) {
		end = lseek(fd, 0, SEEK_CUR);
		si->size = end > 0 ? (size_t)end : 0;
		/* the next rewrite copies from this text */
		if ((keep = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0) {
			saved = errno;
			si->valid = false;
		}
		if (si->src >= 0)
			close(si->src);
		si->src = keep;
		if (keep < 0)
			si->ready = false;
	}
	errno = saved;
	return rc;
}

size_t
state_inc_size(const struct state_inc *si)
{
	return si->size;
}

char *
state_render(const struct manifest *m, const struct node_run *const *runs,
    const struct metric *metrics, size_t nmetrics, const struct state_job *sj,
    size_t *len)
{
	struct strbuf		 o = STRBUF_INIT;
	struct state_out	 so;
	struct state_inc	*si = state_inc_new();

	(void)strbuf_room(&o, 256 + m->nnodes * 320);
	memset(&so, 0, sizeof so);
	so.o = &o;
	so.src = so.dst = -1;
	(void)state_emit(si, &so, m, runs, metrics, nmetrics, sj);
	state_inc_free(si);
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

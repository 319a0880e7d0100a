/*
 * report.html, written at the job's end beside summary.txt and
 * timeline.svg, from the same records. One HTML file that needs nothing
 * else: the style and a small sorting script are inline, the timeline is
 * the bundle's own SVG inlined, and a Content-Security-Policy forbids every
 * load, so opening it touches no network. Everything is in the HTML
 * itself; the script only sorts the node table when a header is clicked.
 *
 * Every string from the manifest, the nodes or their logs goes through
 * h_text (& < > " ' as entities, control bytes as their Unicode pictures,
 * invalid UTF-8 as U+FFFD). Node ids match [A-Za-z0-9._-] (and the [...]
 * of foreach instances) but are escaped all the same.
 *
 * The page stays within a few MiB however large the run: table rows,
 * failed nodes and the inlined timeline each have a budget (report.h);
 * what does not fit is named and linked to the bundle file holding it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "render.h"
#include "report.h"
#include "strbuf.h"
#include "units.h"
#include "xmalloc.h"

#define REPORT_CMD_MAX	2048	/* bytes of a failed node's command shown */
#define REPORT_ERR_MAX	1024	/* bytes of an error shown in the table */

/* ---- escaping ---------------------------------------------------------- */

/* The entity of an HTML-special byte, else NULL. */
static const char *
h_entity(unsigned char c)
{
	switch (c) {
	case '&':	return "&amp;";
	case '<':	return "&lt;";
	case '>':	return "&gt;";
	case '"':	return "&quot;";
	case '\'':	return "&#39;";
	default:	return NULL;
	}
}

/*
 * s (len bytes) escaped for HTML text and attribute values: & < > " ' as
 * entities; a control byte as its Unicode picture (U+2400 + the byte, DEL
 * U+2421), tabs and newlines too unless pre (then kept, and a carriage
 * return before a newline dropped); a byte that does not start valid
 * UTF-8 as U+FFFD. A backslash stays one: a command or a log line reads
 * as it was written.
 */
static void
h_text(struct strbuf *b, const char *s, size_t len, bool pre)
{
	const unsigned char	*u = (const unsigned char *)s;
	const char		*ent;
	size_t			 i = 0, l;
	char			*p;

	if (len > SIZE_MAX / 6)
		abort();	/* cannot be: s is in memory */
	p = strbuf_room(b, len * 6);
	while (i < len) {
		if ((ent = h_entity(u[i])) != NULL)
			p = stpcpy(p, ent);
		else if (pre && (u[i] == '\n' || u[i] == '\t'))
			*p++ = (char)u[i];
		else if (pre && u[i] == '\r' && i + 1 < len && u[i + 1] == '\n')
			;
		else if (u[i] < 0x20 || u[i] == 0x7f) {
			*p++ = (char)0xe2;
			*p++ = (char)0x90;
			*p++ = (char)(u[i] == 0x7f ? 0xa1 : 0x80 + u[i]);
		} else if (u[i] < 0x80)
			*p++ = (char)u[i];
		else if ((l = log_utf8_len(u + i, len - i)) != 0) {
			memcpy(p, u + i, l);
			p += l;
			i += l;
			continue;
		} else
			p = stpcpy(p, "\xef\xbf\xbd");	/* U+FFFD */
		i++;
	}
	b->len = (size_t)(p - b->s);
	b->s[b->len] = '\0';
}

/* s escaped as h_text does for text outside a <pre>; NULL adds nothing. */
static void
h_esc(struct strbuf *b, const char *s)
{
	if (s != NULL)
		h_text(b, s, strlen(s), false);
}

/* At most max bytes of s (in a <pre> when pre), escaped, with "..." when
 * it was cut (never inside a UTF-8 sequence: the cut moves back to a
 * character's start). */
static void
h_text_max(struct strbuf *b, const char *s, size_t len, size_t max, bool pre)
{
	if (len <= max) {
		h_text(b, s, len, pre);
		return;
	}
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	h_text(b, s, max, pre);
	strbuf_lit(b, "...");
}

/* s as a relative URL path segment: every byte but [A-Za-z0-9._~-] as
 * %XX (the [ ] of foreach instances among them). */
static void
h_url(struct strbuf *b, const char *s)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*u;
	char			 e[3];

	for (u = (const unsigned char *)s; *u != '\0'; u++) {
		if ((*u >= 'a' && *u <= 'z') || (*u >= 'A' && *u <= 'Z') ||
		    (*u >= '0' && *u <= '9') || strchr("._~-", *u) != NULL)
			strbuf_add(b, (const char *)u, 1);
		else {
			e[0] = '%';
			e[1] = hex[*u >> 4];
			e[2] = hex[*u & 15];
			strbuf_add(b, e, 3);
		}
	}
}

/* s as one shell word, escaped for HTML: as it is when it is made of
 * letters, digits and "_-./,:+@%=" only, else in single quotes ('\''
 * for a quote), so that the command can be copied as it stands. A word
 * with control bytes or invalid UTF-8 cannot be shown as typed: it is
 * escaped as h_esc does. */
static void
h_sh(struct strbuf *b, const char *s)
{
	const unsigned char	*u = (const unsigned char *)s;
	const char		*ent;
	size_t			 i, l, n = strlen(s);
	bool			 plain = n > 0;

	for (i = 0; i < n; i += l) {
		l = u[i] >= 0x80 ? log_utf8_len(u + i, n - i) : 1;
		if (u[i] < 0x20 || u[i] == 0x7f || l == 0) {
			h_esc(b, s);
			return;
		}
		if (l > 1 || !((u[i] >= 'a' && u[i] <= 'z') ||
		    (u[i] >= 'A' && u[i] <= 'Z') || (u[i] >= '0' &&
		    u[i] <= '9') || strchr("_-./,:+@%=", u[i]) != NULL))
			plain = false;
	}
	if (plain) {
		strbuf_str(b, s);
		return;
	}
	strbuf_lit(b, "&#39;");
	for (i = 0; i < n; i++) {
		if (u[i] == '\'')
			strbuf_lit(b, "&#39;\\&#39;&#39;");
		else if ((ent = h_entity(u[i])) != NULL)
			strbuf_str(b, ent);
		else
			strbuf_add(b, s + i, 1);
	}
	strbuf_lit(b, "&#39;");
}

static void
h_uint(struct strbuf *b, size_t v)
{
	strbuf_int(b, (int64_t)v);
}

/* ---- the records ------------------------------------------------------- */

static const struct node_run *
rp_run(const struct report_in *in, size_t i)
{
	return in->runs != NULL ? in->runs[i] : NULL;
}

static enum node_status
rp_status(const struct report_in *in, size_t i)
{
	const struct node_run *r = rp_run(in, i);

	return r != NULL ? r->status : NS_PENDING;
}

/* "reused" or "cached" for a node that succeeded without running here,
 * else NULL. */
static const char *
rp_unrun(const struct report_in *in, size_t i)
{
	const struct state_job *sj = in->sj;

	if (sj != NULL && sj->cached != NULL && sj->cached[i].hit)
		return "cached";
	if (sj != NULL && sj->reused_from != NULL &&
	    sj->reused_from[i] != NULL)
		return "reused";
	return NULL;
}

static bool
rp_failed(enum node_status s)
{
	return s == NS_FAILED || s == NS_TIMED_OUT;
}

/* Failures first, then cancelled, skipped, the rest: as summary.txt. */
static int
rp_cmp(const void *a, const void *b, void *arg)
{
	const struct report_in *in = *(const struct report_in **)arg;
	size_t	x = *(const size_t *)a, y = *(const size_t *)b;
	int	rx = render_rank(rp_status(in, x));
	int	ry = render_rank(rp_status(in, y));

	if (rx != ry)
		return rx - ry;
	x = MANIFEST_RANK(in->m, x);
	y = MANIFEST_RANK(in->m, y);
	return x < y ? -1 : x > y;
}

/* The node indices in the summary's order, new. */
static size_t *
rp_order(const struct report_in *in)
{
	size_t	*order, i, n = in->m->nnodes;

	order = xcalloc(n > 0 ? n : 1, sizeof *order);
	for (i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof *order, rp_cmp, &in);
	return order;
}

/* The wall-clock time of monotonic ms t, into buf (at least 32). */
static const char *
rp_wall(const struct state_job *sj, int64_t t, char *buf, size_t len)
{
	if (sj == NULL || t < 0)
		return "-";
	return state_format_time(sj->wall_base_ms + t - sj->mono_base_ms, buf,
	    len);
}

/* ---- the logs ---------------------------------------------------------- */

/* The last lines of nodes/ID/NAME: at most REPORT_TAIL_LINES lines of its
 * last REPORT_TAIL_BYTES bytes (a line cut by that start left out unless
 * it is the only one) into a new buffer *out of *outlen bytes (NULL when
 * there is nothing), *lines how many. Returns the file's size, or -1 when
 * it is missing or not a plain file (nodes/ is the job user's: no link is
 * followed, no FIFO waited on). */
static int64_t
rp_tail(int nodes_fd, const char *id, const char *name, char **out,
    size_t *outlen, size_t *lines)
{
	struct stat	 st;
	char		*buf;
	off_t		 off;
	ssize_t		 n;
	size_t		 got = 0, want, start, end, nl;
	int		 dfd, fd;

	*out = NULL;
	*outlen = 0;
	*lines = 0;
	if (nodes_fd < 0 || (dfd = openat(nodes_fd, id, O_RDONLY |
	    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -1;
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	close(dfd);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	off = st.st_size > REPORT_TAIL_BYTES ? st.st_size - REPORT_TAIL_BYTES :
	    0;
	want = (size_t)(st.st_size - off);
	buf = xmalloc(want + 1);
	while (got < want) {
		n = pread(fd, buf + got, want - got, off + (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	end = got;
	while (end > 0 && (buf[end - 1] == '\n' || buf[end - 1] == '\r'))
		end--;
	/* back from the end to the start of the REPORT_TAIL_LINES-th line */
	nl = 0;
	for (start = end; start > 0; start--)
		if (buf[start - 1] == '\n' && ++nl == REPORT_TAIL_LINES)
			break;
	if (start == 0 && off > 0 && nl > 0) {
		/* the first line is only the end of one */
		start = (size_t)((char *)memchr(buf, '\n', end) - buf) + 1;
		nl--;
	}
	if (end > start) {
		*lines = nl < REPORT_TAIL_LINES ? nl + 1 : nl;
		memmove(buf, buf + start, end - start);
		*out = buf;
		*outlen = end - start;
	} else
		free(buf);
	return (int64_t)st.st_size;
}

/* ---- the page ---------------------------------------------------------- */

static const char rp_style[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:1em 2em;color:#222}"
    "h1{font-size:1.5em;margin:.2em 0}h2{margin-top:1.5em;"
    "border-bottom:1px solid #ccc}h3{margin:.8em 0 .2em;font-size:1.1em}"
    "code,pre{font:12px/1.35 ui-monospace,DejaVu Sans Mono,monospace}"
    "pre{background:#f6f6f6;border:1px solid #ddd;padding:.5em;"
    "overflow:auto;white-space:pre-wrap;word-break:break-all}"
    "table{border-collapse:collapse}th,td{border:1px solid #ddd;"
    "padding:2px 6px;text-align:left;vertical-align:top}"
    "th{background:#eee;position:sticky;top:0}"
    "table.sortable th{cursor:pointer}"
    "th[aria-sort=ascending]::after{content:\" \\25B2\"}"
    "th[aria-sort=descending]::after{content:\" \\25BC\"}"
    "#nodes td:nth-child(3),#nodes td:nth-child(5),#nodes td:nth-child(6),"
    "#nodes td:nth-child(7){text-align:right}nav a{margin-right:1em}"
    ".succeeded,.reused,.cached{background:#b7e1b5}"
    ".failed{background:#f4a6a6}.timed_out{background:#f6c28b}"
    ".cancelled{background:#d9d9d9}.skipped{background:#f2f2f2}"
    ".running{background:#a9c8f0}.retrying{background:#f0e68c}"
    ".budget_exceeded,.interrupted{background:#f6c28b}"
    ".st{padding:0 .4em;border-radius:3px}"
    ".note{color:#555}.tl{overflow:auto;border:1px solid #ddd}"
    ".fail{border-left:4px solid #d9534f;padding-left:.8em}";

/* Sorts the node table by the column clicked (again: the other way): a
 * cell's data-v is its number where it has one, else its text counts. */
static const char rp_script[] =
    "(function(){var t=document.getElementById('nodes');"
    "if(!t||!t.tHead)return;t.classList.add('sortable');"
    "var h=t.tHead.rows[0].cells;"
    "function key(c){var v=c.getAttribute('data-v');"
    "return v===null?c.textContent:Number(v)}"
    "function sort(k){var b=t.tBodies[0],"
    "up=h[k].getAttribute('aria-sort')!=='ascending',"
    "r=Array.prototype.slice.call(b.rows);"
    "r.sort(function(x,y){var a=key(x.cells[k]),z=key(y.cells[k]),"
    "d=typeof a==='number'&&typeof z==='number'?a-z:"
    "String(a).localeCompare(String(z),undefined,{numeric:true});"
    "return up?d:-d});"
    "for(var i=0;i<h.length;i++)h[i].removeAttribute('aria-sort');"
    "h[k].setAttribute('aria-sort',up?'ascending':'descending');"
    "var f=document.createDocumentFragment();"
    "r.forEach(function(x){f.appendChild(x)});b.appendChild(f)}"
    "Array.prototype.forEach.call(h,function(c,k){c.tabIndex=0;"
    "c.addEventListener('click',function(){sort(k)});"
    "c.addEventListener('keydown',function(e){"
    "if(e.key==='Enter')sort(k)})})})();";

struct rp_counts {
	size_t	 st[NS__COUNT];
	size_t	 reused, cached, failed;
	int64_t	 cpu_ms;
};

static void
rp_count(const struct report_in *in, struct rp_counts *c)
{
	const struct node_run	*r;
	const char		*u;
	size_t			 i;

	memset(c, 0, sizeof *c);
	for (i = 0; i < in->m->nnodes; i++) {
		c->st[rp_status(in, i)]++;
		if (rp_failed(rp_status(in, i)))
			c->failed++;
		if ((u = rp_unrun(in, i)) != NULL && *u == 'c')
			c->cached++;
		else if (u != NULL)
			c->reused++;
		if ((r = rp_run(in, i)) != NULL)
			c->cpu_ms += r->cpu_ms;
	}
}

/* The earlier jobs reused nodes came from, with how many: "JOB (N)". */
static void
rp_reused_from(struct strbuf *b, const struct report_in *in)
{
	const char	**from = NULL;
	size_t		 *count = NULL, nfrom = 0, i, k;

	for (i = 0; in->sj->reused_from != NULL && i < in->m->nnodes; i++) {
		if (in->sj->reused_from[i] == NULL)
			continue;
		for (k = 0; k < nfrom && strcmp(from[k],
		    in->sj->reused_from[i]) != 0; k++)
			;
		if (k == nfrom) {
			from = xreallocarray(from, nfrom + 1, sizeof *from);
			count = xreallocarray(count, nfrom + 1, sizeof *count);
			from[nfrom] = in->sj->reused_from[i];
			count[nfrom++] = 0;
		}
		count[k]++;
	}
	for (k = 0; k < nfrom; k++) {
		strbuf_lit(b, "<li>Reused from <code>");
		h_esc(b, from[k]);
		strbuf_lit(b, "</code>: ");
		h_uint(b, count[k]);
		strbuf_str(b, count[k] == 1 ? " node</li>\n" : " nodes</li>\n");
	}
	free(from);
	free(count);
}

/* A metric list, escaped; "-" for none. */
static void
rp_metrics(struct strbuf *b, const struct metric *v, size_t n)
{
	char	*t = render_metrics(v, n);

	h_esc(b, *t != '\0' ? t : "-");
	free(t);
}

/* The head of the page and the run's status, counts, times and sums. */
static void
rp_head(struct strbuf *b, const struct report_in *in,
    const struct rp_counts *c)
{
	const struct state_job	*sj = in->sj;
	const char		*dag = dag_status_name(sj->status);
	char			 t1[40], t2[40], d[32], cpu[32];

	render_ms(sj->started_ms >= 0 && sj->finished_ms >= 0 ?
	    sj->finished_ms - sj->started_ms : -1, d, sizeof d);
	render_ms(c->cpu_ms, cpu, sizeof cpu);
	strbuf_lit(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n"
	    "<meta http-equiv=\"Content-Security-Policy\" content=\""
	    "default-src 'none'; style-src 'unsafe-inline'; "
	    "script-src 'unsafe-inline'; img-src data:\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\">\n<title>");
	h_esc(b, in->m->name);
	strbuf_lit(b, ": ");
	strbuf_str(b, dag);
	strbuf_lit(b, " (");
	h_esc(b, sj->job);
	strbuf_lit(b, ")</title>\n<style>");
	strbuf_lit(b, rp_style);
	strbuf_lit(b, "</style>\n</head>\n<body>\n<h1>");
	h_esc(b, in->m->name);
	strbuf_lit(b, ": <span class=\"st ");
	strbuf_str(b, dag);
	strbuf_lit(b, "\" id=\"status\">");
	strbuf_str(b, dag);
	strbuf_lit(b, "</span></h1>\n<p>Job <code>");
	h_esc(b, sj->job);
	strbuf_lit(b, "</code>, started ");
	strbuf_str(b, rp_wall(sj, sj->started_ms, t1, sizeof t1));
	strbuf_lit(b, ", ended ");
	strbuf_str(b, rp_wall(sj, sj->finished_ms, t2, sizeof t2));
	strbuf_lit(b, ", took ");
	strbuf_str(b, d);
	strbuf_lit(b, " (CPU ");
	strbuf_str(b, cpu);
	strbuf_lit(b, ").</p>\n<ul>\n<li>");
	h_uint(b, in->m->nnodes);
	strbuf_lit(b, " nodes: ");
	h_uint(b, c->st[NS_SUCCEEDED]);
	strbuf_lit(b, " succeeded");
	if (c->reused > 0 || c->cached > 0) {
		strbuf_lit(b, " (");
		h_uint(b, c->reused);
		strbuf_lit(b, " reused, ");
		h_uint(b, c->cached);
		strbuf_lit(b, " cached)");
	}
	strbuf_lit(b, ", ");
	h_uint(b, c->st[NS_FAILED]);
	strbuf_lit(b, " failed, ");
	h_uint(b, c->st[NS_TIMED_OUT]);
	strbuf_lit(b, " timed out, ");
	h_uint(b, c->st[NS_CANCELLED]);
	strbuf_lit(b, " cancelled, ");
	h_uint(b, c->st[NS_SKIPPED]);
	strbuf_lit(b, " skipped</li>\n<li>Metrics: ");
	rp_metrics(b, in->metrics, in->nmetrics);
	strbuf_lit(b, "</li>\n");
	if (sj->nsaved > 0) {
		strbuf_lit(b, "<li>Saved by cache hits: ");
		rp_metrics(b, sj->saved, sj->nsaved);
		strbuf_lit(b, "</li>\n");
	}
	rp_reused_from(b, in);
	if (sj->notify_status != NULL) {
		strbuf_lit(b, "<li>Notification: ");
		h_esc(b, sj->notify_status);
		if (sj->notify_error != NULL) {
			strbuf_lit(b, ": ");
			h_esc(b, sj->notify_error);
		}
		strbuf_lit(b, "</li>\n");
	}
	strbuf_lit(b, "</ul>\n<nav>");
	if (c->failed > 0)
		strbuf_lit(b, "<a href=\"#failed\">Failed nodes</a>");
	strbuf_lit(b, "<a href=\"#retry\">Retry</a><a href=\"#nodes\">Nodes</a>"
	    "<a href=\"#timeline\">Timeline</a></nav>\n");
}

/* The bundle's name in commands, as a shell word. */
static void
rp_bundle(struct strbuf *b, const struct report_in *in)
{
	char	*name;

	if (in->bundle != NULL) {
		h_sh(b, in->bundle);
		return;
	}
	name = xasprintf("%s.tar.gz", in->sj->job);
	h_sh(b, name);
	free(name);
}

/* What the node runs: its run line, its argv, or its HTTP request. */
static void
rp_command(struct strbuf *b, const struct node *n)
{
	struct strbuf	 t = STRBUF_INIT;
	size_t		 k;

	if (n->kind == NODE_RUN)
		strbuf_str(&t, n->run);
	else if (n->kind == NODE_ARGV) {
		for (k = 0; k < n->argc; k++) {
			if (k > 0)
				strbuf_lit(&t, " ");
			strbuf_str(&t, n->argv[k]);
		}
	} else if (n->http != NULL) {
		strbuf_str(&t, n->http->method != NULL ? n->http->method :
		    "GET");
		strbuf_lit(&t, " ");
		strbuf_str(&t, n->http->url);
	}
	if (t.len == 0)
		return;
	strbuf_lit(b, "<pre class=\"cmd\">");
	h_text_max(b, t.s, t.len, REPORT_CMD_MAX, true);
	strbuf_lit(b, "</pre>\n");
	free(t.s);
}

/* The note and the last lines of one log of node i; false when the file
 * is missing or empty (nothing was added). */
static bool
rp_log(struct strbuf *b, const struct report_in *in, int nodes_fd, size_t i,
    const char *name)
{
	const char	*id = in->m->nodes[i].id;
	char		*tail, size[32];
	size_t		 tlen, lines;
	int64_t		 total;

	total = rp_tail(nodes_fd, id, name, &tail, &tlen, &lines);
	if (total <= 0 || tail == NULL) {
		free(tail);
		return false;
	}
	if (total < 1024)
		snprintf(size, sizeof size, "%lld bytes", (long long)total);
	else {
		units_format_size(total, size, sizeof size);
		strcat(size, "iB");
	}
	strbuf_lit(b, "<p class=\"note\">The last ");
	if (lines > 1) {
		h_uint(b, lines);
		strbuf_lit(b, " lines of ");
	} else
		strbuf_lit(b, "line of ");
	strbuf_str(b, name);
	strbuf_lit(b, "; the whole log (");
	strbuf_str(b, size);
	strbuf_lit(b, ") is <a href=\"nodes/");
	h_url(b, id);
	strbuf_lit(b, "/");
	strbuf_str(b, name);
	strbuf_lit(b, "\">");
	h_esc(b, in->sj->job);
	strbuf_lit(b, "/nodes/");
	h_esc(b, id);
	strbuf_lit(b, "/");
	strbuf_str(b, name);
	strbuf_lit(b, "</a> in the bundle.</p>\n<pre class=\"log\">");
	h_text(b, tail, tlen, true);
	strbuf_lit(b, "</pre>\n");
	free(tail);
	return true;
}

/* One failed node: its status, reason, error, command, and the end of its
 * stderr (of its stdout when stderr is empty). */
static void
rp_failure(struct strbuf *b, const struct report_in *in, int nodes_fd,
    size_t i)
{
	const struct node	*n = &in->m->nodes[i];
	const struct node_run	*r = rp_run(in, i);
	const char		*st = node_status_name(r->status);
	const char		*why = reason_name(r->reason);

	strbuf_lit(b, "<section class=\"fail\" id=\"f-");
	h_esc(b, n->id);
	strbuf_lit(b, "\">\n<h3>");
	h_esc(b, n->id);
	strbuf_lit(b, " <span class=\"st ");
	strbuf_str(b, st);
	strbuf_lit(b, "\">");
	strbuf_str(b, st);
	strbuf_lit(b, "</span></h3>\n<p>");
	if (why != NULL) {
		strbuf_str(b, why);
		strbuf_lit(b, ", ");
	}
	h_uint(b, (size_t)(r->attempts > 0 ? r->attempts : 0));
	strbuf_str(b, r->attempts == 1 ? " attempt" : " attempts");
	if (r->error != NULL) {
		strbuf_lit(b, ": <b>");
		h_esc(b, r->error);
		strbuf_lit(b, "</b>");
	}
	strbuf_lit(b, "</p>\n");
	rp_command(b, n);
	if (!rp_log(b, in, nodes_fd, i, "stderr.log") &&
	    !rp_log(b, in, nodes_fd, i, "stdout.log"))
		strbuf_lit(b, "<p class=\"note\">It wrote nothing to stdout "
		    "or stderr.</p>\n");
	strbuf_lit(b, "<p class=\"note\">Both logs whole: <code>dagexec show ");
	rp_bundle(b, in);
	strbuf_lit(b, " ");
	h_sh(b, n->id);
	strbuf_lit(b, "</code></p>\n</section>\n");
}

/* Every failed or timed-out node, within REPORT_FAILS_MAX bytes. */
static void
rp_failures(struct strbuf *b, const struct report_in *in,
    const size_t *order, size_t nfailed)
{
	char	*path;
	size_t	 k, start = b->len, shown = 0;
	int	 nodes_fd = -1;

	if (nfailed == 0)
		return;
	if (in->dir != NULL) {
		path = xasprintf("%s/nodes", in->dir);
		nodes_fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		free(path);
	}
	strbuf_lit(b, "<h2 id=\"failed\">Failed nodes</h2>\n");
	for (k = 0; k < in->m->nnodes && shown < nfailed; k++) {
		if (!rp_failed(rp_status(in, order[k])))
			continue;
		if (b->len - start > REPORT_FAILS_MAX)
			break;
		rp_failure(b, in, nodes_fd, order[k]);
		shown++;
	}
	if (shown < nfailed) {
		strbuf_lit(b, "<p class=\"note\">");
		h_uint(b, nfailed - shown);
		strbuf_lit(b, " more failed nodes are not shown here to keep "
		    "this page small: their errors are in the table below, "
		    "their logs in <code>nodes/NODE/stderr.log</code> in the "
		    "bundle.</p>\n");
	}
	if (nodes_fd >= 0)
		close(nodes_fd);
}

/* The commands that run the job again: retry of the bundle, and under
 * watch the same through the spool. */
static void
rp_retry(struct strbuf *b, const struct report_in *in)
{
	strbuf_lit(b, "<h2 id=\"retry\">Retry</h2>\n");
	if (in->sj->status == DS_SUCCEEDED)
		strbuf_lit(b, "<p>Every node that had to succeed succeeded: "
		    "a retry has nothing to run unless it is told what to run "
		    "again with <code>--from NODE</code> (repeatable: NODE and "
		    "everything below it).</p>\n");
	else
		strbuf_lit(b, "<p>A retry is a new job: what succeeded here "
		    "is reused (its outputs and values restored), every other "
		    "node runs. <code>--from NODE</code> (repeatable) also runs "
		    "NODE and everything below it again.</p>\n");
	strbuf_lit(b, "<pre class=\"retry\">");
	if (in->spool != NULL) {
		strbuf_lit(b, "dagexec submit -s ");
		h_sh(b, in->spool);
		strbuf_lit(b, " --retry ");
		h_sh(b, in->sj->job);
		strbuf_lit(b, "\n");
	}
	strbuf_lit(b, "dagexec retry ");
	rp_bundle(b, in);
	strbuf_lit(b, "\n</pre>\n");
	if (in->spool != NULL)
		strbuf_lit(b, "<p class=\"note\">The first asks the spool's "
		    "daemon to run it; the second runs it here, in the "
		    "foreground.</p>\n");
	else
		strbuf_lit(b, "<p class=\"note\">The path is where the "
		    "bundle was written.</p>\n");
}

/* One row of the node table. Closing tags are left out, as HTML allows:
 * a few thousand rows stay small. */
static void
rp_row(struct strbuf *b, const struct report_in *in, size_t i)
{
	const struct node_run	*r = rp_run(in, i);
	const char		*st = node_status_name(rp_status(in, i));
	const char		*unrun = rp_unrun(in, i);
	const char		*why;
	char			 buf[32];
	int64_t			 dur = -1;

	if (unrun != NULL)
		st = unrun;
	strbuf_lit(b, "<tr><td id=\"n-");
	h_esc(b, in->m->nodes[i].id);
	strbuf_lit(b, "\">");
	h_esc(b, in->m->nodes[i].id);
	strbuf_lit(b, "<td class=\"");
	strbuf_str(b, st);
	strbuf_lit(b, "\" data-v=\"");
	strbuf_int(b, render_rank(rp_status(in, i)));
	strbuf_lit(b, "\">");
	strbuf_str(b, st);
	strbuf_lit(b, "<td>");
	if (r != NULL && unrun == NULL)
		strbuf_int(b, r->attempts);
	else
		strbuf_lit(b, "0");
	strbuf_lit(b, "<td>");
	if (r != NULL && (why = reason_name(r->reason)) != NULL)
		strbuf_str(b, why);
	if (r != NULL && unrun == NULL && r->started_ms >= 0 &&
	    r->finished_ms >= 0)
		dur = r->finished_ms - r->started_ms;
	render_ms(dur, buf, sizeof buf);
	strbuf_lit(b, "<td data-v=\"");
	strbuf_int(b, dur);
	strbuf_lit(b, "\">");
	strbuf_str(b, buf);
	render_ms(r != NULL && r->attempts > 0 ? r->cpu_ms : -1, buf,
	    sizeof buf);
	strbuf_lit(b, "<td data-v=\"");
	strbuf_int(b, r != NULL && r->attempts > 0 ? r->cpu_ms : -1);
	strbuf_lit(b, "\">");
	strbuf_str(b, buf);
	if (r != NULL && r->attempts > 0 && r->max_rss_kb > 0)
		units_format_size(r->max_rss_kb * 1024, buf, sizeof buf);
	else
		snprintf(buf, sizeof buf, "-");
	strbuf_lit(b, "<td data-v=\"");
	strbuf_int(b, r != NULL && r->attempts > 0 ? r->max_rss_kb : -1);
	strbuf_lit(b, "\">");
	strbuf_str(b, buf);
	strbuf_lit(b, "<td>");
	if (r != NULL)
		rp_metrics(b, r->metrics, r->nmetrics);
	strbuf_lit(b, "<td>");
	if (in->sj->cached != NULL && in->sj->cached[i].hit)
		rp_metrics(b, in->sj->cached[i].saved,
		    in->sj->cached[i].nsaved);
	strbuf_lit(b, "<td>");
	if (unrun != NULL && *unrun == 'r') {
		strbuf_lit(b, "reused from ");
		h_esc(b, in->sj->reused_from[i]);
	} else if (unrun != NULL)
		strbuf_lit(b, "restored from the cache");
	else if (r != NULL && r->error != NULL)
		h_text_max(b, r->error, strlen(r->error), REPORT_ERR_MAX,
		    false);
	strbuf_lit(b, "\n");
}

/* The node table, failures first, within REPORT_ROWS_MAX bytes. */
static void
rp_table(struct strbuf *b, const struct report_in *in, const size_t *order)
{
	size_t	k, start;

	strbuf_lit(b, "<h2>Nodes</h2>\n<p class=\"note\">Failures first, "
	    "as in summary.txt; click a column's header to sort by it.</p>\n"
	    "<table id=\"nodes\">\n<thead><tr><th>Node<th>Status"
	    "<th>Attempts<th>Reason<th>Time<th>CPU<th>Max RSS<th>Metrics"
	    "<th>Saved<th>Error or origin</tr></thead>\n<tbody>\n");
	start = b->len;
	for (k = 0; k < in->m->nnodes && b->len - start <= REPORT_ROWS_MAX;
	    k++)
		rp_row(b, in, order[k]);
	strbuf_lit(b, "</tbody>\n</table>\n");
	if (k < in->m->nnodes) {
		strbuf_lit(b, "<p class=\"note\">");
		h_uint(b, in->m->nnodes - k);
		strbuf_lit(b, " more nodes (");
		strbuf_str(b, node_status_name(rp_status(in, order[k])));
		strbuf_lit(b, " or later in summary.txt's order) are not listed "
		    "to keep this page small: every node is in <a href=\""
		    "summary.txt\">summary.txt</a> and <a href=\"state.yaml\">"
		    "state.yaml</a> in the bundle.</p>\n");
	}
}

/* The bundle's timeline.svg inlined (its XML declaration left out), or a
 * link to it when it is larger than REPORT_SVG_MAX. */
static void
rp_timeline(struct strbuf *b, const struct report_in *in)
{
	const char	*s = in->svg, *p;
	size_t		 len = in->svg_len;
	char		 size[32];

	strbuf_lit(b, "<h2 id=\"timeline\">Timeline</h2>\n");
	if (s == NULL) {
		strbuf_lit(b, "<p class=\"note\">No timeline could be drawn "
		    "(see the job's log).</p>\n");
		return;
	}
	if (len > REPORT_SVG_MAX) {
		units_format_size((int64_t)len, size, sizeof size);
		strcat(size, "iB");
		strbuf_lit(b, "<p class=\"note\">The timeline is too large to "
		    "inline here (");
		strbuf_str(b, size);
		strbuf_lit(b, "): it is <a href=\"timeline.svg\">"
		    "timeline.svg</a> in the bundle.</p>\n");
		return;
	}
	if (len > 5 && strncmp(s, "<?xml", 5) == 0 &&
	    (p = memchr(s, '\n', len)) != NULL) {
		len -= (size_t)(p + 1 - s);
		s = p + 1;
	}
	strbuf_lit(b, "<p class=\"note\">Hover over a bar for its attempt's "
	    "times, exit and error; the same chart is <a href=\"timeline.svg\">"
	    "timeline.svg</a> in the bundle.</p>\n<div class=\"tl\">\n");
	strbuf_add(b, s, len);
	strbuf_lit(b, "</div>\n");
}

char *
report_render(const struct report_in *in, size_t *len)
{
	struct strbuf		 b = STRBUF_INIT;
	struct state_job	 none;
	struct report_in	 copy;
	struct rp_counts	 c;
	size_t			*order;

	if (in->sj == NULL) {
		memset(&none, 0, sizeof none);
		none.job = "";
		none.status = DS_QUEUED;
		none.started_ms = none.finished_ms = -1;
		copy = *in;
		copy.sj = &none;
		in = &copy;
	}
	rp_count(in, &c);
	order = rp_order(in);
	/* a guess at the size: about 160 bytes a row, the timeline inlined */
	strbuf_room(&b, 16384 + (in->m->nnodes < REPORT_ROWS_MAX / 160 ?
	    in->m->nnodes * 160 : REPORT_ROWS_MAX) + (in->svg_len <=
	    REPORT_SVG_MAX ? in->svg_len : 0));
	rp_head(&b, in, &c);
	rp_failures(&b, in, order, c.failed);
	rp_retry(&b, in);
	rp_table(&b, in, order);
	rp_timeline(&b, in);
	strbuf_lit(&b, "<script>");
	strbuf_lit(&b, rp_script);
	strbuf_lit(&b, "</script>\n</body>\n</html>\n");
	free(order);
	*len = b.len;
	return b.s;
}

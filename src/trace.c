/*
 * Chrome trace-event JSON, written directly into one growing buffer: the
 * same bytes as json_dumps(JSON_INDENT(1) | JSON_PRESERVE_ORDER) of the
 * event tree, without building the tree. jansson escapes every string that
 * needs it (anything but printable ASCII without '"' and '\\'); the tests
 * check the output byte for byte against a jansson-built rendering.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fsutil.h"
#include "strbuf.h"
#include "trace.h"
#include "xmalloc.h"

/*
 * A JSON string. Printable ASCII other than '"' and '\\' needs no escape and
 * is copied between quotes; anything else is escaped by jansson. jansson
 * refuses strings that are not UTF-8: those fall back to a lossy copy, each
 * byte >= 0x80 replaced by '?'.
 */
static void
trace_str(struct strbuf *b, const char *s)
{
	json_t		*j;
	char		*c, *p;
	size_t		 i, n, need;
	unsigned char	 c0;

	for (n = 0; s[n] != '\0'; n++) {
		c0 = (unsigned char)s[n];
		if (c0 < 0x20 || c0 > 0x7e || c0 == '"' || c0 == '\\')
			break;
	}
	if (s[n] == '\0') {
		p = strbuf_room(b, n + 2);
		p[0] = '"';
		memcpy(p + 1, s, n);
		p[n + 1] = '"';
		b->len += n + 2;
		b->s[b->len] = '\0';
		return;
	}
	if ((j = json_string(s)) == NULL) {
		c = xstrdup(s);
		for (i = 0; c[i] != '\0'; i++)
			if ((unsigned char)c[i] >= 0x80)
				c[i] = '?';
		j = json_string(c);
		free(c);
		if (j == NULL && (j = json_string("")) == NULL)
			abort();	/* only on allocation failure */
	}
	/* at most six bytes a byte ("\u001f") and the quotes */
	n = strlen(s);
	if (n > (SIZE_MAX - 3) / 6)
		abort();
	(void)strbuf_room(b, n * 6 + 2);
	need = json_dumpb(j, b->s + b->len, b->cap - b->len - 1,
	    JSON_ENCODE_ANY);
	json_decref(j);
	if (need == 0 || need > b->cap - b->len - 1)
		abort();
	b->len += need;
	b->s[b->len] = '\0';
}

static const char *
trace_outcome(const struct node_run *r, size_t k)
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

/*
 * Written directly in one pass, byte for byte what json_dumps(JSON_INDENT(1)
 * | JSON_PRESERVE_ORDER) prints for the tree of events the trace is: a
 * newline and one space a level before every member, ": " after a key, ","
 * right after a member that has a next, no newline at the end. The suite
 * (tests/test_timeline.c) compares it with a jansson-built reference.
 */
static void
trace_emit(struct strbuf *b, const struct manifest *m,
    const struct node_run *const *runs, const struct state_job *sj)
{
	const struct node_run	*r;
	const struct attempt	*a;
	unsigned char		*slot_seen = NULL;
	const char		*reason;
	size_t			 i, k, nslots = 0, natt = 0;
	int64_t			 t0 = INT64_MAX, t_end = INT64_MIN, end;
	char			 when[40];

	if (sj != NULL && sj->started_ms >= 0)
		t0 = sj->started_ms;
	if (sj != NULL && sj->finished_ms >= 0)
		t_end = sj->finished_ms;
	for (i = 0; runs != NULL && i < m->nnodes; i++) {
		if ((r = runs[i]) == NULL)
			continue;
		natt += r->nhist;
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

	/* a guess at the size: about 230 bytes an attempt, 250 a slot */
	if (natt < SIZE_MAX / 512 && nslots < SIZE_MAX / 512 && !b->spill)
		(void)strbuf_room(b, 1024 + natt * 256 + nslots * 256);

	strbuf_lit(b, "{\n \"traceEvents\": [\n  {\n"
	    "   \"name\": \"process_name\",\n   \"ph\": \"M\",\n"
	    "   \"pid\": 1,\n   \"args\": {\n    \"name\": ");
	trace_str(b, m->name);
	strbuf_lit(b, "\n   }\n  }");
	for (i = 0; i < nslots; i++) {
		if (!slot_seen[i])
			continue;
		strbuf_lit(b, ",\n  {\n   \"name\": \"thread_name\",\n"
		    "   \"ph\": \"M\",\n   \"pid\": 1,\n   \"tid\": ");
		strbuf_int(b, (int64_t)i);
		strbuf_lit(b, ",\n   \"args\": {\n    \"name\": \"slot ");
		strbuf_int(b, (int64_t)i);
		strbuf_lit(b, "\"\n   }\n  },\n  {\n"
		    "   \"name\": \"thread_sort_index\",\n   \"ph\": \"M\",\n"
		    "   \"pid\": 1,\n   \"tid\": ");
		strbuf_int(b, (int64_t)i);
		strbuf_lit(b, ",\n   \"args\": {\n    \"sort_index\": ");
		strbuf_int(b, (int64_t)i);
		strbuf_lit(b, "\n   }\n  }");
	}
	for (i = 0; runs != NULL && i < m->nnodes; i++) {
		if ((r = runs[i]) == NULL)
			continue;
		for (k = 0; k < r->nhist; k++) {
			a = &r->hist[k];
			end = a->end_ms >= 0 ? a->end_ms : t_end;
			strbuf_lit(b, ",\n  {\n   \"name\": ");
			trace_str(b, m->nodes[i].id);
			strbuf_lit(b, ",\n   \"cat\": \"node\",\n"
			    "   \"ph\": \"X\",\n   \"ts\": ");
			strbuf_int(b, (a->start_ms - t0) * 1000);
			strbuf_lit(b, ",\n   \"dur\": ");
			strbuf_int(b, (end - a->start_ms) * 1000);
			strbuf_lit(b, ",\n   \"pid\": 1,\n   \"tid\": ");
			strbuf_int(b, a->slot >= 0 ? a->slot : 0);
			strbuf_lit(b, ",\n   \"args\": {\n    \"attempt\": ");
			strbuf_int(b, (int64_t)(k + 1));
			strbuf_lit(b, ",\n    \"status\": ");
			trace_str(b, trace_outcome(r, k));
			strbuf_lit(b, ",\n    \"exit\": ");
			if (a->exit_code >= 0)
				strbuf_int(b, a->exit_code);
			else
				strbuf_lit(b, "null");
			if (a->signal > 0) {
				strbuf_lit(b, ",\n    \"signal\": ");
				strbuf_int(b, a->signal);
			}
			/* no name (out of range): no member, as before */
			if (a->reason != REASON_NONE &&
			    (reason = reason_name(a->reason)) != NULL) {
				strbuf_lit(b, ",\n    \"reason\": ");
				trace_str(b, reason);
			}
			strbuf_lit(b, ",\n    \"error\": ");
			if (k + 1 == r->nhist && r->error != NULL)
				trace_str(b, r->error);
			else
				strbuf_lit(b, "null");
			strbuf_lit(b, "\n   }\n  }");
		}
	}
	strbuf_lit(b, "\n ],\n \"displayTimeUnit\": \"ms\",\n"
	    " \"otherData\": {\n  \"dag\": ");
	trace_str(b, m->name);
	strbuf_lit(b, ",\n  \"status\": ");
	trace_str(b, sj != NULL ? dag_status_name(sj->status) : "unknown");
	if (sj != NULL && sj->job != NULL) {
		strbuf_lit(b, ",\n  \"job\": ");
		trace_str(b, sj->job);
	}
	if (sj != NULL) {
		state_format_time(sj->wall_base_ms + t0 - sj->mono_base_ms,
		    when, sizeof when);
		strbuf_lit(b, ",\n  \"started_at\": ");
		trace_str(b, when);
	}
	strbuf_lit(b, "\n }\n}");
	free(slot_seen);
}

char *
trace_render(const struct manifest *m, const struct node_run *const *runs,
    const struct state_job *sj, size_t *len)
{
	struct strbuf b = STRBUF_INIT;

	trace_emit(&b, m, runs, sj);
	*len = b.len;
	return b.s;
}

int
trace_write_fd(int fd, const struct manifest *m,
    const struct node_run *const *runs, const struct state_job *sj)
{
	struct strbuf b;
	int rc;

	strbuf_init_spill(&b, fd);
	trace_emit(&b, m, runs, sj);
	rc = strbuf_flush(&b);
	strbuf_release(&b);
	return rc;
}

/* Chrome trace-event JSON, built with jansson (every string escaped by it). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fsutil.h"
#include "trace.h"
#include "xmalloc.h"

/* jansson refuses strings that are not UTF-8: fall back to a lossy copy. */
static json_t *
trace_str(const char *s)
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
trace_add(json_t *arr, json_t *ev)
{
	if (ev == NULL || json_array_append_new(arr, ev) != 0)
		abort();	/* only on allocation failure */
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

char *
trace_render(const struct manifest *m, const struct node_run *const *runs,
    const struct state_job *sj, size_t *len)
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
	trace_add(evs, json_pack("{s:s, s:s, s:i, s:{s:o}}", "name",
	    "process_name", "ph", "M", "pid", 1, "args", "name",
	    trace_str(m->name)));
	for (i = 0; i < nslots; i++) {
		if (!slot_seen[i])
			continue;
		name = xasprintf("slot %zu", i);
		trace_add(evs, json_pack("{s:s, s:s, s:i, s:I, s:{s:s}}",
		    "name", "thread_name", "ph", "M", "pid", 1, "tid",
		    (json_int_t)i, "args", "name", name));
		free(name);
		trace_add(evs, json_pack("{s:s, s:s, s:i, s:I, s:{s:I}}",
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
			    (json_int_t)(k + 1), "status", trace_outcome(r, k));
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
			    trace_str(r->error) : json_null());
			ev = json_pack("{s:o, s:s, s:s, s:I, s:I, s:i, s:I, "
			    "s:o}", "name", trace_str(m->nodes[i].id), "cat",
			    "node", "ph", "X", "ts",
			    (json_int_t)((a->start_ms - t0) * 1000), "dur",
			    (json_int_t)((end - a->start_ms) * 1000), "pid", 1,
			    "tid", (json_int_t)(a->slot >= 0 ? a->slot : 0),
			    "args", args);
			trace_add(evs, ev);
		}
	}
	if (json_object_set_new(root, "traceEvents", evs) != 0 ||
	    json_object_set_new(root, "displayTimeUnit",
	    json_string("ms")) != 0)
		abort();
	ev = json_pack("{s:o, s:s}", "dag", trace_str(m->name), "status",
	    sj != NULL ? dag_status_name(sj->status) : "unknown");
	if (ev == NULL)
		abort();
	if (sj != NULL && sj->job != NULL)
		json_object_set_new(ev, "job", trace_str(sj->job));
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

int
trace_write(const char *path, const struct manifest *m,
    const struct sched *s, const struct state_job *sj, char **cause)
{
	const struct node_run	**runs;
	size_t			  len;
	char			 *text;
	int			  rc;

	runs = sched_runs(s);
	text = trace_render(m, runs, sj, &len);
	rc = fs_write_atomic(path, text, len, 0644, cause);
	free(text);
	free(runs);
	return rc;
}

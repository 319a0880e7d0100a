/* The names of the run vocabulary (run.h), as interface §6 writes them. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "run.h"
#include "xmalloc.h"

static const char *const reason_names[REASON__COUNT] = {
	[REASON_NONE] = NULL,
	[REASON_EXIT] = "exit",
	[REASON_SIGNAL] = "signal",
	[REASON_TIMEOUT] = "timeout",
	[REASON_RLIMIT_CPU] = "rlimit_cpu",
	[REASON_RLIMIT_FSIZE] = "rlimit_fsize",
	[REASON_SPAWN_ERROR] = "spawn_error",
	[REASON_OUTPUT_MISSING] = "output_missing",
	[REASON_HTTP_STATUS] = "http_status",
	[REASON_CHECKSUM] = "checksum",
	[REASON_UPSTREAM_FAILED] = "upstream_failed",
	[REASON_CANCELLED] = "cancelled",
	[REASON_BUDGET] = "budget",
	[REASON_DEADLINE] = "deadline",
	[REASON_LOST] = "lost",
	[REASON_OOM] = "oom",
	[REASON_EMPTY] = "empty",
};

const char *
reason_name(enum reason r)
{
	if ((int)r <= REASON_NONE || r >= REASON__COUNT)
		return NULL;
	return reason_names[r];
}

int
reason_parse(const char *s)
{
	int i;

	for (i = REASON_NONE + 1; i < REASON__COUNT; i++) {
		if (strcmp(reason_names[i], s) == 0)
			return i;
	}
	return -1;
}

static const char *const node_status_names[NS__COUNT] = {
	"pending", "running", "retrying", "succeeded", "failed", "skipped",
	"cancelled", "timed_out"
};

static const char *const dag_status_names[DS__COUNT] = {
	"queued", "running", "succeeded", "failed", "cancelled", "timed_out",
	"budget_exceeded", "interrupted"
};

const char *
node_status_name(enum node_status st)
{
	if ((unsigned)st >= NS__COUNT)
		return ("unknown");
	return (node_status_names[st]);
}

bool
node_status_final(enum node_status st)
{
	return (st == NS_SUCCEEDED || st == NS_FAILED || st == NS_SKIPPED ||
	    st == NS_CANCELLED || st == NS_TIMED_OUT);
}

const char *
dag_status_name(enum dag_status st)
{
	if ((unsigned)st >= DS__COUNT)
		return ("unknown");
	return (dag_status_names[st]);
}

void
metric_add(struct metric **v, size_t *n, const char *name, double value)
{
	size_t k;

	for (k = 0; k < *n; k++)
		if (strcmp((*v)[k].name, name) == 0) {
			(*v)[k].value += value;
			return;
		}
	*v = xreallocarray(*v, *n + 1, sizeof **v);
	(*v)[*n].name = xstrdup(name);
	(*v)[*n].value = value;
	(*n)++;
}

double
metric_get(const struct metric *v, size_t n, const char *name)
{
	size_t k;

	for (k = 0; k < n; k++)
		if (strcmp(v[k].name, name) == 0)
			return v[k].value;
	return 0;
}

void
metrics_free(struct metric *v, size_t n)
{
	size_t k;

	for (k = 0; k < n; k++)
		free(v[k].name);
	free(v);
}

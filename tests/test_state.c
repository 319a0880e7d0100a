/* CUnit suite for src/state.c: state.yaml rendering, atomic writes, reading
 * it back. */
#include "config.h"

#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <yaml.h>

#include "cunit_main.h"
#include "rng.h"
#include "diag.h"
#include "errtail.h"
#include "fsutil.h"
#include "manifest.h"
#include "sched.h"
#include "sandbox.h"
#include "state.h"
#include "xmalloc.h"

static char tmpdir[] = "/tmp/test_state.XXXXXX";

/* ---- a hand-built manifest and run ----------------------------------- */

static const char *ids[] = {
	"gather-sources",
	"say \"hi\": # not a comment",
	"line\nbreak",
	"   leading spaces",
	"caf\xc3\xa9-\xe2\x82\xac",
	"null",
	"123",
	"- dash: [x] {y}",
};
#define NIDS (sizeof ids / sizeof ids[0])
static size_t waves[NIDS] = { 0, 1, 1, 2, 2, 3, 3, 3 };

static struct manifest	 man;
static struct node	 nodes[NIDS];
static struct node_run	 runs[NIDS];
static const struct node_run *runp[NIDS];
static struct metric	 m0[] = { { (char []){ "tokens" }, 4500 },
			    { (char []){ "cost" }, 0.05 } };
static struct metric	 dagm[] = { { (char []){ "tokens" }, 4500 },
			    { (char []){ "cost" }, 0.1 },
			    { (char []){ "big" }, 1e300 },
			    { (char []){ "neg" }, -2.5 } };
static char dagname[] = "research-pipeline";
static char err_quoted[] = "killed by SIGKILL after timeout 30s: \"x\" # y\n"
    "second line\t\xc3\xa9";
static char err_badutf8[] = "bad \xff\xfe bytes";

static const struct state_job sj = {
	.job = "research-pipeline-20261128T101500-3f2a",
	.status = DS_RUNNING,
	.mono_base_ms = 1000,
	.wall_base_ms = 1795860900120 - 5,	/* mono 1005 -> 10:15:00.120 */
	.started_ms = 1005,
	.finished_ms = -1,
};

static void
setup_manifest(void)
{
	size_t	i;

	memset(&man, 0, sizeof man);
	memset(nodes, 0, sizeof nodes);
	man.name = dagname;
	man.nodes = nodes;
	man.nnodes = NIDS;
	for (i = 0; i < NIDS; i++)
		nodes[i].id = (char *)(uintptr_t)ids[i];
	man.graph.n = NIDS;
	man.graph.wave = waves;
	man.graph.nwaves = 4;

	memset(runs, 0, sizeof runs);
	for (i = 0; i < NIDS; i++) {
		runs[i].status = NS_PENDING;
		runs[i].exit_code = -1;
		runs[i].started_ms = -1;
		runs[i].finished_ms = -1;
		runp[i] = &runs[i];
	}
	/* wave 0: completed */
	runs[0].status = NS_SUCCEEDED;
	runs[0].attempts = 1;
	runs[0].exit_code = 0;
	runs[0].started_ms = 1005;
	runs[0].finished_ms = 1005 + 28500;
	runs[0].cpu_ms = 310;
	runs[0].max_rss_kb = 10240;
	runs[0].metrics = m0;
	runs[0].nmetrics = 2;
	/* wave 1: running (one running, one retrying) */
	runs[1].status = NS_RUNNING;
	runs[1].attempts = 1;
	runs[1].started_ms = 30000;
	runs[2].status = NS_RETRYING;
	runs[2].attempts = 2;
	runs[2].exit_code = 3;
	runs[2].started_ms = 30000;
	runs[2].reason = REASON_EXIT;
	runs[2].error = err_badutf8;
	/* wave 2: completed: timed out and cancelled */
	runs[3].status = NS_TIMED_OUT;
	runs[3].attempts = 3;
	runs[3].signal = SIGKILL;
	runs[3].started_ms = 2000;
	runs[3].finished_ms = 3000;
	runs[3].reason = REASON_TIMEOUT;
	runs[3].error = err_quoted;
	runs[4].status = NS_CANCELLED;
	runs[4].reason = REASON_CANCELLED;
	/* wave 3: pending, one skipped, one failed */
	runs[5].status = NS_SKIPPED;
	runs[5].reason = REASON_UPSTREAM_FAILED;
	runs[6].status = NS_FAILED;
	runs[6].attempts = 1;
	runs[6].signal = SIGSEGV;
	runs[6].reason = REASON_SIGNAL;
	runs[6].started_ms = 4000;
	runs[6].finished_ms = 4001;
	runs[7].status = NS_PENDING;
}

/* ---- a small YAML reader for the checks ------------------------------ */

static yaml_document_t	doc;

static int
load(const char *text, size_t len)
{
	yaml_parser_t	p;
	int		ok;

	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	ok = yaml_parser_load(&p, &doc);
	if (!ok)
		fprintf(stderr, "\nparse error: %s at line %zu\n", p.problem,
		    p.problem_mark.line + 1);
	yaml_parser_delete(&p);
	return ok;
}

static yaml_node_t *
node_at(int i)
{
	return yaml_document_get_node(&doc, i);
}

/* The key of pair k of mapping n. */
static const char *
key_at(yaml_node_t *n, size_t k)
{
	yaml_node_t	*kn;

	if (n == NULL || n->type != YAML_MAPPING_NODE ||
	    n->data.mapping.pairs.start + k >= n->data.mapping.pairs.top)
		return NULL;
	kn = node_at(n->data.mapping.pairs.start[k].key);
	return kn->type == YAML_SCALAR_NODE ?
	    (const char *)kn->data.scalar.value : NULL;
}

static size_t
map_len(yaml_node_t *n)
{
	if (n == NULL || n->type != YAML_MAPPING_NODE)
		return 0;
	return (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
}

static yaml_node_t *
get(yaml_node_t *n, const char *key)
{
	size_t	k;

	for (k = 0; k < map_len(n); k++) {
		if (strcmp(key_at(n, k), key) == 0)
			return node_at(n->data.mapping.pairs.start[k].value);
	}
	return NULL;
}

/* The scalar's text, "<null>" for a plain null, "<none>" when absent. */
static const char *
sval(yaml_node_t *n)
{
	if (n == NULL || n->type != YAML_SCALAR_NODE)
		return "<none>";
	if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    strcmp((char *)n->data.scalar.value, "null") == 0)
		return "<null>";
	return (const char *)n->data.scalar.value;
}

static yaml_node_t *
seq_at(yaml_node_t *n, size_t i)
{
	if (n == NULL || n->type != YAML_SEQUENCE_NODE ||
	    n->data.sequence.items.start + i >= n->data.sequence.items.top)
		return NULL;
	return node_at(n->data.sequence.items.start[i]);
}

static size_t
seq_len(yaml_node_t *n)
{
	if (n == NULL || n->type != YAML_SEQUENCE_NODE)
		return 0;
	return (size_t)(n->data.sequence.items.top -
	    n->data.sequence.items.start);
}

/* ---- tests ------------------------------------------------------------ */

static void
test_format_time(void)
{
	char	buf[64];

	CU_ASSERT_STRING_EQUAL(state_format_time(1795860900120, buf,
	    sizeof buf), "2026-11-28T10:15:00.120Z");
	CU_ASSERT_STRING_EQUAL(state_format_time(0, buf, sizeof buf),
	    "1970-01-01T00:00:00.000Z");
	CU_ASSERT_STRING_EQUAL(state_format_time(-1, buf, sizeof buf),
	    "1969-12-31T23:59:59.999Z");
	CU_ASSERT_STRING_EQUAL(state_format_time(951782400007, buf,
	    sizeof buf), "2000-02-29T00:00:00.007Z");
}

static const char *top_keys[] = {
	"dag", "job", "status", "started_at", "finished_at", "duration_ms",
	"progress", "waves", "nodes", "metrics"
};
static const char *node_keys[] = {
	"status", "wave", "attempts", "exit_code", "signal", "started_at",
	"finished_at", "duration_ms", "cpu_ms", "max_rss_kb", "metrics",
	"reason", "error"
};

static void
test_render_parse_back(void)
{
	yaml_node_t	*root, *n, *w, *nd;
	char		*text;
	size_t		 len, i, k;
	static const char *wstatus[] = {
		"completed", "running", "completed", "running"
	};

	setup_manifest();
	text = state_render(&man, runp, dagm, 4, &sj, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_EQUAL(strlen(text), len);
	CU_ASSERT_FATAL(load(text, len));
	root = yaml_document_get_root_node(&doc);
	CU_ASSERT_EQUAL_FATAL(map_len(root), 10);
	for (k = 0; k < 10; k++)
		CU_ASSERT_STRING_EQUAL(key_at(root, k), top_keys[k]);
	CU_ASSERT_STRING_EQUAL(sval(get(root, "dag")), "research-pipeline");
	CU_ASSERT_STRING_EQUAL(sval(get(root, "job")),
	    "research-pipeline-20261128T101500-3f2a");
	CU_ASSERT_STRING_EQUAL(sval(get(root, "status")), "running");
	CU_ASSERT_STRING_EQUAL(sval(get(root, "started_at")),
	    "2026-11-28T10:15:00.120Z");
	CU_ASSERT_STRING_EQUAL(sval(get(root, "finished_at")), "<null>");
	CU_ASSERT_STRING_EQUAL(sval(get(root, "duration_ms")), "<null>");

	/* progress: running counts NS_RUNNING only, retrying is pending,
	 * failed counts failed + timed_out + cancelled. */
	n = get(root, "progress");
	CU_ASSERT_EQUAL(n->data.mapping.style, YAML_FLOW_MAPPING_STYLE);
	CU_ASSERT_STRING_EQUAL(sval(get(n, "total")), "8");
	CU_ASSERT_STRING_EQUAL(sval(get(n, "pending")), "2");
	CU_ASSERT_STRING_EQUAL(sval(get(n, "running")), "1");
	CU_ASSERT_STRING_EQUAL(sval(get(n, "succeeded")), "1");
	CU_ASSERT_STRING_EQUAL(sval(get(n, "failed")), "3");
	CU_ASSERT_STRING_EQUAL(sval(get(n, "skipped")), "1");
	CU_ASSERT_STRING_EQUAL(key_at(n, 0), "total");
	CU_ASSERT_STRING_EQUAL(key_at(n, 5), "skipped");

	n = get(root, "waves");
	CU_ASSERT_EQUAL_FATAL(seq_len(n), 4);
	for (i = 0; i < 4; i++) {
		w = seq_at(n, i);
		CU_ASSERT_EQUAL(w->data.mapping.style, YAML_FLOW_MAPPING_STYLE);
		CU_ASSERT_STRING_EQUAL(key_at(w, 0), "wave");
		CU_ASSERT_STRING_EQUAL(key_at(w, 1), "status");
		CU_ASSERT_STRING_EQUAL(key_at(w, 2), "nodes");
		CU_ASSERT_EQUAL(atoi(sval(get(w, "wave"))), (int)i);
		CU_ASSERT_STRING_EQUAL(sval(get(w, "status")), wstatus[i]);
	}
	w = get(seq_at(n, 3), "nodes");
	CU_ASSERT_EQUAL_FATAL(seq_len(w), 3);
	CU_ASSERT_STRING_EQUAL(sval(seq_at(w, 0)), "null");	/* quoted */
	CU_ASSERT_NOT_EQUAL(seq_at(w, 0)->data.scalar.style,
	    YAML_PLAIN_SCALAR_STYLE);
	CU_ASSERT_STRING_EQUAL(sval(seq_at(w, 1)), "123");
	CU_ASSERT_NOT_EQUAL(seq_at(w, 1)->data.scalar.style,
	    YAML_PLAIN_SCALAR_STYLE);
	CU_ASSERT_STRING_EQUAL(sval(seq_at(w, 2)), ids[7]);
	w = get(seq_at(n, 1), "nodes");
	CU_ASSERT_EQUAL_FATAL(seq_len(w), 2);
	CU_ASSERT_STRING_EQUAL(sval(seq_at(w, 0)), ids[1]);
	CU_ASSERT_STRING_EQUAL(sval(seq_at(w, 1)), ids[2]);

	/* nodes: every id round-trips exactly, in manifest order. */
	n = get(root, "nodes");
	CU_ASSERT_EQUAL_FATAL(map_len(n), NIDS);
	for (i = 0; i < NIDS; i++) {
		CU_ASSERT_STRING_EQUAL(key_at(n, i), ids[i]);
		nd = node_at(n->data.mapping.pairs.start[i].value);
		CU_ASSERT_EQUAL_FATAL(map_len(nd), 13);
		for (k = 0; k < 13; k++)
			CU_ASSERT_STRING_EQUAL(key_at(nd, k), node_keys[k]);
		CU_ASSERT_EQUAL(atoi(sval(get(nd, "wave"))), (int)waves[i]);
	}
	nd = get(n, ids[0]);
	CU_ASSERT_STRING_EQUAL(sval(get(nd, "status")), "succeeded");
	CU_ASSERT_STRING_EQUAL(sval(get(nd, "attempts")), "1");
	CU_ASSERT_STRING_EQUAL(sval(get(nd, "exit_code")), "0");
	CU_ASSERT_STRING_EQUAL(sval(get(nd, "signal")), "<null>");
	CU_ASSERT_STRING_EQUAL(sval(get(nd, "started_at")),
	    "2026-11-28T10:15:00.120Z");
	CU_ASSERT_STRING_EQUAL(sval(get(nd, "finished_at")),
	    "2026-11-28T10:15:28.620Z");
	CU_ASSERT_STRING_EQUAL(sval(get(nd, "duration_ms")), "28500");
	CU_ASSERT_STRING_EQUAL(sval(get(nd, "cpu_ms")), "310");
	CU_ASSERT_STRING_EQUAL(sval(get(nd, "max_rss_kb")), "10240");
	CU_ASSERT_STRING_EQUAL(sval(get(get(nd, "metrics"), "tokens")),
	    "4500");
	CU_ASSERT_STRING_EQUAL(sval(get(get(nd, "metrics"), "cost")), "0.05");
	CU_ASSERT_STRING_EQUAL(sval(get(nd, "reason")), "<null>");
	CU_ASSERT_STRING_EQUAL(sval(get(nd, "error")), "<null>");

	nd = get(n, ids[1]);
	CU_ASSERT_STRING_EQUAL(sval(get(nd, "status")), "running");
	CU_ASSERT_STRING_EQUAL(sval(get(nd, "finished_at")), "<null>");
	CU_ASSERT_STRING_EQUAL(sval(get(nd, "duration_ms")), "<null>");
	CU_ASSERT_EQUAL(map_len(get(nd, "metrics")), 0);

	nd = get(n, ids[2]);
	CU_ASSERT_STRING_EQUAL(sval(get(nd, "status")), "retrying");
	CU_ASSERT_STRING_EQUAL(sval(get(nd, "exit_code")), "3");
	CU_ASSERT_STRING_EQUAL(sval(get(nd, "reason")), "exit");
	/* Invalid UTF-8 is replaced, not a failure. */
	CU_ASSERT_STRING_EQUAL(sval(get(nd, "error")),
	    "bad \xef\xbf\xbd\xef\xbf\xbd bytes");

	nd = get(n, ids[3]);
	CU_ASSERT_STRING_EQUAL(sval(get(nd, "status")), "timed_out");
	CU_ASSERT_STRING_EQUAL(sval(get(nd, "signal")), "SIGKILL");
	CU_ASSERT_STRING_EQUAL(sval(get(nd, "exit_code")), "<null>");
	CU_ASSERT_STRING_EQUAL(sval(get(nd, "duration_ms")), "1000");
	CU_ASSERT_STRING_EQUAL(sval(get(nd, "reason")), "timeout");
	CU_ASSERT_STRING_EQUAL(sval(get(nd, "error")), err_quoted);

	nd = get(n, ids[5]);
	CU_ASSERT_STRING_EQUAL(sval(get(nd, "status")), "skipped");
	CU_ASSERT_STRING_EQUAL(sval(get(nd, "reason")), "upstream_failed");
	CU_ASSERT_STRING_EQUAL(sval(get(nd, "started_at")), "<null>");
	nd = get(n, ids[6]);
	CU_ASSERT_STRING_EQUAL(sval(get(nd, "signal")), "SIGSEGV");

	n = get(root, "metrics");
	CU_ASSERT_EQUAL(map_len(n), 4);
	CU_ASSERT_STRING_EQUAL(sval(get(n, "tokens")), "4500");
	CU_ASSERT_STRING_EQUAL(sval(get(n, "cost")), "0.1");
	CU_ASSERT_EQUAL(strtod(sval(get(n, "big")), NULL), 1e300);
	CU_ASSERT_STRING_EQUAL(sval(get(n, "neg")), "-2.5");

	/* The shape of interface §6, as text. */
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "dag: research-pipeline\n"
	    "job: research-pipeline-20261128T101500-3f2a\nstatus: running\n"
	    "started_at: 2026-11-28T10:15:00.120Z\nfinished_at: null\n"
	    "duration_ms: null\n"
	    "progress: {total: 8, pending: 2, running: 1, succeeded: 1, "
	    "failed: 3, skipped: 1}\nwaves:\n"
	    "- {wave: 0, status: completed, nodes: [gather-sources]}\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\nnodes:\n  gather-sources:\n"
	    "    status: succeeded\n    wave: 0\n    attempts: 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text,
	    "\nmetrics: {tokens: 4500, cost: 0.1, "));

	yaml_document_delete(&doc);
	free(text);
}

static void
test_render_without_sched(void)
{
	struct state_job j = sj;
	yaml_node_t	*root, *n;
	char		*text;
	size_t		 len, i;

	setup_manifest();
	j.status = DS_QUEUED;
	j.started_ms = -1;
	text = state_render(&man, NULL, NULL, 0, &j, &len);
	CU_ASSERT_FATAL(load(text, len));
	root = yaml_document_get_root_node(&doc);
	CU_ASSERT_STRING_EQUAL(sval(get(root, "status")), "queued");
	CU_ASSERT_STRING_EQUAL(sval(get(root, "started_at")), "<null>");
	CU_ASSERT_STRING_EQUAL(sval(get(get(root, "progress"), "pending")),
	    "8");
	n = get(root, "waves");
	for (i = 0; i < seq_len(n); i++)
		CU_ASSERT_STRING_EQUAL(sval(get(seq_at(n, i), "status")),
		    "pending");
	n = get(get(root, "nodes"), ids[4]);
	CU_ASSERT_STRING_EQUAL(sval(get(n, "status")), "pending");
	CU_ASSERT_STRING_EQUAL(sval(get(n, "attempts")), "0");
	CU_ASSERT_STRING_EQUAL(sval(get(n, "exit_code")), "<null>");
	CU_ASSERT_EQUAL(map_len(get(root, "metrics")), 0);
	yaml_document_delete(&doc);
	free(text);

	/* A finished DAG has its end and duration. */
	j.status = DS_SUCCEEDED;
	j.started_ms = 1005;
	j.finished_ms = 61005;
	text = state_render(&man, runp, NULL, 0, &j, &len);
	CU_ASSERT_FATAL(load(text, len));
	root = yaml_document_get_root_node(&doc);
	CU_ASSERT_STRING_EQUAL(sval(get(root, "finished_at")),
	    "2026-11-28T10:16:00.120Z");
	CU_ASSERT_STRING_EQUAL(sval(get(root, "duration_ms")), "60000");
	yaml_document_delete(&doc);
	free(text);
}

static int
count_entries(const char *dir)
{
	DIR		*d = opendir(dir);
	struct dirent	*e;
	int		 n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	}
	closedir(d);
	return n;
}

static void
test_write_atomic(void)
{
	char		*dir = xasprintf("%s/w", tmpdir), *path, *cause = NULL;
	char		*text, *buf;
	size_t		 len, blen;
	struct stat	 st;

	setup_manifest();
	CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0700), 0);
	path = xasprintf("%s/state.yaml", dir);
	CU_ASSERT_EQUAL(fs_write_atomic(path, "old\n", 4, 0600, &cause), 0);
	CU_ASSERT_EQUAL(state_write(path, &man, NULL, NULL, 0, &sj, &cause), 0);
	text = state_render(&man, NULL, NULL, 0, &sj, &len);
	CU_ASSERT_EQUAL_FATAL(fs_read_file(path, 1 << 20, &buf, &blen, &cause),
	    0);
	CU_ASSERT_EQUAL(blen, len);
	CU_ASSERT_STRING_EQUAL(buf, text);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0644);
	CU_ASSERT_EQUAL(count_entries(dir), 1);	/* no .tmp left behind */
	free(buf);
	free(text);

	/* A path under a regular file fails (ENOTDIR even for root) and
	 * leaves nothing. */
	free(path);
	path = xasprintf("%s/state.yaml/x.yaml", dir);
	CU_ASSERT_EQUAL(state_write(path, &man, NULL, NULL, 0, &sj, &cause), -1);
	CU_ASSERT_EQUAL(errno, ENOTDIR);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "x.yaml"));
	free(cause);
	CU_ASSERT_EQUAL(count_entries(dir), 1);
	free(path);
	free(dir);
}

static void
test_read_back(void)
{
	struct state_doc *d;
	char		*path = xasprintf("%s/read.yaml", tmpdir), *cause = NULL;
	char		*text;
	size_t		 i, len;

	setup_manifest();
	text = state_render(&man, runp, dagm, 4, &sj, &len);
	CU_ASSERT_EQUAL_FATAL(fs_write_atomic(path, text, len, 0644, &cause),
	    0);
	free(text);
	CU_ASSERT_EQUAL_FATAL(state_read(path, &d, &cause), 0);
	CU_ASSERT_STRING_EQUAL(d->dag, "research-pipeline");
	CU_ASSERT_STRING_EQUAL(d->job, sj.job);
	CU_ASSERT_STRING_EQUAL(d->status, "running");
	CU_ASSERT_STRING_EQUAL(d->started_at, "2026-11-28T10:15:00.120Z");
	CU_ASSERT_PTR_NULL(d->finished_at);
	CU_ASSERT_EQUAL(d->duration_ms, -1);
	CU_ASSERT_EQUAL(d->total, 8);
	CU_ASSERT_EQUAL(d->pending, 2);
	CU_ASSERT_EQUAL(d->running, 1);
	CU_ASSERT_EQUAL(d->succeeded, 1);
	CU_ASSERT_EQUAL(d->failed, 3);
	CU_ASSERT_EQUAL(d->skipped, 1);
	CU_ASSERT_EQUAL_FATAL(d->nnodes, NIDS);
	for (i = 0; i < NIDS; i++)
		CU_ASSERT_STRING_EQUAL(d->nodes[i].id, ids[i]);
	CU_ASSERT_STRING_EQUAL(d->nodes[0].status, "succeeded");
	CU_ASSERT_EQUAL(d->nodes[0].attempts, 1);
	CU_ASSERT_EQUAL(d->nodes[0].duration_ms, 28500);
	CU_ASSERT_PTR_NULL(d->nodes[0].reason);
	CU_ASSERT_PTR_NULL(d->nodes[0].error);
	CU_ASSERT_STRING_EQUAL(d->nodes[3].status, "timed_out");
	CU_ASSERT_EQUAL(d->nodes[3].attempts, 3);
	CU_ASSERT_STRING_EQUAL(d->nodes[3].reason, "timeout");
	CU_ASSERT_STRING_EQUAL(d->nodes[3].error, err_quoted);
	CU_ASSERT_EQUAL(d->nodes[1].duration_ms, -1);
	/* A node named "null" is a string, not a null. */
	CU_ASSERT_STRING_EQUAL(d->nodes[5].id, "null");
	state_doc_free(d);
	state_doc_free(NULL);
	unlink(path);
	free(path);
}

static void
check_bad(const char *text, const char *want)
{
	struct state_doc *d = NULL;
	char		*cause = NULL;

	CU_ASSERT_EQUAL(state_read_buf("s.yaml", text, strlen(text), &d,
	    &cause), -1);
	CU_ASSERT_PTR_NULL(d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	if (strstr(cause, want) == NULL)
		fprintf(stderr, "\n  got '%s', want '%s'\n", cause, want);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, want));
	free(cause);
}

static void
test_read_errors(void)
{
	const char	*prog = "progress: {total: 0, pending: 0, running: 0, "
	    "succeeded: 0, failed: 0, skipped: 0}\n";
	char		*t;
	struct state_doc *d;
	char		*cause = NULL;

	check_bad("- a\n", "s.yaml: not a YAML mapping");
	check_bad("dag: [x\n", "s.yaml:");
	check_bad("job: j\n", "s.yaml: missing 'dag'");
	check_bad("dag: [x]\n", "s.yaml: 'dag' is not a string");
	check_bad("dag: d\njob: j\nstatus: s\n",
	    "s.yaml: 'progress' is missing or not a mapping");
	t = xasprintf("dag: d\njob: j\nstatus: s\n%snodes: {a: {status: x, "
	    "attempts: -1}}\n", prog);
	check_bad(t, "s.yaml: 'attempts' is not an integer");
	free(t);
	t = xasprintf("dag: d\njob: j\nstatus: s\nduration_ms: 1\n%s"
	    "nodes: {a: 3}\n", prog);
	check_bad(t, "s.yaml: node 'a' is not a mapping");
	free(t);
	t = xasprintf("dag: d\njob: j\nstatus: s\n%s", prog);
	check_bad(t, "s.yaml: missing 'nodes'");
	free(t);

	/* Minimal but fine. */
	t = xasprintf("dag: d\njob: j\nstatus: s\n%snodes: {}\n", prog);
	CU_ASSERT_EQUAL(state_read_buf("s.yaml", t, strlen(t), &d, &cause), 0);
	if (d != NULL) {
		CU_ASSERT_EQUAL(d->nnodes, 0);
		CU_ASSERT_EQUAL(d->duration_ms, -1);
	}
	state_doc_free(d);
	free(t);

	CU_ASSERT_EQUAL(state_read("/nonexistent/state.yaml", &d, &cause), -1);
	CU_ASSERT_EQUAL(errno, ENOENT);
	CU_ASSERT_PTR_NOT_NULL(cause);
	free(cause);
}

/* Many nodes in one wave and many waves: rendering stays linear. */
static void
test_render_large(void)
{
	size_t		 n = 20000, i;
	struct manifest	 big;
	struct node	*bn = xcalloc(n, sizeof *bn);
	size_t		*bw = xcalloc(n, sizeof *bw);
	struct state_doc *d = NULL;
	char		*text, *cause = NULL;
	size_t		 len;

	memset(&big, 0, sizeof big);
	big.name = (char []){ "big" };
	big.nodes = bn;
	big.nnodes = n;
	for (i = 0; i < n; i++) {
		bn[i].id = xasprintf("n%zu", i);
		bw[i] = i;		/* a chain: one node a wave */
	}
	big.graph.n = n;
	big.graph.wave = bw;
	big.graph.nwaves = n;
	text = state_render(&big, NULL, NULL, 0, &sj, &len);
	CU_ASSERT_EQUAL_FATAL(state_read_buf("big", text, len, &d, &cause), 0);
	CU_ASSERT_EQUAL(d->nnodes, n);
	CU_ASSERT_EQUAL(d->pending, n);
	CU_ASSERT_STRING_EQUAL(d->nodes[n - 1].id, "n19999");
	state_doc_free(d);
	free(text);
	for (i = 0; i < n; i++)
		free(bn[i].id);
	free(bn);
	free(bw);
}

/* ---- round trip: any string, read back by libyaml as written ------------ */

/* Pieces a string is made of: plain words and every kind of character the
 * writer must quote or escape; invalid UTF-8 comes back as U+FFFD. */
static const char *const rt_pieces[][2] = {
	{ "a", NULL }, { "Zz", NULL }, { "0", NULL }, { "-", NULL },
	{ ".", NULL }, { ":", NULL }, { " ", NULL }, { "#", NULL },
	{ "'", NULL }, { "\"", NULL }, { "\\", NULL }, { "\n", NULL },
	{ "\t", NULL }, { "\r", NULL }, { "\x01", NULL }, { "\x1b", NULL },
	{ "\x7f", NULL }, { "[", NULL }, { "]", NULL }, { "{", NULL },
	{ "}", NULL }, { ",", NULL }, { "?", NULL }, { "!", NULL },
	{ "&", NULL }, { "*", NULL }, { "|", NULL }, { ">", NULL },
	{ "%", NULL }, { "@", NULL }, { "`", NULL }, { "~", NULL },
	{ "\xc3\xa9", NULL }, { "\xe2\x80\xa8", NULL }, { "\xc2\x85", NULL },
	{ "\xef\xbb\xbf", NULL }, { "\xf0\x9f\x98\x80", NULL },
	{ "\xff", "\xef\xbf\xbd" }, { "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd"
	    "\xef\xbf\xbd" }, { "true", NULL }, { "null", NULL },
	{ "Yes", NULL }, { "1.5", NULL }, { "---", NULL }, { "...", NULL },
	{ "- ", NULL }, { ": ", NULL }, { " #", NULL },
};
#define RT_NPIECES	(sizeof rt_pieces / sizeof rt_pieces[0])

/* A random string into s, and what reading it back must give into want. */
static void
rt_string(unsigned *seed, char *s, char *want, size_t size)
{
	size_t	n = (size_t)rand_r(seed) % 7, k, p;
	const char *w;

	*s = *want = '\0';
	for (k = 0; k < n; k++) {
		p = (size_t)rand_r(seed) % RT_NPIECES;
		w = rt_pieces[p][1] != NULL ? rt_pieces[p][1] : rt_pieces[p][0];
		if (strlen(s) + strlen(rt_pieces[p][0]) + 1 > size ||
		    strlen(want) + strlen(w) + 1 > size)
			break;
		strcat(s, rt_pieces[p][0]);
		strcat(want, w);
	}
}

/* n is a scalar that YAML reads as the string want: its text, and, when
 * written plain, nothing YAML 1.1 would take for null, a boolean or a
 * number. */
static int
rt_is(yaml_node_t *n, const char *want)
{
	static const char *const words[] = { "null", "~", "true", "false",
	    "yes", "no", "on", "off", "y", "n" };
	const char	*v;
	size_t		 i;

	if (n == NULL || n->type != YAML_SCALAR_NODE)
		return 0;
	v = (const char *)n->data.scalar.value;
	if (n->data.scalar.length != strlen(want) || strcmp(v, want) != 0)
		return 0;
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 1;
	if (*v == '\0' || strchr("0123456789-+.", *v) != NULL)
		return 0;
	for (i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strcasecmp(v, words[i]) == 0)
			return 0;
	return 1;
}

/* Every string the state holds (dag, job, node ids, errors, metric names,
 * reused_from, slurm_job, the notification), random, rendered and read back
 * by libyaml: the document parses, and every string is the one given. */
static void
test_round_trip(void)
{
	enum { ROUNDS = 300, SZ = 64 };
	static char s[NIDS * 6 + 4][SZ], want[NIDS * 6 + 4][SZ];
	static const char *reused[NIDS], *slurm[NIDS];
	struct metric	 met[NIDS][1], dm[1];
	struct state_job j = sj;
	yaml_node_t	*root, *n, *nd, *w;
	unsigned	 seed = 20261207;
	size_t		 len, i, k, r, bad = 0;
	char		*text;

	for (r = 0; r < ROUNDS; r++) {
		setup_manifest();
		for (k = 0; k < sizeof s / sizeof s[0]; k++)
			rt_string(&seed, s[k], want[k], SZ);
		man.name = s[0];
		j.job = s[1];
		j.notify_status = s[2];
		j.notify_error = s[3];
		j.reused_from = reused;
		j.slurm_jobs = slurm;
		dm[0].name = s[4 + 6 * NIDS - 1];
		dm[0].value = 1.5;
		for (i = 0; i < NIDS; i++) {
			/* ids unique: a different last piece each */
			snprintf(s[4 + 6 * i] + strlen(s[4 + 6 * i]), 4,
			    "%zu", i);
			snprintf(want[4 + 6 * i] + strlen(want[4 + 6 * i]), 4,
			    "%zu", i);
			nodes[i].id = s[4 + 6 * i];
			runs[i].error = s[5 + 6 * i];
			met[i][0].name = s[6 + 6 * i];
			met[i][0].value = (double)i;
			runs[i].metrics = met[i];
			runs[i].nmetrics = 1;
			reused[i] = i % 2 ? s[7 + 6 * i] : NULL;
			slurm[i] = i % 3 ? s[8 + 6 * i] : NULL;
		}
		text = state_render(&man, runp, dm, 1, &j, &len);
		CU_ASSERT_EQUAL(strlen(text), len);
		if (!load(text, len)) {
			bad++;
			free(text);
			continue;
		}
		root = yaml_document_get_root_node(&doc);
		k = 0;
		k += !rt_is(get(root, "dag"), want[0]);
		k += !rt_is(get(root, "job"), want[1]);
		k += !rt_is(get(get(root, "notify"), "status"), want[2]);
		k += !rt_is(get(get(root, "notify"), "error"), want[3]);
		w = get(root, "metrics");
		k += map_len(w) != 1 || strcmp(key_at(w, 0),
		    want[4 + 6 * NIDS - 1]) != 0;
		n = get(root, "nodes");
		k += map_len(n) != NIDS;
		for (i = 0; i < NIDS && map_len(n) == NIDS; i++) {
			k += strcmp(key_at(n, i), want[4 + 6 * i]) != 0;
			nd = node_at(n->data.mapping.pairs.start[i].value);
			k += !rt_is(get(nd, "error"), want[5 + 6 * i]);
			k += strcmp(key_at(get(nd, "metrics"), 0),
			    want[6 + 6 * i]) != 0;
			if (reused[i] != NULL)
				k += !rt_is(get(nd, "reused_from"),
				    want[7 + 6 * i]);
			if (slurm[i] != NULL)
				k += !rt_is(get(nd, "slurm_job"),
				    want[8 + 6 * i]);
		}
		/* the waves list the ids, in flow context */
		w = get(root, "waves");
		k += seq_len(w) != 4;
		for (i = 0; i < seq_len(w); i++) {
			nd = get(seq_at(w, i), "nodes");
			for (len = 0; len < seq_len(nd); len++)
				k += !rt_is(seq_at(nd, len), want[4 + 6 *
				    (i == 0 ? 0 : i == 1 ? 1 + len : i == 2 ?
				    3 + len : 5 + len)]);
		}
		if (k > 0) {
			fprintf(stderr, "\nround %zu: %zu strings differ in\n"
			    "%s\n", r, k, text);
			bad++;
		}
		yaml_document_delete(&doc);
		free(text);
	}
	CU_ASSERT_EQUAL(bad, 0);
}

/* A node reused from an earlier job (retry): reused_from after error, for
 * that node only, through libyaml (never the direct writer), read back by
 * the independent reader and by state_read. */
/* A failed node's last lines of stderr: a list under the node, read back
 * as they were, for every kind of safe text; absent for a node without
 * them; a file edited by hand is made safe and kept to 5 lines. */
static void
test_stderr_tail(void)
{
	static const char tail[] = "Traceback (most recent call last):\n"
	    "  File \"x.py\", line 1, in <module>\n- a dash\nkey: value # x\n"
	    "'quoted' and \"double\" \\x1b[31m";
	struct state_doc *d = NULL;
	char		 raw[200], *text, *cause = NULL, *t;
	size_t		 len, r, k, bad = 0;
	unsigned	 seed = 7;

	setup_manifest();
	runs[6].stderr_tail = (char *)(uintptr_t)tail;
	text = state_render(&man, runp, dagm, 4, &sj, &len);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "    stderr_tail:\n    - "));
	CU_ASSERT_EQUAL_FATAL(state_read_buf("s.yaml", text, len, &d, &cause),
	    0);
	CU_ASSERT_PTR_NULL(d->nodes[0].stderr_tail);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d->nodes[6].stderr_tail);
	CU_ASSERT_STRING_EQUAL(d->nodes[6].stderr_tail, tail);
	state_doc_free(d);
	free(text);
	/* random streams, as errtail_new keeps them */
	for (r = 0; r < 2000; r++) {
		for (k = 0; k < sizeof raw; k++) {
			seed = seed * 1103515245u + 12345u;
			raw[k] = (char)(seed >> 16);
			if ((seed >> 8) % 9 == 0)
				raw[k] = '\n';
		}
		if ((t = errtail_new(raw, sizeof raw, true)) == NULL)
			continue;
		runs[6].stderr_tail = t;
		text = state_render(&man, runp, dagm, 4, &sj, &len);
		d = NULL;
		if (state_read_buf("s.yaml", text, len, &d, &cause) != 0 ||
		    d->nodes[6].stderr_tail == NULL ||
		    strcmp(d->nodes[6].stderr_tail, t) != 0) {
			bad++;
			free(cause);
			cause = NULL;
		}
		state_doc_free(d);
		free(text);
		free(t);
	}
	CU_ASSERT_EQUAL(bad, 0);
	runs[6].stderr_tail = NULL;
	/* by hand: escapes made safe again, the last 5 kept */
	text = xasprintf("dag: x\njob: x-1\nstatus: failed\nstarted_at: null\n"
	    "finished_at: null\nduration_ms: null\nprogress: {total: 1, "
	    "pending: 0, running: 0, succeeded: 0, failed: 1, skipped: 0}\n"
	    "nodes:\n  a:\n    status: failed\n    attempts: 1\n"
	    "    duration_ms: 5\n    reason: exit\n    error: x\n"
	    "    stderr_tail: [\"1\", \"2\", \"3\", \"\\e[1mbold\\e[0m\", "
	    "\"5\", \"bell\\a\\ttab\"]\n");
	CU_ASSERT_EQUAL_FATAL(state_read_buf("s.yaml", text, strlen(text), &d,
	    &cause), 0);
	CU_ASSERT_STRING_EQUAL(d->nodes[0].stderr_tail,
	    "2\n3\nbold\n5\nbell\\x07 tab");
	state_doc_free(d);
	free(text);
	check_bad("dag: x\njob: x-1\nstatus: failed\nstarted_at: null\n"
	    "finished_at: null\nduration_ms: null\nprogress: {total: 1, "
	    "pending: 0, running: 0, succeeded: 0, failed: 1, skipped: 0}\n"
	    "nodes:\n  a:\n    status: failed\n    attempts: 1\n"
	    "    duration_ms: 5\n    reason: exit\n    error: x\n"
	    "    stderr_tail: one line\n", "'stderr_tail' is not a sequence");
}

static void
test_reused_from(void)
{
	static const char *reused[NIDS] = {
		"research-pipeline-20261127T090000-00aa"
	};
	struct state_job j = sj;
	struct state_doc *d = NULL;
	yaml_node_t	*root, *n, *nd;
	char		*text, *cause = NULL;
	size_t		 len, i, k;

	setup_manifest();
	runs[0].attempts = 0;
	runs[0].cpu_ms = 0;
	runs[0].max_rss_kb = 0;
	runs[0].metrics = NULL;
	runs[0].nmetrics = 0;
	j.reused_from = reused;
	text = state_render(&man, runp, dagm, 4, &j, &len);
	CU_ASSERT_FATAL(load(text, len));
	root = yaml_document_get_root_node(&doc);
	n = get(root, "nodes");
	CU_ASSERT_EQUAL_FATAL(map_len(n), NIDS);
	for (i = 0; i < NIDS; i++) {
		nd = node_at(n->data.mapping.pairs.start[i].value);
		CU_ASSERT_EQUAL(map_len(nd), i == 0 ? 14 : 13);
		for (k = 0; k < 13; k++)
			CU_ASSERT_STRING_EQUAL(key_at(nd, k), node_keys[k]);
	}
	nd = get(n, ids[0]);
	CU_ASSERT_STRING_EQUAL(key_at(nd, 13), "reused_from");
	CU_ASSERT_STRING_EQUAL(sval(get(nd, "reused_from")), reused[0]);
	CU_ASSERT_STRING_EQUAL(sval(get(nd, "status")), "succeeded");
	CU_ASSERT_STRING_EQUAL(sval(get(nd, "attempts")), "0");
	CU_ASSERT_STRING_EQUAL(sval(get(get(root, "progress"), "succeeded")),
	    "1");
	CU_ASSERT_STRING_EQUAL(sval(get(get(n, ids[1]), "reused_from")),
	    "<none>");
	yaml_document_delete(&doc);

	CU_ASSERT_EQUAL_FATAL(state_read_buf("s.yaml", text, len, &d, &cause),
	    0);
	CU_ASSERT_STRING_EQUAL(d->nodes[0].reused_from, reused[0]);
	CU_ASSERT_EQUAL(d->nodes[0].attempts, 0);
	for (i = 1; i < d->nnodes; i++)
		CU_ASSERT_PTR_NULL(d->nodes[i].reused_from);
	state_doc_free(d);
	free(text);
}

/* A sandbox's level, last, for the nodes that ran with one; read back. */
static void
test_sandbox_level(void)
{
	unsigned char levels[NIDS];
	struct state_job j = sj;
	struct state_doc *d = NULL;
	yaml_node_t	*root, *n, *nd;
	char		*text, *cause = NULL;
	size_t		 len, i;

	setup_manifest();
	memset(levels, 0, sizeof levels);
	levels[0] = SANDBOX_PARTIAL;
	levels[NIDS - 1] = SANDBOX_NONE;
	j.sandbox = levels;
	text = state_render(&man, runp, dagm, 4, &j, &len);
	CU_ASSERT_FATAL(load(text, len));
	root = yaml_document_get_root_node(&doc);
	n = get(root, "nodes");
	for (i = 0; i < NIDS; i++) {
		nd = node_at(n->data.mapping.pairs.start[i].value);
		if (levels[i] == SANDBOX_UNSET) {
			CU_ASSERT_EQUAL(map_len(nd), 13);
			continue;
		}
		CU_ASSERT_EQUAL_FATAL(map_len(nd), 14);
		CU_ASSERT_STRING_EQUAL(key_at(nd, 13), "sandbox");
		CU_ASSERT_STRING_EQUAL(sval(get(nd, "sandbox")),
		    sandbox_level_name((enum sandbox_level)levels[i]));
	}
	yaml_document_delete(&doc);
	CU_ASSERT_EQUAL_FATAL(state_read_buf("s.yaml", text, len, &d, &cause),
	    0);
	CU_ASSERT_STRING_EQUAL(d->nodes[0].sandbox, "partial");
	CU_ASSERT_STRING_EQUAL(d->nodes[NIDS - 1].sandbox, "none");
	for (i = 1; i + 1 < d->nnodes; i++)
		CU_ASSERT_PTR_NULL(d->nodes[i].sandbox);
	state_doc_free(d);
	free(text);
}

/* Cache hits: cached and saved after error for those nodes only, the DAG's
 * saved after metrics, through libyaml, read back by the independent reader
 * and by state_read (numbers as state_number writes them, .inf too). */
static void
test_cached_saved(void)
{
	struct metric dags[] = { { (char []){ "tokens" }, 4500 },
	    { (char []){ "big" }, 1e300 }, { (char []){ "neg" }, -2.5 },
	    { (char []){ "inf" }, INFINITY } };
	struct state_cached cached[NIDS];
	struct state_job j = sj;
	struct state_doc *d = NULL;
	yaml_node_t	*root, *n, *nd;
	char		*text, *cause = NULL;
	size_t		 len, i;

	setup_manifest();
	memset(cached, 0, sizeof cached);
	/* node 0 saved two metrics, node 6 ("123") none */
	runs[0].attempts = 0;
	runs[0].metrics = NULL;
	runs[0].nmetrics = 0;
	cached[0].hit = true;
	cached[0].saved = m0;
	cached[0].nsaved = 2;
	runs[6].status = NS_SUCCEEDED;
	runs[6].exit_code = 0;
	cached[6].hit = true;
	j.cached = cached;
	j.saved = dags;
	j.nsaved = 4;
	text = state_render(&man, runp, dagm, 4, &j, &len);
	CU_ASSERT_FATAL(load(text, len));
	root = yaml_document_get_root_node(&doc);
	n = get(root, "nodes");
	CU_ASSERT_EQUAL_FATAL(map_len(n), NIDS);
	for (i = 0; i < NIDS; i++) {
		nd = node_at(n->data.mapping.pairs.start[i].value);
		CU_ASSERT_EQUAL(map_len(nd), cached[i].hit ? 15 : 13);
		CU_ASSERT_STRING_EQUAL(sval(get(nd, "cached")),
		    cached[i].hit ? "true" : "<none>");
	}
	nd = get(n, ids[0]);
	CU_ASSERT_STRING_EQUAL(key_at(nd, 13), "cached");
	CU_ASSERT_STRING_EQUAL(key_at(nd, 14), "saved");
	CU_ASSERT_STRING_EQUAL(sval(get(get(nd, "saved"), "tokens")), "4500");
	CU_ASSERT_STRING_EQUAL(sval(get(get(nd, "saved"), "cost")), "0.05");
	CU_ASSERT_EQUAL(map_len(get(nd, "metrics")), 0);
	CU_ASSERT_EQUAL(map_len(get(get(n, ids[6]), "saved")), 0);
	CU_ASSERT_STRING_EQUAL(key_at(root, map_len(root) - 1), "saved");
	CU_ASSERT_STRING_EQUAL(sval(get(get(root, "saved"), "neg")), "-2.5");
	CU_ASSERT_STRING_EQUAL(sval(get(get(root, "saved"), "inf")), ".inf");
	yaml_document_delete(&doc);

	CU_ASSERT_EQUAL_FATAL(state_read_buf("s.yaml", text, len, &d, &cause),
	    0);
	CU_ASSERT(d->nodes[0].cached);
	CU_ASSERT_EQUAL_FATAL(d->nodes[0].nsaved, 2);
	CU_ASSERT_STRING_EQUAL(d->nodes[0].saved[0].name, "tokens");
	CU_ASSERT_EQUAL(d->nodes[0].saved[0].value, 4500);
	CU_ASSERT_STRING_EQUAL(d->nodes[0].saved[1].name, "cost");
	CU_ASSERT_EQUAL(d->nodes[0].saved[1].value, 0.05);
	CU_ASSERT(d->nodes[6].cached);
	CU_ASSERT_EQUAL(d->nodes[6].nsaved, 0);
	for (i = 0; i < d->nnodes; i++)
		if (i != 0 && i != 6) {
			CU_ASSERT(!d->nodes[i].cached);
			CU_ASSERT_EQUAL(d->nodes[i].nsaved, 0);
		}
	CU_ASSERT_EQUAL_FATAL(d->nsaved, 4);
	for (i = 0; i < 4; i++) {
		CU_ASSERT_STRING_EQUAL(d->saved[i].name, dags[i].name);
		CU_ASSERT_EQUAL(d->saved[i].value, dags[i].value);
	}
	state_doc_free(d);
	free(text);

	/* no hit: a run with the cache on still has the DAG's saved: {} */
	memset(cached, 0, sizeof cached);
	j.nsaved = 0;
	setup_manifest();
	text = state_render(&man, runp, dagm, 4, &j, &len);
	CU_ASSERT_EQUAL_FATAL(state_read_buf("s.yaml", text, len, &d, &cause),
	    0);
	CU_ASSERT_EQUAL(d->nsaved, 0);
	CU_ASSERT(!d->nodes[0].cached);
	state_doc_free(d);
	free(text);
}

/* A saved that is not a mapping of names to numbers is refused. */
static void
test_saved_bad(void)
{
	static const char *bad[] = {
		"saved: [1, 2]\n",
		"saved: {tokens: lots}\n",
		"saved: {tokens: {x: 1}}\n",
		"saved: {tokens: 1e999}\n",
	};
	static const char head[] = "dag: d\njob: j\nstatus: succeeded\n"
	    "started_at: null\nfinished_at: null\nduration_ms: null\n"
	    "progress: {total: 1, pending: 0, running: 0, succeeded: 1, "
	    "failed: 0, skipped: 0}\n";
	static const char node[] = "nodes:\n  a: {status: succeeded, "
	    "attempts: 0, cached: true, ";
	struct state_doc *d;
	char *text, *cause;
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		/* at the top */
		text = xasprintf("%s%s%s", head, "nodes: {}\n", bad[i]);
		cause = NULL;
		CU_ASSERT_EQUAL(state_read_buf("s.yaml", text, strlen(text),
		    &d, &cause), -1);
		CU_ASSERT_PTR_NOT_NULL(cause);
		CU_ASSERT_PTR_NOT_NULL(cause != NULL ? strstr(cause, "'saved'") :
		    NULL);
		free(cause);
		free(text);
		/* in a node: "saved: X\n" becomes "saved: X}\n" */
		text = xasprintf("%s%s%.*s}\n", head, node,
		    (int)strlen(bad[i]) - 1, bad[i]);
		cause = NULL;
		CU_ASSERT_EQUAL(state_read_buf("s.yaml", text, strlen(text),
		    &d, &cause), -1);
		CU_ASSERT_PTR_NOT_NULL(cause);
		free(cause);
		free(text);
	}
	text = xasprintf("%s%s%s", head, "nodes: {}\n",
	    "saved: {a: .nan, b: -.inf, c: 3}\n");
	CU_ASSERT_EQUAL_FATAL(state_read_buf("s.yaml", text, strlen(text), &d,
	    &cause), 0);
	CU_ASSERT_EQUAL_FATAL(d->nsaved, 3);
	CU_ASSERT(isnan(d->saved[0].value));
	CU_ASSERT(isinf(d->saved[1].value) && d->saved[1].value < 0);
	CU_ASSERT_EQUAL(d->saved[2].value, 3);
	state_doc_free(d);
	free(text);
}

/* Drain every action at now; returns how many starts were handed out and
 * records the started nodes in started[]. */
static int
drain(struct sched *s, int64_t now, size_t *started)
{
	struct sched_action	a;
	int			n = 0;

	while (sched_next(s, now, INT_MAX, &a) == 1) {
		if (a.kind == SA_START)
			started[n++] = a.node;
	}
	return n;
}

/* The state of a DAG driven by the real scheduler, written and read back. */
/* The state of s, as the job renders it. */
static char *
render_sched(const struct manifest *m, const struct sched *s,
    const struct state_job *j, size_t *len)
{
	const struct node_run	**r = sched_runs(s);
	const struct metric	 *met;
	size_t			  n;
	char			 *text;

	met = sched_metrics(s, &n);
	text = state_render(m, r, met, n, j, len);
	free(r);
	return text;
}

static void
test_real_sched(void)
{
	static const char yaml[] =
	    "name: real\n"
	    "nodes:\n"
	    "  a: {run: 'true'}\n"
	    "  b: {run: 'false', needs: [a]}\n"
	    "  c: {run: 'sleep 1', needs: [a]}\n"
	    "  d: {run: 'true', needs: [b]}\n";
	struct manifest		*m = NULL;
	struct diags		 dg;
	struct sched_config	 cfg = { 4, NULL, false, 0 };
	struct sched		*s;
	struct attempt_end	 e;
	struct metric		 met = { (char []){ "tokens" }, 10 };
	struct state_job	 j = sj;
	struct state_doc	*d = NULL;
	size_t			 started[8];
	char			*path = xasprintf("%s/real.yaml", tmpdir);
	char			*cause = NULL, *text;
	size_t			 len;
	yaml_node_t		*root, *w;

	diags_init(&dg);
	CU_ASSERT_EQUAL_FATAL(manifest_parse("real.yaml", yaml,
	    sizeof yaml - 1, &m, &dg), 0);
	diags_release(&dg);
	s = sched_new(m, &cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	sched_begin(s, 0);
	CU_ASSERT_EQUAL_FATAL(drain(s, 0, started), 1);
	CU_ASSERT_EQUAL(started[0], 0);

	memset(&e, 0, sizeof e);
	e.reason = REASON_NONE;
	e.exit_code = 0;
	e.cpu_ms = 5;
	e.max_rss_kb = 100;
	e.metrics = &met;
	e.nmetrics = 1;
	sched_ended(s, 0, 100, &e);
	CU_ASSERT_EQUAL_FATAL(drain(s, 100, started), 2);

	e.reason = REASON_EXIT;
	e.exit_code = 1;
	e.metrics = NULL;
	e.nmetrics = 0;
	sched_ended(s, 1, 200, &e);
	(void)drain(s, 200, started);

	j.mono_base_ms = 0;
	j.wall_base_ms = 1795860900000;
	j.started_ms = 0;
	j.finished_ms = -1;
	j.status = sched_status(s);
	text = render_sched(m, s, &j, &len);
	CU_ASSERT_FATAL(load(text, len));
	root = yaml_document_get_root_node(&doc);
	CU_ASSERT_STRING_EQUAL(sval(get(root, "status")), "running");
	w = get(root, "progress");
	CU_ASSERT_STRING_EQUAL(sval(get(w, "total")), "4");
	CU_ASSERT_STRING_EQUAL(sval(get(w, "pending")), "0");
	CU_ASSERT_STRING_EQUAL(sval(get(w, "running")), "1");
	CU_ASSERT_STRING_EQUAL(sval(get(w, "succeeded")), "1");
	CU_ASSERT_STRING_EQUAL(sval(get(w, "failed")), "1");
	CU_ASSERT_STRING_EQUAL(sval(get(w, "skipped")), "1");
	w = get(root, "waves");
	CU_ASSERT_EQUAL_FATAL(seq_len(w), 3);
	CU_ASSERT_STRING_EQUAL(sval(get(seq_at(w, 0), "status")), "completed");
	CU_ASSERT_STRING_EQUAL(sval(get(seq_at(w, 1), "status")), "running");
	CU_ASSERT_STRING_EQUAL(sval(get(seq_at(w, 2), "status")), "completed");
	CU_ASSERT_STRING_EQUAL(sval(seq_at(get(seq_at(w, 1), "nodes"), 1)),
	    "c");
	w = get(get(root, "nodes"), "a");
	CU_ASSERT_STRING_EQUAL(sval(get(w, "started_at")),
	    "2026-11-28T10:15:00.000Z");
	CU_ASSERT_STRING_EQUAL(sval(get(w, "duration_ms")), "100");
	CU_ASSERT_STRING_EQUAL(sval(get(w, "cpu_ms")), "5");
	CU_ASSERT_STRING_EQUAL(sval(get(get(w, "metrics"), "tokens")), "10");
	w = get(get(root, "nodes"), "b");
	CU_ASSERT_STRING_EQUAL(sval(get(w, "status")), "failed");
	CU_ASSERT_STRING_EQUAL(sval(get(w, "exit_code")), "1");
	CU_ASSERT_STRING_EQUAL(sval(get(w, "reason")), "exit");
	w = get(get(root, "nodes"), "d");
	CU_ASSERT_STRING_EQUAL(sval(get(w, "status")), "skipped");
	CU_ASSERT_STRING_EQUAL(sval(get(w, "reason")), "upstream_failed");
	CU_ASSERT_STRING_EQUAL(sval(get(get(root, "metrics"), "tokens")),
	    "10");
	yaml_document_delete(&doc);
	free(text);

	/* c ends: the DAG is over, failed. */
	e.reason = REASON_NONE;
	e.exit_code = 0;
	sched_ended(s, 2, 300, &e);
	(void)drain(s, 300, started);
	CU_ASSERT(sched_finished(s));
	j.status = sched_status(s);
	j.finished_ms = 300;
	text = render_sched(m, s, &j, &len);
	CU_ASSERT_EQUAL(fs_write_atomic(path, text, len, 0644, &cause), 0);
	free(text);
	CU_ASSERT_EQUAL_FATAL(state_read(path, &d, &cause), 0);
	CU_ASSERT_STRING_EQUAL(d->dag, "real");
	CU_ASSERT_STRING_EQUAL(d->status, "failed");
	CU_ASSERT_EQUAL(d->duration_ms, 300);
	CU_ASSERT_STRING_EQUAL(d->finished_at, "2026-11-28T10:15:00.300Z");
	CU_ASSERT_EQUAL(d->succeeded, 2);
	CU_ASSERT_EQUAL(d->failed, 1);
	CU_ASSERT_EQUAL(d->skipped, 1);
	CU_ASSERT_EQUAL(d->running, 0);
	CU_ASSERT_EQUAL_FATAL(d->nnodes, 4);
	CU_ASSERT_STRING_EQUAL(d->nodes[1].id, "b");
	CU_ASSERT_STRING_EQUAL(d->nodes[1].reason, "exit");
	CU_ASSERT_PTR_NOT_NULL(d->nodes[1].error);
	CU_ASSERT_EQUAL(d->nodes[2].duration_ms, 200);
	state_doc_free(d);
	sched_free(s);
	manifest_free(m);
	unlink(path);
	free(path);
}

/* ---- incremental rewrites --------------------------------------------- */

static char inc_e1[] = "exit 1", inc_e2[] = "a \"quoted\" one",
    inc_e3[] = "line\nbreak", inc_e4[] = "caf\xc3\xa9";
static char *const inc_errs[] = { NULL, inc_e1, inc_e2, inc_e3, inc_e4 };

/* Change node i's record at random (status, counts, times, error). */
static void
inc_change(struct node_run *r, int64_t now)
{
	r->status = (enum node_status)(rng() % NS__COUNT);
	r->attempts = (int)(rng() % 4);
	r->exit_code = (int)(rng() % 3) - 1;
	r->signal = rng() % 5 == 0 ? 9 : 0;
	r->started_ms = rng() % 4 == 0 ? -1 : now - (int64_t)(rng() % 5000);
	r->finished_ms = rng() % 2 == 0 ? -1 : now;
	r->cpu_ms = (int64_t)(rng() % 100000);
	r->max_rss_kb = (int64_t)(rng() % 1000000);
	r->reason = (enum reason)(rng() % REASON__COUNT);
	r->error = inc_errs[rng() % (sizeof inc_errs /
	    sizeof inc_errs[0])];
}

/* One rewrite of these records by si into a new file at path: true when
 * it is byte for byte what state_render writes of them, and its text reads
 * back with every node. */
static bool
inc_check(struct state_inc *si, const char *path, const struct manifest *m,
    const struct node_run *const *rv, const struct metric *met,
    size_t nmet, const struct state_job *j, size_t round)
{
	struct state_doc *d = NULL;
	char	*text, *file, *cause = NULL;
	size_t	 len, flen, i;
	int	 fd;
	bool	 same;

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(state_inc_write(si, fd, m, rv, met, nmet, j),
	    0);
	close(fd);
	/* the next round writes a new file: this one stays whole */
	CU_ASSERT_EQUAL_FATAL(fs_read_file(path, SIZE_MAX / 2, &file, &flen,
	    &cause), 0);
	unlink(path);
	CU_ASSERT_EQUAL(state_inc_size(si), flen);
	text = state_render(m, rv, met, nmet, j, &len);
	CU_ASSERT_EQUAL(flen, len);
	same = flen == len && memcmp(file, text, len) == 0;
	if (!same) {
		for (i = 0; i < len && i < flen && file[i] == text[i]; i++)
			;
		fprintf(stderr, "\nround %zu: the rewrite differs at byte "
		    "%zu: '%.60s' against '%.60s'\n", round, i,
		    file + (i > 20 ? i - 20 : 0), text + (i > 20 ? i - 20 : 0));
		CU_FAIL("incremental text differs");
	} else {
		CU_ASSERT_EQUAL_FATAL(state_read_buf("inc", file, flen, &d,
		    &cause), 0);
		CU_ASSERT_EQUAL(d->nnodes, m->nnodes);
		state_doc_free(d);
	}
	free(file);
	free(text);
	return same;
}

/* Rewrite after rewrite, each into a new file, with a few records
 * changed (and touched) in between: every file is byte for byte what
 * state_render writes of the same records, whose text is read back. */
static void
test_incremental(void)
{
	size_t		 n = 300, nw = 7, i, k, round;
	struct manifest	 im;
	struct node	*in = xcalloc(n, sizeof *in);
	size_t		*iw = xcalloc(n, sizeof *iw);
	struct node_run	*ir = xcalloc(n, sizeof *ir);
	const struct node_run **irp = xcalloc(n, sizeof *irp);
	struct state_inc *si = state_inc_new();
	struct state_job j = sj;
	char		*path;

	rng_state = 20;
	memset(&im, 0, sizeof im);
	im.name = dagname;
	im.nodes = in;
	im.nnodes = n;
	for (i = 0; i < n; i++) {
		in[i].id = xasprintf("node-%zu", i);
		iw[i] = (i * 3) % nw;
		ir[i].status = NS_PENDING;
		ir[i].exit_code = -1;
		ir[i].started_ms = ir[i].finished_ms = -1;
		irp[i] = &ir[i];
	}
	im.graph.n = n;
	im.graph.wave = iw;
	im.graph.nwaves = nw;
	path = xasprintf("%s/inc.yaml", tmpdir);
	for (round = 0; round < 60; round++) {
		/* a few nodes, or (now and then) most of them */
		k = round % 10 == 5 ? n : 1 + rng() % 12;
		while (k-- > 0) {
			i = rng() % n;
			inc_change(&ir[i], 2000 + (int64_t)round * 10);
			state_inc_touch(si, i);
		}
		/* every node of a wave final, then one again running */
		if (round == 30)
			for (i = 0; i < n; i++)
				if (iw[i] == 2) {
					ir[i].status = NS_SUCCEEDED;
					state_inc_touch(si, i);
				}
		j.status = round + 1 < 60 ? DS_RUNNING : DS_FAILED;
		if (!inc_check(si, path, &im, irp, dagm, 4, &j, round))
			break;
	}
	state_inc_free(si);
	free(path);
	for (i = 0; i < n; i++)
		free(in[i].id);
	free(in);
	free(iw);
	free(ir);
	free(irp);
}

static void
inc_touched(void *arg, size_t i)
{
	state_inc_touch(arg, i);
}

/* A rewrite of s's records, only those it listed as touched rendered
 * again; true when it is what state_render writes. */
static bool
grow_rewrite(struct state_inc *si, struct sched *s, const struct manifest *m,
    const char *path, size_t round)
{
	struct state_job	 j = sj;
	const struct node_run	**rv;
	const struct metric	*met;
	size_t			 nmet;
	bool			 same;

	sched_take_touched(s, inc_touched, si);
	j.status = sched_status(s);
	rv = sched_runs(s);
	met = sched_metrics(s, &nmet);
	same = inc_check(si, path, m, rv, met, nmet, &j, round);
	free(rv);
	return same;
}

/* A DAG that grows between rewrites, driven by the real scheduler as a job
 * does: two dynamic foreach nodes expand (forty instances, shown in the
 * middle of the nodes, and one, whose node only changes its id: rewritten
 * at once, before anything of it starts), and every rewrite, with only
 * what the scheduler listed as touched rendered again, is byte for byte
 * what state_render writes. */
static void
test_incremental_grow(void)
{
	static const char yaml[] =
	    "name: grow\n"
	    "nodes:\n"
	    "  plan: {run: x}\n"
	    "  a: {run: x}\n"
	    "  fan:\n"
	    "    foreach: {from: plan, key: items}\n"
	    "    run: x\n"
	    "  one:\n"
	    "    foreach: {from: plan, key: single}\n"
	    "    needs: [b]\n"
	    "    run: x\n"
	    "  b: {run: x, needs: [a]}\n"
	    "  merge: {run: x, needs: [fan, one, b]}\n"
	    "  last: {run: x, needs: [merge]}\n";
	static const char *const single[] = { "only" };
	const char		*items[40];
	char			 labels[40][8];
	struct manifest		*m = NULL;
	struct diags		 dg;
	struct sched_config	 cfg = { 3, NULL, false, 0 };
	struct sched		*s;
	struct sched_action	 a;
	struct attempt_end	 e;
	struct state_inc	*si = state_inc_new();
	size_t			 run[64], nrun = 0, k, round, grew = 0;
	char			*path = xasprintf("%s/grow.yaml", tmpdir);
	char			*cause = NULL;
	int64_t			 now = 0;

	for (k = 0; k < 40; k++) {
		snprintf(labels[k], sizeof labels[k], "t%zu", k);
		items[k] = labels[k];
	}
	diags_init(&dg);
	CU_ASSERT_EQUAL_FATAL(manifest_parse("grow.yaml", yaml,
	    sizeof yaml - 1, &m, &dg), 0);
	diags_release(&dg);
	s = sched_new(m, &cfg);
	sched_begin(s, 0);
	memset(&e, 0, sizeof e);
	for (round = 0; round < 200 && !sched_finished(s); round++) {
		now += 10;
		while (sched_next(s, now, INT_MAX, &a) == 1) {
			if (a.kind == SA_START)
				run[nrun++] = a.node;
			if (a.kind != SA_EXPAND)
				continue;
			k = strcmp(m->nodes[a.node].id, "fan") == 0 ? 40 : 1;
			CU_ASSERT_EQUAL_FATAL(manifest_expand(m, a.node,
			    k == 40 ? items : single, k, &cause), 0);
			sched_expand(s, a.node, k, now, REASON_NONE, NULL);
			grew++;
			if (k == 1 && !grow_rewrite(si, s, m, path, round))
				break;
		}
		/* the first to start ends: one a round (now and then a
		 * failure, retried by none: its dependents are skipped) */
		if (nrun > 0) {
			e.exit_code = round % 7 == 6 ? 1 : 0;
			e.reason = e.exit_code != 0 ? REASON_EXIT : REASON_NONE;
			sched_ended(s, run[0], now, &e);
			memmove(run, run + 1, --nrun * sizeof *run);
		}
		if (!grow_rewrite(si, s, m, path, round))
			break;
	}
	CU_ASSERT(sched_finished(s));
	CU_ASSERT_EQUAL(grew, 2);
	CU_ASSERT_EQUAL(m->nnodes, 7 + 39);
	CU_ASSERT(manifest_find(m, "one[only]") >= 0);
	CU_ASSERT(manifest_find(m, "fan[t39]") >= 0);
	state_inc_free(si);
	sched_free(s);
	manifest_free(m);
	free(path);
}

int
main(void)
{
	static const struct cunit_test tests[] = {
		{ "format time", test_format_time },
		{ "render and parse back", test_render_parse_back },
		{ "render without scheduler", test_render_without_sched },
		{ "atomic write", test_write_atomic },
		{ "read back", test_read_back },
		{ "read errors", test_read_errors },
		{ "large render", test_render_large },
		{ "with the real scheduler", test_real_sched },
		{ "round trip of every string", test_round_trip },
		{ "reused nodes", test_reused_from },
		{ "sandbox levels", test_sandbox_level },
		{ "the last lines of stderr", test_stderr_tail },
		{ "cache hits and saved", test_cached_saved },
		{ "a bad saved", test_saved_bad },
		{ "incremental rewrites", test_incremental },
		{ "incremental rewrites of a DAG that grows",
		    test_incremental_grow },
		{ NULL, NULL }
	};
	char		*cause = NULL;
	int		 rc;

	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	rc = cunit_run("state", NULL, NULL, tests);
	if (fs_remove_tree(tmpdir, &cause) != 0) {
		fprintf(stderr, "%s\n", cause);
		free(cause);
	}
	return rc;
}

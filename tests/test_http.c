/* CUnit suite for http.c: ${NAME} templating, the request spec, Retry-After
 * parsing, and the YAML -> JSON conversion of a state.yaml (notify); and for
 * curlso.c, libcurl loaded at run time. */
#include "config.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <jansson.h>

#include "cunit_main.h"
#include "curlso.h"
#include "diag.h"
#include "http.h"
#include "manifest.h"
#include "sched.h"
#include "state.h"
#include "xmalloc.h"

static char v1[] = "A=one", v2[] = "B=two", v3[] = "A=last";
static char v4[] = "DAGEXEC_NODE=fetch", v5[] = "EMPTY=";
static char *vars[] = { v1, v2, v3, v4, v5, NULL };

/* A writable copy of a literal (struct fields are char *). */
static char lit[16][128];
static int nlit;

static char *
L(const char *s)
{
	char *p = lit[nlit++ % 16];

	snprintf(p, sizeof lit[0], "%s", s);
	return p;
}

static void
tmpl_ok(const char *in, const char *want)
{
	char *cause = NULL, *out = http_template(in, vars, "url", &cause);

	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_PTR_NULL(cause);
	if (strcmp(out, want) != 0)
		fprintf(stderr, "\n'%s' -> '%s', want '%s'\n", in, out, want);
	CU_ASSERT_STRING_EQUAL(out, want);
	free(out);
}

static void
tmpl_bad(const char *in, const char *want)
{
	char *cause = NULL, *out = http_template(in, vars, "url", &cause);

	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	if (strstr(cause, want) == NULL)
		fprintf(stderr, "\n'%s': '%s', want '%s'\n", in, cause, want);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, want));
	free(out);
	free(cause);
}

static void
test_template(void)
{
	tmpl_ok("", "");
	tmpl_ok("plain", "plain");
	tmpl_ok("${B}", "two");
	tmpl_ok("x${B}y${B}z", "xtwoytwoz");
	tmpl_ok("${A}", "last");		/* the last one wins */
	tmpl_ok("n=${DAGEXEC_NODE}", "n=fetch");
	tmpl_ok("[${EMPTY}]", "[]");
	tmpl_ok("$${B}", "${B}");		/* escaped */
	tmpl_ok("$$${B}", "$${B}");	/* left to right: "$", then "$${" */
	tmpl_ok("$B $ {B} $", "$B $ {B} $");	/* only ${ is special */
	tmpl_ok("cost: 5$", "cost: 5$");
	tmpl_bad("${NOPE}", "url: unknown variable 'NOPE'");
	tmpl_bad("a${B", "unterminated");
	tmpl_bad("${}", "bad variable name");
	tmpl_bad("${1X}", "bad variable name");
	tmpl_bad("${A-B}", "bad variable name");
}

/* Our own environment is never consulted. */
static void
test_template_no_env(void)
{
	char *cause = NULL, *out;
	char *none[] = { NULL };

	setenv("TEST_HTTP_SECRET", "leak", 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(getenv("PATH"));
	out = http_template("${TEST_HTTP_SECRET}", vars, "body", &cause);
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "body: unknown variable "
	    "'TEST_HTTP_SECRET'"));
	free(cause);
	cause = NULL;
	out = http_template("${PATH}", none, "url", &cause);
	CU_ASSERT_PTR_NULL(out);
	free(cause);
	cause = NULL;
	out = http_template("${PATH}", NULL, "url", &cause);
	CU_ASSERT_PTR_NULL(out);
	free(cause);
	unsetenv("TEST_HTTP_SECRET");
}

static void
test_spec(void)
{
	char dir[] = "/tmp/test_http.XXXXXX", *path, *cause = NULL;
	struct http_spec h;
	struct kv hk[2];
	char *crlf[] = { L("A=x\r\nInjected: yes"), NULL };
	int expect[] = { 200, 204 };
	json_t *o, *v;
	json_error_t je;
	char target[64];
	struct stat sb;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	path = malloc(strlen(dir) + 16);
	sprintf(path, "%s/spec.json", dir);
	hk[0].key = L("Authorization");
	hk[0].value = L("Bearer ${A}");
	hk[1].key = L("X-Bad");
	hk[1].value = L("a${B}");
	memset(&h, 0, sizeof h);
	h.url = L("http://127.0.0.1/${B}?n=${DAGEXEC_NODE}");
	h.method = L("POST");
	h.headers.v = hk;
	h.headers.n = 2;
	h.body = L("{\"who\": \"${A}\"}");
	h.save = L("out/x.bin");
	h.expect = expect;
	h.nexpect = 2;
	h.follow_redirects = true;
	h.max_bytes = 1024;
	/* a link planted at the name is replaced, never followed */
	sprintf(target, "%s/target", dir);
	CU_ASSERT_EQUAL_FATAL(symlink(target, path), 0);
	CU_ASSERT_EQUAL_FATAL(http_write_spec(path, &h, 5000, vars, (uid_t)-1,
	    (gid_t)-1, &cause), 0);
	CU_ASSERT_EQUAL(access(target, F_OK), -1);
	CU_ASSERT_EQUAL_FATAL(lstat(path, &sb), 0);
	CU_ASSERT(S_ISREG(sb.st_mode));
	CU_ASSERT_EQUAL(sb.st_mode & 0777, 0600);
	o = json_load_file(path, 0, &je);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "url")),
	    "http://127.0.0.1/two?n=fetch");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "body")),
	    "{\"who\": \"last\"}");
	v = json_array_get(json_object_get(o, "headers"), 0);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(v, 1)),
	    "Bearer last");
	CU_ASSERT_EQUAL(json_array_size(json_object_get(o, "expect")), 2);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "max_bytes")),
	    1024);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(o,
	    "max_retry_delay_ms")), 5000);
	CU_ASSERT(json_is_true(json_object_get(o, "follow_redirects")));
	json_decref(o);

	/* a value that would inject a header line is refused */
	h.url = L("http://127.0.0.1/");
	h.body = NULL;
	hk[1].value = L("${A}");
	CU_ASSERT_EQUAL(http_write_spec(path, &h, 0, crlf, (uid_t)-1, (gid_t)-1,
	    &cause), -1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "line break"));
	free(cause);
	cause = NULL;
	/* an unknown variable in a header names the header */
	hk[0].value = L("${NOPE}");
	CU_ASSERT_EQUAL(http_write_spec(path, &h, 0, vars, (uid_t)-1, (gid_t)-1,
	    &cause), -1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause,
	    "header 'Authorization': unknown variable 'NOPE'"));
	free(cause);
	unlink(path);
	free(path);
	CU_ASSERT_EQUAL(rmdir(dir), 0);
}

static void
test_retry_after(void)
{
	time_t date = 784111777;	/* Sun, 06 Nov 1994 08:49:37 GMT */
	int64_t ms = -7;

	CU_ASSERT_EQUAL(http_parse_retry_after("5", 0, &ms), 0);
	CU_ASSERT_EQUAL(ms, 5000);
	CU_ASSERT_EQUAL(http_parse_retry_after(" 0", 0, &ms), 0);
	CU_ASSERT_EQUAL(ms, 0);
	CU_ASSERT_EQUAL(http_parse_retry_after("120", 0, &ms), 0);
	CU_ASSERT_EQUAL(ms, 120000);
	/* an HTTP-date, relative to now */
	CU_ASSERT_EQUAL(http_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT",
	    date - 10, &ms), 0);
	CU_ASSERT_EQUAL(ms, 10000);
	CU_ASSERT_EQUAL(http_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT",
	    date + 100, &ms), 0);
	CU_ASSERT_EQUAL(ms, 0);	/* in the past: no wait */
	ms = -7;
	CU_ASSERT_EQUAL(http_parse_retry_after("", 0, &ms), -1);
	CU_ASSERT_EQUAL(http_parse_retry_after("soon", 0, &ms), -1);
	CU_ASSERT_EQUAL(http_parse_retry_after("1.5", 0, &ms), -1);
	CU_ASSERT_EQUAL(http_parse_retry_after("-1", 0, &ms), -1);
	CU_ASSERT_EQUAL(http_parse_retry_after("99999999999999999999", 0, &ms),
	    -1);
	CU_ASSERT_EQUAL(ms, -7);
}

static json_t *
conv(const char *text)
{
	char *cause = NULL;
	json_t *j = http_yaml_to_json(text, strlen(text), &cause);

	if (j == NULL)
		fprintf(stderr, "\n%s\n", cause);
	free(cause);
	return j;
}

static void
test_yaml_json_types(void)
{
	json_t *j, *v;
	char *cause = NULL;

	j = conv("a: 42\nb: \"42\"\nc: '7'\nd: -3\ne: 1.5\nf: true\n"
	    "g: false\nh: null\ni: ~\nj:\nk: hello world\nl: 2026-11-28T10:15:"
	    "00.120Z\nm: \"null\"\nn: 1e3\no: 0x10\np: 12abc\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT(json_is_integer(v = json_object_get(j, "a")));
	CU_ASSERT_EQUAL(json_integer_value(v), 42);
	CU_ASSERT(json_is_string(v = json_object_get(j, "b")));
	CU_ASSERT_STRING_EQUAL(json_string_value(v), "42");
	CU_ASSERT(json_is_string(v = json_object_get(j, "c")));
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "d")), -3);
	CU_ASSERT(json_is_real(v = json_object_get(j, "e")));
	CU_ASSERT_DOUBLE_EQUAL(json_real_value(v), 1.5, 1e-9);
	CU_ASSERT(json_is_true(json_object_get(j, "f")));
	CU_ASSERT(json_is_false(json_object_get(j, "g")));
	CU_ASSERT(json_is_null(json_object_get(j, "h")));
	CU_ASSERT(json_is_null(json_object_get(j, "i")));
	CU_ASSERT(json_is_null(json_object_get(j, "j")));
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "k")),
	    "hello world");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "l")),
	    "2026-11-28T10:15:00.120Z");
	CU_ASSERT(json_is_string(v = json_object_get(j, "m")));
	CU_ASSERT_STRING_EQUAL(json_string_value(v), "null");
	CU_ASSERT(json_is_real(json_object_get(j, "n")));
	CU_ASSERT(json_is_string(json_object_get(j, "o")));
	CU_ASSERT(json_is_string(json_object_get(j, "p")));
	json_decref(j);

	j = conv("top:\n  list: [1, two, {x: [true]}]\n  map: {a: {b: {c: 3}}}"
	    "\n  empty: {}\n  none: []\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	v = json_object_get(json_object_get(j, "top"), "list");
	CU_ASSERT_EQUAL(json_array_size(v), 3);
	CU_ASSERT_EQUAL(json_integer_value(json_array_get(v, 0)), 1);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(v, 1)), "two");
	CU_ASSERT(json_is_true(json_array_get(json_object_get(
	    json_array_get(v, 2), "x"), 0)));
	v = json_object_get(json_object_get(j, "top"), "map");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(
	    json_object_get(v, "a"), "b"), "c")), 3);
	CU_ASSERT(json_is_object(json_object_get(json_object_get(j, "top"),
	    "empty")));
	CU_ASSERT(json_is_array(json_object_get(json_object_get(j, "top"),
	    "none")));
	json_decref(j);

	/* a top-level scalar, and refusals */
	j = conv("17\n");
	CU_ASSERT(json_is_integer(j));
	json_decref(j);
	CU_ASSERT_PTR_NULL(http_yaml_to_json("a: [1, 2", 8, &cause));
	CU_ASSERT_PTR_NOT_NULL(cause);
	free(cause);
	cause = NULL;
	CU_ASSERT_PTR_NULL(http_yaml_to_json("a: &x 1\nb: *x\n", 14, &cause));
	CU_ASSERT_PTR_NOT_NULL(cause);
	free(cause);
	cause = NULL;
	CU_ASSERT_PTR_NULL(http_yaml_to_json("", 0, &cause));
	CU_ASSERT_PTR_NOT_NULL(cause);
	free(cause);
}

/* A real state.yaml, as state_render writes it, with a notify entry. */
static void
test_yaml_json_state(void)
{
	static const char mtext[] = "name: st\nnodes:\n  a: {run: \"true\"}\n"
	    "  '0123': {run: \"true\", needs: [a]}\n";
	struct manifest *m = NULL;
	struct diags d;
	struct state_job sj;
	struct node_run r0, r1;
	const struct node_run *runs[2] = { &r0, &r1 };
	char *text, *cause = NULL;
	size_t len;
	json_t *j, *n;

	diags_init(&d);
	CU_ASSERT_EQUAL_FATAL(manifest_parse("st.yaml", mtext,
	    sizeof mtext - 1, &m, &d), 0);
	memset(&r0, 0, sizeof r0);
	r0.status = NS_FAILED;
	r0.attempts = 2;
	r0.exit_code = 3;
	r0.started_ms = 1000;
	r0.finished_ms = 2500;
	r0.reason = REASON_EXIT;
	r0.error = L("exited with status 3: \"quoted\" 42");
	memset(&r1, 0, sizeof r1);
	r1.status = NS_SKIPPED;
	r1.exit_code = -1;
	r1.started_ms = -1;
	r1.finished_ms = 2500;
	r1.reason = REASON_UPSTREAM_FAILED;
	r1.error = L("12");		/* a string that looks like a number */
	memset(&sj, 0, sizeof sj);
	sj.job = "st-20261128T101500-3f2a";
	sj.status = DS_FAILED;
	sj.mono_base_ms = 0;
	sj.wall_base_ms = 1795000000000;
	sj.started_ms = 1000;
	sj.finished_ms = 2600;
	sj.notify_status = "failed";
	sj.notify_error = "POST http://x/: 500";
	text = state_render(m, runs, NULL, 0, &sj, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	j = http_yaml_to_json(text, len, &cause);
	if (j == NULL)
		fprintf(stderr, "\n%s\n%s\n", cause, text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "status")),
	    "failed");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "job")),
	    "st-20261128T101500-3f2a");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "duration_ms")),
	    1600);
	CU_ASSERT(json_is_string(json_object_get(j, "started_at")));
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(j,
	    "progress"), "total")), 2);
	CU_ASSERT(json_is_array(json_object_get(j, "waves")));
	n = json_object_get(json_object_get(j, "nodes"), "a");
	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(n, "exit_code")), 3);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(n, "attempts")), 2);
	CU_ASSERT(json_is_null(json_object_get(n, "signal")));
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(n, "reason")),
	    "exit");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(n, "error")),
	    "exited with status 3: \"quoted\" 42");
	/* a node id and an error that look like numbers stay strings */
	n = json_object_get(json_object_get(j, "nodes"), "0123");
	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	CU_ASSERT(json_is_string(json_object_get(n, "error")));
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(n, "error")),
	    "12");
	CU_ASSERT(json_is_null(json_object_get(n, "exit_code")));
	n = json_object_get(j, "notify");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(n, "status")),
	    "failed");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(n, "error")),
	    "POST http://x/: 500");
	json_decref(j);
	free(text);

	/* no notification attempted: no notify key */
	sj.notify_status = NULL;
	sj.notify_error = NULL;
	text = state_render(m, runs, NULL, 0, &sj, &len);
	j = http_yaml_to_json(text, len, &cause);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_PTR_NULL(json_object_get(j, "notify"));
	json_decref(j);
	free(text);
	manifest_free(m);
	diags_release(&d);
}

/* When the retry of a node that failed with retry_after_ms (as an http node
 * reports a Retry-After) comes: max(backoff, min(retry_after, cap)). */
static int64_t
retry_at_after(int64_t retry_after_ms)
{
	static const char mtext[] = "name: r\nnodes:\n  a:\n    run: \"true\"\n"
	    "    retries: 2\n    retry_delay: 100ms\n    max_retry_delay: 5s\n";
	struct manifest *m = NULL;
	struct diags d;
	struct sched_config c;
	struct sched *s;
	struct sched_action a;
	struct attempt_end e;
	int64_t at;
	int started = 0;

	diags_init(&d);
	CU_ASSERT_EQUAL_FATAL(manifest_parse("r.yaml", mtext, sizeof mtext - 1,
	    &m, &d), 0);
	memset(&c, 0, sizeof c);
	c.max_parallel = 1;
	s = sched_new(m, &c);
	sched_begin(s, 0);
	while (sched_next(s, 0, 1, &a))
		if (a.kind == SA_START)
			started++;
	CU_ASSERT_EQUAL(started, 1);
	memset(&e, 0, sizeof e);
	e.reason = REASON_HTTP_STATUS;
	e.exit_code = 1;
	e.error = "GET http://x/: 503 Service Unavailable";
	e.retry_after_ms = retry_after_ms;
	sched_ended(s, 0, 1000, &e);
	while (sched_next(s, 1000, 1, &a))
		;
	CU_ASSERT_EQUAL(sched_node(s, 0)->status, NS_RETRYING);
	at = sched_node(s, 0)->retry_at;
	sched_free(s);
	manifest_free(m);
	diags_release(&d);
	return at;
}

static void
test_sched_retry_after(void)
{
	CU_ASSERT_EQUAL(retry_at_after(0), 1100);	/* the backoff */
	CU_ASSERT_EQUAL(retry_at_after(2000), 3000);	/* the server's wait */
	CU_ASSERT_EQUAL(retry_at_after(50), 1100);	/* never shorter */
	CU_ASSERT_EQUAL(retry_at_after(60000), 6000);	/* max_retry_delay */
}

/* Whether a mapping of this process names libcurl. */
static bool
curl_mapped(void)
{
	FILE *fp = fopen("/proc/self/maps", "r");
	char line[4096];
	bool found = false;

	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	while (fgets(line, sizeof line, fp) != NULL)
		if (strstr(line, "/libcurl") != NULL)
			found = true;
	fclose(fp);
	return found;
}

/* Run first: nothing has asked for libcurl yet, so it is not there. */
static void
test_curl_not_linked(void)
{
	CU_ASSERT_FALSE(curl_mapped());
}

static void
test_curlso_load(void)
{
	struct curlso t;
	struct curl_slist *l;
	const struct curlso *g, *g2;
	char *cause = NULL;
	CURL *c;

	memset(&t, 0, sizeof t);
	CU_ASSERT_EQUAL_FATAL(curlso_open(CURLSO_NAME, &t, &cause), 0);
	CU_ASSERT_PTR_NULL(cause);
	CU_ASSERT_TRUE(curl_mapped());
	CU_ASSERT_PTR_NOT_NULL(t.handle);
	CU_ASSERT_PTR_NOT_NULL(t.global_init);
	CU_ASSERT_PTR_NOT_NULL(t.easy_setopt);
	CU_ASSERT_PTR_NOT_NULL(t.easy_perform);
	CU_ASSERT_PTR_NOT_NULL(t.easy_getinfo);
	CU_ASSERT_PTR_NOT_NULL(t.easy_strerror);
	/* the pointers are curl's own functions, called as such */
	CU_ASSERT_EQUAL(t.getdate("Sun, 06 Nov 1994 08:49:37 GMT", NULL),
	    784111777);
	CU_ASSERT_EQUAL(t.getdate("not a date", NULL), -1);
	CU_ASSERT_STRING_EQUAL(t.easy_strerror(CURLE_OK), "No error");
	l = t.slist_append(NULL, "X-A: 1");
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	CU_ASSERT_STRING_EQUAL(l->data, "X-A: 1");
	t.slist_free_all(l);
	CU_ASSERT_EQUAL(t.global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
	c = t.easy_init();
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(t.easy_setopt(c, CURLOPT_MAXREDIRS, 3L), CURLE_OK);
	t.easy_cleanup(c);
	curlso_close(&t);
	CU_ASSERT_PTR_NULL(t.handle);

	/* the process's table: loaded once */
	g = curlso_get(&cause);
	CU_ASSERT_PTR_NOT_NULL_FATAL(g);
	g2 = curlso_get(&cause);
	CU_ASSERT_PTR_EQUAL(g, g2);
	CU_ASSERT_PTR_NULL(cause);
}

static void
test_curlso_fail(void)
{
	struct curlso t;
	char dir[] = "/tmp/test_http.XXXXXX", *fake, *cause = NULL, *want;
	int fd;

	/* not there */
	memset(&t, 0, sizeof t);
	CU_ASSERT_EQUAL(curlso_open("libdagexec-none.so.0", &t, &cause), -1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	CU_ASSERT_EQUAL(strncmp(cause, "cannot load 'libdagexec-none.so.0': ",
	    36), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "No such file or directory"));
	CU_ASSERT_PTR_NULL(t.handle);
	free(cause);
	cause = NULL;

	/* a library, but not libcurl: the first missing symbol is named */
	CU_ASSERT_EQUAL(curlso_open("libz.so.1", &t, &cause), -1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	CU_ASSERT_EQUAL(strncmp(cause, "cannot load 'libz.so.1': ", 25), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause,
	    "undefined symbol: curl_global_init"));
	CU_ASSERT_PTR_NULL(t.global_init);
	free(cause);
	cause = NULL;

	/* an empty file of the name */
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	fake = xasprintf("%s/libcurl.so.4", dir);
	fd = open(fake, O_WRONLY | O_CREAT | O_EXCL, 0644);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	CU_ASSERT_EQUAL(curlso_open(fake, &t, &cause), -1);
	CU_ASSERT_PTR_NOT_NULL(cause);
	if (cause != NULL) {
		want = xasprintf("cannot load '%s': %s: ", fake, fake);
		CU_ASSERT_EQUAL(strncmp(cause, want, strlen(want)), 0);
		free(want);
	}
	free(cause);
	CU_ASSERT_EQUAL(unlink(fake), 0);
	CU_ASSERT_EQUAL(rmdir(dir), 0);
	free(fake);
}

int
main(void)
{
	static const struct cunit_test tests[] = {
		{ "libcurl is not linked", test_curl_not_linked },
		{ "templating", test_template },
		{ "templating never reads our environment",
		    test_template_no_env },
		{ "request spec", test_spec },
		{ "Retry-After", test_retry_after },
		{ "YAML to JSON: types", test_yaml_json_types },
		{ "YAML to JSON: a state.yaml", test_yaml_json_state },
		{ "Retry-After in the scheduler", test_sched_retry_after },
		{ "libcurl loaded at run time", test_curlso_load },
		{ "libcurl that cannot be loaded", test_curlso_fail },
		{ NULL, NULL }
	};

	return cunit_run("http", NULL, NULL, tests);
}

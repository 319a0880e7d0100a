/* CUnit suite for slurm.c: the batch script (run by a real sh), the sbatch
 * command line, parsing, the state mapping, and the tracker against a fake
 * squeue on PATH that counts its calls. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "cunit_main.h"
#include "fsutil.h"
#include "loop.h"
#include "manifest.h"
#include "slurm.h"
#include "xmalloc.h"

static char *tmp;

static int
suite_init(void)
{
	char tmpl[] = "/tmp/dagexec-test-slurm.XXXXXX";

	if (mkdtemp(tmpl) == NULL)
		return -1;
	tmp = xstrdup(tmpl);
	return 0;
}

static int
suite_clean(void)
{
	char *cause = NULL;
	int rc = fs_remove_tree(tmp, &cause);

	free(cause);
	free(tmp);
	return rc;
}

/* Run the script with sh; its stdout into *out. Returns the wait status. */
static int
run_script(const char *text, char **out)
{
	char *path = xasprintf("%s/script.sh", tmp), *cmd, *cause = NULL;
	char *opath = xasprintf("%s/script.out", tmp);
	size_t len;
	int st;

	CU_ASSERT_FATAL(fs_write_atomic(path, text, strlen(text), 0600,
	    &cause) == 0);
	cmd = xasprintf("env -i /bin/sh %s >%s 2>&1", path, opath);
	st = system(cmd);
	*out = NULL;
	if (fs_read_file(opath, 1 << 20, out, &len, &cause) != 0) {
		free(cause);
		*out = xstrdup("");
	}
	free(cmd);
	free(path);
	free(opath);
	return st;
}

/* A NULL-terminated copy of src (free with slurm_argv_free). */
static char **
strv(const char *const *src)
{
	size_t n, i;
	char **v;

	for (n = 0; src[n] != NULL; n++)
		;
	v = xcalloc(n + 1, sizeof *v);
	for (i = 0; i < n; i++)
		v[i] = xstrdup(src[i]);
	return v;
}

static void
test_script(void)
{
	static const char *const env0[] = { "PLAIN=a b",
	    "QUOTE=it's \"x\" $HOME `id` \\n", "NEWLINE=one\ntwo",
	    "1BAD=skipped", "BAD-NAME=skipped", "EMPTY=", NULL };
	static const char *const argv0[] = { "printf", "[%s]", "a b", "'q'",
	    NULL };
	char **envp = strv(env0), **argv = strv(argv0);
	char *text, *out;
	int st;

	text = slurm_script(envp, tmp, "printf '%s|%s|%s|%s|' \"$PLAIN\" "
	    "\"$QUOTE\" \"$NEWLINE\" \"${EMPTY-unset}\"; pwd", NULL);
	st = run_script(text, &out);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	{
		char *want = xasprintf("a b|it's \"x\" $HOME `id` \\n|one\ntwo"
		    "||%s\n", tmp);

		CU_ASSERT_STRING_EQUAL(out, want);
		free(want);
	}
	CU_ASSERT(strstr(text, "1BAD") == NULL);
	CU_ASSERT(strstr(text, "BAD-NAME") == NULL);
	free(out);
	free(text);

	/* argv: every word exactly as given */
	text = slurm_script(NULL, tmp, NULL, argv);
	st = run_script(text, &out);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CU_ASSERT_STRING_EQUAL(out, "[a b]['q']");
	free(out);
	free(text);

	/* a work directory that is not there: the agreed status and why */
	text = slurm_script(NULL, "/nonexistent/dagexec", "echo ran", NULL);
	st = run_script(text, &out);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == SLURM_EXIT_CHDIR);
	CU_ASSERT(strstr(out, "filesystem the Slurm nodes share") != NULL);
	CU_ASSERT(strstr(out, "ran") == NULL);
	free(out);
	free(text);
	slurm_argv_free(envp);
	slurm_argv_free(argv);
}

static bool
has(char **argv, const char *s)
{
	size_t i;

	for (i = 0; argv[i] != NULL; i++)
		if (strcmp(argv[i], s) == 0)
			return true;
	return false;
}

static size_t
index_of(char **argv, const char *s)
{
	size_t i;

	for (i = 0; argv[i] != NULL; i++)
		if (strcmp(argv[i], s) == 0)
			return i;
	return SIZE_MAX;
}

static void
test_sbatch_argv(void)
{
	static const char *const extra0[] = { "--nice=5", "--exclusive",
	    NULL };
	char id[] = "train", part[] = "gpu", acct[] = "proj", qos[] = "high";
	char gres[] = "gpu:1", **extra = strv(extra0);
	struct node n;
	struct slurm_spec ss;
	char **a;
	size_t k;

	memset(&n, 0, sizeof n);
	memset(&ss, 0, sizeof ss);
	n.id = id;
	/* nothing given: cpus 1, no mem, no time */
	a = slurm_sbatch_argv(&n, "dag", "dag-1", 2, "/s/x.sbatch", "/o",
	    "/e", "/w");
	CU_ASSERT_STRING_EQUAL(a[0], "sbatch");
	CU_ASSERT(has(a, "--parsable"));
	CU_ASSERT(has(a, "--job-name=dag/train"));
	CU_ASSERT(has(a, "--comment=dagexec:dag-1:train:2"));
	CU_ASSERT(has(a, "--output=/o"));
	CU_ASSERT(has(a, "--error=/e"));
	CU_ASSERT(has(a, "--chdir=/w"));
	CU_ASSERT(has(a, "--export=ALL"));
	CU_ASSERT(!has(a, "--export=NONE"));
	CU_ASSERT(has(a, "--cpus-per-task=1"));
	for (k = 0; a[k] != NULL; k++) {
		CU_ASSERT(strncmp(a[k], "--mem=", 6) != 0);
		CU_ASSERT(strncmp(a[k], "--time=", 7) != 0);
	}
	CU_ASSERT_STRING_EQUAL(a[k - 1], "/s/x.sbatch");
	slurm_argv_free(a);

	/* mem from limits.memory (MiB, rounded up), time from the timeout
	 * rounded up to whole minutes */
	node_limit_put(&n, LIMIT_MEMORY, (100 << 20) + 1);
	n.timeout_ms = 61000;
	a = slurm_sbatch_argv(&n, "d", "j", 1, "/s", "/o", "/e", "/w");
	CU_ASSERT(has(a, "--mem=101M"));
	CU_ASSERT(has(a, "--time=2"));
	slurm_argv_free(a);
	n.timeout_ms = 500;
	a = slurm_sbatch_argv(&n, "d", "j", 1, "/s", "/o", "/e", "/w");
	CU_ASSERT(has(a, "--time=1"));
	slurm_argv_free(a);

	/* slurm: wins over limits and timeout; extra kept in order, last
	 * before the script */
	n.slurm = &ss;
	ss.cpus = 4;
	ss.mem = 2LL << 30;
	ss.time_ms = 3600000;
	ss.partition = part;
	ss.account = acct;
	ss.qos = qos;
	ss.gres = gres;
	ss.extra = extra;
	ss.nextra = 2;
	a = slurm_sbatch_argv(&n, "d", "j", 1, "/s", "/o", "/e", "/w");
	CU_ASSERT(has(a, "--cpus-per-task=4"));
	CU_ASSERT(has(a, "--mem=2048M"));
	CU_ASSERT(!has(a, "--mem=101M"));
	CU_ASSERT(has(a, "--time=60"));
	CU_ASSERT(has(a, "--partition=gpu"));
	CU_ASSERT(has(a, "--account=proj"));
	CU_ASSERT(has(a, "--qos=high"));
	CU_ASSERT(has(a, "--gres=gpu:1"));
	CU_ASSERT(index_of(a, "--nice=5") + 1 == index_of(a, "--exclusive"));
	CU_ASSERT(index_of(a, "--exclusive") + 1 == index_of(a, "/s"));
	CU_ASSERT(a[index_of(a, "/s") + 1] == NULL);
	slurm_argv_free(a);
	slurm_argv_free(extra);
	free(n.limits);
}

static void
test_parse_submit(void)
{
	char *id = NULL;

	CU_ASSERT(slurm_parse_submit("123\n", 4, &id) == 0);
	CU_ASSERT_STRING_EQUAL(id, "123");
	free(id);
	CU_ASSERT(slurm_parse_submit("77;cluster\n", 11, &id) == 0);
	CU_ASSERT_STRING_EQUAL(id, "77");
	free(id);
	/* a warning first */
	CU_ASSERT(slurm_parse_submit("sbatch: warning: x\n9\n", 21, &id) ==
	    0);
	CU_ASSERT_STRING_EQUAL(id, "9");
	free(id);
	id = NULL;
	CU_ASSERT(slurm_parse_submit("", 0, &id) == -1);
	CU_ASSERT(slurm_parse_submit("sbatch: error: Batch job submission "
	    "failed\n", 42, &id) == -1);
	CU_ASSERT(slurm_parse_submit("12abc\n", 6, &id) == -1);
	CU_ASSERT(slurm_parse_submit("123456789012345678901\n", 22, &id) ==
	    -1);
	CU_ASSERT(id == NULL);
}

static void
test_parse_queue(void)
{
	const char *out = "1|FAILED|768|dagexec:j:a:1|\n"
	    "3|FAILED|9|(null)|\n\n2|RUNNING|0||\n"
	    "4|COMPLETED|0|dagexec:a|b:c:1|\n";
	struct slurm_job_state *v = NULL;
	size_t n = 0;
	char *cause = NULL;

	CU_ASSERT_FATAL(slurm_parse_queue(out, strlen(out), &v, &n,
	    &cause) == 0);
	CU_ASSERT_EQUAL_FATAL(n, 4);
	CU_ASSERT_STRING_EQUAL(v[0].id, "1");
	CU_ASSERT_STRING_EQUAL(v[0].state, "FAILED");
	CU_ASSERT_EQUAL(v[0].wstatus, 768);
	CU_ASSERT_STRING_EQUAL(v[0].comment, "dagexec:j:a:1");
	CU_ASSERT_PTR_NULL(v[1].comment);
	CU_ASSERT_EQUAL(v[1].wstatus, 9);
	CU_ASSERT_PTR_NULL(v[2].comment);
	CU_ASSERT_STRING_EQUAL(v[3].comment, "dagexec:a|b:c:1");
	slurm_states_free(v, n);

	CU_ASSERT(slurm_parse_queue("x|RUNNING|0||\n", 14, &v, &n,
	    &cause) == -1);
	CU_ASSERT(cause != NULL && strstr(cause, "line 1") != NULL);
	free(cause);
	cause = NULL;
	CU_ASSERT(slurm_parse_queue("1|RUNNING|0||\n2|RUNNING\n", 24, &v, &n,
	    &cause) == -1);
	CU_ASSERT(cause != NULL && strstr(cause, "line 2") != NULL);
	free(cause);
	cause = NULL;
	CU_ASSERT(slurm_parse_queue("1|RUNNING|-1||\n", 15, &v, &n,
	    &cause) == -1);
	free(cause);
	CU_ASSERT(slurm_parse_queue("", 0, &v, &n, &cause) == 0);
	CU_ASSERT_EQUAL(n, 0);
	slurm_states_free(v, n);
}

static void
test_map(void)
{
	static const struct {
		const char	*state;
		int		 ws;
		bool		 final;
		enum reason	 reason;
		int		 code;
		int		 sig;
	} t[] = {
		{ "PENDING", 0, false, REASON_NONE, -1, 0 },
		{ "RUNNING", 0, false, REASON_NONE, -1, 0 },
		{ "COMPLETING", 0, false, REASON_NONE, -1, 0 },
		{ "COMPLETED", 0, true, REASON_NONE, 0, 0 },
		{ "FAILED", 7 << 8, true, REASON_EXIT, 7, 0 },
		{ "FAILED", 11, true, REASON_SIGNAL, -1, 11 },
		{ "FAILED", 0, true, REASON_EXIT, -1, 0 },
		{ "TIMEOUT", 0, true, REASON_TIMEOUT, 0, 0 },
		{ "OUT_OF_MEMORY", 0, true, REASON_OOM, 0, 0 },
		{ "CANCELLED", 15, true, REASON_CANCELLED, -1, 15 },
		{ "NODE_FAIL", 0, true, REASON_LOST, 0, 0 },
		{ "BOOT_FAIL", 0, true, REASON_LOST, 0, 0 },
		{ "PREEMPTED", 0, true, REASON_LOST, 0, 0 },
		{ "VANISHED", 0, true, REASON_LOST, 0, 0 },
	};
	enum reason r;
	size_t i;
	int code, sig;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		r = REASON_NONE;
		CU_ASSERT_EQUAL(slurm_map(t[i].state, t[i].ws, &r, &code,
		    &sig), t[i].final);
		if (!t[i].final)
			continue;
		CU_ASSERT_EQUAL(r, t[i].reason);
		CU_ASSERT_EQUAL(code, t[i].code);
		CU_ASSERT_EQUAL(sig, t[i].sig);
	}
	CU_ASSERT_STRING_EQUAL(reason_name(REASON_OOM), "oom");
}

static void
test_oom_text(void)
{
	const char *a = "slurmstepd: error: StepId=7.batch exceeded memory "
	    "limit (414904320 > 104857600), being killed\n";
	const char *b = "task 0: Out Of Memory\n";
	const char *c = "MemoryError: out of memory in python\n";

	CU_ASSERT(slurm_says_oom(a, strlen(a)));
	CU_ASSERT(slurm_says_oom(b, strlen(b)));
	CU_ASSERT(!slurm_says_oom(c, strlen(c)));
	CU_ASSERT(!slurm_says_oom("", 0));
}

static void
test_env(void)
{
	static const char *const base0[] = { "HOME=/h", "SLURM_JOB_ID=5",
	    "SLURM_JOBID=5", "SLURM_CPUS=2", NULL };
	char **base = strv(base0), **e, *oldpath = xstrdup(getenv("PATH"));

	setenv("SLURM_CONF", "/etc/x/slurm.conf", 1);
	setenv("PATH", "/p1:/p2", 1);
	e = slurm_env(base);
	CU_ASSERT(has(e, "HOME=/h"));
	CU_ASSERT(has(e, "SLURM_CPUS=2"));
	CU_ASSERT(!has(e, "SLURM_JOB_ID=5"));
	CU_ASSERT(!has(e, "SLURM_JOBID=5"));
	CU_ASSERT(has(e, "SLURM_CONF=/etc/x/slurm.conf"));
	CU_ASSERT(has(e, "PATH=/p1:/p2"));
	slurm_argv_free(e);
	unsetenv("SLURM_CONF");
	setenv("PATH", oldpath, 1);
	free(oldpath);
	slurm_argv_free(base);
}

/* ---- the tracker against a fake squeue ---------------------------------- */

struct seen {
	char	*id;
	char	*state;
	int	 ws;
	int	 calls;
};

static void
track_cb(const struct slurm_job_state *st, void *arg)
{
	struct seen *s = arg;

	s->calls++;
	free(s->state);
	s->state = xstrdup(st->state);
	s->ws = st->wstatus;
}

static void
write_file(const char *path, const char *text)
{
	char *cause = NULL;

	CU_ASSERT_FATAL(fs_write_atomic(path, text, strlen(text), 0700,
	    &cause) == 0);
}

static int
count_lines(const char *path)
{
	char *buf, *p;
	size_t len;
	int n = 0;

	if (fs_read_file(path, 1 << 20, &buf, &len, NULL) != 0)
		return 0;
	for (p = buf; p < buf + len; p++)
		if (*p == '\n')
			n++;
	free(buf);
	return n;
}

static void
test_tracker(void)
{
	char *bin = xasprintf("%s/bin", tmp), *squeue, *states, *calls;
	char *script, *oldpath = xstrdup(getenv("PATH")), *path, *cause = NULL;
	struct seen a = { 0 }, b = { 0 }, c = { 0 };
	struct loop *l;
	int64_t t0;
	int n1, n2;

	CU_ASSERT_FATAL(mkdir(bin, 0755) == 0);
	squeue = xasprintf("%s/squeue", bin);
	states = xasprintf("%s/states", tmp);
	calls = xasprintf("%s/calls", tmp);
	/* one line a call, with its arguments; prints the states file */
	script = xasprintf("#!/bin/sh\necho \"$*\" >>%s\ncat %s\n", calls,
	    states);
	write_file(squeue, script);
	write_file(states, "1|RUNNING|0|x|\n2|PENDING|0||\n");
	path = xasprintf("%s:%s", bin, oldpath);
	setenv("PATH", path, 1);

	l = loop_new(&cause);
	CU_ASSERT_FATAL(l != NULL);
	CU_ASSERT(slurm_track(l, "1", track_cb, &a) == 0);
	CU_ASSERT(slurm_track(l, "2", track_cb, &b) == 0);
	CU_ASSERT(slurm_track(l, "3", track_cb, &c) == 0);
	CU_ASSERT_EQUAL(slurm_tracked(), 3);
	/* a few ticks: nothing final yet; 3 vanishes after three */
	t0 = loop_now();
	while (c.calls == 0 && loop_now() - t0 < 20000)
		loop_run_once(l, 100);
	CU_ASSERT_EQUAL(c.calls, 1);
	CU_ASSERT_STRING_EQUAL(c.state, "VANISHED");
	CU_ASSERT_EQUAL(a.calls, 0);
	CU_ASSERT_EQUAL(b.calls, 0);
	CU_ASSERT_EQUAL(slurm_tracked(), 2);
	/* every call asked for all tracked jobs at once */
	n1 = count_lines(calls);
	CU_ASSERT(n1 >= 3);
	{
		char *buf;
		size_t len;

		CU_ASSERT_FATAL(fs_read_file(calls, 1 << 20, &buf, &len,
		    NULL) == 0);
		CU_ASSERT(strstr(buf, "--jobs=1,2,3") != NULL ||
		    strstr(buf, "--jobs=3,1,2") != NULL ||
		    strstr(buf, "--jobs=1,3,2") != NULL);
		free(buf);
	}

	/* nothing changes: the tick backs off, fewer calls per second */
	t0 = loop_now();
	while (loop_now() - t0 < 3000)
		loop_run_once(l, 100);
	n2 = count_lines(calls) - n1;
	CU_ASSERT(n2 >= 1 && n2 <= 4);

	/* 1 ends with status 3, 2 is cancelled */
	write_file(states, "1|FAILED|768|x|\n2|CANCELLED|15||\n");
	t0 = loop_now();
	while ((a.calls == 0 || b.calls == 0) && loop_now() - t0 < 20000)
		loop_run_once(l, 100);
	CU_ASSERT_EQUAL(a.calls, 1);
	CU_ASSERT_STRING_EQUAL(a.state, "FAILED");
	CU_ASSERT_EQUAL(a.ws, 768);
	CU_ASSERT_EQUAL(b.calls, 1);
	CU_ASSERT_STRING_EQUAL(b.state, "CANCELLED");
	CU_ASSERT_EQUAL(slurm_tracked(), 0);

	/* untracked: no callback, no more calls */
	CU_ASSERT(slurm_track(l, "9", track_cb, &c) == 0);
	slurm_untrack("9", &c);
	CU_ASSERT_EQUAL(slurm_tracked(), 0);
	n1 = count_lines(calls);
	t0 = loop_now();
	while (loop_now() - t0 < 600)
		loop_run_once(l, 100);
	CU_ASSERT_EQUAL(count_lines(calls), n1);
	CU_ASSERT_EQUAL(c.calls, 1);

	loop_free(l);
	setenv("PATH", oldpath, 1);
	free(a.state);
	free(b.state);
	free(c.state);
	free(path);
	free(oldpath);
	free(script);
	free(calls);
	free(states);
	free(squeue);
	free(bin);
}

static char s_sh[] = "/bin/sh", s_dash_c[] = "-c", s_quick[] = "exit 0",
    s_ignore_term[] = "trap '' TERM; sleep 1", s_path_env[] = "PATH=/usr/bin:/bin";

static void
cmd_cb(int status, const char *out, size_t len, void *arg)
{
	(void)status;
	(void)out;
	(void)len;
	(*(int *)arg)++;
}

/* A command forgotten while it still runs (a job that ends while its
 * squeue is out) is let go with the loop: never called back, nothing
 * left allocated (the sanitizer build's LeakSanitizer checks that), and
 * the loop runs on safely after its child exits. */
static void
test_forget(void)
{
	char *argv[] = { s_sh, s_dash_c, s_ignore_term, NULL };
	char *envp[] = { s_path_env, NULL };
	struct slurm_cmd *c;
	struct loop *l;
	char *cause = NULL;
	int calls = 0;
	int64_t t0;

	l = loop_new(&cause);
	CU_ASSERT_FATAL(l != NULL);
	c = slurm_cmd_run(l, argv, envp, cmd_cb, &calls, &cause);
	CU_ASSERT_FATAL(c != NULL);
	slurm_cmd_forget(l, c);
	CU_ASSERT_EQUAL(slurm_cmds_forgotten(), 1);
	slurm_cmds_drop(l);
	CU_ASSERT_EQUAL(slurm_cmds_forgotten(), 0);
	t0 = loop_now();
	while (loop_now() - t0 < 800)
		loop_run_once(l, 100);
	CU_ASSERT_EQUAL(calls, 0);
	/* a command that ends is freed by the loop as before */
	argv[2] = s_quick;
	c = slurm_cmd_run(l, argv, envp, cmd_cb, &calls, &cause);
	CU_ASSERT_FATAL(c != NULL);
	t0 = loop_now();
	while (calls == 0 && loop_now() - t0 < 10000)
		loop_run_once(l, 100);
	CU_ASSERT_EQUAL(calls, 1);
	/* one forgotten that ends before the job does leaves the list */
	c = slurm_cmd_run(l, argv, envp, cmd_cb, &calls, &cause);
	CU_ASSERT_FATAL(c != NULL);
	slurm_cmd_forget(l, c);
	t0 = loop_now();
	while (slurm_cmds_forgotten() > 0 && loop_now() - t0 < 10000)
		loop_run_once(l, 100);
	CU_ASSERT_EQUAL(slurm_cmds_forgotten(), 0);
	CU_ASSERT_EQUAL(calls, 1);
	loop_free(l);
}

int
main(void)
{
	static const struct cunit_test tests[] = {
		{ "batch script", test_script },
		{ "sbatch argv", test_sbatch_argv },
		{ "parse submit", test_parse_submit },
		{ "parse queue", test_parse_queue },
		{ "state map", test_map },
		{ "oom text", test_oom_text },
		{ "environment", test_env },
		{ "tracker", test_tracker },
		{ "forgotten command", test_forget },
		{ NULL, NULL }
	};

	return cunit_run("slurm", suite_init, suite_clean, tests);
}

/* dagexec run [-j N] [-o DIR] MANIFEST: run one DAG in the foreground. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "cache.h"
#include "cgroup.h"
#include "cmd.h"
#include "diag.h"
#include "fsutil.h"
#include "history.h"
#include "job.h"
#include "loop.h"
#include "manifest.h"
#include "render.h"
#include "retry.h"
#include "xmalloc.h"

static void
run_usage(FILE *fp)
{
	fprintf(fp, "usage: dagexec run [-j N] [-o DIR] [--bundle-format gz|zst] "
	    "[--keep] [-q]\n                   [--target NODE]... "
	    "[--cache DIR | --no-cache]\n                   [--containment "
	    "auto|cgroup|rlimits] [--max-size SIZE] MANIFEST\n\n"
	    "Run one DAG in the foreground and write its result bundle into "
	    "DIR\n(default: the current directory); print the bundle's path "
	    "last. In the bundle,\nJOB/report.html shows the run on one page "
	    "in a browser.\n\n"
	    "  -j, --jobs N            run at most N nodes at once "
	    "(with max_parallel)\n"
	    "  -o, --output DIR        where the job directory and the "
	    "bundle go\n"
	    "      --bundle-format F   gz (default) or zst\n"
	    "      --keep              keep the job directory DIR/JOB after "
	    "bundling\n"
	    "  -q, --quiet             no progress lines on stderr\n"
	    "  -t, --target NODE       run NODE and what it needs, nothing "
	    "else (repeatable)\n"
	    "      --cache DIR         the cache store of nodes with cache: "
	    "(default\n"
	    "                          $DAGEXEC_CACHE, else "
	    "$XDG_CACHE_HOME/dagexec)\n"
	    "      --no-cache          neither look up nor store: every node "
	    "runs\n"
	    "      --containment M     auto (default): each attempt in a "
	    "cgroup of its own\n"
	    "                          where ours is writable, else rlimits; "
	    "cgroup: that or\n"
	    "                          exit 71; rlimits: no cgroups\n\n"
	    "      --max-size SIZE     refuse a manifest larger than SIZE "
	    "(default 16M,\n"
	    "                          at most 1G; a million nodes take about "
	    "30M)\n\n"
	    "exit status: 0 succeeded, 1 the DAG failed, 64 usage or unknown "
	    "target,\n65 invalid manifest, 66 unreadable manifest, 71 "
	    "--containment cgroup and\nno cgroup can be made, 73 cannot "
	    "create the bundle, 75 interrupted\n");
}

struct run_ctx {
	struct job	*job;
	struct loop	*loop;
};

/* The learned durations of m's nodes from the caller's history (see
 * history_user_dir), 0 where none; a history that cannot be read is a
 * warning (no history directory at all is warned of at the update). */
static int64_t *
run_history_load(const struct manifest *m)
{
	int64_t *est;
	char *dir, *cause = NULL;

	est = xcalloc(m->nnodes + 1, sizeof *est);
	if ((dir = history_user_dir(&cause)) != NULL &&
	    history_load_dir(dir, m, est, &cause) != 0)
		fprintf(stderr, "dagexec: warning: %s\n", cause);
	free(cause);
	free(dir);
	return est;
}

/* Fold what succeeded into the caller's history. A failure is a warning:
 * the run itself is not affected. */
static void
run_history_update(const struct manifest *m, const struct sched *s)
{
	char *dir, *path = NULL, *cause = NULL;

	if ((dir = history_user_dir(&cause)) == NULL ||
	    fs_mkdirs(dir, 0700, &cause) != 0 ||
	    history_update(path = history_file(dir, m->name), m, s,
	    &cause) != 0) {
		fprintf(stderr, "dagexec: warning: cannot update the history: "
		    "%s\n", cause);
		free(cause);
	}
	free(path);
	free(dir);
}

static void
on_finish(struct job *j, void *arg)
{
	struct run_ctx *rc = arg;

	(void)j;
	loop_break(rc->loop);
}

static void
on_signal(struct loop *l, int signo, void *arg)
{
	struct run_ctx *rc = arg;

	(void)l;
	(void)signo;
	if (rc->job != NULL)
		job_stop(rc->job, DS_INTERRUPTED);
}

int
cmd_containment(const char *cmd, const char *arg, enum cgroup_mode *m)
{
	if (cgroup_mode_parse(arg, m) == 0)
		return 0;
	fprintf(stderr, "dagexec: %s: --containment is auto, cgroup or "
	    "rlimits, not '%s'\n", cmd, arg);
	return -1;
}

int
run_option(struct run_opts *o, int c, const char *arg, const char *cmd)
{
	char *end;
	long v;

	switch (c) {
	case 'j':
		errno = 0;
		v = strtol(arg, &end, 10);
		if (errno != 0 || *end != '\0' || v < 1 || v > 1000000) {
			fprintf(stderr, "dagexec: %s: -j takes a number "
			    "from 1 to 1000000, not '%s'\n", cmd, arg);
			return -1;
		}
		o->jobs = (int)v;
		return 1;
	case 'o':
		o->outdir = arg;
		return 1;
	case 'F':
		if (strcmp(arg, "gz") == 0)
			o->fmt = BUNDLE_TGZ;
		else if (strcmp(arg, "zst") == 0)
			o->fmt = BUNDLE_TZST;
		else {
			fprintf(stderr, "dagexec: %s: unknown bundle "
			    "format '%s' (gz or zst)\n", cmd, arg);
			return -1;
		}
		return 1;
	case 'k':
		o->keep = true;
		return 1;
	case 'q':
		o->quiet = true;
		return 1;
	case 'C':
		o->cache = arg;
		return 1;
	case 'N':
		o->no_cache = true;
		return 1;
	case 'K':
		return cmd_containment(cmd, arg, &o->containment) == 0 ? 1 : -1;
	default:
		return 0;
	}
}

/* Whether a node of m has cache: on. */
static bool
run_cached(const struct manifest *m)
{
	size_t i;

	for (i = 0; i < m->nnodes; i++)
		if (node_cache(&m->nodes[i])->enabled)
			return true;
	return false;
}

/* path made absolute against the working directory (leading "./" left
 * out), new: report.html's commands then work from anywhere. */
static char *
run_abs(const char *path)
{
	char *cwd, *abs;

	if (path[0] == '/' || (cwd = getcwd(NULL, 0)) == NULL)
		return xstrdup(path);
	while (strncmp(path, "./", 2) == 0)
		path += 2;
	abs = xasprintf("%s/%s", cwd, path);
	free(cwd);
	return abs;
}

int
run_job(struct manifest *m, const char *text, size_t len,
    const struct run_opts *o)
{
	struct job_config jc;
	struct run_ctx rc = { NULL, NULL };
	struct cgroup_job *cg = NULL;
	enum dag_status st;
	const char *outdir = o->outdir != NULL ? o->outdir : ".";
	char *cause = NULL, *id, *jobdir, *bundle, *cache = NULL, *absb;
	int64_t *est = NULL;
	int ret;

	/* one malloc arena for every thread: what the job's threads (the
	 * state's, the journal's, the end's) free is reused by the others
	 * instead of staying resident in arenas of their own */
	(void)mallopt(M_ARENA_MAX, 1);
	id = job_make_id(m->name);
	jobdir = xasprintf("%s/%s", outdir, id);
	bundle = xasprintf("%s/%s%s", outdir, id, bundle_ext(o->fmt));
	if ((rc.loop = loop_new(&cause)) == NULL) {
		fprintf(stderr, "dagexec: %s\n", cause);
		ret = EXIT_OSERR;
		goto out;
	}
	/* our cgroup, when it is writable: the job's below it, with us in
	 * JOB/supervisor and each attempt beside us */
	if (cgroup_job_run(id, o->containment, &cg, &cause) != 0) {
		fprintf(stderr, "dagexec: --containment cgroup: %s\n", cause);
		ret = EXIT_OSERR;
		goto out;
	}
	free(cause);
	cause = NULL;
	memset(&jc, 0, sizeof jc);
	jc.cgroup = cg;
	jc.id = id;
	jc.dir = jobdir;
	jc.manifest_text = text;
	jc.manifest_len = len;
	jc.manifest_nosync = true;
	jc.jobs = o->jobs;
	jc.clean_env = false;
	est = run_history_load(m);
	jc.estimates = est;
	/* interrupted, nothing resumes a run: its Slurm jobs go too */
	jc.cancel_remote = true;
	jc.progress = o->quiet ? PROGRESS_NONE : isatty(STDERR_FILENO) ?
	    PROGRESS_TTY : PROGRESS_LINES;
	jc.on_finish = on_finish;
	jc.arg = &rc;
	/* no cache directory to be found: the nodes run, as with
	 * --no-cache, and the run says why */
	if (!o->no_cache && (cache = cache_dir_default(o->cache,
	    &cause)) == NULL && run_cached(m)) {
		fprintf(stderr, "dagexec: warning: %s: cached nodes run\n",
		    cause);
	}
	free(cause);
	cause = NULL;
	jc.cache_dir = cache;
	jc.cache_skip = o->cache_skip;
	jc.bundle = absb = run_abs(bundle);
	rc.job = job_new(rc.loop, m, &jc, &cause);
	free(absb);
	m = NULL;	/* the job owns it, even on failure */
	if (rc.job == NULL) {
		fprintf(stderr, "dagexec: %s\n", cause);
		ret = EXIT_CANTCREAT;
		goto out;
	}
	if (o->prepare != NULL &&
	    (ret = o->prepare(rc.job, o->arg, &cause)) != 0) {
		fprintf(stderr, "dagexec: %s\n", cause);
		fprintf(stderr, "dagexec: the job directory '%s' is kept\n",
		    jobdir);
		goto out;
	}
	loop_on_signal(rc.loop, SIGINT, on_signal, &rc);
	loop_on_signal(rc.loop, SIGTERM, on_signal, &rc);
	loop_on_signal(rc.loop, SIGHUP, on_signal, &rc);
	if (job_start(rc.job, &cause) != 0) {
		fprintf(stderr, "dagexec: %s\n", cause);
		ret = EXIT_SOFTWARE;
		goto out;
	}
	while (!job_finished(rc.job)) {
		if (loop_run(rc.loop) != 0) {
			fprintf(stderr, "dagexec: event loop: %s\n",
			    strerror(errno));
			ret = EXIT_OSERR;
			goto out;
		}
	}
	st = job_status(rc.job);
	/* an interrupted run says little of how long its nodes take */
	if (st != DS_INTERRUPTED)
		run_history_update(job_manifest(rc.job), job_sched(rc.job));
	if (!o->quiet && isatty(STDERR_FILENO))
		job_render_summary(rc.job, stderr);
	/* the records of a large DAG are let go before the bundle's
	 * buffers are taken: the two never add up */
	job_free(rc.job);
	rc.job = NULL;
	if (bundle_write(bundle, o->fmt, id, jobdir, NULL, &cause) != 0) {
		fprintf(stderr, "dagexec: %s\n", cause);
		fprintf(stderr, "dagexec: the job directory '%s' is kept\n",
		    jobdir);
		ret = EXIT_CANTCREAT;
		goto out;
	}
	if (!o->keep && fs_remove_tree(jobdir, &cause) != 0) {
		fprintf(stderr, "dagexec: warning: %s\n", cause);
		free(cause);
		cause = NULL;
	}
	printf("%s\n", bundle);
	if (fflush(stdout) != 0) {
		ret = EXIT_IOERR;
		goto out;
	}
	if (st == DS_SUCCEEDED)
		ret = 0;
	else if (st == DS_INTERRUPTED)
		ret = EXIT_TEMPFAIL;
	else
		ret = EXIT_DAG_FAILED;
out:
	free(cause);
	free(est);
	job_free(rc.job);
	cgroup_job_free(cg);
	manifest_free(m);
	loop_free(rc.loop);
	free(bundle);
	free(jobdir);
	free(id);
	free(cache);
	return ret;
}

/* Cut m down to the targets and what they need (make TARGET). Returns 0,
 * or EXIT_USAGE when a target is no node of m. */
static int
run_targets(struct manifest *m, char **targets, size_t ntargets)
{
	bool *keep;
	size_t k;

	keep = xcalloc(m->nnodes + 1, sizeof *keep);
	for (k = 0; k < ntargets; k++) {
		/* a foreach node names all its instances */
		if (!manifest_named(m, targets[k], keep)) {
			fprintf(stderr, "dagexec: run: unknown node '%s' in "
			    "--target\n", targets[k]);
			free(keep);
			return EXIT_USAGE;
		}
	}
	(void)retry_needed(&m->graph, keep);
	manifest_keep(m, keep);
	free(keep);
	return 0;
}

int
cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "jobs", required_argument, NULL, 'j' },
		{ "output", required_argument, NULL, 'o' },
		{ "bundle-format", required_argument, NULL, 'F' },
		{ "keep", no_argument, NULL, 'k' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "target", required_argument, NULL, 't' },
		{ "cache", required_argument, NULL, 'C' },
		{ "no-cache", no_argument, NULL, 'N' },
		{ "containment", required_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ "max-size", required_argument, NULL, 'M' },
		{ NULL, 0, NULL, 0 }
	};
	struct run_opts ro;
	size_t max = MANIFEST_MAX_BYTES;
	struct manifest *m = NULL;
	struct diags d;
	char *cause = NULL, *text = NULL, **targets = NULL;
	const char *file;
	size_t len = 0, ntargets = 0;
	int c, r, ret;

	memset(&ro, 0, sizeof ro);
	ro.fmt = BUNDLE_TGZ;
	while ((c = getopt_long(argc, argv, "+j:o:qt:h", opts, NULL)) != -1) {
		if ((r = run_option(&ro, c, optarg, "run")) < 0) {
			free(targets);
			return EXIT_USAGE;
		}
		if (r > 0)
			continue;
		switch (c) {
		case 't':
			targets = xreallocarray(targets, ntargets + 1,
			    sizeof *targets);
			targets[ntargets++] = optarg;
			break;
		case 'M':
			if (max_size_option(optarg, "run", &max) != 0) {
				free(targets);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			run_usage(stdout);
			free(targets);
			return 0;
		default:
			run_usage(stderr);
			free(targets);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		run_usage(stderr);
		free(targets);
		return EXIT_USAGE;
	}

	/* read once: what runs and what the bundle keeps are the bytes that
	 * were validated */
	file = argv[optind];
	if (strcmp(file, "-") == 0 ?
	    fs_read_fd(STDIN_FILENO, "(standard input)", max, &text, &len,
	    &cause) != 0 :
	    fs_read_file(file, max, &text, &len, &cause) != 0) {
		free(targets);
		if (errno == EFBIG) {
			fprintf(stderr, "%s: error: manifest is larger than %zu "
			    "bytes (--max-size raises the bound)\n", file, max);
			free(cause);
			return EXIT_DATAERR;
		}
		fprintf(stderr, "dagexec: %s\n", cause);
		free(cause);
		return EXIT_NOINPUT;
	}
	diags_init(&d);
	if (manifest_parse_max(file, text, len, max, &m, &d) != 0) {
		diags_print(stderr, file, &d);
		diags_release(&d);
		free(text);
		free(targets);
		return EXIT_DATAERR;
	}
	diags_release(&d);
	if (ntargets > 0 && (ret = run_targets(m, targets, ntargets)) != 0) {
		manifest_free(m);
		free(text);
		free(targets);
		return ret;
	}
	free(targets);
	ret = run_job(m, text, len, &ro);
	free(text);
	return ret;
}

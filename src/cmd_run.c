/* dagexec run [-j N] [-o DIR] MANIFEST: run one DAG in the foreground. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "cmd.h"
#include "diag.h"
#include "fsutil.h"
#include "history.h"
#include "job.h"
#include "loop.h"
#include "manifest.h"
#include "render.h"
#include "xmalloc.h"

static void
run_usage(FILE *fp)
{
	fprintf(fp, "usage: dagexec run [-j N] [-o DIR] [--bundle-format gz|zst] "
	    "[--keep] [-q] MANIFEST\n\n"
	    "Run one DAG in the foreground and write its result bundle into "
	    "DIR\n(default: the current directory); print the bundle's path "
	    "last.\n\n"
	    "  -j, --jobs N            run at most N nodes at once "
	    "(with max_parallel)\n"
	    "  -o, --output DIR        where the job directory and the "
	    "bundle go\n"
	    "      --bundle-format F   gz (default) or zst\n"
	    "      --keep              keep the job directory DIR/JOB after "
	    "bundling\n"
	    "  -q, --quiet             no progress lines on stderr\n\n"
	    "exit status: 0 succeeded, 1 the DAG failed, 64 usage, "
	    "65 invalid manifest,\n66 unreadable manifest, 73 cannot create "
	    "the bundle, 75 interrupted\n");
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
cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "jobs", required_argument, NULL, 'j' },
		{ "output", required_argument, NULL, 'o' },
		{ "bundle-format", required_argument, NULL, 'F' },
		{ "keep", no_argument, NULL, 'k' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct job_config jc;
	struct run_ctx rc = { NULL, NULL };
	struct manifest *m = NULL;
	struct diags d;
	enum bundle_format fmt = BUNDLE_TGZ;
	enum dag_status st;
	const char *outdir = ".";
	char *cause = NULL, *id = NULL, *jobdir = NULL, *bundle = NULL, *end;
	char *text = NULL;
	int64_t *est = NULL;
	const char *file;
	size_t len = 0;
	int c, jobs = 0, keep = 0, quiet = 0, ret;
	long v;

	while ((c = getopt_long(argc, argv, "+j:o:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || v < 1 || v > 1000000) {
				fprintf(stderr, "dagexec: run: -j takes a number "
				    "from 1 to 1000000, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			jobs = (int)v;
			break;
		case 'o':
			outdir = optarg;
			break;
		case 'F':
			if (strcmp(optarg, "gz") == 0)
				fmt = BUNDLE_TGZ;
			else if (strcmp(optarg, "zst") == 0)
				fmt = BUNDLE_TZST;
			else {
				fprintf(stderr, "dagexec: run: unknown bundle "
				    "format '%s' (gz or zst)\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'k':
			keep = 1;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			run_usage(stdout);
			return 0;
		default:
			run_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		run_usage(stderr);
		return EXIT_USAGE;
	}

	/* read once: what runs and what the bundle keeps are the bytes that
	 * were validated */
	file = argv[optind];
	if (strcmp(file, "-") == 0 ?
	    fs_read_fd(STDIN_FILENO, "(standard input)", MANIFEST_MAX_BYTES,
	    &text, &len, &cause) != 0 :
	    fs_read_file(file, MANIFEST_MAX_BYTES, &text, &len, &cause) != 0) {
		if (errno == EFBIG) {
			fprintf(stderr, "%s: error: manifest is larger than %u "
			    "bytes\n", file, MANIFEST_MAX_BYTES);
			free(cause);
			return EXIT_DATAERR;
		}
		fprintf(stderr, "dagexec: %s\n", cause);
		free(cause);
		return EXIT_NOINPUT;
	}
	diags_init(&d);
	if (manifest_parse(file, text, len, &m, &d) != 0) {
		diags_print(stderr, file, &d);
		diags_release(&d);
		free(text);
		return EXIT_DATAERR;
	}
	diags_release(&d);

	id = job_make_id(m->name);
	jobdir = xasprintf("%s/%s", outdir, id);
	bundle = xasprintf("%s/%s%s", outdir, id, bundle_ext(fmt));
	if ((rc.loop = loop_new(&cause)) == NULL) {
		fprintf(stderr, "dagexec: %s\n", cause);
		ret = EXIT_OSERR;
		goto out;
	}
	memset(&jc, 0, sizeof jc);
	jc.id = id;
	jc.dir = jobdir;
	jc.manifest_text = text;
	jc.manifest_len = len;
	jc.jobs = jobs;
	jc.clean_env = false;
	est = run_history_load(m);
	jc.estimates = est;
	/* interrupted, nothing resumes a run: its Slurm jobs go too */
	jc.cancel_remote = true;
	jc.progress = quiet ? PROGRESS_NONE : isatty(STDERR_FILENO) ?
	    PROGRESS_TTY : PROGRESS_LINES;
	jc.on_finish = on_finish;
	jc.arg = &rc;
	rc.job = job_new(rc.loop, m, &jc, &cause);
	m = NULL;	/* the job owns it, even on failure */
	if (rc.job == NULL) {
		fprintf(stderr, "dagexec: %s\n", cause);
		ret = EXIT_CANTCREAT;
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
	if (!quiet && isatty(STDERR_FILENO))
		render_summary(stderr, job_manifest(rc.job), job_sched(rc.job),
		    job_duration_ms(rc.job));
	if (bundle_write(bundle, fmt, id, job_dir(rc.job), NULL, &cause) != 0) {
		fprintf(stderr, "dagexec: %s\n", cause);
		fprintf(stderr, "dagexec: the job directory '%s' is kept\n",
		    jobdir);
		ret = EXIT_CANTCREAT;
		goto out;
	}
	if (!keep && fs_remove_tree(job_dir(rc.job), &cause) != 0) {
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
	free(text);
	free(est);
	job_free(rc.job);
	manifest_free(m);
	loop_free(rc.loop);
	free(bundle);
	free(jobdir);
	free(id);
	return ret;
}

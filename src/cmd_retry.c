/* dagexec retry [-j N] [-o DIR] [--from NODE]... [--manifest FILE] [--force]
 * [-s SPOOL] BUNDLE|JOBDIR|JOB: run a finished job again as a new job,
 * reusing what succeeded (interface §8). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "diag.h"
#include "fsutil.h"
#include "job.h"
#include "rerun.h"
#include "runref.h"
#include "spool.h"
#include "xmalloc.h"

static void
retry_usage(FILE *fp)
{
	fprintf(fp, "usage: dagexec retry [-j N] [-o DIR] [--from NODE]... "
	    "[--manifest FILE] [--force]\n"
	    "                     [--bundle-format gz|zst] [--keep] [-q] "
	    "[--cache DIR | --no-cache]\n"
	    "                     [-s SPOOL] BUNDLE|JOBDIR|JOB\n\n"
	    "Run a finished job again as a new job: a node that succeeded is "
	    "reused (its\ndeclared outputs and values restored) when all it "
	    "needs is reused too; every\nother node runs. The earlier job is "
	    "a result bundle, a job directory kept with\n--keep, or a job id "
	    "whose bundle is in SPOOL/done/.\n\n"
	    "  -f, --from NODE         run NODE and all its descendants again "
	    "(repeatable)\n"
	    "  -m, --manifest FILE     an edited manifest: changed nodes run "
	    "again with their\n"
	    "                          descendants\n"
	    "      --force             with --manifest: run nodes only it has, "
	    "drop nodes only\n"
	    "                          the earlier job had\n"
	    "  -j, --jobs N            run at most N nodes at once\n"
	    "  -o, --output DIR        where the job directory and the "
	    "bundle go\n"
	    "      --bundle-format F   gz (default) or zst\n"
	    "      --keep              keep the job directory DIR/JOB after "
	    "bundling\n"
	    "  -q, --quiet             no progress lines on stderr\n"
	    "      --cache DIR         the cache store (as run); the --from "
	    "nodes never\n"
	    "                          take their result from it\n"
	    "      --no-cache          neither look up nor store\n"
	    "  -s, --spool SPOOL       where a job id is looked up (default "
	    "$DAGEXEC_SPOOL,\n                          then %s)\n"
	    "      --containment M     auto, cgroup or rlimits (as run)\n\n"
	    "exit status: 0 succeeded (or nothing left to run), 1 the DAG "
	    "failed, 64 usage\nor unknown node, 65 not a dagexec bundle, a "
	    "failed SHA256SUMS, an invalid\nmanifest or nodes in one manifest "
	    "only, 66 unreadable input, 73 cannot create\nthe bundle, "
	    "75 interrupted\n", spool_default());
}

/* Before the new job starts: its reused nodes end succeeded, with their
 * outputs, values and logs from the earlier job. */
static int
retry_prepare(struct job *j, void *arg, char **cause)
{
	return rerun_preset(arg, j, cause) != 0 ? EXIT_IOERR : 0;
}

int
cmd_retry(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "jobs", required_argument, NULL, 'j' },
		{ "output", required_argument, NULL, 'o' },
		{ "bundle-format", required_argument, NULL, 'F' },
		{ "keep", no_argument, NULL, 'k' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "from", required_argument, NULL, 'f' },
		{ "manifest", required_argument, NULL, 'm' },
		{ "force", no_argument, NULL, 'X' },
		{ "cache", required_argument, NULL, 'C' },
		{ "no-cache", no_argument, NULL, 'N' },
		{ "spool", required_argument, NULL, 's' },
		{ "containment", required_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct run_opts ro;
	struct rerun *rr = NULL;
	struct diags d;
	struct runref ref;
	const char *file = NULL, *spool = NULL;
	char *cause = NULL, *name = NULL, **from = NULL, *old = NULL;
	const char *text;
	bool force = false;
	size_t len, nfrom = 0, bad;
	long nrun;
	int c, r, ret;

	diags_init(&d);
	memset(&ro, 0, sizeof ro);
	ro.fmt = BUNDLE_TGZ;
	memset(&ref, 0, sizeof ref);
	while ((c = getopt_long(argc, argv, "+j:o:qf:m:s:h", opts, NULL)) !=
	    -1) {
		if ((r = run_option(&ro, c, optarg, "retry")) != 0) {
			if (r < 0) {
				ret = EXIT_USAGE;
				goto out;
			}
			continue;
		}
		switch (c) {
		case 'f':
			from = xreallocarray(from, nfrom + 1, sizeof *from);
			from[nfrom++] = optarg;
			break;
		case 'm':
			file = optarg;
			break;
		case 'X':
			force = true;
			break;
		case 's':
			spool = optarg;
			break;
		case 'h':
			retry_usage(stdout);
			ret = 0;
			goto out;
		default:
			retry_usage(stderr);
			ret = EXIT_USAGE;
			goto out;
		}
	}
	if (argc - optind != 1) {
		retry_usage(stderr);
		ret = EXIT_USAGE;
		goto out;
	}
	if (force && file == NULL) {
		fprintf(stderr, "dagexec: retry: --force goes with "
		    "--manifest\n");
		ret = EXIT_USAGE;
		goto out;
	}
	/* a job of a spool is retried from its bundle: its directory in
	 * active/ is a job that has not ended */
	if ((ret = cmd_runref("retry", argv[optind], spool, &ref)) != 0)
		goto out;
	if (ref.spool != NULL && ref.dir) {
		if (runref_bundle(&ref, &old, &cause) != 0) {
			fprintf(stderr, "dagexec: retry: %s\n", cause);
			ret = EXIT_NOINPUT;
			goto out;
		}
	} else
		old = xstrdup(ref.path);
	/* the bundle is unpacked beside where the new one goes */
	if (fs_mkdirs(ro.outdir != NULL ? ro.outdir : ".", 0755,
	    &cause) != 0) {
		fprintf(stderr, "dagexec: %s\n", cause);
		ret = EXIT_CANTCREAT;
		goto out;
	}
	if (rerun_open(old, ro.outdir != NULL ? ro.outdir : ".",
	    file, force, &rr, &d, &name, &cause) != 0) {
		ret = errno == EILSEQ || errno == EFBIG ? EXIT_DATAERR :
		    EXIT_NOINPUT;
		if (d.n > 0)
			diags_print(stderr, name, &d);
		else
			fprintf(stderr, "dagexec: %s\n", cause);
		goto out;
	}
	if ((nrun = rerun_plan(rr, from, nfrom, &bad, &cause)) < 0) {
		fprintf(stderr, "dagexec: retry: %s\n", cause);
		ret = EXIT_USAGE;
		goto out;
	}
	if (!ro.quiet)
		fprintf(stderr, "dagexec: retry of %s: %zu node(s) reused, "
		    "%ld to run\n", rerun_old_id(rr),
		    rerun_manifest(rr)->nnodes - (size_t)nrun, nrun);
	ro.cache_skip = rerun_cache_skip(rr);
	ro.prepare = retry_prepare;
	ro.arg = rr;
	text = rerun_text(rr, &len);
	ret = run_job(rerun_take_manifest(rr), text, len, &ro);
out:
	runref_release(&ref);
	free(old);
	rerun_free(rr);
	diags_release(&d);
	free(name);
	free(from);
	free(cause);
	return ret;
}

/* dagexec verify [-s SPOOL] RUN...: check result bundles against their
 * SHA256SUMS; a run is a bundle, a job directory (its bundle) or a job id. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "cmd.h"
#include "log.h"
#include "runref.h"
#include "spool.h"

static void
verify_usage(FILE *fp)
{
	fprintf(fp, "usage: dagexec verify [-s SPOOL] BUNDLE|JOBDIR|JOB...\n\n"
	    "Check a result bundle against its SHA256SUMS member: print "
	    "\"RUN: OK\", or one\nline a bad member: \"JOB/x: FAILED\" "
	    "(its digest differs), \"JOB/x: MISSING\"\n(listed, not there), "
	    "\"JOB/x: NOT LISTED\" (there, not listed).\nA job directory is "
	    "checked by its bundle (in its spool's done/, or beside it),\na "
	    "job id by its bundle in SPOOL/done/.\n\n"
	    "  -s, --spool SPOOL   where a job id is looked up (default "
	    "$DAGEXEC_SPOOL, then\n                      %s)\n\n"
	    "exit status: 0 whole, 1 a member is bad, 65 not a bundle, "
	    "corrupt or\nwithout SHA256SUMS, 66 it cannot be opened (no such "
	    "job, no bundle yet), 64 usage\n", spool_default());
}

static void
verify_bad(const char *member, enum bundle_bad why, void *arg)
{
	char *e = log_escape(member, strlen(member));

	(void)arg;
	printf("%s: %s\n", e, why == BUNDLE_FAILED ? "FAILED" :
	    why == BUNDLE_MISSING ? "MISSING" : "NOT LISTED");
	free(e);
}

/* Check the run arg: 0 whole, else an exit status (said). */
static int
verify_one(const char *arg, const char *spool)
{
	struct runref ref;
	char *cause = NULL, *path = NULL;
	int r, ret = 0;

	if ((ret = cmd_runref("verify", arg, spool, &ref)) != 0)
		return ret;
	if (runref_bundle(&ref, &path, &cause) != 0) {
		fprintf(stderr, "dagexec: verify: %s\n", cause);
		free(cause);
		runref_release(&ref);
		return EXIT_NOINPUT;
	}
	runref_release(&ref);
	r = bundle_verify(path, verify_bad, NULL, &cause);
	if (r < 0) {
		fprintf(stderr, "dagexec: verify: %s\n", cause);
		free(cause);
		ret = errno == EILSEQ ? EXIT_DATAERR : EXIT_NOINPUT;
	} else if (r > 0) {
		fprintf(stderr, "dagexec: verify: '%s': %d bad member%s\n", arg,
		    r, r == 1 ? "" : "s");
		ret = EXIT_DAG_FAILED;
	} else
		printf("%s: OK\n", arg);
	free(path);
	return ret;
}

int
cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "spool", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *spool = NULL;
	int c, i, r, ret = 0;

	while ((c = getopt_long(argc, argv, "+s:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			spool = optarg;
			break;
		case 'h':
			verify_usage(stdout);
			return 0;
		default:
			verify_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind < 1) {
		verify_usage(stderr);
		return EXIT_USAGE;
	}
	/* the worst wins: cannot open, then not a bundle, then bad */
	for (i = optind; i < argc; i++) {
		r = verify_one(argv[i], spool);
		if (r == EXIT_NOINPUT || (r == EXIT_DATAERR &&
		    ret != EXIT_NOINPUT) || (r != 0 && ret == 0))
			ret = r;
	}
	if (fflush(stdout) != 0)
		return EXIT_IOERR;
	return ret;
}

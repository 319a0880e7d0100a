/* dagexec verify BUNDLE...: check result bundles against their SHA256SUMS. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "cmd.h"
#include "log.h"

static void
verify_usage(FILE *fp)
{
	fprintf(fp, "usage: dagexec verify BUNDLE...\n\n"
	    "Check a result bundle against its SHA256SUMS member: print "
	    "\"BUNDLE: OK\", or one\nline a bad member: \"JOB/x: FAILED\" "
	    "(its digest differs), \"JOB/x: MISSING\"\n(listed, not there), "
	    "\"JOB/x: NOT LISTED\" (there, not listed).\n\n"
	    "exit status: 0 whole, 1 a member is bad, 65 not a bundle, "
	    "corrupt or\nwithout SHA256SUMS, 66 it cannot be opened, "
	    "64 usage\n");
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

int
cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	char *cause = NULL;
	int c, i, r, ret = 0;

	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
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
	for (i = optind; i < argc; i++) {
		r = bundle_verify(argv[i], verify_bad, NULL, &cause);
		if (r < 0) {
			fprintf(stderr, "dagexec: verify: %s\n", cause);
			free(cause);
			cause = NULL;
			if (errno == EILSEQ) {
				if (ret == 0 || ret == EXIT_DAG_FAILED)
					ret = EXIT_DATAERR;
			} else
				ret = EXIT_NOINPUT;
		} else if (r > 0) {
			fprintf(stderr, "dagexec: verify: '%s': %d bad "
			    "member%s\n", argv[i], r, r == 1 ? "" : "s");
			if (ret == 0)
				ret = EXIT_DAG_FAILED;
		} else
			printf("%s: OK\n", argv[i]);
	}
	if (fflush(stdout) != 0)
		return EXIT_IOERR;
	return ret;
}

/* dagexec validate MANIFEST...: check manifests without running anything. */
#include "config.h"

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"
#include "diag.h"
#include "manifest.h"
#include "units.h"

static void
validate_usage(FILE *fp)
{
	fprintf(fp, "usage: dagexec validate [--max-size SIZE] MANIFEST...\n\n"
	    "Check each manifest against dagexec.yaml(5) without running it.\n"
	    "Prints every error as FILE:LINE:COL: error: MESSAGE on stderr,\n"
	    "and FILE:LINE:COL: warning: MESSAGE for what is valid but likely\n"
	    "a mistake (a warning does not change the exit status).\n"
	    "'-' reads standard input.\n\n"
	    "      --max-size SIZE     refuse a manifest larger than SIZE "
	    "(default 16M,\n"
	    "                          at most 1G; a million nodes take about "
	    "30M)\n\n"
	    "exit status: 0 all valid, 65 a manifest is invalid, "
	    "66 a file cannot be read, 64 usage\n");
}

int
max_size_option(const char *arg, const char *cmd, size_t *max)
{
	const char *why = NULL;
	int64_t v;

	if (units_parse_size(arg, &v, &why) != 0 || v < 1 ||
	    v > (int64_t)MANIFEST_MAX_SIZE) {
		fprintf(stderr, "dagexec: %s: --max-size takes a size from 1 "
		    "to 1G, not '%s'%s%s\n", cmd, arg, why != NULL ? ": " : "",
		    why != NULL ? why : "");
		return -1;
	}
	*max = (size_t)v;
	return 0;
}

int
cmd_validate(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "max-size", required_argument, NULL, 'M' },
		{ NULL, 0, NULL, 0 }
	};
	struct manifest *m;
	struct diags d;
	char *cause;
	size_t max = MANIFEST_MAX_BYTES;
	int c, i, bad = 0, unreadable = 0;

	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'M':
			if (max_size_option(optarg, "validate", &max) != 0)
				return EXIT_USAGE;
			break;
		case 'h':
			validate_usage(stdout);
			return 0;
		default:
			validate_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		validate_usage(stderr);
		return EXIT_USAGE;
	}
	for (i = optind; i < argc; i++) {
		diags_init(&d);
		cause = NULL;
		switch (manifest_load_max(argv[i], max, &m, &d, &cause)) {
		case 0:
			/* warnings: valid, but likely not what was meant */
			manifest_lint(m, &d);
			diags_sort(&d);
			diags_print(stderr, argv[i], &d);
			manifest_free(m);
			break;
		case 1:
			diags_print(stderr, argv[i], &d);
			bad = 1;
			break;
		default:
			fprintf(stderr, "dagexec: %s\n", cause);
			free(cause);
			unreadable = 1;
			break;
		}
		diags_release(&d);
	}
	if (unreadable)
		return EXIT_NOINPUT;
	return bad ? EXIT_DATAERR : 0;
}

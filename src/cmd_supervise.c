/* dagexec supervise: one job's process, started by `watch` (never by hand)
 * with every id already the job owner's and its descriptors in place. */
#include "config.h"

#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "spool.h"
#include "supervisor.h"

static void
supervise_usage(FILE *fp)
{
	fprintf(fp, "usage: dagexec __supervise --spool DIR (--file NAME "
	    "[--bundle] | --job JOB [--lost | --cleanup])\n"
	    "       [--cancel-remote] [--scheduled-at SECONDS]\n"
	    "Run one job for `dagexec watch`, which starts it with the "
	    "control socket on\ndescriptor 3, the job's lock on 4 and the "
	    "dropped file on 5; not for use by hand.\nWhat the dropped file "
	    "is (manifest, bundle, retry request) comes from its name.\n");
}

int
cmd_supervise(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "spool", required_argument, NULL, 's' },
		{ "file", required_argument, NULL, 'f' },
		{ "bundle", no_argument, NULL, 'b' },
		{ "job", required_argument, NULL, 'J' },
		{ "lost", no_argument, NULL, 'L' },
		{ "cleanup", no_argument, NULL, 'c' },
		{ "cancel-remote", no_argument, NULL, 'C' },
		{ "scheduled-at", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct supervisor_args a;
	enum spool_kind kind;
	int c;

	memset(&a, 0, sizeof a);
	a.file_fd = -1;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			a.spool = optarg;
			break;
		case 'f':
			a.file = optarg;
			break;
		case 'b':
			a.bundle = true;
			break;
		case 'J':
			a.job = optarg;
			break;
		case 'c':
			a.cleanup = true;
			break;
		case 'L':
			a.lost = true;
			break;
		case 'C':
			a.cancel_remote = true;
			break;
		case 'S':
			a.scheduled = strtoll(optarg, NULL, 10);
			break;
		case 'h':
			supervise_usage(stdout);
			return 0;
		default:
			supervise_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc || a.spool == NULL || a.spool[0] != '/' ||
	    (a.file == NULL && a.job == NULL)) {
		supervise_usage(stderr);
		return EXIT_USAGE;
	}
	if (fcntl(SUPERVISOR_CTL_FD, F_GETFD) == -1 ||
	    fcntl(SUPERVISOR_LOCK_FD, F_GETFD) == -1) {
		fprintf(stderr, "dagexec: __supervise: descriptors 3 and 4 are "
		    "not open: it is started by `dagexec watch`\n");
		return EXIT_USAGE;
	}
	if (a.file != NULL) {
		if (fcntl(SUPERVISOR_FILE_FD, F_GETFD) == -1) {
			fprintf(stderr, "dagexec: __supervise: --file without "
			    "descriptor 5\n");
			return EXIT_USAGE;
		}
		a.file_fd = SUPERVISOR_FILE_FD;
		/* the name says what it is (spool_claim went by it too), also
		 * when a resumed supervisor is started without --bundle */
		if (spool_kind(a.file, &kind) == 0) {
			a.bundle = kind == SPOOL_TAR || kind == SPOOL_TGZ ||
			    kind == SPOOL_TZST;
			a.retry = kind == SPOOL_RETRY;
		}
	}
	return supervisor_main(&a);
}

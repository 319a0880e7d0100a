/* dagexec cancel [-s SPOOL] JOB: ask the daemon to cancel a job. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "spool.h"
#include "xmalloc.h"

static void
cancel_usage(FILE *fp)
{
	fprintf(fp, "usage: dagexec cancel [-s SPOOL] JOB\n\n"
	    "Ask the spool's daemon to cancel JOB, queued or running: it "
	    "kills the job's\nnodes and finishes its bundle as cancelled.\n\n"
	    "  -s, --spool SPOOL   the spool (default $DAGEXEC_SPOOL, then "
	    "%s)\n\n"
	    "exit status: 0 asked, 1 no such job, 73 cannot write the "
	    "request, 64 usage\n", spool_default());
}

static bool
job_id_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > 100 || s[0] == '.')
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '-' || s[i] == '_' || s[i] == '.'))
			return false;
	return true;
}

int
cmd_cancel(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "spool", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dir = NULL, *job;
	char *active, *queued, *req;
	struct stat st;
	int c, fd, ret;

	while ((c = getopt_long(argc, argv, "+s:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			dir = optarg;
			break;
		case 'h':
			cancel_usage(stdout);
			return 0;
		default:
			cancel_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		cancel_usage(stderr);
		return EXIT_USAGE;
	}
	job = argv[optind];
	if (!job_id_ok(job)) {
		fprintf(stderr, "dagexec: cancel: '%s' is not a job id\n", job);
		return EXIT_USAGE;
	}
	if (dir == NULL)
		dir = spool_default();
	active = xasprintf("%s/active/%s", dir, job);
	queued = xasprintf("%s/incoming/%s.yaml", dir, job);
	req = xasprintf("%s/cancel/%s", dir, job);
	if (stat(active, &st) != 0 && stat(queued, &st) != 0) {
		fprintf(stderr, "dagexec: cancel: no queued or running job "
		    "'%s' in '%s'\n", job, dir);
		ret = EXIT_DAG_FAILED;
		goto out;
	}
	fd = open(req, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		fprintf(stderr, "dagexec: cannot create '%s': %s\n", req,
		    strerror(errno));
		ret = EXIT_CANTCREAT;
		goto out;
	}
	close(fd);
	ret = 0;
out:
	free(active);
	free(queued);
	free(req);
	return ret;
}

/* dagexec cancel [-s SPOOL] [--now] JOB | --all: ask the daemon to cancel a
 * job, or every job of the caller's: its `when: always` nodes still run
 * (Argo's stop), or with --now nothing does (Argo's terminate). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
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
	fprintf(fp, "usage: dagexec cancel [-s SPOOL] [--now] JOB\n"
	    "       dagexec cancel [-s SPOOL] [--now] --all\n\n"
	    "Ask the spool's daemon to cancel JOB, queued or running: it "
	    "kills the job's\nrunning nodes, starts nothing new but its "
	    "`when: always` nodes (cleanups),\nwhich run once their needs "
	    "have ended, and finishes its bundle as cancelled.\n\n"
	    "  -s, --spool SPOOL   the spool (default $DAGEXEC_SPOOL, then "
	    "%s)\n"
	    "      --now           kill everything, `when: always` nodes "
	    "too (also a job\n                      already being "
	    "cancelled)\n"
	    "      --all           every running job of the caller's (root: "
	    "every one),\n                      each id printed\n\n"
	    "exit status: 0 asked, 1 no such job, 73 cannot write the "
	    "request, 64 usage\n", spool_default());
}

static bool
job_id_ok(const char *s)
{
	return spool_word_ok(s, 100);
}

/* Ask for JOB's cancellation: an empty file cancel/JOB (cancel/JOB.now
 * with now). 0, or EXIT_CANTCREAT with a message. */
static int
cancel_ask(const char *dir, const char *job, bool now)
{
	char *req = xasprintf("%s/cancel/%s%s", dir, job, now ? ".now" : "");
	int fd;

	fd = open(req, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		fprintf(stderr, "dagexec: cannot create '%s': %s\n", req,
		    strerror(errno));
		free(req);
		return EXIT_CANTCREAT;
	}
	close(fd);
	free(req);
	return 0;
}

/* Every job in active/ whose directory the caller may write (theirs, mode
 * 0700; root all): asked for, its id printed. The directory, not a file in
 * it: it is the owner's from the claim on, before the supervisor writes
 * anything. */
static int
cancel_all(const char *dir, bool now)
{
	char *active = xasprintf("%s/active", dir), *jdir;
	struct dirent *de;
	DIR *d;
	int ret = 0, rc;

	if ((d = opendir(active)) == NULL) {
		fprintf(stderr, "dagexec: cannot open '%s': %s\n", active,
		    strerror(errno));
		free(active);
		return EXIT_NOINPUT;
	}
	while ((de = readdir(d)) != NULL) {
		if (!job_id_ok(de->d_name))
			continue;
		jdir = xasprintf("%s/%s", active, de->d_name);
		if (access(jdir, W_OK | X_OK) == 0) {
			if ((rc = cancel_ask(dir, de->d_name, now)) != 0)
				ret = rc;
			else
				printf("%s\n", de->d_name);
		}
		free(jdir);
	}
	closedir(d);
	free(active);
	return ret;
}

/* Ask for the cancellation of job, queued or running. */
static int
cancel_one(const char *dir, const char *job, bool now)
{
	char *active, *queued, *retry, *later;
	struct stat st;
	int ret;

	active = xasprintf("%s/active/%s", dir, job);
	queued = xasprintf("%s/incoming/%s.yaml", dir, job);
	retry = xasprintf("%s/incoming/%s.retry", dir, job);
	/* a job for later (submit --at) waits in schedules/ */
	later = xasprintf("%s/schedules/%s.yaml", dir, job);
	if (stat(active, &st) != 0 && stat(queued, &st) != 0 &&
	    stat(retry, &st) != 0 && stat(later, &st) != 0) {
		fprintf(stderr, "dagexec: cancel: no queued or running job "
		    "'%s' in '%s'\n", job, dir);
		ret = EXIT_DAG_FAILED;
	} else
		ret = cancel_ask(dir, job, now);
	free(active);
	free(queued);
	free(retry);
	free(later);
	return ret;
}

int
cmd_cancel(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "spool", required_argument, NULL, 's' },
		{ "all", no_argument, NULL, 'A' },
		{ "now", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dir = NULL;
	char *cause = NULL;
	bool all = false, now = false;
	int c, ret;

	while ((c = getopt_long(argc, argv, "+s:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			dir = optarg;
			break;
		case 'A':
			all = true;
			break;
		case 'N':
			now = true;
			break;
		case 'h':
			cancel_usage(stdout);
			return 0;
		default:
			cancel_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != (all ? 0 : 1)) {
		cancel_usage(stderr);
		return EXIT_USAGE;
	}
	if (!all && !job_id_ok(argv[optind])) {
		fprintf(stderr, "dagexec: cancel: '%s' is not a job id\n",
		    argv[optind]);
		return EXIT_USAGE;
	}
	if (dir == NULL)
		dir = spool_default();
	if (spool_check(dir, &cause) != 0) {
		fprintf(stderr, "dagexec: cancel: %s\n", cause);
		free(cause);
		return EXIT_DAG_FAILED;
	}
	if (all)
		ret = cancel_all(dir, now);
	else
		ret = cancel_one(dir, argv[optind], now);
	if (ret == 0 && spool_served(dir, &cause) == 0)
		fprintf(stderr, "dagexec: warning: no dagexec watch serves "
		    "'%s': cancel requests wait until one runs\n", dir);
	free(cause);
	return ret;
}

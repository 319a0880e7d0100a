/*
 * spawnloop: the floor for the overhead benchmark. Runs PROGRAM (default
 * /bin/true) COUNT times with posix_spawn, keeping JOBS children in flight,
 * reaping with waitpid, and prints the wall time. No scheduling, no output
 * capture, no bookkeeping: what any executor must pay at the least.
 *
 * usage: spawnloop [-j JOBS] [-n COUNT] [PROGRAM]
 */
#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sched.h>
#include <spawn.h>

extern char **environ;

static void
usage(void)
{
	fprintf(stderr, "usage: spawnloop [-j JOBS] [-n COUNT] [PROGRAM]\n");
	exit(64);
}

static long
number(const char *s)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 1 || v > 100000000)
		usage();
	return v;
}

int
main(int argc, char **argv)
{
	struct timespec	 t0, t1;
	const char	*prog = "/bin/true";
	char		*cargv[2];
	long		 jobs = 2, count = 10000, started = 0, running = 0;
	long		 failed = 0;
	pid_t		 pid;
	int		 c, error, status;

	while ((c = getopt(argc, argv, "j:n:")) != -1) {
		switch (c) {
		case 'j':
			jobs = number(optarg);
			break;
		case 'n':
			count = number(optarg);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 1)
		usage();
	if (argc == 1)
		prog = argv[0];
	cargv[0] = (char *)(uintptr_t)prog;
	cargv[1] = NULL;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (started < count || running > 0) {
		while (started < count && running < jobs) {
			error = posix_spawn(&pid, prog, NULL, NULL, cargv,
			    environ);
			if (error != 0) {
				fprintf(stderr, "spawnloop: cannot spawn '%s': "
				    "%s\n", prog, strerror(error));
				return 71;
			}
			started++;
			running++;
		}
		pid = waitpid(-1, &status, 0);
		if (pid == -1) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "spawnloop: waitpid: %s\n",
			    strerror(errno));
			return 71;
		}
		running--;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed++;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("spawnloop: %ld runs of '%s', %ld at once, %.3f s, %ld failed\n",
	    count, prog, jobs, (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, failed);
	return failed != 0;
}

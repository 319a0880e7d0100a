/*
 * cpuof: the CPU time a command spends itself, apart from its children.
 * Runs CMD as its child, waits for it with waitid(WNOWAIT) so that it stays
 * a zombie, reads utime + stime (the process's own threads, exited ones
 * included) and cutime + cstime (the children it waited for) from
 * /proc/PID/stat, then reaps it with wait4 for its status and peak RSS.
 * Writes one line
 *
 *	self_ms=N children_ms=N wall_ms=N maxrss_kb=N
 *
 * to FILE (default stderr) and exits with the child's status (128 + the
 * signal when it was killed). Clock-tick resolution (usually 10 ms).
 *
 * usage: cpuof [-o FILE] CMD [ARG...]
 */
#include "config.h"

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct cpuof_stat {
	char		state;
	long long	utime;		/* field 14, clock ticks */
	long long	stime;		/* field 15 */
	long long	cutime;		/* field 16 */
	long long	cstime;		/* field 17 */
};

static void
usage(void)
{
	fprintf(stderr, "usage: cpuof [-o FILE] CMD [ARG...]\n");
	exit(64);
}

/*
 * Parse a /proc/PID/stat line. Field 2, the command name, is in parentheses
 * and may hold spaces and ')': the fields after it start after the last ')'.
 * Returns 0 or -1 with a message in cause.
 */
static int
cpuof_parse(const char *line, struct cpuof_stat *st, const char **cause)
{
	const char	*p;
	char		*end;
	long long	 v;
	int		 field;

	if ((p = strrchr(line, ')')) == NULL) {
		*cause = "no ')' after the command name";
		return (-1);
	}
	p++;
	if (p[0] != ' ' || p[1] == '\0' || p[2] != ' ') {
		*cause = "no state after the command name";
		return (-1);
	}
	st->state = p[1];
	p += 2;
	for (field = 4; field <= 17; field++) {
		if (*p != ' ') {
			*cause = "fewer than 17 fields";
			return (-1);
		}
		p++;
		errno = 0;
		v = strtoll(p, &end, 10);
		if (end == p || errno != 0 || (*end != ' ' && *end != '\n' &&
		    *end != '\0')) {
			*cause = "a field is not a number";
			return (-1);
		}
		p = end;
		switch (field) {
		case 14:
			st->utime = v;
			break;
		case 15:
			st->stime = v;
			break;
		case 16:
			st->cutime = v;
			break;
		case 17:
			st->cstime = v;
			break;
		}
		if (field >= 14 && v < 0) {
			*cause = "a CPU time is negative";
			return (-1);
		}
	}
	return (0);
}

/* Read and parse /proc/PID/stat. Returns 0 or -1 (message printed). */
static int
cpuof_read(pid_t pid, struct cpuof_stat *st)
{
	char		 path[64];
	char		*line = NULL;
	const char	*cause;
	size_t		 size = 0;
	FILE		*f;
	int		 saved, rv = -1;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "re")) == NULL) {
		fprintf(stderr, "cpuof: cannot open '%s': %s\n", path,
		    strerror(errno));
		return (-1);
	}
	errno = 0;
	if (getline(&line, &size, f) == -1) {
		saved = errno;
		fprintf(stderr, "cpuof: cannot read '%s': %s\n", path,
		    saved != 0 ? strerror(saved) : "empty file");
		goto out;
	}
	if (cpuof_parse(line, st, &cause) != 0) {
		fprintf(stderr, "cpuof: cannot parse '%s': %s\n", path, cause);
		goto out;
	}
	rv = 0;
out:
	free(line);
	fclose(f);
	return (rv);
}

static long long
cpuof_ms(const struct timespec *t0, const struct timespec *t1)
{
	return ((long long)(t1->tv_sec - t0->tv_sec) * 1000 +
	    (t1->tv_nsec - t0->tv_nsec) / 1000000);
}

int
main(int argc, char **argv)
{
	struct sigaction	 ign, oint, oquit;
	struct cpuof_stat	 st;
	struct rusage		 ru;
	struct timespec		 t0, t1;
	siginfo_t		 si;
	const char		*outpath = NULL;
	FILE			*out = stderr;
	long			 tck;
	pid_t			 pid;
	int			 c, fd, status, saved, rc;

	/* '+': stop at CMD, whose options are its own */
	while ((c = getopt(argc, argv, "+o:")) != -1) {
		switch (c) {
		case 'o':
			outpath = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();

	if ((tck = sysconf(_SC_CLK_TCK)) <= 0) {
		fprintf(stderr, "cpuof: sysconf(_SC_CLK_TCK): %s\n",
		    tck == -1 && errno != 0 ? strerror(errno) : "no value");
		return (71);
	}
	/* open the report first: a bad path fails before the run */
	if (outpath != NULL) {
		fd = open(outpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		    0666);
		if (fd == -1 || (out = fdopen(fd, "w")) == NULL) {
			fprintf(stderr, "cpuof: cannot open '%s': %s\n",
			    outpath, strerror(errno));
			if (fd != -1)
				close(fd);
			return (73);
		}
	}

	fflush(NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((pid = fork()) == -1) {
		fprintf(stderr, "cpuof: fork: %s\n", strerror(errno));
		return (71);
	}
	if (pid == 0) {
		execvp(argv[0], argv);
		saved = errno;
		fprintf(stderr, "cpuof: cannot run '%s': %s\n", argv[0],
		    strerror(saved));
		_exit(saved == ENOENT ? 127 : 126);
	}

	/* as time(1): keyboard signals are the child's to act on */
	memset(&ign, 0, sizeof ign);
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	sigaction(SIGINT, &ign, &oint);
	sigaction(SIGQUIT, &ign, &oquit);

	/* wait, but leave the child a zombie so its stat is still there */
	memset(&si, 0, sizeof si);
	while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) == -1) {
		if (errno != EINTR) {
			fprintf(stderr, "cpuof: waitid: %s\n", strerror(errno));
			return (71);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	rc = cpuof_read(pid, &st);
	if (rc == 0 && st.state != 'Z') {
		fprintf(stderr, "cpuof: process %ld is in state '%c', not a "
		    "zombie\n", (long)pid, st.state);
		rc = -1;
	}

	/* reap it whatever happened: status and peak RSS of the tree */
	while (wait4(pid, &status, 0, &ru) == -1) {
		if (errno != EINTR) {
			fprintf(stderr, "cpuof: wait4: %s\n", strerror(errno));
			return (71);
		}
	}
	sigaction(SIGINT, &oint, NULL);
	sigaction(SIGQUIT, &oquit, NULL);
	if (rc != 0)
		return (71);

	fprintf(out, "self_ms=%lld children_ms=%lld wall_ms=%lld "
	    "maxrss_kb=%ld\n", (st.utime + st.stime) * 1000 / tck,
	    (st.cutime + st.cstime) * 1000 / tck, cpuof_ms(&t0, &t1),
	    ru.ru_maxrss);
	if (fflush(out) == EOF || ferror(out)) {
		fprintf(stderr, "cpuof: cannot write '%s': %s\n",
		    outpath != NULL ? outpath : "stderr", strerror(errno));
		return (74);
	}
	if (out != stderr && fclose(out) == EOF) {
		fprintf(stderr, "cpuof: cannot close '%s': %s\n", outpath,
		    strerror(errno));
		return (74);
	}

	if (WIFEXITED(status))
		return (WEXITSTATUS(status));
	if (WIFSIGNALED(status))
		return (128 + WTERMSIG(status));
	return (71);
}
